import { describe, it } from 'vitest';
import { idxFormat } from './harness/idx.js';
import { expectAllClean } from './harness/suite.js';

describe('fuzz: IDX files', () => {
  it('every damaged IDX file is read as its definition reads it, or refused in one clear line', async () => {
    await expectAllClean(idxFormat(), 400);
  });
});
