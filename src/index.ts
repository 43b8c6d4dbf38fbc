/**
 * tfjs-compress: model compression for TensorFlow.js in TypeScript.
 * This file re-exports the public API of each capability folder.
 */
export * from './backend/index.js';
export * from './data/index.js';
export * from './model/index.js';
export * from './train/index.js';
export * from './distill/index.js';
export * from './prune/index.js';
export * from './quantize/index.js';
export * from './serialize/index.js';
// The browser runtime's loaders work in Node too (fetch); the rest of src/runtime is serialize's decoder.
export { fetchContainer, fromContainerUrl, loadFromContainer, type ContainerSource, type FetchContainerArgs, type TfjsModelLoaders } from './runtime/load.js';
export * from './export/index.js';
export * from './bench/index.js';
export * from './recipe/index.js';
