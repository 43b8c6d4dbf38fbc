/**
 * tfjs-compress: model compression for TensorFlow.js in TypeScript.
 * This file re-exports the public API of each capability folder.
 */
export * from './backend/index.js';
export * from './data/index.js';
export * from './model/index.js';
export * from './train/index.js';
