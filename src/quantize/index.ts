/**
 * Post-training weight quantization: float16, int8/uint8 affine (per tensor or per channel) and
 * k-means weight sharing with optional centroid fine-tuning. Produces a deployment model plus a
 * {@link QuantizedWeights} record that the container (src/serialize) and ONNX exporter consume.
 */
export type { AffineTensor, CodebookTensor, Float16Tensor, QuantizedTensor, QuantizedWeights } from './types.js';
export { sizeOf } from './types.js';
export { dequantize, channelLayout } from './dequantize.js';
export { float32ToHalfBits, halfBitsToFloat32, toHalfBits, fromHalfBits, exactHalfBits } from './half.js';
export { quantizeAffine, type AffineArgs } from './affine.js';
export { quantizeCodebook, kmeans1d, assignToCentroids, type CodebookArgs } from './codebook.js';
export { fineTuneCentroids, type FineTuneArgs, type FineTuneReport, type SharedWeight } from './finetune.js';
export { registerQuantizer, getQuantizer, quantizerNames, type WeightQuantizer, type QuantizerArgs } from './quantizers.js';
export { quantizeModel, type QuantizeArgs, type QuantizeResult, type QuantizedWeightInfo } from './model.js';
export { quantizedWeightsToJson, quantizedWeightsFromJson, type QuantizedWeightsJson } from './record-json.js';
