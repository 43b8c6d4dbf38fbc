import { join } from 'node:path';

/** The read-only real models beside the repository (`../shared/fixtures/real-models`, as CI lays it out). */
export const REAL_MODELS = join(import.meta.dirname, '..', '..', '..', 'shared', 'fixtures', 'real-models');
