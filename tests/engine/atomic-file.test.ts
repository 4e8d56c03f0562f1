// engine/sys/atomic-file.ts: a write is temp file, fsync, rename, then the folder fsynced (where the platform can),
// a checkpoint's synchronously in the same order; temporary files of writers that died mid-write are swept, a live
// process's never.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';

/** Every open (path, flags), handle sync (path) and rename (from, to), in order, as the module under test made them. */
const calls: string[][] = [];
/** Makes the next fsync of a folder fail with this code. */
let failDirectorySync: string | null = null;

vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>();
  return {
    ...actual,
    open: async (file: string, flags: string) => {
      const handle = await actual.open(file, flags);
      calls.push(['open', file, flags]);
      const sync = handle.sync.bind(handle);
      handle.sync = async () => {
        calls.push(['sync', file]);
        if (failDirectorySync && (await actual.stat(file)).isDirectory()) {
          const code = failDirectorySync;
          failDirectorySync = null;
          throw Object.assign(new Error(`${code}: fsync of a folder`), { code });
        }
        return sync();
      };
      return handle;
    },
    rename: async (from: string, to: string) => {
      calls.push(['rename', from, to]);
      return actual.rename(from, to);
    },
  };
});

// The synchronous writes (writeFileAtomicSync: a checkpoint's files), recorded the same way.
vi.mock('node:fs', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs')>();
  const paths = new Map<number, string>();
  return {
    ...actual,
    openSync: (file: string, flags: string) => {
      const fd = actual.openSync(file, flags);
      paths.set(fd, file);
      calls.push(['open', file, flags]);
      return fd;
    },
    fsyncSync: (fd: number) => {
      calls.push(['sync', paths.get(fd)!]);
      actual.fsyncSync(fd);
    },
    renameSync: (from: string, to: string) => {
      calls.push(['rename', from, to]);
      actual.renameSync(from, to);
    },
  };
});

const { fsyncDirectory, removeStaleTemporaries, temporaryOwner, temporaryPath, writeFileAtomic, writeTemporary } = await import('../../src/engine/sys/atomic-file.js');
const { isProcessAlive } = await import('../../src/engine/sys/process-alive.js');
const { MANIFEST_FILE } = await import('../../src/engine/persist/checkpoint.js');
const { CheckpointWriter } = await import('../../src/engine/persist/checkpoint-writer.js');
const { newRunId, runDir } = await import('../../src/engine/persist/run-folder.js');

const tmp = (): string => mkdtempSync(path.join(os.tmpdir(), 'nst-atomic-'));

/** A pid no process has: a child that has exited and been reaped (spawnSync waits for it). */
function deadPid(): number {
  const pid = spawnSync(process.execPath, ['-e', '']).pid;
  if (!pid) throw new Error('could not spawn a child to borrow a dead pid from');
  return pid;
}

afterEach(() => {
  calls.length = 0;
  failDirectorySync = null;
  vi.restoreAllMocks();
});

describe('writeFileAtomic', () => {
  it('fsyncs the file before the rename and the folder after it', async () => {
    const dir = tmp();
    const target = path.join(dir, 'out.json');
    await writeFileAtomic(target, '{"a":1}');
    expect(await fs.readFile(target, 'utf8')).toBe('{"a":1}');
    expect(await fs.readdir(dir)).toEqual(['out.json']);
    const temporary = calls[0]![1]!;
    expect(path.basename(temporary)).toMatch(new RegExp(`^\\.out\\.json\\.${process.pid}\\.[0-9a-f]{8}\\.tmp$`));
    expect(calls).toEqual([
      ['open', temporary, 'wx'],
      ['sync', temporary],
      ['rename', temporary, target],
      ['open', dir, 'r'],
      ['sync', dir],
    ]);
  });

  it('with sync: false, neither the file nor the folder is fsynced', async () => {
    const dir = tmp();
    await writeFileAtomic(path.join(dir, 'frame.png'), 'x', { sync: false });
    expect(calls.map((c) => c[0])).toEqual(['open', 'rename']);
  });

  it('writes chunks one after another, without joining them first', async () => {
    const dir = tmp();
    await writeFileAtomic(path.join(dir, 'data.bin'), [new Uint8Array([1, 2]), new Uint8Array([]), new Uint8Array([3])]);
    expect([...(await fs.readFile(path.join(dir, 'data.bin')))]).toEqual([1, 2, 3]);
  });

  it('writeTemporary leaves the flushed temporary file for the caller to rename, and the target untouched', async () => {
    const dir = tmp();
    const target = path.join(dir, 'vgg19.bin');
    writeFileSync(target, 'old');
    const temporary = await writeTemporary(target, 'new');
    expect(path.dirname(temporary)).toBe(dir);
    expect(temporaryOwner(path.basename(temporary))).toBe(process.pid);
    expect(await fs.readFile(temporary, 'utf8')).toBe('new');
    expect(await fs.readFile(target, 'utf8')).toBe('old');
    expect(calls).toEqual([
      ['open', temporary, 'wx'],
      ['sync', temporary],
    ]);
  });

  for (const code of ['EISDIR', 'EPERM', 'EINVAL']) {
    it(`a folder fsync refused with ${code} (a filesystem that does not do it) is ignored: the file is written`, async () => {
      const dir = tmp();
      failDirectorySync = code;
      await writeFileAtomic(path.join(dir, 'out.txt'), 'kept');
      expect(await fs.readFile(path.join(dir, 'out.txt'), 'utf8')).toBe('kept');
      expect(calls.at(-1)).toEqual(['sync', dir]);
    });
  }

  it('a folder fsync that fails otherwise (EIO) is reported: the rename may not survive a power cut', async () => {
    const dir = tmp();
    failDirectorySync = 'EIO';
    await expect(writeFileAtomic(path.join(dir, 'out.txt'), 'x')).rejects.toMatchObject({ code: 'EIO' });
  });

  it('on Windows the folder is not opened at all', async () => {
    const platform = Object.getOwnPropertyDescriptor(process, 'platform')!;
    Object.defineProperty(process, 'platform', { value: 'win32' });
    try {
      await fsyncDirectory(tmp());
    } finally {
      Object.defineProperty(process, 'platform', platform);
    }
    expect(calls).toEqual([]);
  });
});

describe('a checkpoint write', () => {
  it('fsyncs each file before its rename and the run folder after it: data file, then manifest', async () => {
    const root = tmp();
    const runId = newRunId();
    const writer = new CheckpointWriter({ runId, root, everyMs: 0, job: null, totalIterations: () => 2 });
    const loss = { total: 1, style: {}, content: {}, tv: 0 };
    await writer.save({
      plan: { mode: 'whole', sizePx: 2, estimateBytes: 1 },
      phase: 'scale',
      stage: { index: 0, iterationsBefore: 0, run: { iteration: 1, image: new Float32Array(12), optimizer: { name: 'gd', iteration: 1, buffers: {}, scalars: {} }, objectiveScale: 1, carried: null, initialLoss: loss, weights: null } },
    });
    expect(writer.last?.generation).toBe(1);
    const dir = runDir(runId, root);
    const steps = calls.map(([op, file, other]) => `${op} ${path.basename(file!)}${op === 'rename' ? ` → ${path.basename(other!)}` : ''}`);
    const at = (step: RegExp): number => steps.findIndex((s) => step.test(s));
    const dataRenamed = at(/^rename .* → run-1\.bin$/);
    const manifestRenamed = at(new RegExp(`^rename .* → ${MANIFEST_FILE.replace('.', '\\.')}$`));
    const folderSyncs = steps.flatMap((s, i) => (s === `sync ${path.basename(dir)}` ? [i] : []));
    expect(dataRenamed).toBeGreaterThanOrEqual(0);
    expect(manifestRenamed).toBeGreaterThan(dataRenamed);
    // Each file's own fsync comes before its rename: else a power cut could leave the real name on empty blocks.
    const syncedBefore = (renamed: number): boolean => {
      const temporary = path.basename(calls[renamed]![1]!);
      const synced = steps.indexOf(`sync ${temporary}`);
      return synced >= 0 && synced < renamed;
    };
    expect(syncedBefore(dataRenamed), `the data file is fsynced before its rename:\n${steps.join('\n')}`).toBe(true);
    expect(syncedBefore(manifestRenamed), `the manifest is fsynced before its rename:\n${steps.join('\n')}`).toBe(true);
    // One between the two renames (the data is on disk before a manifest can name it), one after the manifest's.
    expect(folderSyncs.some((i) => i > dataRenamed && i < manifestRenamed)).toBe(true);
    expect(folderSyncs.some((i) => i > manifestRenamed)).toBe(true);
  });
});

describe('stale temporary files', () => {
  it('temporaryPath names the file for this process; temporaryOwner reads the pid back', () => {
    const name = path.basename(temporaryPath('/x/photo.2024.png'));
    expect(name).toMatch(new RegExp(`^\\.photo\\.2024\\.png\\.${process.pid}\\.[0-9a-f]{8}\\.tmp$`));
    expect(temporaryOwner(name)).toBe(process.pid);
    for (const other of ['photo.png', '.photo.png.tmp', '.photo.png.12.xyz.tmp', '.photo.png.0.deadbeef.tmp', 'photo.png.12.deadbeef.tmp']) expect(temporaryOwner(other)).toBeNull();
  });

  it('removes the temporaries of a dead process and keeps this process\'s and everything else', async () => {
    const dir = tmp();
    const dead = deadPid();
    expect(await isProcessAlive(dead)).toBe(false);
    const stale = [`.out.png.${dead}.0badf00d.tmp`, `.nst-batch.json.${dead}.12345678.tmp`];
    const kept = [`.out.png.${process.pid}.cafebabe.tmp`, 'out.png', '.notes.tmp', `.out.png.${dead}.xyz.tmp`, `out.png.${dead}.0badf00d.tmp`];
    for (const name of [...stale, ...kept]) writeFileSync(path.join(dir, name), 'x');
    expect((await removeStaleTemporaries(dir)).sort()).toEqual([...stale].sort());
    expect((await fs.readdir(dir)).sort()).toEqual([...kept].sort());
  });

  it('keeps a temporary whose process exists but is not ours to signal (EPERM counts as alive)', async () => {
    const dir = tmp();
    const other = deadPid();
    const name = `.out.png.${other}.0badf00d.tmp`;
    writeFileSync(path.join(dir, name), 'x');
    vi.spyOn(process, 'kill').mockImplementation(() => {
      throw Object.assign(new Error('kill EPERM'), { code: 'EPERM' });
    });
    expect(await removeStaleTemporaries(dir)).toEqual([]);
    expect(await fs.readdir(dir)).toEqual([name]);
    vi.restoreAllMocks();
    expect(await removeStaleTemporaries(dir)).toEqual([name]);
  });

  it('a folder that does not exist has nothing to sweep', async () => {
    expect(await removeStaleTemporaries(path.join(tmp(), 'missing'))).toEqual([]);
  });
});
