/**
 * `tfjs-compress/runtime`: the browser face of the package. Decodes `.tfjsc` containers and hands
 * them to the page's own tfjs through IOHandlers (layers and graph models), plus the pure
 * float16 / int8 (affine) / codebook decoders. No Node built-ins and no tfjs code of its own: the
 * only package in its import graph at run time is pako (inflate); `@tensorflow/tfjs-core` is a
 * peer used for types. Shipped as ESM (`dist/runtime.js`) and as a minified script
 * (`dist/tfjs-compress-runtime.min.js`, global `tfjsCompress`) for a page that loads tf.min.js.
 *
 * @example
 * // <script src="tf.min.js"></script><script src="tfjs-compress-runtime.min.js"></script>
 * const model = await tf.loadLayersModel(tfjsCompress.fromContainerUrl('model.tfjsc'));
 * // or, whichever kind the file holds:
 * const m = await tfjsCompress.loadFromContainer(tf, 'model.tfjsc');
 */
export { fromContainer, unpackArtifacts, isGraphArtifacts, readContainer, decodeTensor, type UnpackArgs, type ParsedContainer } from '../serialize/decoder.js';
export { CONTAINER_EXTENSION, CONTAINER_VERSION, type ContainerManifest, type TensorEntry } from '../serialize/format.js';
export { fetchContainer, fromContainerUrl, loadFromContainer, type ContainerSource, type FetchContainerArgs, type TfjsModelLoaders } from './load.js';
export { dequantize, channelLayout } from '../quantize/dequantize.js';
export { halfBitsToFloat32, fromHalfBits } from '../quantize/half.js';
export type { QuantizedTensor, Float16Tensor, AffineTensor, CodebookTensor } from '../quantize/types.js';
