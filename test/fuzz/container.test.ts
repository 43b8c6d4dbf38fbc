import { beforeAll, describe, it } from 'vitest';
import { useBackend } from '../helpers/backend.js';
import { containerFormat } from './harness/container.js';
import { expectAllClean } from './harness/suite.js';

describe('fuzz: .tfjsc container bytes and manifest structure', () => {
  beforeAll(() => useBackend('cpu'));

  it('every damaged container is refused in one clear line (or, for a spec-valid edit, loads as what it says)', async () => {
    await expectAllClean(containerFormat(), 300);
  });
});
