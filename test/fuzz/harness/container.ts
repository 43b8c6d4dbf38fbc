import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readContainer } from '../../../src/serialize/decoder.js';
import { packModel } from '../../../src/serialize/encoder.js';
import { concatBytes } from '../../../src/serialize/bytes.js';
import { crc32 } from '../../../src/serialize/crc32.js';
import { deflateBytes } from '../../../src/serialize/deflate.js';
import { manifestDictionary } from '../../../src/serialize/dictionary.js';
import { quantizeModel } from '../../../src/quantize/index.js';
import { CONTAINER_VERSION, writeHeader } from '../../../src/serialize/format.js';
import { writeLayersOriginal } from './layers.js';
import { applyBytes, applyJson, byteMutation, jsonMutation, stringifyDeep, type ByteMutation, type JsonMutation } from './mutate.js';
import { judgeLoad } from './tfjs-common.js';
import type { CaseResult, FuzzFormat } from './types.js';

/*
 * `.tfjsc` container: the layers model of the layers fuzzer packed twice (float weights, and
 * codebook-quantized so the codebook/sparse layouts are exercised). Cases damage the bytes, or
 * edit the manifest and re-assemble it with a valid checksum (so the decoder's field checks,
 * not the CRC, must catch them). Every byte is covered by a CRC-32 or a header check, so any
 * byte change is detectable; of manifest edits, only flipping a boolean between two valid
 * values (`shuffle`, `zeroSlot`) or editing the model topology (judged by tfjs) is not.
 */

/** A container case. */
export type ContainerCase = { which: 0 | 1; bytes: ByteMutation } | { which: 0 | 1; edit: JsonMutation };

/** What assembleContainer writes, from manifest text (a manifest too deep for JSON.stringify included). */
function assemble(manifestText: string, payload: Uint8Array): Uint8Array {
  const json = new TextEncoder().encode(manifestText);
  const stored = deflateBytes(json, 6, manifestDictionary());
  const header = writeHeader({ version: CONTAINER_VERSION, flags: 0, manifestLength: stored.length, manifestRawLength: json.length, manifestCrc32: crc32(stored), payloadLength: payload.length });
  return concatBytes([header, stored, payload]);
}

/** The container format. */
export function containerFormat(): FuzzFormat<ContainerCase> {
  const originals: Uint8Array[] = [];
  const references: Float32Array[] = [];
  let x: tf.Tensor | undefined;
  return {
    name: 'container',
    cases: fc.oneof(
      { weight: 1, arbitrary: fc.record({ which: fc.constantFrom(0 as const, 1 as const), bytes: byteMutation }) },
      { weight: 1, arbitrary: fc.record({ which: fc.constantFrom(0 as const, 1 as const), edit: jsonMutation }) },
    ),
    async setup(dir) {
      const model = await writeLayersOriginal(dir);
      x = tf.tensor2d([[0.5, -1, 2, 0.25, -0.75, 1.5], [1, 1, -1, 0, 3, -2]]);
      const { model: q, quantized } = await quantizeModel(model, { mode: 'codebook', bits: 3 });
      for (const [m, bytes] of [[model, await packModel(model)], [q, await packModel(q, { quantized })]] as const) {
        originals.push(bytes);
        const y = m.predict(x) as tf.Tensor;
        references.push(y.dataSync().slice() as Float32Array);
        y.dispose();
      }
      q.dispose();
      model.dispose();
    },
    async run(c, caseDir): Promise<CaseResult> {
      const file = join(caseDir, 'model.tfjsc');
      let undetectableEdit = false;
      let edit = '';
      if ('bytes' in c) writeFileSync(file, applyBytes(originals[c.which]!, c.bytes));
      else {
        const parsed = readContainer(originals[c.which]!);
        const before = parsed.manifest;
        const edited = applyJson(before, c.edit);
        edit = edited.path;
        const value = (p: string, doc: unknown) => p.split(/\.|\[|\]/).filter(Boolean).reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], doc);
        undetectableEdit =
          edited.path.startsWith('model.') ||
          (/\.(shuffle|zeroSlot)$/.test(edited.path) && typeof value(edited.path, edited.doc) === 'boolean');
        writeFileSync(file, assemble(stringifyDeep(edited.doc), parsed.payload));
      }
      const r = await judgeLoad({
        spec: file,
        reference: references[c.which]!,
        x: x!,
        names: [file, 'container', 'tensor'],
        onDifferent: async (ours) =>
          // A topology edit is a different model (tfjs judges it); a valid boolean flip is a different encoding.
          undetectableEdit && (!(ours instanceof Error) || edit.startsWith('model.'))
            ? { verdict: 'clean', undetectable: true }
            : { verdict: 'garbage', message: ours instanceof Error ? `loaded, fails to run: ${ours.message}` : 'loaded with other weights' },
      });
      return edit ? { ...r, message: `[${edit}] ${r.message ?? ''}` } : r;
    },
    teardown() {
      x?.dispose();
    },
  };
}
