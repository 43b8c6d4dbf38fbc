export { TensorDataset, oneHot, permutation, seededRandom } from './dataset.js';
export type { Batch, BatchArgs } from './dataset.js';
export { parseIdx, readIdx } from './idx.js';
export type { IdxArray } from './idx.js';
export { loadMnist, loadIdxDataset, mnistDataDir } from './mnist.js';
export type { MnistArgs } from './mnist.js';
export { readNpy, parseNpy, writeNpy, encodeNpy, npyToFloat32, loadNpyDataset } from './npy.js';
export type { NpyArray, NpyData, NpyDtype, NpyWriteArgs, NpyDatasetArgs } from './npy.js';
export { loadImageFolder, listImageFolder, decodeImage, IMAGE_EXTENSIONS } from './image-folder.js';
export type { ImageFolderArgs, ImageFolderListArgs, ImageFolderListing } from './image-folder.js';
export {
  loadFashionMnist,
  writeFashionMnistImageFolder,
  fashionMnistFolderName,
  fashionMnistClassPixels,
  fashionMnistDataDir,
  FASHION_MNIST_CLASSES,
  FASHION_MNIST_SPLIT,
} from './fashion-mnist.js';
export type { FashionMnistArgs, FashionMnistFolderArgs, FashionMnistFolderResult } from './fashion-mnist.js';
export { loadMnistSegmentation, MNIST_SEGMENTATION_CLASSES } from './segmentation.js';
export type { MnistSegmentationArgs } from './segmentation.js';
export { channelStats, standardize, rescale } from './transform.js';
export { randomShift } from './augment.js';
export type { Augment, RandomShiftArgs } from './augment.js';
export type { ChannelStats } from './transform.js';
