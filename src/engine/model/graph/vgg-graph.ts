// Assembles VGG19 forward + Gatys losses + the backward pass to the image as one inference graph.

import { GraphBuilder, type OnnxModel, type Value } from './builder.js';
import { WINOGRAD_MIN_TILES, conv3x3, conv3x3InputGrad, winogradPolicy } from './ops/conv.js';
import { relu, reluGrad } from './ops/relu.js';
import { maxPoolGradThroughRelu, pool2x2, pool2x2Grad, type Pooled } from './ops/pool.js';
import type { PoolKind } from '../../settings.js';
import { asMatrix, gram, guidedStyleLoss, styleLoss } from './ops/gram.js';
import { contentLoss, maskedContentLoss, temporalLoss, totalVariation } from './ops/losses.js';
import { MaskPyramid } from './ops/mask.js';
import { VGG19_CONV_LAYERS, canonicalLayerName, featureSize, layerSpec } from '../vgg19.js';
import type { ConvWeights, Vgg19Weights } from '../../weights/types.js';
import { NstError } from '../../errors.js';

/** Caffe preprocessing mean, in RGB order (Keras lists it as BGR [103.939, 116.779, 123.68]). */
export const CAFFE_MEAN_RGB = [123.68, 116.779, 103.939] as const;

/** Names of the graph's inputs and outputs, shared by the builder and the session that feeds it. */
export const io = {
  image: 'image',
  styleTarget: (layer: string) => `style_target/${layer}`,
  /** With style masks: style image k's own target Gram at `layer` (GraphSpec.styleMasks). */
  styleTargetOf: (layer: string, k: number) => `style_target/${layer}/${k}`,
  /** With style masks: style image k's mask at the image's size, [1, 1, H, W], values in [0, 1]. */
  styleMask: (k: number) => `style_mask/${k}`,
  /** With a content mask: where the photo stays, [1, 1, H, W], values in [0, 1]. */
  contentMask: 'content_mask',
  styleWeight: (layer: string) => `style_weight/${layer}`,
  contentTarget: (layer: string) => `content_target/${layer}`,
  contentWeight: (layer: string) => `content_weight/${layer}`,
  tvWeight: 'tv_weight',
  /** With a temporal term: the previous result warped to this frame, [1, 3, H, W], in the image's value space. */
  temporalTarget: 'temporal_target',
  /** With a temporal term: the consistency mask, [1, 1, H, W], values in [0, 1]. */
  temporalMask: 'temporal_mask',
  temporalWeight: 'temporal_weight',
  total: 'total',
  styleLoss: (layer: string) => `style/${layer}`,
  contentLoss: (layer: string) => `content/${layer}`,
  tv: 'tv',
  temporal: 'temporal',
  grad: 'grad',
  gram: (layer: string) => `gram/${layer}`,
  features: (layer: string) => `features/${layer}`,
} as const;

/**
 * How max pools are differentiated: 'argmax' (MaxPool's indices + MaxUnpool, with the ReLU below folded in; fastest
 * on CPU) or 'mask' (compare with the upsampled maximum; for providers without MaxPool indices, such as WebGPU).
 */
export type MaxPoolGrad = 'argmax' | 'mask';

export interface GraphSpec {
  readonly height: number;
  readonly width: number;
  /** Canonical or alias names; order is kept (and canonicalised) in the built graph's layer lists. */
  readonly styleLayers: readonly string[];
  readonly contentLayers: readonly string[];
  readonly pool: PoolKind;
  readonly weights: Vgg19Weights;
  /** See MaxPoolGrad; default 'argmax'. The run's execution decides it (render/execution.ts). */
  readonly maxPoolGrad?: MaxPoolGrad;
  /**
   * 'winograd': F(4x4,3x3) on the layers ops/conv.ts's winogradPolicy picks (blocks 3–5), forward and input
   * gradient; 'direct': onnxruntime's Conv everywhere. Decided by the run's execution ('auto' is resolved there,
   * render/execution.ts). Default 'direct'.
   */
  readonly convAlgorithm?: 'direct' | 'winograd';
  /** With 'winograd': the fewest 4x4 tiles a layer's map needs to get it (default WINOGRAD_MIN_TILES; tests use 1). */
  readonly winogradMinTiles?: number;
  /**
   * Spatial control: how many style images have a mask (guided Grams, each style its own target Gram and mask as
   * graph inputs: io.styleTargetOf, io.styleMask). 0 or absent: the plain style term with one (blended) target.
   */
  readonly styleMasks?: number;
  /** Spatial control: the content term is weighted per pixel by a mask (io.contentMask). */
  readonly contentMask?: boolean;
  /** Video: the temporal term on the image (io.temporalTarget, io.temporalMask, io.temporalWeight; docs/loss.md). */
  readonly temporal?: boolean;
}

export interface LayerShape {
  readonly layer: string;
  readonly channels: number;
  readonly height: number;
  readonly width: number;
}

export interface BuiltGraph {
  readonly model: OnnxModel;
  readonly styleLayers: readonly LayerShape[];
  readonly contentLayers: readonly LayerShape[];
  /** Number of conv layers in the graph: the deepest requested layer's index + 1. */
  readonly depth: number;
  /** The style masks the graph takes (0 without style layers, whatever the spec asked). */
  readonly styleMasks: number;
  /** Whether the graph takes a content mask (false without content layers). */
  readonly contentMask: boolean;
  /** Whether the graph has the temporal term and its three inputs. */
  readonly temporal: boolean;
}

interface Forward {
  /** Post-ReLU maps F_l by conv index. */
  readonly activations: Value[];
  /** Pools by the conv index they follow. */
  readonly pools: Map<number, Pooled>;
  readonly weights: ConvWeights[];
}

function resolveLayers(names: readonly string[]): string[] {
  const out: string[] = [];
  for (const name of names) {
    const canonical = canonicalLayerName(name);
    if (!out.includes(canonical)) out.push(canonical);
  }
  return out;
}

function validateSpec(spec: GraphSpec): { style: string[]; content: string[]; depth: number } {
  for (const [label, value] of [['height', spec.height], ['width', spec.width]] as const) {
    if (!Number.isInteger(value) || value < 1) {
      throw new NstError('BAD_ARGUMENT', `Image ${label} must be a whole number of pixels ≥ 1, got ${value}.`);
    }
  }
  const style = resolveLayers(spec.styleLayers);
  const content = resolveLayers(spec.contentLayers);
  if (style.length + content.length === 0) {
    throw new NstError('BAD_ARGUMENT', 'Choose at least one style or content layer.');
  }
  const depth = Math.max(...[...style, ...content].map((l) => layerSpec(l).index)) + 1;
  const styleMasks = spec.styleMasks ?? 0;
  if (!Number.isSafeInteger(styleMasks) || styleMasks < 0) {
    throw new RangeError(`styleMasks must be a whole number ≥ 0, got ${styleMasks}.`);
  }
  for (let i = 0; i < depth; i++) {
    const name = VGG19_CONV_LAYERS[i]!.name;
    if (!spec.weights.layers.has(name)) {
      const deepest = [...style, ...content].find((l) => layerSpec(l).index === depth - 1);
      throw new NstError(
        'WEIGHTS_MISSING_LAYER',
        name === deepest
          ? `The weights (${spec.weights.source}) lack ${name}: use weights with all VGG19 layers up to ${name}, or choose shallower layers.`
          : `The weights (${spec.weights.source}) lack ${name}, which ${deepest} is computed through: use weights with all VGG19 layers up to ${deepest}, or choose shallower layers.`,
      );
    }
  }
  return { style, content, depth };
}

/** `poolIndicesAfter`: conv indices whose following max pool should also output its argmax (for backward). */
function buildForward(g: GraphBuilder, image: Value, spec: GraphSpec, depth: number, poolIndicesAfter: ReadonlySet<number> = new Set()): Forward {
  const activations: Value[] = [];
  const pools = new Map<number, Pooled>();
  const weights: ConvWeights[] = [];
  // Caffe preprocessing is RGB→BGR and a mean shift. Permuting block1_conv1's input channels instead of the
  // pixels keeps the image (and so the gradient) in RGB; the features are identical.
  const mean = g.floatInitializer('caffe_mean_rgb', new Float32Array(CAFFE_MEAN_RGB), [1, 3, 1, 1]);
  let x = g.node('Sub', [image, mean], {}, { shape: image.shape, name: 'preprocessed' });
  for (let i = 0; i < depth; i++) {
    const layer = VGG19_CONV_LAYERS[i]!;
    const raw = spec.weights.layers.get(layer.name)!;
    const w = i === 0 ? bgrToRgbInputs(raw) : raw;
    weights.push(w);
    const f = relu(g, conv3x3(g, x, layer.name, w, layerAlgorithm(spec, i)), layer.name);
    activations.push(f);
    x = f;
    if (layer.poolAfter && i < depth - 1) {
      const pooled = pool2x2(g, f, spec.pool, `block${layer.block}_pool`, poolIndicesAfter.has(i));
      pools.set(i, pooled);
      x = pooled.output;
    }
  }
  return { activations, pools, weights };
}

/** The algorithm conv layer `index` uses, forward and backward alike. */
function layerAlgorithm(spec: GraphSpec, index: number): 'direct' | 'winograd' {
  if (spec.convAlgorithm !== 'winograd') return 'direct';
  const layer = VGG19_CONV_LAYERS[index]!;
  const { height, width } = featureSize(layer, spec.height, spec.width);
  return winogradPolicy(layer.block, height, width, spec.winogradMinTiles ?? WINOGRAD_MIN_TILES) ? 'winograd' : 'direct';
}

/** block1_conv1 reads BGR; reorder its input channels so it reads RGB. */
function bgrToRgbInputs(w: ConvWeights): ConvWeights {
  if (w.inChannels !== 3) {
    throw new NstError('BAD_WEIGHTS', `block1_conv1 must read 3 channels, these weights read ${w.inChannels}.`);
  }
  const source = w.kernel;
  const kernel = new Float32Array(source.length);
  for (let o = 0; o < w.outChannels; o++) {
    for (let rgb = 0; rgb < 3; rgb++) {
      const bgr = 2 - rgb;
      kernel.set(source.subarray((o * 3 + bgr) * 9, (o * 3 + bgr + 1) * 9), (o * 3 + rgb) * 9);
    }
  }
  return { ...w, kernel };
}

function shapeOf(layer: string, f: Value): LayerShape {
  const [, channels, height, width] = f.shape as [number, number, number, number];
  return { layer, channels, height, width };
}

/** The loss-and-gradient graph: one run gives total, every per-layer loss and d(total)/d(image). */
export function buildLossGraph(spec: GraphSpec): BuiltGraph {
  const { style, content, depth } = validateSpec(spec);
  const g = new GraphBuilder('nst_loss_and_grad');
  const image = g.input(io.image, [1, 3, spec.height, spec.width]);
  const lossLayers = new Set([...style, ...content].map((l) => layerSpec(l).index));
  // A max pool whose input layer carries no loss is differentiated with its argmax and the ReLU folded in
  // (maxPoolGradThroughRelu); one whose input layer has its own loss term needs the general path.
  const foldable = new Set(
    VGG19_CONV_LAYERS.slice(0, depth - 1)
      .filter((l) => l.poolAfter && spec.pool === 'max' && spec.maxPoolGrad !== 'mask' && !lossLayers.has(l.index))
      .map((l) => l.index),
  );
  const forward = buildForward(g, image, spec, depth, foldable);

  const weightedLosses: Value[] = [];
  const gradsAt = new Map<number, Value[]>();
  const addGrad = (index: number, v: Value): void => {
    const list = gradsAt.get(index) ?? [];
    list.push(v);
    gradsAt.set(index, list);
  };
  const styleShapes: LayerShape[] = [];
  const contentShapes: LayerShape[] = [];
  // Masks are graph inputs at the image's size, pooled to each layer's here: a new mask is a new feed, no rebuild.
  const maskInput = (name: string): Value => g.input(name, [1, 1, spec.height, spec.width]);
  const styleMasks = style.length > 0 ? Array.from({ length: spec.styleMasks ?? 0 }, (_, k) => new MaskPyramid(g, maskInput(io.styleMask(k)), `style_mask_${k}`)) : [];
  const contentMask = content.length > 0 && spec.contentMask === true ? new MaskPyramid(g, maskInput(io.contentMask), 'content_mask') : null;

  for (const layer of style) {
    const { index, block } = layerSpec(layer);
    const f = forward.activations[index]!;
    const c = f.shape[1]!;
    const targets = styleMasks.length > 0
      ? styleMasks.map((_, k) => g.input(io.styleTargetOf(layer, k), [c, c]))
      : [g.input(io.styleTarget(layer), [c, c])];
    const weight = g.input(io.styleWeight(layer), []);
    const term = styleMasks.length > 0
      ? guidedStyleLoss(g, f, styleMasks.map((mask, k) => ({ target: targets[k]!, gramWeights: mask.gramWeights(block) })), weight, `style_${layer}`)
      : styleLoss(g, f, targets[0]!, weight, `style_${layer}`);
    g.output(term.loss, io.styleLoss(layer));
    weightedLosses.push(g.node('Mul', [term.loss, weight], {}, { shape: [] }));
    addGrad(index, term.gradFeatures);
    styleShapes.push(shapeOf(layer, f));
  }
  for (const layer of content) {
    const { index, block } = layerSpec(layer);
    const f = forward.activations[index]!;
    const target = g.input(io.contentTarget(layer), f.shape);
    const weight = g.input(io.contentWeight(layer), []);
    const term = contentMask
      ? maskedContentLoss(g, f, target, contentMask.at(block), weight, `content_${layer}`)
      : contentLoss(g, f, target, weight, `content_${layer}`);
    g.output(term.loss, io.contentLoss(layer));
    weightedLosses.push(g.node('Mul', [term.loss, weight], {}, { shape: [] }));
    addGrad(index, term.grad);
    contentShapes.push(shapeOf(layer, f));
  }
  const tvWeight = g.input(io.tvWeight, []);
  const tv = totalVariation(g, image, tvWeight, 'tv');
  g.output(tv.loss, io.tv);
  weightedLosses.push(g.node('Mul', [tv.loss, tvWeight], {}, { shape: [] }));
  // Last in the sums, so that with weight 0 the total and gradient are the term-less graph's to the bit (x + 0 = x).
  let temporalGrad: Value | null = null;
  if (spec.temporal === true) {
    const temporalWeight = g.input(io.temporalWeight, []);
    const term = temporalLoss(g, image, g.input(io.temporalTarget, image.shape), maskInput(io.temporalMask), temporalWeight, 'temporal');
    g.output(term.loss, io.temporal);
    weightedLosses.push(g.node('Mul', [term.loss, temporalWeight], {}, { shape: [] }));
    temporalGrad = term.grad;
  }
  g.output(sum(g, weightedLosses, []), io.total);

  // Backward, deepest layer first: gradient at F_i → through ReLU → through conv i → through the pool below.
  const name = (i: number): string => VGG19_CONV_LAYERS[i]!.name;
  let dPreact = reluGrad(g, sum(g, gradsAt.get(depth - 1) ?? [], forward.activations[depth - 1]!.shape), forward.activations[depth - 1]!, `${name(depth - 1)}_dpreact`);
  let imageGrad: Value | null = null;
  for (let i = depth - 1; i >= 0; i--) {
    const dInput = conv3x3InputGrad(g, dPreact, name(i), forward.weights[i]!, layerAlgorithm(spec, i));
    if (i === 0) {
      imageGrad = dInput;
      break;
    }
    const below = forward.activations[i - 1]!;
    const pooled = forward.pools.get(i - 1);
    if (pooled && foldable.has(i - 1)) {
      dPreact = maxPoolGradThroughRelu(g, dInput, pooled, below.shape, `${name(i - 1)}_dpreact`);
      continue;
    }
    const dBelow = pooled
      ? pool2x2Grad(g, dInput, below, pooled.output, spec.pool, `block${VGG19_CONV_LAYERS[i - 1]!.block}_pool_grad`)
      : dInput;
    dPreact = reluGrad(g, sum(g, [dBelow, ...(gradsAt.get(i - 1) ?? [])], below.shape), below, `${name(i - 1)}_dpreact`);
  }
  const withTv = g.node('Add', [imageGrad!, tv.grad], {}, { shape: image.shape });
  g.output(temporalGrad ? g.node('Add', [withTv, temporalGrad], {}, { shape: image.shape }) : withTv, io.grad);
  return { model: g.toModel(), styleLayers: styleShapes, contentLayers: contentShapes, depth, styleMasks: styleMasks.length, contentMask: contentMask !== null, temporal: temporalGrad !== null };
}

/** The forward-only graph that computes targets: Grams of the style layers, features of the content layers. */
export function buildFeatureGraph(spec: GraphSpec): BuiltGraph {
  const { style, content, depth } = validateSpec(spec);
  const g = new GraphBuilder('nst_features');
  const image = g.input(io.image, [1, 3, spec.height, spec.width]);
  const forward = buildForward(g, image, spec, depth);
  const styleShapes: LayerShape[] = [];
  const contentShapes: LayerShape[] = [];
  for (const layer of style) {
    const f = forward.activations[layerSpec(layer).index]!;
    g.output(gram(g, asMatrix(g, f, `${layer}_F`), `${layer}_gram`), io.gram(layer));
    styleShapes.push(shapeOf(layer, f));
  }
  for (const layer of content) {
    const f = forward.activations[layerSpec(layer).index]!;
    g.output(f, io.features(layer));
    contentShapes.push(shapeOf(layer, f));
  }
  return { model: g.toModel(), styleLayers: styleShapes, contentLayers: contentShapes, depth, styleMasks: 0, contentMask: false, temporal: false };
}

function sum(g: GraphBuilder, values: readonly Value[], shape: readonly number[]): Value {
  if (values.length === 0) return g.node('Mul', [g.scalar(0), g.scalar(0)], {}, { shape });
  // Pairwise Add rather than one Sum: onnxruntime runs Add on all threads and broadcasts it, Sum on one.
  return values.slice(1).reduce((acc, v) => g.node('Add', [acc, v], {}, { shape }), values[0]!);
}
