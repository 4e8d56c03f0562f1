// batch:status — the batch's items and progress.

import { validateNoPayload } from '../../shared/schemas.js';
import type { Handler } from './types.js';

export const getBatchStatus: Handler<'getBatchStatus'> = async (context, payload) => {
  const none = validateNoPayload(payload);
  if (!none.ok) return none;
  return context.services.getBatchStatus();
};
