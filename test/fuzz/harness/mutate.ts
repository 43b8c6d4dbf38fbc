import fc from 'fast-check';

/*
 * Mutations the fuzzers apply, as plain data (so a case can be printed, replayed and sent to a
 * child process): byte-level damage to any file, and structural edits of JSON documents (a field
 * removed, retyped, resized, nested absurdly deep).
 */

/** A byte-level mutation; positions are fractions of the file length so one case fits any file. */
export type ByteMutation =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'set'; at: number; value: number }
  | { op: 'truncate'; at: number }
  | { op: 'insert'; at: number; bytes: number[] }
  | { op: 'delete'; at: number; count: number }
  | { op: 'duplicate'; at: number; count: number }
  | { op: 'append'; bytes: number[] }
  | { op: 'zero'; at: number; count: number };

const frac = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });
const someBytes = fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 16 });
const count = fc.integer({ min: 1, max: 64 });

/** Arbitrary byte mutation. */
export const byteMutation: fc.Arbitrary<ByteMutation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('flip' as const), at: frac, bit: fc.integer({ min: 0, max: 7 }) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('set' as const), at: frac, value: fc.constantFrom(0, 1, 0x7f, 0x80, 0xff, 0x20, 0x30, 0x39, 0x2c, 0x22, 0x7b, 0x5b) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('truncate' as const), at: frac }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('insert' as const), at: frac, bytes: someBytes }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('delete' as const), at: frac, count }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('duplicate' as const), at: frac, count }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('append' as const), bytes: someBytes }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('zero' as const), at: frac, count }) },
);

/** Apply a byte mutation (a new array; the input is never modified). */
export function applyBytes(input: Uint8Array, m: ByteMutation): Uint8Array {
  // A plain copy: Buffer#slice (readFileSync's result) returns a view, and would edit the input.
  const src = new Uint8Array(input);
  const n = src.length;
  const at = 'at' in m ? Math.min(n, Math.floor(m.at * (n + (m.op === 'truncate' ? 0 : 1)))) : n;
  const i = Math.min(at, Math.max(0, n - 1));
  switch (m.op) {
    case 'flip': {
      const out = src.slice();
      if (n) out[i] = out[i]! ^ (1 << m.bit);
      return out;
    }
    case 'set': {
      const out = src.slice();
      if (n) out[i] = out[i] === m.value ? (m.value ^ 1) : m.value;
      return out;
    }
    case 'truncate':
      return src.slice(0, Math.min(at, Math.max(0, n - 1)));
    case 'insert':
      return concat(src.subarray(0, at), Uint8Array.from(m.bytes), src.subarray(at));
    case 'delete':
      return concat(src.subarray(0, at), src.subarray(Math.min(n, at + m.count)));
    case 'duplicate':
      return concat(src.subarray(0, Math.min(n, at + m.count)), src.subarray(at, Math.min(n, at + m.count)), src.subarray(Math.min(n, at + m.count)));
    case 'append':
      return concat(src, Uint8Array.from(m.bytes));
    case 'zero': {
      const out = src.slice();
      const end = Math.min(n, at + m.count);
      let changed = false;
      for (let j = at; j < end; j++) (changed ||= out[j] !== 0), (out[j] = 0);
      if (!changed && n) out[i] = 0xff;
      return out;
    }
  }
}

/** True when a mutation keeps the length and only changes bytes (undetectable inside an unchecksummed payload). */
export function sameLength(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) out.set(p, o), (o += p.length);
  return out;
}

/** A structural edit of a JSON document at the `pick`-th node (in a fixed walk order). */
export type JsonMutation =
  | { op: 'delete'; pick: number }
  | { op: 'replace'; pick: number; value: JsonValueKind }
  | { op: 'number'; pick: number; how: 'inc' | 'dec' | 'double' | 'negate' | 'huge' | 'fraction' | 'zero' }
  | { op: 'string'; pick: number; how: 'empty' | 'other' | 'dots' | 'absolute' | 'long' }
  | { op: 'duplicate'; pick: number }
  | { op: 'swap'; pick: number }
  | { op: 'nest'; pick: number; depth: number };

/** Replacement values of a `replace` edit. */
export type JsonValueKind = 'null' | 'true' | 'false' | 'zero' | 'minus1' | 'big' | 'string' | 'array' | 'object' | 'numberArray' | 'stringArray';

const pick = fc.nat({ max: 1_000_000 });

/** Arbitrary JSON structural edit. */
export const jsonMutation: fc.Arbitrary<JsonMutation> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constant('delete' as const), pick }) },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('replace' as const),
      pick,
      value: fc.constantFrom<JsonValueKind>('null', 'true', 'false', 'zero', 'minus1', 'big', 'string', 'array', 'object', 'numberArray', 'stringArray'),
    }),
  },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('number' as const), pick, how: fc.constantFrom('inc', 'dec', 'double', 'negate', 'huge', 'fraction', 'zero') }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('string' as const), pick, how: fc.constantFrom('empty', 'other', 'dots', 'absolute', 'long') }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('duplicate' as const), pick }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('swap' as const), pick }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('nest' as const), pick, depth: fc.constantFrom(300, 5000, 100_000) }) },
);

type Node = { parent: Record<string, unknown> | unknown[] | null; key: string | number | null; value: unknown; path: string };

function nodes(root: unknown): Node[] {
  const out: Node[] = [{ parent: null, key: null, value: root, path: '' }];
  for (let i = 0; i < out.length; i++) {
    const { value: v, path } = out[i]!;
    if (Array.isArray(v)) v.forEach((c, k) => out.push({ parent: v, key: k, value: c, path: `${path}[${k}]` }));
    else if (v && typeof v === 'object') for (const [k, c] of Object.entries(v)) out.push({ parent: v as Record<string, unknown>, key: k, value: c, path: path ? `${path}.${k}` : k });
  }
  return out;
}

function valueOf(kind: JsonValueKind): unknown {
  return { null: null, true: true, false: false, zero: 0, minus1: -1, big: 2 ** 53, string: 'x', array: [], object: {}, numberArray: [1, 2], stringArray: ['a'] }[kind];
}

function deep(depth: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

/**
 * Apply a structural edit to a deep copy of `doc`, restricted to nodes `filter` accepts (by path);
 * returns the edited document and the path that was edited.
 */
export function applyJson(doc: unknown, m: JsonMutation, filter: (path: string) => boolean = () => true): { doc: unknown; path: string } {
  const copy = structuredClone(doc);
  const all = nodes(copy);
  let eligible = all.filter((n) => filter(n.path));
  if (m.op === 'number') eligible = eligible.filter((n) => typeof n.value === 'number');
  if (m.op === 'string') eligible = eligible.filter((n) => typeof n.value === 'string');
  if (m.op === 'duplicate' || m.op === 'swap') eligible = eligible.filter((n) => Array.isArray(n.value) && n.value.length > 0);
  if (m.op === 'delete') eligible = eligible.filter((n) => n.parent !== null);
  if (eligible.length === 0) return { doc: copy, path: '(none)' };
  const n = eligible[m.pick % eligible.length]!;
  const path = n.path;
  const set = (v: unknown) => {
    if (n.parent === null) return v;
    (n.parent as Record<string | number, unknown>)[n.key as string | number] = v;
    return copy;
  };
  switch (m.op) {
    case 'delete':
      if (Array.isArray(n.parent)) n.parent.splice(n.key as number, 1);
      else delete (n.parent as Record<string, unknown>)[n.key as string];
      return { doc: copy, path };
    case 'replace':
      return { doc: set(valueOf(m.value)), path };
    case 'number': {
      const v = n.value as number;
      const next = { inc: v + 1, dec: v - 1, double: v * 2 || 2, negate: -v || -1, huge: 2 ** 40, fraction: v + 0.5, zero: v === 0 ? 1 : 0 }[m.how];
      return { doc: set(next), path };
    }
    case 'string': {
      const v = n.value as string;
      const next = { empty: '', other: `${v}_x`, dots: '../../x', absolute: '/etc/passwd', long: 'y'.repeat(5000) }[m.how];
      return { doc: set(next), path };
    }
    case 'duplicate': {
      const a = n.value as unknown[];
      a.push(structuredClone(a[m.pick % a.length]));
      return { doc: copy, path };
    }
    case 'swap': {
      const a = n.value as unknown[];
      if (a.length > 1) {
        const i = m.pick % a.length;
        const j = (i + 1) % a.length;
        [a[i], a[j]] = [a[j], a[i]];
      } else a.push(structuredClone(a[0]));
      return { doc: copy, path };
    }
    case 'nest':
      return { doc: set(deep(m.depth)), path };
  }
}

/** JSON.stringify that survives very deep documents (the deep-nesting mutation) by building text iteratively. */
export function stringifyDeep(doc: unknown): string {
  try {
    return JSON.stringify(doc);
  } catch {
    // Only the `nest` edit makes documents this deep: unwrap one chain of single-element arrays.
    const replacer = (v: unknown): string => {
      let depth = 0;
      let cur = v;
      while (Array.isArray(cur) && cur.length === 1 && Array.isArray(cur[0])) (cur = cur[0]), depth++;
      if (depth > 100) return '['.repeat(depth) + JSON.stringify(cur) + ']'.repeat(depth);
      if (Array.isArray(v)) return `[${v.map(replacer).join(',')}]`;
      if (v && typeof v === 'object') return `{${Object.entries(v).map(([k, c]) => `${JSON.stringify(k)}:${replacer(c)}`).join(',')}}`;
      return JSON.stringify(v) ?? 'null';
    };
    return replacer(doc);
  }
}
