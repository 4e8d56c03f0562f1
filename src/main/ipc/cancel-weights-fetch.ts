// weights:cancel — stops a running download; what was fetched is kept and the next fetch resumes it.

import { validateNoPayload } from '../../shared/schemas.js';
import type { Handler } from './types.js';

export const cancelWeightsFetch: Handler<'cancelWeightsFetch'> = async (context, payload) => {
  const none = validateNoPayload(payload);
  if (!none.ok) return none;
  return context.services.cancelWeightsFetch();
};
