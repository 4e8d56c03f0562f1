// run:stop — stops a run after its current iteration; the image so far stays exportable.

import { validateStopRun } from '../../shared/schemas.js';
import type { Handler } from './types.js';

export const stopRun: Handler<'stopRun'> = async (context, payload) => {
  const request = validateStopRun(payload);
  if (!request.ok) return request;
  return context.services.stopRun(request.value);
};
