// An independent float64 forward pass of VGG19 + the Gatys losses, written plainly, to check the graph against.

import { VGG19_CONV_LAYERS, canonicalLayerName } from '../../src/engine/model/vgg19.js';
import type { Vgg19Weights } from '../../src/engine/weights/types.js';

interface Map3 {
  c: number;
  h: number;
  w: number;
  data: Float64Array;
}

export interface ReferenceSpec {
  weights: Vgg19Weights;
  pool: 'max' | 'avg';
  styleLayers: string[];
  contentLayers: string[];
  styleWeight: number;
  contentWeight: number;
  tvWeight: number;
  layerWeights?: Record<string, number>;
  /** Per style layer target Gram, C×C row-major (unread with styleMasks). */
  styleTargets: Map<string, Float64Array>;
  contentTargets: Map<string, Float64Array>;
  /**
   * Guided Grams: one mask per style image (H×W, row-major, at the image's size) and, per style layer, each style
   * image's own target Gram in styleTargetsPerStyle.
   */
  styleMasks?: Float64Array[];
  styleTargetsPerStyle?: Map<string, Float64Array[]>;
  /** The content term's weight per pixel (H×W at the image's size). */
  contentMask?: Float64Array;
}

function conv3x3(x: Map3, kernel: Float32Array, bias: Float32Array, cout: number): Map3 {
  const { c: cin, h, w } = x;
  const out = new Float64Array(cout * h * w);
  for (let o = 0; o < cout; o++) {
    for (let y = 0; y < h; y++) {
      for (let xx = 0; xx < w; xx++) {
        let acc = bias[o]!;
        for (let i = 0; i < cin; i++) {
          for (let ky = 0; ky < 3; ky++) {
            const sy = y + ky - 1;
            if (sy < 0 || sy >= h) continue;
            for (let kx = 0; kx < 3; kx++) {
              const sx = xx + kx - 1;
              if (sx < 0 || sx >= w) continue;
              acc += kernel[((o * cin + i) * 3 + ky) * 3 + kx]! * x.data[(i * h + sy) * w + sx]!;
            }
          }
        }
        out[(o * h + y) * w + xx] = Math.max(0, acc);
      }
    }
  }
  return { c: cout, h, w, data: out };
}

function pool(x: Map3, kind: 'max' | 'avg'): Map3 {
  const h = Math.floor(x.h / 2);
  const w = Math.floor(x.w / 2);
  const out = new Float64Array(x.c * h * w);
  for (let c = 0; c < x.c; c++) {
    for (let y = 0; y < h; y++) {
      for (let xx = 0; xx < w; xx++) {
        const cells = [0, 1, 2, 3].map((k) => x.data[(c * x.h + 2 * y + (k >> 1)) * x.w + 2 * xx + (k & 1)]!);
        out[(c * h + y) * w + xx] = kind === 'max' ? Math.max(...cells) : cells.reduce((a, b) => a + b, 0) / 4;
      }
    }
  }
  return { c: x.c, h, w, data: out };
}

/** Post-ReLU activations of every layer up to `depth`, from planar RGB pixels on the 0–255 scale. */
export function referenceActivations(rgb: Float64Array, height: number, width: number, weights: Vgg19Weights, pool_: 'max' | 'avg', depth: number): Map3[] {
  const mean = [103.939, 116.779, 123.68];
  const bgr = new Float64Array(3 * height * width);
  const plane = height * width;
  for (let c = 0; c < 3; c++) for (let i = 0; i < plane; i++) bgr[c * plane + i] = rgb[(2 - c) * plane + i]! - mean[c]!;
  let x: Map3 = { c: 3, h: height, w: width, data: bgr };
  const out: Map3[] = [];
  for (let i = 0; i < depth; i++) {
    const spec = VGG19_CONV_LAYERS[i]!;
    const lw = weights.layers.get(spec.name)!;
    x = conv3x3(x, lw.kernel, lw.bias, lw.outChannels);
    out.push(x);
    if (spec.poolAfter) x = pool(x, pool_);
  }
  return out;
}

export function referenceGram(f: Map3): Float64Array {
  const n = f.h * f.w;
  const g = new Float64Array(f.c * f.c);
  for (let a = 0; a < f.c; a++) {
    for (let b = 0; b < f.c; b++) {
      let acc = 0;
      for (let k = 0; k < n; k++) acc += f.data[a * n + k]! * f.data[b * n + k]!;
      g[a * f.c + b] = acc / n;
    }
  }
  return g;
}

/** (F ⊙ m)(F ⊙ m)ᵀ / Σ m², written out as the spatial-control issue states it. */
export function referenceGuidedGram(f: Map3, mask: Float64Array): Float64Array {
  const n = f.h * f.w;
  const masked = f.data.map((v, i) => v * mask[i % n]!);
  const sumSquares = mask.reduce((acc, v) => acc + v * v, 0);
  const g = new Float64Array(f.c * f.c);
  for (let a = 0; a < f.c; a++) {
    for (let b = 0; b < f.c; b++) {
      let acc = 0;
      for (let k = 0; k < n; k++) acc += masked[a * n + k]! * masked[b * n + k]!;
      g[a * f.c + b] = acc / sumSquares;
    }
  }
  return g;
}

/** A mask at block `block`'s size: 2x2 average pools (floored), once per pool before the block, whatever the net's pooling. */
export function referenceMaskAt(mask: Float64Array, height: number, width: number, block: number): Float64Array {
  let m: Map3 = { c: 1, h: height, w: width, data: mask };
  for (let b = 1; b < block; b++) m = pool(m, 'avg');
  return m.data;
}

const mse = (a: Float64Array, b: Float64Array): number => a.reduce((acc, v, i) => acc + (v - b[i]!) ** 2, 0) / a.length;

export function referenceLoss(rgb: Float64Array, height: number, width: number, spec: ReferenceSpec): { total: number; style: Record<string, number>; content: Record<string, number>; tv: number } {
  const layers = [...spec.styleLayers, ...spec.contentLayers].map(canonicalLayerName);
  const depth = Math.max(...layers.map((l) => VGG19_CONV_LAYERS.findIndex((s) => s.name === l))) + 1;
  const acts = referenceActivations(rgb, height, width, spec.weights, spec.pool, depth);
  const at = (l: string): Map3 => acts[VGG19_CONV_LAYERS.findIndex((s) => s.name === l)]!;
  const style: Record<string, number> = {};
  const content: Record<string, number> = {};
  let total = 0;
  const blockOf = (l: string): number => VGG19_CONV_LAYERS.find((s) => s.name === canonicalLayerName(l))!.block;
  for (const l of spec.styleLayers) {
    style[l] = spec.styleMasks
      ? spec.styleMasks.reduce((acc, mask, k) => acc + mse(referenceGuidedGram(at(l), referenceMaskAt(mask, height, width, blockOf(l))), spec.styleTargetsPerStyle!.get(l)![k]!), 0)
      : mse(referenceGram(at(l)), spec.styleTargets.get(l)!);
    total += spec.styleWeight * (spec.layerWeights?.[l] ?? 1) * style[l]!;
  }
  for (const l of spec.contentLayers) {
    const f = at(l);
    const target = spec.contentTargets.get(l)!;
    const mask = spec.contentMask ? referenceMaskAt(spec.contentMask, height, width, blockOf(l)) : null;
    const n = f.h * f.w;
    content[l] = mask ? f.data.reduce((acc, v, i) => acc + mask[i % n]! * (v - target[i]!) ** 2, 0) / f.data.length : mse(f.data, target);
    total += spec.contentWeight * content[l]!;
  }
  let tvSum = 0;
  const plane = height * width;
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < height - 1; y++) {
      for (let x = 0; x < width - 1; x++) {
        const v = rgb[c * plane + y * width + x]!;
        tvSum += (rgb[c * plane + (y + 1) * width + x]! - v) ** 2 + (rgb[c * plane + y * width + x + 1]! - v) ** 2;
      }
    }
  }
  const tv = height > 1 && width > 1 ? tvSum / (3 * (height - 1) * (width - 1)) : 0;
  total += spec.tvWeight * tv;
  return { total, style, content, tv };
}
