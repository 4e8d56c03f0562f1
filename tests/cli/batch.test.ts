// `nst batch` on real images and real (block1–3) VGG19 weights at 48 px: skip-and-report on a bad file, exit codes,
// collision-safe names, globs, a kill -9 midway then a rerun (no item done twice), refusal of changed settings.

import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeImage, writeImageAtomic } from '../../src/engine/io/image.js';
import { MANIFEST_NAME, type BatchManifest } from '../../src/engine/persist/batch-manifest.js';
import { hasShared, sharedPath } from '../helpers/shared-data.js';
import { jsonLines, runNst, spawnNst } from '../helpers/cli.js';

const WEIGHTS = ['data', 'vgg19-imagenet-block1-3'] as const;
const IMAGES = ['data', 'images'] as const;
const present = hasShared(...WEIGHTS) && hasShared(...IMAGES, 'content_tubingen_64.png') && hasShared(...IMAGES, 'style_starry_night_64.png');

/** Layers the block1–3 weights hold; 48 px and few iterations keep each item well under a second. */
const settingsArgs = (iterations: number): string[] => [
  '--weights', sharedPath(...WEIGHTS), '--size', '48', '--iterations', String(iterations), '--device', 'cpu', '--threads', '1',
  '--style-layers', 'block1_conv1,block2_conv1,block3_conv1', '--content-layers', 'block3_conv2',
];
const STYLE = (): string => sharedPath(...IMAGES, 'style_starry_night_64.png');

/** A folder of content images: tubingen as a.png and a.jpg (one stem), the 64-px style as c.png, and `extra` files. */
async function inputFolder(extra: Record<string, string> = {}): Promise<string> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'nst-batch-cli-'));
  const dir = path.join(root, 'in');
  mkdirSync(dir);
  copyFileSync(sharedPath(...IMAGES, 'content_tubingen_64.png'), path.join(dir, 'a.png'));
  await writeImageAtomic(path.join(dir, 'a.jpg'), await decodeImage(sharedPath(...IMAGES, 'content_tubingen_128.png')));
  copyFileSync(sharedPath(...IMAGES, 'content_chelsea_cat.png'), path.join(dir, 'c.png'));
  for (const [name, text] of Object.entries(extra)) writeFileSync(path.join(dir, name), text);
  return dir;
}

const manifestOf = (out: string): BatchManifest => JSON.parse(readFileSync(path.join(out, MANIFEST_NAME), 'utf8')) as BatchManifest;
const mtimes = (out: string, names: readonly string[]): number[] => names.map((n) => statSync(path.join(out, n)).mtimeMs);

/** Starts `nst args` and resolves `reached` at the first JSON line that `when` accepts (rejects if it ends first). */
function startUntil(args: readonly string[], when: (line: Record<string, unknown>) => boolean) {
  const child = spawnNst(args);
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  const reached = new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      if (jsonLines(stdout).some(when)) {
        clearInterval(timer);
        resolve();
      } else if (child.exitCode !== null) {
        clearInterval(timer);
        reject(new Error(`nst ended before the awaited line: ${stdout}`));
      }
    }, 20);
  });
  return { child, reached, exited, stdout: () => stdout };
}

describe.skipIf(!present)('nst batch on real 48-px images', () => {
  it('paints every good image, skips and reports the corrupt one, and exits 8', async () => {
    const dir = await inputFolder({ 'b.png': 'this is not a PNG', 'notes.txt': 'not an image either' });
    const out = path.join(path.dirname(dir), 'out');
    const result = await runNst(['batch', '--content', dir, '--style', STYLE(), '-o', out, ...settingsArgs(3), '--json']);
    expect(result.code, result.stderr).toBe(8);
    // One notice for the ignored file, then the one-line error naming the failed item.
    expect(result.stderr).toContain('ignoring 1 file that is not an image: notes.txt');
    expect(result.stderr).toMatch(/nst: 1 of 4 items failed: b\.png \(.*b\.png is not an image.*\)\. The other 3 are in /);

    const lines = jsonLines(result.stdout);
    const items = lines.filter((l) => l.status !== undefined);
    expect(items.map((l) => [l.name, l.status])).toEqual([['a.jpg', 'done'], ['a.png', 'done'], ['b.png', 'failed'], ['c.png', 'done']]);
    expect(items[2]!.error).toMatchObject({ code: 'NOT_AN_IMAGE' });
    // Iteration lines carry the item they belong to.
    expect(lines.filter((l) => l.iteration !== undefined && l.name === 'c.png').map((l) => l.iteration)).toEqual([1, 2, 3]);
    expect(lines.at(-1)).toMatchObject({ done: true, items: 4, written: 3, skipped: 0, failed: 1, pending: 0, stopped: false });

    // a.jpg and a.png share a stem: distinct outputs. Each is a 48-px painting, not a copy of its photo.
    for (const [input, output] of [['a.jpg', 'a_jpg.png'], ['a.png', 'a_png.png'], ['c.png', 'c.png']] as const) {
      const painted = await decodeImage(path.join(out, output));
      const photo = await decodeImage(path.join(dir, input), { sizePx: 48 });
      expect([painted.width, painted.height]).toEqual([photo.width, photo.height]);
      expect(Math.max(painted.width, painted.height)).toBe(48);
      const meanAbs = painted.data.reduce((sum, v, i) => sum + Math.abs(v - photo.data[i]!), 0) / painted.data.length;
      expect(meanAbs, output).toBeGreaterThan(1);
    }
    expect(existsSync(path.join(out, 'b.png'))).toBe(false);
    const manifest = manifestOf(out);
    expect(manifest.items.map((i) => [path.basename(i.input), i.output, i.status])).toEqual([
      ['a.jpg', 'a_jpg.png', 'done'], ['a.png', 'a_png.png', 'done'], ['b.png', 'b.png', 'failed'], ['c.png', 'c.png', 'done'],
    ]);

    // Rerun: the failed item is tried again (and fails again); the finished ones are not redone.
    const command = ['batch', '--content', dir, '--style', STYLE(), '-o', out, ...settingsArgs(3), '--json'];
    const before = mtimes(out, ['a_jpg.png', 'a_png.png', 'c.png']);
    const rerun = await runNst(command);
    expect(rerun.code).toBe(8);
    expect(jsonLines(rerun.stdout).filter((l) => l.status).map((l) => [l.name, l.status])).toEqual([['a.jpg', 'skipped'], ['a.png', 'skipped'], ['c.png', 'skipped'], ['b.png', 'failed']]);
    // The bad file removed: the batch is complete, exit 0, still nothing redone.
    unlinkSync(path.join(dir, 'b.png'));
    const clean = await runNst(command);
    expect(clean.code, clean.stderr).toBe(0);
    expect(jsonLines(clean.stdout).filter((l) => l.iteration !== undefined)).toEqual([]);
    expect(jsonLines(clean.stdout).at(-1)).toMatchObject({ done: true, items: 3, written: 0, skipped: 3, failed: 0 });
    expect(mtimes(out, ['a_jpg.png', 'a_png.png', 'c.png'])).toEqual(before);
  }, 180_000);

  it('takes a quoted glob: only the files it matches', async () => {
    const dir = await inputFolder();
    const out = path.join(path.dirname(dir), 'glob-out');
    const result = await runNst(['batch', '--content', path.join(dir, '*.png'), '--style', STYLE(), '-o', out, ...settingsArgs(2), '--json']);
    expect(result.code, result.stderr).toBe(0);
    expect(manifestOf(out).items.map((i) => [path.basename(i.input), i.output, i.status])).toEqual([['a.png', 'a.png', 'done'], ['c.png', 'c.png', 'done']]);
    expect(existsSync(path.join(out, 'a.png')) && existsSync(path.join(out, 'c.png'))).toBe(true);
  }, 120_000);

  it('refuses to continue a batch with other settings unless --force, and --resume takes the recorded ones', async () => {
    const dir = await inputFolder();
    const out = path.join(path.dirname(dir), 'out');
    const first = await runNst(['batch', '--content', path.join(dir, 'a.png'), '--style', STYLE(), '-o', out, ...settingsArgs(2)]);
    expect(first.code, first.stderr).toBe(0);
    const before = mtimes(out, ['a.png']);

    const changed = await runNst(['batch', '--content', path.join(dir, 'a.png'), '--style', STYLE(), '-o', out, ...settingsArgs(3)]);
    expect(changed.code).toBe(2);
    expect(changed.stderr).toContain(`${path.join(out, MANIFEST_NAME)} holds a batch made with other settings (iterations: 2 → 3)`);
    expect(changed.stderr).toContain('rerun with --force');
    expect(mtimes(out, ['a.png'])).toEqual(before);

    // Resuming with the recorded settings, plus a new input: only the new one is painted.
    const resumed = await runNst(['batch', '--resume', out, '--content', path.join(dir, 'a.png'), path.join(dir, 'c.png'), '--json']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(jsonLines(resumed.stdout).filter((l) => l.status).map((l) => [l.name, l.status])).toEqual([['a.png', 'skipped'], ['c.png', 'done']]);
    expect(mtimes(out, ['a.png'])).toEqual(before);

    const forced = await runNst(['batch', '--resume', out, '--iterations', '3', '--force', '--json']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(jsonLines(forced.stdout).filter((l) => l.status).map((l) => [l.name, l.status, l.iterations])).toEqual([['a.png', 'done', 3], ['c.png', 'done', 3]]);
    expect(manifestOf(out).settings).toMatchObject({ iterations: 3 });

    const nothing = await runNst(['batch', '--resume', path.join(path.dirname(dir), 'nowhere')]);
    expect(nothing.code).toBe(3);
    expect(nothing.stderr).toMatch(/--resume: .*nowhere holds no nst-batch\.json/);
  }, 180_000);

  it('killed with -9 midway, then rerun: every item done exactly once, outputs identical to an uninterrupted batch', async () => {
    const dir = await inputFolder();
    copyFileSync(sharedPath(...IMAGES, 'content_coffee.png'), path.join(dir, 'd.png'));
    const out = path.join(path.dirname(dir), 'out');
    const args = ['batch', '--content', dir, '--style', STYLE(), '-o', out, ...settingsArgs(25), '--json'];
    const run = startUntil(args, (l) => l.item === 2 && l.iteration !== undefined);
    await run.reached;
    run.child.kill('SIGKILL');
    expect(await run.exited).toMatchObject({ signal: 'SIGKILL' });
    const stdout = run.stdout();
    const firstRun = jsonLines(stdout).filter((l) => l.status === 'done').map((l) => l.name as string);
    const afterKill = manifestOf(out);
    const doneBefore = afterKill.items.filter((i) => i.status === 'done').map((i) => i.output);
    expect(doneBefore.length).toBeGreaterThanOrEqual(1);
    expect(doneBefore.length).toBeLessThan(4);
    expect(afterKill.items.some((i) => i.status === 'running')).toBe(true);
    const before = mtimes(out, doneBefore);

    const rerun = await runNst(args);
    expect(rerun.code, rerun.stderr).toBe(0);
    const lines = jsonLines(rerun.stdout);
    const redone = lines.filter((l) => l.status === 'done').map((l) => l.name as string);
    const skipped = lines.filter((l) => l.status === 'skipped').map((l) => l.name as string);
    // No item painted in both runs; every item painted in one of them (or finished on disk just before the kill).
    expect(redone.filter((name) => firstRun.includes(name))).toEqual([]);
    expect([...skipped, ...redone].sort()).toEqual(['a.jpg', 'a.png', 'c.png', 'd.png']);
    expect(new Set(lines.filter((l) => l.iteration !== undefined).map((l) => l.name))).toEqual(new Set(redone));
    expect(mtimes(out, doneBefore)).toEqual(before);
    const final = manifestOf(out);
    expect(final.items.map((i) => i.status)).toEqual(['done', 'done', 'done', 'done']);
    // Correct outputs: byte for byte those of an uninterrupted batch (one CPU thread makes a run deterministic).
    const reference = path.join(path.dirname(dir), 'reference');
    const uninterrupted = await runNst(args.map((a) => (a === out ? reference : a)));
    expect(uninterrupted.code, uninterrupted.stderr).toBe(0);
    for (const item of final.items) expect(readFileSync(path.join(out, item.output)).equals(readFileSync(path.join(reference, item.output))), item.output).toBe(true);
  }, 240_000);

  it('Ctrl-C stops mid-item: exit 130, that item not written nor marked done, and a rerun finishes it', async () => {
    const dir = await inputFolder();
    const out = path.join(path.dirname(dir), 'out');
    const args = ['batch', '--content', dir, '--style', STYLE(), '-o', out, ...settingsArgs(60), '--json'];
    const run = startUntil(args, (l) => l.item === 2 && l.iteration === 2);
    await run.reached;
    run.child.kill('SIGINT');
    expect(await run.exited).toMatchObject({ code: 130 });
    const lines = jsonLines(run.stdout());
    expect(lines.at(-1)).toMatchObject({ done: true, stopped: true, written: 1, pending: 2 });
    // Stopped after the current iteration, long before 60.
    expect(Math.max(...lines.filter((l) => l.item === 2 && l.iteration !== undefined).map((l) => l.iteration as number))).toBeLessThan(60);
    expect(manifestOf(out).items.map((i) => [i.output, i.status])).toEqual([['a_jpg.png', 'done'], ['a_png.png', 'pending'], ['c.png', 'pending']]);
    expect(existsSync(path.join(out, 'a_png.png'))).toBe(false);

    const rerun = await runNst(['batch', '--resume', out, '--iterations', '60', '--json']);
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(jsonLines(rerun.stdout).filter((l) => l.status).map((l) => [l.name, l.status])).toEqual([['a.jpg', 'skipped'], ['a.png', 'done'], ['c.png', 'done']]);
  }, 120_000);
});
