// Whole-image statistics (style Grams, content magnitudes) computed block by block, so memory stays bounded.

import { buildFeatureGraph, io } from '../../model/graph/vgg-graph.js';
import type { PoolKind } from '../../settings.js';
import { planOn, type Execution, type RuntimeSession } from '../../model/runtime/runtime.js';
import type { PlanarImage } from '../../io/image.js';
import { canonicalLayerName } from '../../model/vgg19.js';
import type { Vgg19Weights } from '../../weights/types.js';
import { cropImage } from './layout.js';

export interface BlockwiseStats {
  /** Gram of each style layer over the whole image: Σ_b N_b·G_b / Σ_b N_b over the blocks b. */
  readonly grams: Map<string, Float32Array>;
  /** mean(P_l²) of each content layer's features over the whole image. */
  readonly contentMeanSquare: Map<string, number>;
}

/**
 * Whole-image Grams and content-feature magnitudes computed block by block (non-overlapping blocks of at most
 * `blockPx`), so memory is bounded by one block's forward pass. A Gram is a mean over positions, so the blocks'
 * Grams weighted by their positions give the whole image's, up to the zero padding at block edges.
 */
export async function blockwiseStats(
  weights: Vgg19Weights,
  image: PlanarImage,
  options: { styleLayers: readonly string[]; contentLayers: readonly string[]; pool: PoolKind; blockPx: number; execution: Pick<Execution, 'runtime' | 'session'> },
): Promise<BlockwiseStats> {
  const styleLayers = [...new Set(options.styleLayers.map(canonicalLayerName))];
  const contentLayers = [...new Set(options.contentLayers.map(canonicalLayerName))];
  const edges = (length: number): number[] => {
    const count = Math.ceil(length / options.blockPx);
    return Array.from({ length: count + 1 }, (_, i) => Math.round((i * length) / count));
  };
  const xs = edges(image.width);
  const ys = edges(image.height);
  const sessions = new Map<string, { session: RuntimeSession; graph: ReturnType<typeof buildFeatureGraph> }>();
  const gramSums = new Map<string, Float64Array>();
  const positions = new Map<string, number>();
  const squareSums = new Map<string, number>();
  const counts = new Map<string, number>();
  try {
    for (let by = 0; by + 1 < ys.length; by++) {
      for (let bx = 0; bx + 1 < xs.length; bx++) {
        const block = cropImage(image, { x: xs[bx]!, y: ys[by]!, width: xs[bx + 1]! - xs[bx]!, height: ys[by + 1]! - ys[by]! });
        const key = `${block.width}x${block.height}`;
        let entry = sessions.get(key);
        if (!entry) {
          const graph = buildFeatureGraph({ width: block.width, height: block.height, styleLayers, contentLayers, pool: options.pool, weights });
          // On the CPU provider, whatever the tiles run on: once per render, and it is always there.
          entry = { graph, session: await options.execution.runtime.create(graph.model, planOn(options.execution.session)) };
          sessions.set(key, entry);
        }
        const out = await entry.session.run({ [io.image]: entry.session.tensor(block.data, [1, 3, block.height, block.width]) });
        for (const shape of entry.graph.styleLayers) {
          const n = shape.height * shape.width;
          const gram = out[io.gram(shape.layer)]!.data as Float32Array;
          let sum = gramSums.get(shape.layer);
          if (!sum) gramSums.set(shape.layer, (sum = new Float64Array(gram.length)));
          for (let i = 0; i < gram.length; i++) sum[i]! += n * gram[i]!;
          positions.set(shape.layer, (positions.get(shape.layer) ?? 0) + n);
        }
        for (const shape of entry.graph.contentLayers) {
          const features = out[io.features(shape.layer)]!.data as Float32Array;
          let acc = 0;
          for (const v of features) acc += v * v;
          squareSums.set(shape.layer, (squareSums.get(shape.layer) ?? 0) + acc);
          counts.set(shape.layer, (counts.get(shape.layer) ?? 0) + features.length);
        }
      }
    }
  } finally {
    for (const { session } of sessions.values()) await session.dispose();
  }
  const grams = new Map<string, Float32Array>();
  for (const [layer, sum] of gramSums) {
    const n = positions.get(layer)!;
    grams.set(layer, Float32Array.from(sum, (v) => (n > 0 ? v / n : 0)));
  }
  const contentMeanSquare = new Map<string, number>();
  for (const [layer, acc] of squareSums) contentMeanSquare.set(layer, acc / Math.max(counts.get(layer)!, 1));
  return { grams, contentMeanSquare };
}

