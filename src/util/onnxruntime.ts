import type * as Ort from 'onnxruntime-node';

let cached: Promise<typeof Ort> | undefined;

/**
 * onnxruntime-node, loaded on first use: its native binary costs about a second at import, so it
 * stays out of the import path of everything that does not run an ONNX model.
 *
 * @example const ort = await loadOnnxRuntime(); const s = await ort.InferenceSession.create(bytes);
 */
export function loadOnnxRuntime(): Promise<typeof Ort> {
  cached ??= import('onnxruntime-node').then((m) => ((m as { default?: typeof Ort }).default ?? m) as typeof Ort);
  return cached;
}
