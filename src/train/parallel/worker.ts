/**
 * Worker of {@link ParallelTrainer}: one single-threaded wasm backend per worker thread, its own copy
 * of the model and optimizer, its shard of every batch; gradients are summed over all workers
 * through shared memory, so every worker applies the same update and the copies never diverge.
 * Driven by commands (epoch, getWeights, setWeights, stop) after the init message.
 */
import { readFileSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { setBackend } from '../../backend/select.js';
import { permutation } from '../../data/dataset.js';
import { getDistillLoss } from '../../distill/losses.js';
import { freezeTeacher } from '../../distill/teacher.js';
import { countCorrect, crossEntropyFor, softmaxCrossEntropy } from '../metrics.js';
import { makeOptimizer, setLearningRate } from '../optimizers.js';
import { STATS, type Command, type EpochStats, type InitMessage, type ModelTransfer, type WorkerMessage } from './protocol.js';
import { AllReduce, shardOf } from './shared.js';

const port = parentPort!;

/** On-CPU milliseconds of this thread so far (Linux schedstat), or NaN where unavailable. */
function threadCpuMs(): number {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return NaN;
  }
}

/** Milliseconds per phase of the current epoch (reported with it): where a parallel step goes. */
const phaseMs: Record<string, number> = {};
/** Add the time since `t` to `phase`; returns now. */
function lap(phase: string, t: number): number {
  const now = performance.now();
  phaseMs[phase] = (phaseMs[phase] ?? 0) + now - t;
  return now;
}
const post = (m: WorkerMessage, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

async function loadModel(t: ModelTransfer): Promise<tf.LayersModel> {
  const model = await tf.models.modelFromJSON({ modelTopology: JSON.parse(t.topology) as tf.io.ModelJSON['modelTopology'] });
  const tensors = model.weights.map((w, i) => tf.tensor(t.weights[i]!, w.shape as number[], 'float32'));
  model.setWeights(tensors);
  tf.dispose(tensors);
  return model;
}

/** A tensor's values without a copy: a view of the wasm heap (valid until the next allocation). */
function heapView(t: tf.Tensor): Float32Array {
  return (tf.backend() as unknown as { typedArrayFromHeap(t: tf.TensorInfo): Float32Array }).typedArrayFromHeap(t);
}

/** Rows `idx` of a flat [size, ...shape] array as one tensor. */
function gather(src: Float32Array, shape: number[], idx: Int32Array): tf.Tensor {
  const per = shape.reduce((a, b) => a * b, 1);
  const buf = new Float32Array(idx.length * per);
  for (let i = 0; i < idx.length; i++) buf.set(src.subarray(idx[i]! * per, (idx[i]! + 1) * per), i * per);
  return tf.tensor(buf, [idx.length, ...shape], 'float32');
}

/** One worker's state for the whole run. */
interface State {
  m: InitMessage;
  student: tf.LayersModel;
  teacherModel?: tf.LayersModel;
  teacher?: ReturnType<typeof freezeTeacher>;
  soft?: ReturnType<typeof getDistillLoss>;
  ce: ReturnType<typeof crossEntropyFor>;
  optimizer: tf.Optimizer;
  vars: tf.Variable[];
  params: number;
  reduce: AllReduce;
  x: Float32Array;
  y: Float32Array;
}

async function init(m: InitMessage): Promise<State> {
  await setBackend('wasm', { threads: 1 });
  const student = await loadModel(m.student);
  const teacherModel = m.teacher ? await loadModel(m.teacher) : undefined;
  const teacher = teacherModel ? freezeTeacher(teacherModel) : undefined;
  const vars = student.trainableWeights.map((w) => w.read() as tf.Variable);
  const params = vars.reduce((a, v) => a + v.size, 0);
  if (m.shared.len !== params + STATS) throw new Error(`parallel worker ${m.rank}: ${params} trainable values but the shared row holds ${m.shared.len - STATS}`);
  return {
    m, student, teacherModel, teacher,
    soft: teacher ? getDistillLoss(m.distillLoss) : undefined,
    ce: crossEntropyFor(student),
    optimizer: makeOptimizer(m.optimizer, m.learningRate),
    vars, params,
    reduce: new AllReduce(m.shared, m.rank),
    x: new Float32Array(m.x),
    y: new Float32Array(m.y),
  };
}

/** One epoch over this worker's shard of every batch, in lockstep with the other workers. */
function runEpoch(s: State, epoch: number): EpochStats {
  const { m, student, teacher, soft, ce, optimizer, vars, params, reduce, x, y } = s;
  const workers = m.shared.workers;
  // The same order as TensorDataset.batches({shuffle, seed, epoch}), so runs compare with train().
  const order = m.shuffle ? permutation(m.size, (m.seed * 1_000_003 + epoch) >>> 0) : Int32Array.from({ length: m.size }, (_, i) => i);
  const t0 = performance.now();
  const c0 = threadCpuMs();
  let lossSum = 0;
  let correctSum = 0;
  let seen = 0;
  let steps = 0;
  let stopReason: string | undefined;
  for (let start = 0; start < m.size; start += m.batchSize) {
    const n = Math.min(m.batchSize, m.size - start);
    const [lo, hi] = shardOf(n, m.rank, workers);
    const row = reduce.mine;
    let tq = performance.now();
    if (hi > lo) {
      const idx = order.subarray(start + lo, start + hi);
      const xs = gather(x, m.xShape, idx);
      const ys = gather(y, m.yShape, idx);
      // This worker's share of the batch-mean loss: sum over workers = the whole batch's mean.
      const share = (hi - lo) / n;
      let correct: tf.Scalar | undefined;
      const { value, grads } = tf.variableGrads(() => {
        const out = student.apply(xs, { training: true }) as tf.Tensor;
        correct = tf.keep(countCorrect(ys, out));
        let loss: tf.Scalar = teacher ? softmaxCrossEntropy(ys, out) : ce(ys, out);
        if (teacher && soft) {
          const t = teacher.run(xs, []);
          const s = soft.compute({ student: out, teacher: t.logits, temperature: m.temperature, targets: ys, features: [] });
          loss = tf.add(tf.mul(loss, m.alpha), tf.mul(s, 1 - m.alpha));
        }
        return tf.mul(loss, share) as tf.Scalar;
      }, vars);
      tq = lap('gradients', tq);
      let off = 0;
      for (const v of vars) {
        row.set(heapView(grads[v.name]!), off);
        off += v.size;
      }
      row[params] = value.dataSync()[0]!;
      row[params + 1] = correct!.dataSync()[0]!;
      tf.dispose([value, correct!, xs, ys, ...Object.values(grads)]);
    } else {
      row.fill(0);
    }
    tq = lap('copy', tq);
    const sum = reduce.reduce();
    tq = lap('all-reduce', tq);
    const loss = sum[params]!;
    if (!Number.isFinite(loss)) {
      stopReason = `loss became ${loss} at epoch ${epoch + 1}, batch ${steps + 1}: the weights are those before that batch`;
      break;
    }
    const named: tf.NamedTensorMap = {};
    let off = 0;
    for (const v of vars) {
      // The backend copies the values into its own memory when the tensor is made.
      named[v.name] = tf.tensor(sum.subarray(off, off + v.size), v.shape, 'float32');
      off += v.size;
    }
    optimizer.applyGradients(named);
    tf.dispose(Object.values(named));
    tq = lap('optimizer', tq);
    lossSum += loss * n;
    correctSum += sum[params + 1]!;
    seen += n;
    steps++;
  }
  const phases = { ...phaseMs, cpu: threadCpuMs() - c0 };
  for (const k in phaseMs) phaseMs[k] = 0;
  return { epoch, loss: lossSum, correct: correctSum, seen, steps, seconds: (performance.now() - t0) / 1000, stopReason, phases };
}

function setWeights(model: tf.LayersModel, weights: Float32Array[]): void {
  const tensors = model.weights.map((w, i) => tf.tensor(weights[i]!, w.shape as number[], 'float32'));
  model.setWeights(tensors);
  tf.dispose(tensors);
}

let state: State | undefined;
let rank = -1;
// Commands run one at a time, in order (each epoch blocks this thread in the barriers anyway).
let queue: Promise<void> = Promise.resolve();
port.on('message', (msg: InitMessage | Command) => {
  queue = queue.then(async () => {
    try {
      if (!('cmd' in msg)) {
        rank = msg.rank;
        state = await init(msg);
        post({ type: 'ready', rank });
        return;
      }
      const s = state!;
      if (msg.cmd === 'epoch') {
        setLearningRate(s.optimizer, msg.learningRate);
        post({ type: 'epoch', rank, ...runEpoch(s, msg.epoch) });
      } else if (msg.cmd === 'getWeights') {
        const weights = s.student.getWeights().map((w) => w.dataSync() as Float32Array);
        post({ type: 'weights', rank, weights }, weights.map((w) => w.buffer as ArrayBuffer));
      } else if (msg.cmd === 'setWeights') {
        setWeights(s.student, msg.weights);
        post({ type: 'ok', rank });
      } else if (msg.cmd === 'stop') {
        s.optimizer.dispose();
        s.student.dispose();
        s.teacherModel?.dispose();
        state = undefined;
        post({ type: 'ok', rank });
      }
    } catch (e) {
      // One line: the main thread prefixes the worker's rank.
      post({ type: 'error', rank, message: String((e as Error).message ?? e).split('\n')[0]! });
    }
  });
});
