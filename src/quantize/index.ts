/**
 * Post-training weight quantization: float16, int8/uint8/uint16 affine (per tensor or per channel)
 * and k-means weight sharing with optional centroid fine-tuning, for layers and graph models. Produces a deployment model plus a
 * {@link QuantizedWeights} record that the container (src/serialize) and ONNX exporter consume.
 */
export type { AffineTensor, CodebookTensor, Float16Tensor, QuantizedTensor, QuantizedWeights } from './types.js';
export { sizeOf } from './types.js';
export { dequantize, channelLayout } from './dequantize.js';
export { float32ToHalfBits, halfBitsToFloat32, toHalfBits, fromHalfBits, exactHalfBits } from './half.js';
export { quantizeAffine, affineRangeParams, type AffineArgs } from './affine.js';
export { quantizeCodebook, kmeans1d, assignToCentroids, type CodebookArgs } from './codebook.js';
export { fineTuneCentroids, type FineTuneArgs, type FineTuneReport, type SharedWeight } from './finetune.js';
export { registerQuantizer, getQuantizer, quantizerNames, type WeightQuantizer, type QuantizerArgs } from './quantizers.js';
export { quantizeModel, type QuantizeArgs, type QuantizeResult, type QuantizeReport, type QuantizedWeightInfo } from './model.js';
export { layerChannelAxes, depthwiseAxes, reconstructionError, CHANNEL_NORM_FLOOR, type ChannelAxes, type ReconstructionError } from './channels.js';
export { quantizeGuarded, DEFAULT_MAX_TENSOR_ERROR, type GuardArgs, type GuardedTensor } from './guard.js';
export { outputAgreement, type OutputAgreement } from './agreement.js';
export { quantizeGraphModel, graphArtifacts, loadGraphArtifacts, type QuantizeGraphArgs, type QuantizeGraphResult } from './graph.js';
export { splitWeights, storeWeight, withWeights, graphKernels, PRUNABLE_GRAPH_OPS, type NamedWeight, type StoredWeight, type GraphKernel, type WeightDtype } from './graph-weights.js';
export { toTfjsWeight, isTfjsQuantizationMode, TFJS_QUANTIZATION_MODES, type TfjsQuantizationMode } from './tfjs-format.js';
export { quantizedWeightsToJson, quantizedWeightsFromJson, type QuantizedWeightsJson } from './record-json.js';
