// One studio run in the job worker: decodes its images, renders them as memory allows, follows the user's
// steering (pause, stop, weight, layer and mask changes; a layer or a kind of mask the graph lacks rebuilds it),
// timelapse and checkpoints.

import {
  decodeImage,
  FrameRecorder,
  FrameSpool,
  initialImage,
  keepOriginalColors,
  planIterations,
  renderStyleTransfer,
  resizeImage,
  resizeLongest,
  RunController,
  runStyleTransfer,
  settleAutoDevice,
  takeRun,
  type PlanarImage,
  type LossMasks,
  type RenderEvent,
  type RenderPlan,
  type RunLock,
  type RunResult,
  type RunSnapshot,
  type Vgg19Weights,
} from '../../engine/index.js';
import type { MaskSet } from '../../shared/api.js';
import { MAX_INPUT_PIXELS } from '../../shared/schemas.js';
import type { StudioSettings } from '../../shared/studio-settings.js';
import { memoryLimitBytes } from '../services/memory-estimate.js';
import type { StartMessage } from './messages.js';
import { openRunCheckpoints, parseStudioJob, studioRunCommand, type RebuiltSegment, type RunCheckpoints } from './run-checkpoint.js';
import type { RunReporter } from './run-reporter.js';
import { lossMasks, maskRebuildReason } from './run-masks.js';
import { applyMidRunChanges, engineRunSettings, graphLayersFor, lossWeights, rebuildReason, type GraphLayers } from './run-settings.js';

const TILED_STEERING =
  'Tiled runs optimise every tile against style targets and balance weights fixed once for the whole image: layer and weight changes apply to the next run.';

/** The decoded inputs of a run: the content at the output's size, the styles at styleScale × that. */
interface RunImages {
  readonly content: PlanarImage;
  readonly styles: readonly PlanarImage[];
  readonly styleBlend: readonly number[];
}

export class StudioRun {
  private controller = new RunController();
  /** The settings in force: as started, with mid-run changes applied. */
  private settings: StudioSettings;
  /** The layers of the engine run in progress; null until the first one starts. */
  private graph: GraphLayers | null = null;
  /** The masks in force (as started, or painted since); null: none. */
  private masks: LossMasks | null;
  /** The masks the engine run in progress was built with: their kind is its graph's. */
  private graphMasks: LossMasks | null = null;
  /** The masks the run last took (as started, or an edit its 'masks' event accepted): a refused edit goes back to them. */
  private acceptedMasks: LossMasks | null;
  /** The edit last handed to the engine (its 'masks' event names it by identity). */
  private sentMasks: LossMasks | null = null;
  /** Masks were painted mid-run: later stages (scales) start with the request's and need them again. */
  private masksChanged = false;
  /** Why the next engine run needs a new graph (set by an update; the current one is being stopped). */
  private rebuildPending: string | null = null;
  /** The rebuild to announce when the new engine run has started. */
  private rebuildAnnounce: string | null = null;
  private stopRequested = false;
  /** Stopped because the app is quitting: the checkpoint is left for the next session. */
  private keepCheckpoint = false;
  private paused: boolean;
  /** Converged and waiting there (the engine's 'converged' event paused it): resume keeps going, stop finishes. */
  private held = false;
  /** Weights were changed mid-run: later stages (scales) start with the settings' own and need them again. */
  private steered = false;
  private startedReported = false;
  /** How the run renders (null until planned). Tiled plans take no weight changes. */
  private plan: RenderPlan | null = null;
  private recorder: FrameRecorder | null = null;
  /** A resumed run's checkpoint image: the timelapse frame at its iteration, if the interrupted process had not spooled it. */
  private checkpointFrame: { iteration: number; data: Float32Array } | null = null;
  private checkpoints: RunCheckpoints | null = null;
  /** A resumed run's ownership (takeRun), from before its files are touched; its checkpoints then hold it. */
  private lock: RunLock | null = null;
  /** The requested output's pixel size, once the content is decoded. */
  private outputPx: { width: number; height: number } | null = null;

  constructor(
    private readonly start: StartMessage,
    private readonly reporter: RunReporter,
    private readonly weights: (path: string) => Promise<Vgg19Weights>,
  ) {
    this.settings = start.request.settings;
    this.masks = start.request.masks ? lossMasks(start.request.masks) : null;
    this.acceptedMasks = this.masks;
    this.paused = start.paused;
    if (start.paused) this.controller.pause();
  }

  get runId(): string {
    return this.start.runId;
  }

  pause(): void {
    this.paused = true;
    this.controller.pause();
  }

  resume(): void {
    this.paused = false;
    this.controller.resume();
  }

  stop(keepCheckpoint: boolean): void {
    this.stopRequested = true;
    // A run waiting at convergence is finished, quitting or not: nothing is left to resume.
    this.keepCheckpoint = keepCheckpoint && !this.held;
    this.controller.stop();
  }

  /** Layer toggles and weights: at the next iteration as weights, or by rebuilding the graph when it lacks a layer. */
  update(next: StudioSettings): void {
    // Tiles optimise against targets balanced once for the whole image: the window disables steering (the 'plan' event).
    // A run waiting at convergence takes no changes either (a rebuild would restart it).
    if (this.plan?.mode === 'tiled' || this.held) return;
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

  /**
   * Masks painted mid-run: at the next iteration (a tiled run: the tile under way, or the next), or (another kind:
   * turned on or off) by rebuilding the graph. Masks the engine cannot use are refused in its 'masks' event.
   */
  setMasks(next: MaskSet | null): void {
    // As with weights: one waiting at convergence takes no changes.
    if (this.held) return;
    this.masks = next ? lossMasks(next) : null;
    this.masksChanged = true;
    this.checkpoints?.masksChanged(this.masks);
    if (!this.graph) return;
    const reason = maskRebuildReason(this.masks, this.graphMasks);
    if (this.plan?.mode === 'tiled') {
      // Tiles are never rebuilt: another kind of masks waits for the next run; the run goes on with its own.
      if (!reason) this.sendMasks(this.masks ?? {});
      else this.refuseMasks(this.reporter.iteration, `${reason[0]!.toUpperCase()}${reason.slice(1)}, which a tiled run cannot take mid-run (it keeps its kind of masks): that applies to the next run.`);
      return;
    }
    if (reason) {
      this.rebuildPending ??= reason;
      this.controller.stop();
    } else if (!this.rebuildPending && this.masks) {
      this.sendMasks(this.masks);
    }
  }

  private sendMasks(masks: LossMasks): void {
    this.sentMasks = masks;
    this.controller.setMasks(masks);
  }

  /**
   * The engine took an edit, or refused it (a region only in rows its pools drop; another kind in a tiled run): the
   * run goes on with the masks it had, and so do its checkpoints; the window is told why.
   */
  private masksTaken(event: Extract<RenderEvent, { type: 'masks' }>): void {
    if (event.refused === null) {
      this.acceptedMasks = event.masks;
      return;
    }
    // Only the latest edit is undone: a newer one is on its way.
    if (event.masks === this.sentMasks) this.refuseMasks(event.iteration, event.refused);
    else this.reporter.emit({ type: 'masksRefused', iteration: event.iteration, message: event.refused });
  }

  /** The run goes on with the masks it took last (its checkpoints too); the window is told why. */
  private refuseMasks(iteration: number, message: string): void {
    this.masks = this.acceptedMasks;
    this.checkpoints?.masksChanged(this.masks);
    this.reporter.emit({ type: 'masksRefused', iteration, message });
  }

  /** Runs to the end (or a stop); errors are the caller's to report. A failed run keeps its last checkpoint. */
  async execute(): Promise<void> {
    try {
      await this.paint();
    } finally {
      await this.checkpoints?.close().catch(() => undefined);
      // Taken, but the run failed before its checkpoints opened: given up (nothing when they released it already).
      await this.lock?.release().catch(() => undefined);
    }
  }

  private async paint(): Promise<void> {
    await this.takeResumedRun();
    const images = await this.decodeInputs();
    const weights = await this.weights(this.start.weightsPath);
    // Automatic: the fastest device here, measured once per machine (seconds, the first time) and cached.
    if (this.start.request.settings.device === 'auto') await settleAutoDevice();
    await this.openTimelapse(images);
    await this.openCheckpoints();
    const resume = this.start.resume ?? null;
    // The count continues from the checkpoint (the engine's first 'started' event says so again).
    this.reporter.iteration = resume?.manifest.progress.iteration ?? 0;
    // A run interrupted after a rebuild continues its rebuilt segment, not the render.
    const resumedSegment = resume ? (parseStudioJob(this.runId, resume.manifest.job).segment ?? null) : null;

    let result: RunResult;
    if (resume && resumedSegment) {
      this.plan = resume.state.plan;
      this.reporter.emit({ type: 'plan', plan: { ...this.plan }, iterations: resumedSegment.iterationsBefore + resumedSegment.iterations, steerable: true, reason: null });
      result = await this.runSegment(weights, images, resumedSegment, { resume: resume.state.stage.run });
    } else {
      result = await this.render(weights, images);
    }

    // A layer the graph lacks was turned on (never in tiled runs): the rest of the iterations run at the plan's
    // optimisation size on a graph with the new layers, from the current image (the optimizer starts afresh).
    let planned = this.plannedIterations(resumedSegment);
    while (this.rebuildPending && !this.stopRequested && this.reporter.iteration < planned && this.plan && this.plan.mode !== 'tiled') {
      // After a coarse scale, the rest of a multi-scale budget at this size would cost far more than the scales it
      // replaces: at most one scale's iterations remain (progress events carry the new total).
      const done = this.reporter.iteration;
      const segment: RebuiltSegment = { iterationsBefore: done, iterations: Math.min(planned - done, this.start.request.settings.iterations) };
      planned = segment.iterationsBefore + segment.iterations;
      // The render's checkpoint describes another network: the segment's own replace it from its first iteration.
      await this.checkpoints?.beginSegment(segment);
      this.rebuildAnnounce = this.rebuildPending;
      this.rebuildPending = null;
      result = await this.runSegment(weights, images, segment, { image: result.image });
    }
    await this.finish(result);
  }

  /** Images before weights: an unreadable drop should fail at once. */
  private async decodeInputs(): Promise<RunImages> {
    const { request } = this.start;
    const { sizePx, styleScale, originalColors } = this.settings;
    const content = await decodeImage(request.content.bytes, { sizePx, maxInputPixels: MAX_INPUT_PIXELS, sourceName: request.content.name || 'The content image' });
    this.outputPx = { width: content.width, height: content.height };
    const styleSidePx = Math.max(16, Math.round(sizePx * styleScale));
    const styles = await Promise.all(
      request.styles.map((style, i) => decodeImage(style.image.bytes, { sizePx: styleSidePx, maxInputPixels: MAX_INPUT_PIXELS, sourceName: style.image.name || `Style image ${i + 1}` })),
    );
    // Coarse scales and downscaled plans hand out smaller images: previews, frames and the result are shown at the
    // output's size, in the photo's colours when asked.
    this.reporter.present = async (image) => {
      const sized = image.width === content.width && image.height === content.height ? image : await resizeImage(image, content.width, content.height);
      return originalColors ? keepOriginalColors(sized, content) : sized;
    };
    return { content, styles, styleBlend: request.styles.map((s) => s.blend) };
  }

  /** The timelapse spool, new or (for a resumed run) reopened at its checkpoint; a spool that fails costs the video, never the run. */
  private async openTimelapse(images: RunImages): Promise<void> {
    if (!this.start.frames) return;
    const { dir, frameEvery } = this.start.frames;
    const resume = this.start.resume ?? null;
    // A resumed run goes on filling its own spool from its checkpoint's iteration (frames the interrupted process
    // took after it are dropped: those iterations run again), so its video covers the whole run.
    const resumedAt = resume ? resume.manifest.progress.iteration : null;
    const spool = await (resumedAt === null ? FrameSpool.create({ dir, frameEvery }) : FrameSpool.resume({ dir, upTo: resumedAt })).catch((error: unknown) => {
      const why = (error as Error).message;
      console.warn(`[job-worker] no timelapse for ${this.runId}: ${why}`);
      if (resumedAt !== null) this.reporter.emit({ type: 'notice', message: `The timelapse frames from before the interruption could not be reopened, so the resumed run records no timelapse: ${why}` });
      return null;
    });
    if (!spool) return;
    this.recorder = new FrameRecorder(spool, { prepare: this.reporter.present });
    const first = this.engineSettings(this.settings.iterations, images);
    const { content, styles } = images;
    // A resumed spool has the start frame and the content image already; start() adds only what is missing.
    this.recorder.start({ width: content.width, height: content.height, data: initialImage(first.init, content, styles, first.seed) }, content);
    // A tile's image is not the picture: a tiled run resumed inside a tile waits for its next frame.
    if (resume && resumedAt !== null && resume.state.phase !== 'tile') this.checkpointFrame = { iteration: resumedAt, data: resume.state.stage.run.image };
  }

  /**
   * A resumed run is taken before anything of it is touched (its spool, its checkpoint): of two sessions (or windows)
   * resuming it at once, one runs and the other fails with RUN_IN_USE. A lock that cannot be read is taken over,
   * with a notice: the list offered the run, and the studio has no --force.
   */
  private async takeResumedRun(): Promise<void> {
    if (!this.start.resume || !this.start.checkpoint) return;
    // Resuming after the app died finds its old owner gone: the usual case, not worth a notice.
    const note = (line: string, expected: boolean): void => void (expected || this.reporter.emit({ type: 'notice', message: `${line[0]!.toUpperCase()}${line.slice(1)}` }));
    this.lock = await takeRun(this.runId, { root: this.start.checkpoint.root, command: studioRunCommand(this.runId), takeOver: 'unknown', note });
  }

  private async openCheckpoints(): Promise<void> {
    const resume = this.start.resume ?? null;
    if (!this.start.checkpoint) return;
    const { iterations, scales } = this.start.request.settings;
    this.checkpoints = await openRunCheckpoints({
      runId: this.runId,
      request: this.start.request,
      masks: this.masks,
      options: this.start.checkpoint,
      totalIterations: (plan) => planIterations(plan, iterations, scales),
      timelapse: this.recorder ? { frameEvery: this.recorder.imageEvery } : null,
      framesWritten: async () => this.recorder?.settled(),
      resume,
      lock: this.lock,
      report: (message) => this.reporter.emit({ type: 'notice', message }),
    });
  }

  /** The whole run as memory allows: whole, optimised smaller and upsampled, or tiled; retried smaller on OOM. */
  private render(weights: Vgg19Weights, images: RunImages): Promise<RunResult> {
    const started = this.start.request.settings;
    const resume = this.start.resume ?? null;
    this.graph = graphLayersFor(this.settings);
    this.graphMasks = this.masks;
    this.acceptedMasks = this.masks;
    const masks = this.masks ? { masks: this.masks } : {};
    return renderStyleTransfer({ weights, content: images.content, styles: images.styles, ...masks }, this.engineSettings(started.iterations, images), {
      scales: started.scales,
      styleScale: started.styleScale,
      tile: started.tile,
      tileOverlapPx: started.tileOverlapPx,
      memoryLimitBytes: memoryLimitBytes(started),
      ...(this.checkpoints?.renderOptions ?? (resume ? { resume: resume.state } : {})),
      controller: this.controller,
      onEvent: (event) => this.onEngineEvent(event),
      onPlan: (plan) => this.onPlan(plan),
      onNotice: (message) => this.reporter.emit({ type: 'notice', message }),
      onTile: (canvas) => this.reporter.tileDone(canvas),
    });
  }

  /** A plain run at the plan's optimisation size on a graph with the current layers, from an image or a checkpoint. */
  private async runSegment(weights: Vgg19Weights, images: RunImages, segment: RebuiltSegment, from: { image: PlanarImage } | { resume: RunSnapshot }): Promise<RunResult> {
    const plan = this.plan;
    if (!plan || plan.mode === 'tiled') throw new Error('A rebuilt segment needs a whole or downscaled plan.');
    const { content, styles } = images;
    const workPx = plan.sizePx;
    const workContent = workPx === Math.max(content.width, content.height) ? content : await resizeLongest(content, workPx);
    const workStyles = await Promise.all(styles.map((style) => resizeLongest(style, Math.max(16, Math.round(workPx * this.settings.styleScale)))));
    const start =
      'image' in from
        ? { startImage: (from.image.width === workContent.width && from.image.height === workContent.height ? from.image : await resizeImage(from.image, workContent.width, workContent.height)).data }
        : { resume: from.resume };
    this.controller = new RunController();
    if (this.paused) this.controller.pause();
    this.graph = graphLayersFor(this.settings);
    this.graphMasks = this.masks;
    this.acceptedMasks = this.masks;
    const masks = this.masks ? { masks: this.masks } : {};
    return runStyleTransfer({ weights, content: workContent, styles: workStyles, ...masks, ...start }, this.engineSettings(segment.iterations, images), {
      controller: this.controller,
      onEvent: (event) => this.onEngineEvent(event),
      count: { before: segment.iterationsBefore, total: segment.iterationsBefore + segment.iterations },
      ...(this.checkpoints ? { checkpoint: this.checkpoints.segmentSink(plan, segment) } : {}),
    });
  }

  /** Finished, or stopped: the last frame, the checkpoint's fate, the image for export and the 'done' event. */
  private async finish(result: RunResult): Promise<void> {
    // Finished, or stopped by the user: nothing is left to resume. Stopped by the app quitting: the last checkpoint
    // stays and the next session offers the run.
    if (!this.keepCheckpoint) await this.checkpoints?.remove();
    const iterations = this.reporter.iteration;
    const image = await this.reporter.present(result.image);
    // The last frame (if not captured already), then the index is flushed: the spool is complete before 'done'. A run
    // stopped to be resumed gets no last frame: its resumption continues the spool from the checkpoint.
    const frames = this.keepCheckpoint ? this.recorder?.close() : this.recorder?.finish({ ...result, image, iterations });
    await frames?.catch((error: unknown) => console.warn(`[job-worker] timelapse frames of ${this.runId}: ${(error as Error).message}`));
    if (this.recorder?.dropped) console.warn(`[job-worker] timelapse of ${this.runId}: ${this.recorder.dropped} frames skipped (writing them fell behind the run)`);
    // Finished while waiting at convergence: converged, not stopped.
    this.reporter.done(image, result.finalLoss, this.stopRequested && result.stop.kind !== 'converged', result.stop);
  }

  /** Iterations the run plans in all: its render's plan, or the resumed segment's end. */
  private plannedIterations(segment: RebuiltSegment | null): number {
    if (segment) return segment.iterationsBefore + segment.iterations;
    const { iterations, scales } = this.start.request.settings;
    return this.plan ? planIterations(this.plan, iterations, scales) : iterations;
  }

  private engineSettings(iterations: number, images: RunImages): ReturnType<typeof engineRunSettings> {
    return engineRunSettings(this.settings, { iterations, styleBlend: images.styleBlend, threads: this.start.threads });
  }

  /** The render's plan (again after an out-of-memory retry, which starts over): steering, the timelapse, the window. */
  private onPlan(plan: RenderPlan): void {
    const retry = this.plan !== null;
    this.plan = plan;
    if (retry && this.recorder) {
      // Its frames belong to the attempt that failed; iteration numbers start over with the new plan.
      console.warn(`[job-worker] ${this.runId}: the timelapse stops at the out-of-memory retry`);
      this.recorder = null;
      this.checkpoints?.timelapseStopped();
    }
    const tiled = plan.mode === 'tiled';
    const { iterations, scales } = this.start.request.settings;
    this.reporter.emit({ type: 'plan', plan: { ...plan }, iterations: planIterations(plan, iterations, scales), steerable: !tiled, reason: tiled ? TILED_STEERING : null });
  }

  private onEngineEvent(event: RenderEvent): void {
    switch (event.type) {
      case 'started':
        this.stageStarted(event);
        break;
      case 'converged':
        this.converged(event);
        break;
      case 'masks':
        this.masksTaken(event);
        break;
      case 'paused':
        // The pause at convergence was announced as 'converged'.
        if (!this.held) this.reporter.paused(event);
        break;
      case 'resumed':
        if (!this.held) this.reporter.paused(event);
        else {
          // "Keep going": the same run goes on to its iterations.
          this.held = false;
          this.reporter.emit({ type: 'resumed', iteration: event.iteration });
        }
        break;
      case 'progress':
        this.recorder?.onEvent(event);
        this.reporter.progress(event);
        break;
    }
  }

  /**
   * The picture stopped changing: a watched run waits there, paused, for "keep going" (resume) or the end (stop, or
   * the next run); a batch item, a tiled run (each tile converges on its own) or a stopping one ends at once.
   */
  private converged(event: Extract<RenderEvent, { type: 'converged' }>): void {
    if (!this.start.holdAtConvergence || this.plan?.mode === 'tiled' || this.stopRequested || this.rebuildPending) return;
    this.held = true;
    this.controller.holdAtConvergence();
    this.reporter.converged(event.stop);
  }

  /** A stage (scale, tile, rebuilt segment) started: its weights, the resumed frame, and the run's first or rebuilt event. */
  private stageStarted(event: Extract<RenderEvent, { type: 'started' }>): void {
    this.reporter.iteration = event.iteration;
    if (this.checkpointFrame) {
      // The resumed stage's first event: the checkpoint's image has this stage's size.
      const { iteration, data } = this.checkpointFrame;
      this.checkpointFrame = null;
      if (data.length === 3 * event.width * event.height) this.recorder?.resumeFrom({ width: event.width, height: event.height, data }, iteration);
    }
    // Each scale starts from the settings' weights: changes made mid-run carry over.
    if (this.steered && this.graph && !this.rebuildPending && this.plan?.mode !== 'tiled') this.controller.setWeights(lossWeights(this.settings, this.graph));
    // And from the request's masks: masks painted mid-run carry over too (the scales of a tiled run's whole-image pass
    // as well; its tiles take them again as they are).
    if (this.masksChanged && this.masks && !this.rebuildPending) this.sendMasks(this.masks);
    if (!this.startedReported) {
      this.startedReported = true;
      // The output's size (a coarse scale or a tile is smaller).
      const { width, height } = this.outputPx ?? event;
      this.reporter.emit({ type: 'started', width, height, device: event.device, fallbackReason: event.fallbackReason });
    } else if (this.rebuildAnnounce) {
      this.reporter.emit({ type: 'rebuilt', reason: this.rebuildAnnounce, iteration: event.iteration });
      this.rebuildAnnounce = null;
    }
  }
}
