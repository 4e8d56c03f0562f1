// The job worker: runs one style transfer at a time off the main thread; tagged messages in, run events out.

import { parentPort } from 'node:worker_threads';
import { decodeImage, encodeImage, resizeImage, isNstError, type LossBreakdown, type PlanarImage, RunController, initialImage, runStyleTransfer, type RunEvent as EngineEvent, type RunResult, type RunSnapshot, resizeLongest, planIterations, renderStyleTransfer, type RenderPlan, keepOriginalColors, FrameRecorder, FrameSpool, loadWeights, type Vgg19Weights } from '../../engine/index.js';
import { memoryLimitBytes } from '../services/memory-estimate.js';
import type { ErrorInfo, LossPoint, PreviewFrame, RunEvent } from '../../shared/ipc.js';
import type { StudioSettings } from '../../shared/studio-settings.js';
import type { ParentToWorker, StartMessage, WorkerToParent } from './messages.js';
import { openRunCheckpoints, parseStudioJob, type RebuiltSegment, type RunCheckpoints } from './run-checkpoint.js';
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
  /** Stopped because the app is quitting: the checkpoint is left for the next session. */
  keepCheckpoint = false;
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
  /**
   * A resumed run's checkpoint image (at the resumed stage's size, known at its 'started' event): the frame at the
   * checkpoint's iteration when the interrupted process had not spooled it yet.
   */
  checkpointFrame: { iteration: number; data: Float32Array } | null = null;
  /** How the run renders (null until planned). Tiled plans take no weight changes. */
  plan: RenderPlan | null = null;
  /** Iterations across every scale, tile and rebuild (settings.iterations for a plain run). */
  planned: number;
  /** Within the current engine call: iterations of its earlier stages (scales, tiles), and the last one reported. */
  stageOffset = 0;
  lastIteration = 0;
  /** Weights were changed mid-run: later stages (scales) start with the settings' own and need them again. */
  steered = false;
  /** A tiled run's canvas after its latest tile, waiting to go out as the next preview (tiles attach no images). */
  canvas: PlanarImage | null = null;
  /** The requested output's pixel size, once the content is decoded. */
  outputSize: { width: number; height: number } | null = null;
  /** The image as the user sees it: at the output's size, in the photo's colours when asked. */
  present: (image: PlanarImage) => Promise<PlanarImage> = async (image) => image;
  /** The run's checkpoints (RunService's `checkpoints` option); null when off, or after a graph rebuild. */
  checkpoints: RunCheckpoints | null = null;
  /** A resumed run: iterations its checkpoint's earlier stages ran, where its count continues. */
  resumedAt = 0;
  /** Events leave in order even though preview encoding is async. */
  private outbox: Promise<void> = Promise.resolve();

  constructor(readonly start: StartMessage) {
    this.settings = start.request.settings;
    this.planned = this.settings.iterations;
    this.paused = start.paused;
    if (start.paused) this.controller.pause();
  }

  get runId(): string {
    return this.start.runId;
  }

  get total(): number {
    return this.planned;
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
    // Tiles optimise against targets balanced once for the whole image: the window disables steering (the 'plan' event).
    if (this.plan?.mode === 'tiled') return;
    this.settings = applyMidRunChanges(this.settings, next);
    this.steered = true;
    this.checkpoints?.settingsChanged(this.settings);
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

  stop(keepCheckpoint = false): void {
    this.stopRequested = true;
    this.keepCheckpoint = keepCheckpoint;
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
      run?.stop(message.keepCheckpoint === true);
      break;
    case 'update':
      run?.update(message.settings);
      break;
    case 'snapshot': {
      const latest = run?.latest ?? null;
      const reply = (image: PlanarImage | null): void => post({ type: 'snapshot', requestId: message.requestId, image }, image ? [image.data.buffer as ArrayBuffer] : []);
      if (!run || !latest) reply(null);
      else void run.present(latest).then((image) => reply(copyImage(image)), () => reply(null));
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
    // A failed run keeps its last checkpoint (it can be resumed); a finished one removed its own.
    await run.checkpoints?.close().catch(() => undefined);
    await run.flush().catch(() => undefined);
    active = null;
    post({ type: 'idle', runId: run.runId });
  }
}

async function paint(run: ActiveRun): Promise<void> {
  const { request } = run.start;
  const started = run.settings;
  const sizePx = started.sizePx;
  // Images before weights: an unreadable drop should fail at once. Styles are read at styleScale × the output's size.
  const content = await decodeImage(request.content.bytes, { sizePx, sourceName: request.content.name || 'The content image' });
  run.outputSize = { width: content.width, height: content.height };
  const styleSidePx = Math.max(16, Math.round(sizePx * started.styleScale));
  const styles = await Promise.all(
    request.styles.map((style, i) => decodeImage(style.image.bytes, { sizePx: styleSidePx, sourceName: style.image.name || `Style image ${i + 1}` })),
  );
  const weights = await cachedWeights(run.start.weightsPath);
  const styleBlend = request.styles.map((s) => s.blend);
  // Coarse scales and downscaled plans hand out smaller images: previews, frames and the result are shown at the
  // output's size, in the photo's colours when asked.
  run.present = async (image) => {
    const sized = image.width === content.width && image.height === content.height ? image : await resizeImage(image, content.width, content.height);
    return started.originalColors ? keepOriginalColors(sized, content) : sized;
  };
  const resume = run.start.resume ?? null;
  if (run.start.frames) {
    const { dir, frameEvery } = run.start.frames;
    // A resumed run goes on filling its own spool from its checkpoint's iteration (frames the interrupted process
    // took after it are dropped: those iterations run again), so its video covers the whole run.
    const resumedAt = resume ? resume.manifest.progress.iteration : null;
    // The timelapse is a by-product: a spool that cannot be made costs the video, never the run.
    const spool = await (resumedAt === null ? FrameSpool.create({ dir, frameEvery }) : FrameSpool.resume({ dir, upTo: resumedAt })).catch((error: unknown) => {
      const why = (error as Error).message;
      console.warn(`[job-worker] no timelapse for ${run.runId}: ${why}`);
      if (resumedAt !== null) run.emit({ type: 'notice', message: `The timelapse frames from before the interruption could not be reopened, so the resumed run records no timelapse: ${why}` });
      return null;
    });
    if (spool) {
      run.recorder = new FrameRecorder(spool, { prepare: run.present });
      const first = engineRunSettings(run.settings, { iterations: started.iterations, styleBlend, threads: run.start.threads });
      const start = { width: content.width, height: content.height, data: initialImage(first.init, content, styles, first.seed) };
      // A resumed spool has the start frame and the content image already; start() adds only what is missing.
      run.recorder.start(start, content);
      // A tile's image is not the picture: a tiled run resumed inside a tile waits for its next frame.
      if (resume && resumedAt !== null && resume.state.phase !== 'tile') run.checkpointFrame = { iteration: resumedAt, data: resume.state.stage.run.image };
    }
  }

  if (run.start.checkpoint) {
    run.checkpoints = openRunCheckpoints({
      runId: run.runId,
      request,
      options: run.start.checkpoint,
      totalIterations: (plan) => planIterations(plan, started.iterations, started.scales),
      timelapse: run.recorder ? { frameEvery: run.recorder.imageEvery } : null,
      framesWritten: async () => run.recorder?.settled(),
      resume,
      report: (message) => run.emit({ type: 'notice', message }),
    });
  }
  run.resumedAt = resume?.state.stage.iterationsBefore ?? 0;
  const checkpointing = run.checkpoints?.renderOptions ?? (resume ? { resume: resume.state } : {});
  // A run interrupted after a rebuild continues its rebuilt segment, not the render.
  const resumedSegment = resume ? (parseStudioJob(run.runId, resume.manifest.job).segment ?? null) : null;

  /** A plain run at the plan's optimisation size on a graph with the current layers, from an image or a checkpoint. */
  const runSegment = async (segment: RebuiltSegment, from: { image: PlanarImage } | { resume: RunSnapshot }): Promise<RunResult> => {
    const plan = run.plan;
    if (!plan || plan.mode === 'tiled') throw new Error('A rebuilt segment needs a whole or downscaled plan.');
    const workPx = plan.sizePx;
    const workContent = workPx === Math.max(content.width, content.height) ? content : await resizeLongest(content, workPx);
    const workStyles = await Promise.all(styles.map((style) => resizeLongest(style, Math.max(16, Math.round(workPx * started.styleScale)))));
    const start =
      'image' in from
        ? { startImage: (from.image.width === workContent.width && from.image.height === workContent.height ? from.image : await resizeImage(from.image, workContent.width, workContent.height)).data }
        : { resume: from.resume };
    run.controller = new RunController();
    if (run.paused) run.controller.pause();
    run.graph = graphLayersFor(run.settings);
    run.planned = segment.iterationsBefore + segment.iterations;
    const engineSettings = engineRunSettings(run.settings, { iterations: segment.iterations, styleBlend, threads: run.start.threads });
    return runStyleTransfer({ weights, content: workContent, styles: workStyles, ...start }, engineSettings, {
      controller: run.controller,
      onEvent: (event) => onEngineEvent(run, event),
      ...(run.checkpoints ? { checkpoint: run.checkpoints.segmentSink(plan, segment) } : {}),
    });
  };

  let result: RunResult;
  if (resume && resumedSegment) {
    const plan = resume.state.plan;
    run.plan = plan;
    run.iterationsBefore = resumedSegment.iterationsBefore;
    run.planned = resumedSegment.iterationsBefore + resumedSegment.iterations;
    run.resumedAt = 0;
    run.emit({ type: 'plan', plan: { ...plan }, iterations: run.planned, steerable: true, reason: null });
    result = await runSegment(resumedSegment, { resume: resume.state.stage.run });
  } else {
    // The whole run as memory allows: whole, optimised smaller and upsampled, or tiled; retried smaller on OOM.
    run.graph = graphLayersFor(run.settings);
    result = await renderStyleTransfer({ weights, content, styles }, engineRunSettings(run.settings, { iterations: started.iterations, styleBlend, threads: run.start.threads }), {
      scales: started.scales,
      styleScale: started.styleScale,
      tile: started.tile,
      tileOverlapPx: started.tileOverlapPx,
      memoryLimitBytes: memoryLimitBytes(started),
      ...checkpointing,
      controller: run.controller,
      onEvent: (event) => onEngineEvent(run, event),
      onPlan: (plan) => onPlan(run, plan),
      onNotice: (message) => run.emit({ type: 'notice', message }),
      onTile: (canvas) => {
        run.latest = canvas;
        run.canvas = canvas;
      },
    });
  }
  endSegment(run, result);

  // A layer the graph lacks was turned on (never in tiled runs): the rest of the iterations run at the plan's
  // optimisation size on a graph with the new layers, from the current image (the optimizer starts afresh).
  while (run.rebuildPending && !run.stopRequested && run.iterationsBefore < run.total && run.plan && run.plan.mode !== 'tiled') {
    // After a coarse scale, the rest of a multi-scale budget at this size would cost far more than the scales it
    // replaces: at most one scale's iterations remain (progress events carry the new total).
    const segment: RebuiltSegment = { iterationsBefore: run.iterationsBefore, iterations: Math.min(run.total - run.iterationsBefore, started.iterations) };
    // The render's checkpoint describes another network: the segment's own replace it from its first iteration.
    await run.checkpoints?.beginSegment(segment);
    run.rebuildAnnounce = run.rebuildPending;
    run.rebuildPending = null;
    result = await runSegment(segment, { image: result.image });
    endSegment(run, result);
  }

  // Finished, or stopped by the user: nothing is left to resume. Stopped by the app quitting: the last checkpoint
  // stays and the next session offers the run.
  if (!run.keepCheckpoint) await run.checkpoints?.remove();
  const iterations = run.iterationsBefore;
  const loss = lossPoint(iterations, result.finalLoss);
  const image = await run.present(result.image);
  run.latest = image;
  // The last frame (if not captured already), then the index is flushed: the spool is complete before 'done'. A run
  // stopped to be resumed gets no last frame: its resumption continues the spool from the checkpoint.
  // A failed spool costs the video, never the run.
  const frames = run.keepCheckpoint ? run.recorder?.close() : run.recorder?.finish({ ...result, image, iterations });
  await frames?.catch((error: unknown) => console.warn(`[job-worker] timelapse frames of ${run.runId}: ${(error as Error).message}`));
  if (run.recorder?.dropped) console.warn(`[job-worker] timelapse of ${run.runId}: ${run.recorder.dropped} frames skipped (writing them fell behind the run)`);
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
}

/** One engine call (a render, or a segment after a rebuild) ended: its iterations count, its stages are done. */
function endSegment(run: ActiveRun, result: RunResult): void {
  run.iterationsBefore += result.iterations;
  run.stageOffset = 0;
  run.lastIteration = 0;
  run.latest = result.image;
}

const TILED_STEERING =
  'Tiled runs optimise every tile against style targets and balance weights fixed once for the whole image: layer and weight changes apply to the next run.';

/** The render's plan (again after an out-of-memory retry, which starts over): totals, steering, the timelapse. */
function onPlan(run: ActiveRun, plan: RenderPlan): void {
  const retry = run.plan !== null;
  run.plan = plan;
  run.planned = planIterations(plan, run.settings.iterations, run.settings.scales);
  run.stageOffset = 0;
  // A resumed render's count continues after its checkpoint's earlier stages (a retry starts over).
  run.lastIteration = retry ? 0 : run.resumedAt;
  if (retry && run.recorder) {
    // Its frames belong to the attempt that failed; iteration numbers start over with the new plan.
    console.warn(`[job-worker] ${run.runId}: the timelapse stops at the out-of-memory retry`);
    run.recorder = null;
    run.checkpoints?.timelapseStopped();
  }
  const tiled = plan.mode === 'tiled';
  run.emit({ type: 'plan', plan: { ...plan }, iterations: run.planned, steerable: !tiled, reason: tiled ? TILED_STEERING : null });
}

function onEngineEvent(run: ActiveRun, event: EngineEvent): void {
  switch (event.type) {
    case 'started':
      // A new stage (scale, tile) numbers its iterations from 1: continue the run's count.
      run.stageOffset = run.lastIteration;
      if (run.checkpointFrame) {
        // The resumed stage's first event: the checkpoint's image has this stage's size.
        const { iteration, data } = run.checkpointFrame;
        run.checkpointFrame = null;
        if (data.length === 3 * event.width * event.height) run.recorder?.resumeFrom({ width: event.width, height: event.height, data }, iteration);
      }
      // Each scale starts from the settings' weights: changes made mid-run carry over.
      if (run.steered && run.graph && !run.rebuildPending && run.plan?.mode !== 'tiled') run.controller.setWeights(lossWeights(run.settings, run.graph));
      if (!run.startedReported) {
        run.startedReported = true;
        // The output's size (a coarse scale or a tile is smaller).
        const { width, height } = outputSizeOf(run, event);
        run.emit({ type: 'started', width, height, device: event.device, fallbackReason: event.fallbackReason });
      } else if (run.rebuildAnnounce) {
        run.emit({ type: 'rebuilt', reason: run.rebuildAnnounce, iteration: run.iterationsBefore });
        run.rebuildAnnounce = null;
      }
      break;
    case 'paused':
      if (!run.pausedReported) run.emit({ type: 'paused', iteration: run.iterationsBefore + run.stageOffset + event.iteration });
      run.pausedReported = true;
      break;
    case 'resumed':
      if (run.pausedReported) run.emit({ type: 'resumed', iteration: run.iterationsBefore + run.stageOffset + event.iteration });
      run.pausedReported = false;
      break;
    case 'progress': {
      if (event.image) run.latest = event.image;
      run.lastIteration = run.stageOffset + event.iteration;
      const iteration = run.iterationsBefore + run.lastIteration;
      run.recorder?.onEvent(event, { iteration, iterations: run.total });
      const now = performance.now();
      const image = event.image ?? run.canvas ?? undefined;
      const wantPreview = image !== undefined && (run.previewsSent === 0 || iteration >= run.total || now - run.lastPreviewAt >= run.start.previewIntervalMs);
      if (wantPreview) {
        run.lastPreviewAt = now;
        run.previewsSent++;
        run.canvas = null;
      }
      const loss = lossPoint(iteration, event.loss);
      const msPerIteration = event.ms;
      const total = run.total;
      run.send(async () => {
        const preview = wantPreview && image ? await run.present(image).then((shown) => encodeFrame(shown, PREVIEW_QUALITY)).catch(() => null) : null;
        return {
          message: { type: 'event', event: { runId: run.runId, type: 'progress', loss, iterations: total, msPerIteration, preview } },
          transfer: preview ? [preview.jpeg.buffer as ArrayBuffer] : [],
        };
      });
      break;
    }
  }
}

/** The run's output size: the decoded content's (the first engine event may come from a smaller scale). */
function outputSizeOf(run: ActiveRun, event: { width: number; height: number }): { width: number; height: number } {
  return run.outputSize ?? { width: event.width, height: event.height };
}

function lossPoint(iteration: number, loss: LossBreakdown): LossPoint {
  const point: LossPoint = { iteration, total: loss.total, style: { ...loss.style }, content: { ...loss.content }, tv: loss.tv };
  if (loss.weighted) point.weighted = { style: { ...loss.weighted.style }, content: { ...loss.weighted.content }, tv: loss.weighted.tv };
  return point;
}

/** A JPEG of the image in a buffer of its own (sharp's may share a pool), so it can be transferred. */
async function encodeFrame(image: PlanarImage, quality: number): Promise<PreviewFrame> {
  const jpeg = await encodeImage(image, 'jpeg', { quality });
  return { width: image.width, height: image.height, jpeg: new Uint8Array(jpeg) };
}

function copyImage(image: PlanarImage): PlanarImage {
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
