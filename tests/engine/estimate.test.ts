// The memory estimate: its arithmetic from shapes, what fits a limit, OOM recognition, and (in fresh `nst`
// processes) the estimate against the peak RSS a real run measures.

import { describe, expect, it } from 'vitest';
import {
  CALIBRATION,
  MB,
  VGG19_PARAMETERS,
  estimateMemory,
  isOutOfMemoryError,
  keptTensors,
  largestFittingSize,
  planTiling,
  sizeWithLongest,
  type EstimateSpec,
} from '../../src/engine/render/memory.js';
import { convForLimit, planRender } from '../../src/engine/render/render.js';
import { DEFAULT_RUN_SETTINGS } from '../../src/engine/settings.js';
import { GATYS_CONTENT_LAYERS, GATYS_STYLE_LAYERS, VGG19_CONV_LAYERS } from '../../src/engine/model/vgg19.js';
import { NstError } from '../../src/engine/errors.js';
import { jsonLines, runNst } from '../helpers/cli.js';

// What the CPU runs (at 64x48 no map is large enough for Winograd: its choice costs the same as Conv's).
const GATYS: EstimateSpec = { width: 64, height: 48, styleLayers: GATYS_STYLE_LAYERS, contentLayers: GATYS_CONTENT_LAYERS, pool: 'max', optimizer: 'lbfgs', device: 'cpu', convAlgorithm: 'direct', maxPoolGrad: 'argmax' };
const prod = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

describe('keptTensors and the activations term', () => {
  it('Gatys layers, max pool, 64x48: the maps whose ReLU mask is read, the folded pools (output + int64 argmax), the targets', () => {
    // Feature sizes (H x W) per block: 48x64, 24x32, 12x16, 6x8, 3x4.
    const f32 = (shape: number[]): number => 4 * prod(shape);
    const pool = (shape: number[]): number => 4 * prod(shape) + 8 * prod(shape);
    const expected =
      f32([64, 48, 64]) + pool([64, 24, 32]) + // block1_conv1 (style), block1_conv2 folded into its pool
      f32([128, 24, 32]) + pool([128, 12, 16]) +
      3 * f32([256, 12, 16]) + pool([256, 6, 8]) + // block3_conv1..3, block3_conv4 folded
      3 * f32([512, 6, 8]) + pool([512, 3, 4]) +
      f32([512, 3, 4]) + // block5_conv1
      f32([512, 6, 8]) + // content target block4_conv2
      4 * (64 * 64 + 128 * 128 + 256 * 256 + 512 * 512 + 512 * 512); // style Grams
    const kept = keptTensors(GATYS);
    expect(kept.map((t) => t.name)).toEqual([
      'block1_conv1', 'block1_pool', 'block1_pool_argmax', 'block2_conv1', 'block2_pool', 'block2_pool_argmax',
      'block3_conv1', 'block3_conv2', 'block3_conv3', 'block3_pool', 'block3_pool_argmax',
      'block4_conv1', 'block4_conv2', 'block4_conv3', 'block4_pool', 'block4_pool_argmax', 'block5_conv1',
      'content_target/block4_conv2',
      'style_target/block1_conv1', 'style_target/block2_conv1', 'style_target/block3_conv1', 'style_target/block4_conv1', 'style_target/block5_conv1',
    ]);
    for (const t of kept) expect(t.bytes).toBe(t.bytesPerElement * prod(t.shape));
    expect(estimateMemory(GATYS).breakdown.activations).toBe(expected);
  });

  it('average pooling keeps every map up to the deepest layer and no pool tensors', () => {
    const spec: EstimateSpec = { ...GATYS, pool: 'avg', styleLayers: ['conv1_1'], contentLayers: ['conv2_2'] };
    const kept = keptTensors(spec);
    expect(kept.map((t) => t.name)).toEqual(['block1_conv1', 'block1_conv2', 'block2_conv1', 'block2_conv2', 'content_target/block2_conv2', 'style_target/block1_conv1']);
    expect(estimateMemory(spec).breakdown.activations).toBe(4 * (2 * 64 * 48 * 64 + 2 * 128 * 24 * 32 + 128 * 24 * 32 + 64 * 64));
  });

  it('with the mask gradient (WebGPU, DirectML, CoreML) no pool is folded: every map and pool output is kept, no argmax', () => {
    const kept = keptTensors({ ...GATYS, device: 'dml', maxPoolGrad: 'mask', styleLayers: ['block1_conv1'], contentLayers: ['block2_conv2'] });
    expect(kept.map((t) => `${t.name}:${t.bytesPerElement}`)).toEqual([
      'block1_conv1:4', 'block1_conv2:4', 'block1_pool:4', 'block2_conv1:4', 'block2_conv2:4', 'content_target/block2_conv2:4', 'style_target/block1_conv1:4',
    ]);
  });

  it('a max pool whose input layer carries a loss is differentiated by comparison: its input map and output are kept', () => {
    const kept = keptTensors({ ...GATYS, styleLayers: ['block1_conv2'], contentLayers: ['block2_conv1'] });
    expect(kept.map((t) => `${t.name}:${t.bytesPerElement}`)).toEqual([
      'block1_conv1:4', 'block1_conv2:4', 'block1_pool:4', 'block2_conv1:4', 'content_target/block2_conv1:4', 'style_target/block1_conv2:4',
    ]);
  });

  it('with masks: each mask\'s pooled levels, per style layer and style mask F ⊙ w_k and its own target, m ⊙ (F − P) per content layer', () => {
    const spec = { ...GATYS, styleLayers: ['block1_conv1', 'block2_conv1'], contentLayers: ['block2_conv2'], styleImages: 2 };
    const plain = keptTensors(spec).map((t) => t.name);
    const masked = keptTensors({ ...spec, styleMasks: 2, contentMask: true });
    const extra = masked.filter((t) => !plain.includes(t.name)).map((t) => `${t.name}:${t.shape.join('x')}`);
    expect(extra).toEqual([
      'style_mask/0/block2:1x24x32', 'style_mask/1/block2:1x24x32', 'content_mask/block2:1x24x32',
      'content_masked_diff/block2_conv2:128x24x32',
      'style_target/block1_conv1/0:64x64', 'style_masked/block1_conv1/0:64x3072', 'style_target/block1_conv1/1:64x64', 'style_masked/block1_conv1/1:64x3072',
      'style_target/block2_conv1/0:128x128', 'style_masked/block2_conv1/0:128x768', 'style_target/block2_conv1/1:128x128', 'style_masked/block2_conv1/1:128x768',
    ]);
    // The blended targets give way to each style's own.
    expect(masked.map((t) => t.name)).not.toContain('style_target/block1_conv1');
    // F ⊙ w_k counted once (measured: docs/memory.md), the masks' planes as read and at the image's size with the images.
    const a = estimateMemory(spec);
    const b = estimateMemory({ ...spec, styleMasks: 2, contentMask: true });
    const fw = masked.filter((t) => t.name.startsWith('style_masked/')).reduce((n, t) => n + t.bytes, 0);
    expect(fw).toBe(4 * 2 * (64 * 3072 + 128 * 768));
    expect(b.parts.imageBuffers - a.parts.imageBuffers).toBe(2 * 3 * 64 * 48 * 4);
    expect(b.breakdown.activations - a.breakdown.activations).toBe(masked.reduce((n, t) => n + t.bytes, 0) - keptTensors(spec).reduce((n, t) => n + t.bytes, 0));
  });
});

describe('estimateMemory', () => {
  const n = 3 * 64 * 48;

  it('sums its breakdown on the CPU; the parts add up to the breakdown', () => {
    const e = estimateMemory(GATYS);
    const b = e.breakdown;
    expect(e.totalBytes).toBe(Math.round(b.weights + b.activations + b.workspace + b.optimizer + b.runtime));
    // The model bytes are released once onnxruntime has loaded them: they are not part of the peak.
    expect(b.weights).toBeCloseTo(e.parts.loadedWeights + e.parts.ortWeights + e.parts.setupExtra, 3);
    expect(b.workspace).toBeCloseTo(e.parts.transient + e.parts.imageBuffers, 3);
    expect(b.runtime).toBe(CALIBRATION.runtimeBytes);
    expect(e.deviceBytes).toBeNull();
    expect(e.calibrated).toBe(true);
  });

  it('weights: the whole VGG19 as loaded, the model (kernels twice, biases once) of the layers used, onnxruntime\'s copies', () => {
    expect(VGG19_PARAMETERS).toBe(20_024_384);
    const used = VGG19_CONV_LAYERS.slice(0, 13); // up to block5_conv1
    const model = 4 * used.reduce((a, l) => a + 2 * 9 * l.inChannels * l.outChannels + l.outChannels, 0);
    const e = estimateMemory({ ...GATYS, convAlgorithm: 'direct' });
    expect(e.convAlgorithm).toBe('direct');
    expect(e.parts.loadedWeights).toBe(4 * 20_024_384);
    expect(e.parts.modelBytes).toBe(model);
    expect(e.parts.winogradBytes).toBe(0);
    expect(e.parts.ortWeights).toBeCloseTo(CALIBRATION.ortWeightCopies * model, 3);
  });

  it('weights with Winograd (256 px: every block 3–5 map has ≥ 16 tiles): U (36 values per 9, twice) and one 6x6 basis per channel count', () => {
    const used = VGG19_CONV_LAYERS.slice(0, 13);
    const early = used.filter((l) => l.block <= 2);
    const late = used.filter((l) => l.block >= 3);
    const conv = 4 * early.reduce((a, l) => a + 2 * 9 * l.inChannels * l.outChannels + l.outChannels, 0);
    // Channel counts read or written by blocks 3–5 up to block5_conv1: 128, 256, 512.
    const winograd = 4 * late.reduce((a, l) => a + 2 * 36 * l.inChannels * l.outChannels + l.outChannels, 0) + 4 * 36 * 36 * (128 + 256 + 512);
    const at256 = { ...GATYS, width: 256, height: 256 };
    const e = estimateMemory({ ...at256, convAlgorithm: 'winograd' });
    expect(e.convAlgorithm).toBe('winograd');
    expect(e.parts.winogradBytes).toBe(winograd);
    expect(e.parts.modelBytes).toBe(conv + winograd);
    expect(e.parts.ortWeights).toBeCloseTo(CALIBRATION.ortWeightCopies * conv + CALIBRATION.winogradKernelCopies * winograd, 3);
    expect(e.totalBytes).toBeGreaterThan(estimateMemory({ ...at256, convAlgorithm: 'direct' }).totalBytes + 400 * MB);
    // At 64x48 block 3's map is 16x12 (12 tiles): no layer takes Winograd, nothing is added.
    expect(estimateMemory({ ...GATYS, convAlgorithm: 'winograd' }).parts.winogradBytes).toBe(0);
  });

  it('optimizer: L-BFGS 2·m·n history + 6 buffers (+ m pairs of float64 scalars), Adam 3·n, gd n', () => {
    expect(estimateMemory({ ...GATYS, lbfgsHistory: 20 }).breakdown.optimizer).toBe((2 * 20 + 6) * n * 4 + 16 * 20);
    expect(estimateMemory({ ...GATYS, lbfgsHistory: 5 }).breakdown.optimizer).toBe((2 * 5 + 6) * n * 4 + 16 * 5);
    expect(estimateMemory({ ...GATYS, optimizer: 'adam' }).breakdown.optimizer).toBe(3 * n * 4);
    expect(estimateMemory({ ...GATYS, optimizer: 'gd' }).breakdown.optimizer).toBe(n * 4);
  });

  it('workspace: the transient maps of the largest feature map, the images', () => {
    const e = estimateMemory(GATYS);
    const largest = 64 * 48 * 64 * 4;
    expect(e.parts.largestMap).toBe(largest);
    expect(e.parts.transient).toBeCloseTo(CALIBRATION.transientMaps * largest, 3);
    expect(e.parts.imageBuffers).toBe(7 * n * 4);
    expect(estimateMemory({ ...GATYS, styleImages: 2, styleScale: 2 }).parts.imageBuffers).toBe((6 + 2 * 4) * n * 4);
  });

  it('at small sizes the targets\' setup sets the peak: its extra graph weights are added to the weights', () => {
    const small = estimateMemory(GATYS);
    const { runtimeBytes, setupGraphShare, ortWeightCopies } = CALIBRATION;
    const p = small.parts;
    expect(p.setupExtra).toBeGreaterThan(0);
    // The targets' graph (the loss graph's algorithm, measured no larger than Conv's): its share of a Conv model.
    const convModel = 4 * VGG19_CONV_LAYERS.slice(0, 13).reduce((a, l) => a + 2 * 9 * l.inChannels * l.outChannels + l.outChannels, 0);
    expect(small.totalBytes).toBe(Math.round(runtimeBytes + p.loadedWeights + p.ortWeights + setupGraphShare * (1 + ortWeightCopies) * convModel + p.imageBuffers));
    expect(estimateMemory({ ...GATYS, width: 512, height: 512 }).parts.setupExtra).toBe(0);
  });

  it('grows with the image and with deeper layers', () => {
    const at = (px: number): number => estimateMemory({ ...GATYS, width: px, height: px }).totalBytes;
    expect(at(128)).toBeLessThan(at(256));
    expect(at(256)).toBeLessThan(at(512));
    expect(estimateMemory({ ...GATYS, styleLayers: ['conv1_1'], contentLayers: ['conv2_2'] }).totalBytes).toBeLessThan(estimateMemory(GATYS).totalBytes);
  });

  it('on a GPU provider, splits host and device memory and says it is not calibrated', () => {
    const e = estimateMemory({ ...GATYS, device: 'cuda' });
    expect(e.calibrated).toBe(false);
    expect(e.deviceBytes).toBeGreaterThan(e.breakdown.activations);
    expect(e.totalBytes).toBeLessThan(estimateMemory(GATYS).totalBytes);
  });

  it('rejects what is not a size or a layer, naming it', () => {
    expect(() => estimateMemory({ ...GATYS, width: 0 })).toThrow(/width must be a whole number/);
    expect(() => estimateMemory({ ...GATYS, styleLayers: ['conv9_9'] })).toThrow(/Unknown VGG19 layer "conv9_9"/);
    expect(() => estimateMemory({ ...GATYS, styleLayers: [], contentLayers: [] })).toThrow(/at least one/);
  });
});

describe('fitting a memory limit', () => {
  const spec: EstimateSpec = { ...GATYS, width: 1024, height: 768 };

  it('largestFittingSize is the largest longest side whose estimate (Conv\'s, for auto: what a run under a limit uses) is within the limit', () => {
    const limit = 1200 * MB;
    const px = largestFittingSize(spec, limit)!;
    const at = (p: number): number => estimateMemory({ ...spec, convAlgorithm: 'direct', ...sizeWithLongest(1024, 768, p) }).totalBytes;
    expect(px).toBeGreaterThan(64);
    expect(px).toBeLessThan(1024);
    expect(at(px)).toBeLessThanOrEqual(limit);
    expect(at(px + 1)).toBeGreaterThan(limit);
    expect(largestFittingSize(spec, 100 * 2 ** 30)).toBe(1024);
    expect(largestFittingSize(spec, 100 * MB)).toBeNull();
  });

  it('planTiling fits the tiles, the whole-image pass and the full-size images in the limit', () => {
    const plan = planTiling({ ...spec, width: 4000, height: 3000 }, 2000 * MB)!;
    expect(plan.totalBytes).toBeLessThanOrEqual(2000 * MB);
    expect(plan.tilePx).toBeGreaterThanOrEqual(64);
    expect(plan.coherencePx).toBeLessThanOrEqual(2000);
    expect(plan.overlapPx).toBe(64);
    expect(planTiling(spec, 300 * MB)).toBeNull();
  });

  it('planRender: whole when it fits, else tiles (auto) or a smaller size (off), with a one-line reason', () => {
    // Conv: Winograd's ~0.5 GB more weights would leave smaller tiles (and a narrower overlap) in this limit.
    const render = { width: 1024, height: 768, settings: { ...DEFAULT_RUN_SETTINGS, convAlgorithm: 'direct' as const } };
    expect(planRender(render, 100 * 2 ** 30, 'auto')).toMatchObject({ plan: { mode: 'whole', sizePx: 1024 }, notice: null });
    const tiled = planRender(render, 1200 * MB, 'auto');
    expect(tiled.plan.mode).toBe('tiled');
    expect(tiled.notice).toMatch(/^1024x768 needs about .* over the 1\.17 GB memory limit: rendering \d+ tiles of \d+ px \(overlap 64 px\) after a whole-image pass at \d+ px$/);
    const smaller = planRender(render, 1200 * MB, 'off');
    expect(smaller.plan).toMatchObject({ mode: 'downscaled', sizePx: largestFittingSize({ ...GATYS, width: 1024, height: 768, convAlgorithm: 'direct' }, 1200 * MB) });
    expect(smaller.notice).toMatch(/optimising at \d+ px and upsampling to 1024 px$/);
    expect(planRender(render, 100 * 2 ** 30, 256).plan).toMatchObject({ mode: 'tiled', tilePx: 256 });
    expect(() => planRender(render, 200 * MB, 'auto')).toThrow(/Not even a 64-px run fits in the 200 MB memory limit/);
  });

  it('planRender with auto convs: Conv wherever the whole image does not fit (Winograd would only shrink the tiles)', () => {
    const auto = { width: 1024, height: 768, settings: DEFAULT_RUN_SETTINGS };
    const direct = { ...auto, settings: { ...DEFAULT_RUN_SETTINGS, convAlgorithm: 'direct' as const } };
    expect(planRender(auto, 1200 * MB, 'auto')).toEqual(planRender(direct, 1200 * MB, 'auto'));
    expect(planRender(auto, 1200 * MB, 'off')).toEqual(planRender(direct, 1200 * MB, 'off'));
    // A 384-px render that fits with Winograd keeps it.
    const small = { width: 384, height: 384, settings: DEFAULT_RUN_SETTINGS };
    expect(convForLimit(small, 2000 * MB).settings.convAlgorithm).toBeUndefined();
    expect(convForLimit(small, 1200 * MB).settings.convAlgorithm).toBe('direct');
    expect(planRender(small, 1200 * MB, 'auto').plan).toMatchObject({ mode: 'whole', sizePx: 384 });
  });
});

describe('isOutOfMemoryError', () => {
  it('recognises onnxruntime\'s, V8\'s and the L-BFGS history\'s allocation failures, through causes', () => {
    expect(isOutOfMemoryError(new Error('No execution provider could run the graph: cpu unavailable (Exception during initialization: std::bad_alloc).'))).toBe(true);
    expect(isOutOfMemoryError(new Error("Non-zero status code returned while running MaxPool node. Name:'block1_pool_nchwc' Status Message: bfc_arena.cc:360 void* onnxruntime::BFCArena::AllocateRawInternal(size_t, bool, …) Failed to allocate memory for requested buffer of size 16777216"))).toBe(true);
    expect(isOutOfMemoryError(new Error('CUDA failure 2: out of memory'))).toBe(true);
    expect(isOutOfMemoryError(new RangeError('Array buffer allocation failed'))).toBe(true);
    expect(isOutOfMemoryError(new NstError('BAD_ARGUMENT', 'L-BFGS with historySize 20 needs 12.0 GiB for 80000000 values: lower historySize or the image size.'))).toBe(true);
    expect(isOutOfMemoryError(new NstError('RUNTIME_FAILURE', 'onnxruntime (cpu) failed: run failed', { cause: new Error('std::bad_alloc') }))).toBe(true);
    expect(isOutOfMemoryError(new TypeError('Missing feed "image".'))).toBe(false);
    expect(isOutOfMemoryError('a string')).toBe(false);
  });
});

/** `nst estimate --measure`: a fresh process runs real iterations on noise and reads its own peak RSS. */
async function measured(sizePx: number, extra: readonly string[] = []): Promise<{ totalMb: number; measuredPeakMb: number; errorPercent: number }> {
  const result = await runNst(['estimate', '--size', String(sizePx), '--measure', '2', '--random-weights', '--threads', '2', ...extra, '--json']);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return jsonLines(result.stdout)[0] as { totalMb: number; measuredPeakMb: number; errorPercent: number };
}

describe('the estimate against measured peak RSS (fresh processes, random weights, 2 L-BFGS iterations)', () => {
  // Calibrated at 256–512 px to within 10%; at these small sizes the constant parts dominate and the
  // measured peak is the targets' setup: 20% is the stated tolerance.
  it.each([64, 128])('%i px: within 20%', async (sizePx) => {
    const m = await measured(sizePx);
    console.log(`[estimate] ${sizePx} px: estimate ${m.totalMb} MB, measured ${Math.round(m.measuredPeakMb)} MB (${m.errorPercent}%)`);
    expect(Math.abs(m.errorPercent)).toBeLessThanOrEqual(20);
  });

  it('128 px with two style masks and a content mask: within 20%', async () => {
    const m = await measured(128, ['--style-images', '2', '--masks', '--content-mask']);
    console.log(`[estimate] 128 px, 2 style masks + content mask: estimate ${m.totalMb} MB, measured ${Math.round(m.measuredPeakMb)} MB (${m.errorPercent}%)`);
    expect(Math.abs(m.errorPercent)).toBeLessThanOrEqual(20);
  });
});
