// runs:discard-interrupted — deletes an interrupted run's checkpoint.

import { validateDiscardInterruptedRun } from '../../shared/schemas.js';
import type { Handler } from './types.js';

export const discardInterruptedRun: Handler<'discardInterruptedRun'> = async (context, payload) => {
  const request = validateDiscardInterruptedRun(payload);
  if (!request.ok) return request;
  return context.services.discardInterruptedRun(request.value);
};
