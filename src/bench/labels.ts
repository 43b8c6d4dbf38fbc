import { existsSync } from 'node:fs';
import { basename, dirname, relative, resolve, sep } from 'node:path';
import type { ModelInput } from './source.js';

/*
 * Every model in a report needs a label of its own: tables, charts, HTML ids and the JSON all key
 * on it. Basenames collide (`out/m` and `out/m.tfjsc` are both "m"), so a path is labelled by
 * where it sits below the folder all inputs share, and a user can name one explicitly.
 */

/** The deepest folder containing every one of `dirs` (absolute paths). */
function commonFolder(dirs: string[]): string {
  const parts = dirs.map((d) => d.split(sep));
  const first = parts[0]!;
  let n = 0;
  while (n < first.length && parts.every((p) => p[n] === first[n])) n++;
  return first.slice(0, n).join(sep) || sep;
}

/** A model folder's model.json is labelled as its folder. */
const labelPath = (p: string) => {
  const abs = resolve(p);
  return basename(abs) === 'model.json' ? dirname(abs) : abs;
};

/**
 * A unique label per model, in input order: an explicit `name` as given; `zoo:<name>` as
 * written; a path relative to the deepest folder all path inputs share (`out/m`, `out/m.tfjsc`
 * -> `m`, `m.tfjsc`; `a/m`, `b/m` -> `a/m`, `b/m`). A path given twice gets ` #2`; two explicit
 * names that collide are refused in one line.
 *
 * @example
 * benchLabels(['out/m', 'out/m.tfjsc', { name: 'web', path: 'out/web' }]); // ['m', 'm.tfjsc', 'web']
 */
export function benchLabels(inputs: readonly ModelInput[]): string[] {
  const paths = inputs.flatMap((i) => (typeof i === 'string' && !i.startsWith('zoo:') ? [labelPath(i)] : []));
  const common = paths.length ? commonFolder(paths.map((p) => dirname(p))) : '';
  const raw = inputs.map((i) => {
    if (typeof i !== 'string') return i.name;
    if (i.startsWith('zoo:')) return i;
    const p = labelPath(i);
    return relative(common, p).split(sep).join('/') || basename(p);
  });
  const explicit = new Set<string>();
  inputs.forEach((i, k) => {
    if (typeof i === 'string') return;
    if (!i.name.trim()) throw new Error(`bench: model ${k + 1} has an empty name`);
    if (explicit.has(i.name)) throw new Error(`bench: two models are named '${i.name}'; give each a unique name (name=path)`);
    explicit.add(i.name);
  });
  const seen = new Map<string, number>();
  return raw.map((label) => {
    const n = (seen.get(label) ?? 0) + 1;
    seen.set(label, n);
    if (n === 1) return label;
    let candidate = `${label} #${n}`;
    while (raw.includes(candidate)) candidate = `${candidate}'`;
    return candidate;
  });
}

/**
 * A command-line model argument: `name=path` names a model explicitly (when no file is called
 * exactly that), anything else is a path or `zoo:` spec.
 *
 * @example
 * parseBenchInput('pruned=out/p.tfjsc'); // { name: 'pruned', path: 'out/p.tfjsc' }
 */
export function parseBenchInput(arg: string): string | { name: string; path: string } {
  if (arg.startsWith('zoo:') || existsSync(arg)) return arg;
  const m = /^([^=/\\]+)=(.+)$/.exec(arg);
  return m ? { name: m[1]!, path: m[2]! } : arg;
}
