/** ONNX export of tfjs LayersModels, verified in onnxruntime-node. */
export { exportOnnx, saveOnnx } from './export.js';
export type { ExportOnnxArgs, OnnxExportReport } from './export.js';
export { convertToOnnx, checkSupported, irVersionFor } from './convert.js';
export type { ConvertArgs, ConvertedModel } from './convert.js';
export { verifyOnnx, runOnnx, defaultInputs, WEIGHT_ONLY_INT8_SESSION } from './verify.js';
export type { VerifyArgs, VerifyReport } from './verify.js';
export { registerOnnxConverter, getOnnxConverter, supportedOnnxLayers } from './registry.js';
export type { OnnxConverter, ConverterArgs } from './registry.js';
export { ConvertContext, permuteWeight, physicalShape } from './context.js';
export type { OnnxValue, Layout, OnnxWeightMode, WeightRef, WeightTransform, KernelArgs } from './context.js';
export { applyActivation, supportedActivations } from './converters/index.js';
export { int, float, ints, floats, str, strs } from './builder.js';
export type { Attr } from './builder.js';
export { ONNX_PROTO, modelProtoType } from './schema.js';
export * from './graph/index.js';
export * from './static/index.js';
export { recordsFromContainer } from './records.js';
