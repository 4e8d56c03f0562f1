// video:settings-save — persists the Export video options, the timelapse toggle and the ffmpeg setting.

import { validateVideoSettings } from '../../shared/schemas.js';
import type { Handler } from './types.js';

export const saveVideoSettings: Handler<'saveVideoSettings'> = async (context, payload) => {
  const request = validateVideoSettings(payload);
  if (!request.ok) return request;
  return context.services.saveVideoSettings(request.value);
};
