// video:settings-get — the Export video options, the timelapse toggle and the ffmpeg setting saved last time.

import { validateNoPayload } from '../../shared/schemas.js';
import type { Handler } from './types.js';

export const getVideoSettings: Handler<'getVideoSettings'> = async (context, payload) => {
  const none = validateNoPayload(payload);
  if (!none.ok) return none;
  return context.services.getVideoSettings();
};
