/**
 * Former browser-safe entry point, kept for imports of this path: the one public browser face is
 * now `src/runtime` (`tfjs-compress/runtime`), which this file re-exports.
 */
export * from '../runtime/index.js';
