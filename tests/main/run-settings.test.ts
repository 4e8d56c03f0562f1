// Studio settings → engine settings, and which mid-run changes weights can express and which need a new graph.

import { describe, expect, it } from 'vitest';
import { applyMidRunChanges, engineRunSettings, lossWeights, rebuildReason } from '../../src/main/worker/run-settings.js';
import { DEFAULT_STUDIO_SETTINGS } from '../../src/shared/studio-settings.js';
import { convergenceRule } from '../../src/engine/render/convergence.js';
import { layers } from '../helpers/studio.js';

const gatysGraph = { styleLayers: ['block1_conv1', 'block2_conv1', 'block3_conv1', 'block4_conv1', 'block5_conv1'], contentLayers: ['block4_conv2'] };

describe('run settings for the engine', () => {
  it('maps the studio settings onto the engine run (layers on, blend, optional learning rate)', () => {
    const run = engineRunSettings({ ...DEFAULT_STUDIO_SETTINGS, learningRate: null }, { iterations: 50, styleBlend: [1, 3], threads: 2 });
    expect(run).toMatchObject({ iterations: 50, optimizer: 'lbfgs', styleLayers: gatysGraph.styleLayers, contentLayers: ['block4_conv2'], styleBlend: [1, 3], threads: 2, normalize: true });
    expect('learningRate' in run).toBe(false);
    expect(engineRunSettings({ ...DEFAULT_STUDIO_SETTINGS, learningRate: 3 }, { iterations: 1, styleBlend: [1], threads: 0 }).learningRate).toBe(3);
  });

  it('stops when the picture is done by default (the tolerance scales the rule); stop off runs every iteration', () => {
    const options = { iterations: 300, styleBlend: [1], threads: 0 };
    expect(engineRunSettings(DEFAULT_STUDIO_SETTINGS, options).converge).toEqual(convergenceRule(1));
    expect(engineRunSettings({ ...DEFAULT_STUDIO_SETTINGS, stopTolerance: 2 }, options).converge).toEqual(convergenceRule(2));
    expect(engineRunSettings({ ...DEFAULT_STUDIO_SETTINGS, stop: 'off' }, options).converge).toBeUndefined();
  });

  it('expresses a style layer turned off, a layer weight, and all content off as weights on the same graph', () => {
    const settings = { ...DEFAULT_STUDIO_SETTINGS, layers: layers(['block1_conv1', 'block3_conv1'], []) };
    settings.layers.block3_conv1!.styleWeight = 2.5;
    expect(rebuildReason(settings, gatysGraph)).toBeNull();
    expect(lossWeights(settings, gatysGraph)).toMatchObject({
      contentWeight: 0,
      layerWeights: { block1_conv1: 1, block2_conv1: 0, block3_conv1: 2.5, block4_conv1: 0, block5_conv1: 0 },
    });
  });

  it('needs a rebuild for a layer the graph lacks (deeper or not built) and for turning off some of several content layers', () => {
    const deeper = { ...DEFAULT_STUDIO_SETTINGS, layers: layers([...gatysGraph.styleLayers, 'block5_conv4'], ['block4_conv2']) };
    expect(rebuildReason(deeper, gatysGraph)).toBe('block5_conv4 (style) is not in the current graph');
    const shallowContent = { ...DEFAULT_STUDIO_SETTINGS, layers: layers(gatysGraph.styleLayers, ['block4_conv2', 'block1_conv2']) };
    expect(rebuildReason(shallowContent, gatysGraph)).toBe('block1_conv2 (content) is not in the current graph');
    const twoContent = { styleLayers: [], contentLayers: ['block2_conv2', 'block4_conv2'] };
    expect(rebuildReason({ ...DEFAULT_STUDIO_SETTINGS, layers: layers([], ['block4_conv2']) }, twoContent)).toMatch(/content layer block2_conv2 turned off/);
  });

  it('takes only layers and term weights from a mid-run update', () => {
    const update = { ...DEFAULT_STUDIO_SETTINGS, sizePx: 1024, iterations: 9, optimizer: 'gd' as const, styleWeight: 7, layers: layers(['block2_conv1'], []) };
    const merged = applyMidRunChanges(DEFAULT_STUDIO_SETTINGS, update);
    expect(merged).toEqual({ ...DEFAULT_STUDIO_SETTINGS, styleWeight: 7, layers: layers(['block2_conv1'], []) });
  });
});
