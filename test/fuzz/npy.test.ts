import { describe, it } from 'vitest';
import { npyFormat } from './harness/npy.js';
import { expectAllClean } from './harness/suite.js';

describe('fuzz: .npy files (numpy as the judge)', () => {
  it('every damaged .npy is read as numpy reads it, or refused in one clear line', async () => {
    await expectAllClean(npyFormat(), 400);
  });
});
