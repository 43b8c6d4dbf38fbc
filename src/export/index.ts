/**
 * Export of tfjs LayersModels to ONNX (verified in onnxruntime-node) and to the tfjs layers-model
 * format (optionally weight-quantized, loadable by stock tfjs).
 */
export * from './onnx/index.js';
export * from './tfjs/index.js';
export { toFloat16, fromFloat16, float32ToFloat16Bits, float16BitsToFloat32 } from './float16.js';
export { mnistInputsFor } from './samples.js';
