import * as tf from '@tensorflow/tfjs';
import { writeFileAtomic } from '../util/atomic.js';
import { exportOnnx } from '../export/index.js';
import { loadLayersModel, locateModel } from '../model/load.js';

/*
 * Bridges to containers (through the one model loader) and the ONNX exporter (src/export), kept
 * in one file so the rest of the bench module depends only on these small functions.
 */

/** True if `path` is one of our container files (recognised by the one model loader, from its magic bytes). */
export async function isContainerFile(path: string): Promise<boolean> {
  try {
    return locateModel(path).format === 'container';
  } catch {
    return false;
  }
}

/** Load a container file as a layers model (a graph container is rebuilt as layers). */
export async function loadContainerModel(path: string): Promise<tf.LayersModel> {
  if (!(await isContainerFile(path))) throw new Error(`${path}: not a tfjs-compress container (bad magic bytes)`);
  return (await loadLayersModel(path, { command: 'bench' })).model;
}

/**
 * Export a layers model to an `.onnx` file with src/export's `exportOnnx`, which checks parity
 * against tfjs itself and throws on unsupported layers.
 */
export async function exportOnnxFile(model: tf.LayersModel, outPath: string): Promise<void> {
  const { bytes } = await exportOnnx(model);
  writeFileAtomic(outPath, bytes);
}
