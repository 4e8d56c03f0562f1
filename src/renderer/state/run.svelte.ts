// The current run as the window shows it: status, progress, rate and ETA, loss history, latest preview, device.

import type { ErrorInfo, InterruptedRun, LossPoint, PreviewFrame, RenderPlanInfo, Result, RunEvent, RunRef, StartRunRequest, StopInfo, StudioApi } from '../../shared/api.js';
import type { StudioSettings } from '../../shared/studio-settings.js';
import { liveKey } from './settings.svelte.js';

/** 'converged': the picture stopped changing and the run waits there; Keep going continues it, a new run ends it. */
export type RunStatus = 'idle' | 'starting' | 'queued' | 'running' | 'paused' | 'stopping' | 'converged' | 'done' | 'stopped' | 'error';

/** Something that happened mid-run, drawn on the loss chart at its iteration. */
export interface RunMark {
  iteration: number;
  label: string;
}

export interface FinishedRun {
  runId: string;
  final: PreviewFrame;
  loss: LossPoint;
  iterations: number;
  stopped: boolean;
  device: string | null;
  settings: StudioSettings;
}

const ACTIVE: readonly RunStatus[] = ['starting', 'queued', 'running', 'paused', 'stopping'];
/** Weight of the newest sample in the smoothed ms/iteration (L-BFGS iterations vary with their line searches). */
const RATE_SMOOTHING = 0.3;

export async function decodeFrame(frame: PreviewFrame): Promise<ImageBitmap> {
  return createImageBitmap(new Blob([frame.jpeg.slice()], { type: 'image/jpeg' }));
}

export class RunState {
  runId = $state<string | null>(null);
  /** The run shown is one from an earlier session (History): shown again, but the host has nothing of it to export. */
  pastOnly = $state(false);
  status = $state<RunStatus>('idle');
  queuePosition = $state(0);
  iteration = $state(0);
  iterations = $state(0);
  msPerIteration = $state<number | null>(null);
  width = $state(0);
  height = $state(0);
  device = $state<string | null>(null);
  fallbackReason = $state<string | null>(null);
  notice = $state<string | null>(null);
  /** What memory made the run do (a smaller size, tiles, an out-of-memory retry), one line each. */
  notices = $state.raw<string[]>([]);
  /** How the run renders, once the worker has planned it. */
  plan = $state.raw<RenderPlanInfo | null>(null);
  /** Whether layer and weight changes reach the running job (not for tiled runs), and why not. */
  steerable = $state(true);
  steerReason = $state<string | null>(null);
  error = $state<ErrorInfo | null>(null);
  /** Why the run ended, or why it waits (converged), in a sentence; null while it runs. */
  stopInfo = $state.raw<StopInfo | null>(null);
  /** One point per reported iteration; replaced whole on each event (uPlot takes fresh arrays anyway). */
  losses = $state.raw<LossPoint[]>([]);
  marks = $state.raw<RunMark[]>([]);
  /** The latest preview, decoded; the previous one is closed when a newer one arrives. */
  frame = $state.raw<ImageBitmap | null>(null);
  frameCount = $state(0);

  active = $derived(ACTIVE.includes(this.status));
  iterationsPerSecond = $derived(this.msPerIteration ? 1000 / this.msPerIteration : null);
  etaSeconds = $derived(
    this.msPerIteration && this.iterations > 0 && this.status === 'running'
      ? ((this.iterations - this.iteration) * this.msPerIteration) / 1000
      : null,
  );

  private settings: StudioSettings | null = null;
  private sentLiveKey = '';
  /** Changes made while startRun was still answering; sent as soon as the run has an id. */
  private heldSettings: StudioSettings | null = null;
  private frameSeq = 0;
  /** Events that arrive before startRun has answered with the run's id. */
  private early: RunEvent[] = [];
  private readonly unsubscribe: () => void;

  constructor(
    private readonly api: StudioApi,
    private readonly onFinished: (run: FinishedRun) => void,
  ) {
    this.unsubscribe = api.onRunEvent((event) => this.handle(event));
  }

  dispose(): void {
    this.unsubscribe();
    this.frame?.close();
  }

  async start(request: StartRunRequest): Promise<void> {
    await this.begin(request.settings, () => this.api.startRun(request));
  }

  /** Continues a run an earlier session left unfinished (its checkpoint); its iterations count on from there. */
  async resumeInterrupted(interrupted: InterruptedRun): Promise<void> {
    await this.begin(interrupted.settings, () => this.api.resumeInterruptedRun({ runId: interrupted.runId }));
    if (this.runId) this.marks = [{ iteration: interrupted.iteration, label: 'resumed' }];
  }

  private async begin(settings: StudioSettings, call: () => Promise<Result<RunRef>>): Promise<void> {
    if (this.active) return;
    this.reset();
    this.status = 'starting';
    this.settings = settings;
    this.sentLiveKey = liveKey(settings);
    this.iterations = settings.iterations;
    const result = await call();
    if (!result.ok) {
      this.status = 'error';
      this.error = result.error;
      return;
    }
    this.runId = result.value.runId;
    const early = this.early.filter((e) => e.runId === this.runId);
    this.early = [];
    for (const event of early) this.handle(event);
    const held = this.heldSettings;
    this.heldSettings = null;
    if (held) this.steer(held);
  }

  async pause(): Promise<void> {
    if (this.runId && this.status === 'running') this.check(await this.api.pauseRun({ runId: this.runId }));
  }

  async resume(): Promise<void> {
    if (this.runId && this.status === 'paused') this.check(await this.api.resumeRun({ runId: this.runId }));
  }

  /** A converged run goes on, the same run, to its iterations (its chart and count continue). */
  async keepGoing(): Promise<void> {
    if (this.runId && this.status === 'converged') this.check(await this.api.resumeRun({ runId: this.runId }));
  }

  /**
   * Shows a run from the history as the window's run while none is active: its image in the preview (at the run's
   * size; after a reload the stored copy is smaller), and Export and Export video for it. Its loss curve is not kept.
   */
  async showPast(past: { runId: string; width: number; height: number; iterations: number; stopped: boolean; jpeg: Uint8Array; earlierSession: boolean }): Promise<void> {
    if (this.active) return;
    // The frame counter goes on (it tells a fresh picture from the last), though the rest starts over.
    const shown = this.frameCount;
    this.reset();
    this.runId = past.runId;
    this.pastOnly = past.earlierSession;
    this.status = past.stopped ? 'stopped' : 'done';
    this.width = past.width;
    this.height = past.height;
    this.iterations = past.iterations;
    this.iteration = past.iterations;
    const seq = ++this.frameSeq;
    const blob = new Blob([past.jpeg.slice()], { type: 'image/jpeg' });
    const bitmap = await createImageBitmap(blob, { resizeWidth: past.width, resizeHeight: past.height, resizeQuality: 'high' }).catch(() => null);
    if (!bitmap) {
      this.notice = 'The image of that run could not be shown.';
      return;
    }
    if (seq !== this.frameSeq || this.runId !== past.runId) {
      bitmap.close();
      return;
    }
    this.frame?.close();
    this.frame = bitmap;
    this.frameCount = shown + 1;
  }

  async stop(): Promise<void> {
    if (!this.runId || !this.active) return;
    this.status = 'stopping';
    this.check(await this.api.stopRun({ runId: this.runId }));
  }

  /** Sends the layer toggles and weights to the running job when they differ from what it last had. */
  steer(settings: StudioSettings): void {
    // A tiled run keeps its targets and balance: the changes wait for the next run (the panel says so).
    if (!this.steerable) return;
    if (this.status === 'starting') this.heldSettings = settings;
    if (!this.runId || !['running', 'paused', 'queued'].includes(this.status)) return;
    const key = liveKey(settings);
    if (key === this.sentLiveKey) return;
    this.sentLiveKey = key;
    this.settings = settings;
    this.marks = [...this.marks, { iteration: this.iteration, label: 'settings changed' }];
    void this.api.updateRunSettings({ runId: this.runId, settings }).then((r) => this.check(r));
  }

  dismissError(): void {
    this.error = null;
  }

  private check(result: { ok: true } | { ok: false; error: ErrorInfo }): void {
    if (!result.ok) this.error = result.error;
  }

  private reset(): void {
    this.runId = null;
    this.pastOnly = false;
    this.error = null;
    this.stopInfo = null;
    this.notice = null;
    this.notices = [];
    this.plan = null;
    this.steerable = true;
    this.steerReason = null;
    this.iteration = 0;
    this.msPerIteration = null;
    this.losses = [];
    this.marks = [];
    this.device = null;
    this.fallbackReason = null;
    this.frame?.close();
    this.frame = null;
    this.frameCount = 0;
    this.early = [];
    this.heldSettings = null;
  }

  private handle(event: RunEvent): void {
    if (this.runId === null) {
      if (this.status === 'starting') this.early.push(event);
      return;
    }
    if (event.runId !== this.runId) return;
    switch (event.type) {
      case 'queued':
        this.status = 'queued';
        this.queuePosition = event.position;
        break;
      case 'started':
        if (this.status !== 'stopping') this.status = 'running';
        this.width = event.width;
        this.height = event.height;
        this.device = event.device;
        this.fallbackReason = event.fallbackReason;
        break;
      case 'progress': {
        if (this.status === 'queued' || this.status === 'starting') this.status = 'running';
        this.iteration = event.loss.iteration;
        this.iterations = event.iterations;
        this.msPerIteration =
          this.msPerIteration === null
            ? event.msPerIteration
            : this.msPerIteration + RATE_SMOOTHING * (event.msPerIteration - this.msPerIteration);
        this.losses = [...this.losses, event.loss];
        if (event.preview) this.showFrame(event.preview);
        break;
      }
      case 'plan':
        // A second plan is an out-of-memory retry: the run starts over, and so does its chart.
        if (this.plan !== null) {
          this.losses = [];
          this.marks = [];
          this.iteration = 0;
        }
        this.plan = event.plan;
        this.iterations = event.iterations;
        this.steerable = event.steerable;
        this.steerReason = event.reason;
        break;
      case 'notice':
        this.notices = [...this.notices, event.message];
        break;
      case 'rebuilt':
        this.notice = `Rebuilt the network at iteration ${event.iteration}: ${event.reason}`;
        this.marks = [...this.marks, { iteration: event.iteration, label: 'rebuilt' }];
        break;
      case 'paused':
        this.status = 'paused';
        this.iteration = event.iteration;
        break;
      case 'resumed':
        this.status = 'running';
        this.iteration = event.iteration;
        this.stopInfo = null;
        break;
      case 'converged':
        // The picture is done: it goes into the history now; Keep going makes a longer one.
        this.status = 'converged';
        this.iteration = event.iteration;
        this.stopInfo = event.stop;
        this.marks = [...this.marks, { iteration: event.iteration, label: 'converged' }];
        this.showFrame(event.final);
        this.onFinished({ runId: event.runId, final: event.final, loss: event.loss, iterations: event.iteration, stopped: false, device: this.device, settings: this.settings! });
        break;
      case 'done': {
        const recorded = this.status === 'converged';
        this.status = event.stopped ? 'stopped' : 'done';
        this.stopInfo = event.stop;
        this.iteration = event.iterations;
        if (this.losses.at(-1)?.iteration !== event.loss.iteration) this.losses = [...this.losses, event.loss];
        this.showFrame(event.final);
        // A run finished where it waited at convergence is in the history already.
        if (recorded) break;
        this.onFinished({
          runId: event.runId,
          final: event.final,
          loss: event.loss,
          iterations: event.iterations,
          stopped: event.stopped,
          device: this.device,
          settings: this.settings!,
        });
        break;
      }
      case 'error':
        this.status = 'error';
        this.error = event.error;
        break;
    }
  }

  private showFrame(frame: PreviewFrame): void {
    const seq = ++this.frameSeq;
    const runId = this.runId;
    decodeFrame(frame).then(
      (bitmap) => {
        // A slower decode of an older frame, or a frame of a run since replaced, must not overwrite a newer one.
        if (seq !== this.frameSeq || runId !== this.runId) {
          bitmap.close();
          return;
        }
        this.frame?.close();
        this.frame = bitmap;
        this.frameCount++;
      },
      () => {
        this.notice = 'A preview frame could not be decoded; the next one will replace it.';
      },
    );
  }
}
