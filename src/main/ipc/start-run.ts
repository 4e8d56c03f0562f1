// run:start — queues a style-transfer run from the renderer's image bytes and settings.

import { validateStartRun } from '../../shared/schemas.js';
import type { Handler } from './types.js';

export const startRun: Handler<'startRun'> = async (context, payload) => {
  const request = validateStartRun(payload);
  if (!request.ok) return request;
  return context.services.startRun(request.value);
};
