// app:info — version, where the weights come from (or how to get them), devices, platform.

import { validateNoPayload } from '../../shared/schemas.js';
import type { Handler } from './types.js';

export const getAppInfo: Handler<'getAppInfo'> = async (context, payload) => {
  const none = validateNoPayload(payload);
  if (!none.ok) return none;
  return context.services.getAppInfo();
};
