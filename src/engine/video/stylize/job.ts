// A video job: paint every frame of a clip in turn, each started from the previous painting carried along the
// optical flow and held to it by the temporal term, each written as a PNG that is also the job's checkpoint; then
// encode them at the clip's rate with its sound. Killed at any point, the job goes on from its last finished frame.
// One objective (loss graph, session, style targets) serves every frame: each frame feeds it its content and term.

import { mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { NstError } from '../../errors.js';
import { decodeImage, writeImageAtomic, type PlanarImage } from '../../io/image.js';
import type { LossBreakdown, StyleObjective } from '../../model/objective.js';
import type { TemporalTerm } from '../../model/temporal.js';
import { fileSha256 } from '../../persist/batch-manifest.js';
import { takeVideoJobFolder } from '../../persist/run-lock.js';
import type { StopReason } from '../../render/convergence.js';
import { estimateMemory, formatBytes } from '../../render/memory.js';
import { estimateSpec } from '../../render/render.js';
import { createRunObjective, RunController, runOnObjective, type RenderEvent, type RunSettings } from '../../render/run.js';
import { removeStaleTemporaries } from '../../sys/atomic-file.js';
import { weightsFingerprint } from '../../weights/fingerprint.js';
import type { Vgg19Weights } from '../../weights/types.js';
import type { VideoProgress } from '../export.js';
import { resolveFfmpeg, type ResolvedTool } from '../ffmpeg.js';
import { encodeStylisedVideo, type EncodedVideo } from './encode.js';
import { decodeVideoFrames, identifyInput, listFrameFolder } from './frame-source.js';
import { checkFreshJobFolder, countFinishedFrames, INPUT_FRAMES_FOLDER, stylisedFramePath } from './job-folder.js';
import { checkSameJob, readJobManifest, writeJobManifest, type JobIdentity, type VideoJobManifest, type VideoJobSettings } from './job-manifest.js';
import { fromPreviousFrame } from './previous-frame.js';
import { probeVideoFile } from './probe.js';

/** A folder of frames says no rate of its own: this one unless the caller gives one (12 fps: the shared clips'). */
export const DEFAULT_FOLDER_FPS = 12;

export interface StylizeVideoOptions {
  /** A video file (anything ffmpeg decodes) or a folder of numbered frames. */
  readonly input: string;
  readonly styles: readonly string[];
  /** The job's folder (made when absent): the stylised frames, its manifest and lock; a video's decoded frames. */
  readonly jobDir: string;
  /** .mp4, .webm or .gif to encode once every frame is painted; null: the frames only. */
  readonly output: string | null;
  readonly settings: VideoJobSettings;
  /** The weights, or what loads them: called once the input and the folder have passed their checks. */
  readonly weights: Vgg19Weights | (() => Promise<Vgg19Weights>);
  /** A folder's frame rate (default DEFAULT_FOLDER_FPS); a video file's own rate is used and this is ignored. */
  readonly fps?: number;
  /** How the front end started the job (the CLI's options), kept in the manifest for its resumption; not compared. */
  readonly launch?: Readonly<Record<string, unknown>>;
  /** Only continue a job the folder already holds (`nst resume`): FILE_NOT_FOUND when it holds none. */
  readonly continueOnly?: boolean;
  /** An ffmpeg found already, or the user's path for one (default: resolveFfmpeg()). */
  readonly ffmpeg?: Pick<ResolvedTool, 'path' | 'source'> | string;
  /** Pause, resume or stop the frame in progress; once stopped, the job ends after it (unfinished frames unwritten). */
  readonly controller?: RunController;
  /** Attach the image to every N-th progress event (a live preview; 0 = never, the default). */
  readonly previewEvery?: number;
  /** Refuse, before painting, a job whose frames do not fit in this many bytes (frames are painted whole); absent: no check. */
  readonly memoryLimitBytes?: number;
  /** Names the job's owner in its lock (`nst stylize-video`, `studio`). */
  readonly command: string;
  readonly onEvent?: (event: VideoJobEvent) => void;
  /** A line worth telling (a stale lock taken over). */
  readonly onNotice?: (line: string) => void;
}

/** What a job reports, in order: its input, then per frame started, progress… and done, then encoding. Frames are 1-based. */
export type VideoJobEvent =
  | { readonly type: 'input'; readonly jobDir: string; readonly frames: number; readonly fps: number; readonly width: number; readonly height: number; readonly hasAudio: boolean; readonly alreadyDone: number }
  | { readonly type: 'frame-started'; readonly frame: number; readonly frames: number; readonly iterations: number; readonly flowMs: number; readonly consistent: number | null }
  | { readonly type: 'progress'; readonly frame: number; readonly frames: number; readonly run: Extract<RenderEvent, { type: 'progress' }> }
  | { readonly type: 'frame-done'; readonly frame: number; readonly frames: number; readonly file: string; readonly iterations: number; readonly loss: LossBreakdown; readonly stop: StopReason; readonly ms: number }
  | { readonly type: 'encoding'; readonly progress: VideoProgress };

export interface VideoJobResult {
  readonly jobDir: string;
  readonly frames: number;
  readonly framesDone: number;
  /** Frames painted by this call (the rest were done before it). */
  readonly framesPainted: number;
  readonly fps: number;
  readonly width: number;
  readonly height: number;
  /** Stopped by the controller: framesDone < frames, nothing encoded; the job continues from there. */
  readonly stopped: boolean;
  readonly video: EncodedVideo | null;
}

/**
 * Runs (or continues) the job in `jobDir`. Refusals, before any painting: RUN_IN_USE (another process works the
 * job), BAD_ARGUMENT (the folder holds a job of other settings or input, or other files; a bad setting; frames of
 * different sizes), FILE_NOT_FOUND / NOT_AN_IMAGE (the input), FFMPEG_NOT_FOUND (a video input or output without ffmpeg).
 */
export async function stylizeVideo(options: StylizeVideoOptions): Promise<VideoJobResult> {
  checkSettings(options.settings);
  const jobDir = path.resolve(options.jobDir);
  const identity = await identifyInput(options.input);
  const output = options.output === null ? null : path.resolve(options.output);
  // Found before any work: a missing ffmpeg is said now, not after an hour of painting.
  const ffmpeg = identity.kind === 'video' || output !== null ? await findFfmpeg(options.ffmpeg) : null;
  if (options.continueOnly && (await readJobManifest(jobDir).catch(() => null)) === null) throw new NstError('FILE_NOT_FOUND', `${jobDir} holds no video job to continue.`);
  // A folder this call makes and that a refusal leaves without a job (no manifest yet) is removed again.
  const made = (await mkdir(jobDir, { recursive: true })) !== undefined;
  // A lock whose owner simply exited (a killed job) is taken over without a word; one whose pid is reused is said.
  const lock = await takeVideoJobFolder(jobDir, { command: options.command, note: (line, expected) => expected || options.onNotice?.(line) });
  try {
    return await runJob({ ...options, jobDir, output, identity, ffmpeg });
  } catch (error) {
    if (made && (await readJobManifest(jobDir).catch(() => null)) === null) await rm(jobDir, { recursive: true, force: true });
    throw error;
  } finally {
    await lock.release();
  }
}

type JobContext = Omit<StylizeVideoOptions, 'ffmpeg' | 'jobDir' | 'output'> & { jobDir: string; output: string | null; identity: Awaited<ReturnType<typeof identifyInput>>; ffmpeg: Pick<ResolvedTool, 'path' | 'source'> | null };

async function runJob(job: JobContext): Promise<VideoJobResult> {
  const { jobDir, settings, identity } = job;
  const emit = job.onEvent ?? (() => {});
  const saved = await readJobManifest(jobDir);
  if (!saved) await checkFreshJobFolder(jobDir);
  // What a writer killed mid-frame left: its temporary PNG or manifest.
  await removeStaleTemporaries(jobDir);
  const facts = identity.kind === 'video' ? await probeVideoFile(identity.path, job.ffmpeg!.path) : null;
  const fps = facts?.fps ?? job.fps ?? DEFAULT_FOLDER_FPS;
  if (!(fps >= 0.5 && fps <= 120)) throw new NstError('BAD_ARGUMENT', `The frame rate must be from 0.5 to 120 fps, got ${fps}${facts ? ` (${identity.path}'s own)` : ''}.`);
  const unweighed: Omit<JobIdentity, 'weights'> = {
    input: { ...identity, fps, hasAudio: facts?.hasAudio ?? false, frames: saved?.input.frames ?? null },
    styles: await Promise.all(job.styles.map(async (style) => ({ path: path.resolve(style), sha256: await fileSha256(style) }))),
    settings,
  };
  // Other settings are said before the weights are loaded; other weights once they are.
  if (saved) checkSameJob(jobDir, saved, { ...unweighed, weights: saved.weights });
  const model = typeof job.weights === 'function' ? await job.weights() : job.weights;
  const fingerprint = weightsFingerprint(model);
  const wanted: JobIdentity = { ...unweighed, weights: { sha256: fingerprint.sha256, source: fingerprint.source } };
  if (saved) checkSameJob(jobDir, saved, wanted);
  const now = new Date().toISOString();
  let manifest: VideoJobManifest = {
    version: 1, kind: 'nst-video', ...wanted, output: job.output, framesDone: saved?.framesDone ?? 0, finished: false,
    ...(job.launch ? { launch: job.launch } : {}), createdAt: saved?.createdAt ?? now, updatedAt: now,
  };
  const save = async (changes: Partial<VideoJobManifest>): Promise<void> => {
    manifest = { ...manifest, ...changes };
    await writeJobManifest(jobDir, manifest);
  };

  // The input frames: decoded once per job (a resumed job finds them on disk), or the folder's own.
  const inputDir = path.join(jobDir, INPUT_FRAMES_FOLDER);
  let inputs: string[];
  if (facts) {
    const decoded = saved?.input.frames ? await listDecoded(inputDir) : [];
    if (decoded.length > 0 && decoded.length === saved?.input.frames) inputs = decoded;
    else {
      // ffmpeg writes its PNGs in place: the count is recorded only once it has finished, and the manifest written
      // first, so a job killed while decoding is continued (and decodes again) rather than refused as a stray folder.
      await save({ input: { ...manifest.input, frames: null } });
      inputs = await decodeVideoFrames({ file: identity.path, facts, sizePx: settings.sizePx, dir: inputDir, ffmpeg: job.ffmpeg!.path, ...(job.controller ? { signal: job.controller.signal } : {}) });
    }
  } else inputs = await listFrameFolder(identity.path);
  const total = inputs.length;
  const alreadyDone = await countFinishedFrames(jobDir, total);

  const decodeFrame = (file: string): Promise<PlanarImage> => decodeImage(file, { sizePx: settings.sizePx });
  const styleSizePx = Math.max(16, Math.round(settings.sizePx * settings.styleScale));
  const styles = await Promise.all(job.styles.map((style) => decodeImage(style, { sizePx: styleSizePx })));
  const first = await decodeFrame(inputs[0]!);
  // Before the manifest: a new job refused here leaves no folder behind.
  if (job.memoryLimitBytes !== undefined) checkFrameFits(first, styles, settings, job.memoryLimitBytes);
  await save({ input: { ...manifest.input, frames: total }, framesDone: alreadyDone });
  emit({ type: 'input', jobDir, frames: total, fps, width: first.width, height: first.height, hasAudio: facts?.hasAudio ?? false, alreadyDone });

  const controller = job.controller ?? new RunController();
  // Frame t−1 as frame t needs it: its input, and its painting as read back from its PNG (see fromPreviousFrame).
  let previous = alreadyDone > 0 ? { content: await decodeFrame(inputs[alreadyDone - 1]!), painted: await decodeImage(stylisedFramePath(jobDir, alreadyDone)) } : null;
  let done = alreadyDone;
  // Built for the first frame painted, then fed each next one (setContent, setTemporal): the same feeds a fresh one
  // gets, so a resumed job, which builds its own at the frame it resumes, paints the same frames.
  let objective: StyleObjective | null = null;
  try {
    for (let index = alreadyDone; index < total && !controller.signal.aborted; index++) {
      const frame = index + 1;
      const started = performance.now();
      const content = index === 0 ? first : await decodeFrame(inputs[index]!);
      if (content.width !== first.width || content.height !== first.height) {
        throw new NstError('BAD_ARGUMENT', `Frame ${frame} (${inputs[index]}) is ${content.width}x${content.height} at --size ${settings.sizePx}, the first frame ${first.width}x${first.height}: every frame of a clip must have one size.`);
      }
      const carried = previous ? fromPreviousFrame(previous.painted, previous.content, content, settings.temporalWeight) : null;
      const iterations = index === 0 ? settings.firstIterations : settings.iterations;
      emit({ type: 'frame-started', frame, frames: total, iterations, flowMs: carried?.flowMs ?? 0, consistent: carried?.consistent ?? null });
      const run: RunSettings = { ...settings.run, iterations, reportEvery: 1, imageEvery: job.previewEvery ?? 0 };
      const frameInputs = { weights: model, content, styles, ...(carried ? { startImage: carried.start } : {}) };
      if (objective === null) objective = await createRunObjective({ ...frameInputs, ...termOf(carried?.temporal ?? null, content, settings.temporalWeight) }, run);
      else {
        await objective.setContent(content);
        if (carried?.temporal) objective.setTemporal(carried.temporal);
        objective.setWeights(settings.run);
      }
      // The first frame of a job has no term (its objective an idle one, weight 0, for the frames after): none reported.
      const report = carried?.temporal ? (loss: LossBreakdown): LossBreakdown => loss : withoutTemporal;
      const result = await runOnObjective(objective, frameInputs, run, {
        controller,
        onEvent: (event) => event.type === 'progress' && emit({ type: 'progress', frame, frames: total, run: { ...event, loss: report(event.loss) } }),
      });
      // A frame stopped midway is not finished: it is painted again, whole, when the job goes on.
      if (result.stopped) break;
      const file = stylisedFramePath(jobDir, frame);
      await writeImageAtomic(file, result.image);
      done = frame;
      await save({ framesDone: done });
      emit({ type: 'frame-done', frame, frames: total, file, iterations: result.iterations, loss: report(result.finalLoss), stop: result.stop, ms: performance.now() - started });
      previous = { content, painted: await decodeImage(file) };
    }
  } finally {
    await objective?.dispose();
  }
  const summary = { jobDir, frames: total, framesDone: done, framesPainted: done - alreadyDone, fps, width: first.width, height: first.height };
  if (done < total) return { ...summary, stopped: true, video: null };

  const video =
    job.output === null
      ? null
      : await encodeStylisedVideo({
          framesDir: jobDir, output: job.output, fps, audioFrom: facts?.hasAudio ? identity.path : null, ffmpeg: job.ffmpeg!, signal: controller.signal,
          onProgress: (progress) => emit({ type: 'encoding', progress }),
        });
  await save({ finished: true });
  // Every frame is painted: the decoded input is not needed again.
  if (facts) await rm(inputDir, { recursive: true, force: true });
  return { ...summary, stopped: false, video };
}

/**
 * The temporal term a job's objective is built with: the frame's own, or, for a frame without one (the job's first)
 * when the job has a term, an idle one (weight 0: the term-less loss to the bit) so later frames can set theirs.
 */
function termOf(term: TemporalTerm | null, content: PlanarImage, temporalWeight: number): { temporal?: TemporalTerm } {
  if (term) return { temporal: term };
  return temporalWeight > 0 ? { temporal: { target: content.data, mask: new Float32Array(content.width * content.height), weight: 0 } } : {};
}

/** A loss without its temporal figures (a frame painted without a term, by an objective that has one at weight 0). */
function withoutTemporal(loss: LossBreakdown): LossBreakdown {
  const out: LossBreakdown = { ...loss };
  delete out.temporal;
  if (loss.weighted) {
    out.weighted = { ...loss.weighted };
    delete out.weighted.temporal;
  }
  return out;
}

/**
 * Throws RUNTIME_FAILURE, before any painting, when a frame's run does not fit in `limitBytes`: a job paints whole
 * frames at its one size (no tiles, no smaller pass: every frame must be painted alike).
 */
function checkFrameFits(frame: PlanarImage, styles: readonly PlanarImage[], settings: VideoJobSettings, limitBytes: number): void {
  const { width, height } = frame;
  const spec = estimateSpec({ width, height, settings: settings.run, styleImages: styles.length, styleScale: settings.styleScale, temporal: settings.temporalWeight > 0 });
  const need = estimateMemory(spec).totalBytes;
  if (need <= limitBytes) return;
  throw new NstError(
    'RUNTIME_FAILURE',
    `A ${width}x${height} frame needs about ${formatBytes(need)}, over the ${formatBytes(limitBytes)} memory limit, and a video job paints whole frames at one size: choose a smaller --size or shallower layers, or raise --memory-limit.`,
  );
}

async function listDecoded(dir: string): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  return names.filter((name) => /^frame_\d{6}\.png$/.test(name)).sort().map((name) => path.join(dir, name));
}

async function findFfmpeg(given: StylizeVideoOptions['ffmpeg']): Promise<Pick<ResolvedTool, 'path' | 'source'>> {
  if (typeof given === 'object') return given;
  return resolveFfmpeg(given ? { settingPath: given } : {});
}

function checkSettings(settings: VideoJobSettings): void {
  const whole = (name: string, value: number, min: number): void => {
    if (!Number.isInteger(value) || value < min) throw new NstError('BAD_ARGUMENT', `${name} must be a whole number of at least ${min}, got ${value}.`);
  };
  whole('The size', settings.sizePx, 16);
  whole('The iterations per frame', settings.iterations, 1);
  whole('The first frame\'s iterations', settings.firstIterations, 1);
  if (!(settings.temporalWeight >= 0 && Number.isFinite(settings.temporalWeight))) throw new NstError('BAD_ARGUMENT', `The temporal weight must be a finite number ≥ 0, got ${settings.temporalWeight}.`);
}
