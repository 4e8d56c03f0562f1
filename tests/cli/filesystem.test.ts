// `nst` against file systems that refuse: paths of the wrong kind, read-only and full disks (small tmpfs mounts), an
// NST_DATA_DIR that is a file. Each is said before any work where it can be (before the weights are read), in one
// `nst: ` line naming the path and what to do, with its documented exit code; never "internal error". A disk that
// fills up mid-run keeps the previous output and the run's checkpoint, and the run can be finished.

import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonLines, runNst, type CliResult } from '../helpers/cli.js';
import { DOCUMENTED_EXIT_CODES as EXIT } from '../helpers/exit-codes.js';
import { hasShared, sharedPath } from '../helpers/shared-data.js';
import { mountSmallDisk, whyNoSmallDisk, type SmallDisk } from '../helpers/tmpfs.js';

const UINT8 = sharedPath('data', 'vgg19-imagenet-uint8');
const haveWeights = hasShared('data', 'vgg19-imagenet-uint8');

const f = { dir: '', content: '', style: '', file: '', folder: '' };

beforeAll(async () => {
  f.dir = await mkdtemp(path.join(os.tmpdir(), 'nst-cli-fs-'));
  f.content = path.join(f.dir, 'content.png');
  f.style = path.join(f.dir, 'style.png');
  f.file = path.join(f.dir, 'just a file');
  f.folder = path.join(f.dir, 'a folder');
  const noise = (seed: number): Promise<Buffer> =>
    sharp(Buffer.from(Array.from({ length: 64 * 64 * 3 }, (_, i) => (i * 7919 + seed * 104729) % 251)), { raw: { width: 64, height: 64, channels: 3 } }).png().toBuffer();
  await writeFile(f.content, await noise(1));
  await writeFile(f.style, await noise(2));
  await writeFile(f.file, 'not a folder');
  await mkdir(f.folder);
});

afterAll(async () => {
  if (f.dir) await rm(f.dir, { recursive: true, force: true });
});

/** A stylize command line that would run, quickly, with `options` changing it. No weights: refusals come first. */
function stylize(output: string, ...options: string[]): string[] {
  return ['stylize', f.content, f.style, '-o', output, '--size', '64', '--iterations', '2', '--device', 'cpu', ...options];
}

/** The one `nst: ` line of a refusal, after checking the exit code, that nothing went to stdout and no "internal error". */
function refusal(result: CliResult, code: number): string {
  expect(result.code, `exit code; stderr was:\n${result.stderr}`).toBe(code);
  expect(result.stderr).toMatch(/^nst: [^\n]+\n$/);
  expect(result.stderr).not.toMatch(/internal error|ENOTDIR:|EISDIR:|EROFS:|ENOSPC:|EEXIST:/);
  expect(result.stdout).toBe('');
  return result.stderr.trimEnd();
}

describe('paths of the wrong kind, before any work', () => {
  it('--frames-dir naming a file: exit 2, naming the option and the file', async () => {
    const line = refusal(await runNst(stylize(path.join(f.dir, 'out.png'), '--save-every', '1', '--frames-dir', f.file)), EXIT.BAD_ARGUMENT);
    expect(line).toBe(`nst: --frames-dir: ${f.file} is a file, not a folder; name a folder (or one to be made).`);
  });

  it('--frames-dir inside a file: exit 2, naming the file in the way', async () => {
    const line = refusal(await runNst(stylize(path.join(f.dir, 'out.png'), '--save-every', '1', '--frames-dir', path.join(f.file, 'frames'))), EXIT.BAD_ARGUMENT);
    expect(line).toContain(`--frames-dir: ${f.file} is a file, so the folder ${path.join(f.file, 'frames')} cannot be made inside it`);
  });

  it('batch -o naming a file: exit 2, before any image is read', async () => {
    const line = refusal(await runNst(['batch', '--content', f.content, '--style', f.style, '-o', f.file, '--size', '64']), EXIT.BAD_ARGUMENT);
    expect(line).toBe(`nst: -o/--output: ${f.file} is a file, not a folder; name a folder (or one to be made).`);
  });

  it('--grad-out naming a folder: exit 2, before the compute', async () => {
    const line = refusal(await runNst(['loss', f.content, '--style', f.style, '--content', f.content, '--grad-out', f.folder, '--weights', path.join(f.dir, 'no weights.h5')]), EXIT.BAD_ARGUMENT);
    expect(line).toContain(`--grad-out: ${f.folder} is a folder`);
  });

  it('NST_DATA_DIR naming a file: exit 2 for every command that keeps data, saying to point it at a folder', async () => {
    const env = { NST_DATA_DIR: f.file };
    const expected = `nst: NST_DATA_DIR: ${f.file} is a file, not a folder; point NST_DATA_DIR at a folder (or one to be made), or unset it.`;
    for (const args of [['runs'], ['weights', 'status'], ['devices'], stylize(path.join(f.dir, 'out.png'))]) {
      expect(refusal(await runNst(args, { env }), EXIT.BAD_ARGUMENT), args.join(' ')).toBe(expected);
    }
  });

  it.skipIf(!haveWeights)('a data folder whose runs/ is a file: each checkpoint that cannot be written is said, and the run goes on to its image', async () => {
    const data = await mkdtemp(path.join(f.dir, 'data-'));
    await writeFile(path.join(data, 'runs'), 'not a folder');
    const output = path.join(f.dir, 'runs-is-a-file.png');
    const result = await runNst(stylize(output, '--weights', UINT8, '--stop', 'off', '--checkpoint-every', '0.001'), { env: { NST_DATA_DIR: data } });
    expect(result.code, result.stderr).toBe(0);
    // The run's folder, taken before the first iteration, and every write after it: said, never the run's end.
    expect(result.stderr).toMatch(/^nst: could not write checkpoint of run \S+ \(the run goes on\): /m);
    expect(result.stderr).not.toMatch(/internal error/);
    expect((await sharp(output).metadata()).width).toBe(64);
  });
});

describe.skipIf(whyNoSmallDisk !== null)(`read-only and full disks${whyNoSmallDisk ? ` (skipped: ${whyNoSmallDisk})` : ''}`, () => {
  let readOnly: SmallDisk;
  let small: SmallDisk;
  beforeAll(async () => {
    readOnly = mountSmallDisk(256);
    await mkdir(path.join(readOnly.dir, 'data'));
    await writeFile(path.join(readOnly.dir, 'painted.png'), 'yesterday');
    readOnly.readOnly();
    small = mountSmallDisk(1024);
  });
  afterAll(() => {
    readOnly.unmount();
    small.unmount();
  });

  it('-o on a read-only disk: exit 9 at once (not after the run), naming the option and the folder', async () => {
    const started = performance.now();
    const line = refusal(await runNst(stylize(path.join(readOnly.dir, 'painted.png'))), EXIT.READ_ONLY);
    expect(line).toBe(`nst: -o/--output: cannot write into ${readOnly.dir}: it is on a read-only file system (EROFS). Choose a folder on a writable disk.`);
    expect(performance.now() - started).toBeLessThan(15_000);
    expect(await readFile(path.join(readOnly.dir, 'painted.png'), 'utf8')).toBe('yesterday');
  });

  it('--grad-out and batch -o on a read-only disk: exit 9', async () => {
    expect(refusal(await runNst(['loss', f.content, '--style', f.style, '--content', f.content, '--grad-out', path.join(readOnly.dir, 'g.npy')]), EXIT.READ_ONLY)).toContain(`--grad-out: cannot write into ${readOnly.dir}: it is on a read-only file system`);
    expect(refusal(await runNst(['batch', '--content', f.content, '--style', f.style, '-o', path.join(readOnly.dir, 'batch out')]), EXIT.READ_ONLY)).toContain(`-o/--output: cannot write into ${readOnly.dir}:`);
  });

  it('a checkpointed run with its data folder on a read-only disk: exit 9 naming NST_DATA_DIR and --checkpoint-every 0; with it, the run goes on', async () => {
    const env = { NST_DATA_DIR: path.join(readOnly.dir, 'data') };
    const line = refusal(await runNst(stylize(path.join(f.dir, 'out.png')), { env }), EXIT.READ_ONLY);
    expect(line).toBe(`nst: NST_DATA_DIR: cannot write into ${env.NST_DATA_DIR}: it is on a read-only file system (EROFS). Choose a folder on a writable disk; --checkpoint-every 0 runs without checkpoints.`);
    // Past the check: it now stops at the weights it was not given.
    const next = await runNst(stylize(path.join(f.dir, 'out.png'), '--checkpoint-every', '0', '--weights', path.join(f.dir, 'absent.h5')), { env });
    expect(next.code, next.stderr).toBe(EXIT.WEIGHTS_NOT_FOUND);
  });

  it('an output that clearly does not fit: exit 9 before the weights are read, naming the disk, the need and what is free', async () => {
    small.fill(16 * 1024);
    try {
      const line = refusal(await runNst(stylize(path.join(small.dir, 'big.png'), '--size', '512', '--weights', path.join(f.dir, 'absent.h5'))), EXIT.DISK_FULL);
      expect(line).toMatch(new RegExp(`^nst: Not enough free space on the disk holding ${small.dir}: 16 kB free, and this run writes at least 256 kB there \\(the image 256 kB in ${small.dir}\\)\\. Free some space or choose a folder on another disk\\.$`));
    } finally {
      await rm(path.join(small.dir, 'filler.bin'));
    }
  });

  it('frames that do not fit name the way to write fewer', async () => {
    const line = refusal(await runNst(stylize(path.join(f.dir, 'out.png'), '--iterations', '2000', '--stop', 'off', '--save-every', '1', '--frames-dir', path.join(small.dir, 'frames'), '--weights', path.join(f.dir, 'absent.h5'))), EXIT.DISK_FULL);
    expect(line).toContain('2000 frames');
    expect(line).toMatch(/; a larger --save-every writes fewer frames\.$/);
    expect(await readdir(small.dir)).toEqual([]);
  });

  it.skipIf(!haveWeights)('a disk that fills up before the final write: exit 9 naming the file, the previous output kept, and `nst resume` finishes the run once there is room', async () => {
    const dataDir = path.join(f.dir, 'data for resume');
    const env = { NST_DATA_DIR: dataDir };
    const output = path.join(small.dir, 'painted.png');
    await writeFile(output, 'the previous picture');
    // Room for the least a 64-px PNG can be (4 kB, so the check passes), not for the picture itself.
    small.fill(4096);
    const args = ['stylize', f.content, f.style, '-o', output, '--size', '64', '--iterations', '6', '--stop', 'off', '--optimizer', 'adam', '--device', 'cpu', '--weights', UINT8, '--checkpoint-every', '0.001'];
    const failed = await runNst(args, { env });
    expect(failed.code, failed.stderr).toBe(EXIT.DISK_FULL);
    expect(failed.stderr).toContain(`nst: Cannot write ${output}: the disk it is on is full (ENOSPC). Free some space there or choose a folder on another disk, then try again.`);
    expect(failed.stderr).not.toMatch(/internal error/);
    expect(await readFile(output, 'utf8')).toBe('the previous picture');
    expect((await readdir(small.dir)).sort()).toEqual(['filler.bin', 'painted.png']);
    const [run] = jsonLines((await runNst(['runs', '--json'], { env })).stdout);
    expect(run).toMatchObject({ output, totalIterations: 6 });

    await rm(path.join(small.dir, 'filler.bin'));
    const resumed = await runNst(['resume', String(run!.runId)], { env });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect((await sharp(output).metadata()).width).toBe(64);
    expect(jsonLines((await runNst(['runs', '--json'], { env })).stdout)).toEqual([]);
  });
});
