// Optical flow (issue 17): Farnebäck flow on synthetic shifts (direction, sub-pixel accuracy) and on the shared clips
// with known motion (endpoint error against the truth), backward warping, and the forward-backward consistency mask.

import { describe, expect, it } from 'vitest';
import { NstError } from '../../src/engine/errors.js';
import { decodeImage, type PlanarImage } from '../../src/engine/io/image.js';
import type { Mask } from '../../src/engine/io/mask.js';
import { createRng } from '../../src/engine/sys/random.js';
import { consistencyMask } from '../../src/engine/video/flow/consistency.js';
import { estimateFlow } from '../../src/engine/video/flow/farneback.js';
import type { FlowField } from '../../src/engine/video/flow/field.js';
import { warpImage } from '../../src/engine/video/flow/warp.js';
import { hasShared, sharedPath } from '../helpers/shared-data.js';

/** EPE and warp figures are taken this far from the borders, where the expansion sees replicated pixels. */
const MARGIN_PX = 8;

/** A grey image (the same value in R, G, B) from a function of continuous coordinates. */
function imageFrom(width: number, height: number, value: (x: number, y: number) => number): PlanarImage {
  const n = width * height;
  const data = new Float32Array(3 * n);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) data[y * width + x] = data[n + y * width + x] = data[2 * n + y * width + x] = value(x, y);
  }
  return { width, height, data };
}

/** A band-limited random texture: a sum of seeded sinusoids (0..255), exact at any sub-pixel position. */
function sinusoidTexture(seed: number): (x: number, y: number) => number {
  const rng = createRng(seed);
  const waves = Array.from({ length: 16 }, () => {
    const frequency = 0.03 + 0.12 * rng.uniform();
    const angle = 2 * Math.PI * rng.uniform();
    return { fx: frequency * Math.cos(angle), fy: frequency * Math.sin(angle), phase: 2 * Math.PI * rng.uniform() };
  });
  return (x, y) => 128 + 14 * waves.reduce((sum, w) => sum + Math.sin(2 * Math.PI * (w.fx * x + w.fy * y) + w.phase), 0);
}

/** Random pixels smoothed by a 3x3 box twice: a texture defined only at integer positions. */
function pixelTexture(width: number, height: number, seed: number): (x: number, y: number) => number {
  const rng = createRng(seed);
  let grid = Float32Array.from({ length: width * height }, () => 255 * rng.uniform());
  for (let pass = 0; pass < 2; pass++) {
    const next = new Float32Array(grid.length);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        let sum = 0;
        for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) sum += grid[Math.min(height - 1, Math.max(0, y + dy)) * width + Math.min(width - 1, Math.max(0, x + dx))]!;
        next[y * width + x] = sum / 9;
      }
    }
    grid = next;
  }
  return (x, y) => grid[y * width + x]!;
}

function uniformFlow(width: number, height: number, u: number, v: number): FlowField {
  return { width, height, u: new Float32Array(width * height).fill(u), v: new Float32Array(width * height).fill(v) };
}

/** Mean endpoint error against the truth and mean signed error, over the pixels at least `margin` from the borders. */
function endpointError(flow: FlowField, truth: (x: number, y: number) => [number, number], margin = MARGIN_PX): { epe: number; meanU: number; meanV: number } {
  let epe = 0;
  let meanU = 0;
  let meanV = 0;
  let count = 0;
  for (let y = margin; y < flow.height - margin; y++) {
    for (let x = margin; x < flow.width - margin; x++) {
      const [u, v] = truth(x, y);
      const i = y * flow.width + x;
      epe += Math.hypot(flow.u[i]! - u, flow.v[i]! - v);
      meanU += flow.u[i]! - u;
      meanV += flow.v[i]! - v;
      count++;
    }
  }
  return { epe: epe / count, meanU: meanU / count, meanV: meanV / count };
}

/** Mean absolute RGB difference (0..255) where `where(i)` holds, i the pixel index. */
function meanAbsDiff(a: PlanarImage, b: PlanarImage, where: (i: number) => boolean): number {
  const n = a.width * a.height;
  let sum = 0;
  let count = 0;
  for (let i = 0; i < n; i++) {
    if (!where(i)) continue;
    for (let c = 0; c < 3; c++) sum += Math.abs(a.data[c * n + i]! - b.data[c * n + i]!);
    count += 3;
  }
  return sum / count;
}

function interior(width: number, height: number, margin = MARGIN_PX): (i: number) => boolean {
  return (i) => {
    const x = i % width;
    const y = Math.floor(i / width);
    return x >= margin && y >= margin && x < width - margin && y < height - margin;
  };
}

function maskMean(mask: Mask, where: (i: number) => boolean): number {
  let sum = 0;
  let count = 0;
  for (let i = 0; i < mask.data.length; i++) {
    if (!where(i)) continue;
    sum += mask.data[i]!;
    count++;
  }
  return sum / count;
}

describe('estimateFlow on synthetic shifts', () => {
  it('finds an integer shift of a random texture, in the direction from the first frame to the second', () => {
    // B(p) = A(p - (3, -2)): what A shows at q, B shows at q + (3, -2), so the flow from A to B is (3, -2).
    const texture = pixelTexture(120, 100, 7);
    const a = imageFrom(96, 80, (x, y) => texture(x + 10, y + 10));
    const b = imageFrom(96, 80, (x, y) => texture(x + 10 - 3, y + 10 + 2));
    const forward = estimateFlow(a, b);
    const backward = estimateFlow(b, a);
    const truth = endpointError(forward, () => [3, -2]);
    expect(truth.epe).toBeLessThan(0.05);
    expect(Math.abs(truth.meanU)).toBeLessThan(0.02);
    expect(Math.abs(truth.meanV)).toBeLessThan(0.02);
    expect(endpointError(backward, () => [-3, 2]).epe).toBeLessThan(0.05);
    // Warping B by the flow brings it back onto A's grid.
    expect(meanAbsDiff(warpImage(b, forward), a, interior(96, 80))).toBeLessThan(0.5);
  });

  it('measures a sub-pixel shift to a few hundredths of a pixel', () => {
    const texture = sinusoidTexture(11);
    const a = imageFrom(96, 80, texture);
    const b = imageFrom(96, 80, (x, y) => texture(x - 1.25, y + 0.5));
    const error = endpointError(estimateFlow(a, b), () => [1.25, -0.5]);
    expect(error.epe).toBeLessThan(0.03);
    expect(Math.abs(error.meanU)).toBeLessThan(0.01);
    expect(Math.abs(error.meanV)).toBeLessThan(0.01);
  });

  it('refuses frames of different sizes, naming both, and options out of range', () => {
    const a = imageFrom(20, 10, () => 0);
    const b = imageFrom(10, 20, () => 0);
    expect(() => estimateFlow(a, b)).toThrow(NstError);
    expect(() => estimateFlow(a, b)).toThrow('Optical flow needs two frames of one size, got 20x10 and 10x20.');
    expect(() => estimateFlow(a, a, { iterations: 0 })).toThrow('Optical flow option iterations must be positive, got 0.');
    expect(() => estimateFlow(a, a, { maxLevels: 2.5 })).toThrow('Optical flow option maxLevels must be a whole number, got 2.5.');
  });
});

describe('warpImage and consistencyMask on a square moving over a still background', () => {
  // Frame A: a texture, and a square of another texture at x 20..35, y 20..35; in frame B the square is 4 px right.
  const width = 64;
  const height = 56;
  const background = pixelTexture(width, height, 3);
  const squareTexture = pixelTexture(width, height, 5);
  const inSquare = (x: number, y: number, left: number): boolean => x >= left && x < left + 16 && y >= 20 && y < 36;
  const frameA = imageFrom(width, height, (x, y) => (inSquare(x, y, 20) ? squareTexture(x - 20, y) : background(x, y)));
  const frameB = imageFrom(width, height, (x, y) => (inSquare(x, y, 24) ? squareTexture(x - 24, y) : background(x, y)));
  // The true flows: A to B moves the square's pixels by +4; B to A moves them back.
  const forward = uniformFlow(width, height, 0, 0);
  const backward = uniformFlow(width, height, 0, 0);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (inSquare(x, y, 20)) forward.u[y * width + x] = 4;
      if (inSquare(x, y, 24)) backward.u[y * width + x] = -4;
    }
  }

  it('warps B onto A exactly where A is seen in B, with the exact flow', () => {
    const warped = warpImage(frameB, forward);
    const mask = consistencyMask(forward, backward);
    expect(meanAbsDiff(warped, frameA, (i) => mask.data[i] === 1)).toBe(0);
    // A's background that B's square covers (x 36..39) is masked: the warp shows the square there instead.
    expect(meanAbsDiff(warped, frameA, (i) => inSquare(i % width, Math.floor(i / width), 36) && i % width < 40)).toBeGreaterThan(5);
  });

  it('masks the background the square covers in B and the square\'s motion boundaries, and keeps the rest', () => {
    const mask = consistencyMask(forward, backward);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const covered = y >= 20 && y < 36 && x >= 36 && x < 40; // A's background that B's square hides
        // Central differences of u are non-zero one pixel either side of the square's edges (not at its corners).
        const edges = [19, 20, 35, 36];
        const boundary = (y >= 20 && y < 36 && edges.includes(x)) || (x >= 20 && x < 36 && edges.includes(y));
        expect(mask.data[y * width + x], `mask at (${x}, ${y})`).toBe(covered || boundary ? 0 : 1);
      }
    }
  });

  it('marks points that leave the frame and refuses flows or images of another size', () => {
    const left = consistencyMask(uniformFlow(10, 6, -2, 0), uniformFlow(10, 6, 2, 0));
    for (let y = 0; y < 6; y++) expect(Array.from(left.data.subarray(y * 10, y * 10 + 10))).toEqual([0, 0, 1, 1, 1, 1, 1, 1, 1, 1]);
    expect(() => consistencyMask(uniformFlow(10, 6, 0, 0), uniformFlow(6, 10, 0, 0))).toThrow('The two flows of a consistency check must have one size, got 10x6 and 6x10.');
    expect(() => warpImage(frameA, uniformFlow(10, 6, 0, 0))).toThrow('The flow is 10x6 but the image to warp is 64x56.');
  });

  it('finds the square\'s motion with estimated flows, and the mask keeps the background far from it', () => {
    const estimated = estimateFlow(frameA, frameB);
    const mask = consistencyMask(estimated, estimateFlow(frameB, frameA));
    const centre = 28 * width + 28;
    expect(estimated.u[centre]).toBeCloseTo(4, 0);
    expect(estimated.v[centre]).toBeCloseTo(0, 0);
    // The background well away from the square (and from the frame's edges) is still, and trusted.
    const farBackground = (i: number): boolean => interior(width, height, 4)(i) && (Math.abs((i % width) - 28) > 16 || Math.abs(Math.floor(i / width) - 28) > 16);
    let speed = 0;
    let count = 0;
    for (let i = 0; i < width * height; i++) {
      if (!farBackground(i)) continue;
      speed += Math.hypot(estimated.u[i]!, estimated.v[i]!);
      count++;
    }
    expect(speed / count).toBeLessThan(0.1);
    expect(maskMean(mask, farBackground)).toBeGreaterThan(0.95);
  });
});

const CLIPS = {
  pan: { folder: 'pan_tubingen_160x120', truth: (): [number, number] => [-2, -1], epeBound: 0.05 },
  zoom: {
    folder: 'zoom_tubingen_160x120',
    truth: (x: number, y: number): [number, number] => [(x - 79.5) * (1 / 0.98 - 1), (y - 59.5) * (1 / 0.98 - 1)],
    epeBound: 0.2,
  },
} as const;

for (const [name, clip] of Object.entries(CLIPS)) {
  const present = hasShared('data', 'video', clip.folder, 'frame_0024.png');
  const frame = (t: number): Promise<PlanarImage> => decodeImage(sharedPath('data', 'video', clip.folder, `frame_${String(t).padStart(4, '0')}.png`));
  describe.skipIf(!present)(`the shared ${name} clip (skipped without ../shared/data/video/${clip.folder})`, () => {
    it(`has a mean endpoint error under ${clip.epeBound} px ${MARGIN_PX} px from the borders (frames 1-2 and 12-13)`, async () => {
      for (const t of [1, 12]) {
        const flow = estimateFlow(await frame(t), await frame(t + 1));
        expect(endpointError(flow, clip.truth).epe, `frames ${t}-${t + 1}`).toBeLessThan(clip.epeBound);
      }
    });

    it('warps frame t+1 back onto frame t inside the consistent region, as well as the true flow does', async () => {
      const [a, b] = [await frame(6), await frame(7)];
      const forward = estimateFlow(a, b);
      const mask = consistencyMask(forward, estimateFlow(b, a));
      const { width, height } = a;
      const exact: FlowField = uniformFlow(width, height, 0, 0);
      for (let i = 0; i < width * height; i++) [exact.u[i], exact.v[i]] = clip.truth(i % width, Math.floor(i / width));
      const inside = interior(width, height);
      const consistent = (i: number): boolean => inside(i) && mask.data[i] === 1;
      const estimatedError = meanAbsDiff(warpImage(b, forward), a, consistent);
      const exactError = meanAbsDiff(warpImage(b, exact), a, consistent);
      // The pan is a whole-pixel shift (exact warp: 0); the zoom's frames are resampled, so even its truth leaves ~2.4.
      expect(estimatedError).toBeLessThan(exactError * 1.1 + 0.5);
      expect(estimatedError).toBeLessThan(meanAbsDiff(b, a, consistent) / 3);
      expect(maskMean(mask, inside)).toBeGreaterThan(0.98);
      if (name === 'pan') {
        // The window moves 2 px right and 1 down, so frame t's first 2 columns and first row leave the view.
        expect(maskMean(mask, (i) => i % width < 2 || i < width)).toBe(0);
        expect(maskMean(mask, (i) => i % width >= 2 && i >= width)).toBeGreaterThan(0.99);
      }
    });
  });
}
