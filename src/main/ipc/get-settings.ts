// settings:get — the parameters saved last time (or the defaults).

import { validateNoPayload } from '../../shared/schemas.js';
import type { Handler } from './types.js';

export const getSettings: Handler<'getSettings'> = async (context, payload) => {
  const none = validateNoPayload(payload);
  if (!none.ok) return none;
  return context.services.getSettings();
};
