// Turns a render's engine events into the studio's run events: in order, with previews at most every
// previewIntervalMs, images shown at the output's size; keeps the latest image for exports and the iteration reached.

import { describeStop, encodeImage, type LossBreakdown, type PlanarImage, type RenderEvent, type StopReason } from '../../engine/index.js';
import type { ErrorInfo, LossPoint, PreviewFrame, RunEvent, StopInfo } from '../../shared/api.js';
import type { WorkerToParent } from './messages.js';
import { errorInfo as serviceErrorInfo } from '../services/error-info.js';

const PREVIEW_QUALITY = 85;
const FINAL_QUALITY = 92;

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** A run event before the reporter stamps its run id on it. */
export type StudioEvent = DistributiveOmit<RunEvent, 'runId'>;
type Outgoing = { message: WorkerToParent; transfer?: ArrayBuffer[] };

export class RunReporter {
  /** The image a snapshot or export would show now (engine-sized; `present` brings it to the output's). */
  latest: PlanarImage | null = null;
  /** The render's iteration as the engine last reported it (events count across scales, tiles and segments). */
  iteration = 0;
  /** The loss the engine last reported (what a 'converged' event shows). */
  private lastLoss: LossBreakdown | null = null;
  /** The image as the user sees it: at the output's size, in the photo's colours when asked. */
  present: (image: PlanarImage) => Promise<PlanarImage> = async (image) => image;
  /** A tiled run's canvas after its latest tile, waiting to go out as the next preview (tiles attach no images). */
  private canvas: PlanarImage | null = null;
  private lastPreviewAt = -Infinity;
  private previewsSent = 0;
  private pausedReported = false;
  /** Events leave in order even though preview encoding is async. */
  private outbox: Promise<void> = Promise.resolve();

  constructor(
    private readonly runId: string,
    private readonly previewIntervalMs: number,
    private readonly post: (message: WorkerToParent, transfer?: ArrayBuffer[]) => void,
  ) {}

  emit(event: StudioEvent): void {
    const message: WorkerToParent = { type: 'event', event: { ...event, runId: this.runId } as RunEvent };
    this.send(() => ({ message }));
  }

  fail(error: unknown): void {
    this.emit({ type: 'error', error: errorInfo(error) });
  }

  /** Resolves when everything sent so far has been posted. */
  flush(): Promise<void> {
    return this.outbox;
  }

  /** A tile was blended in: its canvas is the picture now, and goes out with the next progress event. */
  tileDone(canvas: PlanarImage): void {
    this.latest = canvas;
    this.canvas = canvas;
  }

  /** Pauses and resumes, reported once each however many stages pass them on. */
  paused(event: Extract<RenderEvent, { type: 'paused' | 'resumed' }>): void {
    if ((event.type === 'paused') === this.pausedReported) return;
    this.pausedReported = event.type === 'paused';
    this.emit({ type: event.type, iteration: event.iteration });
  }

  /** A progress event: its loss, and a preview when one is due (the first, the last, then at most every interval). */
  progress(event: Extract<RenderEvent, { type: 'progress' }>): void {
    if (event.image) this.latest = event.image;
    this.iteration = event.iteration;
    this.lastLoss = event.loss;
    const image = event.image ?? this.canvas ?? undefined;
    const now = performance.now();
    const wantPreview = image !== undefined && (this.previewsSent === 0 || event.iteration >= event.iterations || now - this.lastPreviewAt >= this.previewIntervalMs);
    if (wantPreview) {
      this.lastPreviewAt = now;
      this.previewsSent++;
      this.canvas = null;
    }
    const loss = lossPoint(event.iteration, event.loss);
    const { iterations, ms } = event;
    this.send(async () => {
      const preview = wantPreview && image ? await this.present(image).then((shown) => encodeFrame(shown, PREVIEW_QUALITY)).catch(() => null) : null;
      return {
        message: { type: 'event', event: { runId: this.runId, type: 'progress', loss, iterations, msPerIteration: ms, preview } },
        transfer: preview ? [preview.jpeg.buffer as ArrayBuffer] : [],
      };
    });
  }

  /** The finished run: its full-precision image first (the service keeps it for export), then 'done' with a JPEG of it. */
  done(image: PlanarImage, finalLoss: LossBreakdown, stopped: boolean, reason: StopReason): void {
    const iterations = this.iteration;
    const loss = lossPoint(iterations, finalLoss);
    const stop = stopInfo(reason);
    this.latest = image;
    this.send(async () => {
      const final = await encodeFrame(image, FINAL_QUALITY);
      this.post({ type: 'result', runId: this.runId, image }, [image.data.buffer as ArrayBuffer]);
      this.latest = null;
      return { message: { type: 'event', event: { runId: this.runId, type: 'done', iterations, stopped, stop, final, loss } }, transfer: [final.jpeg.buffer as ArrayBuffer] };
    });
  }

  /** The run converged and waits there: the picture as it is now (the last progress event's), and why. */
  converged(reason: StopReason): void {
    const { latest: image, lastLoss } = this;
    if (!image || !lastLoss) throw new Error('The run converged before reporting an image.');
    const loss = lossPoint(reason.iteration, lastLoss);
    const stop = stopInfo(reason);
    this.send(async () => {
      const final = await encodeFrame(await this.present(image), FINAL_QUALITY);
      return { message: { type: 'event', event: { runId: this.runId, type: 'converged', iteration: reason.iteration, stop, final, loss } }, transfer: [final.jpeg.buffer as ArrayBuffer] };
    });
  }

  /** The current image at the output's size, as a copy of its own (for a snapshot reply), or null before the first. */
  async snapshot(): Promise<PlanarImage | null> {
    const latest = this.latest;
    if (!latest) return null;
    const shown = await this.present(latest);
    return { width: shown.width, height: shown.height, data: Float32Array.from(shown.data) };
  }

  private send(produce: () => Promise<Outgoing> | Outgoing): void {
    this.outbox = this.outbox
      .then(async () => {
        const { message, transfer } = await produce();
        this.post(message, transfer);
      })
      .catch((error: unknown) => this.post({ type: 'event', event: { runId: this.runId, type: 'error', error: errorInfo(error) } }));
  }
}

function lossPoint(iteration: number, loss: LossBreakdown): LossPoint {
  const point: LossPoint = { iteration, total: loss.total, style: { ...loss.style }, content: { ...loss.content }, tv: loss.tv };
  if (loss.weighted) point.weighted = { style: { ...loss.weighted.style }, content: { ...loss.weighted.content }, tv: loss.weighted.tv };
  return point;
}

function stopInfo(stop: StopReason): StopInfo {
  return { kind: stop.kind, iteration: stop.iteration, message: describeStop(stop) };
}

/** A JPEG of the image in a buffer of its own (sharp's may share a pool), so it can be transferred. */
async function encodeFrame(image: PlanarImage, quality: number): Promise<PreviewFrame> {
  const jpeg = await encodeImage(image, 'jpeg', { quality });
  return { width: image.width, height: image.height, jpeg: new Uint8Array(jpeg) };
}

/** Engine errors keep their code and sentence, file-system ones get theirs; anything else becomes INTERNAL. */
export function errorInfo(error: unknown): ErrorInfo {
  return serviceErrorInfo(error, { code: 'INTERNAL', message: (detail) => `The style transfer failed unexpectedly: ${detail}` });
}
