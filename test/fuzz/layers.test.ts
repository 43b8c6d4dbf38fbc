import { beforeAll, describe, it } from 'vitest';
import { useBackend } from '../helpers/backend.js';
import { layersFormat } from './harness/layers.js';
import { expectAllClean } from './harness/suite.js';

describe('fuzz: tfjs layers model.json and shards', () => {
  beforeAll(() => useBackend('cpu'));

  it('every mutated model.json or shard loads as the same model, a valid different one, or fails in one clear line', async () => {
    await expectAllClean(layersFormat(), 300);
  });
});
