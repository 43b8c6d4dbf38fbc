/**
 * B7 structured pruning speed-up: the zoo `cnn` (Keras mnist_cnn: conv_1 32 -> conv_2 64 -> pool ->
 * dense_1 128 -> logits 10) trained on MNIST. What is pruned: 50% of the filters of each Conv2D
 * layer (conv_1 32 -> 16, conv_2 64 -> 32), chosen by the L1 norm of each filter; the Dense layers
 * keep all their units (dense_1 loses the input rows of conv_2's removed filters through the
 * flatten, the logits are untouched). The model is rebuilt physically smaller and fine-tuned. Reports accuracy drop, parameters, and p50 latency at
 * batch 1 and 32 on the default tfjs backend, plus onnxruntime-node latency of both models
 * exported with src/export's `exportOnnx`.
 *
 * Quick run: STRUCT_TRAIN=2000 STRUCT_TEST=500 STRUCT_REPEATS=10 npx tsx bench/structured-speedup.ts
 */
import * as tf from '@tensorflow/tfjs';
import { setBackend } from '../src/backend/select.js';
import { loadMnist } from '../src/data/mnist.js';
import { cloneModel } from '../src/model/clone.js';
import { buildZooModel } from '../src/model/zoo.js';
import { structuredPrune } from '../src/prune/index.js';
import { evaluate, train } from '../src/train/index.js';
import { envInt, summary, writeResult } from './common.js';
import { p50, savedSize } from './prune-shared.js';

async function tfjsLatency(model: tf.LayersModel, batch: number, repeats: number): Promise<number> {
  const x = tf.randomUniform([batch, 28, 28, 1], 0, 1, 'float32', 1);
  try {
    return await p50(async () => {
      const y = model.predict(x) as tf.Tensor;
      await y.data();
      y.dispose();
    }, repeats);
  } finally {
    x.dispose();
  }
}

async function onnxLatency(model: tf.LayersModel, repeats: number): Promise<Record<string, number> | { error: string }> {
  try {
    const { exportOnnx } = await import('../src/export/index.js');
    const ort = await import('onnxruntime-node');
    const { bytes } = await exportOnnx(model);
    const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
    const out: Record<string, number> = {};
    for (const batch of [1, 32]) {
      const input = new ort.Tensor('float32', new Float32Array(batch * 784).map((_, i) => (i % 97) / 97), [batch, 28, 28, 1]);
      out[`batch${batch}`] = await p50(async () => {
        await session.run({ [session.inputNames[0]!]: input });
      }, repeats);
    }
    await session.release();
    return out;
  } catch (err) {
    return { error: (err as Error).message };
  }
}

export default async function run(): Promise<void> {
  await setBackend((process.env.BENCH_BACKEND as 'wasm' | 'cpu' | undefined) ?? 'auto');
  const trainLimit = envInt('STRUCT_TRAIN', 20000);
  const testLimit = envInt('STRUCT_TEST', 10000);
  const epochs = envInt('STRUCT_EPOCHS', 2);
  const fineTuneEpochs = envInt('STRUCT_FINETUNE_EPOCHS', 2);
  const repeats = envInt('STRUCT_REPEATS', 50);
  const data = loadMnist({ split: 'train', limit: trainLimit });
  const test = loadMnist({ split: 'test', limit: testLimit });

  const dense = buildZooModel('cnn', { seed: 0 });
  await train(dense, data, { epochs, batchSize: 128, progress: true, label: 'cnn' });
  const denseAcc = (await evaluate(dense, test)).accuracy!;
  const pruned = await structuredPrune(dense, { configList: [{ opTypes: ['Conv2D'], sparsity: 0.5 }], importance: 'l1' });
  const oneShotAcc = (await evaluate(pruned.model, test)).accuracy!;
  await train(pruned.model, data, { epochs: fineTuneEpochs, batchSize: 128, seed: 1, progress: true, label: 'fine-tune' });
  const prunedAcc = (await evaluate(pruned.model, test)).accuracy!;
  // Same extra training for the dense model, so the accuracy comparison is like for like.
  const denseMore = await cloneModel(dense);
  await train(denseMore, data, { epochs: fineTuneEpochs, batchSize: 128, seed: 1, progress: true, label: 'dense, same extra epochs' });
  const denseMoreAcc = (await evaluate(denseMore, test)).accuracy!;
  denseMore.dispose();

  const latency: Record<string, Record<string, number>> = { dense: {}, pruned: {} };
  for (const batch of [1, 32]) {
    latency.dense![`batch${batch}`] = await tfjsLatency(dense, batch, repeats);
    latency.pruned![`batch${batch}`] = await tfjsLatency(pruned.model, batch, repeats);
  }
  const onnx = { dense: await onnxLatency(dense, repeats), pruned: await onnxLatency(pruned.model, repeats) };
  const speedup = (o: Record<string, number>, p: Record<string, number>, k: string) => o[k]! / p[k]!;
  const result = {
    config: { model: 'cnn', convFiltersRemoved: 0.5, importance: 'l1', trainSamples: data.size, testSamples: test.size, epochs, fineTuneEpochs, repeats },
    groups: pruned.table,
    params: { dense: pruned.paramsBefore, pruned: pruned.paramsAfter },
    size: { dense: await savedSize(dense), pruned: await savedSize(pruned.model) },
    accuracy: { dense: denseAcc, denseSameExtraEpochs: denseMoreAcc, prunedOneShot: oneShotAcc, prunedFineTuned: prunedAcc, drop: denseMoreAcc - prunedAcc },
    latencyMsP50: { backend: tf.getBackend(), ...latency },
    speedup: { batch1: speedup(latency.dense!, latency.pruned!, 'batch1'), batch32: speedup(latency.dense!, latency.pruned!, 'batch32') },
    onnxLatencyMsP50: onnx,
  };
  const path = writeResult('structured-speedup', result);
  const f = (x: number) => x.toFixed(2);
  summary(
    `B7 structured (50% of Conv2D filters by L1, Dense units kept): params ${pruned.paramsBefore} -> ${pruned.paramsAfter}; accuracy dense ${f(denseAcc * 100)}% (+${fineTuneEpochs} epoch(s): ${f(denseMoreAcc * 100)}%), pruned one-shot ${f(oneShotAcc * 100)}%, fine-tuned ${f(prunedAcc * 100)}%; ` +
      `${tf.getBackend()} p50 batch1 ${f(latency.dense!.batch1!)} -> ${f(latency.pruned!.batch1!)} ms (${f(result.speedup.batch1)}x), ` +
      `batch32 ${f(latency.dense!.batch32!)} -> ${f(latency.pruned!.batch32!)} ms (${f(result.speedup.batch32)}x)`,
  );
  if ('batch1' in onnx.dense && 'batch1' in onnx.pruned) {
    const [d, p] = [onnx.dense as Record<string, number>, onnx.pruned as Record<string, number>];
    console.log(`  onnxruntime p50 batch1 ${f(d.batch1!)} -> ${f(p.batch1!)} ms, batch32 ${f(d.batch32!)} -> ${f(p.batch32!)} ms`);
  } else console.log(`  onnx: ${JSON.stringify(onnx)}`);
  console.log(`wrote ${path}`);
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
