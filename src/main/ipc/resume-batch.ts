// batch:resume — resumes a paused batch.

import { validateNoPayload } from '../../shared/schemas.js';
import type { Handler } from './types.js';

export const resumeBatch: Handler<'resumeBatch'> = async (context, payload) => {
  const none = validateNoPayload(payload);
  if (!none.ok) return none;
  return context.services.resumeBatch();
};
