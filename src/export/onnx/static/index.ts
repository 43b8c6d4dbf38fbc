/** Static int8 (QDQ) ONNX export with calibration: integer kernels in onnxruntime. */
export { exportOnnxStaticInt8, saveOnnxStaticInt8 } from './export.js';
export type { StaticInt8Args, StaticInt8Report, LabelledSamples, SensitivityStep } from './export.js';
export { quantizeQdq, QUANTIZABLE_OPS } from './qdq.js';
export type { QdqArgs, QdqReport } from './qdq.js';
export { createCollector, CALIBRATION_METHODS } from './calibrate.js';
export type { CalibrationMethod, CalibratorArgs, RangeCollector } from './calibrate.js';
export { decodeModel, encodeModel } from './ir.js';
export type { IrModel, IrNode, IrTensor, IrAttr } from './ir.js';
