// The current run as the window shows it: status, progress, rate and ETA, loss history, latest preview, device.

import type { ErrorInfo, ImageInput, InterruptedRun, LossPoint, MaskSet, PreviewFrame, RenderPlanInfo, Result, RunEvent, RunRef, StartRunRequest, StopInfo, StudioApi } from '../../shared/api.js';
import type { StudioSettings } from '../../shared/studio-settings.js';
import { Debouncer } from '../lib/debouncer.js';
import type { MaskState } from './masks.svelte.js';
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
  /** The masks it painted with last (mid-run edits included); null: none. */
  masks: MaskSet | null;
}

/** Puts a photo in the window as its content (a resumed run's, brought back by the host). */
export type PhotoLoader = (photo: ImageInput) => Promise<void>;

/** Masks painted during a run reach it once the edits pause this long (each is a whole set of layers). */
export const MASK_STEER_DELAY_MS = 250;

/**
 * The editor shows a run's masks (a history entry's, a resumed run's): restored and turned on, or turned off for a
 * run without masks. Without a photo there is nothing to paint them over (MaskState.restore ignores them).
 */
export function showRunMasks(editor: MaskState, set: MaskSet | null, sentence: string): void {
  if (set) editor.restore(set, sentence);
  editor.enabled = set !== null;
}

/** Whether two byte arrays hold the same bytes (null: none). */
function sameBytes(a: Uint8Array | null, b: Uint8Array | null): boolean {
  return a && b ? a.length === b.length && a.every((v, i) => v === b[i]) : a === b;
}

/** Whether two mask sets are the same masks, byte for byte (null: none). */
function sameMasks(a: MaskSet | null, b: MaskSet | null): boolean {
  if (!a || !b) return a === b;
  const same = (x: Uint8Array | null, y: Uint8Array | null): boolean => (x && y ? x.length === y.length && x.every((v, i) => v === y[i]) : x === y);
  return a.width === b.width && a.height === b.height && a.styles.length === b.styles.length && a.styles.every((m, k) => same(m, b.styles[k]!)) && same(a.content, b.content);
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
  /** Whether layer and weight changes reach the running job (not for tiled runs), and why not. Masks reach every run. */
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
  /** The masks the run paints with (as started, or last sent), and which edit of the editor's they are. */
  private runMasks: MaskSet | null = null;
  private sentMasksKey = '';
  /** The last mask edit the host took: the masks before it and its chart mark, undone if the run refuses the edit. */
  private lastMaskEdit: { before: MaskSet | null; mark: RunMark } | null = null;
  private readonly maskSender = new Debouncer(MASK_STEER_DELAY_MS);

  constructor(
    private readonly api: StudioApi,
    private readonly onFinished: (run: FinishedRun) => void,
    /** The window's mask editor: a run starts with its masks, and edits made while it runs steer it. */
    private readonly masks: MaskState | null = null,
  ) {
    this.unsubscribe = api.onRunEvent((event) => this.handle(event));
  }

  dispose(): void {
    this.unsubscribe();
    this.maskSender.cancel();
    this.frame?.close();
  }

  /** Starts a run with the editor's masks (when they are on). */
  async start(request: StartRunRequest): Promise<void> {
    const masks = this.masks?.current() ?? null;
    const key = this.masksKey();
    await this.begin(request.settings, () => this.api.startRun(masks ? { ...request, masks } : request), masks, key);
  }

  /**
   * Continues a run an earlier session left unfinished (its checkpoint); its iterations count on from there. Its masks
   * come back from the checkpoint into the editor, over the photo they were painted over: the host sends it with them,
   * and `loadPhoto` puts it in the window when the window shows another photo or none.
   */
  async resumeInterrupted(interrupted: InterruptedRun, loadPhoto?: PhotoLoader): Promise<void> {
    let resumedMasks: MaskSet | null = null;
    await this.begin(
      interrupted.settings,
      async () => {
        const result = await this.api.resumeInterruptedRun({ runId: interrupted.runId });
        if (result.ok) {
          resumedMasks = result.value.masks ?? null;
          const photo = result.value.content;
          const editor = this.masks;
          if (editor && resumedMasks && photo && loadPhoto && !sameBytes(editor.photoBytes, photo.bytes)) {
            // Painted with the photo once it is in (MaskState.sync), as one undo step, masks on.
            editor.restoreWithPhoto(resumedMasks, photo.bytes, 'Masks of the resumed run restored.');
            await loadPhoto(photo);
          } else if (editor) showRunMasks(editor, resumedMasks, 'Masks of the resumed run restored.');
        }
        return result;
      },
      null,
      null,
    );
    if (this.runId) {
      this.marks = [{ iteration: interrupted.iteration, label: 'resumed' }];
      this.runMasks = resumedMasks;
    }
  }

  /** `masksKey`: which edit `masks` are (null: as the editor is once the run has its id, for a resumed run). */
  private async begin(settings: StudioSettings, call: () => Promise<Result<RunRef>>, masks: MaskSet | null, masksKey: string | null): Promise<void> {
    if (this.active) return;
    this.reset();
    this.status = 'starting';
    this.settings = settings;
    this.runMasks = masks;
    this.sentMasksKey = masksKey ?? '';
    this.sentLiveKey = liveKey(settings);
    this.iterations = settings.iterations;
    const result = await call();
    if (!result.ok) {
      this.status = 'error';
      this.error = result.error;
      return;
    }
    this.runId = result.value.runId;
    if (masksKey === null) this.sentMasksKey = this.masksKey();
    const early = this.early.filter((e) => e.runId === this.runId);
    this.early = [];
    for (const event of early) this.handle(event);
    const held = this.heldSettings;
    this.heldSettings = null;
    if (held) this.steer(held);
    // Edits made while startRun was answering.
    this.steerMasks();
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

  /**
   * Masks painted while the run goes reach it at its next iteration, once the edits pause (MASK_STEER_DELAY_MS): the
   * editor's current masks (null when turned off), marked on the chart. App calls it on every edit.
   */
  steerMasks(): void {
    if (!this.masks || this.masksKey() === this.sentMasksKey) return;
    if (!this.runId || !['running', 'paused', 'queued'].includes(this.status)) return;
    this.maskSender.schedule(() => this.sendMasks());
  }

  private sendMasks(): void {
    const key = this.masksKey();
    if (!this.runId || key === this.sentMasksKey || !['running', 'paused', 'queued'].includes(this.status)) return;
    const masks = this.masks?.current() ?? null;
    this.sentMasksKey = key;
    // An edit that leaves the run's masks as they are (a new photo's empty layers while masks are off) is not sent.
    if (sameMasks(masks, this.runMasks)) return;
    const { runId, iteration } = this;
    // Refused masks (one black everywhere: the banner says so) leave the run's as they were, and unmarked.
    void this.api.setRunMasks({ runId, masks }).then((r) => {
      this.check(r);
      if (!r.ok || this.runId !== runId) return;
      const mark = { iteration, label: 'masks changed' };
      this.lastMaskEdit = { before: this.runMasks, mark };
      this.runMasks = masks;
      this.marks = [...this.marks, mark];
    });
  }

  /** Which edit of the editor's masks is current: its version, and whether they are on at all. */
  private masksKey(): string {
    return this.masks ? `${this.masks.enabled && this.masks.hasPhoto}:${this.masks.version}` : '';
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
    this.maskSender.cancel();
    this.lastMaskEdit = null;
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
      case 'masksRefused': {
        // The run goes on with the masks it had: the history records those, and the chart loses the edit's mark.
        const edit = this.lastMaskEdit;
        this.lastMaskEdit = null;
        if (edit) {
          this.runMasks = edit.before;
          this.marks = this.marks.filter((m) => m !== edit.mark);
        }
        this.notices = [...this.notices, `The mask edit was not used (iteration ${event.iteration}): ${event.message} The run goes on with its masks as they were.`];
        break;
      }
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
        // Kept going after converging: masks painted while it waited there (it took none) reach it now.
        this.steerMasks();
        break;
      case 'converged':
        // The picture is done: it goes into the history now; Keep going makes a longer one.
        this.status = 'converged';
        this.iteration = event.iteration;
        this.stopInfo = event.stop;
        this.marks = [...this.marks, { iteration: event.iteration, label: 'converged' }];
        this.showFrame(event.final);
        this.onFinished({ runId: event.runId, final: event.final, loss: event.loss, iterations: event.iteration, stopped: false, device: this.device, settings: this.settings!, masks: this.runMasks });
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
          masks: this.runMasks,
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
