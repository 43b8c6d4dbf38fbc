import { beforeAll, describe, it } from 'vitest';
import { useBackend } from '../helpers/backend.js';
import { graphFormat } from './harness/graph.js';
import { expectAllClean } from './harness/suite.js';

describe('fuzz: tfjs graph model.json and shard (a real converter output)', () => {
  beforeAll(() => useBackend('cpu'));

  it('every mutated model.json or shard loads as the same model, a valid different one, or fails in one clear line', async () => {
    await expectAllClean(graphFormat(), 250);
  });
});
