// File-system failures as NstErrors: one table from errno (ENOSPC, EROFS, EACCES…) to a code and a sentence that
// names the path and says what to do, so the CLI and the studio say the same thing and neither says "internal error".

import { statSync } from 'node:fs';
import path from 'node:path';
import { isNstError, NstError, type NstErrorCode } from '../errors.js';
import { temporaryTarget } from './atomic-file.js';

/** What was being done to the path, in the sentence's words ("Cannot write …"); guessed from the syscall if not given. */
export type FileAction = 'write' | 'open' | 'read' | 'create the folder' | 'remove' | 'reach' | 'use';

export interface FileErrorContext {
  /** The file or folder to name when the error names none (a write through a file handle says no path). */
  readonly path?: string;
  /** Named instead of the error's own path: what the operation stood for (a folder, for a probe file in it). */
  readonly subject?: string;
  readonly action?: FileAction;
}

interface Rule {
  readonly code: NstErrorCode;
  /** Why, then what to do; `p` is the path as shown, `errno` the error's code. */
  readonly sentence: (p: string, errno: string) => string;
}

const SPACE = 'Free some space there or choose a folder on another disk, then try again.';

/** Every errno a user can meet while nst reads and writes files; anything else is left as it is. */
const RULES: Readonly<Record<string, Rule>> = {
  ENOSPC: { code: 'DISK_FULL', sentence: () => `the disk it is on is full (ENOSPC). ${SPACE}` },
  EDQUOT: { code: 'DISK_FULL', sentence: () => `your disk quota there is used up (EDQUOT). ${SPACE}` },
  EFBIG: { code: 'DISK_FULL', sentence: () => 'the file would be larger than that file system allows (EFBIG). Choose a folder on another disk.' },
  EROFS: { code: 'READ_ONLY', sentence: () => 'it is on a read-only file system (EROFS). Choose a folder on a writable disk.' },
  EACCES: { code: 'PERMISSION_DENIED', sentence: () => 'permission denied (EACCES). Choose a folder you may write to, or change the permissions.' },
  EPERM: { code: 'PERMISSION_DENIED', sentence: () => 'the operation is not permitted (EPERM). Choose a folder you may write to, or change the permissions.' },
  ENOTDIR: { code: 'NOT_A_FOLDER', sentence: (p) => `${fileInTheWay(p) ?? 'a part of that path'} is a file, not a folder (ENOTDIR). Move that file away or choose another folder.` },
  EISDIR: { code: 'IS_A_FOLDER', sentence: () => 'it is a folder, not a file (EISDIR). Name a file (one inside that folder, say).' },
  EEXIST: { code: 'ALREADY_EXISTS', sentence: () => 'something of that name is there already (EEXIST). Move it away or choose another name.' },
  ENOTEMPTY: { code: 'ALREADY_EXISTS', sentence: () => 'the folder is not empty (ENOTEMPTY). Empty it or choose another name.' },
  ENAMETOOLONG: { code: 'NAME_TOO_LONG', sentence: () => 'the name is too long for the file system (ENAMETOOLONG). Choose a shorter name or a folder nearer the top.' },
  EMFILE: { code: 'TOO_MANY_OPEN_FILES', sentence: () => 'this process has too many files open (EMFILE). Raise the limit (ulimit -n) or close other work, then try again.' },
  ENFILE: { code: 'TOO_MANY_OPEN_FILES', sentence: () => 'the system has too many files open (ENFILE). Close other programs, then try again.' },
  ENOENT: { code: 'FILE_NOT_FOUND', sentence: (p) => `${missingPart(p)} does not exist (ENOENT). Check the path, or make the folder again if it was moved or deleted.` },
  EIO: { code: 'FILE_SYSTEM_ERROR', sentence: () => 'the disk reported an input/output error (EIO). Check the disk or its connection, then try again.' },
  ELOOP: { code: 'FILE_SYSTEM_ERROR', sentence: () => 'its symbolic links go round in a loop (ELOOP). Fix the link or choose another path.' },
  EBUSY: { code: 'FILE_SYSTEM_ERROR', sentence: () => 'it is in use by another program (EBUSY). Close that program or choose another name.' },
  ETXTBSY: { code: 'FILE_SYSTEM_ERROR', sentence: () => 'it is a program that is running (ETXTBSY). Choose another name.' },
  ESTALE: { code: 'FILE_SYSTEM_ERROR', sentence: () => 'the network file system lost track of it (ESTALE). Mount it again, then try again.' },
  EXDEV: { code: 'FILE_SYSTEM_ERROR', sentence: () => 'it cannot be moved across disks (EXDEV). Choose a folder on the same disk.' },
};

/** The errno codes fileSystemError turns into sentences (tests walk the table). */
export const FILE_SYSTEM_ERRNOS: readonly string[] = Object.keys(RULES);

/**
 * The NstError for a file-system failure (an ErrnoException, or an Error whose cause is one), naming the path and
 * what to do; null for anything else (an NstError, a bug, a network error), which callers pass on unchanged.
 */
export function fileSystemError(error: unknown, context: FileErrorContext = {}): NstError | null {
  if (isNstError(error)) return null;
  const errno = errnoOf(error);
  const rule = errno ? RULES[errno.code!] : undefined;
  if (!errno || !rule) return null;
  const target = shownPath(context.subject ?? errno.path ?? (errno as { dest?: string }).dest ?? context.path);
  const guessed = actionOf(errno.syscall);
  const action = context.action ?? (guessed === 'open' && ONLY_WHEN_WRITING.has(errno.code!) ? 'write' : guessed);
  // mkdir -p over a file: the file is what is in the way, so it is said as ENOTDIR is.
  if (errno.code === 'EEXIST' && action === 'create the folder' && target && !isFolder(target)) {
    return new NstError('NOT_A_FOLDER', `Cannot create the folder ${target}: a file of that name is there (EEXIST). Move that file away or choose another folder.`, { cause: error });
  }
  const what = target ? `${action} ${target}` : action === 'use' ? 'use a file' : `${action} a file`;
  return new NstError(rule.code, `Cannot ${what}: ${rule.sentence(target ?? '', errno.code!)}`, { cause: error });
}

/** `error` as an NstError when it is a file-system failure (fileSystemError), else unchanged. */
export function asNstError(error: unknown, context: FileErrorContext = {}): unknown {
  return fileSystemError(error, context) ?? error;
}

function errnoOf(error: unknown): NodeJS.ErrnoException | null {
  for (let e = error, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return e as NodeJS.ErrnoException;
  }
  return null;
}

/** Errors only a write can meet: an open that met one was opening to write (to create a file on a read-only disk). */
const ONLY_WHEN_WRITING = new Set(['ENOSPC', 'EDQUOT', 'EFBIG', 'EROFS']);

const ACTIONS: Readonly<Record<string, FileAction>> = {
  // open serves reads and writes alike; its flags are not in the error.
  open: 'open',
  mkdir: 'create the folder',
  mkdtemp: 'create the folder',
  read: 'read',
  scandir: 'read',
  opendir: 'read',
  readlink: 'read',
  unlink: 'remove',
  rmdir: 'remove',
  rm: 'remove',
  stat: 'reach',
  lstat: 'reach',
  access: 'reach',
  realpath: 'reach',
  statfs: 'reach',
};

/** write for write, rename, copyfile, fsync, link…: what nst does with files it does not read. */
function actionOf(syscall: string | undefined): FileAction {
  if (!syscall) return 'use';
  return ACTIONS[syscall] ?? 'write';
}

/** `.out.png.123.abcd1234.tmp` (an atomic write's temporary file) is said as the file it becomes, out.png. */
function shownPath(p: string | undefined): string | undefined {
  if (p === undefined) return undefined;
  const target = temporaryTarget(path.basename(p));
  const shown = target === null ? p : path.join(path.dirname(p), target);
  // ENAMETOOLONG's path can be thousands of characters: its ends say which it is.
  return shown.length > 300 ? `${shown.slice(0, 140)}…${shown.slice(-140)}` : shown;
}

function isFolder(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** The first file standing where `p` needs a folder (ENOTDIR: /data/runs/x when /data is a file), if any. */
function fileInTheWay(p: string): string | null {
  if (!p) return null;
  const parts: string[] = [];
  for (let dir = path.dirname(p); dir !== path.dirname(dir); dir = path.dirname(dir)) parts.unshift(dir);
  for (const dir of parts) {
    try {
      if (!statSync(dir).isDirectory()) return dir;
    } catch {
      return null;
    }
  }
  return null;
}

/** The outermost part of `p` that is absent: "the folder /a/b" when the file's folder is gone, else "it". */
function missingPart(p: string): string {
  let missing = p;
  for (let dir = path.dirname(p); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    try {
      statSync(dir);
      break;
    } catch {
      missing = dir;
    }
  }
  return missing === p ? 'it' : `the folder ${missing}`;
}
