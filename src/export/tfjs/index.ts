/** tfjs layers-model export (model.json + weight shards), optionally weight-quantized. */
export { exportTfjs, buildTfjsFiles, captureArtifacts } from './write.js';
export type { ExportTfjsArgs, TfjsExportReport } from './write.js';
export { encodeWeight } from './quantize.js';
export type { TfjsQuantize, EncodedWeight } from './quantize.js';
export { loadTfjsExport, compareTfjsExport } from './verify.js';
