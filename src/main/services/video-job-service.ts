// The Video tab's job: one clip painted frame by frame (the engine's stylizeVideo) in a worker thread of its own,
// with per-frame events, pause / stop / resume (a stopped job continues from its last finished frame: the frames on
// disk are its checkpoint) and the encoded video to save. It lives in <data>/video-job/current (the clip, the styles,
// a recipe, the job folder, the video), so a job stopped or cut short by a quit is offered again after a restart.

import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { readVideoJob, stylisedFramePath, turnOffOnnxruntimeTelemetry, writeFileAtomic, type VideoJobSettings, type WeightsLocation } from '../../engine/index.js';
import type { ErrorInfo, Result, StartVideoJobRequest, VideoJobEvent, VideoJobFrameRef, VideoJobOutput, VideoJobStatus } from '../../shared/api.js';
import { errorText, fail, ok } from '../../shared/result.js';
import { engineRunSettings } from '../worker/run-settings.js';
import type { VideoParentToWorker, VideoWorkerEvent, VideoWorkerToParent } from '../worker/video-messages.js';
import { errorInfo } from './error-info.js';
import type { WorkerLocation } from './worker-host.js';

export interface VideoJobServiceOptions {
  worker: WorkerLocation;
  /** The folder the job lives in (the app data folder's `video-job`). */
  root: string;
  /** Where the weights are now (asked at each start). */
  weights: () => Promise<WeightsLocation>;
  /** The ffmpeg the studio uses, or none chosen (the engine finds one as the CLI does). */
  ffmpegPath: () => string | null | undefined;
  /** onnxruntime CPU threads; 0 (default) = all cores. */
  threads?: number;
  /** A preview of the frame in progress at most this often (default 250 ms). */
  previewIntervalMs?: number;
}

/** What the recipe file keeps to start the job again (after Stop, or after a restart). */
interface Recipe {
  kind: 'studio-video-job';
  clipName: string;
  /** The video file, or the folder of frames. */
  clip: string;
  /** A folder's frame rate (a video keeps its own). */
  fps: number | null;
  styles: string[];
  settings: VideoJobSettings;
  format: StartVideoJobRequest['video']['format'];
}

const RECIPE_FILE = 'recipe.json';
/** Extensions the engine takes a folder's frames by (engine/persist/batch-manifest.ts's IMAGE_EXTENSIONS). */
const FRAME_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.webp', '.tif', '.tiff', '.gif', '.avif']);
/** An idle worker (weights loaded) waits this long for Resume or the next job, then ends. */
const IDLE_WORKER_MS = 60_000;
/** Run settings the video job sets per frame itself (VideoJobSettings['run'] leaves them out). */
const PER_FRAME_KEYS = new Set(['iterations', 'reportEvery', 'imageEvery']);
const MIME = { mp4: 'video/mp4', webm: 'video/webm', gif: 'image/gif' } as const;
const EMPTY: VideoJobStatus = { state: 'empty', clipName: null, frames: 0, framesDone: 0, fps: 0, width: 0, height: 0, hasAudio: false, current: null, encoded: null, output: null, error: null };

export class VideoJobService {
  private status: VideoJobStatus = EMPTY;
  private recipe: Recipe | null = null;
  /** The worker thread: painting a job while `painting`, else idle (its weights loaded) until IDLE_WORKER_MS pass. */
  private worker: Worker | null = null;
  private painting = false;
  private idleTimer: NodeJS.Timeout | null = null;
  private stopping = false;
  private chain: Promise<void> = Promise.resolve();
  private readonly listeners = new Set<(event: VideoJobEvent) => void>();

  private constructor(private readonly options: VideoJobServiceOptions) {}

  /** Opens the job left in `root`: one not finished is offered as stopped (resume continues it), never restarted by itself. */
  static async open(options: VideoJobServiceOptions): Promise<VideoJobService> {
    const service = new VideoJobService(options);
    const recipe = await readFile(path.join(service.dir, RECIPE_FILE), 'utf8').then((text) => JSON.parse(text) as Recipe, () => null);
    if (recipe?.kind === 'studio-video-job') {
      service.recipe = recipe;
      const manifest = await readVideoJob(service.jobDir).catch(() => null);
      const output = manifest?.finished ? await service.outputInfo() : null;
      service.status = {
        ...EMPTY, clipName: recipe.clipName, state: output ? 'finished' : 'stopped', output,
        frames: manifest?.input.frames ?? 0, framesDone: manifest?.framesDone ?? 0, fps: manifest?.input.fps ?? 0, hasAudio: manifest?.input.hasAudio ?? false,
      };
    }
    return service;
  }

  private get dir(): string {
    return path.join(this.options.root, 'current');
  }

  private get jobDir(): string {
    return path.join(this.dir, 'job');
  }

  private outputPath(recipe: Recipe): string {
    return path.join(this.dir, `${path.parse(recipe.clipName).name || 'clip'}-styled.${recipe.format}`);
  }

  async startVideoJob(request: StartVideoJobRequest): Promise<Result<VideoJobStatus>> {
    if (this.busy) return fail('VIDEO_JOB_BUSY', 'A video is still being painted: stop it before starting another.');
    const weights = await this.options.weights();
    if (weights.path === null) return fail('WEIGHTS_NOT_FOUND', weights.help);
    // The old job (its frames, its video) makes way for this one.
    await rm(this.dir, { recursive: true, force: true });
    await mkdir(path.join(this.dir, 'styles'), { recursive: true });
    const clip = await this.writeClip(request.clip);
    const styles: string[] = [];
    for (const [i, style] of request.styles.entries()) {
      const file = path.join(this.dir, 'styles', `${i + 1}${safeExtension(style.image.name)}`);
      await writeFileAtomic(file, style.image.bytes, { sync: false });
      styles.push(file);
    }
    // The job decides each frame's iterations and reporting; the rest is a photo run's, from the same settings.
    const photoRun = engineRunSettings(request.settings, { iterations: request.video.iterations, styleBlend: request.styles.map((s) => s.blend), threads: this.options.threads ?? 0 });
    const run = Object.fromEntries(Object.entries(photoRun).filter(([key]) => !PER_FRAME_KEYS.has(key))) as VideoJobSettings['run'];
    const settings: VideoJobSettings = {
      sizePx: request.settings.sizePx, iterations: request.video.iterations, firstIterations: request.video.firstIterations,
      temporalWeight: request.video.temporalWeight, styleScale: request.settings.styleScale, run,
    };
    const clipName = request.clip.kind === 'video' ? request.clip.file.name : request.clip.name;
    const fps = request.clip.kind === 'frames' ? request.clip.fps : null;
    const recipe: Recipe = { kind: 'studio-video-job', clipName, clip, fps, styles, settings, format: request.video.format };
    await writeFileAtomic(path.join(this.dir, RECIPE_FILE), JSON.stringify(recipe, null, 2), { sync: false });
    this.recipe = recipe;
    this.status = { ...EMPTY, clipName: recipe.clipName, state: 'running' };
    this.launch(recipe, weights.path);
    this.publish();
    return ok(this.status);
  }

  /** The clip as files the engine reads: the video file, or the frames numbered in the page's order in a folder. */
  private async writeClip(clip: StartVideoJobRequest['clip']): Promise<string> {
    if (clip.kind === 'video') {
      const file = path.join(this.dir, `clip${safeExtension(clip.file.name)}`);
      await writeFileAtomic(file, clip.file.bytes, { sync: false });
      return file;
    }
    const folder = path.join(this.dir, 'frames');
    await mkdir(folder);
    for (const [i, frame] of clip.frames.entries()) {
      // The engine lists a folder's images by extension; the decoder reads the bytes whatever the name says.
      const ext = FRAME_EXTENSIONS.has(safeExtension(frame.name)) ? safeExtension(frame.name) : '.png';
      await writeFileAtomic(path.join(folder, `frame_${String(i + 1).padStart(6, '0')}${ext}`), frame.bytes, { sync: false });
    }
    return folder;
  }

  /** Pauses the frame in progress after its current iteration. */
  async pauseVideoJob(): Promise<Result<VideoJobStatus>> {
    if (this.status.state === 'running' && this.painting) {
      this.send({ type: 'video-pause' });
      this.update({ state: 'paused' });
    }
    return ok(this.status);
  }

  /** A paused job goes on; a stopped or failed one starts again from its last finished frame. */
  async resumeVideoJob(): Promise<Result<VideoJobStatus>> {
    if (this.status.state === 'paused' && this.painting) {
      this.send({ type: 'video-resume' });
      this.update({ state: 'running' });
    } else if ((this.status.state === 'stopped' || this.status.state === 'failed') && this.recipe) {
      const weights = await this.options.weights();
      if (weights.path === null) return fail('WEIGHTS_NOT_FOUND', weights.help);
      this.update({ state: 'running', error: null, current: null });
      this.launch(this.recipe, weights.path);
    }
    return ok(this.status);
  }

  /** Stops the job: the frame in progress is abandoned, the finished frames stay ('stopped' follows on videoJobEvent). */
  async stopVideoJob(): Promise<Result<VideoJobStatus>> {
    if (this.busy && this.painting) {
      this.stopping = true;
      this.send({ type: 'video-stop' });
    }
    return ok(this.status);
  }

  async getVideoJobStatus(): Promise<Result<VideoJobStatus>> {
    return ok(this.status);
  }

  async getVideoJobFrame({ frame }: VideoJobFrameRef): Promise<Result<Uint8Array>> {
    if (!this.recipe || frame > this.status.framesDone) return fail('NO_IMAGE_YET', `Frame ${frame} is not painted yet.`);
    return ok(new Uint8Array(await readFile(stylisedFramePath(this.jobDir, frame))));
  }

  async getVideoJobOutput(): Promise<Result<VideoJobOutput>> {
    const recipe = this.recipe;
    if (!recipe || this.status.state !== 'finished') return fail('NO_VIDEO_YET', 'The video is not ready: every frame must be painted first.');
    const file = this.outputPath(recipe);
    return ok({ fileName: path.basename(file), mimeType: MIME[recipe.format], bytes: new Uint8Array(await readFile(file)) });
  }

  onVideoJobEvent(listener: (event: VideoJobEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Stops a job in progress and waits (up to `timeoutMs`) for it to end, then ends the worker: the finished frames stay. */
  async dispose(timeoutMs = 15_000): Promise<void> {
    this.clearIdleTimer();
    const worker = this.worker;
    if (!worker) return;
    if (this.painting) {
      this.stopping = true;
      const ended = new Promise<void>((resolve) => {
        worker.once('exit', () => resolve());
        worker.on('message', (message: VideoWorkerToParent) => message.type !== 'video-event' && resolve());
      });
      this.send({ type: 'video-stop' });
      // Terminating a thread inside onnxruntime aborts the process: it is given time to leave its iteration first.
      await Promise.race([ended, new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())]);
    }
    this.worker = null;
    this.painting = false;
    await worker.terminate();
  }

  private get busy(): boolean {
    return this.status.state === 'running' || this.status.state === 'paused' || this.status.state === 'encoding';
  }

  private launch(recipe: Recipe, weightsPath: string): void {
    this.clearIdleTimer();
    this.stopping = false;
    const worker = this.worker ?? this.spawn();
    if (!worker) return;
    // A painting worker keeps the process alive; an idle one does not.
    worker.ref();
    this.painting = true;
    this.send({
      type: 'video-start', input: recipe.clip, fps: recipe.fps, styles: recipe.styles, jobDir: this.jobDir, output: this.outputPath(recipe), settings: recipe.settings,
      weightsPath, ffmpegPath: this.options.ffmpegPath() || null, previewIntervalMs: this.options.previewIntervalMs ?? 250,
    });
  }

  private spawn(): Worker | null {
    const location = this.options.worker;
    turnOffOnnxruntimeTelemetry();
    let worker: Worker;
    try {
      worker = new Worker(location.url, { ...(location.execArgv ? { execArgv: location.execArgv } : {}), ...(location.argv ? { argv: location.argv } : {}) });
    } catch (error) {
      this.update({ state: 'failed', error: { code: 'WORKER_FAILED', message: `The video worker could not start: ${errorText(error)}` } });
      return null;
    }
    this.worker = worker;
    // One message at a time: a finished frame's PNG is read before the next event is handled.
    worker.on('message', (message: VideoWorkerToParent) => {
      this.chain = this.chain.then(() => this.onMessage(worker, message)).catch((error: unknown) => this.update({ state: 'failed', current: null, error: errorInfo(error) }));
    });
    worker.on('error', (error) => this.onGone(worker, `The video worker crashed: ${errorText(error)}`));
    worker.on('exit', (code) => this.onGone(worker, `The video worker stopped unexpectedly (exit code ${code}).`));
    return worker;
  }

  /** The job ended: the worker waits, idle, for a Resume or the next job (its weights stay loaded), then ends. */
  private rest(worker: Worker): void {
    this.painting = false;
    worker.unref();
    this.clearIdleTimer();
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      if (this.worker !== worker || this.painting) return;
      this.worker = null;
      void worker.terminate().catch(() => undefined);
    }, IDLE_WORKER_MS);
    this.idleTimer.unref();
  }

  private clearIdleTimer(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }

  private async onMessage(worker: Worker, message: VideoWorkerToParent): Promise<void> {
    if (this.worker !== worker) return;
    if (message.type === 'video-event') return this.onEvent(message.event);
    this.rest(worker);
    if (message.type === 'video-done') {
      this.update(message.stopped
        ? { state: 'stopped', current: null, framesDone: message.framesDone, frames: message.frames }
        : { state: 'finished', current: null, encoded: null, framesDone: message.framesDone, frames: message.frames, output: await this.outputInfo() });
    } else if (this.stopping && message.error.code === 'ABORTED') {
      // Stopped while the clip was decoded or the video encoded: a stop, not a failure.
      this.update({ state: 'stopped', current: null, encoded: null });
    } else this.update({ state: 'failed', current: null, encoded: null, error: message.error });
  }

  private async onEvent(event: VideoWorkerEvent): Promise<void> {
    switch (event.type) {
      case 'input':
        this.update({ frames: event.frames, fps: event.fps, width: event.width, height: event.height, hasAudio: event.hasAudio, framesDone: event.alreadyDone });
        break;
      case 'frame-started':
        this.update({ current: { frame: event.frame, iteration: 0, iterations: event.iterations } });
        break;
      case 'progress':
        if (this.status.current) this.status = { ...this.status, current: { frame: event.frame, iteration: event.iteration, iterations: event.iterations } };
        this.emit(event);
        break;
      case 'frame-done': {
        // The status counts the frame only once its picture is on the way, so the strip never names a missing one.
        const png = new Uint8Array(await readFile(event.file));
        this.emit({ type: 'frame', frame: event.frame, png });
        this.update({ framesDone: event.frame });
        break;
      }
      case 'encoding':
        this.update({ state: this.stopping ? this.status.state : 'encoding', current: null, encoded: event.fraction });
        break;
    }
  }

  private onGone(worker: Worker, reason: string): void {
    if (this.worker !== worker) return;
    this.worker = null;
    this.clearIdleTimer();
    // An idle worker that ends takes nothing with it; a painting one fails its job (the finished frames stay).
    if (!this.painting) return;
    this.painting = false;
    this.update({ state: 'failed', current: null, error: { code: 'WORKER_CRASHED', message: reason } satisfies ErrorInfo });
  }

  private async outputInfo(): Promise<VideoJobStatus['output']> {
    const recipe = this.recipe;
    if (!recipe) return null;
    const size = await stat(this.outputPath(recipe)).then((s) => s.size, () => null);
    return size === null ? null : { fileName: path.basename(this.outputPath(recipe)), format: recipe.format, sizeBytes: size };
  }

  private send(message: VideoParentToWorker): void {
    this.worker?.postMessage(message);
  }

  private update(changes: Partial<VideoJobStatus>): void {
    this.status = { ...this.status, ...changes };
    this.publish();
  }

  private publish(): void {
    this.emit({ type: 'status', status: this.status });
  }

  private emit(event: VideoJobEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}

/** A file's extension as ffmpeg and sharp may rely on it (letters and digits only), or none. */
function safeExtension(name: string): string {
  const ext = path.extname(name).toLowerCase();
  return /^\.[a-z0-9]{1,8}$/.test(ext) ? ext : '';
}
