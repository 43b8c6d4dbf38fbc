import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { compareScratch, distill, distillLossNames, formatComparison, freezeTeacher, parseFeaturePair, teacherAccuracy, TEACHER_OUTPUTS } from '../../distill/index.js';
import type { DistillResult, FeaturePair, LossSpec, TeacherModel, TeacherOutputs } from '../../distill/index.js';
import { saveLayersModel } from '../../model/io.js';
import { loadLayersModel, loadModel } from '../../model/load.js';
import { assertReplaceable, recoverDir } from '../../util/atomic.js';
import type * as tf from '@tensorflow/tfjs';
import { inputScalingFromMetadata, setModelInputScaling } from '../../data/scaling-metadata.js';
import { modelInputShape } from '../../model/input-shape.js';
import { addInputScalingOptions, DATA_FORMS, loadDataForModel, parseNumber, parsePositiveInt } from '../data-arg.js';
import { refuseContainerOut, refuseOverwrite } from '../output-guards.js';

/** `--loss logits,mse:0.5` -> [{name: 'logits', weight: 1}, {name: 'mse', weight: 0.5}]. */
function parseLosses(spec: string): LossSpec[] {
  return spec.split(',').map((part) => {
    const [name, w] = part.split(':');
    if (!name) throw new Error(`--loss '${spec}': empty loss name; expected e.g. logits or logits,mse:0.5`);
    if (w === undefined) return name;
    const weight = Number(w);
    if (!(weight >= 0)) throw new Error(`--loss '${spec}': weight of '${name}' must be a number >= 0, got '${w}'`);
    return { name, weight };
  });
}

/** Teacher: a layers or graph model, from files, a container or the zoo (ONNX and Keras refused in one line). */
async function loadTeacher(spec: string, seed: number): Promise<TeacherModel> {
  const m = await loadModel(spec, { command: 'distill --teacher', accept: ['layers', 'graph'], seed });
  if (m.kind === 'onnx') throw new Error(`distill --teacher: '${spec}' is an ONNX file`);
  return m.model;
}

function parseTeacherOutputs(v: string): TeacherOutputs {
  if (!(TEACHER_OUTPUTS as readonly string[]).includes(v)) throw new Error(`--teacher-outputs expects one of ${TEACHER_OUTPUTS.join(', ')}, got '${v}'`);
  return v as TeacherOutputs;
}

function summary(name: string, r: DistillResult): Record<string, unknown> {
  return {
    run: name,
    accuracy: r.final?.accuracy ?? null,
    hardLoss: r.final?.hardLoss ?? null,
    distillLoss: r.final?.distillLoss ?? null,
    epochSeconds: r.epochSeconds,
    stopReason: r.stopReason ?? null,
  };
}

/**
 * `tfjs-compress distill`: train a student from a frozen teacher (optionally next to its scratch
 * twin) and save the student plus a JSON report.
 */
export function registerDistillCommand(program: Command): void {
  addInputScalingOptions(program
    .command('distill')
    .description(
      'knowledge distillation: train --student from a frozen --teacher (Hinton 2015). The teacher should be TRAINED: ' +
        'make one with `tfjs-compress train --arch mlp-big --out teacher` (a zoo: teacher is untrained, only useful for smoke tests)',
    )
    .requiredOption('--teacher <path|zoo:name>', 'trained teacher: layers or graph model folder / model JSON, or .tfjsc (or zoo:<name>, untrained)')
    .requiredOption('--student <path|zoo:name>', 'student: zoo:<name> (fresh, seeded) or any tfjs model (graph models are rebuilt as layers models)')
    .option('--teacher-outputs <kind>', `teacher output: ${TEACHER_OUTPUTS.join(' | ')} (auto: softmax detected, also behind Identity)`, parseTeacherOutputs, 'auto')
    .option('--data <spec>', `dataset: ${DATA_FORMS.join(' | ')}`, 'mnist'))
    .option('--temperature <T>', 'softening temperature T > 0', parseNumber('--temperature'), 4)
    .option('--alpha <a>', 'weight of the HARD-label loss in [0, 1]; the soft loss gets 1 - alpha (keras.io convention)', parseNumber('--alpha'), 0.1)
    .option('--epochs <n>', 'epochs', parsePositiveInt('--epochs'), 3)
    .option('--loss <list>', `soft loss(es), comma-separated, optional :weight: ${distillLossNames().join(', ')}`, 'logits')
    .option('--feature <t_layer:s_layer[:w]>', 'match a teacher layer to a student layer with MSE (repeatable)', (v: string, acc: FeaturePair[]) => [...acc, parseFeaturePair(v)], [] as FeaturePair[])
    .option('--compare-scratch', 'also train the same student from the same initial weights without the teacher, and compare')
    .option('--cache-teacher [dir]', 'compute teacher outputs once and reuse them every epoch (stored in dir, default .cache)')
    .option('--batch-size <n>', 'batch size', parsePositiveInt('--batch-size'), 128)
    .option('--lr <x>', 'learning rate (adam)', parseNumber('--lr'), 1e-3)
    .option('--seed <n>', 'seed for student weights and data order', parseNumber('--seed'), 0)
    .option('--limit <n>', 'use only the first N training samples', parsePositiveInt('--limit'))
    .option('--test-limit <n>', 'use only the first N test samples', parsePositiveInt('--test-limit'))
    .option('--no-progress', 'no progress bar')
    .requiredOption('--out <dir>', 'output folder: student model.json + weights.bin, report.json (scratch/ with --compare-scratch)')
    .action(async (o) => {
      // Finish an earlier run's interrupted folder swap first (its checkpoint may sit in the new folder),
      // then refuse an --out holding unrelated files now, not after training.
      recoverDir(o.out);
      assertReplaceable(o.out, ['checkpoint']);
      refuseContainerOut('distill', o.out, 'report.json');
      // The output folder is replaced as a whole: it must not hold the teacher or the student.
      for (const spec of [o.teacher, o.student] as string[]) if (existsSync(spec)) refuseOverwrite(spec, o.out, ': write to another folder');
      const teacher = await loadTeacher(o.teacher, o.seed);
      let student: tf.LayersModel | undefined;
      let scratchModel: tf.LayersModel | undefined;
      // The models are this command's to free, on success and on error alike.
      try {
        // The teacher's stored scaling and input size decide how the data is fed (a flag overrides).
        const facts = { inputShape: modelInputShape(teacher), inputScaling: inputScalingFromMetadata(teacher, o.teacher) };
        const { train: trainSet, test, scaling } = await loadDataForModel(o.data, o, facts, { limit: o.limit, testLimit: o.testLimit });
        const loaded = await loadLayersModel(o.student, { command: 'distill --student', seed: o.seed });
        const { converted } = loaded;
        student = loaded.model;
        if (converted) console.log(`student ${o.student}: graph model rebuilt as ${converted.layers} layers (parity max|diff| ${converted.parity.maxAbsDiff.toExponential(2)})`);
        const teacherAcc = teacherAccuracy(freezeTeacher(teacher, { outputs: o.teacherOutputs }), test);
        console.log(
          `distilling ${o.teacher} (test accuracy ${(teacherAcc * 100).toFixed(2)}%) into ${o.student} on ${o.data}: ` +
            `${trainSet.size} train / ${test.size} test samples, T=${o.temperature}, alpha=${o.alpha}, ${o.epochs} epoch(s)`,
        );
        const args = {
          teacher,
          teacherOutputs: o.teacherOutputs as TeacherOutputs,
          student,
          data: trainSet,
          temperature: o.temperature,
          alpha: o.alpha,
          losses: parseLosses(o.loss),
          features: o.feature as FeaturePair[],
          epochs: o.epochs,
          batchSize: o.batchSize,
          learningRate: o.lr,
          seed: o.seed,
          validation: test,
          cacheTeacher: o.cacheTeacher as boolean | string | undefined,
          progress: o.progress as boolean,
          label: 'distill',
          checkpointDir: join(o.out, 'checkpoint'),
        };
        let distilled: DistillResult;
        let scratch: DistillResult | undefined;
        if (o.compareScratch) {
          const r = await compareScratch(args);
          distilled = r.distilled;
          scratch = r.scratch;
          scratchModel = r.scratchModel;
          setModelInputScaling(r.scratchModel, scaling.scaling);
        } else {
          distilled = await distill(args);
        }
        setModelInputScaling(student, scaling.scaling);
        const report = {
          teacher: o.teacher,
          student: o.student,
          data: o.data,
          trainSamples: trainSet.size,
          testSamples: test.size,
          teacherAccuracy: teacherAcc,
          inputScaling: scaling.scaling,
          settings: distilled.settings,
          epochs: o.epochs,
          teacherHash: distilled.teacherHash,
          teacherUnchanged: distilled.teacherUnchanged,
          cache: distilled.cache ?? null,
          results: [summary('distilled', distilled), ...(scratch ? [summary('scratch', scratch)] : [])],
          history: { distilled: distilled.history, scratch: scratch?.history ?? null },
        };
        // Student, scratch twin, report and checkpoint: one folder, swapped in as a unit.
        const twin = scratchModel;
        await saveLayersModel(student, o.out, {
          files: { 'report.json': report },
          keep: ['checkpoint'],
          fill: twin ? (tmp) => saveLayersModel(twin, join(tmp, 'scratch')) : undefined,
        });
        console.log(formatComparison(distilled, scratch));
        const pct = (v?: number) => (v === undefined ? '-' : `${(v * 100).toFixed(2)}%`);
        console.log(
          `teacher ${pct(teacherAcc)}  distilled ${pct(distilled.final?.accuracy)}` +
            (scratch ? `  scratch ${pct(scratch.final?.accuracy)}` : '') +
            (distilled.cache ? `  (teacher cache ${distilled.cache.hit ? 'hit' : 'built'}: ${distilled.cache.path})` : '') +
            `  -> ${o.out}`,
        );
        if (distilled.stopReason) console.log(`stopped: ${distilled.stopReason}`);
      } finally {
        teacher.dispose();
        student?.dispose();
        scratchModel?.dispose();
      }
    });
}
