// The run settings' value types and the defaults every front end (CLI, studio) starts from, tuned on the real VGG19
// weights (docs/loss.md, "Defaults").

/** Execution providers a run may ask for; 'auto' lets the engine choose (render/execution.ts). */
export const DEVICES = ['auto', 'cpu', 'cuda', 'dml', 'webgpu', 'coreml'] as const;
export type DeviceRequest = (typeof DEVICES)[number];

/** 3x3 convs as onnxruntime's Conv ('direct') or Winograd F(4x4,3x3) in plain ONNX; 'auto' decides by device and memory. */
export const CONV_ALGORITHMS = ['direct', 'winograd', 'auto'] as const;
export type ConvAlgorithm = (typeof CONV_ALGORITHMS)[number];

/** 2x2 pooling between VGG19's blocks. */
export type PoolKind = 'max' | 'avg';

/** The image the optimisation starts from. */
export type InitMode = 'content' | 'noise' | 'style';

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
