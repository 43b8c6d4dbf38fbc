/** ONNX export of tfjs GraphModels (tensorflowjs_converter output): a core op set, verified in onnxruntime-node. */
export { convertGraphToOnnx, exportGraphOnnx, supportedGraphOps } from './convert-graph.js';
export type { ExportGraphOnnxArgs, GraphOnnxReport } from './convert-graph.js';
export { graphOps } from './ops.js';
export type { GraphOpConverter, GraphOpContext, TfNode, TfAttr } from './ops.js';
