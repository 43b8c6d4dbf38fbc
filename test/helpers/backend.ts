import * as tf from '@tensorflow/tfjs';
import { setBackend } from '../../src/backend/select.js';

/** Activate the backend a test file runs on (wasm unless TEST_BACKEND says otherwise). */
export async function useBackend(name: 'wasm' | 'cpu' = (process.env.TEST_BACKEND as 'wasm' | 'cpu') ?? 'wasm'): Promise<void> {
  if (tf.getBackend() !== name) await setBackend(name);
}
