import type * as Ort from 'onnxruntime-node';

let cached: Promise<typeof Ort> | undefined;

/**
 * onnxruntime-node, loaded on first use: its native binary costs about a second at import, so it
 * stays out of the import path of everything that does not run an ONNX model. A failed load says
 * so in one line (and is retried on the next call).
 *
 * @example const ort = await loadOnnxRuntime(); const s = await ort.InferenceSession.create(bytes);
 */
export function loadOnnxRuntime(): Promise<typeof Ort> {
  cached ??= import('onnxruntime-node').then(
    (m) => ((m as { default?: typeof Ort }).default ?? m) as typeof Ort,
    (err: Error) => {
      cached = undefined;
      const first = String(err?.message ?? err).split('\n')[0];
      throw new Error(`cannot load onnxruntime-node (needed to run ONNX models): ${first}; reinstall it with npm install onnxruntime-node`);
    },
  );
  return cached;
}
