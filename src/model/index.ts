export { buildZooModel, zooNames, describeZooModel } from './zoo.js';
export type { ZooArgs } from './zoo.js';
export {
  fileHandler,
  loadLayersModelFromFiles,
  saveLayersModel,
  loadGraphModelFromFiles,
  modelSpecName,
  modelJsonPath,
} from './io.js';
export type { SaveFolderArgs } from './io.js';
export { summary, formatSummary } from './summary.js';
export type { LayerSummary, ModelSummary } from './summary.js';
export { cloneModel } from './clone.js';
export { locateModel, loadModel, loadLayersModel, MODEL_FORMAT_NAMES } from './load.js';
export type { ModelFormat, ModelForm, ModelLocation, LoadedModel, LoadModelArgs, LoadedLayersModel } from './load.js';
export { graphToLayers, unsupportedGraphOps, convertibleGraphOps, GraphConversionRefused } from './graph-to-layers/index.js';
export type { GraphToLayersArgs, GraphToLayersReport } from './graph-to-layers/index.js';
export { loadKerasModel, translateKerasConfig } from './keras/index.js';
