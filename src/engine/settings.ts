// The defaults every front end (CLI, studio) starts from, tuned on the real VGG19 weights; see README "Defaults".

import { GATYS_CONTENT_LAYERS, GATYS_STYLE_LAYERS } from './model/vgg19.js';
import type { RunSettings } from './render/run.js';

export const DEFAULT_SIZE_PX = 384;

export const DEFAULT_RUN_SETTINGS: RunSettings = {
  iterations: 300,
  optimizer: 'lbfgs',
  styleLayers: GATYS_STYLE_LAYERS,
  contentLayers: GATYS_CONTENT_LAYERS,
  styleWeight: 1,
  contentWeight: 1,
  tvWeight: 0.1,
  normalize: true,
  pool: 'max',
  init: 'content',
  seed: 1,
  device: 'auto',
  threads: 0,
};
