// run:resume — resumes a paused run.

import { validateResumeRun } from '../../shared/schemas.js';
import type { Handler } from './types.js';

export const resumeRun: Handler<'resumeRun'> = async (context, payload) => {
  const request = validateResumeRun(payload);
  if (!request.ok) return request;
  return context.services.resumeRun(request.value);
};
