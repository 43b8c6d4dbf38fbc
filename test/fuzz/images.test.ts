import { describe, it } from 'vitest';
import { imagesFormat } from './harness/images.js';
import { expectAllClean } from './harness/suite.js';

describe('fuzz: image folders', () => {
  it('every damaged or re-arranged image folder loads what it holds, or is refused in one clear line', async () => {
    await expectAllClean(imagesFormat(), 250);
  });
});
