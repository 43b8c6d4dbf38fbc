export { setBackend, currentBackend } from './select.js';
export type { BackendChoice, BackendInfo } from './select.js';
export { registerWasmTrainingKernels } from './wasm/index.js';
