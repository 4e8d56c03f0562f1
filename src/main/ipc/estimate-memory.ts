// run:estimate-memory — the memory a run with these settings would need, the budget, and what fits.

import { validateEstimateMemory } from '../../shared/schemas.js';
import type { Handler } from './types.js';

export const estimateMemory: Handler<'estimateMemory'> = async (context, payload) => {
  const request = validateEstimateMemory(payload);
  if (!request.ok) return request;
  return context.services.estimateMemory(request.value);
};
