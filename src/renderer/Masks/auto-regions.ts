// "Auto regions": the photo split into k regions by colour, k-means in CIELAB on a downscaled copy (seeded, so the
// same photo always splits the same way), each region a mask, ordered top to bottom so the first style gets the
// region highest in the picture (the sky, usually).

export type Lab = [number, number, number];

const linear = (c: number): number => {
  const v = c / 255;
  return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
};
const LINEAR = Float64Array.from({ length: 256 }, (_, i) => linear(i));
const f = (t: number): number => (t > 216 / 24389 ? Math.cbrt(t) : (24389 / 27 * t + 16) / 116);

/** sRGB bytes to CIELAB (D65 white). */
export function rgbToLab(r: number, g: number, b: number): Lab {
  const R = LINEAR[r]!;
  const G = LINEAR[g]!;
  const B = LINEAR[b]!;
  const x = (0.4124564 * R + 0.3575761 * G + 0.1804375 * B) / 0.95047;
  const y = 0.2126729 * R + 0.7151522 * G + 0.072175 * B;
  const z = (0.0193339 * R + 0.119192 * G + 0.9503041 * B) / 1.08883;
  const fy = f(y);
  return [116 * fy - 16, 500 * (f(x) - fy), 200 * (fy - f(z))];
}

/** mulberry32: a small seeded generator, so a split can be repeated. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * k-means of `count` Lab points (flat, 3 a point), seeded k-means++ start, until no label changes or `maxIterations`.
 * A cluster left empty takes the point farthest from its centre.
 */
export function kmeans(points: Float32Array, k: number, seed: number, maxIterations = 30): { labels: Uint8Array; centres: Float64Array } {
  if (!Number.isInteger(k) || k < 1 || k > 255) throw new RangeError(`k must be an integer from 1 to 255, got ${k}`);
  const count = points.length / 3;
  if (count === 0) throw new RangeError('kmeans needs at least one point');
  const random = seededRandom(seed);
  const centres = new Float64Array(k * 3);
  const nearest = new Float64Array(count).fill(Infinity);
  const distance = (p: number, c: number): number => {
    const dl = points[p * 3]! - centres[c * 3]!;
    const da = points[p * 3 + 1]! - centres[c * 3 + 1]!;
    const db = points[p * 3 + 2]! - centres[c * 3 + 2]!;
    return dl * dl + da * da + db * db;
  };
  const setCentre = (c: number, p: number): void => centres.set(points.subarray(p * 3, p * 3 + 3), c * 3);
  // k-means++: each next centre drawn with probability proportional to its squared distance from the nearest so far.
  setCentre(0, Math.floor(random() * count));
  for (let c = 1; c < k; c++) {
    let sum = 0;
    for (let p = 0; p < count; p++) sum += nearest[p] = Math.min(nearest[p]!, distance(p, c - 1));
    let target = random() * sum;
    let pick = count - 1;
    for (let p = 0; p < count && sum > 0; p++) if ((target -= nearest[p]!) <= 0) {
      pick = p;
      break;
    }
    setCentre(c, sum > 0 ? pick : Math.floor(random() * count));
  }
  const labels = new Uint8Array(count);
  const sums = new Float64Array(k * 3);
  const sizes = new Uint32Array(k);
  for (let iteration = 0; iteration < maxIterations; iteration++) {
    let changed = 0;
    sums.fill(0);
    sizes.fill(0);
    for (let p = 0; p < count; p++) {
      let best = 0;
      let bestDistance = Infinity;
      for (let c = 0; c < k; c++) {
        const d = distance(p, c);
        if (d < bestDistance) {
          bestDistance = d;
          best = c;
        }
      }
      if (labels[p] !== best || iteration === 0) changed++;
      labels[p] = best;
      nearest[p] = bestDistance;
      sizes[best]!++;
      for (let j = 0; j < 3; j++) sums[best * 3 + j]! += points[p * 3 + j]!;
    }
    for (let c = 0; c < k; c++) {
      if (sizes[c]! > 0) for (let j = 0; j < 3; j++) centres[c * 3 + j] = sums[c * 3 + j]! / sizes[c]!;
      else {
        let far = 0;
        for (let p = 1; p < count; p++) if (nearest[p]! > nearest[far]!) far = p;
        setCentre(c, far);
        nearest[far] = 0;
      }
    }
    if (changed === 0) break;
  }
  return { labels, centres };
}

/** RGBA pixels as Lab points (alpha ignored). */
export function labPoints(rgba: ArrayLike<number>, count: number): Float32Array {
  const points = new Float32Array(count * 3);
  for (let p = 0; p < count; p++) points.set(rgbToLab(rgba[p * 4]!, rgba[p * 4 + 1]!, rgba[p * 4 + 2]!), p * 3);
  return points;
}

/**
 * The photo (RGBA, width × height, already downscaled) split into k masks of that size (255 inside, 0 outside),
 * ordered by their mean position: top to bottom, then left to right.
 */
export function autoRegions(rgba: ArrayLike<number>, width: number, height: number, k: number, seed = 1): Uint8Array[] {
  const count = width * height;
  const { labels } = kmeans(labPoints(rgba, count), k, seed);
  const ys = new Float64Array(k);
  const xs = new Float64Array(k);
  const sizes = new Float64Array(k);
  for (let p = 0; p < count; p++) {
    const c = labels[p]!;
    ys[c]! += Math.floor(p / width);
    xs[c]! += p % width;
    sizes[c]!++;
  }
  const mean = (v: Float64Array, c: number): number => (sizes[c]! > 0 ? v[c]! / sizes[c]! : Infinity);
  const order = [...Array(k).keys()].sort((a, b) => mean(ys, a) - mean(ys, b) || mean(xs, a) - mean(xs, b));
  return order.map((c) => {
    const mask = new Uint8Array(count);
    for (let p = 0; p < count; p++) if (labels[p] === c) mask[p] = 255;
    return mask;
  });
}

/** The size a photo is downscaled to before the split: at most `maxSide` on its longest side, never enlarged. */
export function workingSize(width: number, height: number, maxSide = 256): { width: number; height: number } {
  const scale = Math.min(1, maxSide / Math.max(width, height));
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}
