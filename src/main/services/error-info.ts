// What a studio service answers for something thrown: the engine's code and sentence, a file-system failure in the
// words the CLI uses for it (sys/fs-errors.ts), anything else as the caller's fallback.

import { type FileErrorContext, fileSystemError, isNstError } from '../../engine/index.js';
import type { ErrorInfo } from '../../shared/result.js';

export interface Fallback {
  readonly code: string;
  /** The sentence for an unexpected error, from the first line of its message. */
  readonly message: (detail: string) => string;
}

const INTERNAL: Fallback = { code: 'INTERNAL', message: (detail) => detail };

/** `context` names the file a failure without one was about (a write through a handle says none) and what was done. */
export function errorInfo(error: unknown, fallback: Fallback = INTERNAL, context: FileErrorContext = {}): ErrorInfo {
  const known = isNstError(error) ? error : fileSystemError(error, context);
  if (known) return { code: known.code, message: known.message };
  const detail = (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
  return { code: fallback.code, message: fallback.message(detail) };
}
