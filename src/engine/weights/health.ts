// The installed weights as a front end shows them without failing on damage (the studio's Model panel): whole,
// damaged, or none. The decision is weightsStatus's (a blob missing or cut short) and readWeightsIndex's (an index
// that does not read), the ones `nst weights status` and loading make; the sentence is the one runs refuse them with.

import { isNstError } from '../errors.js';
import { dataDir } from '../persist/data-dir.js';
import { damaged, weightsStatus, type WeightsStatus } from './store.js';

export interface InstalledWeights {
  /** Null when the index itself does not read (`damaged` then says so). */
  readonly status: WeightsStatus | null;
  /** Why runs refuse the installed weights and what to do, in loading's words; null when they are whole or none. */
  readonly damaged: string | null;
}

export async function inspectInstalledWeights(root: string = dataDir()): Promise<InstalledWeights> {
  try {
    const status = await weightsStatus(root);
    return { status, damaged: status.damage === null ? null : damaged(status.paths.index, status.damage).message };
  } catch (error) {
    if (isNstError(error) && error.code === 'BAD_WEIGHTS') return { status: null, damaged: error.message };
    throw error;
  }
}
