// runs:resume-interrupted — queues an interrupted run again from its checkpoint.

import { validateResumeInterruptedRun } from '../../shared/schemas.js';
import type { Handler } from './types.js';

export const resumeInterruptedRun: Handler<'resumeInterruptedRun'> = async (context, payload) => {
  const request = validateResumeInterruptedRun(payload);
  if (!request.ok) return request;
  return context.services.resumeInterruptedRun(request.value);
};
