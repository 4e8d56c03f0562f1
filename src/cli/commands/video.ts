// `nst video FRAMES_DIR -o OUT`, and the video options `nst stylize` shares: --video, --fps, --frame-every, --hold,
// --side-by-side, --caption, --ffmpeg, and the run presets (--preset single-layer-study --layer L).

import path from 'node:path';
import cliProgress from 'cli-progress';
import { Command } from 'commander';
import { NstError, isNstError, type PlanarImage, type RenderEvent, type RunResult, DEFAULT_FPS, DEFAULT_HOLD_SECONDS, exportVideo, videoFormatForPath, type ExportVideoOptions, type VideoExportResult, type VideoProgress, resolveFfmpeg, type ResolvedTool, DEFAULT_FRAME_EVERY, FrameRecorder, FrameSpool } from '../../engine/index.js';
import { RUN_PRESETS } from '../../shared/studio-settings.js';
import { parseChoice, parseLayerList, parseNumber } from '../parse.js';
import { say, writeJsonLine } from '../output.js';

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

/** What stylize does with --video: a temp spool filled from the run's events, exported after the run, then removed. */
export interface StylizeVideo {
  readonly frameEvery: number;
  /**
   * The start image (iteration 0) and the content image at the output size. `prepare` brings every frame to the
   * output's size and look (coarse scales upsampled, original colours) before it is spooled.
   */
  start(startImage: PlanarImage, content: PlanarImage, prepare: (image: PlanarImage) => PlanarImage | Promise<PlanarImage>): void;
  /** A render event (the engine numbers iterations across scales). */
  onEvent(event: RenderEvent): void;
  /** Spools the final image, exports and removes the spool; if the export fails the frames are kept and the error says where. */
  finish(result: RunResult): Promise<VideoExportResult>;
  /** Removes the spool (a run that failed). */
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
  const spool = await FrameSpool.create({ frameEvery });
  let recorder: FrameRecorder | null = null;
  return {
    frameEvery,
    start: (startImage, content, prepare) => {
      recorder = new FrameRecorder(spool, { prepare });
      recorder.start(startImage, content);
    },
    onEvent: (event) => recorder?.onEvent(event),
    finish: async (result) => {
      if (!recorder) throw new NstError('RUNTIME_FAILURE', 'The video recorder was never started.');
      await recorder.finish(result);
      try {
        const exported = await exportWithProgress(
          { framesDir: spool.dir, output, ...encode, sideBySide: raw.sideBySide === true, caption: raw.caption === true, ffmpeg },
          json,
        );
        await spool.remove();
        return exported;
      } catch (error) {
        const retry = `the frames are kept in ${spool.dir}: nst video ${spool.dir} -o ${output}`;
        if (isNstError(error)) throw new NstError(error.code, `${error.message.replace(/\.$/, '')} (${retry}).`, { cause: error });
        throw error;
      }
    },
    discard: () => spool.remove(),
  };
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

/** Runs the export with a bar on a terminal (or JSON progress lines); Ctrl-C cancels it and leaves no file. */
async function exportWithProgress(options: ExportVideoOptions, json: boolean): Promise<VideoExportResult> {
  const cancel = new AbortController();
  const onSignal = (): void => cancel.abort();
  process.on('SIGINT', onSignal);
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
  } finally {
    bar?.stop();
    process.off('SIGINT', onSignal);
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
