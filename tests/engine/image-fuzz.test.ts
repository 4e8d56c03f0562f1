// Property-based tests (fast-check) of the image loader: any bytes — random, or a real PNG/JPEG/WebP/GIF/TIFF with
// bytes flipped, cut or spliced, or a header claiming any size — either decode to a well-formed RGB image or are
// refused with NOT_AN_IMAGE / IMAGE_TOO_LARGE; never another error, never a crash, never a hang. Seeded and bounded
// (runs and seconds): NST_FUZZ_SEED=<seed printed on failure> replays a failure, NST_FUZZ_RUNS=5000 searches harder.

import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { isNstError } from '../../src/engine/errors.js';
import { decodeImage, noiseImage, type PlanarImage } from '../../src/engine/io/image.js';
import { pngBomb } from '../helpers/hostile-files.js';
import sharp, { type Sharp } from 'sharp';

const SEED = Number(process.env.NST_FUZZ_SEED ?? 20261129);
const RUNS = Number(process.env.NST_FUZZ_RUNS ?? 300);
const TIME_LIMIT_MS = 5000;
const PARAMS = { seed: SEED, numRuns: RUNS, interruptAfterTimeLimit: TIME_LIMIT_MS, markInterruptAsFailure: false } as const;
/** One decode of a few KB must not take longer than this, whatever its bytes say. */
const DECODE_DEADLINE_MS = 4000;

const IMAGE_CODES = new Set(['NOT_AN_IMAGE', 'IMAGE_TOO_LARGE']);

/** Decodes with a deadline: a hang fails the property instead of the whole run. */
async function decodeOrError(bytes: Uint8Array, options: { sizePx?: number; maxInputPixels?: number } = {}): Promise<PlanarImage | unknown> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`decodeImage did not settle within ${DECODE_DEADLINE_MS} ms`)), DECODE_DEADLINE_MS);
  });
  try {
    return await Promise.race([decodeImage(bytes, { sourceName: 'fuzzed', ...options }), deadline]);
  } catch (error) {
    if (error instanceof Error && error.message.startsWith('decodeImage did not settle')) throw error;
    return error;
  } finally {
    clearTimeout(timer);
  }
}

/** The property: a well-formed image, or an NstError with an image code and one sentence naming the input. */
function expectImageOrImageError(outcome: unknown, limits: { sizePx?: number; maxInputPixels?: number } = {}): void {
  if (outcome instanceof Error || isNstError(outcome)) {
    expect(isNstError(outcome), `not an NstError: ${String(outcome)}`).toBe(true);
    if (!isNstError(outcome)) return;
    expect(IMAGE_CODES.has(outcome.code), `${outcome.code}: ${outcome.message}`).toBe(true);
    expect(outcome.message).toMatch(/^fuzzed /);
    expect(outcome.message).not.toMatch(/\n/);
    return;
  }
  const image = outcome as PlanarImage;
  expect(Number.isSafeInteger(image.width) && image.width >= 1).toBe(true);
  expect(Number.isSafeInteger(image.height) && image.height >= 1).toBe(true);
  expect(image.data).toBeInstanceOf(Float32Array);
  expect(image.data.length).toBe(3 * image.width * image.height);
  if (limits.sizePx !== undefined) expect(Math.max(image.width, image.height)).toBe(limits.sizePx);
  if (limits.sizePx === undefined && limits.maxInputPixels !== undefined) expect(image.width * image.height).toBeLessThanOrEqual(limits.maxInputPixels);
  for (const v of image.data) {
    if (!(v >= 0 && v <= 255 && Number.isInteger(v))) throw new Error(`pixel value ${v} is not an 8-bit level`);
  }
}

/** Small real files of each format the loader meets, to mutate. */
let seeds: Buffer[] = [];
beforeAll(async () => {
  const image = noiseImage(12, 9, 4);
  const hwc = Buffer.alloc(12 * 9 * 4);
  for (let p = 0; p < 12 * 9; p++) {
    for (let c = 0; c < 3; c++) hwc[p * 4 + c] = Math.round(image.data[c * 12 * 9 + p]!);
    hwc[p * 4 + 3] = p % 3 === 0 ? 0 : 255;
  }
  const base = (): Sharp => sharp(hwc, { raw: { width: 12, height: 9, channels: 4 } });
  seeds = await Promise.all([
    base().png().toBuffer(),
    base().png({ palette: true }).toBuffer(),
    base().removeAlpha().jpeg({ quality: 80 }).toBuffer(),
    base().removeAlpha().jpeg({ progressive: true }).toBuffer(),
    base().webp({ quality: 70 }).toBuffer(),
    base().webp({ lossless: true }).toBuffer(),
    base().gif().toBuffer(),
    base().tiff().toBuffer(),
    base().removeAlpha().toColourspace('b-w').png().toBuffer(),
  ]);
});

/** One mutation of a seed file: flip bytes, cut it, splice random bytes in, or duplicate a run of it. */
const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 8 }), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('splice' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }) }),
  fc.record({ kind: fc.constant('repeat' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 256 }), times: fc.integer({ min: 2, max: 16 }) }),
);

type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(seed: Buffer, steps: readonly Mutation[]): Buffer {
  let bytes = Buffer.from(seed);
  for (const step of steps) {
    const at = step.at % Math.max(1, bytes.length);
    switch (step.kind) {
      case 'flip':
        bytes.fill(step.value, at, Math.min(bytes.length, at + step.count));
        break;
      case 'cut':
        bytes = bytes.subarray(0, at);
        break;
      case 'splice':
        bytes = Buffer.concat([bytes.subarray(0, at), step.bytes, bytes.subarray(at)]);
        break;
      case 'repeat': {
        const run = bytes.subarray(at, at + step.length);
        bytes = Buffer.concat([bytes.subarray(0, at), ...Array.from({ length: step.times }, () => run), bytes.subarray(at)]);
        break;
      }
    }
  }
  return bytes;
}

describe('the image loader, fuzzed', () => {
  it('answers random bytes with an image or an image error', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 2048 }), async (bytes) => {
        expectImageOrImageError(await decodeOrError(bytes));
      }),
      PARAMS,
    );
  });

  it('answers real files with bytes flipped, cut, spliced or repeated with an image or an image error, at any requested size', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.nat(),
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        fc.option(fc.integer({ min: 1, max: 96 }), { nil: undefined }),
        async (which, steps, sizePx) => {
          const bytes = mutate(seeds[which % seeds.length]!, steps);
          if (bytes.length === 0) return;
          expectImageOrImageError(await decodeOrError(bytes, sizePx === undefined ? {} : { sizePx }), { sizePx });
        },
      ),
      PARAMS,
    );
  });

  it('judges the pixel limit from the header alone: over it, IMAGE_TOO_LARGE naming the size, never a decode', async () => {
    const dimension = fc.oneof(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 100_000 }), fc.integer({ min: 1, max: 2 ** 31 - 1 }));
    await fc.assert(
      fc.asyncProperty(dimension, dimension, fc.integer({ min: 1, max: 4_000_000 }), async (width, height, maxInputPixels) => {
        const outcome = await decodeOrError(pngBomb(width, height, 256), { maxInputPixels });
        expectImageOrImageError(outcome, { maxInputPixels });
        if (width * height <= maxInputPixels) return;
        // Over the limit: never decoded. libpng itself refuses a side over 1,000,000 px while reading the header
        // (NOT_AN_IMAGE, "corrupt header"); below that the header is read and the limit names the size.
        if (width <= 1_000_000 && height <= 1_000_000) {
          expect(outcome).toMatchObject({ code: 'IMAGE_TOO_LARGE', message: expect.stringContaining(`is ${width}x${height}:`) });
        } else {
          expect(isNstError(outcome)).toBe(true);
        }
      }),
      { ...PARAMS, numRuns: Math.min(RUNS, 100) },
    );
  });
});
