// weights:remove — deletes the installed (converted) weights; refused while a download or import runs.

import { validateNoPayload } from '../../shared/schemas.js';
import type { Handler } from './types.js';

export const removeWeights: Handler<'removeWeights'> = async (context, payload) => {
  const none = validateNoPayload(payload);
  if (!none.ok) return none;
  return context.services.removeWeights();
};
