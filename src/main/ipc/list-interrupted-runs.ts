// runs:interrupted — runs that stopped without finishing and left a checkpoint, for the "Resume" offer.

import { validateNoPayload } from '../../shared/schemas.js';
import type { Handler } from './types.js';

export const listInterruptedRuns: Handler<'listInterruptedRuns'> = async (context, payload) => {
  const none = validateNoPayload(payload);
  if (!none.ok) return none;
  return context.services.listInterruptedRuns();
};
