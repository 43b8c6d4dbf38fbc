export { TensorDataset, oneHot, permutation, seededRandom } from './dataset.js';
export type { Batch, BatchArgs } from './dataset.js';
export { parseIdx, readIdx } from './idx.js';
export type { IdxArray } from './idx.js';
export { loadMnist, loadIdxDataset, mnistDataDir } from './mnist.js';
export type { MnistArgs } from './mnist.js';
export { readNpy, parseNpy, writeNpy, encodeNpy, npyToFloat32, loadNpyDataset, MAX_CLASSES, MAX_ONE_HOT_VALUES } from './npy.js';
export type { NpyArray, NpyData, NpyDtype, NpyWriteArgs, NpyDatasetArgs } from './npy.js';
export { loadImageFolder, listImageFolder, decodeImage, loadSharp, IMAGE_EXTENSIONS, MAX_IMAGE_PIXELS } from './image-folder.js';
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
export { channelStats, standardize, rescale, inputScaling, scaleInputs, formatInputScaling, isChannelScaling, INPUT_RANGES, DEFAULT_INPUT_SCALING } from './transform.js';
export {
  INPUT_SCALING_KEY,
  inputScalingRecordSchema,
  inputScalingSpecSchema,
  withInputScaling,
  inputScalingFromMetadata,
  setModelInputScaling,
  chooseInputScaling,
  userMetadataOf,
} from './scaling-metadata.js';
export type { ChosenInputScaling, InputScalingSource, MetadataSource } from './scaling-metadata.js';
export { randomShift } from './augment.js';
export type { Augment, RandomShiftArgs } from './augment.js';
export type { ChannelStats, InputScaling, InputScalingArgs, AffineScaling, ChannelScaling } from './transform.js';
