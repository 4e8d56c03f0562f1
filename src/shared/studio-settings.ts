// The studio's run settings: one plain, serialisable object shared by renderer, main process and worker.

export type OptimizerChoice = 'gd' | 'adam' | 'lbfgs';
export type InitChoice = 'content' | 'noise' | 'style';
export type PoolChoice = 'max' | 'avg';
export type DeviceChoice = 'auto' | 'cpu' | 'cuda' | 'dml' | 'webgpu' | 'coreml';
/** Coarse-to-fine scales: `auto` (halvings above 384 px, coarsest ≥ 192 px), `off` (one scale), or N scales (1–8). */
export type ScalesChoice = 'auto' | 'off' | number;
/** Tiled rendering: `auto` (only when the whole image does not fit), `off` (then optimise smaller and upsample), or N-px tiles. */
export type TileChoice = 'auto' | 'off' | number;
/** When a run ends: `auto` once the picture has stopped changing (at most `iterations`), `off` after all `iterations`. */
export type StopChoice = 'auto' | 'off';

/** Per VGG19 conv layer: a style toggle and weight, and a content toggle. */
export interface LayerSetting {
  style: boolean;
  styleWeight: number;
  content: boolean;
}

/**
 * Masks are not in this object (issue 16). They are painted over one photo: kept in one object they would fall on
 * whatever photo is dropped next. Beside the settings, in the data folder, the host keeps each photo's masks under its
 * bytes' SHA-256 as grayscale PNGs (photo-masks-store.ts), and the same photo loaded again brings them back; they are
 * also kept with the run request, its checkpoint, the history entry and the editor's PNG files. And these settings
 * travel with every request and checkpoint job and are rewritten whole on each change: megabytes of layers in them
 * would slow every save, and one damaged layer would send the whole settings file to .bak.
 */
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
  scales: ScalesChoice;
  /** The style images' longest side relative to the output's (0.05–8). */
  styleScale: number;
  /** Keep the photo's colours: transfer luminance only. */
  originalColors: boolean;
  tile: TileChoice;
  tileOverlapPx: number;
  /** The memory a run may plan for, in MB (2^20 bytes); null: what the machine has available when the run starts. */
  memoryLimitMb: number | null;
  /** The adaptive stop (the CLI's --stop); `stopTolerance` scales its thresholds (2 stops sooner, 0.5 later). */
  stop: StopChoice;
  stopTolerance: number;
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

/** Gatys et al.'s choice, the single-layer study (one layer's style alone), and a two-scale pair. */
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
      id: `single-${layer}`,
      label: `${layer} alone`,
      hint: 'single-layer study: one layer\'s style alone — shallow layers carry colour, middle ones strokes, deep ones swirls',
      style: [layer],
      content: [],
    }),
  ),
  {
    id: 'pair-block1_conv1+block4_conv1',
    label: 'block1_conv1 + block4_conv1',
    hint: 'a two-scale pair: colour from the shallowest layer, large shapes from a deep one',
    style: ['block1_conv1', 'block4_conv1'],
    content: [],
  },
];

export function applyPreset(settings: StudioSettings, presetId: string): StudioSettings {
  const preset = LAYER_PRESETS.find((p) => p.id === presetId);
  if (!preset) return settings;
  return { ...settings, layers: layersWith(preset.style, preset.content) };
}

/** How many finished runs the studio keeps images (and History entries) of, newest first. */
export const RUNS_KEPT = 20;

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
  // The CLI's defaults (nst stylize --scales auto --style-scale 1 --tile auto --tile-overlap 64).
  scales: 'auto',
  styleScale: 1,
  originalColors: false,
  tile: 'auto',
  tileOverlapPx: 64,
  memoryLimitMb: null,
  stop: 'auto',
  stopTolerance: 1,
};

export const enabledStyleLayers = (s: StudioSettings): string[] => LAYER_NAMES.filter((l) => s.layers[l]?.style);
export const enabledContentLayers = (s: StudioSettings): string[] => LAYER_NAMES.filter((l) => s.layers[l]?.content);

// --- Run presets and timelapse video -------------------------------------------------------------------------

/**
 * A whole-run recipe (unlike a LayerPreset, which only sets layers). The CLI's `nst stylize --preset ID --layer L`
 * and the studio apply the same table: the preset fills the settings, the user's own choices win.
 */
export interface RunPreset {
  readonly id: string;
  readonly label: string;
  readonly hint: string;
  /** The one style layer used unless the user picks another (any of LAYER_NAMES). */
  readonly defaultLayer: string;
  readonly settings: Readonly<Pick<StudioSettings, 'iterations' | 'optimizer' | 'learningRate' | 'init' | 'styleWeight' | 'contentWeight' | 'tvWeight' | 'stop'>>;
  /** The timelapse the preset is meant to be watched as. */
  readonly video: { readonly frameEvery: number; readonly fps: number };
}

export const RUN_PRESETS: readonly RunPreset[] = [
  {
    id: 'single-layer-study',
    label: 'Single-layer study',
    hint: 'watch one layer\'s style take over the photo: that layer alone, plain normalised gradient steps (η = 100), a frame every 10 iterations at 10 fps',
    defaultLayer: 'block1_conv1',
    // The study is its whole timelapse: it runs all its iterations (no adaptive stop).
    settings: { iterations: 2000, optimizer: 'gd', learningRate: 100, init: 'content', styleWeight: 1, contentWeight: 0, tvWeight: 0, stop: 'off' },
    video: { frameEvery: 10, fps: 10 },
  },
];

export type VideoFormatChoice = 'mp4' | 'webm' | 'gif';

/** The "Export video" options (src/engine/video/export.ts takes the same; a test keeps the defaults equal). */
export interface VideoSettings {
  format: VideoFormatChoice;
  /** Capture a frame every N iterations during a run (plus the first and last). */
  frameEvery: number;
  fps: number;
  /** Seconds the final frame stays on screen. */
  holdFinalSeconds: number;
  /** The content photo left of each frame. */
  sideBySide: boolean;
  /** "iteration N · loss L" along the bottom. */
  caption: boolean;
  /** "Record timelapse" of new runs (a frame every frameEvery iterations). */
  record: boolean;
}

export const DEFAULT_VIDEO_SETTINGS: VideoSettings = {
  format: 'mp4',
  frameEvery: 10,
  fps: 10,
  holdFinalSeconds: 1,
  sideBySide: false,
  caption: false,
  record: true,
};
