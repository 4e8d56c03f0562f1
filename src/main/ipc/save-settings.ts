// settings:save — persists the studio's parameters for the next launch.

import { validateSaveSettings } from '../../shared/schemas.js';
import type { Handler } from './types.js';

export const saveSettings: Handler<'saveSettings'> = async (context, payload) => {
  const request = validateSaveSettings(payload);
  if (!request.ok) return request;
  return context.services.saveSettings(request.value);
};
