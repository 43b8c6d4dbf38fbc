export { buildZooModel, zooNames, describeZooModel } from './zoo.js';
export type { ZooArgs } from './zoo.js';
export {
  fileHandler,
  loadLayersModelFromFiles,
  saveLayersModel,
  loadGraphModelFromFiles,
  isGraphModelFile,
  resolveModel,
  modelSpecName,
  modelJsonPath,
} from './io.js';
export { summary, formatSummary } from './summary.js';
export type { LayerSummary, ModelSummary } from './summary.js';
export { cloneModel } from './clone.js';
