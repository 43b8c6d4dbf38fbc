import type { Recipe } from './parse.js';
import { parseRecipe } from './parse.js';

/**
 * Sizes of the built-in demo. The default budget is chosen for about 5 minutes on 2 idle cores
 * (wasm backend); `full` uses all 60,000 / 10,000 MNIST images; `tiny` runs in seconds.
 */
export const DEMO_SETTINGS = {
  trainLimit: 20000,
  testLimit: 10000,
  teacherEpochs: 5,
  studentEpochs: 5,
  pruneEpochs: 3,
  sparsity: 0.9,
} as const;

/**
 * The demo as a recipe: train a LeNet-5 teacher on MNIST, distil a small CNN student (with its
 * scratch twin), prune it to 90% sparsity with distillation fine-tuning, quantize (int8 per
 * channel), pack, export ONNX + tfjs (both verified), and bench every model.
 *
 * @example
 * const result = await runRecipe(demoRecipe(), { budget: 'tiny', outDir: 'out/demo' });
 */
export function demoRecipe(): Recipe {
  const s = DEMO_SETTINGS;
  return parseRecipe(
    {
      name: 'demo',
      description: 'MNIST: teacher -> distilled student (+ scratch twin) -> 90% pruned with distillation -> int8 -> container, ONNX, tfjs -> bench',
      seed: 0,
      data: { kind: 'mnist', trainLimit: s.trainLimit, testLimit: s.testLimit },
      stages: [
        { train: { name: 'teacher', model: 'lenet5', epochs: s.teacherEpochs, batchSize: 64, learningRate: 3e-3 } },
        {
          distill: { name: 'student', teacher: 'teacher', student: 'keras-kd-student', temperature: 4, alpha: 0.3, epochs: s.studentEpochs, batchSize: 64, learningRate: 3e-3, compareScratch: true },
        },
        {
          prune: {
            name: 'pruned',
            from: 'student',
            method: 'magnitude',
            sparsity: s.sparsity,
            // The first conv has 144 weights: pruning it 90% would leave 14 edge detectors.
            exclude: ['conv_1'],
            fineTune: { epochs: s.pruneEpochs, batchSize: 64, distillFrom: 'teacher', temperature: 4, alpha: 0.3 },
          },
        },
        { quantize: { name: 'quantized', from: 'pruned', mode: 'int8-channel' } },
        { pack: { name: 'packed', from: 'quantized' } },
        { export: { name: 'deploy', from: 'quantized', formats: ['onnx', 'tfjs'] } },
        { bench: { name: 'bench', batches: [1, 32], warmup: 3, repeats: 20 } },
      ],
    },
    'built-in demo recipe',
  );
}
