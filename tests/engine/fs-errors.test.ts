// engine/sys/fs-errors.ts: every file-system errno a user can meet becomes an NstError with its own code and a sentence
// that names the path and says what to do; anything else is left alone.

import { mkdir, mkdtemp, open, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { NstError } from '../../src/engine/errors.js';
import { asNstError, fileSystemError, FILE_SYSTEM_ERRNOS } from '../../src/engine/sys/fs-errors.js';

const tmp = (): Promise<string> => mkdtemp(path.join(os.tmpdir(), 'nst-fs-errors-'));

/** An error as Node makes them: `CODE: words, syscall 'path'` with code, syscall and path set. */
function errno(code: string, syscall: string, file?: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: raw words, ${syscall}${file ? ` '${file}'` : ''}`), { code, errno: -1, syscall, ...(file ? { path: file } : {}) });
}

/** What each errno must become: its code, and words the sentence must carry (why, and what to do). */
const TABLE: readonly { errno: string; code: string; says: RegExp }[] = [
  { errno: 'ENOSPC', code: 'DISK_FULL', says: /disk it is on is full \(ENOSPC\)\. Free some space there or choose a folder on another disk/ },
  { errno: 'EDQUOT', code: 'DISK_FULL', says: /quota there is used up \(EDQUOT\)\. Free some space/ },
  { errno: 'EFBIG', code: 'DISK_FULL', says: /larger than that file system allows \(EFBIG\)/ },
  { errno: 'EROFS', code: 'READ_ONLY', says: /read-only file system \(EROFS\)\. Choose a folder on a writable disk/ },
  { errno: 'EACCES', code: 'PERMISSION_DENIED', says: /permission denied \(EACCES\)\. Choose a folder you may write to/ },
  { errno: 'EPERM', code: 'PERMISSION_DENIED', says: /not permitted \(EPERM\)/ },
  { errno: 'ENOTDIR', code: 'NOT_A_FOLDER', says: /is a file, not a folder \(ENOTDIR\)/ },
  { errno: 'EISDIR', code: 'IS_A_FOLDER', says: /it is a folder, not a file \(EISDIR\)\. Name a file/ },
  { errno: 'EEXIST', code: 'ALREADY_EXISTS', says: /is there already \(EEXIST\)/ },
  { errno: 'ENOTEMPTY', code: 'ALREADY_EXISTS', says: /not empty \(ENOTEMPTY\)/ },
  { errno: 'ENAMETOOLONG', code: 'NAME_TOO_LONG', says: /too long for the file system \(ENAMETOOLONG\)\. Choose a shorter name/ },
  { errno: 'EMFILE', code: 'TOO_MANY_OPEN_FILES', says: /too many files open \(EMFILE\)\. Raise the limit \(ulimit -n\)/ },
  { errno: 'ENFILE', code: 'TOO_MANY_OPEN_FILES', says: /too many files open \(ENFILE\)/ },
  { errno: 'ENOENT', code: 'FILE_NOT_FOUND', says: /does not exist \(ENOENT\)/ },
  { errno: 'EIO', code: 'FILE_SYSTEM_ERROR', says: /input\/output error \(EIO\)\. Check the disk/ },
  { errno: 'ELOOP', code: 'FILE_SYSTEM_ERROR', says: /loop \(ELOOP\)/ },
  { errno: 'EBUSY', code: 'FILE_SYSTEM_ERROR', says: /in use by another program \(EBUSY\)/ },
  { errno: 'ETXTBSY', code: 'FILE_SYSTEM_ERROR', says: /a program that is running \(ETXTBSY\)/ },
  { errno: 'ESTALE', code: 'FILE_SYSTEM_ERROR', says: /lost track of it \(ESTALE\)/ },
  { errno: 'EXDEV', code: 'FILE_SYSTEM_ERROR', says: /across disks \(EXDEV\)/ },
];

describe('fileSystemError', () => {
  it('has a row here for every errno it knows, and no more', () => {
    expect([...FILE_SYSTEM_ERRNOS].sort()).toEqual(TABLE.map((r) => r.errno).sort());
  });

  for (const row of TABLE) {
    it(`${row.errno} → ${row.code}, naming the path, why and what to do`, () => {
      const file = '/photos/out/painted.png';
      const mapped = fileSystemError(errno(row.errno, 'rename', file));
      expect(mapped).toBeInstanceOf(NstError);
      expect(mapped!.code).toBe(row.code);
      expect(mapped!.message).toMatch(/^Cannot write \/photos\/out\/painted\.png: /);
      expect(mapped!.message).toMatch(row.says);
      // One line: no errno dump, no stack.
      expect(mapped!.message).not.toMatch(/\n|raw words/);
    });
  }

  it('a write through a file handle (no path in the error) is named by the context, and an atomic write\'s temporary file as the file it becomes', () => {
    expect(fileSystemError(errno('ENOSPC', 'write'), { path: '/out/a.png' })!.message).toMatch(/^Cannot write \/out\/a\.png: the disk it is on is full/);
    expect(fileSystemError(errno('ENOSPC', 'write'))!.message).toMatch(/^Cannot write a file: the disk/);
    expect(fileSystemError(errno('EROFS', 'open', '/mnt/ro/.out.png.4242.0123abcd.tmp'))!.message).toMatch(/^Cannot write \/mnt\/ro\/out\.png: /);
    // A subject stands for the error's own path (a probe file names its folder).
    expect(fileSystemError(errno('EROFS', 'open', '/mnt/ro/.probe.1.00000000.tmp'), { subject: '/mnt/ro' })!.message).toMatch(/^Cannot write \/mnt\/ro: /);
  });

  it('says what was being done: open, read, create the folder, remove; write for what only a write meets', () => {
    expect(fileSystemError(errno('EACCES', 'open', '/a'))!.message).toMatch(/^Cannot open \/a: /);
    expect(fileSystemError(errno('EROFS', 'open', '/a'))!.message).toMatch(/^Cannot write \/a: /);
    expect(fileSystemError(errno('EACCES', 'scandir', '/a'))!.message).toMatch(/^Cannot read \/a: /);
    expect(fileSystemError(errno('EROFS', 'mkdir', '/a/b'))!.message).toMatch(/^Cannot create the folder \/a\/b: /);
    expect(fileSystemError(errno('EBUSY', 'unlink', '/a/b'))!.message).toMatch(/^Cannot remove \/a\/b: /);
  });

  it('ENOTDIR names the file standing where a folder must be (NST_DATA_DIR pointing at a file)', async () => {
    const dir = await tmp();
    const file = path.join(dir, 'data');
    await writeFile(file, 'not a folder');
    const error = await mkdir(path.join(file, 'runs', 'x'), { recursive: true }).catch((e: unknown) => e);
    const mapped = fileSystemError(error);
    expect(mapped?.code).toBe('NOT_A_FOLDER');
    expect(mapped!.message).toContain(`${file} is a file, not a folder (ENOTDIR). Move that file away or choose another folder.`);
  });

  it('mkdir over a file (EEXIST) is NOT_A_FOLDER too, naming it', async () => {
    const dir = await tmp();
    const file = path.join(dir, 'frames');
    await writeFile(file, '');
    const mapped = fileSystemError(await mkdir(file).catch((e: unknown) => e));
    expect(mapped).toMatchObject({ code: 'NOT_A_FOLDER', message: `Cannot create the folder ${file}: a file of that name is there (EEXIST). Move that file away or choose another folder.` });
  });

  it('EISDIR from opening a folder to write it (a --grad-out that is a folder)', async () => {
    const dir = await tmp();
    const mapped = fileSystemError(await open(dir, 'w').catch((e: unknown) => e));
    expect(mapped).toMatchObject({ code: 'IS_A_FOLDER', message: `Cannot open ${dir}: it is a folder, not a file (EISDIR). Name a file (one inside that folder, say).` });
  });

  it('ENOENT names the outermost missing folder, else the file itself', async () => {
    const dir = await tmp();
    const deep = path.join(dir, 'gone', 'deeper', 'out.png');
    expect(fileSystemError(await writeFile(deep, 'x').catch((e: unknown) => e))!.message).toBe(
      `Cannot open ${deep}: the folder ${path.join(dir, 'gone')} does not exist (ENOENT). Check the path, or make the folder again if it was moved or deleted.`,
    );
    const absent = path.join(dir, 'absent.png');
    expect(fileSystemError(await readFile(absent).catch((e: unknown) => e))!.message).toBe(`Cannot open ${absent}: it does not exist (ENOENT). Check the path, or make the folder again if it was moved or deleted.`);
  });

  it('a name too long is shortened in the sentence, keeping both ends', async () => {
    const dir = await tmp();
    const long = path.join(dir, `${'n'.repeat(5000)}.png`);
    const mapped = fileSystemError(await writeFile(long, 'x').catch((e: unknown) => e));
    expect(mapped?.code).toBe('NAME_TOO_LONG');
    expect(mapped!.message.length).toBeLessThan(600);
    expect(mapped!.message).toContain(dir.slice(0, 20));
    expect(mapped!.message).toContain('nnn.png: the name is too long');
  });

  it('finds the errno behind a wrapping error (cause), and leaves NstErrors, bugs and network errors alone', () => {
    const wrapped = new Error('saving failed', { cause: errno('ENOSPC', 'write', '/x/y.bin') });
    expect(fileSystemError(wrapped)?.code).toBe('DISK_FULL');
    const own = new NstError('BAD_ARGUMENT', '--size must be …');
    expect(fileSystemError(own)).toBeNull();
    expect(asNstError(own)).toBe(own);
    const bug = new TypeError('x is undefined');
    expect(fileSystemError(bug)).toBeNull();
    expect(asNstError(bug)).toBe(bug);
    expect(fileSystemError(errno('ECONNREFUSED', 'connect'))).toBeNull();
    expect(fileSystemError('ENOSPC')).toBeNull();
  });

  it('keeps the original error as the cause (--debug shows its stack)', () => {
    const original = errno('EROFS', 'open', '/ro/x');
    expect(fileSystemError(original)!.cause).toBe(original);
  });
});
