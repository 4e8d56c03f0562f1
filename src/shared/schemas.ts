// Valibot schemas for every request payload of the API table (api.ts), one row per call that takes one, and the
// validator that returns errors as data. One job, so over 450 lines: the schemas share their pieces (images, styles,
// settings), and a split would import them in a circle. Pure (no Node, no DOM): main process, browser host and renderer import it.

import * as v from 'valibot';
import type { RequestMethod, RequestOf } from './api.js';
import type {
  BatchItemRef,
  ChooseFfmpegRequest,
  EstimateMemoryRequest,
  ExportImageRequest,
  ExportVideoRequest,
  FetchWeightsRequest,
  ImportWeightsRequest,
  MaskSet,
  PhotoMasks,
  PhotoMasksRef,
  RunRef,
  SavePhotoMasksRequest,
  SetRunMasksRequest,
  StartBatchRequest,
  StartRunRequest,
  StartVideoJobRequest,
  UpdateRunSettingsRequest,
  VideoJobFrameRef,
} from './api-types.js';
import type { ErrorInfo, Result } from './result.js';
import { printable } from './printable.js';
import { LAYER_NAMES, type LayerSetting, type StudioSettings, type VideoSettings } from './studio-settings.js';

/** Largest encoded image accepted per byte array: far above any photo, below what would exhaust memory. */
export const MAX_IMAGE_BYTES = 200 * 1024 * 1024;
/**
 * Most pixels a content or style image may have, judged from its header: the studio's decode refuses more (a
 * decompression bomb costs nothing), and the window refuses such a drop at once, offering to scale it down.
 */
export const MAX_INPUT_PIXELS = 100_000_000;
/** Most style images one run may blend. */
export const MAX_STYLES = 8;
export const SIZE_PX_RANGE = { min: 16, max: 4096 } as const;
export const ITERATIONS_RANGE = { min: 1, max: 100_000 } as const;
export const SCALES_RANGE = { min: 1, max: 8 } as const;
export const STYLE_SCALE_RANGE = { min: 0.05, max: 8 } as const;
/** Tiles of N px: the CLI's --tile range. */
export const TILE_PX_RANGE = { min: 64, max: 16384 } as const;
export const TILE_OVERLAP_PX_RANGE = { min: 0, max: 1024 } as const;
/** × the adaptive stop's thresholds (the engine's STOP_TOLERANCE_RANGE; a test keeps them equal). */
export const STOP_TOLERANCE_RANGE = { min: 0.05, max: 20 } as const;
/** The memory limit in MB: below 256 MB not even the runtime fits; the top is 1 TB. */
export const MEMORY_LIMIT_MB_RANGE = { min: 256, max: 1_048_576 } as const;
/** Export may upscale the result, within reason. */
export const EXPORT_SIZE_PX_RANGE = { min: 16, max: 8192 } as const;
export const MAX_IMAGE_NAME_LENGTH = 1024;
/** Most content images one batch may hold. */
export const MAX_BATCH_ITEMS = 1000;
/** Run ids are made by the run service (`run-<n>-<hex>`); the pattern keeps anything else out of logs and maps. */
export const RUN_ID_PATTERN = /^run-[a-z0-9-]{1,64}$/;

/** The error code every rejected payload carries. */
export const BAD_REQUEST = 'BAD_REQUEST';

// Messages are predicates: the validator prefixes the field's path ("startRun.settings.sizePx must be …").
const finiteAtLeastZero = () => v.pipe(v.number('must be a number'), v.finite('must be finite'), v.minValue(0, 'must be ≥ 0'));

const wholeNumberIn = (min: number, max: number) =>
  v.pipe(
    v.number('must be a number'),
    v.integer('must be a whole number'),
    v.minValue(min, `must be at least ${min}`),
    v.maxValue(max, `must be at most ${max}`),
  );

/** A strict object's message: its own shape, or (for its entries) "is missing" / "is not a known field". */
const objectMessage =
  (shape: string) =>
  (issue: v.BaseIssue<unknown>): string =>
    issue.expected === 'never' ? 'is not a known field' : issue.expected?.startsWith('"') ? 'is missing' : `must be ${shape}`;

const imageBytes = v.pipe(
  v.instance(Uint8Array, 'must be a Uint8Array of the encoded image file'),
  v.check((bytes) => bytes.byteLength > 0, 'is empty (0 bytes), not an image'),
  v.check((bytes) => bytes.byteLength <= MAX_IMAGE_BYTES, `is larger than ${MAX_IMAGE_BYTES / 1024 / 1024} MB`),
);

export const ImageInputSchema = v.strictObject(
  {
    name: v.pipe(v.string('must be a string'), v.maxLength(MAX_IMAGE_NAME_LENGTH, `must be at most ${MAX_IMAGE_NAME_LENGTH} characters`)),
    bytes: imageBytes,
  },
  objectMessage('an object {name, bytes}'),
);

export const LayerSettingSchema = v.strictObject(
  {
    style: v.boolean('must be true or false'),
    styleWeight: finiteAtLeastZero(),
    content: v.boolean('must be true or false'),
  },
  objectMessage('an object {style, styleWeight, content}'),
) satisfies v.GenericSchema<unknown, LayerSetting>;

/** Exactly the 16 VGG19 conv layers: a missing or an unknown layer name is an error. */
const LayersSchema = v.pipe(
  v.strictObject(
    Object.fromEntries(LAYER_NAMES.map((name) => [name, LayerSettingSchema])) as Record<string, typeof LayerSettingSchema>,
    objectMessage('an object with one entry per VGG19 conv layer (block1_conv1 … block5_conv4)'),
  ),
  v.check((layers) => Object.values(layers).some((l) => l.style || l.content), 'must turn on at least one style or content layer'),
);

export const StudioSettingsSchema = v.strictObject(
  {
    sizePx: wholeNumberIn(SIZE_PX_RANGE.min, SIZE_PX_RANGE.max),
    iterations: wholeNumberIn(ITERATIONS_RANGE.min, ITERATIONS_RANGE.max),
    optimizer: v.picklist(['gd', 'adam', 'lbfgs'], 'must be gd, adam or lbfgs'),
    learningRate: v.nullable(v.pipe(v.number('must be a number or null'), v.finite('must be finite'), v.gtValue(0, 'must be above 0'))),
    styleWeight: finiteAtLeastZero(),
    contentWeight: finiteAtLeastZero(),
    tvWeight: finiteAtLeastZero(),
    normalize: v.boolean('must be true or false'),
    init: v.picklist(['content', 'noise', 'style'], 'must be content, noise or style'),
    pool: v.picklist(['max', 'avg'], 'must be max or avg'),
    device: v.picklist(['auto', 'cpu', 'cuda', 'dml', 'webgpu', 'coreml'], 'must be auto, cpu, cuda, dml, webgpu or coreml'),
    seed: v.pipe(v.number('must be a number'), v.safeInteger('must be a whole number')),
    layers: LayersSchema,
    scales: v.union(
      [v.picklist(['auto', 'off']), wholeNumberIn(SCALES_RANGE.min, SCALES_RANGE.max)],
      `must be auto, off or a whole number from ${SCALES_RANGE.min} to ${SCALES_RANGE.max}`,
    ),
    styleScale: v.pipe(
      v.number('must be a number'),
      v.finite('must be finite'),
      v.minValue(STYLE_SCALE_RANGE.min, `must be at least ${STYLE_SCALE_RANGE.min}`),
      v.maxValue(STYLE_SCALE_RANGE.max, `must be at most ${STYLE_SCALE_RANGE.max}`),
    ),
    originalColors: v.boolean('must be true or false'),
    tile: v.union(
      [v.picklist(['auto', 'off']), wholeNumberIn(TILE_PX_RANGE.min, TILE_PX_RANGE.max)],
      `must be auto, off or a tile size in px from ${TILE_PX_RANGE.min} to ${TILE_PX_RANGE.max}`,
    ),
    tileOverlapPx: wholeNumberIn(TILE_OVERLAP_PX_RANGE.min, TILE_OVERLAP_PX_RANGE.max),
    memoryLimitMb: v.nullable(wholeNumberIn(MEMORY_LIMIT_MB_RANGE.min, MEMORY_LIMIT_MB_RANGE.max)),
    // Absent in settings saved before the adaptive stop: they take the default (an old checkpoint's job says 'off'
    // itself: parseStudioJob).
    stop: v.optional(v.picklist(['auto', 'off'], 'must be auto or off'), 'auto'),
    stopTolerance: v.optional(
      v.pipe(
        v.number('must be a number'),
        v.finite('must be finite'),
        v.minValue(STOP_TOLERANCE_RANGE.min, `must be at least ${STOP_TOLERANCE_RANGE.min}`),
        v.maxValue(STOP_TOLERANCE_RANGE.max, `must be at most ${STOP_TOLERANCE_RANGE.max}`),
      ),
      1,
    ),
  },
  objectMessage('a settings object'),
) satisfies v.GenericSchema<unknown, StudioSettings>;

export const StyleInputSchema = v.strictObject(
  {
    image: ImageInputSchema,
    blend: finiteAtLeastZero(),
  },
  objectMessage('an object {image, blend}'),
);

/** A mask's longest side: the largest photo the studio takes is MAX_INPUT_PIXELS, and no side is longer than this. */
export const MASK_SIDE_MAX_PX = 65_536;

const maskBytes = v.instance(Uint8Array, 'must be a Uint8Array of grey levels (0..255), one per pixel, row-major');

/** The first mask of `set` whose length is not width × height, said as the check's predicate; null when all fit. */
function misfitMask(set: { width: number; height: number; styles: readonly Uint8Array[]; content: Uint8Array | null }): string | null {
  const pixels = set.width * set.height;
  const named = [...set.styles.map((mask, k) => [`style mask ${k + 1}`, mask] as const), ...(set.content ? [['the content mask', set.content] as const] : [])];
  const bad = named.find(([, mask]) => mask.length !== pixels);
  return bad ? `must hold width × height bytes in each mask (${bad[0]} holds ${bad[1].length}; a ${set.width}x${set.height} mask needs ${pixels})` : null;
}

/**
 * Painted masks: their size, one mask per style image (or none) and an optional content mask, each exactly width ×
 * height bytes. Whether a mask is usable (not black everywhere) is the engine's to say (checkMask), at the host.
 */
export const MaskSetSchema = v.pipe(
  v.strictObject(
    {
      width: wholeNumberIn(1, MASK_SIDE_MAX_PX),
      height: wholeNumberIn(1, MASK_SIDE_MAX_PX),
      styles: v.pipe(v.array(maskBytes, 'must be an array of masks, one per style image'), v.maxLength(MAX_STYLES, `must hold at most ${MAX_STYLES} masks`)),
      content: v.nullable(maskBytes),
    },
    objectMessage('an object {width, height, styles, content}'),
  ),
  v.check((set) => set.width * set.height <= MAX_INPUT_PIXELS, `must be at most ${MAX_INPUT_PIXELS} pixels (width × height)`),
  v.check((set) => misfitMask(set) === null, (issue) => misfitMask(issue.input as MaskSet) ?? 'must hold width × height bytes in each mask'),
) satisfies v.GenericSchema<unknown, MaskSet>;

const StartRunEntries = {
  content: ImageInputSchema,
  styles: v.pipe(
    v.array(StyleInputSchema, 'must be an array of style images'),
    v.minLength(1, 'must hold at least one style image'),
    v.maxLength(MAX_STYLES, `must hold at most ${MAX_STYLES} style images`),
    v.check((styles) => styles.some((s) => s.blend > 0), 'blend weights must not all be 0'),
  ),
  settings: StudioSettingsSchema,
  timelapse: v.optional(
    v.nullable(v.strictObject({ frameEvery: wholeNumberIn(1, 100_000) }, objectMessage('an object {frameEvery}, or null for no timelapse'))),
  ),
  masks: v.optional(v.nullable(MaskSetSchema)),
};

export const StartRunRequestSchema = v.pipe(
  v.strictObject(StartRunEntries, objectMessage('an object {content, styles, settings}')),
  // Each style its region: one style mask per style image, in style order (none: only a content mask, or no masks).
  v.forward(
    v.partialCheck(
      [['styles'], ['masks', 'styles']],
      (request) => !request.masks || request.masks.styles.length === 0 || request.masks.styles.length === request.styles.length,
      (issue) => `must hold one mask per style image (${(issue.input as StartRunRequest).styles.length}), in style order, or none`,
    ),
    ['masks', 'styles'],
  ),
) satisfies v.GenericSchema<unknown, StartRunRequest>;

export const RunRefSchema = v.strictObject(
  {
    runId: v.pipe(v.string('must be a string'), v.regex(RUN_ID_PATTERN, 'is not a run id (run-…)')),
  },
  objectMessage('an object {runId}'),
) satisfies v.GenericSchema<unknown, RunRef>;

export const UpdateRunSettingsRequestSchema = v.strictObject(
  {
    runId: RunRefSchema.entries.runId,
    settings: StudioSettingsSchema,
  },
  objectMessage('an object {runId, settings}'),
) satisfies v.GenericSchema<unknown, UpdateRunSettingsRequest>;

export const SetRunMasksRequestSchema = v.strictObject(
  {
    runId: RunRefSchema.entries.runId,
    masks: v.nullable(MaskSetSchema),
  },
  objectMessage('an object {runId, masks}'),
) satisfies v.GenericSchema<unknown, SetRunMasksRequest>;

export const PhotoMasksRefSchema = v.strictObject(
  {
    photo: v.pipe(v.string('must be a string'), v.regex(/^[0-9a-f]{64}$/, "is not a photo's SHA-256 (64 lowercase hex digits)")),
  },
  objectMessage('an object {photo}'),
) satisfies v.GenericSchema<unknown, PhotoMasksRef>;

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const pngBytes = v.pipe(
  v.instance(Uint8Array, 'must be a Uint8Array holding a PNG'),
  v.maxLength(MAX_IMAGE_BYTES, `must be at most ${MAX_IMAGE_BYTES} bytes`),
  v.check((bytes) => PNG_SIGNATURE.every((b, i) => bytes[i] === b), 'is not a PNG (no PNG signature)'),
);

export const SavePhotoMasksRequestSchema = v.strictObject(
  {
    photo: PhotoMasksRefSchema.entries.photo,
    masks: v.nullable(
      v.strictObject(
        {
          enabled: v.boolean('must be true or false'),
          styles: v.pipe(v.array(pngBytes, 'must be an array of PNGs, one per style image'), v.maxLength(MAX_STYLES, `must hold at most ${MAX_STYLES} masks`)),
          content: v.nullable(pngBytes),
        },
        objectMessage('an object {enabled, styles, content}, or null'),
      ) satisfies v.GenericSchema<unknown, PhotoMasks>,
    ),
  },
  objectMessage('an object {photo, masks}'),
) satisfies v.GenericSchema<unknown, SavePhotoMasksRequest>;

export const ExportImageRequestSchema = v.strictObject(
  {
    runId: RunRefSchema.entries.runId,
    format: v.picklist(['png', 'jpeg'], 'must be png or jpeg'),
    sizePx: v.nullable(wholeNumberIn(EXPORT_SIZE_PX_RANGE.min, EXPORT_SIZE_PX_RANGE.max)),
  },
  objectMessage('an object {runId, format, sizePx}'),
) satisfies v.GenericSchema<unknown, ExportImageRequest>;

/** Calls without a payload (getSettings, getAppInfo) accept only undefined or null. */
const NoPayloadSchema = v.nullish(v.never('takes no payload'));

/** Largest weights file accepted from the page (the Keras VGG19 file is about 80 MB; full ONNX about 550 MB). */
export const MAX_WEIGHTS_IMPORT_BYTES = 1024 * 1024 * 1024;

/** Nothing (or null) is a download from the Keras mirrors, as {} is. */
export const FetchWeightsRequestSchema = v.pipe(
  v.nullish(
    v.strictObject(
      { url: v.optional(v.nullable(v.pipe(v.string('must be a string'), v.regex(/^https?:\/\/\S+$/i, 'must be an http:// or https:// address')))) },
      objectMessage('an object {url?}'),
    ),
  ),
  v.transform((request): FetchWeightsRequest => request ?? {}),
) satisfies v.GenericSchema<unknown, FetchWeightsRequest>;

export const ImportWeightsRequestSchema = v.strictObject(
  {
    files: v.pipe(
      v.array(
        v.strictObject(
          {
            name: v.pipe(v.string('must be a string'), v.maxLength(MAX_IMAGE_NAME_LENGTH, `must be at most ${MAX_IMAGE_NAME_LENGTH} characters`)),
            bytes: v.pipe(v.instance(Uint8Array, 'must be a Uint8Array of the file'), v.check((b) => b.byteLength <= MAX_WEIGHTS_IMPORT_BYTES, 'is too large')),
          },
          objectMessage('an object {name, bytes}'),
        ),
        'must be an array of files',
      ),
      v.minLength(1, 'must hold at least one file'),
      v.maxLength(64, 'must hold at most 64 files'),
    ),
  },
  objectMessage('an object {files}'),
) satisfies v.GenericSchema<unknown, ImportWeightsRequest>;

const numberIn = (min: number, max: number) =>
  v.pipe(v.number('must be a number'), v.finite('must be finite'), v.minValue(min, `must be ≥ ${min}`), v.maxValue(max, `must be ≤ ${max}`));

export const ExportVideoRequestSchema = v.strictObject(
  {
    runId: v.pipe(v.string('must be a string'), v.regex(RUN_ID_PATTERN, 'is not a run id (run-…)')),
    format: v.picklist(['mp4', 'webm', 'gif'], 'must be mp4, webm or gif'),
    fps: numberIn(0.5, 120),
    holdFinalSeconds: numberIn(0, 60),
    sideBySide: v.boolean('must be true or false'),
    caption: v.boolean('must be true or false'),
  },
  objectMessage('an object {runId, format, fps, holdFinalSeconds, sideBySide, caption}'),
) satisfies v.GenericSchema<unknown, ExportVideoRequest>;

export const EstimateMemoryRequestSchema = v.strictObject(
  {
    settings: StudioSettingsSchema,
    content: v.nullable(
      v.strictObject(
        { width: wholeNumberIn(1, 1_000_000), height: wholeNumberIn(1, 1_000_000) },
        objectMessage('an object {width, height}, or null'),
      ),
    ),
    styleImages: v.optional(wholeNumberIn(1, MAX_STYLES)),
  },
  objectMessage('an object {settings, content}'),
) satisfies v.GenericSchema<unknown, EstimateMemoryRequest>;

export const VideoSettingsSchema = v.strictObject(
  {
    format: v.picklist(['mp4', 'webm', 'gif'], 'must be mp4, webm or gif'),
    frameEvery: wholeNumberIn(1, 100_000),
    fps: numberIn(0.5, 120),
    holdFinalSeconds: numberIn(0, 60),
    sideBySide: v.boolean('must be true or false'),
    caption: v.boolean('must be true or false'),
    record: v.boolean('must be true or false'),
  },
  objectMessage('an object {format, frameEvery, fps, holdFinalSeconds, sideBySide, caption, record}'),
) satisfies v.GenericSchema<unknown, VideoSettings>;

/** No path: the page may only ask for the host's own way of choosing (Electron's open dialog) or to forget the choice. */
export const ChooseFfmpegRequestSchema = v.strictObject(
  { reset: v.boolean('must be true or false') },
  objectMessage('an object {reset}'),
) satisfies v.GenericSchema<unknown, ChooseFfmpegRequest>;

export const StartBatchRequestSchema = v.strictObject(
  {
    contents: v.pipe(
      v.array(ImageInputSchema, 'must be an array of content images'),
      v.minLength(1, 'must hold at least one content image'),
      v.maxLength(MAX_BATCH_ITEMS, `must hold at most ${MAX_BATCH_ITEMS} images`),
    ),
    styles: StartRunEntries.styles,
    settings: StudioSettingsSchema,
  },
  objectMessage('an object {contents, styles, settings}'),
) satisfies v.GenericSchema<unknown, StartBatchRequest>;

export const BatchItemRefSchema = v.strictObject({ index: wholeNumberIn(0, MAX_BATCH_ITEMS - 1) }, objectMessage('an object {index}')) satisfies v.GenericSchema<unknown, BatchItemRef>;

/** Largest clip accepted: a few minutes of HD video; the page sends the file's bytes. */
export const MAX_CLIP_BYTES = 1024 * 1024 * 1024;
/** Most frames a video job's strip may name. */
export const MAX_VIDEO_FRAMES = 1_000_000;
/** Most frames a folder sent by the page may hold (a 10-minute clip at 24 fps is 14 400). */
export const MAX_FOLDER_FRAMES = 100_000;

export const StartVideoJobRequestSchema = v.strictObject(
  {
    clip: v.variant(
      'kind',
      [
        v.strictObject(
          {
            kind: v.literal('video'),
            file: v.strictObject(
              {
                name: v.pipe(v.string('must be a string'), v.maxLength(MAX_IMAGE_NAME_LENGTH, `must be at most ${MAX_IMAGE_NAME_LENGTH} characters`)),
                bytes: v.pipe(
                  v.instance(Uint8Array, 'must be a Uint8Array of the video file'),
                  v.check((bytes) => bytes.byteLength > 0, 'is empty (0 bytes), not a video'),
                  v.check((bytes) => bytes.byteLength <= MAX_CLIP_BYTES, `is larger than ${MAX_CLIP_BYTES / 1024 / 1024} MB`),
                ),
              },
              objectMessage('an object {name, bytes}'),
            ),
          },
          objectMessage("an object {kind: 'video', file}"),
        ),
        v.strictObject(
          {
            kind: v.literal('frames'),
            name: v.pipe(v.string('must be a string'), v.maxLength(MAX_IMAGE_NAME_LENGTH, `must be at most ${MAX_IMAGE_NAME_LENGTH} characters`)),
            frames: v.pipe(
              v.array(ImageInputSchema, 'must be an array of frame images'),
              v.minLength(1, 'must hold at least one frame'),
              v.maxLength(MAX_FOLDER_FRAMES, `must hold at most ${MAX_FOLDER_FRAMES} frames`),
              v.check((frames) => frames.reduce((sum, f) => sum + f.bytes.byteLength, 0) <= MAX_CLIP_BYTES, `must hold at most ${MAX_CLIP_BYTES / 1024 / 1024} MB in all`),
            ),
            fps: numberIn(0.5, 120),
          },
          objectMessage("an object {kind: 'frames', name, frames, fps}"),
        ),
      ],
      "must be {kind: 'video', file} or {kind: 'frames', name, frames, fps}",
    ),
    styles: StartRunEntries.styles,
    settings: StudioSettingsSchema,
    video: v.strictObject(
      {
        iterations: wholeNumberIn(ITERATIONS_RANGE.min, ITERATIONS_RANGE.max),
        firstIterations: wholeNumberIn(ITERATIONS_RANGE.min, ITERATIONS_RANGE.max),
        temporalWeight: numberIn(0, 1e10),
        format: v.picklist(['mp4', 'webm', 'gif'], 'must be mp4, webm or gif'),
      },
      objectMessage('an object {iterations, firstIterations, temporalWeight, format}'),
    ),
  },
  objectMessage('an object {clip, styles, settings, video}'),
) satisfies v.GenericSchema<unknown, StartVideoJobRequest>;

export const VideoJobFrameRefSchema = v.strictObject({ frame: wholeNumberIn(1, MAX_VIDEO_FRAMES) }, objectMessage('an object {frame}')) satisfies v.GenericSchema<unknown, VideoJobFrameRef>;

/** How a rejected payload is described: the first issue, named by its path (`settings.layers.block1_conv1.style`). */
function describeIssues(what: string, issues: readonly v.BaseIssue<unknown>[]): ErrorInfo {
  const issue = issues[0]!;
  // Keys come from the payload too (an unknown field's name): escaped and bounded like received values.
  const dotPath = v.getDotPath(issue);
  const where = dotPath === null ? null : truncate(dotPath, 120);
  const aboutKey = issue.expected === 'never' || issue.expected?.startsWith('"');
  const received = !aboutKey && issue.received && issue.received !== 'unknown' ? ` (received ${truncate(issue.received)})` : '';
  const field = where ? `${what}.${where}` : what;
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? 's' : ''})` : '';
  return { code: BAD_REQUEST, message: `${field} ${issue.message}${received}${more}.` };
}

/** A received value as it may appear in a one-line message: control characters escaped (a payload's newlines and
 * terminal escapes must not reach logs or the UI raw), and at most `max` characters. */
function truncate(text: string, max = 80): string {
  const shown = printable(text);
  return shown.length > max ? `${shown.slice(0, max - 1)}…` : shown;
}

/** What a hostile payload threw, as text, even when the thrown thing's own message or toString throws again. */
function describeThrown(error: unknown): string {
  try {
    return error instanceof Error ? String(error.message) : String(error);
  } catch {
    return 'a value that cannot be described';
  }
}

function validate<S extends v.GenericSchema>(what: string, schema: S, payload: unknown): Result<v.InferOutput<S>> {
  try {
    const parsed = v.safeParse(schema, payload);
    return parsed.success ? { ok: true, value: parsed.output } : { ok: false, error: describeIssues(what, parsed.issues) };
  } catch (error) {
    // A hostile object (a getter that throws, a Proxy) must still come back as data, never as an exception.
    return { ok: false, error: { code: BAD_REQUEST, message: `${what} could not be read: ${truncate(describeThrown(error), 200)}.` } };
  }
}

/** Methods whose request is a payload; the others take none (undefined or null). */
export type PayloadMethod = { [M in RequestMethod]: [RequestOf<M>] extends [void] ? never : M }[RequestMethod];

/** One schema per call that takes a payload: a call of the table without one here does not compile. */
export const REQUEST_SCHEMAS = {
  startRun: StartRunRequestSchema,
  pauseRun: RunRefSchema,
  resumeRun: RunRefSchema,
  stopRun: RunRefSchema,
  updateRunSettings: UpdateRunSettingsRequestSchema,
  setRunMasks: SetRunMasksRequestSchema,
  estimateMemory: EstimateMemoryRequestSchema,
  exportImage: ExportImageRequestSchema,
  saveSettings: StudioSettingsSchema,
  getPhotoMasks: PhotoMasksRefSchema,
  savePhotoMasks: SavePhotoMasksRequestSchema,
  fetchWeights: FetchWeightsRequestSchema,
  importWeights: ImportWeightsRequestSchema,
  exportVideo: ExportVideoRequestSchema,
  cancelVideoExport: RunRefSchema,
  saveVideoSettings: VideoSettingsSchema,
  chooseFfmpeg: ChooseFfmpegRequestSchema,
  startBatch: StartBatchRequestSchema,
  getBatchOutput: BatchItemRefSchema,
  startVideoJob: StartVideoJobRequestSchema,
  getVideoJobFrame: VideoJobFrameRefSchema,
  resumeInterruptedRun: RunRefSchema,
  discardInterruptedRun: RunRefSchema,
} satisfies { [M in PayloadMethod]: v.GenericSchema<unknown, RequestOf<M>> };

/** The payload of `method` checked against its schema: the typed request, or BAD_REQUEST naming the field ("startRun.settings.sizePx …"). */
export function validateRequest<M extends RequestMethod>(method: M, payload: unknown): Result<RequestOf<M>> {
  const schema: v.GenericSchema = Object.hasOwn(REQUEST_SCHEMAS, method) ? REQUEST_SCHEMAS[method as PayloadMethod] : NoPayloadSchema;
  return validate(method, schema, payload) as Result<RequestOf<M>>;
}

/** Settings read back from disk (the settings file, a checkpoint): checked as strictly as the window's. */
export const validateStudioSettings = (value: unknown): Result<StudioSettings> => validate('settings', StudioSettingsSchema, value);
export const validateVideoSettings = (value: unknown): Result<VideoSettings> => validate('videoSettings', VideoSettingsSchema, value);
