// Specification of src/engine/io/image.ts: decoding real and awkward files, resizing, encoding, atomic writes, errors.

import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isNstError } from '../../src/engine/errors.js';
import {
  chwToHwc,
  chwToHwcUint8,
  decodeImage,
  encodeImage,
  formatForPath,
  hwcToChw,
  hwcUint8ToChw,
  noiseImage,
  resizeImage,
  writeImageAtomic,
  type PlanarImage,
} from '../../src/engine/io/image.js';
import { hasShared, sharedPath } from '../helpers/shared-data.js';

const IMAGES = ['data', 'images'] as const;
const haveImages = hasShared(...IMAGES);

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'nst-image-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The RGB value of pixel (x, y) of a planar image. */
function pixel(image: PlanarImage, x: number, y: number): [number, number, number] {
  const plane = image.width * image.height;
  const p = y * image.width + x;
  return [image.data[p]!, image.data[plane + p]!, image.data[2 * plane + p]!];
}

function expectNear(actual: number[], expected: number[], tolerance: number): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < actual.length; i++) expect(Math.abs(actual[i]! - expected[i]!), `channel ${i}: ${actual}`).toBeLessThanOrEqual(tolerance);
}

async function expectRejection(promise: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isNstError(error), `expected an NstError ${code}, got ${String(error)}`).toBe(true);
  if (isNstError(error)) {
    expect(error.code).toBe(code);
    expect(error.message).toMatch(message);
  }
}

/** A w×h image, left half red and right half blue, as raw interleaved bytes. */
function halves(width: number, height: number): Buffer {
  const bytes = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      bytes[(y * width + x) * 3 + (x < width / 2 ? 0 : 2)] = 255;
    }
  }
  return bytes;
}

describe.skipIf(!haveImages)('decodeImage on the real test images', () => {
  const cases = [
    { file: 'content_tubingen.jpg', what: 'a baseline JPEG', width: 1024, height: 768 },
    { file: 'content_chelsea_cat.png', what: 'a PNG with an ICC profile', width: 451, height: 300 },
    { file: 'content_golden_gate.jpg', what: 'a JPEG with an ICC profile', width: 1280, height: 595 },
    { file: 'style_great_wave.jpg', what: 'a progressive JPEG', width: 928, height: 514 },
    { file: 'style_the_scream.jpg', what: 'a portrait JPEG', width: 1200, height: 1528 },
  ];
  for (const { file, what, width, height } of cases) {
    it(`decodes ${what} (${file}) to the requested longest side with its aspect`, async () => {
      const image = await decodeImage(sharedPath(...IMAGES, file), { sizePx: 256 });
      expect(Math.max(image.width, image.height)).toBe(256);
      const expectedShort = (256 * Math.min(width, height)) / Math.max(width, height);
      expect(Math.abs(Math.min(image.width, image.height) - expectedShort)).toBeLessThanOrEqual(1);
      expect(image.width >= image.height).toBe(width >= height);
      expect(image.data.length).toBe(3 * image.width * image.height);
      let min = Infinity;
      let max = -Infinity;
      let fractional = 0;
      for (const v of image.data) {
        if (!Number.isInteger(v)) fractional++;
        min = Math.min(min, v);
        max = Math.max(max, v);
      }
      expect(fractional).toBe(0); // decoded from 8-bit sRGB
      expect(min).toBeGreaterThanOrEqual(0);
      expect(max).toBeLessThanOrEqual(255);
      expect(max - min).toBeGreaterThan(100); // a photo or a painting, not a blank
    });
  }

  it('keeps the original size when no sizePx is given', async () => {
    const image = await decodeImage(sharedPath(...IMAGES, 'content_chelsea_cat.png'));
    expect([image.width, image.height]).toEqual([451, 300]);
  });

  it('decodes bytes the same as the file they came from', async () => {
    const file = sharedPath(...IMAGES, 'style_starry_night_64.png');
    const fromFile = await decodeImage(file);
    const fromBytes = await decodeImage(new Uint8Array(await readFile(file)));
    expect(fromBytes).toEqual(fromFile);
  });
});

describe('decodeImage on awkward input', () => {
  it('applies EXIF orientation 6: a wide stored image comes out tall, turned clockwise', async () => {
    const file = path.join(dir, 'rotated.jpg');
    // Stored 40×20, left half red, right half blue; orientation 6 means "turn 90° clockwise to display".
    await sharp(halves(40, 20), { raw: { width: 40, height: 20, channels: 3 } })
      .jpeg({ quality: 95 })
      .withMetadata({ orientation: 6 })
      .toFile(file);
    expect((await sharp(file).metadata()).orientation).toBe(6);
    const image = await decodeImage(file);
    expect([image.width, image.height]).toEqual([20, 40]);
    expectNear(pixel(image, 10, 5), [255, 0, 0], 8); // the stored left (red) is now on top
    expectNear(pixel(image, 10, 34), [0, 0, 255], 8);
  });

  it('flattens transparency onto white', async () => {
    const rgba = Buffer.alloc(4 * 2 * 4);
    rgba.set([255, 0, 0, 0], 0); // fully transparent red: white
    rgba.set([255, 0, 0, 255], 4); // opaque red
    rgba.set([0, 0, 255, 128], 8); // half-transparent blue over white
    rgba.set([0, 0, 0, 255], 12);
    rgba.set([0, 255, 0, 0], 16);
    rgba.set([0, 255, 0, 0], 20);
    rgba.set([0, 255, 0, 0], 24);
    rgba.set([0, 255, 0, 0], 28);
    const file = path.join(dir, 'alpha.png');
    await sharp(rgba, { raw: { width: 4, height: 2, channels: 4 } }).png().toFile(file);
    const image = await decodeImage(file);
    expect(image.data.length).toBe(3 * 8);
    expect(pixel(image, 0, 0)).toEqual([255, 255, 255]);
    expect(pixel(image, 1, 0)).toEqual([255, 0, 0]);
    expectNear(pixel(image, 2, 0), [127, 127, 255], 1);
    expect(pixel(image, 3, 0)).toEqual([0, 0, 0]);
    expect(pixel(image, 0, 1)).toEqual([255, 255, 255]);
  });

  it('turns grayscale into three equal channels', async () => {
    const gray = Buffer.from(Array.from({ length: 16 }, (_, i) => i * 16));
    const file = path.join(dir, 'gray.png');
    await sharp(gray, { raw: { width: 4, height: 4, channels: 1 } }).toColourspace('b-w').png().toFile(file);
    expect((await sharp(file).metadata()).channels).toBe(1);
    const image = await decodeImage(file);
    for (let y = 0; y < 4; y++) {
      for (let x = 0; x < 4; x++) {
        const [r, g, b] = pixel(image, x, y);
        expect(r).toBe(g);
        expect(g).toBe(b);
        expect(r).toBe((y * 4 + x) * 16);
      }
    }
  });

  it('reads a 16-bit PNG as 8-bit values', async () => {
    const raw16 = new Uint16Array(2 * 2 * 3).fill(32896); // 32896 = 128 · 257: exactly 128 in 8 bits
    raw16.set([65535, 0, 65535], 0);
    const file = path.join(dir, 'deep.png');
    await sharp(raw16, { raw: { width: 2, height: 2, channels: 3 } }).toColourspace('rgb16').png().toFile(file);
    expect((await sharp(file).metadata()).depth).toBe('ushort');
    const image = await decodeImage(file);
    expect(pixel(image, 0, 0)).toEqual([255, 0, 255]);
    expect(pixel(image, 1, 1)).toEqual([128, 128, 128]);
  });

  it('converts a CMYK JPEG to RGB', async () => {
    const file = path.join(dir, 'cmyk.jpg');
    await sharp(halves(16, 8), { raw: { width: 16, height: 8, channels: 3 } }).toColourspace('cmyk').jpeg({ quality: 95 }).toFile(file);
    expect((await sharp(file).metadata()).space).toBe('cmyk');
    const image = await decodeImage(file);
    expect(image.data.length).toBe(3 * 16 * 8);
    const [r, g, b] = pixel(image, 2, 4);
    expect(r).toBeGreaterThan(180);
    expect(g).toBeLessThan(60);
    expect(b).toBeLessThan(60);
  });

  it('upscales too: sizePx is the longest side exactly', async () => {
    const file = path.join(dir, 'small.png');
    await sharp(halves(10, 5), { raw: { width: 10, height: 5, channels: 3 } }).png().toFile(file);
    const image = await decodeImage(file, { sizePx: 40 });
    expect([image.width, image.height]).toEqual([40, 20]);
  });
});

describe('encodeImage and writeImageAtomic', () => {
  it('PNG encode → decode is exact for whole values', async () => {
    const image = noiseImage(17, 9, 42);
    const rounded: PlanarImage = { ...image, data: image.data.map(Math.round) };
    const back = await decodeImage(await encodeImage(rounded, 'png'));
    expect(back).toEqual(rounded);
  });

  it('clamps to 0..255 and rounds to nearest when encoding', async () => {
    const image: PlanarImage = { width: 2, height: 1, data: Float32Array.of(-20, 300, 127.5, 127.4, 0.49, 254.6) };
    const back = await decodeImage(await encodeImage(image, 'png'));
    expect(Array.from(back.data)).toEqual([0, 255, 128, 127, 0, 255]);
  });

  it('encodes JPEG close to the original', async () => {
    const image: PlanarImage = { width: 8, height: 8, data: new Float32Array(3 * 64).fill(90) };
    const bytes = await encodeImage(image, 'jpeg', { quality: 95 });
    expect((await sharp(bytes).metadata()).format).toBe('jpeg');
    const back = await decodeImage(bytes);
    for (const v of back.data) expect(Math.abs(v - 90)).toBeLessThanOrEqual(2);
  });

  it('writes through a temporary file: only the target remains, even when overwriting', async () => {
    const folder = await mkdtemp(path.join(dir, 'atomic-'));
    const target = path.join(folder, 'out.png');
    await writeImageAtomic(target, noiseImage(8, 8, 1));
    await writeImageAtomic(target, noiseImage(8, 8, 2));
    expect(await readdir(folder)).toEqual(['out.png']);
    const written = await decodeImage(target);
    expect(written.data).toEqual(noiseImage(8, 8, 2).data.map(Math.round));
  });

  it('picks the format from the extension', async () => {
    const folder = await mkdtemp(path.join(dir, 'formats-'));
    const expected: Record<string, string> = { 'a.png': 'png', 'b.jpg': 'jpeg', 'c.JPEG': 'jpeg', 'd.webp': 'webp', 'e.tif': 'tiff' };
    for (const [name, format] of Object.entries(expected)) {
      await writeImageAtomic(path.join(folder, name), noiseImage(8, 4, 3));
      expect((await sharp(path.join(folder, name)).metadata()).format, name).toBe(format);
    }
    expect((await readdir(folder)).sort()).toEqual(Object.keys(expected).sort());
  });

  it('rejects an unknown extension and a missing folder, leaving nothing behind', async () => {
    const folder = await mkdtemp(path.join(dir, 'bad-'));
    await expectRejection(writeImageAtomic(path.join(folder, 'out.gif'), noiseImage(4, 4, 1)), 'BAD_ARGUMENT', /out\.gif.*\.png/);
    expect(() => formatForPath('picture')).toThrow(/Cannot tell the image format of picture/);
    await expectRejection(
      writeImageAtomic(path.join(folder, 'missing', 'out.png'), noiseImage(4, 4, 1)),
      'FILE_NOT_FOUND',
      /missing.*does not exist/,
    );
    expect(await readdir(folder)).toEqual([]);
  });
});

describe('resizeImage, noiseImage and layout helpers', () => {
  it('keeps a constant image constant and a same-size resize exact', async () => {
    const flat: PlanarImage = { width: 30, height: 20, data: new Float32Array(3 * 600).fill(77.25) };
    for (const [w, h] of [[15, 10], [7, 13], [61, 41]] as const) {
      const resized = await resizeImage(flat, w, h);
      expect([resized.width, resized.height]).toEqual([w, h]);
      for (const v of resized.data) expect(v).toBeCloseTo(77.25, 3);
    }
    const noise = noiseImage(9, 5, 7);
    const same = await resizeImage(noise, 9, 5);
    expect(same.data).toEqual(noise.data);
    expect(same.data).not.toBe(noise.data);
  });

  it('keeps channels apart and stays within 0..255 at hard edges', async () => {
    const source = await decodeImage(await sharp(halves(16, 8), { raw: { width: 16, height: 8, channels: 3 } }).png().toBuffer());
    const resized = await resizeImage(source, 37, 19);
    for (const v of resized.data) {
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThanOrEqual(255);
    }
    expectNear(pixel(resized, 2, 9), [255, 0, 0], 1);
    expectNear(pixel(resized, 34, 9), [0, 0, 255], 1);
    // Green was 0 everywhere, so it stays 0.
    expect(Math.max(...resized.data.subarray(37 * 19, 2 * 37 * 19))).toBe(0);
  });

  it('averages when shrinking (no aliasing): a 1-pixel checkerboard halves to mid-gray', async () => {
    const data = new Float32Array(3 * 32 * 32);
    for (let c = 0; c < 3; c++) for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) data[c * 1024 + y * 32 + x] = (x + y) % 2 === 0 ? 255 : 0;
    const resized = await resizeImage({ width: 32, height: 32, data }, 8, 8);
    expectNear(pixel(resized, 4, 4), [127.5, 127.5, 127.5], 3);
  });

  it('makes reproducible uniform noise in 0..255', () => {
    const a = noiseImage(16, 8, 123);
    expect(a.data).toEqual(noiseImage(16, 8, 123).data);
    expect(a.data).not.toEqual(noiseImage(16, 8, 124).data);
    let sum = 0;
    for (const v of a.data) {
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThan(255);
      sum += v;
    }
    expect(sum / a.data.length).toBeGreaterThan(100);
    expect(sum / a.data.length).toBeLessThan(155);
  });

  it('converts between interleaved HWC and planar CHW', () => {
    const hwc = Uint8Array.of(1, 2, 3, 4, 5, 6); // two pixels, RGB RGB
    const chw = hwcUint8ToChw(hwc, 2, 1);
    expect(Array.from(chw)).toEqual([1, 4, 2, 5, 3, 6]);
    expect(Array.from(chwToHwcUint8(chw, 2, 1))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Array.from(hwcUint8ToChw(Uint8Array.of(1, 2, 3, 9, 4, 5, 6, 9), 2, 1, 4))).toEqual([1, 4, 2, 5, 3, 6]);
    const floats = Float32Array.of(0.5, 1.5, 2.5, 3.5, 4.5, 5.5);
    expect(Array.from(hwcToChw(chwToHwc(floats, 1, 2), 1, 2))).toEqual(Array.from(floats));
    expect(Array.from(chwToHwc(floats, 2, 1))).toEqual([0.5, 2.5, 4.5, 1.5, 3.5, 5.5]);
  });
});

describe('decodeImage errors', () => {
  it('a missing file: FILE_NOT_FOUND naming the path', async () => {
    const missing = path.join(dir, 'nope', 'absent.jpg');
    await expectRejection(decodeImage(missing), 'FILE_NOT_FOUND', new RegExp(`No file at ${escape(missing)}`));
  });

  it('a text file named .jpg: NOT_AN_IMAGE naming the file', async () => {
    const file = path.join(dir, 'notes.jpg');
    await writeFile(file, 'these are not pixels\n');
    await expectRejection(decodeImage(file), 'NOT_AN_IMAGE', new RegExp(`${escape(file)} is not an image`));
  });

  it('a zero-byte file: NOT_AN_IMAGE saying it is empty', async () => {
    const file = path.join(dir, 'empty.png');
    await writeFile(file, '');
    await expectRejection(decodeImage(file), 'NOT_AN_IMAGE', new RegExp(`${escape(file)} is empty`));
    await expectRejection(decodeImage(new Uint8Array(0), { sourceName: 'drop.png' }), 'NOT_AN_IMAGE', /drop\.png is empty/);
  });

  it('a truncated JPEG: NOT_AN_IMAGE, not half an image', async () => {
    const whole = await encodeImage(noiseImage(64, 64, 5), 'jpeg');
    const file = path.join(dir, 'truncated.jpg');
    await writeFile(file, whole.subarray(0, Math.floor(whole.length / 2)));
    await expectRejection(decodeImage(file), 'NOT_AN_IMAGE', new RegExp(`${escape(file)} is not an image that can be decoded`));
  });

  it('a directory: NOT_AN_IMAGE', async () => {
    await expectRejection(decodeImage(dir), 'NOT_AN_IMAGE', /is a folder/);
  });

  it('more pixels than allowed: IMAGE_TOO_LARGE, before decoding', async () => {
    const bytes = await encodeImage(noiseImage(100, 50, 1), 'png');
    await expectRejection(
      decodeImage(bytes, { maxInputPixels: 4999, sourceName: 'big.png' }),
      'IMAGE_TOO_LARGE',
      /big\.png is 100x50: more than the 4,999 pixels allowed/,
    );
    expect((await decodeImage(bytes, { maxInputPixels: 5000 })).width).toBe(100);
  });

  it('sizePx of 0, below 0 or fractional: BAD_ARGUMENT naming sizePx', async () => {
    const bytes = await encodeImage(noiseImage(4, 4, 1), 'png');
    for (const sizePx of [0, -5, 12.5, Number.NaN]) {
      await expectRejection(decodeImage(bytes, { sizePx }), 'BAD_ARGUMENT', /sizePx must be a whole number of at least 1/);
    }
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
