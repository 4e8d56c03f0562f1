// run:update-settings — layer toggles and weights mid-run, taking effect at the next iteration.

import { validateUpdateRunSettings } from '../../shared/schemas.js';
import type { Handler } from './types.js';

export const updateRunSettings: Handler<'updateRunSettings'> = async (context, payload) => {
  const request = validateUpdateRunSettings(payload);
  if (!request.ok) return request;
  return context.services.updateRunSettings(request.value);
};
