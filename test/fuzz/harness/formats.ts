import { containerFormat } from './container.js';
import { graphFormat } from './graph.js';
import { idxFormat } from './idx.js';
import { imagesFormat } from './images.js';
import { layersFormat } from './layers.js';
import { npyFormat } from './npy.js';
import { recipeFormat } from './recipe.js';
import type { FuzzFormat } from './types.js';

/** Every fuzzed format by its B11 name, in report order. */
export const FUZZ_FORMATS: Record<string, () => FuzzFormat<any>> = {
  layers: layersFormat,
  graph: graphFormat,
  container: containerFormat,
  recipe: recipeFormat,
  npy: npyFormat,
  idx: idxFormat,
  'image-folder': imagesFormat,
};
