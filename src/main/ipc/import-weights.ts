// weights:import — files the user dropped or chose in the page (bytes, never paths), validated as VGG19 and installed.

import { validateImportWeights } from '../../shared/schemas.js';
import type { Handler } from './types.js';

export const importWeights: Handler<'importWeights'> = async (context, payload) => {
  const request = validateImportWeights(payload);
  if (!request.ok) return request;
  return context.services.importWeights(request.value);
};
