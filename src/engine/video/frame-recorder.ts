// Fills a frame spool from a run's events: every N iterations, always the first and the last frame, each frame with
// the loss of exactly its own image; writing runs behind the run, with a bounded backlog.

import type { PlanarImage } from '../io/image.js';
import type { RenderEvent, RunResult } from '../render/run.js';
import type { FrameEntry } from './frame-index.js';
import type { FrameSpool } from './frames.js';

/** Frames a recorder holds captured but not yet on disk before it skips intermediate ones (FrameRecorderOptions). */
export const DEFAULT_FRAME_BACKLOG = 4;

export interface FrameRecorderOptions {
  /**
   * Applied to every frame before it is spooled, in order (e.g. resize a coarse scale's frame to the output size,
   * keep the photo's colours). Frames of one spool must all have one size.
   */
  prepare?: (image: PlanarImage) => PlanarImage | Promise<PlanarImage>;
  /**
   * At most this many frames are held captured but not yet on disk (each holds its float image until then); an
   * intermediate frame captured while that many are waiting is skipped. Default DEFAULT_FRAME_BACKLOG.
   */
  maxBacklog?: number;
}

/**
 * Fills a spool from a run: give it the start image, pass it every run event, then the result. The run reports
 * an iteration's loss at the start of the next one, so each frame's loss is filled in one event later (and the
 * last frame's from the result): the caption then shows the loss of exactly the image on screen.
 * Set the run's `imageEvery` to `recorder.imageEvery` (or 1) so progress events carry the frames it wants.
 * Frames are written behind the run; should writing fall `maxBacklog` frames behind, intermediate frames are skipped
 * rather than held (memory stays bounded, and checkpoints, which wait for the queued frames, are not held up).
 */
export class FrameRecorder {
  private chain: Promise<void> = Promise.resolve();
  private error: unknown = null;
  /** Frames go in iteration order: a resumed spool holds those up to its checkpoint already. */
  private lastCaptured: number;
  /** Frames queued and not yet on disk (nor failed). */
  private backlog = 0;
  private skipped = 0;
  private readonly maxBacklog: number;

  constructor(
    readonly spool: FrameSpool,
    private readonly options: FrameRecorderOptions = {},
  ) {
    this.lastCaptured = spool.frames.at(-1)?.iteration ?? -1;
    const maxBacklog = options.maxBacklog ?? DEFAULT_FRAME_BACKLOG;
    if (!Number.isSafeInteger(maxBacklog) || maxBacklog < 1) throw new RangeError(`maxBacklog must be a whole number of at least 1, got ${String(maxBacklog)}.`);
    this.maxBacklog = maxBacklog;
  }

  /** Intermediate frames skipped because writing had fallen maxBacklog frames behind. */
  get dropped(): number {
    return this.skipped;
  }

  get imageEvery(): number {
    return this.spool.frameEvery;
  }

  /** The image before the first step (iteration 0), and optionally the content image for side-by-side. */
  start(startImage: PlanarImage, content?: PlanarImage): void {
    this.capture(startImage, 0, null);
    if (content && !this.spool.hasContent) this.then(() => this.spool.setContent(content));
  }

  /**
   * A resumed run's checkpoint image, taken after `iteration` steps: spooled when a frame belongs there and the
   * interrupted process did not get to write it (its loss comes with the next progress event, as usual).
   */
  resumeFrom(image: PlanarImage, iteration: number): void {
    if (this.spool.wants(iteration, false)) this.capture(image, iteration, null);
  }

  /** A render event (iterations counted across the render's scales and tiles: its last is the render's last). */
  onEvent(event: RenderEvent): void {
    if (event.type !== 'progress') return;
    const { iteration, iterations } = event;
    // This event's loss is that of the image after iteration - 1 steps.
    const loss = event.loss.total;
    this.then(() => this.spool.setLoss(iteration - 1, loss));
    const isLast = iteration === iterations;
    if (event.image && this.spool.wants(iteration, isLast)) this.capture(event.image, iteration, null, !isLast);
  }

  /** Adds the final image unless it was captured already (a stop or convergence ends a run early), then flushes. */
  async finish(result: RunResult): Promise<readonly FrameEntry[]> {
    if (this.lastCaptured === result.iterations) {
      const loss = result.finalLoss.total;
      this.then(() => this.spool.setLoss(result.iterations, loss));
    } else {
      this.capture(result.image, result.iterations, result.finalLoss.total);
    }
    return this.close();
  }

  /**
   * Resolves once every frame captured so far is on disk, or the spool has failed; never rejects. A run's checkpoint
   * waits for it, so a resumed run finds every frame up to its checkpoint's iteration (it could not make them up).
   */
  async settled(): Promise<void> {
    await this.chain;
    await this.spool.flush().catch(() => undefined);
  }

  /**
   * Writes what is queued, without a final frame: the run is not over (the app is quitting and it will be
   * resumed into this spool).
   */
  async close(): Promise<readonly FrameEntry[]> {
    await this.chain;
    await this.spool.flush();
    if (this.error) throw this.error;
    return this.spool.frames;
  }

  /**
   * Queues a frame. Only an intermediate frame may be skipped, and only when it is captured: a frame once queued is
   * never skipped, so settled() (a checkpoint) covers every frame queued before it, and the first and last frames,
   * the checkpoint frame of a resumed run and the final one are always there. A skipped frame leaves a gap in the
   * sequence (still in iteration order, as FrameSpool.resume needs), and lastCaptured stays, so finish() adds the
   * final image if the last capture was the one skipped.
   */
  private capture(image: PlanarImage, iteration: number, loss: number | null, mayDrop = false): void {
    if (iteration <= this.lastCaptured) return;
    if (mayDrop && this.backlog >= this.maxBacklog) {
      this.skipped++;
      return;
    }
    this.lastCaptured = iteration;
    this.backlog++;
    const prepare = this.options.prepare;
    this.then(
      async () => this.spool.add(prepare ? await prepare(image) : image, iteration, loss),
      () => this.backlog--,
    );
  }

  /**
   * Steps run one after another, so frames land in order even when `prepare` is async; the first error is kept (later
   * steps are skipped). `settle` runs once the step is over, skipped or not.
   */
  private then(step: () => Promise<void>, settle?: () => void): void {
    this.chain = this.chain.then(async () => {
      try {
        if (!this.error) await step();
      } catch (error) {
        this.error = error;
      } finally {
        settle?.();
      }
    });
  }
}
