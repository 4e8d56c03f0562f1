// The job worker: runs one style transfer at a time off the main thread; tagged messages in, run events out.

import { parentPort } from 'node:worker_threads';
import { decodeImage, encodeImage } from '../../engine/image.js';
import { isNstError } from '../../engine/errors.js';
import type { PlanarImage } from '../../engine/objective.js';
import { RunController, initialImage, runStyleTransfer, type RunEvent as EngineEvent } from '../../engine/run.js';
import { FrameRecorder, FrameSpool } from '../../engine/video/frames.js';
import { loadWeights } from '../../engine/weights/load.js';
import type { Vgg19Weights } from '../../engine/weights/types.js';
import type { ErrorInfo, LossPoint, PreviewFrame, RunEvent } from '../../shared/ipc.js';
import type { StudioSettings } from '../../shared/studio-settings.js';
import type { ParentToWorker, StartMessage, WorkerImage, WorkerToParent } from './messages.js';
import { applyMidRunChanges, engineRunSettings, graphLayersFor, lossWeights, rebuildReason, type GraphLayers } from './run-settings.js';

const PREVIEW_QUALITY = 85;
const FINAL_QUALITY = 92;

if (!parentPort) throw new Error('job-worker must run in a worker thread (worker_threads), not as a script.');
const port = parentPort;

function post(message: WorkerToParent, transfer: ArrayBuffer[] = []): void {
  port.postMessage(message, transfer);
}

/** The one run this worker is executing, and the steering state that survives a graph rebuild. */
class ActiveRun {
  controller = new RunController();
  settings: StudioSettings;
  /** The layers of the engine run in progress; null until the first one starts. */
  graph: GraphLayers | null = null;
  /** Why the next engine run needs a new graph (set by an update; the current one is being stopped). */
  rebuildPending: string | null = null;
  /** The rebuild to announce when the new engine run has started. */
  rebuildAnnounce: string | null = null;
  stopRequested = false;
  paused = false;
  pausedReported = false;
  /** Iterations finished by earlier engine runs of this studio run (before rebuilds). */
  iterationsBefore = 0;
  latest: PlanarImage | null = null;
  startedReported = false;
  lastPreviewAt = -Infinity;
  previewsSent = 0;
  /** Spools the timelapse frames (every frameEvery iterations, across rebuilds); null when the run records none. */
  recorder: FrameRecorder | null = null;
  /** Events leave in order even though preview encoding is async. */
  private outbox: Promise<void> = Promise.resolve();

  constructor(readonly start: StartMessage) {
    this.settings = start.request.settings;
    this.paused = start.paused;
    if (start.paused) this.controller.pause();
  }

  get runId(): string {
    return this.start.runId;
  }

  get total(): number {
    return this.settings.iterations;
  }

  send(produce: () => Promise<{ message: WorkerToParent; transfer?: ArrayBuffer[] }> | { message: WorkerToParent; transfer?: ArrayBuffer[] }): void {
    this.outbox = this.outbox
      .then(async () => {
        const { message, transfer } = await produce();
        post(message, transfer);
      })
      .catch((error: unknown) => post({ type: 'event', event: { runId: this.runId, type: 'error', error: errorInfo(error) } }));
  }

  emit(event: DistributiveOmit<RunEvent, 'runId'>): void {
    const message: WorkerToParent = { type: 'event', event: { ...event, runId: this.runId } as RunEvent };
    this.send(() => ({ message }));
  }

  flush(): Promise<void> {
    return this.outbox;
  }

  update(next: StudioSettings): void {
    this.settings = applyMidRunChanges(this.settings, next);
    // Before the first engine run starts, it simply starts with these settings.
    if (!this.graph) return;
    const reason = rebuildReason(this.settings, this.graph);
    if (reason) {
      this.rebuildPending ??= reason;
      this.controller.stop();
    } else if (!this.rebuildPending) {
      this.controller.setWeights(lossWeights(this.settings, this.graph));
    }
  }

  pause(): void {
    this.paused = true;
    this.controller.pause();
  }

  resume(): void {
    this.paused = false;
    this.controller.resume();
  }

  stop(): void {
    this.stopRequested = true;
    this.controller.stop();
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

let active: ActiveRun | null = null;
let weightsCache: { path: string; weights: Promise<Vgg19Weights> } | null = null;

port.on('message', (message: ParentToWorker) => {
  if (typeof message !== 'object' || message === null) return;
  if (message.type === 'start') {
    void execute(message);
    return;
  }
  const run = active && active.runId === message.runId ? active : null;
  switch (message.type) {
    case 'pause':
      run?.pause();
      break;
    case 'resume':
      run?.resume();
      break;
    case 'stop':
      run?.stop();
      break;
    case 'update':
      run?.update(message.settings);
      break;
    case 'snapshot': {
      const image = run?.latest ? copyImage(run.latest) : null;
      post({ type: 'snapshot', requestId: message.requestId, image }, image ? [image.data.buffer as ArrayBuffer] : []);
      break;
    }
  }
});

async function execute(start: StartMessage): Promise<void> {
  if (active) {
    // The service never does this; if it did, the new run fails rather than disturbing the one in progress.
    post({ type: 'event', event: { runId: start.runId, type: 'error', error: { code: 'INTERNAL', message: 'The worker is already running another style transfer.' } } });
    post({ type: 'idle', runId: start.runId });
    return;
  }
  const run = new ActiveRun(start);
  active = run;
  try {
    await paint(run);
  } catch (error) {
    run.emit({ type: 'error', error: errorInfo(error) });
  } finally {
    await run.flush().catch(() => undefined);
    active = null;
    post({ type: 'idle', runId: run.runId });
  }
}

async function paint(run: ActiveRun): Promise<void> {
  const { request } = run.start;
  const sizePx = request.settings.sizePx;
  // Images before weights: an unreadable drop should fail at once. Styles are read at the output's longest side.
  const content = await decodeImage(request.content.bytes, { sizePx, sourceName: request.content.name || 'The content image' });
  const styles = await Promise.all(
    request.styles.map((style, i) => decodeImage(style.image.bytes, { sizePx, sourceName: style.image.name || `Style image ${i + 1}` })),
  );
  const weights = await cachedWeights(run.start.weightsPath);
  const styleBlend = request.styles.map((s) => s.blend);
  if (run.start.frames) {
    // The timelapse is a by-product: a spool that cannot be made costs the video, never the run.
    const spool = await FrameSpool.create({ dir: run.start.frames.dir, frameEvery: run.start.frames.frameEvery }).catch((error: unknown) => {
      console.warn(`[job-worker] no timelapse for ${run.runId}: ${(error as Error).message}`);
      return null;
    });
    if (spool) {
      run.recorder = new FrameRecorder(spool);
      const first = engineRunSettings(run.settings, { iterations: run.total, styleBlend, threads: run.start.threads });
      const start = { width: content.width, height: content.height, data: initialImage(first.init, content, styles, first.seed) };
      run.recorder.start(start, content);
    }
  }

  let startImage: Float32Array | undefined;
  for (;;) {
    const settings = run.settings;
    run.graph = graphLayersFor(settings);
    const engineSettings = engineRunSettings(settings, { iterations: run.total - run.iterationsBefore, styleBlend, threads: run.start.threads });
    const result = await runStyleTransfer({ weights, content, styles, ...(startImage ? { startImage } : {}) }, engineSettings, {
      controller: run.controller,
      onEvent: (event) => onEngineEvent(run, event),
    });
    run.iterationsBefore += result.iterations;
    run.latest = result.image;
    if (run.rebuildPending && !run.stopRequested && run.iterationsBefore < run.total) {
      // Continue from the current image on a graph with the new layers (the optimizer starts afresh).
      startImage = result.image.data;
      run.rebuildAnnounce = run.rebuildPending;
      run.rebuildPending = null;
      run.controller = new RunController();
      if (run.paused) run.controller.pause();
      continue;
    }
    const iterations = run.iterationsBefore;
    const loss = lossPoint(iterations, result.finalLoss);
    const image = result.image;
    // The last frame (if not captured already), then the index is flushed: the spool is complete before 'done'.
    // A failed spool costs the video, never the run.
    await run.recorder?.finish({ ...result, iterations }).catch((error: unknown) => console.warn(`[job-worker] timelapse frames of ${run.runId}: ${(error as Error).message}`));
    run.send(async () => {
      const final = await encodeFrame(image, FINAL_QUALITY);
      // The full-precision image first (the service keeps it for export), then the event that announces it.
      post({ type: 'result', runId: run.runId, image }, [image.data.buffer as ArrayBuffer]);
      run.latest = null;
      return {
        message: { type: 'event', event: { runId: run.runId, type: 'done', iterations, stopped: run.stopRequested, final, loss } },
        transfer: [final.jpeg.buffer as ArrayBuffer],
      };
    });
    return;
  }
}

function onEngineEvent(run: ActiveRun, event: EngineEvent): void {
  switch (event.type) {
    case 'started':
      if (!run.startedReported) {
        run.startedReported = true;
        run.emit({ type: 'started', width: event.width, height: event.height, device: event.device, fallbackReason: event.fallbackReason });
      } else if (run.rebuildAnnounce) {
        run.emit({ type: 'rebuilt', reason: run.rebuildAnnounce, iteration: run.iterationsBefore });
        run.rebuildAnnounce = null;
      }
      break;
    case 'paused':
      if (!run.pausedReported) run.emit({ type: 'paused', iteration: run.iterationsBefore + event.iteration });
      run.pausedReported = true;
      break;
    case 'resumed':
      if (run.pausedReported) run.emit({ type: 'resumed', iteration: run.iterationsBefore + event.iteration });
      run.pausedReported = false;
      break;
    case 'progress': {
      if (event.image) run.latest = event.image;
      const iteration = run.iterationsBefore + event.iteration;
      run.recorder?.onEvent(event, { iteration, iterations: run.total });
      const now = performance.now();
      const image = event.image;
      const wantPreview = image !== undefined && (run.previewsSent === 0 || iteration >= run.total || now - run.lastPreviewAt >= run.start.previewIntervalMs);
      if (wantPreview) {
        run.lastPreviewAt = now;
        run.previewsSent++;
      }
      const loss = lossPoint(iteration, event.loss);
      const msPerIteration = event.ms;
      const total = run.total;
      run.send(async () => {
        const preview = wantPreview ? await encodeFrame(image, PREVIEW_QUALITY).catch(() => null) : null;
        return {
          message: { type: 'event', event: { runId: run.runId, type: 'progress', loss, iterations: total, msPerIteration, preview } },
          transfer: preview ? [preview.jpeg.buffer as ArrayBuffer] : [],
        };
      });
      break;
    }
  }
}

function lossPoint(iteration: number, loss: { total: number; style: Record<string, number>; content: Record<string, number>; tv: number }): LossPoint {
  return { iteration, total: loss.total, style: { ...loss.style }, content: { ...loss.content }, tv: loss.tv };
}

/** A JPEG of the image in a buffer of its own (sharp's may share a pool), so it can be transferred. */
async function encodeFrame(image: PlanarImage, quality: number): Promise<PreviewFrame> {
  const jpeg = await encodeImage(image, 'jpeg', { quality });
  return { width: image.width, height: image.height, jpeg: new Uint8Array(jpeg) };
}

function copyImage(image: PlanarImage): WorkerImage {
  return { width: image.width, height: image.height, data: Float32Array.from(image.data) };
}

function cachedWeights(weightsPath: string): Promise<Vgg19Weights> {
  if (weightsCache?.path !== weightsPath) {
    const weights = loadWeights(weightsPath);
    weightsCache = { path: weightsPath, weights };
    // A failed load is not cached: the next run tries again (the user may have fixed the file).
    weights.catch(() => {
      if (weightsCache?.weights === weights) weightsCache = null;
    });
  }
  return weightsCache.weights;
}

/** Engine errors keep their code and sentence; anything else becomes INTERNAL with a sentence of its own. */
function errorInfo(error: unknown): ErrorInfo {
  if (isNstError(error)) return { code: error.code, message: error.message };
  const detail = error instanceof Error ? error.message : String(error);
  return { code: 'INTERNAL', message: `The style transfer failed unexpectedly: ${detail.split('\n')[0]}` };
}
