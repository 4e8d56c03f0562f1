// weights:fetch — downloads, verifies and installs VGG19; resolves when done, progress goes out as weights events.

import { validateFetchWeights } from '../../shared/schemas.js';
import type { Handler } from './types.js';

export const fetchWeights: Handler<'fetchWeights'> = async (context, payload) => {
  const request = validateFetchWeights(payload);
  if (!request.ok) return request;
  return context.services.fetchWeights(request.value ?? {});
};
