// Studio settings → the engine's run settings and loss weights, and when a mid-run change needs a new graph.

import { convergenceRule, type LossWeights, type RunSettings } from '../../engine/index.js';
import { LAYER_NAMES, enabledContentLayers, enabledStyleLayers, type StudioSettings } from '../../shared/studio-settings.js';

/** The layers an engine run's graph was built with. */
export interface GraphLayers {
  readonly styleLayers: readonly string[];
  readonly contentLayers: readonly string[];
}

/** The fields a running run takes from an update; the rest (size, iterations, optimizer …) stay as started. */
export function applyMidRunChanges(base: StudioSettings, update: StudioSettings): StudioSettings {
  return {
    ...base,
    layers: structuredClone(update.layers),
    styleWeight: update.styleWeight,
    contentWeight: update.contentWeight,
    tvWeight: update.tvWeight,
  };
}

export function engineRunSettings(settings: StudioSettings, options: { iterations: number; styleBlend: readonly number[]; threads: number }): RunSettings {
  return {
    ...lossWeights(settings, graphLayersFor(settings)),
    iterations: options.iterations,
    optimizer: settings.optimizer,
    ...(settings.learningRate !== null ? { learningRate: settings.learningRate } : {}),
    styleLayers: enabledStyleLayers(settings),
    contentLayers: enabledContentLayers(settings),
    styleBlend: options.styleBlend,
    pool: settings.pool,
    init: settings.init,
    seed: settings.seed,
    device: settings.device,
    threads: options.threads,
    reportEvery: 1,
    // A copy of the image every iteration: previews are throttled later, and export may ask for it any time.
    imageEvery: 1,
    ...(settings.stop === 'auto' ? { converge: convergenceRule(settings.stopTolerance) } : {}),
  };
}

export function graphLayersFor(settings: StudioSettings): GraphLayers {
  return { styleLayers: enabledStyleLayers(settings), contentLayers: enabledContentLayers(settings) };
}

/**
 * The loss weights that express `settings` on a graph built with `graph`'s layers: a style layer turned off
 * weighs 0; all content layers turned off is a content weight of 0. (Only valid when rebuildReason is null.)
 */
export function lossWeights(settings: StudioSettings, graph: GraphLayers): LossWeights {
  const layerWeights: Record<string, number> = {};
  for (const layer of graph.styleLayers) {
    const setting = settings.layers[layer];
    layerWeights[layer] = setting?.style ? setting.styleWeight : 0;
  }
  const anyContent = graph.contentLayers.some((layer) => settings.layers[layer]?.content);
  return {
    styleWeight: settings.styleWeight,
    contentWeight: anyContent ? settings.contentWeight : 0,
    tvWeight: settings.tvWeight,
    layerWeights,
    normalize: settings.normalize,
  };
}

/**
 * Why the graph built with `graph` cannot express `settings` by weights alone, or null when it can.
 * A layer turned on that the graph lacks has no loss output to weigh; content layers share one weight, so
 * turning off some (not all) of several also needs a new graph.
 */
export function rebuildReason(settings: StudioSettings, graph: GraphLayers): string | null {
  const missing: string[] = [];
  for (const layer of LAYER_NAMES) {
    const setting = settings.layers[layer];
    if (setting?.style && !graph.styleLayers.includes(layer)) missing.push(`${layer} (style)`);
    if (setting?.content && !graph.contentLayers.includes(layer)) missing.push(`${layer} (content)`);
  }
  if (missing.length > 0) {
    return `${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not in the current graph`;
  }
  const wanted = enabledContentLayers(settings);
  if (wanted.length > 0 && wanted.length < graph.contentLayers.length) {
    const off = graph.contentLayers.filter((layer) => !wanted.includes(layer));
    return `content layer${off.length === 1 ? '' : 's'} ${off.join(', ')} turned off while others stay on`;
  }
  return null;
}
