/**
 * Fold an error message into one short line: newlines collapse to spaces and anything past
 * `max` characters is cut (a message must name the problem, never carry a whole file).
 *
 * @example
 * oneLine('bad\nthing', 80); // 'bad thing'
 */
export function oneLine(message: string, max = 400): string {
  const flat = message.replace(/\s*[\r\n]+\s*/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}

/** A zod issue path written the way messages print it: `weightsManifest[0].weights[3].shape`. */
export function issuePath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out;
}

/**
 * One line for a failed zod parse of a file: `<file>: <field>: <problem>`, the first issue only
 * (the rest usually follow from it), values never quoted at length.
 *
 * @example
 * const r = schema.safeParse(json);
 * if (!r.success) throw zodFileError('web/model.json', r.error);
 */
export function zodFileError(file: string, error: { issues: ReadonlyArray<{ path: readonly PropertyKey[]; message: string }> }, prefix = ''): Error {
  const issue = error.issues[0]!;
  const path = issuePath([...(prefix ? [prefix] : []), ...issue.path]);
  return new Error(oneLine(`${file}: ${path ? `field '${path}'` : 'the top level'}: ${issue.message}`));
}

/** Deepest nesting accepted in JSON/YAML files (model.json, manifests, recipes); real files stay below 40. */
export const MAX_NESTING = 200;

/**
 * Throw one line when a parsed JSON/YAML value nests deeper than `max` levels. Walks iteratively:
 * recursive readers (tfjs's config conversion, zod) would otherwise die with "Maximum call stack
 * size exceeded", naming nothing.
 */
export function checkNesting(value: unknown, file: string, max = MAX_NESTING): void {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length) {
    const [v, d] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (d >= max) throw new Error(`${file}: nested more than ${max} levels deep; not a file this SDK reads`);
    for (const child of Array.isArray(v) ? v : Object.values(v as object)) if (child !== null && typeof child === 'object') stack.push([child, d + 1]);
  }
}

/**
 * Parse JSON text naming the file on failure (never quoting the text: a binary file would land
 * in the message) and checking {@link checkNesting}.
 */
export function parseJsonFile(text: string, file: string): unknown {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    // JSON.parse quotes the text it choked on (raw bytes for a binary file): keep only the position.
    const why = (err as Error).message.replace(/,? ?".*$/s, '').replace(/ in JSON$/, '');
    throw new Error(`${file}: not valid JSON (${oneLine(why, 120)})`);
  }
  checkNesting(parsed, file);
  return parsed;
}

const FS_PROBLEMS: Record<string, string> = {
  EROFS: 'the file system is read-only',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOENT: 'no such file or folder',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EISDIR: 'is a folder, not a file',
  EEXIST: 'already exists',
  EMFILE: 'too many open files',
  ENAMETOOLONG: 'the name is too long',
  ELOOP: 'too many levels of symbolic links',
  EIO: 'input/output error',
};

/** What a file-system error code means, in words (`ENOSPC` -> `no space left on device`), or undefined. */
export function fsProblem(code: string): string | undefined {
  return FS_PROBLEMS[code];
}

const SYSCALL_VERBS: Record<string, string> = {
  open: 'open', read: 'read', write: 'write', mkdir: 'create folder', rename: 'rename', unlink: 'delete', rmdir: 'delete folder',
  rm: 'delete', scandir: 'list', stat: 'read', lstat: 'read', copyfile: 'copy', realpath: 'resolve', access: 'access', fsync: 'sync',
};

/**
 * The message of an error, file-system errors rewritten as `cannot <verb> <path>: <problem> (<CODE>)`,
 * so a full disk or read-only folder names the path and the problem (Node's own text names only the
 * syscall, e.g. `ENOENT: no such file or directory, mkdir`).
 *
 * @example
 * describeError(err); // 'cannot write out/model/weights.bin: no space left on device (ENOSPC)'
 */
export function describeError(err: unknown): string {
  const e = err as (Error & { code?: unknown; path?: unknown; syscall?: unknown; dest?: unknown }) | undefined;
  if (!e || typeof e !== 'object') return String(err);
  const code = typeof e.code === 'string' ? e.code : undefined;
  const problem = code ? FS_PROBLEMS[code] : undefined;
  if (!problem || typeof e.syscall !== 'string') return e.message ?? String(err);
  const verb = SYSCALL_VERBS[e.syscall] ?? e.syscall;
  // mkdir's EEXIST means a file stands where the folder should be (an existing folder is no error).
  const what = e.syscall === 'mkdir' && code === 'EEXIST' ? 'a file of that name is in the way (not a folder)' : problem;
  const path = typeof e.path === 'string' ? e.path : undefined;
  const dest = typeof e.dest === 'string' ? ` -> ${e.dest}` : '';
  return path ? `cannot ${verb} ${path}${dest}: ${what} (${code})` : `${e.message} (${what})`;
}
