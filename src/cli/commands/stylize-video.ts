// `nst stylize-video INPUT STYLE… -o OUT`: a clip (video file or folder of frames) painted frame by frame without
// flicker, per-frame progress and JSON lines, resumable from its last finished frame (`nst resume`, or the same
// command with the same --frames-dir).

import { rm, stat } from 'node:fs/promises';
import path from 'node:path';
import cliProgress from 'cli-progress';
import { Command } from 'commander';
import { convergenceRule, DEFAULT_RUN_SETTINGS, defaultMemoryLimit, type InitMode, isNstError, newRunId, NstError, type OptimizerName, MB, readVideoJob, resolveFfmpeg, RunController, STOP_TOLERANCE_RANGE, stylizeVideo, type VideoJobEvent, type VideoJobResult, type VideoJobSettings, videoFormatForPath, videoJobDir } from '../../engine/index.js';
import { settleAndSayAutoDevice } from '../auto-device.js';
import { addLossOptions, checkStyleBlend, readLossOptions } from '../loss-options.js';
import { say, writeJsonLine } from '../output.js';
import { checkOutputPath } from '../output-path.js';
import { parseChoice, parseNumber } from '../parse.js';
import { round } from '../render-options.js';
import { openStopScope, StoppedBySignal } from '../stop-signals.js';
import { resolveWeights } from '../weights.js';
import { DEFAULT_VIDEO_JOB_OPTIONS } from '../../shared/video-job-types.js';

/** Frames are many: a smaller default than stylize's (the per-frame defaults are the studio's Video tab's). */
const DEFAULT_VIDEO_SIZE_PX = 256;
const DEFAULT_FRAME_ITERATIONS = DEFAULT_VIDEO_JOB_OPTIONS.iterations;
export const DEFAULT_TEMPORAL_WEIGHT = DEFAULT_VIDEO_JOB_OPTIONS.temporalWeight;

type Raw = Record<string, string | boolean | undefined>;

export function stylizeVideoCommand(): Command {
  const d = DEFAULT_RUN_SETTINGS;
  const command = new Command('stylize-video')
    .description('paint a clip frame by frame without flicker: each frame starts from the last painting carried along the optical flow and is held to it (temporal loss)')
    .argument('<input>', 'a video file (MP4, WebM, MOV, … as ffmpeg reads it) or a folder of numbered frames')
    .argument('<styles...>', 'one or more style images')
    .requiredOption('-o, --output <file>', 'the stylised video: .mp4, .webm or .gif (the input\'s frame rate and sound)')
    .option('--size <px>', 'longest side of the frames in pixels', String(DEFAULT_VIDEO_SIZE_PX))
    .option('--iterations <n>', 'optimizer iterations per frame (the cap: --stop auto ends a frame sooner)', String(DEFAULT_FRAME_ITERATIONS))
    .option('--first-iterations <n>', 'iterations of the first frame (default: twice --iterations)')
    .option('--temporal-weight <w>', 'how strongly a frame keeps to the previous one where the motion is trusted (0: no temporal term, though frames still start from the warped previous one)', String(DEFAULT_TEMPORAL_WEIGHT))
    .option('--stop <auto|off>', 'auto: end a frame once it has stopped changing; off: run all its iterations', 'auto')
    .option('--stop-tolerance <x>', 'scales --stop auto\'s thresholds: 2 stops sooner, 0.5 later', '1')
    .option('--optimizer <gd|adam|lbfgs>', 'optimizer', d.optimizer)
    .option('--lr <rate>', 'learning rate (default: the optimizer\'s own)')
    .option('--init <content|noise|style>', 'the first frame\'s starting image (later frames start from the previous painting)', d.init)
    .option('--seed <n>', 'random seed (noise init)', String(d.seed))
    .option('--weights <path>', 'VGG19 weights (.h5, .onnx or TF.js folder); default $NST_WEIGHTS')
    .option('--style-scale <factor>', 'style image size relative to the frames', '1')
    .option('--fps <n>', 'frame rate of a folder of frames (default 12; a video keeps its own)')
    .option('--frames-dir <dir>', 'keep the stylised frames here (frame_000001.png, …); the same command with the same folder continues an interrupted job')
    .option('--memory-limit <MB>', 'memory budget in MB: a job whose frames do not fit is refused before painting (default: the memory available now, less a margin)')
    .option('--ffmpeg <path>', 'the ffmpeg to use (default: $NST_FFMPEG, else ffmpeg-static, @ffmpeg-installer/ffmpeg, ffmpeg on PATH)')
    .option('--json', 'one JSON object per finished frame on stdout, then a final {"done":true,…} line');
  addLossOptions(command, { normalizeByDefault: true });
  return command.action(async (input: string, styles: string[], raw: Raw) => {
    await stylizeVideoJob(input, styles, raw);
  });
}

/**
 * The job of `nst stylize-video` (or of `nst resume` for one: `resume` names its folder, and the job must be there).
 * SIGINT, SIGTERM and SIGHUP stop it after the frame in progress is abandoned: the finished frames stay.
 */
export async function stylizeVideoJob(input: string, styles: string[], raw: Raw, resume?: { jobDir: string }): Promise<void> {
  const stops = openStopScope();
  try {
    await run(input, styles, raw, stops, resume);
  } finally {
    stops.close();
  }
}

async function run(input: string, styles: string[], raw: Raw, stops: ReturnType<typeof openStopScope>, resume: { jobDir: string } | undefined): Promise<void> {
  const text = raw as Record<string, string | undefined>;
  const json = raw.json === true;
  const output = path.resolve(text.output!);
  videoFormatForPath(output);
  const settings = readVideoSettings(text, styles.length);
  const isFile = (await stat(input).catch(() => null))?.isFile() ?? false;
  if (text.fps !== undefined && isFile) throw new NstError('BAD_ARGUMENT', '--fps is for a folder of frames: a video file keeps its own frame rate.');
  const fps = text.fps === undefined ? undefined : parseNumber('--fps', text.fps, { min: 0.5, max: 120 });
  const memoryLimitBytes = text.memoryLimit !== undefined ? parseNumber('--memory-limit', text.memoryLimit, { min: 1 }) * MB : defaultMemoryLimit();
  await checkOutputPath('-o/--output', output, [input, ...styles]);
  // A --frames-dir is the user's and stays; without one the job lives in the data folder until its video is written.
  const userFolder = typeof text.framesDir === 'string';
  const jobDir = resume?.jobDir ?? (userFolder ? path.resolve(text.framesDir!) : videoJobDir(newRunId())!);
  const resumeWith = userFolder ? jobDir : path.basename(jobDir);
  const settingPath = text.ffmpeg ?? (process.env.NST_FFMPEG || undefined);
  const ffmpeg = await resolveFfmpeg(settingPath ? { settingPath } : {});
  // Loaded once the input and the folder have passed their checks: a wrong path fails before 550 MB are read.
  const weights = (): ReturnType<typeof resolveWeights> => resolveWeights({ weights: text.weights });
  await settleAndSayAutoDevice(settings.run.device ?? 'auto', json);

  const controller = new RunController();
  stops.onStop(() => controller.stop());
  const started = performance.now();
  const bar = new FrameBar(!json && process.stderr.isTTY);
  let result: VideoJobResult;
  try {
    result = await stylizeVideo({
      input, styles, jobDir, output, settings, weights, ffmpeg, controller, memoryLimitBytes,
      ...(fps !== undefined ? { fps } : {}),
      ...(resume ? { continueOnly: true } : {}),
      // Absolute paths, so `nst resume` works from any folder.
      launch: { input: path.resolve(input), styles: styles.map((s) => path.resolve(s)), options: { ...raw, output, ...(text.weights ? { weights: path.resolve(text.weights) } : {}), json: undefined } },
      command: resume ? `nst resume ${resume.jobDir}` : 'nst stylize-video',
      onNotice: (line) => say(line),
      onEvent: (event) => report(event, { json, bar, resumeWith }),
    });
  } catch (error) {
    // A stop while the clip was being decoded or the video encoded: the engine's ABORTED, said as a stopped job.
    if (stops.signal === null || !isNstError(error) || error.code !== 'ABORTED') throw error;
    throw new StoppedBySignal(stops.signal, `stopped (${stops.signal}): ${error.message.replace(/\.$/, '')}; the finished frames are in ${jobDir}; go on with: nst resume ${resumeWith}`, { cause: error });
  } finally {
    bar.stop();
  }
  if (result.stopped) {
    const signal = stops.signal ?? 'SIGINT';
    const summary = { done: false, stopped: true, jobDir, framesDone: result.framesDone, frames: result.frames };
    if (json) writeJsonLine(summary);
    throw new StoppedBySignal(signal, `stopped after frame ${result.framesDone} of ${result.frames} (${signal}); the finished frames are in ${jobDir}; go on with: nst resume ${resumeWith}`);
  }
  // Without --frames-dir the frames were only the job's checkpoint.
  if (!userFolder) await rm(jobDir, { recursive: true, force: true });
  const video = result.video!;
  const seconds = round((performance.now() - started) / 1000);
  if (json) {
    writeJsonLine({
      done: true, output: video.output, frames: result.frames, framesPainted: result.framesPainted, fps: round(result.fps), width: video.width, height: video.height,
      audio: video.audio, seconds, ...(userFolder ? { framesDir: jobDir } : {}), peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    });
  } else {
    say(`wrote ${video.output} (${video.format}, ${video.width}x${video.height}, ${result.frames} frames at ${round(result.fps)} fps${video.audio ? ', with the input\'s sound' : ''}; ${result.framesPainted} painted in ${seconds} s)`);
  }
}

function report(event: VideoJobEvent, out: { json: boolean; bar: FrameBar; resumeWith: string }): void {
  if (event.type === 'input') {
    if (out.json) writeJsonLine({ started: true, jobDir: event.jobDir, frames: event.frames, fps: round(event.fps), width: event.width, height: event.height, audio: event.hasAudio, alreadyDone: event.alreadyDone });
    else if (event.alreadyDone > 0) say(`continuing ${event.jobDir}: ${event.alreadyDone} of ${event.frames} frames were done`);
    else say(`painting ${event.frames} frames at ${event.width}x${event.height} into ${event.jobDir} (if interrupted: nst resume ${out.resumeWith})`);
    out.bar.start(event.frames, event.alreadyDone);
  } else if (event.type === 'frame-started') out.bar.frame(event.frame, event.iterations);
  else if (event.type === 'progress') out.bar.iteration(event.run.stageIteration, event.run.loss.total);
  else if (event.type === 'frame-done') {
    if (out.json) writeJsonLine({ frame: event.frame, frames: event.frames, iterations: event.iterations, loss: event.loss.total, temporal: event.loss.temporal ?? null, ms: round(event.ms) });
    out.bar.done(event.frame);
  }
}

/** Parses the options into the job's settings; every bad value throws BAD_ARGUMENT naming its option. */
function readVideoSettings(text: Record<string, string | undefined>, styleCount: number): VideoJobSettings {
  const loss = readLossOptions(text);
  checkStyleBlend(loss.styleBlend, styleCount);
  const iterations = parseNumber('--iterations', text.iterations!, { min: 1, max: 1_000_000, integer: true });
  const stop = parseChoice('--stop', text.stop ?? 'auto', ['auto', 'off']);
  const tolerance = parseNumber('--stop-tolerance', text.stopTolerance ?? '1', STOP_TOLERANCE_RANGE);
  return {
    sizePx: parseNumber('--size', text.size!, { min: 16, max: 16384, integer: true }),
    iterations,
    firstIterations: text.firstIterations === undefined ? 2 * iterations : parseNumber('--first-iterations', text.firstIterations, { min: 1, max: 1_000_000, integer: true }),
    temporalWeight: parseNumber('--temporal-weight', text.temporalWeight!, { min: 0, max: 1e10 }),
    styleScale: parseNumber('--style-scale', text.styleScale!, { min: 0.05, max: 8 }),
    run: {
      ...loss,
      optimizer: parseChoice<OptimizerName>('--optimizer', text.optimizer!, ['gd', 'adam', 'lbfgs']),
      ...(text.lr !== undefined ? { learningRate: parseNumber('--lr', text.lr, { min: 0, minExclusive: true }) } : {}),
      init: parseChoice<InitMode>('--init', text.init!, ['content', 'noise', 'style']),
      seed: parseNumber('--seed', text.seed!, { integer: true, min: -Number.MAX_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
      ...(stop === 'auto' ? { converge: convergenceRule(tolerance) } : {}),
    },
  };
}

/** Frames done of all, with the frame in progress's iteration and loss, and an ETA from the frames painted so far. */
class FrameBar {
  private readonly bar: cliProgress.SingleBar | null;

  constructor(enabled: boolean) {
    this.bar = enabled
      ? new cliProgress.SingleBar({ stream: process.stderr, format: 'frames {bar} {value}/{total} | frame {frame}: it {iteration}/{iterations} loss {loss} | ETA {eta_formatted}', hideCursor: true, etaBuffer: 5 }, cliProgress.Presets.shades_classic)
      : null;
  }

  start(total: number, done: number): void {
    this.bar?.start(total, done, { frame: done + 1, iteration: 0, iterations: '-', loss: '-' });
  }

  frame(frame: number, iterations: number): void {
    this.bar?.update({ frame, iteration: 0, iterations });
  }

  iteration(iteration: number, loss: number): void {
    this.bar?.update({ iteration, loss: loss.toExponential(3) });
  }

  done(frame: number): void {
    this.bar?.update(frame);
  }

  stop(): void {
    this.bar?.stop();
  }
}

/**
 * The folder of the video job `arg` names (its id in the data folder, or its folder), or null when it names none:
 * `nst resume` then takes it for a run id.
 */
export async function findVideoJob(arg: string): Promise<string | null> {
  for (const dir of [videoJobDir(arg), path.resolve(arg)]) {
    if (dir !== null && (await readVideoJob(dir).catch(() => null)) !== null) return dir;
  }
  return null;
}

/** `nst resume JOB` for a video job: the command it was started with, in its folder. */
export async function resumeVideoJob(jobDir: string, options: { json?: boolean }): Promise<void> {
  const manifest = await readVideoJob(jobDir);
  const launch = manifest?.launch as { input?: unknown; styles?: unknown; options?: unknown } | undefined;
  if (!manifest || typeof launch?.input !== 'string' || !Array.isArray(launch.styles) || typeof launch.options !== 'object' || launch.options === null) {
    throw new NstError('BAD_CHECKPOINT', `${jobDir} was not started by nst stylize-video, so it cannot be resumed here; run its command again with --frames-dir ${jobDir}.`);
  }
  if (manifest.finished) say(`${jobDir}: every frame is painted already; encoding again`);
  await stylizeVideoJob(launch.input, launch.styles as string[], { ...(launch.options as Raw), ...(options.json ? { json: true } : {}) }, { jobDir });
}
