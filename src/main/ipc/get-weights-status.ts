// weights:status — what the Model panel shows: installed or not, provenance, a download part-way, how to get them.

import { validateNoPayload } from '../../shared/schemas.js';
import type { Handler } from './types.js';

export const getWeightsStatus: Handler<'getWeightsStatus'> = async (context, payload) => {
  const none = validateNoPayload(payload);
  if (!none.ok) return none;
  return context.services.getWeightsStatus();
};
