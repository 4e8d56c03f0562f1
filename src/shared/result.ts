// Errors as data: every studio call answers a Result, and ok / fail are the one way to make one.

/** Errors cross as data: a stable code and one human sentence. */
export interface ErrorInfo {
  code: string;
  message: string;
}

/** Every call resolves to data: a result or an error, never a thrown exception across the bridge. */
export type Result<T> = { ok: true; value: T } | { ok: false; error: ErrorInfo };

export const ok = <T>(value: T): Result<T> => ({ ok: true, value });

export const fail = (code: string, message: string): Result<never> => ({ ok: false, error: { code, message } });

/** What was thrown, as the first line of its message (stack traces and multi-line output stay out of the UI). */
export function errorText(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
}
