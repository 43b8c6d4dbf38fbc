import { z } from 'zod';
import { DEFAULT_INPUT_SCALING, formatInputScaling, INPUT_RANGES, inputScaling, type InputScaling } from './transform.js';

/*
 * Input scaling travels with the model in tfjs `userDefinedMetadata` (model.json and the
 * container both keep it), so a later command or recipe feeds the model what it was trained on
 * without the user repeating the flags. Precedence everywhere: flag > model metadata > default.
 */

/** The `userDefinedMetadata` key the scaling record is stored under. */
export const INPUT_SCALING_KEY = 'tfjsCompress.inputScaling';

const finite = (what: string) => z.number({ error: `expected ${what}` }).refine(Number.isFinite, { error: `expected ${what}` });

/** Zod schema of the stored record: `{ scale, offset }` or `{ mean: [...], std: [...] }` (0..255 scale). */
export const inputScalingRecordSchema = z.union(
  [
    z.object({ scale: finite('a non-zero number').refine((v) => v !== 0, { error: 'expected a non-zero number' }), offset: finite('a number') }).strict(),
    z
      .object({
        mean: z.array(finite('a number')).min(1, { error: 'expected one mean per channel' }),
        std: z.array(finite('a number > 0').refine((v) => v > 0, { error: 'expected a number > 0' })).min(1, { error: 'expected one std per channel' }),
      })
      .strict()
      .refine((r) => r.mean.length === r.std.length, { error: 'expected as many std values as mean values', path: ['std'] }),
  ],
  { error: 'expected { scale, offset } or { mean: [...], std: [...] }' },
);

/**
 * Schema of a user-written scaling (recipes): a preset name (`0..1`, `0..255`, `-1..1`,
 * `imagenet`) or a record as {@link inputScalingRecordSchema}.
 */
export const inputScalingSpecSchema = z.union(
  [
    z.enum(Object.keys(INPUT_RANGES) as [string, ...string[]], { error: `expected one of ${Object.keys(INPUT_RANGES).join(', ')}` }).transform((r) => INPUT_RANGES[r]!),
    inputScalingRecordSchema,
  ],
  { error: `expected a preset (${Object.keys(INPUT_RANGES).join(', ')}), { scale, offset } or { mean: [...], std: [...] }` },
);

/** Anything that carries tfjs user-defined metadata: a LayersModel, a GraphModel, model artifacts. */
export type MetadataSource =
  | { getUserDefinedMetadata(): object | undefined }
  | { userDefinedMetadata?: unknown }
  | { metadata?: unknown }
  | undefined;

/** The user-defined metadata of a model or its artifacts (`undefined` when there is none). */
export function userMetadataOf(source: MetadataSource): Record<string, unknown> | undefined {
  if (!source) return undefined;
  let meta: unknown;
  if ('getUserDefinedMetadata' in source && typeof source.getUserDefinedMetadata === 'function') meta = source.getUserDefinedMetadata();
  else if ('userDefinedMetadata' in source) meta = source.userDefinedMetadata;
  // GraphModel exposes its artifacts' userDefinedMetadata as `metadata`.
  else if ('metadata' in source) meta = source.metadata;
  return typeof meta === 'object' && meta !== null ? (meta as Record<string, unknown>) : undefined;
}

/**
 * A copy of `metadata` with the scaling record set (other keys kept).
 *
 * @example
 * model.setUserDefinedMetadata(withInputScaling(model.getUserDefinedMetadata(), inputScaling({ range: '-1..1' })));
 */
export function withInputScaling(metadata: object | undefined, scaling: InputScaling): Record<string, unknown> {
  const record = inputScalingRecordSchema.parse(scaling);
  return { ...((metadata as Record<string, unknown> | undefined) ?? {}), [INPUT_SCALING_KEY]: record };
}

/**
 * The scaling stored in a model's (or its artifacts') user-defined metadata, or `undefined`.
 * A malformed record throws one line naming the key and what was expected.
 *
 * @example
 * const s = inputScalingFromMetadata(await tf.loadLayersModel(handler)); // { scale: 0.0078.., offset: -1 }
 */
export function inputScalingFromMetadata(source: MetadataSource, where = 'model'): InputScaling | undefined {
  const raw = userMetadataOf(source)?.[INPUT_SCALING_KEY];
  if (raw === undefined) return undefined;
  const r = inputScalingRecordSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const field = [INPUT_SCALING_KEY, ...issue.path.map(String)].join('.');
    throw new Error(`${where}: userDefinedMetadata '${field}': ${issue.message}, got ${JSON.stringify(raw).slice(0, 80)}`);
  }
  return inputScaling(r.data);
}

/** Set the scaling record on a layers model before it is saved (model.save keeps userDefinedMetadata). */
export function setModelInputScaling(
  model: { getUserDefinedMetadata(): object | undefined; setUserDefinedMetadata(m: object): void },
  scaling: InputScaling,
): void {
  model.setUserDefinedMetadata(withInputScaling(model.getUserDefinedMetadata(), scaling));
}

/** Where a chosen scaling came from. */
export type InputScalingSource = 'flag' | 'model' | 'recipe' | 'default';

/** A scaling and where it came from, as {@link chooseInputScaling} returns it. */
export interface ChosenInputScaling {
  scaling: InputScaling;
  source: InputScalingSource;
  /** One line for the log, e.g. `input scaling -1..1 (from the model's metadata)`. */
  text: string;
}

const SOURCE_TEXT: Record<InputScalingSource, string> = {
  flag: 'from the command line',
  model: "from the model's metadata",
  recipe: 'from the recipe',
  default: 'default; no flag and none in the model',
};

/**
 * Pick the scaling by precedence: an explicit setting (flag or recipe) > the model's metadata >
 * the default 0..1.
 *
 * @example
 * const { scaling, text } = chooseInputScaling({ given: flags, model: inputScalingFromMetadata(model) });
 * console.log(text);
 */
export function chooseInputScaling(args: { given?: InputScaling; givenBy?: 'flag' | 'recipe'; model?: InputScaling }): ChosenInputScaling {
  const [scaling, source]: [InputScaling, InputScalingSource] = args.given
    ? [args.given, args.givenBy ?? 'flag']
    : args.model
      ? [args.model, 'model']
      : [DEFAULT_INPUT_SCALING, 'default'];
  return { scaling, source, text: `input scaling ${formatInputScaling(scaling)} (${SOURCE_TEXT[source]})` };
}
