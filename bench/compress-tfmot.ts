/**
 * B2 (pruning part): the TF-MOT "Pruning in Keras" tutorial, in tfjs. tfmot-cnn trained 4 epochs on
 * 54k MNIST images (10% of the 60k held out for validation), batch 128; then PolynomialDecay
 * 0.5 -> 0.8 over 2 epochs (end_step = ceil(54000 / 128) * 2, frequency 100) while fine-tuning;
 * test accuracy on the 10k test set and gzip sizes of the tfjs artifacts (model.json + weights,
 * pako level 9) next to TF-MOT's published 78,269 B -> 25,742 B (3.0x, zipped .h5 files).
 *
 * Quick run: TFMOT_TRAIN=6000 TFMOT_TEST=2000 TFMOT_EPOCHS=1 TFMOT_PRUNE_EPOCHS=1 npx tsx bench/compress-tfmot.ts
 */
import { gzipSize } from '../src/util/gzip.js';
import { setBackend } from '../src/backend/select.js';
import { loadMnist } from '../src/data/mnist.js';
import { buildZooModel } from '../src/model/zoo.js';
import { PolynomialDecay, magnitudePrune, sparsityReport, strip, disposeMasks } from '../src/prune/index.js';
import { evaluate, train } from '../src/train/index.js';
import { envInt, summary, writeResult } from './common.js';
import { savedSize } from './prune-shared.js';

const TFMOT = { baselineGzipBytes: 78269, prunedGzipBytes: 25742, ratio: 3.0 };

export default async function run(): Promise<void> {
  await setBackend((process.env.BENCH_BACKEND as 'wasm' | 'cpu' | undefined) ?? 'auto');
  const trainLimit = envInt('TFMOT_TRAIN', 60000);
  const testLimit = envInt('TFMOT_TEST', 10000);
  const epochs = envInt('TFMOT_EPOCHS', 4);
  const pruneEpochs = envInt('TFMOT_PRUNE_EPOCHS', 2);
  const batchSize = 128;
  const [trainSet, validation] = loadMnist({ split: 'train', limit: trainLimit }).split(0.1, 0);
  const test = loadMnist({ split: 'test', limit: testLimit });
  console.log(`tfmot-cnn: ${trainSet.size} train / ${validation.size} validation / ${test.size} test, ${epochs} + ${pruneEpochs} epochs`);

  const baseline = buildZooModel('tfmot-cnn', { seed: 0 });
  const t0 = performance.now();
  await train(baseline, trainSet, { epochs, batchSize, validation, progress: true, label: 'baseline' });
  const baselineSeconds = (performance.now() - t0) / 1000;
  const baseAcc = (await evaluate(baseline, test)).accuracy!;
  const baseSize = await savedSize(baseline);

  const endStep = Math.ceil(trainSet.size / batchSize) * pruneEpochs;
  const schedule = new PolynomialDecay({ initialSparsity: 0.5, finalSparsity: 0.8, beginStep: 0, endStep, frequency: 100 });
  const t1 = performance.now();
  const pruned = await magnitudePrune(baseline, trainSet, {
    epochs: pruneEpochs,
    batchSize,
    validation,
    progress: true,
    label: 'prune',
    // prune_low_magnitude(model): every Conv2D and Dense kernel.
    configList: [{ opTypes: ['Conv2D', 'Dense'], sparsity: 0.8 }],
    schedule,
  });
  const pruneSeconds = (performance.now() - t1) / 1000;
  const exported = await strip(pruned.model, pruned.masks);
  disposeMasks(pruned.masks);
  const prunedAcc = (await evaluate(exported, test)).accuracy!;
  const prunedSize = await savedSize(exported);
  const report = sparsityReport(exported);

  // ---- HOOK: quantize + pack (TF-MOT tutorial's "prune + post-training quantization" step). ----
  // Uses src/quantize (int8 per-channel weights) and src/serialize `packModel` when available;
  // the figures are recorded under `quantizePack` (or the error that prevented them).
  let quantizePack: Record<string, unknown>;
  try {
    const { quantizeModel } = await import('../src/quantize/index.js');
    const { packModel } = await import('../src/serialize/index.js');
    const { gzip } = await import('pako');
    const q = await quantizeModel(exported, { mode: 'int8-channel' });
    const bytes = await packModel(q.model, { quantized: q.quantized });
    quantizePack = {
      mode: 'int8-channel',
      accuracy: (await evaluate(q.model, test)).accuracy,
      packedBytes: bytes.byteLength,
      packedGzipBytes: gzipSize(bytes),
    };
  } catch (err) {
    quantizePack = { error: (err as Error).message };
  }
  // ---- end of hook ----

  const result = {
    config: { trainSamples: trainSet.size, validationSamples: validation.size, testSamples: test.size, epochs, pruneEpochs, batchSize, schedule: schedule.getConfig() },
    baseline: { accuracy: baseAcc, ...baseSize, trainSeconds: baselineSeconds },
    pruned: { accuracy: prunedAcc, ...prunedSize, sparsity: report.sparsity, layers: report.layers, fineTuneSeconds: pruneSeconds },
    gzipRatio: baseSize.gzipBytes / prunedSize.gzipBytes,
    accuracyDrop: baseAcc - prunedAcc,
    tfmotReference: TFMOT,
    quantizePack,
  };
  const path = writeResult('compress-tfmot', result);
  summary(
    `B2 pruning: accuracy ${(baseAcc * 100).toFixed(2)}% -> ${(prunedAcc * 100).toFixed(2)}%, ` +
      `gzip ${baseSize.gzipBytes} B -> ${prunedSize.gzipBytes} B (${result.gzipRatio.toFixed(2)}x; TF-MOT ${TFMOT.baselineGzipBytes} -> ${TFMOT.prunedGzipBytes} B, ${TFMOT.ratio}x), ` +
      `sparsity ${(report.sparsity * 100).toFixed(1)}%`,
  );
  if ('packedGzipBytes' in quantizePack) console.log(`  + int8 quantize + pack: ${quantizePack.packedGzipBytes} B gzipped, accuracy ${((quantizePack.accuracy as number) * 100).toFixed(2)}%`);
  else console.log(`  quantize + pack hook: ${String(quantizePack.error)}`);
  console.log(`wrote ${path}`);
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
