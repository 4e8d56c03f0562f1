// video:ffmpeg-status — which ffmpeg an export would use, or how to get one.

import { validateNoPayload } from '../../shared/schemas.js';
import type { Handler } from './types.js';

export const getFfmpegStatus: Handler<'getFfmpegStatus'> = async (context, payload) => {
  const none = validateNoPayload(payload);
  if (!none.ok) return none;
  return context.services.getFfmpegStatus();
};
