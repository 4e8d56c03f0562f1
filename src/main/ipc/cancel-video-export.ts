// video:cancel — stops the run's export in progress; ffmpeg is stopped and no file is left behind.

import { validateCancelVideoExport } from '../../shared/schemas.js';
import type { Handler } from './types.js';

export const cancelVideoExport: Handler<'cancelVideoExport'> = async (context, payload) => {
  const request = validateCancelVideoExport(payload);
  if (!request.ok) return request;
  return context.services.cancelVideoExport(request.value);
};
