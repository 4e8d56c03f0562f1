// The studio's run settings: one plain, serialisable object shared by renderer, main process and worker.

export type OptimizerChoice = 'gd' | 'adam' | 'lbfgs';
export type InitChoice = 'content' | 'noise' | 'style';
export type PoolChoice = 'max' | 'avg';
export type DeviceChoice = 'auto' | 'cpu' | 'cuda' | 'dml' | 'webgpu' | 'coreml';

/** Per VGG19 conv layer: a style toggle and weight, and a content toggle. */
export interface LayerSetting {
  style: boolean;
  styleWeight: number;
  content: boolean;
}

export interface StudioSettings {
  sizePx: number;
  iterations: number;
  optimizer: OptimizerChoice;
  /** null: the optimizer's own default. */
  learningRate: number | null;
  styleWeight: number;
  contentWeight: number;
  tvWeight: number;
  normalize: boolean;
  init: InitChoice;
  pool: PoolChoice;
  device: DeviceChoice;
  seed: number;
  /** Keyed by canonical Keras layer name; all 16 are present. */
  layers: Record<string, LayerSetting>;
}

/** The 16 VGG19 conv layers as Keras names them (the engine's vgg19.ts table; a test keeps them equal). */
export const LAYER_NAMES: readonly string[] = [
  'block1_conv1', 'block1_conv2',
  'block2_conv1', 'block2_conv2',
  'block3_conv1', 'block3_conv2', 'block3_conv3', 'block3_conv4',
  'block4_conv1', 'block4_conv2', 'block4_conv3', 'block4_conv4',
  'block5_conv1', 'block5_conv2', 'block5_conv3', 'block5_conv4',
];

function layersWith(style: readonly string[], content: readonly string[]): Record<string, LayerSetting> {
  return Object.fromEntries(
    LAYER_NAMES.map((name) => [name, { style: style.includes(name), styleWeight: 1, content: content.includes(name) }]),
  );
}

export interface LayerPreset {
  readonly id: string;
  readonly label: string;
  readonly hint: string;
  readonly style: readonly string[];
  readonly content: readonly string[];
}

/** Gatys et al.'s choice, the seed's single-layer experiments, and its two-layer combination. */
export const LAYER_PRESETS: readonly LayerPreset[] = [
  {
    id: 'gatys',
    label: 'Gatys',
    hint: 'style conv1_1…conv5_1, content conv4_2: colour, strokes and swirls together',
    style: ['block1_conv1', 'block2_conv1', 'block3_conv1', 'block4_conv1', 'block5_conv1'],
    content: ['block4_conv2'],
  },
  ...['block1_conv1', 'block1_conv2', 'block2_conv1', 'block3_conv2', 'block3_conv4', 'block4_conv1', 'block5_conv1', 'block5_conv4'].map(
    (layer): LayerPreset => ({
      id: `seed-${layer}`,
      label: `${layer} alone`,
      hint: 'the seed\'s experiment: one layer\'s style alone — shallow layers carry colour, middle ones strokes, deep ones swirls',
      style: [layer],
      content: [],
    }),
  ),
  {
    id: 'seed-block1_conv1+block4_conv1',
    label: 'block1_conv1 + block4_conv1',
    hint: 'the seed\'s two-scale combination: colour and large shapes',
    style: ['block1_conv1', 'block4_conv1'],
    content: [],
  },
];

export function applyPreset(settings: StudioSettings, presetId: string): StudioSettings {
  const preset = LAYER_PRESETS.find((p) => p.id === presetId);
  if (!preset) return settings;
  return { ...settings, layers: layersWith(preset.style, preset.content) };
}

export const DEFAULT_STUDIO_SETTINGS: StudioSettings = {
  sizePx: 384,
  iterations: 300,
  optimizer: 'lbfgs',
  learningRate: null,
  styleWeight: 1,
  contentWeight: 1,
  tvWeight: 0.1,
  normalize: true,
  init: 'content',
  pool: 'max',
  device: 'auto',
  seed: 1,
  layers: layersWith(LAYER_PRESETS[0]!.style, LAYER_PRESETS[0]!.content),
};

export const enabledStyleLayers = (s: StudioSettings): string[] => LAYER_NAMES.filter((l) => s.layers[l]?.style);
export const enabledContentLayers = (s: StudioSettings): string[] => LAYER_NAMES.filter((l) => s.layers[l]?.content);
