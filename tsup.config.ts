import { defineConfig, type Options } from 'tsup';
import type { Plugin } from 'esbuild';

/** Files of the browser runtime builds, which the Node build's clean step must leave alone. */
const RUNTIME_OUTPUTS = ['!runtime.*', '!tfjs-compress-runtime.*'];

/**
 * The script build runs next to the page's stock tf.min.js: any tfjs import resolves to the
 * global `tf` instead of bundling a second tfjs (today the runtime imports tfjs for types only).
 */
const tfGlobal: Plugin = {
  name: 'tfjs-global',
  setup(build) {
    build.onResolve({ filter: /^@tensorflow\/tfjs(-core)?$/ }, (args) => ({ path: args.path, namespace: 'tfjs-global' }));
    build.onLoad({ filter: /.*/, namespace: 'tfjs-global' }, () => ({
      contents: "if (typeof globalThis.tf === 'undefined') throw new Error('tfjs-compress runtime: load tf.min.js before this script'); module.exports = globalThis.tf;",
      loader: 'js',
    }));
  },
};

/** The browser runtime (`tfjs-compress/runtime`): no Node built-ins, pako inlined, tfjs left to the user. */
const runtime: Options = {
  entry: { runtime: 'src/runtime/index.ts' },
  platform: 'browser',
  target: 'es2020',
  sourcemap: true,
  clean: false,
  noExternal: ['pako'],
  external: [/^@tensorflow\//],
};

/** ESM for bundlers and <script type="module">, CJS for require(). */
export const runtimeModules: Options = { ...runtime, format: ['esm', 'cjs'] };

/** One minified script for a page: <script src="tf.min.js"> then this; exposes `tfjsCompress`. */
export const runtimeScript: Options = {
  ...runtime,
  entry: { 'tfjs-compress-runtime': 'src/runtime/index.ts' },
  format: ['iife'],
  globalName: 'tfjsCompress',
  minify: true,
  outExtension: () => ({ js: '.min.js' }),
  esbuildPlugins: [tfGlobal],
};

export default defineConfig([
  {
    entry: { index: 'src/index.ts', cli: 'src/cli/main.ts' },
    format: ['esm', 'cjs'],
    // The runtime's declarations are rolled up here too: one dts pass, so no build removes another's .d.ts.
    dts: { entry: { index: 'src/index.ts', runtime: 'src/runtime/index.ts' } },
    sourcemap: true,
    clean: RUNTIME_OUTPUTS,
    // createRequire(import.meta.url) must work in the CJS build too.
    shims: true,
    target: 'node18',
    // Heavy runtime packages stay external: users install them, we never bundle them.
    external: [/^@tensorflow\//, 'onnxruntime-node', 'sharp', 'pako', 'protobufjs'],
  },
  runtimeModules,
  runtimeScript,
]);
