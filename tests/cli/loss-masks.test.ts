// `nst loss --masks M1,M2 --content-mask M`: what it refuses before any work (with the error's code and exit), and
// that all-ones masks give the unmasked loss on the real weights. The fixture match is tests/engine/masks-fixture.test.ts.

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { jsonLines, runNst } from '../helpers/cli.js';
import { hasShared, sharedPath } from '../helpers/shared-data.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'nst-loss-masks-'));
const file = (name: string): string => path.join(dir, name);

async function grey(name: string, size: number, value: number): Promise<string> {
  await sharp(Buffer.alloc(size * size, value), { raw: { width: size, height: size, channels: 1 } }).png().toFile(file(name));
  return file(name);
}

beforeAll(async () => {
  await sharp(Buffer.alloc(32 * 32 * 3, 90), { raw: { width: 32, height: 32, channels: 3 } }).png().toFile(file('image.png'));
  await grey('white.png', 32, 255);
  await grey('black.png', 32, 0);
  writeFileSync(file('notes.png'), 'not a picture');
});

/** `nst loss` on the 32-px grey image with two styles (itself) and these arguments; no weights are reached. */
const loss = (args: string[]) => runNst(['loss', file('image.png'), '--style', file('image.png'), file('image.png'), '--content', file('image.png'), '--device', 'cpu', '--weights', file('no-weights'), ...args]);

describe('nst loss with masks: refusals, before the weights are read', () => {
  it('a count that is not one mask per style image (BAD_ARGUMENT, exit 2)', async () => {
    const r = await loss(['--masks', file('white.png')]);
    expect(r.stderr).toContain('--masks: 1 mask for 2 style images; give one mask per style image, in the order of --style.');
    expect(r.code).toBe(2);
  });

  it('an all-zero mask, named (BAD_ARGUMENT, exit 2), for --masks and --content-mask alike', async () => {
    const r = await loss(['--masks', `${file('white.png')},${file('black.png')}`]);
    expect(r.stderr).toContain(`--masks: ${file('black.png')} is black everywhere, so it gives no region`);
    expect(r.code).toBe(2);
    const c = await loss(['--content-mask', file('black.png')]);
    expect(c.stderr).toContain(`--content-mask: ${file('black.png')} is black everywhere`);
    expect(c.code).toBe(2);
  });

  it('a mask that is not an image (NOT_AN_IMAGE, exit 3), and one that is not there (FILE_NOT_FOUND, exit 3)', async () => {
    const r = await loss(['--masks', `${file('white.png')},${file('notes.png')}`]);
    expect(r.stderr).toContain(`${file('notes.png')} is not an image that can be decoded`);
    expect(r.code).toBe(3);
    const m = await loss(['--content-mask', file('missing.png')]);
    expect(m.stderr).toContain(`No file at ${file('missing.png')}`);
    expect(m.code).toBe(3);
  });

  it('a --grad-out that is one of the masks read: refused, the mask left as it was (exit 2)', async () => {
    const before = readFileSync(file('white.png'));
    const r = await loss(['--masks', `${file('black.png')},${file('black.png')}`, '--content-mask', file('white.png'), '--grad-out', file('white.png')]);
    expect(r.stderr).toMatch(/^nst: --grad-out: .*white\.png is also an input image/m);
    expect(r.code).toBe(2);
    expect(readFileSync(file('white.png')).equals(before)).toBe(true);
  });

  it('--style-blend beside --masks, and a mask for a term with no layers (BAD_ARGUMENT, exit 2)', async () => {
    const masks = ['--masks', `${file('white.png')},${file('white.png')}`];
    const blend = await loss([...masks, '--style-blend', '1,2']);
    expect(blend.stderr).toContain('--style-blend does not apply with --masks');
    expect(blend.code).toBe(2);
    const noStyle = await loss([...masks, '--style-layers', '']);
    expect(noStyle.stderr).toContain('--masks: no style layers are selected, so the masks would do nothing.');
    expect(noStyle.code).toBe(2);
    const noContent = await loss(['--content-mask', file('white.png'), '--content-layers', '']);
    expect(noContent.stderr).toContain('--content-mask: no content layers are selected');
    expect(noContent.code).toBe(2);
  });
});

const hasData = hasShared('data', 'vgg19-imagenet-block1-3') && hasShared('data', 'images');

describe.skipIf(!hasData)('nst loss with all-ones masks (real block1–3 VGG19, the 64-px pair)', () => {
  it('gives today\'s loss: guided Grams and the masked content term reduce to the unmasked ones', async () => {
    const content = sharedPath('data', 'images', 'content_tubingen_64.png');
    const style = sharedPath('data', 'images', 'style_starry_night_64.png');
    // A white mask of another size: resized to the image's 64 px, still all ones.
    const white = await grey('white-48.png', 48, 255);
    // The photo against the painting as style and as content: every term is non-zero.
    const args = ['loss', content, '--style', style, '--content', style, '--weights', sharedPath('data', 'vgg19-imagenet-block1-3'),
      '--style-layers', 'block1_conv1,block2_conv1,block3_conv1', '--content-layers', 'block3_conv2', '--device', 'cpu', '--tv-weight', '0.5'];
    const plain = await runNst(args);
    const masked = await runNst([...args, '--masks', white, '--content-mask', white]);
    expect(masked.code, masked.stderr).toBe(0);
    expect(plain.code, plain.stderr).toBe(0);
    const [a] = jsonLines(plain.stdout) as { total: number; style: Record<string, number>; content: Record<string, number> }[];
    const [b] = jsonLines(masked.stdout) as typeof a[];
    expect(Math.abs(b!.total / a!.total - 1)).toBeLessThan(1e-5);
    for (const layer of Object.keys(a!.style)) expect(Math.abs(b!.style[layer]! / a!.style[layer]! - 1), layer).toBeLessThan(1e-5);
    expect(Math.abs(b!.content.block3_conv2! / a!.content.block3_conv2! - 1)).toBeLessThan(1e-5);
    expect(a!.total).toBeGreaterThan(0);
  });
});
