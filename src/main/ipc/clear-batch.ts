// batch:clear — stops the current item and forgets the batch.

import { validateNoPayload } from '../../shared/schemas.js';
import type { Handler } from './types.js';

export const clearBatch: Handler<'clearBatch'> = async (context, payload) => {
  const none = validateNoPayload(payload);
  if (!none.ok) return none;
  return context.services.clearBatch();
};
