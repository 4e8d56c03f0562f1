// engine/sys/preflight.ts: before any work, a folder given is a folder (or can be made), it takes a new file (tried on a
// real read-only mount, since root ignores permission bits), the data folder is usable, and the disks have room.

import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkDataFolder, checkFreeSpace, checkOutputFolder, checkWritableFolder } from '../../src/engine/sys/preflight.js';
import { mountSmallDisk, whyNoSmallDisk, type SmallDisk } from '../helpers/tmpfs.js';

const tmp = (): Promise<string> => mkdtemp(path.join(os.tmpdir(), 'nst-preflight-'));

describe('folders of the wrong kind', () => {
  it('a folder option naming a file, or a path through a file, is BAD_ARGUMENT naming the option and the file', async () => {
    const dir = await tmp();
    const file = path.join(dir, 'frames');
    await writeFile(file, '');
    await expect(checkOutputFolder('--frames-dir', file)).rejects.toMatchObject({
      code: 'BAD_ARGUMENT',
      message: `--frames-dir: ${file} is a file, not a folder; name a folder (or one to be made).`,
    });
    await expect(checkOutputFolder('-o/--output', path.join(file, 'a', 'b'))).rejects.toMatchObject({
      code: 'BAD_ARGUMENT',
      message: `-o/--output: ${file} is a file, so the folder ${path.join(file, 'a', 'b')} cannot be made inside it; name a folder (or one to be made).`,
    });
  });

  it('a folder that exists, or one that can be made, passes and nothing is made or left behind', async () => {
    const dir = await tmp();
    await checkOutputFolder('--frames-dir', dir);
    await checkOutputFolder('--frames-dir', path.join(dir, 'new', 'deeper'));
    expect(await readdir(dir)).toEqual([]);
  });

  it('a check sweeps the probes of checks killed between making and removing theirs (their pid gone); a live process\'s stay', async () => {
    const dir = await tmp();
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    const stale = `.nst-write-check.${dead}.0badc0de.tmp`;
    // Kept: a live check's probe, and a dead writer's temporary of another file.
    const kept = [`.nst-write-check.${process.ppid}.0badc0de.tmp`, `.out.png.${dead}.0badc0de.tmp`];
    for (const name of [stale, ...kept]) await writeFile(path.join(dir, name), '');
    await checkWritableFolder('-o/--output', dir);
    expect((await readdir(dir)).sort()).toEqual([...kept].sort());
  });

  it('NST_DATA_DIR naming a file is BAD_ARGUMENT saying to point it at a folder; the default data folder in the way is NOT_A_FOLDER', async () => {
    const dir = await tmp();
    const file = path.join(dir, 'data');
    await writeFile(file, '');
    await expect(checkDataFolder({ write: false, env: { NST_DATA_DIR: file } })).rejects.toMatchObject({
      code: 'BAD_ARGUMENT',
      message: `NST_DATA_DIR: ${file} is a file, not a folder; point NST_DATA_DIR at a folder (or one to be made), or unset it.`,
    });
    await expect(checkDataFolder({ write: false, env: { NST_DATA_DIR: path.join(file, 'nst') } })).rejects.toMatchObject({ code: 'BAD_ARGUMENT', message: expect.stringContaining(`${file} is a file, so the folder`) });
    await expect(checkDataFolder({ write: false, env: { XDG_DATA_HOME: file } })).rejects.toMatchObject({
      code: 'NOT_A_FOLDER',
      message: expect.stringMatching(/^the data folder: .* is a file, so the folder .* cannot be made inside it; move that file away, or set NST_DATA_DIR to a folder\.$/),
    });
    await checkDataFolder({ write: true, env: { NST_DATA_DIR: path.join(dir, 'fresh') } });
    expect(await readdir(dir)).toEqual(['data']);
  });
});

describe.skipIf(whyNoSmallDisk !== null)(`on small real file systems (tmpfs)${whyNoSmallDisk ? ` (skipped: ${whyNoSmallDisk})` : ''}`, () => {
  let disk: SmallDisk;
  let readOnly: SmallDisk;
  beforeAll(async () => {
    disk = mountSmallDisk(2048);
    readOnly = mountSmallDisk(256);
    await mkdir(path.join(readOnly.dir, 'existing'));
    readOnly.readOnly();
  });
  afterAll(() => {
    disk.unmount();
    readOnly.unmount();
  });

  it('a folder on a read-only mount is READ_ONLY naming the option and the folder, though access(W_OK) would say yes to root', async () => {
    await expect(checkWritableFolder('-o/--output', readOnly.dir)).rejects.toMatchObject({
      code: 'READ_ONLY',
      message: `-o/--output: cannot write into ${readOnly.dir}: it is on a read-only file system (EROFS). Choose a folder on a writable disk.`,
    });
    // A folder to be made inside it is refused at the folder that exists.
    await expect(checkOutputFolder('--frames-dir', path.join(readOnly.dir, 'existing', 'frames'))).rejects.toMatchObject({ code: 'READ_ONLY', message: expect.stringContaining(`--frames-dir: cannot write into ${path.join(readOnly.dir, 'existing')}: `) });
  });

  it('a data folder on a read-only mount passes for reading and is refused for writing, with the way round it', async () => {
    const env = { NST_DATA_DIR: path.join(readOnly.dir, 'existing') };
    await checkDataFolder({ write: false, env });
    await expect(checkDataFolder({ write: true, env, remedy: '--checkpoint-every 0 runs without checkpoints' })).rejects.toMatchObject({
      code: 'READ_ONLY',
      message: `NST_DATA_DIR: cannot write into ${env.NST_DATA_DIR}: it is on a read-only file system (EROFS). Choose a folder on a writable disk; --checkpoint-every 0 runs without checkpoints.`,
    });
  });

  it('a writable folder passes and keeps no probe file', async () => {
    await checkWritableFolder('-o/--output', disk.dir);
    expect(await readdir(disk.dir)).toEqual([]);
  });

  it('planned writes that do not fit are DISK_FULL before any work, naming the disk, each part and the remedies; ones that fit pass', async () => {
    const free = disk.free();
    await checkFreeSpace([{ folder: disk.dir, bytes: free - 4096, what: 'the image' }]);
    const refusal = checkFreeSpace([
      { folder: disk.dir, bytes: free / 2, what: 'the image' },
      // Not made yet: counted on the disk of the folder it will be made in.
      { folder: path.join(disk.dir, 'frames'), bytes: free, what: '30 frames', remedy: 'a larger --save-every writes fewer frames' },
      // Another disk's writes are not counted against this one.
      { folder: os.tmpdir(), bytes: 1, what: 'its checkpoint' },
    ]);
    await expect(refusal).rejects.toMatchObject({ code: 'DISK_FULL' });
    const { message } = (await refusal.catch((e: unknown) => e)) as Error;
    expect(message).toMatch(new RegExp(`^Not enough free space on the disk holding ${disk.dir}: 2\\.0 MB free, and this run writes at least 3\\.0 MB there \\(the image 1\\.0 MB in ${disk.dir}, 30 frames 2\\.0 MB in ${disk.dir}/frames\\)\\.`));
    expect(message).toMatch(/\. Free some space or choose a folder on another disk; a larger --save-every writes fewer frames\.$/);
    expect(message).not.toContain('checkpoint');
  });

  it('a disk with no room left refuses any planned write, saying how little is free', async () => {
    const full = mountSmallDisk(64);
    try {
      full.fill(0);
      await expect(checkFreeSpace([{ folder: full.dir, bytes: 4096, what: 'the image' }])).rejects.toMatchObject({
        code: 'DISK_FULL',
        message: expect.stringContaining(`the disk holding ${full.dir}: 0 bytes free, and this run writes at least 4 kB there (the image 4 kB in ${full.dir})`),
      });
    } finally {
      full.unmount();
    }
  });
});
