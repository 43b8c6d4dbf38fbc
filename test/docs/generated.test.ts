import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { apiReference, cliReference } from '../../scripts/gen-docs.js';

const docs = join(import.meta.dirname, '..', '..', 'docs');

describe('generated docs', () => {
  it('docs/cli.md matches the commands\' own --help (run `npm run docs` after changing a command)', () => {
    expect(readFileSync(join(docs, 'cli.md'), 'utf8')).toBe(cliReference());
  });

  it('docs/api.md matches the TSDoc of the public exports, and every export is documented', () => {
    const api = apiReference();
    expect(readFileSync(join(docs, 'api.md'), 'utf8')).toBe(api);
    expect(api.match(/^- \*\*\w+\*\* .*_undocumented_$/gm) ?? []).toEqual([]);
  });
});
