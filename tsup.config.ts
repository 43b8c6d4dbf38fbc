import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts', cli: 'src/cli/main.ts' },
  format: ['esm', 'cjs'],
  dts: { entry: { index: 'src/index.ts' } },
  sourcemap: true,
  clean: true,
  // createRequire(import.meta.url) must work in the CJS build too.
  shims: true,
  target: 'node18',
  // Heavy runtime packages stay external: users install them, we never bundle them.
  external: [/^@tensorflow\//, 'onnxruntime-node', 'sharp', 'pako', 'protobufjs'],
});
