// The style-transfer objective: targets from the style/content images, then loss + gradient per evaluation (one job,
// over 450 lines: the class, its creation's checks and the targets it computes).

import type { Tensor } from 'onnxruntime-common';
import { buildFeatureGraph, buildLossGraph, io, type BuiltGraph, type GraphSpec, type LayerShape } from './graph/vgg-graph.js';
import type { PoolKind } from '../settings.js';
import { planOn, type Device, type Execution, type RuntimeSession } from './runtime/runtime.js';
import { canonicalLayerName, layerSpec } from './vgg19.js';
import type { Vgg19Weights } from '../weights/types.js';
import type { PlanarImage } from '../io/image.js';
import { NstError } from '../errors.js';
import { contentBalance, guidedStyleBalance, meanSquare, styleBalance, tvBalance } from './balance.js';
import { type LossMasks, type MaskTarget, type PreparedMasks, prepareMasks } from './masks.js';
import { checkTemporal, TEMPORAL_BALANCE, type TemporalTerm } from './temporal.js';

export interface LossWeights {
  readonly styleWeight: number;
  readonly contentWeight: number;
  readonly tvWeight: number;
  /** Per style layer multipliers w_l (canonical or alias names); missing layers weigh 1. */
  readonly layerWeights?: Readonly<Record<string, number>>;
  /**
   * Balance the terms by their targets' size: each style layer's weight is divided by mean(A_l²), each content
   * layer's by mean(P_l²), TV's by the TV of the content image. Raw Gram magnitudes differ by 10⁶ between
   * VGG19 layers, so without this the deepest layers drown the rest; with it, weights of 1 mean "equal say"
   * and the same settings suit any image and any weights file. Reported per-layer losses stay unweighted.
   */
  readonly normalize?: boolean;
}

export interface ObjectiveSpec extends LossWeights {
  readonly weights: Vgg19Weights;
  readonly width: number;
  readonly height: number;
  readonly styleLayers: readonly string[];
  readonly contentLayers: readonly string[];
  readonly pool: PoolKind;
  readonly styleImages: readonly PlanarImage[];
  /** Blend weights of the style images (normalised to sum 1); equal by default. Not read with style masks. */
  readonly styleBlend?: readonly number[];
  /**
   * Spatial control (guided Grams, docs/loss.md "Masks"): with style masks each style image is its own target and
   * takes the region its mask gives it (`styleBlend` does not apply); a content mask weighs the content term per
   * pixel. Without masks the objective is exactly the unmasked one. setMasks changes them between evaluations.
   */
  readonly masks?: LossMasks;
  /**
   * Video (docs/loss.md "Temporal term"): adds `weight · mean(c ⊙ (x − target)²)`, at this image's size. The graph has
   * the term whenever the spec has one (weight 0: the term-less loss exactly); setTemporal changes it between evaluations.
   */
  readonly temporal?: TemporalTerm;
  readonly contentImage?: PlanarImage;
  /**
   * The runtime, providers, conv algorithm, max-pool gradient and session options, decided by the caller
   * (render/execution.ts resolveExecution): the objective builds and runs what it is given.
   */
  readonly execution: Execution;
  /** See GraphSpec.winogradMinTiles (tests lower it to run Winograd on tiny maps). */
  readonly winogradMinTiles?: number;
  /**
   * Style Grams A_l computed elsewhere, by canonical layer name (C_l × C_l each): tiled rendering passes the whole
   * style image's to every tile. When given, `styleImages` and `styleBlend` are not read. Not with style masks (they
   * need each style image's own Grams).
   */
  readonly styleTargets?: ReadonlyMap<string, Float32Array>;
  /**
   * With style masks: each style image's Grams A_l^k computed elsewhere, by canonical layer name, one C_l × C_l per
   * style image in style order (tiled rendering passes the whole style images' to every tile). When given,
   * `styleImages` is not read and the style masks are one per Gram.
   */
  readonly guidedTargets?: ReadonlyMap<string, readonly Float32Array[]>;
}

/** Each term's part of a total: the term times the weight the graph was fed (user weight × balance factor). */
export interface LossShares {
  style: Record<string, number>;
  content: Record<string, number>;
  tv: number;
  /** With a temporal term. */
  temporal?: number;
}

/** One evaluation: total (weighted) and the UNWEIGHTED per-layer terms, keyed by canonical layer name. */
export interface LossBreakdown {
  total: number;
  style: Record<string, number>;
  content: Record<string, number>;
  tv: number;
  /** The temporal term, unweighted: mean(c ⊙ (x − target)²) in the image's value space; only with a temporal term. */
  temporal?: number;
  /** The terms' shares of `total` under the weights of this evaluation (they sum to it); absent where not known. */
  weighted?: LossShares;
}

export class StyleObjective {
  private readonly feeds: Record<string, Tensor> = {};
  /** Outputs bound to buffers allocated once: a run allocates nothing on the JS side. */
  private readonly fetches: Record<string, Tensor> = {};
  private readonly gradBuffer: Float32Array;
  private readonly scalarOutputs = new Map<string, Float32Array>();
  /** Per weight input, the factor `normalize` applies (1 until the targets are known). */
  private readonly normalizers = new Map<string, number>();
  /** What setMasks checks new masks against, and the masks the objective was created with (their kind stays). */
  private maskTarget: MaskTarget | null = null;
  private maskKind = { styles: 0, content: false };
  /** With a temporal term: the bound feeds' buffers, and the weight as given (fed times the `normalize` factor). */
  private readonly temporalBuffers: { target: Float32Array; mask: Float32Array } | null;
  private temporalWeight = 0;
  /** What setContent computes new content targets with: the spec's, and the forward graph's session once it has one. */
  private featureSpec: FeatureSpec | null = null;
  private contentSession: RuntimeSession | null = null;

  private constructor(
    private readonly session: RuntimeSession,
    readonly graph: Omit<BuiltGraph, 'model'>,
    private readonly imageBuffer: Float32Array,
    private weights: LossWeights,
    readonly width: number,
    readonly height: number,
    /** The conv algorithm the graphs were built with. */
    readonly convAlgorithm: 'direct' | 'winograd',
  ) {
    this.feeds[io.image] = session.tensor(imageBuffer, [1, 3, height, width]);
    this.gradBuffer = new Float32Array(imageBuffer.length);
    this.fetches[io.grad] = session.tensor(this.gradBuffer, [1, 3, height, width]);
    const scalars = [io.total, io.tv, ...(graph.temporal ? [io.temporal] : []), ...graph.styleLayers.map((l) => io.styleLoss(l.layer)), ...graph.contentLayers.map((l) => io.contentLoss(l.layer))];
    for (const name of scalars) {
      const buffer = new Float32Array(1);
      this.scalarOutputs.set(name, buffer);
      this.fetches[name] = session.tensor(buffer, []);
    }
    // Bound once: setTemporal copies a new frame's target and mask into these.
    this.temporalBuffers = graph.temporal ? { target: new Float32Array(3 * width * height), mask: new Float32Array(width * height) } : null;
    if (this.temporalBuffers) {
      this.feeds[io.temporalTarget] = session.tensor(this.temporalBuffers.target, [1, 3, height, width]);
      this.feeds[io.temporalMask] = session.tensor(this.temporalBuffers.mask, [1, 1, height, width]);
    }
    this.applyWeights(weights);
  }

  static async create(spec: ObjectiveSpec): Promise<StyleObjective> {
    validateWeights(spec);
    if (spec.styleLayers.length > 0 && spec.styleImages.length === 0 && !spec.styleTargets && !spec.guidedTargets) {
      throw new NstError('BAD_ARGUMENT', 'Style layers are selected but no style image was given.');
    }
    if (spec.contentLayers.length > 0 && !spec.contentImage) {
      throw new NstError('BAD_ARGUMENT', 'Content layers are selected but no content image was given.');
    }
    if ((spec.masks?.styles?.length ?? 0) > 0 && spec.styleTargets) {
      throw new NstError('BAD_ARGUMENT', 'Style masks need each style image\'s own Grams, and the given style targets are one blended Gram per layer.');
    }
    const styleCount = spec.guidedTargets ? guidedTargetCount(spec.guidedTargets) : spec.styleImages.length;
    const maskTarget: MaskTarget = { width: spec.width, height: spec.height, styleCount, styleLayers: spec.styleLayers };
    const masks = prepareMasks(spec.masks, maskTarget);
    const guided = masks.styles.length > 0;
    if (spec.guidedTargets && !guided) throw new NstError('BAD_ARGUMENT', 'Per-style targets are for style masks, and none were given.');
    const blend = spec.styleTargets || guided ? [] : normaliseBlend(spec.styleBlend, spec.styleImages.length);
    requireLargeEnough('The output image', spec.width, spec.height, [...spec.styleLayers, ...spec.contentLayers]);
    if (spec.contentImage) requireLargeEnough('The content image', spec.contentImage.width, spec.contentImage.height, spec.contentLayers);
    if (!spec.styleTargets && !spec.guidedTargets) {
      spec.styleImages.forEach((image, i) => requireLargeEnough(`Style image ${i + 1}`, image.width, image.height, spec.styleLayers));
    }
    const { convAlgorithm, maxPoolGrad } = spec.execution;
    const maskKind = { styles: masks.styles.length, content: masks.content !== null };
    if (spec.temporal) checkTemporal(spec.temporal, spec);
    const temporal = spec.temporal !== undefined;
    const { graph, session } = await lossSession({ ...spec, convAlgorithm, maxPoolGrad, styleMasks: maskKind.styles, contentMask: maskKind.content, temporal }, spec.execution);
    try {
      const objective = new StyleObjective(session, graph, new Float32Array(3 * spec.width * spec.height), spec, spec.width, spec.height, convAlgorithm);
      objective.maskTarget = maskTarget;
      objective.maskKind = maskKind;
      objective.featureSpec = { weights: spec.weights, pool: spec.pool, execution: spec.execution, styleImages: spec.styleImages, ...(spec.winogradMinTiles !== undefined ? { winogradMinTiles: spec.winogradMinTiles } : {}) };
      objective.feedMasks(masks);
      if (spec.temporal) objective.feedTemporal(spec.temporal);
      if (guided) {
        // Each style image against its own Gram A_l^k, in its own region.
        const grams = spec.guidedTargets ? checkedGuidedTargets(spec.guidedTargets, graph.styleLayers, styleCount) : await computeStyleGrams(spec, graph.styleLayers, session);
        for (const shape of graph.styleLayers) {
          const perStyle = grams.get(shape.layer)!;
          perStyle.forEach((gram, k) => (objective.feeds[io.styleTargetOf(shape.layer, k)] = session.tensor(gram, [shape.channels, shape.channels])));
          objective.normalizers.set(io.styleWeight(shape.layer), guidedStyleBalance(perStyle));
        }
      } else {
        const styleTargets = spec.styleTargets
          ? checkedStyleTargets(spec.styleTargets, graph.styleLayers)
          : await computeStyleTargets(spec, graph.styleLayers, blend, session);
        for (const shape of graph.styleLayers) {
          objective.feeds[io.styleTarget(shape.layer)] = session.tensor(styleTargets.get(shape.layer)!, [shape.channels, shape.channels]);
          objective.normalizers.set(io.styleWeight(shape.layer), styleBalance(styleTargets.get(shape.layer)!));
        }
      }
      if (spec.contentImage && graph.contentLayers.length > 0) {
        objective.feedContent((await computeFeatures(spec, spec.contentImage, [], graph.contentLayers.map((l) => l.layer), session)).features);
      }
      const reference = spec.contentImage ?? spec.styleImages[0];
      if (reference) objective.normalizers.set(io.tvWeight, tvBalance(reference, spec.styleImages));
      objective.applyWeights(spec);
      return objective;
    } catch (error) {
      await session.dispose();
      throw error;
    }
  }

  get device(): Device {
    return this.session.device;
  }

  get fallbackReason(): string | null {
    return this.session.fallbackReason;
  }

  /** Changes loss weights; takes effect at the next evaluation (they are graph inputs: no rebuild). */
  setWeights(weights: LossWeights): void {
    validateWeights(weights);
    this.weights = weights;
    this.applyWeights(weights);
  }

  get currentWeights(): LossWeights {
    return this.weights;
  }

  /**
   * Changes the masks; takes effect at the next evaluation (they are graph inputs: no rebuild). Checked as at
   * creation (a mask of another size is resized to the image). The kind is the graph's: as many style masks, and a
   * content mask or none, as the objective was created with (BAD_ARGUMENT otherwise: that needs a new objective).
   */
  setMasks(masks: LossMasks): void {
    const prepared = prepareMasks(masks, this.maskTarget!);
    const kind = { styles: prepared.styles.length, content: prepared.content !== null };
    if (kind.styles !== this.maskKind.styles || kind.content !== this.maskKind.content) {
      const say = (k: { styles: number; content: boolean }): string => `${k.styles} style mask${k.styles === 1 ? '' : 's'} and ${k.content ? 'a' : 'no'} content mask`;
      throw new NstError('BAD_ARGUMENT', `This objective was built for ${say(this.maskKind)}, not ${say(kind)}: a new kind of masks needs a new objective.`);
    }
    this.feedMasks(prepared);
  }

  /**
   * A new temporal term (the next frame's, or another weight) for the next evaluation: graph inputs, no rebuild. Checked
   * as at creation and copied; only for an objective created with one (BAD_ARGUMENT: the graph has no such inputs).
   */
  setTemporal(term: TemporalTerm): void {
    if (!this.temporalBuffers) {
      throw new NstError('BAD_ARGUMENT', 'This objective was built without a temporal term: a temporal term needs a new objective (give one, weight 0 for off, when creating it).');
    }
    checkTemporal(term, this);
    this.feedTemporal(term);
  }

  /**
   * A new content image (a video's next frame) for the next evaluation: its features become the content targets and,
   * under `normalize`, it sets the content and TV balance, as at creation (graph inputs: no rebuild). The forward
   * graph that computes them is built at the first call and kept until dispose. RangeError for another size.
   */
  async setContent(image: PlanarImage): Promise<void> {
    if (image.width !== this.width || image.height !== this.height || image.data.length !== 3 * this.width * this.height) {
      throw new RangeError(`The content image must be ${this.width}x${this.height} (3·${this.height}·${this.width} values), got ${image.width}x${image.height} (${image.data.length} values).`);
    }
    const spec = this.featureSpec!;
    if (this.graph.contentLayers.length > 0) {
      const layers = this.graph.contentLayers.map((l) => l.layer);
      this.contentSession ??= await featureSession(spec, image, [], layers, this.session);
      this.feedContent((await runFeatures(this.contentSession, image, [], layers)).features);
    }
    this.normalizers.set(io.tvWeight, tvBalance(image, spec.styleImages));
    this.applyWeights(this.weights);
  }

  /** Loss and d(total)/d(pixel) at `image` (planar RGB, 0–255); the gradient is written into `gradOut`. */
  async evaluate(image: Float32Array, gradOut: Float32Array): Promise<LossBreakdown> {
    if (image.length !== this.imageBuffer.length || gradOut.length !== this.imageBuffer.length) {
      throw new RangeError(`image and gradOut must hold 3·${this.height}·${this.width} values.`);
    }
    this.imageBuffer.set(image);
    await this.session.run(this.feeds, this.fetches);
    gradOut.set(this.gradBuffer);
    const scalar = (name: string): number => this.scalarOutputs.get(name)![0]!;
    const breakdown: LossBreakdown = { total: scalar(io.total), style: {}, content: {}, tv: scalar(io.tv) };
    for (const { layer } of this.graph.styleLayers) breakdown.style[layer] = scalar(io.styleLoss(layer));
    for (const { layer } of this.graph.contentLayers) breakdown.content[layer] = scalar(io.contentLoss(layer));
    if (this.graph.temporal) breakdown.temporal = scalar(io.temporal);
    breakdown.weighted = this.shares(breakdown);
    return breakdown;
  }

  /** Each term of `loss` times the weight the graph is fed for it (the user's weight × the `normalize` factor). */
  private shares(loss: LossBreakdown): LossShares {
    const fed = (name: string): number => (this.feeds[name]!.data as Float32Array)[0]!;
    const style: Record<string, number> = {};
    const content: Record<string, number> = {};
    for (const [layer, value] of Object.entries(loss.style)) style[layer] = value * fed(io.styleWeight(layer));
    for (const [layer, value] of Object.entries(loss.content)) content[layer] = value * fed(io.contentWeight(layer));
    return { style, content, tv: loss.tv * fed(io.tvWeight), ...(loss.temporal !== undefined ? { temporal: loss.temporal * fed(io.temporalWeight) } : {}) };
  }

  async dispose(): Promise<void> {
    await this.contentSession?.dispose();
    await this.session.dispose();
  }

  /** The content targets P_l and, for `normalize`, their balance (applied by the next applyWeights). */
  private feedContent(features: ReadonlyMap<string, Float32Array>): void {
    for (const shape of this.graph.contentLayers) {
      const target = features.get(shape.layer)!;
      this.feeds[io.contentTarget(shape.layer)] = this.session.tensor(target, [1, shape.channels, shape.height, shape.width]);
      this.normalizers.set(io.contentWeight(shape.layer), contentBalance(meanSquare(target)));
    }
  }

  /** Feeds the masks the graph takes (none for a term without layers). */
  private feedMasks(masks: PreparedMasks): void {
    const shape = [1, 1, this.height, this.width];
    for (let k = 0; k < this.graph.styleMasks; k++) this.feeds[io.styleMask(k)] = this.session.tensor(masks.styles[k]!, shape);
    if (this.graph.contentMask) this.feeds[io.contentMask] = this.session.tensor(masks.content!, shape);
  }

  /** Copies a checked term into the bound feeds; its weight is fed by applyWeights (it depends on `normalize`). */
  private feedTemporal(term: TemporalTerm): void {
    this.temporalBuffers!.target.set(term.target);
    this.temporalBuffers!.mask.set(term.mask);
    this.temporalWeight = term.weight;
    this.applyWeights(this.weights);
  }

  private applyWeights(weights: LossWeights): void {
    const layerWeights = canonicalLayerWeights(weights.layerWeights);
    const feed = (name: string, value: number): void => {
      const factor = weights.normalize ? (this.normalizers.get(name) ?? 1) : 1;
      this.feeds[name] = this.session.tensor(new Float32Array([value * factor]), []);
    };
    for (const { layer } of this.graph.styleLayers) feed(io.styleWeight(layer), weights.styleWeight * (layerWeights.get(layer) ?? 1));
    for (const { layer } of this.graph.contentLayers) feed(io.contentWeight(layer), weights.contentWeight);
    feed(io.tvWeight, weights.tvWeight);
    if (this.temporalBuffers) this.feeds[io.temporalWeight] = this.session.tensor(new Float32Array([this.temporalWeight * (weights.normalize ? TEMPORAL_BALANCE : 1)]), []);
  }
}

/**
 * Builds the loss graph and its session, and lets go of the model bytes: onnxruntime has its own copy by then, and
 * with Winograd's transformed kernels (4x a kernel's size) the bytes are a few hundred MB.
 */
async function lossSession(spec: GraphSpec, execution: Execution): Promise<{ graph: Omit<BuiltGraph, 'model'>; session: RuntimeSession }> {
  const { model, ...graph } = buildLossGraph(spec);
  return { graph, session: await execution.runtime.create(model, execution.session) };
}

/**
 * Each 2x2 pool halves (floors) the maps, so a layer in block b needs 2^(b-1) pixels on each side: a sliver (a
 * 4000x30 panorama at 384 px is 384x3) would otherwise reach onnxruntime as a zero-sized map and fail there
 * with a shape error that names no image. IMAGE_TOO_SMALL names the image, the layer and the way out.
 */
function requireLargeEnough(what: string, width: number, height: number, layers: readonly string[]): void {
  if (layers.length === 0) return;
  const deepest = layers.map((name) => layerSpec(name)).reduce((a, b) => (b.index > a.index ? b : a));
  const needPx = Math.max(2, 2 ** (deepest.block - 1));
  if (Number.isSafeInteger(width) && Number.isSafeInteger(height) && width >= needPx && height >= needPx) return;
  throw new NstError(
    'IMAGE_TOO_SMALL',
    `${what} is ${width}x${height} px, but layer ${deepest.name} needs at least ${needPx} px on each side ` +
      `(VGG19 halves the image ${deepest.block - 1} times before it): use a larger size, a less elongated image, or shallower layers.`,
  );
}

function canonicalLayerWeights(weights: Readonly<Record<string, number>> | undefined): Map<string, number> {
  const out = new Map<string, number>();
  for (const [name, value] of Object.entries(weights ?? {})) out.set(canonicalLayerName(name), value);
  return out;
}

/**
 * Largest style, content, TV or per-layer weight. Raw terms reach about 1e10 (Grams of 0..255 images); a weight and
 * a layer weight at this bound keep the weighted loss near 1e30, within float32 (3.4e38), while 1e308 overflows it
 * at once. Ratios beyond 1e10 say nothing more: the other terms are already nothing.
 */
export const MAX_LOSS_WEIGHT = 1e10;

function validateWeights(w: LossWeights): void {
  const check = (label: string, value: number): void => {
    if (!Number.isFinite(value) || value < 0 || value > MAX_LOSS_WEIGHT) {
      throw new NstError('BAD_ARGUMENT', `${label} must be a finite number from 0 to ${MAX_LOSS_WEIGHT.toExponential().replace('e+', 'e')}, got ${value}.`);
    }
  };
  check('style weight', w.styleWeight);
  check('content weight', w.contentWeight);
  check('tv weight', w.tvWeight);
  for (const [layer, value] of Object.entries(w.layerWeights ?? {})) {
    canonicalLayerName(layer);
    check(`layer weight for ${layer}`, value);
  }
}

export function normaliseBlend(blend: readonly number[] | undefined, count: number): number[] {
  if (!blend || blend.length === 0) return Array.from({ length: count }, () => 1 / Math.max(count, 1));
  if (blend.length !== count) {
    throw new NstError('BAD_ARGUMENT', `The style blend has ${blend.length} weights for ${count} style images.`);
  }
  for (const b of blend) {
    if (!Number.isFinite(b) || b < 0) throw new NstError('BAD_ARGUMENT', `Style blend weights must be ≥ 0, got ${b}.`);
  }
  const total = blend.reduce((a, b) => a + b, 0);
  if (total <= 0) throw new NstError('BAD_ARGUMENT', 'The style blend weights add up to 0.');
  return blend.map((b) => b / total);
}

interface Features {
  grams: Map<string, Float32Array>;
  features: Map<string, Float32Array>;
}

/** What the forward-only graphs are built with: the objective's spec, or the part of it an objective keeps. */
type FeatureSpec = Pick<ObjectiveSpec, 'weights' | 'pool' | 'execution' | 'winogradMinTiles' | 'styleImages'>;

/** Runs the forward-only graph at the image's own size. */
async function computeFeatures(
  spec: FeatureSpec,
  image: PlanarImage,
  styleLayers: readonly string[],
  contentLayers: readonly string[],
  like: RuntimeSession,
): Promise<Features> {
  const session = await featureSession(spec, image, styleLayers, contentLayers, like);
  try {
    return await runFeatures(session, image, styleLayers, contentLayers);
  } finally {
    await session.dispose();
  }
}

/** A session of the forward-only graph for images of `size`'s size, giving these layers' Grams and features. */
async function featureSession(
  spec: FeatureSpec,
  size: { readonly width: number; readonly height: number },
  styleLayers: readonly string[],
  contentLayers: readonly string[],
  like: RuntimeSession,
): Promise<RuntimeSession> {
  const graph = buildFeatureGraph({
    height: size.height,
    width: size.width,
    styleLayers,
    contentLayers,
    pool: spec.pool,
    weights: spec.weights,
    // The loss graph's algorithm, so that the features of the content image are exactly its target: the content
    // loss starts at 0. Costs the setup Winograd's forward U beside the loss graph's.
    convAlgorithm: spec.execution.convAlgorithm,
    ...(spec.winogradMinTiles !== undefined ? { winogradMinTiles: spec.winogradMinTiles } : {}),
  });
  // On the loss graph's provider (the CPU if that cannot start a second session).
  return spec.execution.runtime.create(graph.model, planOn(spec.execution.session, like.device));
}

async function runFeatures(session: RuntimeSession, image: PlanarImage, styleLayers: readonly string[], contentLayers: readonly string[]): Promise<Features> {
  const out = await session.run({ [io.image]: session.tensor(image.data, [1, 3, image.height, image.width]) });
  const grams = new Map<string, Float32Array>();
  const features = new Map<string, Float32Array>();
  for (const layer of styleLayers) grams.set(layer, Float32Array.from(out[io.gram(layer)]!.data as Float32Array));
  for (const layer of contentLayers) features.set(layer, Float32Array.from(out[io.features(layer)]!.data as Float32Array));
  return { grams, features };
}

/** Given Grams, one C × C matrix for each style layer (RangeError naming the layer otherwise). */
function checkedStyleTargets(given: ReadonlyMap<string, Float32Array>, layers: readonly LayerShape[]): Map<string, Float32Array> {
  const targets = new Map<string, Float32Array>();
  for (const [name, gram] of given) targets.set(canonicalLayerName(name), gram);
  for (const { layer, channels } of layers) {
    const gram = targets.get(layer);
    if (!gram || gram.length !== channels * channels) {
      throw new RangeError(`styleTargets["${layer}"] must hold ${channels}·${channels} values, got ${gram ? gram.length : 'none'}.`);
    }
  }
  return targets;
}

/** How many styles given per-style targets are for: the count every layer has (RangeError when they differ). */
function guidedTargetCount(given: ReadonlyMap<string, readonly Float32Array[]>): number {
  const counts = new Set([...given.values()].map((grams) => grams.length));
  if (counts.size !== 1) throw new RangeError(`guidedTargets must hold as many Grams for every layer, got ${[...counts].join(', ') || 'no layers'}.`);
  return [...counts][0]!;
}

/** Given per-style Grams, `count` C × C matrices for each style layer (RangeError naming the layer otherwise). */
function checkedGuidedTargets(given: ReadonlyMap<string, readonly Float32Array[]>, layers: readonly LayerShape[], count: number): Map<string, Float32Array[]> {
  const targets = new Map<string, Float32Array[]>();
  for (const [name, grams] of given) targets.set(canonicalLayerName(name), [...grams]);
  for (const { layer, channels } of layers) {
    const grams = targets.get(layer);
    if (!grams || grams.length !== count || grams.some((gram) => gram.length !== channels * channels)) {
      throw new RangeError(`guidedTargets["${layer}"] must hold ${count} Grams of ${channels}·${channels} values.`);
    }
  }
  return targets;
}

/** G_l(s) for each style layer: the blend-weighted mean over the style images. */
async function computeStyleTargets(
  spec: ObjectiveSpec,
  layers: readonly LayerShape[],
  blend: readonly number[],
  like: RuntimeSession,
): Promise<Map<string, Float32Array>> {
  const targets = new Map<string, Float32Array>();
  for (const shape of layers) targets.set(shape.layer, new Float32Array(shape.channels * shape.channels));
  const grams = await computeStyleGrams(spec, layers, like);
  for (const shape of layers) {
    const target = targets.get(shape.layer)!;
    grams.get(shape.layer)!.forEach((gram, s) => {
      const w = blend[s]!;
      for (let i = 0; i < target.length; i++) target[i]! += w * gram[i]!;
    });
  }
  return targets;
}

/** G_l(s_k) for each style layer and each style image k, in style order: each image at its own size. */
async function computeStyleGrams(spec: ObjectiveSpec, layers: readonly LayerShape[], like: RuntimeSession): Promise<Map<string, Float32Array[]>> {
  const grams = new Map<string, Float32Array[]>(layers.map((shape) => [shape.layer, []]));
  if (layers.length === 0) return grams;
  for (const image of spec.styleImages) {
    const features = await computeFeatures(spec, image, layers.map((l) => l.layer), [], like);
    for (const shape of layers) grams.get(shape.layer)!.push(features.grams.get(shape.layer)!);
  }
  return grams;
}
