// batch:start — a new batch of content images under the current settings (the Batch panel's Start).

import { validateStartBatch } from '../../shared/schemas.js';
import type { Handler } from './types.js';

export const startBatch: Handler<'startBatch'> = async (context, payload) => {
  const request = validateStartBatch(payload);
  if (!request.ok) return request;
  return context.services.startBatch(request.value);
};
