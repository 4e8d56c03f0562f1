// Errors as values with a stable code and one human sentence: the CLI prints the sentence, the UI shows it.

export type NstErrorCode =
  | 'FILE_NOT_FOUND'
  | 'NOT_AN_IMAGE'
  | 'IMAGE_TOO_LARGE'
  | 'IMAGE_TOO_SMALL'
  | 'BAD_WEIGHTS'
  | 'WEIGHTS_MISSING_LAYER'
  | 'WEIGHTS_NOT_FOUND'
  | 'DOWNLOAD_FAILED'
  | 'CHECKSUM_MISMATCH'
  | 'UNKNOWN_LAYER'
  | 'BAD_ARGUMENT'
  | 'DEVICE_UNAVAILABLE'
  | 'RUNTIME_FAILURE'
  | 'FFMPEG_NOT_FOUND'
  | 'BAD_CHECKPOINT'
  /** Another process owns the run (or folder) asked for: persist/run-lock.ts. */
  | 'RUN_IN_USE'
  /** A batch ran to its end but some items failed (each was reported; the others were written). */
  | 'BATCH_ITEMS_FAILED'
  | 'ABORTED'
  // The file system refused (sys/fs-errors.ts words each; ENOENT is FILE_NOT_FOUND).
  | 'DISK_FULL'
  | 'READ_ONLY'
  | 'PERMISSION_DENIED'
  | 'NOT_A_FOLDER'
  | 'IS_A_FOLDER'
  | 'ALREADY_EXISTS'
  | 'NAME_TOO_LONG'
  | 'TOO_MANY_OPEN_FILES'
  | 'FILE_SYSTEM_ERROR';

export class NstError extends Error {
  override readonly name = 'NstError';
  constructor(
    readonly code: NstErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isNstError(value: unknown): value is NstError {
  return value instanceof NstError;
}

/** Throws BAD_ARGUMENT unless `value` is a finite number within [min, max]. */
export function requireNumberInRange(name: string, value: number, min: number, max: number): number {
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new NstError('BAD_ARGUMENT', `${name} must be a number from ${min} to ${max}, got ${String(value)}.`);
  }
  return value;
}
