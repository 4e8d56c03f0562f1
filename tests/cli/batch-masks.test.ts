// `nst batch --masks/--content-mask`: the same masks for every item, resized to each item's size (an item paints as
// `nst stylize` with those masks does), recorded with the batch; and each refusal before any item runs.

import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeImage } from '../../src/engine/io/image.js';
import { MANIFEST_NAME, type BatchManifest } from '../../src/engine/persist/batch-manifest.js';
import { hasShared, sharedPath } from '../helpers/shared-data.js';
import { jsonLines, runNst } from '../helpers/cli.js';

const WEIGHTS = ['data', 'vgg19-imagenet-block1-3'] as const;
const IMAGES = ['data', 'images'] as const;
const present = hasShared(...WEIGHTS) && hasShared(...IMAGES, 'content_tubingen_64.png') && hasShared(...IMAGES, 'style_starry_night_64.png') && hasShared(...IMAGES, 'content_chelsea_cat.png');

/** As batch.test.ts: the block1–3 weights, 48 px, a few iterations, one thread (a run is then deterministic). */
const settingsArgs = (iterations: number): string[] => [
  '--weights', sharedPath(...WEIGHTS), '--size', '48', '--iterations', String(iterations), '--stop', 'off', '--device', 'cpu', '--threads', '1',
  '--style-layers', 'block1_conv1,block2_conv1,block3_conv1', '--content-layers', 'block3_conv2',
];
const STYLES = (): string[] => [sharedPath(...IMAGES, 'style_starry_night_64.png'), sharedPath(...IMAGES, 'content_tubingen_64.png')];

const root = mkdtempSync(path.join(os.tmpdir(), 'nst-batch-masks-'));
const file = (name: string): string => path.join(root, name);

/** A 32 x 32 grey mask: `value(x, y)` (0–255) at each pixel. */
async function mask(name: string, value: (x: number, y: number) => number): Promise<string> {
  const data = Buffer.alloc(32 * 32);
  for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) data[y * 32 + x] = value(x, y);
  await sharp(data, { raw: { width: 32, height: 32, channels: 1 } }).png().toFile(file(name));
  return file(name);
}

beforeAll(async () => {
  await mask('top.png', (_x, y) => (y < 16 ? 255 : 0));
  await mask('bottom.png', (_x, y) => (y < 16 ? 0 : 255));
  await mask('left.png', (x) => (x < 16 ? 255 : 0));
  await mask('black.png', () => 0);
  writeFileSync(file('not-a-mask.png'), 'this is not a PNG');
});

/** A folder with two content images of different shapes: Tübingen (square) and the cat (landscape). */
function inputFolder(): string {
  const dir = mkdtempSync(path.join(root, 'in-'));
  copyFileSync(sharedPath(...IMAGES, 'content_tubingen_64.png'), path.join(dir, 'a.png'));
  copyFileSync(sharedPath(...IMAGES, 'content_chelsea_cat.png'), path.join(dir, 'c.png'));
  return dir;
}

const manifestOf = (out: string): BatchManifest => JSON.parse(readFileSync(path.join(out, MANIFEST_NAME), 'utf8')) as BatchManifest;

describe.skipIf(!present)('nst batch --masks on real 48-px images', () => {
  it('paints every item with the same masks resized to its size, as nst stylize paints it; the masks are part of the batch', async () => {
    const dir = inputFolder();
    const out = `${dir}-out`;
    const masks = ['--masks', `${file('top.png')},${file('bottom.png')}`, '--content-mask', file('left.png')];
    const result = await runNst(['batch', '--content', dir, '--style', ...STYLES(), '-o', out, ...masks, ...settingsArgs(3), '--json']);
    expect(result.code, result.stderr).toBe(0);
    const items = jsonLines(result.stdout).filter((l) => l.status !== undefined);
    expect(items.map((l) => [l.name, l.status, l.width, l.height])).toEqual([['a.png', 'done', 48, 48], ['c.png', 'done', 48, 32]]);
    expect(Object.keys(manifestOf(out).settings)).toEqual(expect.arrayContaining(['masks', 'contentMask']));

    // The landscape item, through nst stylize with the same masks: the same painting.
    const alone = file('c-alone.png');
    const stylize = await runNst(['stylize', path.join(dir, 'c.png'), ...STYLES(), '-o', alone, ...masks, ...settingsArgs(3), '--checkpoint-every', '0']);
    expect(stylize.code, stylize.stderr).toBe(0);
    const [batched, single] = [await decodeImage(path.join(out, 'c.png')), await decodeImage(alone)];
    expect([batched.width, batched.height]).toEqual([single.width, single.height]);
    expect(Math.max(...batched.data.map((v, i) => Math.abs(v - single.data[i]!)))).toBeLessThanOrEqual(1);

    // Another mask is another batch: refused without --force (the recorded mask paths are absolute).
    const other = await runNst(['batch', '--content', dir, '--style', ...STYLES(), '-o', out, '--masks', `${file('bottom.png')},${file('top.png')}`, '--content-mask', file('left.png'), ...settingsArgs(3)]);
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(/holds a batch made with other settings \(masks: /);
    // --resume takes the recorded masks: nothing left to do.
    const resumed = await runNst(['batch', '--resume', out, '--json']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(jsonLines(resumed.stdout).at(-1)).toMatchObject({ done: true, written: 0, skipped: 2 });
  }, 120_000);

  describe('refuses before any item runs (nothing written, no output folder made)', () => {
    const refused = async (extra: string[], code: number, message: string | RegExp): Promise<void> => {
      const dir = inputFolder();
      const out = `${dir}-out`;
      const r = await runNst(['batch', '--content', dir, '--style', ...STYLES(), '-o', out, ...extra, ...settingsArgs(2)]);
      expect(r.stderr).toMatch(message);
      expect(r.code).toBe(code);
      expect(existsSync(out)).toBe(false);
    };

    it('a count that is not one mask per style image (exit 2)', () =>
      refused(['--masks', file('top.png')], 2, /nst: --masks: 1 mask for 2 style images; give one mask per style image, in the order of --style\./));

    it('an all-zero mask (exit 2), naming it', () =>
      refused(['--masks', `${file('top.png')},${file('black.png')}`], 2, /--masks: .*black\.png is black everywhere, so it gives no region/));

    it('an all-zero content mask (exit 2)', () => refused(['--content-mask', file('black.png')], 2, /--content-mask: .*black\.png is black everywhere/));

    it('a mask that is not an image (exit 3), or is not there (exit 3)', async () => {
      await refused(['--masks', `${file('top.png')},${file('not-a-mask.png')}`], 3, /not-a-mask\.png is not an image/);
      await refused(['--content-mask', file('nowhere.png')], 3, /nowhere\.png/);
    });

    it('--style-blend beside --masks (exit 2)', () =>
      refused(['--masks', `${file('top.png')},${file('bottom.png')}`, '--style-blend', '1,2'], 2, /--style-blend does not apply with --masks/));

    it('a mask inside the output folder, where a painting could be written over it (exit 2)', async () => {
      const dir = inputFolder();
      const out = `${dir}-out`;
      mkdirSync(out);
      copyFileSync(file('top.png'), path.join(out, 'a.png'));
      const r = await runNst(['batch', '--content', dir, '--style', ...STYLES(), '-o', out, '--masks', `${path.join(out, 'a.png')},${file('bottom.png')}`, ...settingsArgs(2)]);
      expect(r.stderr).toMatch(/--masks: .*a\.png is in the output folder .*out, where the paintings are written/);
      expect(r.code).toBe(2);
      expect(existsSync(path.join(out, MANIFEST_NAME))).toBe(false);
      expect(readFileSync(path.join(out, 'a.png')).equals(readFileSync(file('top.png')))).toBe(true);
    });
  });
});
