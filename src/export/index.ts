/**
 * Export of tfjs LayersModels to ONNX (verified in onnxruntime-node) and to the tfjs layers-model
 * format (optionally weight-quantized, loadable by stock tfjs).
 */
export * from './onnx/index.js';
export * from './tfjs/index.js';
export { mnistInputsFor } from './samples.js';
