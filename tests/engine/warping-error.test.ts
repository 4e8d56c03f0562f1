// The warping error (issue 17's flicker figure): zero on a clip that only moves, the known value when frames differ
// by a constant or by noise, only pixels seen in both frames counted, sub-pixel motion sampled bilinearly, and the
// refusals.

import { describe, expect, it } from 'vitest';
import { NstError } from '../../src/engine/errors.js';
import type { PlanarImage } from '../../src/engine/io/image.js';
import { createRng } from '../../src/engine/sys/random.js';
import { zeroFlow } from '../../src/engine/video/flow/field.js';
import { flowFromMotion, pairWarpingError, warpingError } from '../../src/engine/video/flow/warping-error.js';

const W = 40;
const H = 30;

/** An RGB image whose channel c at pixel (x, y) is value(c, x, y). */
function imageFrom(width: number, height: number, value: (c: number, x: number, y: number) => number): PlanarImage {
  const n = width * height;
  const data = new Float32Array(3 * n);
  for (let c = 0; c < 3; c++) for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data[c * n + y * width + x] = value(c, x, y);
  return { width, height, data };
}

/** Random pixels of a scene larger than the frames, so that each frame of a pan is a window on it. */
function scene(seed: number): (c: number, x: number, y: number) => number {
  const rng = createRng(seed);
  const size = 200;
  const texture = Float32Array.from({ length: 3 * size * size }, () => 255 * rng.uniform());
  return (c, x, y) => texture[c * size * size + y * size + x]!;
}

/** The pan of the shared clip: every point moves by (−2, −1) px a frame, so frame t is the scene seen from (2t, t). */
const PAN: readonly [number, number] = [-2, -1];
function panFrames(count: number, extra: (t: number, c: number, x: number, y: number) => number = () => 0): PlanarImage[] {
  const at = scene(7);
  return Array.from({ length: count }, (_, t) => imageFrom(W, H, (c, x, y) => at(c, x + 2 * t, y + t) + extra(t, c, x, y)));
}
const panFlow = flowFromMotion(W, H, () => PAN);

describe('warpingError on a panning sequence', () => {
  it('is exactly 0 when each frame is the last one moved by the true motion', () => {
    const result = warpingError(panFrames(5), () => panFlow);
    expect(result.meanSquared).toBe(0);
    expect(result.pairs).toHaveLength(4);
  });

  it('counts only the pixels whose motion stays in the frame: the first 2 columns and first row leave it', () => {
    const frames = panFrames(2);
    // Garbage where frame 1 shows what frame 0 had not (its last 2 columns and last row): never compared.
    const n = W * H;
    for (let c = 0; c < 3; c++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) if (x >= W - 2 || y >= H - 1) frames[1]!.data[c * n + y * W + x] = 255 * ((x + y) % 2);
    const pair = pairWarpingError(frames[0]!, frames[1]!, panFlow);
    expect(pair.visiblePixels).toBe((W - 2) * (H - 1));
    expect(pair.meanSquared).toBe(0);
  });

  it('is d² when every other frame is brighter by d levels', () => {
    const d = 6;
    const result = warpingError(panFrames(4, (t) => (t % 2 === 1 ? d : 0)), () => panFlow);
    for (const pair of result.pairs) expect(pair.meanSquared).toBeCloseTo(d * d, 3);
    expect(result.meanSquared).toBeCloseTo(d * d, 3);
  });

  it('is 2σ² (within 5%) when every frame has its own noise of variance σ²', () => {
    const rng = createRng(3);
    const amplitude = 10;
    // Uniform in ±a: σ² = a²/3, and the difference of two independent draws has variance 2σ².
    const result = warpingError(panFrames(4, () => amplitude * (2 * rng.uniform() - 1)), () => panFlow);
    expect(result.meanSquared / ((2 * amplitude * amplitude) / 3)).toBeCloseTo(1, 1);
  });

  it('samples sub-pixel motion bilinearly: a ramp moved by half a pixel has no error, measured against a still flow it has', () => {
    const ramp = (shift: number): PlanarImage => imageFrom(W, H, (c, x, y) => 3 * (x + shift) + 2 * y + 10 * c);
    // The ramp's values move 0.5 px left: the point at x is at x − 0.5 in the next frame.
    const moved = flowFromMotion(W, H, () => [-0.5, 0]);
    expect(pairWarpingError(ramp(0), ramp(0.5), moved).meanSquared).toBeCloseTo(0, 6);
    expect(pairWarpingError(ramp(0), ramp(0.5), moved).visiblePixels).toBe((W - 1) * H);
    expect(pairWarpingError(ramp(0), ramp(0.5), zeroFlow(W, H)).meanSquared).toBeCloseTo(1.5 * 1.5, 4);
  });
});

describe('flowFromMotion', () => {
  it('samples a formula at pixel centres and scales the motion with the frame', () => {
    // A zoom about the centre (79.5, 59.5) of a 160x120 clip, sampled on an 80x60 frame (scale 0.5).
    const flow = flowFromMotion(80, 60, (x, y) => [(x - 79.5) * 0.1, (y - 59.5) * 0.1], 0.5);
    // Pixel (0, 0) of the half-size frame has its centre at (0 + 0.5) / 0.5 − 0.5 = 0.5 in the clip's pixels; (79, 59) at (158.5, 118.5).
    expect(flow.u[0]).toBeCloseTo((0.5 - 79.5) * 0.1 * 0.5, 5);
    expect(flow.v[59 * 80 + 79]).toBeCloseTo((118.5 - 59.5) * 0.1 * 0.5, 5);
  });
});

describe('warpingError refusals', () => {
  it('refuses fewer than two frames', () => {
    expect(() => warpingError(panFrames(1), () => panFlow)).toThrow(new NstError('BAD_ARGUMENT', 'A warping error needs at least two frames, got 1.'));
  });

  it('refuses frames or a flow of another size, naming the sizes', () => {
    const [a, b] = panFrames(2);
    expect(() => pairWarpingError(a!, b!, zeroFlow(W + 1, H))).toThrow(`got frames ${W}x${H} and ${W}x${H} and a flow ${W + 1}x${H}`);
    expect(() => pairWarpingError(a!, imageFrom(W, H + 1, () => 0), panFlow)).toThrow(/two frames and a flow of one size/);
  });

  it('refuses a motion that takes every pixel out of the frame', () => {
    const [a, b] = panFrames(2);
    expect(() => pairWarpingError(a!, b!, flowFromMotion(W, H, () => [W, 0]))).toThrow(/No pixel of the 40x30 frame is visible/);
  });
});
