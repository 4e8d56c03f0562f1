// batch:pause — pauses the batch after the current item's iteration.

import { validateNoPayload } from '../../shared/schemas.js';
import type { Handler } from './types.js';

export const pauseBatch: Handler<'pauseBatch'> = async (context, payload) => {
  const none = validateNoPayload(payload);
  if (!none.ok) return none;
  return context.services.pauseBatch();
};
