// `nst video FRAMES_DIR -o OUT`, and the video options `nst stylize` shares: --video, --fps, --frame-every, --hold,
// --side-by-side, --caption, --ffmpeg, and the run presets (--preset single-layer-study --layer L).

import { rm } from 'node:fs/promises';
import path from 'node:path';
import cliProgress from 'cli-progress';
import { Command } from 'commander';
import { NstError, isNstError, type PlanarImage, type RenderEvent, type RunResult, DEFAULT_FPS, DEFAULT_HOLD_SECONDS, exportVideo, videoFormatForPath, type ExportVideoOptions, type VideoExportResult, type VideoProgress, resolveFfmpeg, type ResolvedTool, DEFAULT_FRAME_EVERY, FrameRecorder, FrameSpool } from '../../engine/index.js';
import { RUN_PRESETS } from '../../shared/studio-settings.js';
import { parseChoice, parseLayerList, parseNumber } from '../parse.js';
import { say, writeJsonLine } from '../output.js';
import { openStopScope, StoppedBySignal } from '../stop-signals.js';

type RawOptions = Record<string, string | boolean | undefined>;

export function videoCommand(): Command {
  const command = new Command('video')
    .description('encode a folder of frames (a spool from the studio, or stylize --save-every --frames-dir output) into a video')
    .argument('<frames-dir>', 'folder holding frames.jsonl and frame_000000.png …, or numbered images')
    .requiredOption('-o, --output <file>', 'output video: .mp4 (H.264), .webm (VP9) or .gif');
  addEncodeOptions(command, '[content]', 'put the content image left of each frame (default: the spool\'s content.png)');
  command.option('--json', 'progress as JSON lines on stdout, then a final {"done":true,…} line');
  return command.action(async (framesDir: string, raw: RawOptions) => {
    const text = raw as Record<string, string | undefined>;
    const json = raw.json === true;
    const output = path.resolve(text.output!);
    videoFormatForPath(output);
    const encode = readEncodeOptions(text);
    const ffmpeg = await resolveCliFfmpeg(text.ffmpeg, json);
    const result = await exportWithProgress(
      { framesDir, output, ...encode, sideBySide: raw.sideBySide === true ? true : (text.sideBySide ?? false), caption: raw.caption === true, ffmpeg },
      json,
    );
    if (json) writeJsonLine({ done: true, ...summary(result) });
    else say(describeVideo(result));
  });
}

/** The options `nst stylize` gains: capture during the run, then encode. */
export function addStylizeVideoOptions(command: Command): Command {
  command
    .option('--video <file>', 'also write a timelapse of the run: .mp4, .webm or .gif')
    .option('--frame-every <n>', 'with --video: capture a frame every N iterations (plus the first and last)', String(DEFAULT_FRAME_EVERY));
  addEncodeOptions(command, '', 'with --video: the content image left of each frame');
  return command
    .option('--preset <name>', `a run recipe: ${RUN_PRESETS.map((p) => `${p.id} (${p.hint})`).join('; ')}; options you give win`)
    .option('--layer <layer>', 'with --preset single-layer-study: the one style layer (default block1_conv1)');
}

function addEncodeOptions(command: Command, sideBySideValue: string, sideBySideHelp: string): void {
  command
    .option('--fps <n>', 'frames per second of the video', String(DEFAULT_FPS))
    .option('--hold <seconds>', 'show the final frame this much longer', String(DEFAULT_HOLD_SECONDS))
    .option(`--side-by-side${sideBySideValue ? ` ${sideBySideValue}` : ''}`, sideBySideHelp)
    .option('--caption', 'draw the iteration and loss onto each frame')
    .option('--ffmpeg <path>', 'the ffmpeg to use (default: $NST_FFMPEG, else ffmpeg-static, @ffmpeg-installer/ffmpeg, ffmpeg on PATH)');
}

function readEncodeOptions(text: Record<string, string | undefined>): { fps: number; holdFinalSeconds: number } {
  return {
    fps: parseNumber('--fps', text.fps!, { min: 0.5, max: 120 }),
    holdFinalSeconds: parseNumber('--hold', text.hold!, { min: 0, max: 60 }),
  };
}

/**
 * Fills the options a --preset sets, except those given on the command line. Call before reading the options.
 * `--layer` picks the preset's one style layer; without a preset it is refused.
 */
export function applyPresetOptions(command: Command, raw: RawOptions): void {
  const text = raw as Record<string, string | undefined>;
  if (text.preset === undefined) {
    if (text.layer !== undefined) throw new NstError('BAD_ARGUMENT', '--layer: only with --preset single-layer-study; otherwise use --style-layers.');
    return;
  }
  // Checkpoints of runs started before the preset was renamed still name it by its old id.
  const id = parseChoice('--preset', text.preset === 'seed-experiment' ? 'single-layer-study' : text.preset, RUN_PRESETS.map((p) => p.id));
  const preset = RUN_PRESETS.find((p) => p.id === id)!;
  const given = (key: string): boolean => {
    const source = command.getOptionValueSource(key);
    return source !== undefined && source !== 'default';
  };
  if (text.layer !== undefined && given('styleLayers')) throw new NstError('BAD_ARGUMENT', '--layer and --style-layers both name the style layers: give one.');
  const layer = text.layer === undefined ? preset.defaultLayer : parseLayerList('--layer', text.layer)[0];
  if (layer === undefined) throw new NstError('BAD_ARGUMENT', '--layer: name one VGG19 conv layer, e.g. block3_conv2.');
  const s = preset.settings;
  const values: Record<string, string> = {
    iterations: String(s.iterations),
    optimizer: s.optimizer,
    ...(s.learningRate !== null ? { lr: String(s.learningRate) } : {}),
    init: s.init,
    styleWeight: String(s.styleWeight),
    contentWeight: String(s.contentWeight),
    tvWeight: String(s.tvWeight),
    stop: s.stop,
    styleLayers: layer,
    contentLayers: '',
    // One size: coarse-to-fine would add coarse scales before the preset's iterations.
    scales: 'off',
    frameEvery: String(preset.video.frameEvery),
    fps: String(preset.video.fps),
  };
  for (const [key, value] of Object.entries(values)) if (!given(key)) raw[key] = value;
  if (text.video === undefined && raw.json !== true) {
    say(`--preset ${id} is made to be watched: add --video OUT.mp4 for its timelapse.`);
  }
}

/**
 * What stylize does with --video: a spool filled from the run's events, exported after the run, then removed. A
 * checkpointed run spools into its own folder under the data folder (runFramesDir), kept while the run can be
 * resumed, so the resumed run goes on filling it and its video covers the whole run.
 */
export interface StylizeVideo {
  readonly frameEvery: number;
  /**
   * Opens the spool, then takes the start image (iteration 0) and the content image at the output size. `dir`: the
   * run's spool folder (null: a temp folder of this process's, for a run that is not checkpointed); `resumeAt`: the
   * checkpoint's iteration a resumed run goes on from. `prepare` brings every frame to the output's size and look
   * (coarse scales upsampled, original colours) before it is spooled.
   */
  start(
    place: { readonly dir: string | null; readonly resumeAt: number | null },
    startImage: PlanarImage,
    content: PlanarImage,
    prepare: (image: PlanarImage) => PlanarImage | Promise<PlanarImage>,
  ): Promise<void>;
  /** A resumed run's checkpoint image: spooled if a frame belongs there and the interrupted process had not written it. */
  resumeFrom(image: PlanarImage, iteration: number): void;
  /** A render event (the engine numbers iterations across scales). */
  onEvent(event: RenderEvent): void;
  /** Resolves once the frames captured so far are on disk: a checkpoint waits for it, so its resumption finds them. */
  settled(): Promise<void>;
  /** Spools the final image, exports and removes the spool; if the export fails the frames are kept and the error says where. */
  finish(result: RunResult): Promise<VideoExportResult>;
  /** Writes the frames captured so far and keeps them (a stopped run, to be resumed into this spool). */
  keep(): Promise<void>;
  /** Removes the spool (a run that failed, or stopped with no checkpoint to resume it from). */
  discard(): Promise<void>;
}

/** Checks the video options and finds ffmpeg before the run, so a missing ffmpeg costs nothing; null without --video. */
export async function prepareStylizeVideo(raw: RawOptions): Promise<StylizeVideo | null> {
  const text = raw as Record<string, string | undefined>;
  const json = raw.json === true;
  if (text.video === undefined) {
    for (const key of ['sideBySide', 'caption'] as const) if (raw[key] === true) throw new NstError('BAD_ARGUMENT', `--${key === 'sideBySide' ? 'side-by-side' : 'caption'} needs --video OUT.`);
    return null;
  }
  const output = path.resolve(text.video);
  videoFormatForPath(output);
  const frameEvery = parseNumber('--frame-every', text.frameEvery!, { min: 1, max: 1_000_000, integer: true });
  const encode = readEncodeOptions(text);
  const ffmpeg = await resolveCliFfmpeg(text.ffmpeg, json);
  let recorder: FrameRecorder | null = null;
  const started = (): FrameRecorder => {
    if (!recorder) throw new NstError('RUNTIME_FAILURE', 'The video recorder was never started.');
    return recorder;
  };
  return {
    frameEvery,
    start: async (place, startImage, content, prepare) => {
      const spool = await openSpool(place, frameEvery);
      recorder = new FrameRecorder(spool, { prepare });
      // A reopened spool has the start frame (and the content image) already: start() adds only what is missing.
      recorder.start(startImage, content);
    },
    resumeFrom: (image, iteration) => recorder?.resumeFrom(image, iteration),
    onEvent: (event) => recorder?.onEvent(event),
    settled: async () => recorder?.settled(),
    finish: async (result) => {
      const { spool } = started();
      await started().finish(result);
      try {
        const exported = await exportWithProgress(
          { framesDir: spool.dir, output, ...encode, sideBySide: raw.sideBySide === true, caption: raw.caption === true, ffmpeg },
          json,
        );
        await spool.remove();
        return exported;
      } catch (error) {
        const retry = `the frames are kept in ${spool.dir}: nst video ${spool.dir} -o ${output}`;
        const message = `${(error as Error).message.replace(/\.$/, '')} (${retry}).`;
        if (error instanceof StoppedBySignal) throw new StoppedBySignal(error.signal, message, { cause: error });
        if (isNstError(error)) throw new NstError(error.code, message, { cause: error });
        throw error;
      }
    },
    // The frames are worth keeping but not worth failing the stop for: a spool that failed costs the video only.
    keep: async () => void (await started().close().catch((error: unknown) => say(`the timelapse frames could not all be written: ${(error as Error).message}`))),
    discard: async () => recorder?.spool.remove(),
  };
}

/**
 * The run's spool: a new one (a temp folder when `dir` is null), or a resumed run's reopened at its checkpoint. A
 * spool that cannot be reopened (a run killed before its first frame was on disk) starts again, saying so.
 */
async function openSpool(place: { readonly dir: string | null; readonly resumeAt: number | null }, frameEvery: number): Promise<FrameSpool> {
  const { dir, resumeAt } = place;
  if (dir === null) return FrameSpool.create({ frameEvery });
  if (resumeAt === null) return FrameSpool.create({ dir, frameEvery });
  try {
    return await FrameSpool.resume({ dir, upTo: resumeAt });
  } catch (error) {
    say(`the timelapse frames from before the interruption cannot be reopened (${(error as Error).message.replace(/\.$/, '')}): the video starts again at iteration ${resumeAt}`);
    await rm(dir, { recursive: true, force: true });
    return FrameSpool.create({ dir, frameEvery });
  }
}

async function resolveCliFfmpeg(option: string | undefined, json: boolean): Promise<ResolvedTool> {
  const settingPath = option ?? (process.env.NST_FFMPEG || undefined);
  const found = await resolveFfmpeg({ settingPath });
  // A path the user gave that does not work is worth a line, even though another ffmpeg was found.
  if (settingPath !== undefined && found.source !== 'setting' && !json) {
    say(`${found.skipped[0] ?? `${settingPath} cannot be used`}; using ${found.path} (${found.source}) instead.`);
  }
  return found;
}

/**
 * Runs the export with a bar on a terminal (or JSON progress lines); a stop signal (stop-signals.ts) cancels it,
 * leaves no file, and ends in StoppedBySignal.
 */
async function exportWithProgress(options: ExportVideoOptions, json: boolean): Promise<VideoExportResult> {
  const cancel = new AbortController();
  const stops = openStopScope();
  stops.onStop(() => cancel.abort());
  const bar = !json && process.stderr.isTTY
    ? new cliProgress.SingleBar({ stream: process.stderr, format: 'video {bar} {percentage}% | {phase} {frame}/{frames} frames', hideCursor: true }, cliProgress.Presets.shades_classic)
    : null;
  bar?.start(100, 0, { phase: 'encode', frame: 0, frames: '?' });
  let lastPercent = -1;
  const onProgress = (p: VideoProgress): void => {
    const percent = Math.floor(p.fraction * 100);
    bar?.update(percent, { phase: p.phase, frame: p.frame, frames: p.totalFrames });
    if (json && percent !== lastPercent) writeJsonLine({ video: { phase: p.phase, frame: p.frame, totalFrames: p.totalFrames, fraction: Math.round(p.fraction * 1000) / 1000 } });
    lastPercent = percent;
  };
  try {
    return await exportVideo({ ...options, onProgress, signal: cancel.signal });
  } catch (error) {
    if (stops.signal && isNstError(error) && error.code === 'ABORTED') throw new StoppedBySignal(stops.signal, `stopped by ${stops.signal} while encoding ${options.output}; no video was written.`, { cause: error });
    throw error;
  } finally {
    bar?.stop();
    stops.close();
  }
}

export function summary(result: VideoExportResult): Record<string, unknown> {
  return {
    output: result.output,
    format: result.format,
    width: result.width,
    height: result.height,
    fps: result.fps,
    frames: result.totalFrames,
    capturedFrames: result.capturedFrames,
    heldFrames: result.heldFrames,
    seconds: result.durationSeconds,
    ffmpeg: result.ffmpeg.source,
  };
}

export function describeVideo(result: VideoExportResult): string {
  return `wrote ${result.output} (${result.format}, ${result.width}x${result.height}, ${result.totalFrames} frames at ${result.fps} fps = ${result.durationSeconds} s; ffmpeg from ${result.ffmpeg.source})`;
}
