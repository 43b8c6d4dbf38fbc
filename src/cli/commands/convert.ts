import type { Command } from 'commander';
import * as tf from '@tensorflow/tfjs';
import type { GraphModel } from '@tensorflow/tfjs-converter';
import { loadMnist } from '../../data/mnist.js';
import { graphToLayers, type GraphToLayersReport } from '../../model/graph-to-layers/index.js';
import { dirname, resolve } from 'node:path';
import { modelSpecName, saveLayersModel } from '../../model/io.js';
import { loadModel, MODEL_FORMAT_NAMES } from '../../model/load.js';
import { parseNumber, parsePositiveInt } from '../data-arg.js';

const fmt = (n: number) => n.toLocaleString('en-US');

/**
 * Real MNIST test images when the graph takes one 784-value float input, else undefined (the
 * conversion then uses seeded random inputs). Caller disposes.
 */
export function graphMnistInputs(graph: GraphModel, n: number): tf.Tensor[] | undefined {
  if (graph.inputs.length !== 1) return undefined;
  const info = graph.inputs[0]!;
  const dims = (info.shape ?? []).slice(1);
  if (info.dtype !== 'float32' || dims.some((d) => d < 0) || dims.reduce((a, b) => a * b, 1) !== 784) return undefined;
  // A fixed batch of 1 still takes n samples: parity feeds them one at a time.
  const ds = loadMnist({ split: 'test', limit: n });
  return [tf.tidy(() => ds.toTensors().xs.reshape([ds.size, ...dims]))];
}

/** Graph-model metadata worth keeping in the converted model (userDefinedMetadata, signature, provenance). */
export function convertedMetadata(graph: GraphModel, report: GraphToLayersReport): Record<string, unknown> {
  const art = (graph as unknown as { artifacts?: tf.io.ModelArtifacts }).artifacts;
  const meta: Record<string, unknown> = { ...((art?.userDefinedMetadata as Record<string, unknown> | undefined) ?? {}) };
  if (art?.signature && meta.signature === undefined) meta.signature = art.signature;
  meta.convertedFromGraphModel = {
    generatedBy: art?.generatedBy ?? null,
    convertedBy: art?.convertedBy ?? null,
    parityMaxAbsDiff: report.parity.maxAbsDiff,
    paritySamples: report.parity.samples,
  };
  return meta;
}

/** One-line summary of a conversion report, as the CLI prints it. */
export function formatConversion(report: GraphToLayersReport, source: string): string {
  const p = report.parity;
  return `graph -> layers: ${fmt(report.layers)} layers, ${fmt(report.params)} params; parity (layers vs GraphModel.execute, ${source}): max|diff| ${p.maxAbsDiff.toExponential(2)} <= ${p.tolerance} ok`;
}

/**
 * Load a graph model and convert it, with MNIST parity inputs when it takes MNIST images.
 * @example const { model, report, graph } = await convertGraphFile('web_model2', { samples: 8 });
 */
export async function convertGraphFile(spec: string, o: { samples: number; tolerance?: number }): Promise<{ graph: GraphModel; model: tf.LayersModel; report: GraphToLayersReport; source: string }> {
  const loaded = await loadModel(spec, { command: 'convert', accept: ['graph'] });
  if (loaded.kind !== 'graph') throw new Error(`${spec}: not a tfjs graph model`);
  return convertGraph(loaded.model, spec, o);
}

/** Convert a loaded graph model (disposed on failure), with MNIST parity inputs when it takes MNIST images. */
async function convertGraph(graph: GraphModel, spec: string, o: { samples: number; tolerance?: number }): Promise<{ graph: GraphModel; model: tf.LayersModel; report: GraphToLayersReport; source: string }> {
  const inputs = graphMnistInputs(graph, o.samples);
  try {
    const { model, report } = await graphToLayers(graph, { inputs, samples: o.samples, tolerance: o.tolerance, name: modelSpecName(spec) });
    return { graph, model, report, source: inputs ? `${o.samples} MNIST test images` : `${o.samples} seeded random inputs` };
  } catch (err) {
    graph.dispose();
    throw err;
  } finally {
    inputs?.forEach((t) => t.dispose());
  }
}

/**
 * `tfjs-compress convert <model> --out <folder>`: rebuild a tfjs graph model as a layers model of
 * stock layers (loadable by stock `tf.loadLayersModel`, trainable), checked against
 * `GraphModel.execute`, written atomically with the graph's metadata.
 */
export function registerConvertCommand(program: Command): void {
  program
    .command('convert <model>')
    .description('write any model the SDK reads as a stock tfjs layers model: graph models are rebuilt from stock layers (checked against GraphModel.execute), Keras .h5/.keras files and containers are translated')
    .requiredOption('--out <folder>', 'output folder (model.json + weights.bin, written atomically)')
    .option('--samples <n>', 'inputs for the parity check (MNIST test images for MNIST-shaped graphs, else seeded random)', parsePositiveInt('--samples'), 8)
    .option('--tolerance <x>', 'max allowed |layers - graph| (fail and write nothing above it)', parseNumber('--tolerance'), 1e-5)
    .action(async (spec: string, o: { out: string; samples: number; tolerance: number }) => {
      const loaded = await loadModel(spec, { command: 'convert', accept: ['layers', 'graph'] });
      const from = MODEL_FORMAT_NAMES[loaded.format];
      if (loaded.kind === 'onnx') throw new Error(`${spec}: ONNX models cannot be converted to tfjs`);
      const source = loaded.location.path;
      if (source && resolve(o.out) === (loaded.format === 'layers-model' || loaded.format === 'graph-model' ? dirname(source) : resolve(source))) {
        loaded.model.dispose();
        throw new Error(`--out ${o.out} is the input model's own folder: choose another folder`);
      }
      if (loaded.kind === 'layers') {
        // Keras files, containers and Keras-3 model.json files: already layers models, written as stock tfjs.
        try {
          await saveLayersModel(loaded.model, o.out);
          console.log(`wrote ${o.out}: layers model from ${from} ${spec} (${fmt(loaded.model.layers.length)} layers, ${fmt(loaded.model.countParams())} params)`);
        } finally {
          loaded.model.dispose();
        }
        return;
      }
      const { graph, model, report, source: paritySource } = await convertGraph(loaded.model, spec, o);
      try {
        model.setUserDefinedMetadata(convertedMetadata(graph, report));
        await saveLayersModel(model, o.out);
        console.log(`wrote ${o.out}: layers model from ${from} ${spec}`);
        console.log(formatConversion(report, paritySource));
      } finally {
        model.dispose();
        graph.dispose();
      }
    });
}
