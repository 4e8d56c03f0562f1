// Memory a style-transfer run will need, from shapes alone: what `nst estimate` prints and the fallback plans with.

import os from 'node:os';
import { NstError } from '../errors.js';
import type { PoolKind } from '../settings.js';
import type { OptimizerName } from '../optim/types.js';
import { isCpuProvider, type Device } from '../model/runtime/runtime.js';
import type { MaxPoolGrad } from '../model/graph/vgg-graph.js';
import { winogradPolicy } from '../model/graph/ops/conv.js';
import { VGG19_CONV_LAYERS, canonicalLayerName, featureSize, layerSpec, type ConvLayerSpec } from '../model/vgg19.js';

export const MB = 2 ** 20;

/**
 * Calibrated against the peak RSS of fresh `nst stylize` processes at 64–512 px (docs/memory.md, "The estimate";
 * `npm run bench:quality` prints measured and estimated peaks side by side).
 */
export const CALIBRATION = {
  /** Node, V8's heap, onnxruntime and sharp loaded, onnxruntime's thread pool and session bookkeeping. */
  runtimeBytes: 165 * MB,
  /**
   * onnxruntime's own copies of the graph's weights per byte of model: its initializer tensors, the NCHWc
   * re-laid-out kernels its CPU optimiser makes, and what the target graph built during setup leaves resident.
   */
  ortWeightCopies: 2.15,
  /**
   * Tensors alive besides the kept ones at the busiest point (the backward pass through block 1: the incoming
   * gradient, the ReLU mask, their product, the conv's input gradient, NCHWc reorders), in units of the largest
   * feature map.
   */
  transientMaps: 3.7,
  /**
   * While the targets are computed, a forward-only graph (half the model: no flipped kernels) and its onnxruntime
   * session exist beside the loss graph's: their weight bytes as a share of the loss graph's. At small sizes this
   * setup, not the iterations, sets the peak.
   */
  setupGraphShare: 0.4,
  /**
   * Resident bytes per byte of Winograd's transformed kernels U (graph/ops/conv.ts; 4x a 3x3 kernel's size, blocks
   * 3–5, forward and input gradient): onnxruntime's initializers plus what its loading leaves resident, fitted to
   * `nst estimate --measure` at 256 and 512 px.
   */
  winogradKernelCopies: 1.85,
} as const;

/** A run's shape: its size, layers, optimizer and the style images it holds. */
export interface RunShape {
  readonly width: number;
  readonly height: number;
  readonly styleLayers: readonly string[];
  readonly contentLayers: readonly string[];
  readonly pool?: PoolKind;
  readonly optimizer?: OptimizerName;
  /** L-BFGS curvature pairs kept (default 20, the engine's). */
  readonly lbfgsHistory?: number;
  /** Style images held at once (default 1), each `styleScale` times the output's size (default 1). */
  readonly styleImages?: number;
  readonly styleScale?: number;
  /** Style masks (guided Grams, one per style image; default 0) and whether a content mask (default false). */
  readonly styleMasks?: number;
  readonly contentMask?: boolean;
  /** Whether a temporal term (video): its warped target (3 planes) and mask (1 plane) as given and as fed. */
  readonly temporal?: boolean;
}

/** A run's shape and what executes it: the parts of its Execution (render/execution.ts) that decide its memory. */
export interface EstimateSpec extends RunShape {
  readonly device: Device;
  readonly convAlgorithm: 'direct' | 'winograd';
  readonly maxPoolGrad: MaxPoolGrad;
}

export interface MemoryBreakdown {
  /**
   * VGG19 as loaded (all 16 layers, float32), the ONNX model bytes (kernels and their flipped copies), onnxruntime's
   * copies; and, where the setup sets the peak (small sizes), the target graph's weights built beside them.
   */
  readonly weights: number;
  /** Forward tensors the backward pass reads (post-ReLU maps, pool outputs and argmax indices) and the targets. */
  readonly activations: number;
  /** Transient tensors at the busiest point, images and gradient buffers. */
  readonly workspace: number;
  /** Optimizer state: L-BFGS 2·m·n history + 6 n-sized buffers, Adam 3 n, gd 1 n (n = 3·width·height floats). */
  readonly optimizer: number;
  /** The calibrated constant: Node, onnxruntime, sharp, thread pools. */
  readonly runtime: number;
}

/** The estimator's spec for a run of `shape` executed as its Execution says (render/execution.ts). */
export function withExecution(shape: RunShape, execution: Pick<EstimateSpec, 'device' | 'convAlgorithm' | 'maxPoolGrad'>): EstimateSpec {
  return { ...shape, device: execution.device, convAlgorithm: execution.convAlgorithm, maxPoolGrad: execution.maxPoolGrad };
}

export interface KeptTensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly bytesPerElement: 4 | 8;
  readonly bytes: number;
}

export interface MemoryEstimate {
  readonly width: number;
  readonly height: number;
  /** Peak resident memory of the process, host side. */
  readonly totalBytes: number;
  readonly breakdown: MemoryBreakdown;
  /** On a GPU provider, what lives in device memory (weights, activations, workspace); null on the CPU. */
  readonly deviceBytes: number | null;
  /** False where no measurement backs the constants (GPU providers): a rough figure. */
  readonly calibrated: boolean;
  /** The conv algorithm costed. */
  readonly convAlgorithm: 'direct' | 'winograd';
  readonly keptTensors: readonly KeptTensor[];
  /** The parts the breakdown sums, for `nst estimate` and for checking the arithmetic. */
  readonly parts: {
    readonly loadedWeights: number;
    /** The ONNX model's weights: held while onnxruntime loads it, released after (so not in the iterations' peak). */
    readonly modelBytes: number;
    /** Of modelBytes, Winograd's transformed kernels U (0 with Conv). */
    readonly winogradBytes: number;
    readonly ortWeights: number;
    readonly largestMap: number;
    readonly transient: number;
    readonly imageBuffers: number;
    /** What the setup's target graph adds over the iterations' peak (0 unless the setup sets the peak). */
    readonly setupExtra: number;
  };
}

const FLOAT = 4;

/** Parameters of the whole VGG19 without classifier (what every weights loader holds): 20,024,384. */
export const VGG19_PARAMETERS = VGG19_CONV_LAYERS.reduce((n, l) => n + 9 * l.inChannels * l.outChannels + l.outChannels, 0);

function resolve(names: readonly string[]): string[] {
  return [...new Set(names.map((n) => canonicalLayerName(n)))];
}

function checkSpec(spec: EstimateSpec): void {
  for (const [label, value] of [['width', spec.width], ['height', spec.height]] as const) {
    if (!Number.isInteger(value) || value < 1) throw new NstError('BAD_ARGUMENT', `${label} must be a whole number of pixels ≥ 1, got ${value}.`);
  }
  if (spec.styleLayers.length + spec.contentLayers.length === 0) throw new NstError('BAD_ARGUMENT', 'Choose at least one style or content layer.');
  const m = spec.lbfgsHistory ?? 20;
  if (!Number.isInteger(m) || m < 1 || m > 1000) throw new NstError('BAD_ARGUMENT', `lbfgsHistory must be a whole number from 1 to 1000, got ${m}.`);
}

/**
 * The forward tensors the loss graph keeps for its backward pass (see graph/vgg-graph.ts): the post-ReLU map F_i
 * of every conv whose ReLU mask is read (all but those followed by a max pool differentiated through its argmax
 * with the ReLU folded in), those pools' outputs (float32) and argmax indices (int64), the pools differentiated by
 * comparison (their outputs), then the content targets P_l and the style Grams A_l the graph is fed. With masks
 * (graph/ops/mask.ts, gram.ts, losses.ts): each mask's pooled levels, per style layer and style mask F ⊙ w_k (its
 * backward multiplies by it again) and that style's own A_l^k; per content layer with a content mask m ⊙ (F − P).
 */
export function keptTensors(spec: EstimateSpec): KeptTensor[] {
  checkSpec(spec);
  const style = resolve(spec.styleLayers);
  const content = resolve(spec.contentLayers);
  const pool = spec.pool ?? 'max';
  const lossLayers = new Set([...style, ...content].map((l) => layerSpec(l).index));
  const depth = Math.max(...lossLayers) + 1;
  const out: KeptTensor[] = [];
  const push = (name: string, shape: number[], bytesPerElement: 4 | 8): void => {
    out.push({ name, shape, bytesPerElement, bytes: shape.reduce((a, b) => a * b, 1) * bytesPerElement });
  };
  for (const layer of VGG19_CONV_LAYERS.slice(0, depth)) {
    const { height, width } = featureSize(layer, spec.height, spec.width);
    const pooled = layer.poolAfter && layer.index < depth - 1;
    const poolShape = [layer.outChannels, Math.floor(height / 2), Math.floor(width / 2)];
    const foldable = pooled && pool === 'max' && spec.maxPoolGrad === 'argmax' && !lossLayers.has(layer.index);
    if (foldable) {
      push(`block${layer.block}_pool`, poolShape, FLOAT);
      push(`block${layer.block}_pool_argmax`, poolShape, 8);
      continue;
    }
    push(layer.name, [layer.outChannels, height, width], FLOAT);
    if (pooled && pool === 'max') push(`block${layer.block}_pool`, poolShape, FLOAT);
  }
  const styleMasks = style.length > 0 ? (spec.styleMasks ?? 0) : 0;
  const contentMask = content.length > 0 && spec.contentMask === true;
  const maskNames = [...Array.from({ length: styleMasks }, (_, k) => `style_mask/${k}`), ...(contentMask ? ['content_mask'] : [])];
  const deepestBlock = VGG19_CONV_LAYERS[depth - 1]!.block;
  for (const mask of maskNames) {
    for (let block = 2; block <= deepestBlock; block++) {
      const span = 2 ** (block - 1);
      push(`${mask}/block${block}`, [1, Math.floor(spec.height / span), Math.floor(spec.width / span)], FLOAT);
    }
  }
  // The temporal term's c ⊙ (x − ω), read again by its gradient (graph/ops/losses.ts).
  if (spec.temporal === true) push('temporal_masked_diff', [3, spec.height, spec.width], FLOAT);
  for (const name of content) {
    const layer = layerSpec(name);
    const { height, width } = featureSize(layer, spec.height, spec.width);
    push(`content_target/${name}`, [layer.outChannels, height, width], FLOAT);
    if (contentMask) push(`content_masked_diff/${name}`, [layer.outChannels, height, width], FLOAT);
  }
  for (const name of style) {
    const layer = layerSpec(name);
    const c = layer.outChannels;
    if (styleMasks === 0) push(`style_target/${name}`, [c, c], FLOAT);
    const { height, width } = featureSize(layer, spec.height, spec.width);
    for (let k = 0; k < styleMasks; k++) {
      push(`style_target/${name}/${k}`, [c, c], FLOAT);
      push(`style_masked/${name}/${k}`, [c, height * width], FLOAT);
    }
  }
  return out;
}

/** Peak memory of one run at spec's size: the larger of the iterations' and the targets' setup (small sizes). */
export function estimateMemory(spec: EstimateSpec): MemoryEstimate {
  const kept = keptTensors(spec);
  const style = resolve(spec.styleLayers);
  const content = resolve(spec.contentLayers);
  const depth = Math.max(...[...style, ...content].map((l) => layerSpec(l).index)) + 1;
  const used = VGG19_CONV_LAYERS.slice(0, depth);
  const gpu = !isCpuProvider(spec.device);
  const { convAlgorithm } = spec;
  const winograd = used.filter((l) => {
    const { height, width } = featureSize(l, spec.height, spec.width);
    return convAlgorithm === 'winograd' && winogradPolicy(l.block, height, width);
  });
  // The model holds each kernel twice (forward, and flipped for the input gradient) plus the biases; a Winograd
  // layer holds its two U = G·g·Gᵀ (36 values per 9) instead, and the graph one 6x6 input-transform basis per
  // channel count.
  const directModel = (layers: readonly ConvLayerSpec[]): number => layers.reduce((n, l) => n + (2 * 9 * l.inChannels * l.outChannels + l.outChannels) * FLOAT, 0);
  const winogradBytes =
    winograd.reduce((n, l) => n + (2 * 36 * l.inChannels * l.outChannels + l.outChannels) * FLOAT, 0) +
    [...new Set(winograd.flatMap((l) => [l.inChannels, l.outChannels]))].reduce((n, c) => n + 36 * 36 * c * FLOAT, 0);
  const convModel = directModel(used.filter((l) => !winograd.includes(l)));
  const modelBytes = convModel + winogradBytes;
  const loadedWeights = VGG19_PARAMETERS * FLOAT;
  const ortWeights = CALIBRATION.ortWeightCopies * convModel + CALIBRATION.winogradKernelCopies * winogradBytes;

  const pixels = spec.width * spec.height;
  const n = 3 * pixels;
  const largestMap = Math.max(...used.map((l) => {
    const { height, width } = featureSize(l, spec.height, spec.width);
    return l.outChannels * height * width * FLOAT;
  }));
  const activations = kept.reduce((a, t) => a + t.bytes, 0);
  // On a GPU the arena (device memory) holds the kept tensors but the targets, fed from buffers the objective holds.
  const arenaKept = kept.filter((t) => !t.name.includes('_target/') && !t.name.startsWith('style_masked/')).reduce((a, t) => a + t.bytes, 0);
  const transient = CALIBRATION.transientMaps * largestMap;
  // The image, its gradient, the objective's bound input and output, the final evaluation's scratch, the content,
  // the style images at their own size, and each mask as read and at the image's size (fed from the objective).
  const styleScale = spec.styleScale ?? 1;
  const imageBuffers = (6 + (spec.styleImages ?? 1) * styleScale * styleScale) * n * FLOAT + 2 * maskCount(spec) * pixels * FLOAT;

  const m = spec.lbfgsHistory ?? 20;
  const optimizerFloats = { lbfgs: (2 * m + 6) * n, adam: 3 * n, gd: n }[spec.optimizer ?? 'lbfgs'];
  const optimizer = optimizerFloats * FLOAT + (spec.optimizer === 'lbfgs' || spec.optimizer === undefined ? 16 * m : 0);

  // The objective lets go of the model bytes once onnxruntime has loaded them. While the targets are computed, the
  // forward-only graph (the same algorithm, forward kernels only) and its session sit beside the loss graph's. With
  // Winograd that graph measured no more than a Conv one (64–128 px), so it is costed as one.
  const iterationsPeak = CALIBRATION.runtimeBytes + loadedWeights + ortWeights + activations + transient + imageBuffers + optimizer;
  const targetGraph = CALIBRATION.setupGraphShare * (1 + CALIBRATION.ortWeightCopies) * directModel(used);
  const setupPeak = CALIBRATION.runtimeBytes + loadedWeights + ortWeights + targetGraph + imageBuffers;
  const setupExtra = gpu ? 0 : Math.max(0, setupPeak - iterationsPeak);
  const breakdown: MemoryBreakdown = {
    weights: loadedWeights + ortWeights + setupExtra,
    activations,
    workspace: transient + imageBuffers,
    optimizer,
    runtime: CALIBRATION.runtimeBytes,
  };
  // On a GPU the arena (activations, transients) and onnxruntime's weight copies live in device memory.
  const deviceBytes = gpu ? ortWeights + arenaKept + transient : null;
  const hostBytes = gpu
    ? breakdown.runtime + loadedWeights + modelBytes + (activations - arenaKept) + imageBuffers + optimizer
    : breakdown.weights + breakdown.activations + breakdown.workspace + breakdown.optimizer + breakdown.runtime;
  return {
    width: spec.width,
    height: spec.height,
    totalBytes: Math.round(hostBytes),
    breakdown,
    deviceBytes: deviceBytes === null ? null : Math.round(deviceBytes),
    calibrated: !gpu,
    convAlgorithm,
    keptTensors: kept,
    parts: { loadedWeights, modelBytes, winogradBytes, ortWeights, largestMap, transient, imageBuffers, setupExtra },
  };
}

/** width × height with the longest side `longestPx`, keeping the aspect ratio (as multiscale.resizeLongest does). */
export function sizeWithLongest(width: number, height: number, longestPx: number): { width: number; height: number } {
  const factor = longestPx / Math.max(width, height);
  return { width: Math.max(1, Math.round(width * factor)), height: Math.max(1, Math.round(height * factor)) };
}

/** The smallest size a fallback will go to: below this VGG19's deep layers are a few pixels across. */
export const MIN_FALLBACK_PX = 64;

/**
 * The largest longest side (at most spec's own, at least MIN_FALLBACK_PX) whose run fits in `limitBytes`, keeping
 * the aspect ratio; null when even the smallest does not fit. Costed with spec's execution (an 'auto' render over its
 * limit runs with Conv, whose kernels are the smallest: render/execution.ts).
 */
export function largestFittingSize(spec: EstimateSpec, limitBytes: number): number | null {
  const longest = Math.max(spec.width, spec.height);
  const at = (px: number): number => estimateMemory({ ...spec, ...sizeWithLongest(spec.width, spec.height, px) }).totalBytes;
  const low = Math.min(MIN_FALLBACK_PX, longest);
  if (at(low) > limitBytes) return null;
  if (at(longest) <= limitBytes) return longest;
  let lo = low;
  let hi = longest;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (at(mid) <= limitBytes) lo = mid;
    else hi = mid;
  }
  return lo;
}

export interface TilePlan {
  /** Side of the square tiles (or the image's side where it is smaller). */
  readonly tilePx: number;
  readonly overlapPx: number;
  /** Longest side of the whole-image pass that gives the tiles a coherent start. */
  readonly coherencePx: number;
  /** Peak of the tiled run: the larger of the pass and one tile, plus the full-size images held throughout. */
  readonly totalBytes: number;
}

/**
 * Bytes of the full-size images a tiled run holds besides one tile's run: the content, the style images at their
 * size, the upsampled pass, the weighted sum of the tiles and its coverage, and the blended image handed out.
 */
export function tiledImageBytes(spec: EstimateSpec): number {
  const styleScale = spec.styleScale ?? 1;
  // Masks: as read, and at the output's size for the tiles to crop (tiles/tile-masks.ts).
  return ((4 + 1 / 3 + (spec.styleImages ?? 1) * styleScale * styleScale) * 3 + 2 * maskCount(spec)) * spec.width * spec.height * FLOAT;
}

/** Grey planes of masks a run holds: the style masks, the content mask, and a temporal term's target (3) and mask (1). */
function maskCount(spec: RunShape): number {
  return (spec.styleMasks ?? 0) + (spec.contentMask === true ? 1 : 0) + (spec.temporal === true ? 4 : 0);
}

export const DEFAULT_TILE_OVERLAP_PX = 64;

/**
 * Tiling that fits in `limitBytes`: the largest square tile (up to `maxTilePx`) and whole-image pass that fit
 * beside the full-size images. Null when nothing fits.
 */
export function planTiling(spec: EstimateSpec, limitBytes: number, options: { maxTilePx?: number; overlapPx?: number } = {}): TilePlan | null {
  const longest = Math.max(spec.width, spec.height);
  const held = tiledImageBytes(spec);
  const budget = limitBytes - held;
  if (budget <= 0) return null;
  const maxTile = Math.min(options.maxTilePx ?? longest, longest);
  const square = largestFittingSize({ ...spec, width: maxTile, height: maxTile }, budget);
  const fit = largestFittingSize(spec, budget);
  if (square === null || fit === null) return null;
  // A guide for the tiles, which then optimise every pixel at full size: at most half the output, as multi-scale's
  // coarse scales are.
  const coherencePx = Math.min(fit, Math.max(MIN_FALLBACK_PX, Math.round(longest / 2)));
  const tilePx = Math.min(square, maxTile);
  const overlapPx = Math.min(options.overlapPx ?? DEFAULT_TILE_OVERLAP_PX, Math.floor(tilePx / 4));
  const tileRun = estimateMemory({ ...spec, width: Math.min(tilePx, spec.width), height: Math.min(tilePx, spec.height) }).totalBytes;
  const pass = estimateMemory({ ...spec, ...sizeWithLongest(spec.width, spec.height, coherencePx) }).totalBytes;
  return { tilePx, overlapPx, coherencePx, totalBytes: held + Math.max(tileRun, pass) };
}

/**
 * The default budget: the memory available now (MemAvailable on Linux, available physical memory on Windows) plus
 * what this process already holds, less a margin for the rest of the system. macOS counts file cache as used, so
 * there three quarters of the physical memory stand in.
 */
export function defaultMemoryLimit(): number {
  const total = os.totalmem();
  const margin = Math.min(1024 * MB, 0.1 * total);
  const available = process.platform === 'darwin' ? 0.75 * total : Math.min(total, os.freemem() + process.memoryUsage().rss);
  return Math.max(256 * MB, Math.floor(available - margin));
}

/**
 * Whether an error is a failed allocation: onnxruntime's ("std::bad_alloc", "Failed to allocate memory", BFC arena,
 * CUDA/cuDNN out of memory), V8's ("Array buffer allocation failed"), or the L-BFGS history's. Looks through causes.
 */
export function isOutOfMemoryError(error: unknown): boolean {
  const pattern = /bad_alloc|failed to allocate|out of memory|cannot allocate memory|allocation failed|ALLOC_FAILED|BFCArena|L-BFGS with historySize \d+ needs/i;
  for (let e: unknown = error, depth = 0; e !== undefined && e !== null && depth < 8; depth++) {
    const message = e instanceof Error ? e.message : String(e);
    if (pattern.test(message)) return true;
    e = e instanceof Error ? (e as Error & { cause?: unknown }).cause : undefined;
  }
  return false;
}

/** "1.53 GB" / "812 MB". */
export function formatBytes(bytes: number): string {
  return bytes >= 1000 * MB ? `${(bytes / 2 ** 30).toFixed(2)} GB` : `${Math.round(bytes / MB)} MB`;
}
