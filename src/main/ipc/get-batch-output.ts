// batch:output — a finished batch item's image (PNG bytes), for the results list and its download.

import { validateBatchItemRef } from '../../shared/schemas.js';
import type { Handler } from './types.js';

export const getBatchOutput: Handler<'getBatchOutput'> = async (context, payload) => {
  const request = validateBatchItemRef(payload);
  if (!request.ok) return request;
  return context.services.getBatchOutput(request.value);
};
