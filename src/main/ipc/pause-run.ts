// run:pause — pauses a run after its current iteration (or while it waits in the queue).

import { validatePauseRun } from '../../shared/schemas.js';
import type { Handler } from './types.js';

export const pauseRun: Handler<'pauseRun'> = async (context, payload) => {
  const request = validatePauseRun(payload);
  if (!request.ok) return request;
  return context.services.pauseRun(request.value);
};
