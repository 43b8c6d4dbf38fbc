/**
 * B4: the keras.io "Knowledge Distillation" example. Teacher keras-kd-teacher (conv 256/512),
 * student keras-kd-student (conv 16/32), alpha 0.1, T 10, students 3 epochs, 3 seeds;
 * distilled vs scratch test accuracy next to keras.io's teacher 97.6 / scratch 97.6 / distilled 98.1.
 *
 * Batch size 32 and Adam 1e-3 everywhere, as in the Keras example (its `fit` defaults).
 * The 256/512-filter teacher is the slow part on wasm (28 samples/s on one idle core, ~45 with two
 * threads: about 35 min per 60k epoch), so it checkpoints every epoch into KD_CHECKPOINT_DIR
 * (default out/bench/distill-keras/teacher) and a re-run resumes where the last one stopped.
 * The budget is set by env vars and the result states what was used: KD_TEACHER_LIMIT (default
 * 60000) and KD_TEACHER_EPOCHS (default 5, as keras.io), KD_STUDENT_LIMIT (default 60000),
 * KD_STUDENT_EPOCHS (default 3), KD_SEEDS (default 3), KD_TEST_LIMIT (default 10000).
 *
 * About the anchor: keras.io's expected figures date from the example's first version, whose
 * `Distiller.__init__` swapped the models (`self.teacher = student; self.student = teacher`,
 * keras-team/keras-io#257, fixed later without updating the text). Its "distilled 98.1%" is the
 * trained teacher fitted for 3 more epochs, not a distilled student; see docs/distillation.md.
 */
import { pathToFileURL } from 'node:url';
import { setBackend } from '../src/backend/index.js';
import { loadMnist } from '../src/data/mnist.js';
import { compareScratch } from '../src/distill/index.js';
import { buildZooModel } from '../src/model/zoo.js';
import { evaluate, train } from '../src/train/index.js';
import { envInt, summary, writeResult } from './common.js';

const KERAS = { teacher: 97.6, scratch: 97.6, distilled: 98.1 };
const KERAS_NOTE = "keras.io's 98.1 'distilled' was measured with the models swapped in Distiller.__init__ (keras-io#257): the teacher trained 3 more epochs";
/** Keras `fit`'s default batch size, used by the example. */
const BATCH = 32;

export default async function run(): Promise<void> {
  const backend = await setBackend('auto');
  const teacherLimit = envInt('KD_TEACHER_LIMIT', 60000);
  const teacherEpochs = envInt('KD_TEACHER_EPOCHS', 5);
  const studentLimit = envInt('KD_STUDENT_LIMIT', 60000);
  const studentEpochs = envInt('KD_STUDENT_EPOCHS', 3);
  const seeds = envInt('KD_SEEDS', 3);
  const all = loadMnist({ split: 'train', limit: Math.max(teacherLimit, studentLimit) });
  const test = loadMnist({ split: 'test', limit: envInt('KD_TEST_LIMIT', 10000) });
  console.log(`distill-keras on ${backend.name}: teacher ${teacherLimit} samples x ${teacherEpochs} epochs, students ${studentLimit} x ${studentEpochs}, ${seeds} seeds, ${test.size} test`);

  const teacher = buildZooModel('keras-kd-teacher', { seed: 1 });
  const t0 = performance.now();
  const checkpointDir = process.env.KD_CHECKPOINT_DIR ?? 'out/bench/distill-keras/teacher';
  const tr = await train(teacher, all.take(teacherLimit), { epochs: teacherEpochs, batchSize: BATCH, seed: 1, progress: true, label: 'teacher', checkpointDir });
  const teacherSeconds = (performance.now() - t0) / 1000;
  const teacherAcc = (await evaluate(teacher, test)).accuracy! * 100;
  console.log(`teacher: ${teacherAcc.toFixed(2)}% (${teacherSeconds.toFixed(0)} s, ${tr.samplesPerSecond.toFixed(1)} samples/s)`);

  const t1 = performance.now();
  const rows: Array<{ seed: number; scratch: number; distilled: number }> = [];
  for (let seed = 1; seed <= seeds; seed++) {
    const student = buildZooModel('keras-kd-student', { seed: 100 + seed });
    const r = await compareScratch({
      teacher,
      student,
      data: all.take(studentLimit),
      temperature: 10,
      alpha: 0.1,
      epochs: studentEpochs,
      batchSize: BATCH,
      seed,
      validation: test,
      cacheTeacher: true,
      progress: true,
      label: `seed ${seed}`,
    });
    rows.push({ seed, scratch: r.scratch.final!.accuracy * 100, distilled: r.distilled.final!.accuracy * 100 });
    console.log(`seed ${seed}: scratch ${rows.at(-1)!.scratch.toFixed(2)}%  distilled ${rows.at(-1)!.distilled.toFixed(2)}%`);
    r.scratchModel.dispose();
    student.dispose();
  }
  const mean = (k: 'scratch' | 'distilled') => rows.reduce((a, r) => a + r[k], 0) / rows.length;
  const diff = mean('distilled') - mean('scratch');
  const path = writeResult('distill-keras', {
    budget: { teacherSamples: teacherLimit, teacherEpochs, studentSamples: studentLimit, studentEpochs, seeds, testSamples: test.size, batchSize: BATCH, optimizer: 'adam 1e-3', alpha: 0.1, temperature: 10 },
    keras: KERAS,
    kerasNote: KERAS_NOTE,
    teacherAccuracy: teacherAcc,
    teacherSeconds,
    teacherSamplesPerSecond: tr.samplesPerSecond,
    teacherResumedFromEpoch: tr.resumedFromEpoch,
    teacherHistory: tr.history,
    studentsSeconds: (performance.now() - t1) / 1000,
    perSeed: rows,
    meanScratch: mean('scratch'),
    meanDistilled: mean('distilled'),
    distilledMinusScratchPp: diff,
    goal: 'distilled > scratch by >= 0.3 pp',
    goalMet: diff >= 0.3,
  });
  summary(
    `B4 distill-keras: accuracy % teacher ${teacherAcc.toFixed(2)} / scratch ${mean('scratch').toFixed(2)} / distilled ${mean('distilled').toFixed(2)} ` +
      `(keras.io ${KERAS.teacher} / ${KERAS.scratch} / ${KERAS.distilled}); distilled - scratch ${diff.toFixed(2)} pp (goal >= 0.3); ` +
      `budget teacher ${teacherLimit} x ${teacherEpochs} ep, students ${studentLimit} x ${studentEpochs} ep, ${seeds} seeds`,
  );
  console.log(`wrote ${path}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await run();
