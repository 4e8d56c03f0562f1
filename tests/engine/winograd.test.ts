// Winograd F(4x4,3x3) (graph/ops/conv.ts) computes the same 3x3 pad-1 convolution as onnxruntime's Conv and a
// float64 reference, forward and for the input gradient, on every map size including ones that are not multiples
// of 4 (padded tiles, cropped) and maps smaller than one tile; and the policy and 'auto' pick what they promise.

import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { GraphBuilder } from '../../src/engine/model/graph/builder.js';
import { conv3x3, conv3x3InputGrad, flipTransposeKernel, WINOGRAD_F4, winogradKernelTransform, winogradPolicy } from '../../src/engine/model/graph/ops/conv.js';
import { createRng } from '../../src/engine/sys/random.js';
import type { ConvWeights } from '../../src/engine/weights/types.js';

function randomConv(inChannels: number, outChannels: number, seed: number): ConvWeights {
  const rng = createRng(seed);
  const scale = Math.sqrt(2 / (9 * inChannels));
  return {
    inChannels,
    outChannels,
    kernel: Float32Array.from({ length: 9 * inChannels * outChannels }, () => scale * rng.normal()),
    bias: Float32Array.from({ length: outChannels }, () => rng.uniform() - 0.5),
  };
}

/** float64 conv(x, kernel, pad 1) + bias; kernel OIHW. */
function referenceConv(x: Float32Array, c: number, h: number, w: number, kernel: Float32Array, k: number, bias: Float32Array | null): Float64Array {
  const out = new Float64Array(k * h * w);
  for (let o = 0; o < k; o++) {
    for (let y = 0; y < h; y++) {
      for (let xx = 0; xx < w; xx++) {
        let s = bias ? bias[o]! : 0;
        for (let i = 0; i < c; i++) {
          for (let dy = 0; dy < 3; dy++) {
            const yy = y + dy - 1;
            if (yy < 0 || yy >= h) continue;
            for (let dx = 0; dx < 3; dx++) {
              const xs = xx + dx - 1;
              if (xs < 0 || xs >= w) continue;
              s += kernel[((o * c + i) * 3 + dy) * 3 + dx]! * x[(i * h + yy) * w + xs]!;
            }
          }
        }
        out[(o * h + y) * w + xx] = s;
      }
    }
  }
  return out;
}

/** max |a − b| / max |ref|. */
function relError(ref: ArrayLike<number>, got: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < ref.length; i++) {
    diff = Math.max(diff, Math.abs(ref[i]! - got[i]!));
    scale = Math.max(scale, Math.abs(ref[i]!));
  }
  return diff / scale;
}

describe('the F(4x4,3x3) matrices', () => {
  // In one dimension F(4,3) is y = Aᵀ[(G g) ⊙ (Bᵀ d)]: 4 outputs of the correlation of 6 inputs d with 3 taps g. The 2-D
  // transform the graph builds is this one applied along both axes, so the 1-D identity checks every matrix entry.
  it('compute a 1-D correlation exactly (float64, random taps and inputs)', () => {
    const { BT, G, AT } = WINOGRAD_F4;
    const rng = createRng(11);
    for (let trial = 0; trial < 20; trial++) {
      const d = Array.from({ length: 6 }, () => rng.normal());
      const g = Array.from({ length: 3 }, () => rng.normal());
      const u = G.map((row) => row.reduce<number>((acc, v, j) => acc + v * g[j]!, 0));
      const v = BT.map((row) => row.reduce<number>((acc, b, j) => acc + b * d[j]!, 0));
      const m = u.map((ui, i) => ui * v[i]!);
      const y = AT.map((row) => row.reduce<number>((acc, a, j) => acc + a * m[j]!, 0));
      const expected = [0, 1, 2, 3].map((i) => d[i]! * g[0]! + d[i + 1]! * g[1]! + d[i + 2]! * g[2]!);
      for (let i = 0; i < 4; i++) expect(y[i]).toBeCloseTo(expected[i]!, 12);
    }
  });
});

/** Runs the direct and the Winograd emitter (forward, or input gradient) side by side in one graph. */
async function both(w: ConvWeights, h: number, width: number, direction: 'forward' | 'inputGrad', x: Float32Array): Promise<{ direct: Float32Array; winograd: Float32Array }> {
  const g = new GraphBuilder('winograd_test');
  const channelsIn = direction === 'forward' ? w.inChannels : w.outChannels;
  const input = g.input('x', [1, channelsIn, h, width]);
  const emit = direction === 'forward' ? conv3x3 : conv3x3InputGrad;
  g.output(emit(g, input, 'direct', w, 'direct'), 'direct');
  g.output(emit(g, input, 'wino', w, 'winograd'), 'winograd');
  const session = await ort.InferenceSession.create(g.toBytes(), { executionProviders: ['cpu'], intraOpNumThreads: 1, logSeverityLevel: 3 });
  try {
    const out = await session.run({ x: new ort.Tensor('float32', x, [1, channelsIn, h, width]) });
    return { direct: out.direct!.data as Float32Array, winograd: out.winograd!.data as Float32Array };
  } finally {
    await session.release();
  }
}

// Sides: smaller than a tile (1, 2, 3), exact tiles (4, 8, 16), and every remainder mod 4 (5, 6, 7, 9, 13, 31).
const SHAPES: { c: number; k: number; h: number; w: number }[] = [
  { c: 1, k: 1, h: 1, w: 1 },
  { c: 3, k: 5, h: 1, w: 1 },
  { c: 4, k: 8, h: 2, w: 2 },
  { c: 8, k: 4, h: 3, w: 5 },
  { c: 16, k: 16, h: 4, w: 4 },
  { c: 5, k: 7, h: 5, w: 3 },
  { c: 32, k: 16, h: 6, w: 9 },
  { c: 16, k: 32, h: 7, w: 13 },
  { c: 64, k: 64, h: 8, w: 8 },
  { c: 24, k: 40, h: 13, w: 6 },
  { c: 64, k: 128, h: 16, w: 16 },
  { c: 128, k: 64, h: 31, w: 17 },
  { c: 3, k: 8, h: 1, w: 37 },
];

describe('Winograd F(4x4,3x3) conv', () => {
  it.each(SHAPES)('$c→$k channels at $h by $w px: forward and input gradient match Conv and the float64 reference', async ({ c, k, h, w }) => {
    const weights = randomConv(c, k, 1000 + c * 7 + k * 13 + h * 17 + w);
    const rng = createRng(h * 31 + w);
    for (const direction of ['forward', 'inputGrad'] as const) {
      const channelsIn = direction === 'forward' ? c : k;
      // Activation-like inputs: non-negative with exact zeros (post-ReLU), and a sign-mixed gradient.
      const x = Float32Array.from({ length: channelsIn * h * w }, () => (direction === 'forward' ? Math.max(0, rng.normal()) : rng.normal()));
      const { direct, winograd } = await both(weights, h, w, direction, x);
      expect(winograd.length).toBe(direct.length);
      const kernel = direction === 'forward' ? weights.kernel : flipTransposeKernel(weights);
      const reference = referenceConv(x, channelsIn, h, w, kernel, direction === 'forward' ? k : c, direction === 'forward' ? weights.bias : null);
      const directError = relError(reference, direct);
      const winogradError = relError(reference, winograd);
      // F(4x4)'s transforms multiply values by up to 8 (Aᵀ) and 5 (Bᵀ): its float32 error is a few times Conv's, no more.
      expect(winogradError, `${direction} vs float64`).toBeLessThan(2e-5);
      expect(relError(direct, winograd), `${direction} vs Conv`).toBeLessThan(2e-5);
      expect(directError).toBeLessThan(2e-6);
    }
  });

  it('computes U = G·g·Gᵀ: a kernel that is 1 at its centre gives the outer product of G\'s middle column', () => {
    const kernel = new Float32Array(9);
    kernel[4] = 1;
    const u = winogradKernelTransform(kernel, 1, 1);
    const g1 = [0, -1 / 6, 1 / 6, 1 / 12, -1 / 12, 0];
    for (let a = 0; a < 6; a++) for (let b = 0; b < 6; b++) expect(u[a * 6 + b]).toBeCloseTo(g1[a]! * g1[b]!, 7);
  });

  it('lays U out [36, out, in], so each tile position is one out×in GEMM operand', () => {
    const w = randomConv(2, 3, 5);
    const u = winogradKernelTransform(w.kernel, 3, 2);
    expect(u.length).toBe(36 * 3 * 2);
    // Position (5, 5) is g[2][2] itself (G's last row is [0, 0, 1]).
    for (let o = 0; o < 3; o++) for (let i = 0; i < 2; i++) expect(u[(35 * 3 + o) * 2 + i]).toBe(w.kernel[(o * 2 + i) * 9 + 8]);
  });

  it('applies to blocks 3–5 with maps of 16 tiles or more (transforms are memory-bound in blocks 1–2, U reads on small maps)', () => {
    expect([1, 2, 3, 4, 5].map((block) => winogradPolicy(block, 64, 64))).toEqual([false, false, true, true, true]);
    expect(winogradPolicy(5, 16, 16)).toBe(true);
    expect(winogradPolicy(5, 13, 13)).toBe(true); // 4x4 tiles, the last row and column padded
    expect(winogradPolicy(4, 12, 16)).toBe(false);
    expect(winogradPolicy(3, 8, 8)).toBe(false);
    expect(winogradPolicy(3, 1, 1, 1)).toBe(true);
  });
});
