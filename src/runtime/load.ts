/**
 * Getting a container into tfjs in a browser: fetch it, hand tfjs an IOHandler, or let
 * {@link loadFromContainer} pick `loadLayersModel` or `loadGraphModel` from what the file holds.
 * tfjs is passed in (the page's `tf`), never imported, so the bundle carries no tfjs of its own.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { isGraphArtifacts, unpackArtifacts, type UnpackArgs } from '../serialize/decoder.js';

/** Where a container comes from: its bytes, or a URL to fetch. */
export type ContainerSource = Uint8Array | ArrayBuffer | string | URL;

/** Options for fetching a container. */
export interface FetchContainerArgs extends UnpackArgs {
  /** Passed to `fetch` (credentials, headers, signal...). */
  requestInit?: RequestInit;
  /** The fetch implementation (default: the global `fetch`). */
  fetch?: typeof fetch;
}

/**
 * Fetch a container's bytes. Errors name the URL and the HTTP status.
 *
 * @example
 * const bytes = await fetchContainer('models/mnist.tfjsc');
 */
export async function fetchContainer(url: string | URL, args: FetchContainerArgs = {}): Promise<Uint8Array> {
  const doFetch = args.fetch ?? globalThis.fetch;
  if (typeof doFetch !== 'function') throw new Error(`cannot fetch container '${String(url)}': no fetch() in this environment`);
  let res: Response;
  try {
    res = await doFetch(url, args.requestInit);
  } catch (err) {
    throw new Error(`cannot fetch container '${String(url)}': ${(err as Error).message}`);
  }
  if (!res.ok) throw new Error(`cannot fetch container '${String(url)}': HTTP ${res.status} ${res.statusText}`.trimEnd());
  return new Uint8Array(await res.arrayBuffer());
}

async function containerBytes(source: ContainerSource, args: FetchContainerArgs): Promise<Uint8Array | ArrayBuffer> {
  return typeof source === 'string' || source instanceof URL ? fetchContainer(source, args) : source;
}

/**
 * An IOHandler that fetches the container when tfjs asks for it:
 * `tf.loadLayersModel(fromContainerUrl(url))` or `tf.loadGraphModel(fromContainerUrl(url))`.
 *
 * @example
 * const model = await tf.loadGraphModel(fromContainerUrl('models/mobilenet.tfjsc'));
 */
export function fromContainerUrl(url: string | URL, args: FetchContainerArgs = {}): tf.io.IOHandler {
  return { load: async () => unpackArtifacts(await fetchContainer(url, args), args) };
}

/** The two loaders of the page's tfjs (the `tf` of tf.min.js, or `import * as tf from '@tensorflow/tfjs'`). */
export interface TfjsModelLoaders<L, G> {
  loadLayersModel(handler: tf.io.IOHandler): Promise<L>;
  loadGraphModel(handler: tf.io.IOHandler): Promise<G>;
}

/**
 * Load a container with the right tfjs loader: a layers container becomes a `tf.LayersModel`, a
 * graph container a `tf.GraphModel` (both predict with `model.predict(x)`).
 *
 * @example
 * const model = await loadFromContainer(tf, 'models/mnist.tfjsc');
 * const y = model.predict(tf.zeros([1, 28, 28, 1]));
 */
export async function loadFromContainer<L, G>(tfjs: TfjsModelLoaders<L, G>, source: ContainerSource, args: FetchContainerArgs = {}): Promise<L | G> {
  const artifacts = unpackArtifacts(await containerBytes(source, args), args);
  const handler: tf.io.IOHandler = { load: async () => artifacts };
  return isGraphArtifacts(artifacts) ? tfjs.loadGraphModel(handler) : tfjs.loadLayersModel(handler);
}
