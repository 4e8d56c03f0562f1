// The run queue: runs validated requests one at a time (in the job worker, through its WorkerHost), steers them,
// publishes their events and keeps their images for export; interrupted runs are listed and queued again from their
// checkpoints (interrupted-runs.ts). Pure Node (no Electron): the main process, the browser host and the tests use it.

import { randomBytes } from 'node:crypto';
import type { ErrorInfo, InterruptedRun, ResumedRun, Result, RunEvent, RunRef, SetRunMasksRequest, StartRunRequest, UpdateRunSettingsRequest } from '../../shared/api.js';
import { fail, ok } from '../../shared/result.js';
import { RUNS_KEPT } from '../../shared/studio-settings.js';
import { applyMidRunChanges } from '../worker/run-settings.js';
import { checkRunMasks } from '../worker/run-masks.js';
import { timelapseSpool } from './video-service.js';
import { isNstError, removeRun, type PlanarImage } from '../../engine/index.js';
import { findInterruptedRuns, loadInterruptedRun, type ResumableRun } from './interrupted-runs.js';
import { WorkerHost, type WorkerLocation } from './worker-host.js';

export type { WorkerLocation } from './worker-host.js';

/** Where the VGG19 weights are, asked at each run start (so weights installed meanwhile need no restart). */
export type WeightsResolver = () => Promise<{ path: string } | { path: null; help: string }>;

export interface RunServiceOptions {
  worker: WorkerLocation;
  weights: WeightsResolver;
  /** Previews at most this often; default 250 ms (4 a second). The first and last progress always carry one. */
  previewIntervalMs?: number;
  /** onnxruntime CPU threads per run; 0 (default) = all cores. */
  threads?: number;
  /** How many finished runs keep their image for export (newest first); default 20. */
  keepImages?: number;
  /** An idle worker (weights loaded) is kept this long for the next run, then ended; default 5 minutes. */
  idleWorkerMs?: number;
  /** How long an export of a running run waits for the worker's current image; default 15 s. */
  snapshotTimeoutMs?: number;
  /** How long dispose() lets a running run finish its iteration before terminating the worker; default 30 s. */
  shutdownTimeoutMs?: number;
  /**
   * Timelapse spools: runs that record one (the request's `timelapse`, on by default) spool frames into
   * runFramesDir(root, runId) for VideoService; the `keep` newest spools are kept. Absent: no run records frames.
   */
  frames?: { root: string; keep?: number };
  /**
   * Checkpoints: every run saves its state to <root>/runs/<runId>/ every `everyMs` (default 60 s), deletes it when
   * it finishes or is stopped, and keeps it when the app or the worker dies, for resumeInterruptedRun. Absent: none.
   */
  checkpoints?: { root: string; everyMs?: number };
}

/**
 * Runs that may wait behind the one running: each holds its request (images up to MAX_IMAGE_BYTES apiece) until it
 * starts, so an unbounded queue is unbounded memory. More than anyone queues by hand.
 */
export const MAX_QUEUED_RUNS = 8;

/** Checkpoint interval of studio runs unless the service is told otherwise. */
export const DEFAULT_CHECKPOINT_EVERY_MS = 60_000;

export type RunQueueState = 'queued' | 'running' | 'finished' | 'failed';

export interface RunInfo {
  runId: string;
  state: RunQueueState;
}

interface RunRecord {
  runId: string;
  state: RunQueueState;
  /** Held while queued; dropped once the worker has its copy. */
  request: StartRunRequest | null;
  /** Its style images (masks sent mid-run are checked against them). */
  styleCount: number;
  weightsPath: string;
  pauseOnStart: boolean;
  /** The queue position last announced, so a 'queued' event goes out only when it changes. */
  announcedPosition: number | null;
  /** The finished image (for export), until evicted by newer runs. */
  image: PlanarImage | null;
  imageEvicted: boolean;
  /** A resumed run's checkpoint, until the worker has its copy. */
  resume: ResumableRun['checkpoint'] | null;
  /** Whether the run checkpoints (when the service keeps checkpoints at all). */
  checkpoint: boolean;
  /** Whether the run waits at convergence for "keep going" (a watched run), and whether it is waiting now. */
  hold: boolean;
  held: boolean;
}

export class RunService {
  private readonly runs = new Map<string, RunRecord>();
  private readonly queue: RunRecord[] = [];
  private readonly listeners = new Set<(event: RunEvent) => void>();
  private readonly finishedWithImages: RunRecord[] = [];
  private readonly worker: WorkerHost;
  private current: RunRecord | null = null;
  private sequence = 0;
  private disposed = false;
  private readonly previewIntervalMs: number;
  private readonly threads: number;
  private readonly keepImages: number;

  constructor(private readonly options: RunServiceOptions) {
    this.previewIntervalMs = options.previewIntervalMs ?? 250;
    this.threads = options.threads ?? 0;
    this.keepImages = options.keepImages ?? RUNS_KEPT;
    this.worker = new WorkerHost(
      {
        location: options.worker,
        idleWorkerMs: options.idleWorkerMs ?? 5 * 60_000,
        snapshotTimeoutMs: options.snapshotTimeoutMs ?? 15_000,
        shutdownTimeoutMs: options.shutdownTimeoutMs ?? 30_000,
      },
      {
        event: (event) => this.onWorkerEvent(event),
        result: (runId, image) => {
          const record = this.runs.get(runId);
          if (record) this.keepImage(record, image);
        },
        idle: (runId) => this.onWorkerIdle(runId),
        failed: (error) => this.failCurrent(error),
        gone: (error) => {
          this.failCurrent(error);
          this.pump();
        },
      },
    );
  }

  /**
   * Queues a run; its events follow (first 'queued', with how many runs are ahead of it).
   * `checkpoint: false`: this run leaves no checkpoint (a batch item: the batch resumes by item). `holdAtConvergence:
   * false`: a run whose picture stops changing ends there, instead of waiting ('converged') for resumeRun to keep going.
   * `queueLimit: false`: not refused when MAX_QUEUED_RUNS wait already (a batch's item: the batch queues one at a time).
   */
  async startRun(request: StartRunRequest, options: { checkpoint?: boolean; holdAtConvergence?: boolean; queueLimit?: boolean } = {}): Promise<Result<RunRef>> {
    if (this.disposed) return fail('UNAVAILABLE', 'The studio is shutting down; no new runs can start.');
    // Masks the engine would refuse (black everywhere) are refused here, before the run is queued.
    const masks = request.masks ? checkRunMasks(request.masks, request.styles.length) : null;
    if (masks && !masks.ok) return masks;
    const weights = await this.options.weights();
    if (weights.path === null) return fail('WEIGHTS_NOT_FOUND', weights.help);
    // Counted after the await, just before queueing: requests that arrive together must not all see room.
    if (options.queueLimit !== false && this.queue.length >= MAX_QUEUED_RUNS) return queueFull();
    const runId = `run-${++this.sequence}-${randomBytes(4).toString('hex')}`;
    const record: RunRecord = { runId, state: 'queued', request, styleCount: request.styles.length, weightsPath: weights.path, pauseOnStart: false, announcedPosition: null, image: null, imageEvicted: false, resume: null, checkpoint: options.checkpoint ?? true, hold: options.holdAtConvergence ?? true, held: false };
    this.enqueue(record);
    return ok({ runId });
  }

  /** Interrupted runs with a checkpoint in the data folder, newest first (not the ones this session is running). */
  async listInterruptedRuns(): Promise<Result<InterruptedRun[]>> {
    const root = this.options.checkpoints?.root;
    return ok(root ? await findInterruptedRuns(root, (runId) => this.isLive(runId)) : []);
  }

  /** Queues an interrupted run again, under its own id, from its checkpoint (api.ts, resumeInterruptedRun), with its masks. */
  async resumeInterruptedRun({ runId }: RunRef): Promise<Result<ResumedRun>> {
    if (this.disposed) return fail('UNAVAILABLE', 'The studio is shutting down; no new runs can start.');
    const root = this.options.checkpoints?.root;
    if (!root) return fail('NO_CHECKPOINTS', 'This studio keeps no checkpoints, so it has no run to resume.');
    if (this.isLive(runId)) return fail('ALREADY_RUNNING', `Run ${runId} is already ${this.runs.get(runId)!.state}.`);
    const resumed = await loadInterruptedRun(runId, root);
    if (!resumed.ok) return resumed;
    const weights = await this.options.weights();
    if (weights.path === null) return fail('WEIGHTS_NOT_FOUND', weights.help);
    // Asked again: a second resume of this run (another window, a double click) may have queued it meanwhile.
    if (this.isLive(runId)) return fail('ALREADY_RUNNING', `Run ${runId} is already ${this.runs.get(runId)!.state}.`);
    if (this.queue.length >= MAX_QUEUED_RUNS) return queueFull();
    const { request } = resumed.value;
    const record: RunRecord = { runId, state: 'queued', request, styleCount: request.styles.length, weightsPath: weights.path, pauseOnStart: false, announcedPosition: null, image: null, imageEvicted: false, resume: resumed.value.checkpoint, checkpoint: true, hold: true, held: false };
    this.enqueue(record);
    return ok({ runId, ...(request.masks ? { masks: request.masks, content: request.content } : {}) });
  }

  /**
   * Deletes an interrupted run's checkpoint: not one this session is running, nor one another live process owns
   * (RUN_IN_USE); a run whose lock cannot be read is taken over (the list offered it). Gone already: done.
   */
  async discardInterruptedRun({ runId }: RunRef): Promise<Result<null>> {
    if (this.isLive(runId)) return fail('ALREADY_RUNNING', `Run ${runId} is ${this.runs.get(runId)!.state}: stop it instead.`);
    const root = this.options.checkpoints?.root;
    if (!root) return ok(null);
    try {
      await removeRun(runId, { root, command: 'studio: discard', takeOver: 'unknown' });
    } catch (error) {
      if (isNstError(error) && error.code === 'FILE_NOT_FOUND') return ok(null);
      if (isNstError(error)) return fail(error.code, error.message);
      throw error;
    }
    return ok(null);
  }

  private isLive(runId: string): boolean {
    const state = this.runs.get(runId)?.state;
    return state === 'queued' || state === 'running';
  }

  private enqueue(record: RunRecord): void {
    const runId = record.runId;
    this.runs.set(runId, record);
    this.queue.push(record);
    // A run waiting at convergence gives way: it finishes, and this one can start.
    if (this.current?.held) this.worker.send({ type: 'stop', runId: this.current.runId });
    // After the caller has its runId (IPC replies go out first), announce the run and start it if it is next.
    setImmediate(() => {
      if (record.state !== 'queued' || this.disposed) return;
      this.announcePosition(record);
      this.pump();
    });
  }

  /** Pauses after the current iteration ('paused' event); a queued run starts paused. */
  async pauseRun(ref: RunRef): Promise<Result<null>> {
    return this.control(ref, (record) => {
      if (record.state === 'queued') record.pauseOnStart = true;
      else this.worker.send({ type: 'pause', runId: record.runId });
    });
  }

  async resumeRun(ref: RunRef): Promise<Result<null>> {
    return this.control(ref, (record) => {
      if (record.state === 'queued') record.pauseOnStart = false;
      else this.worker.send({ type: 'resume', runId: record.runId });
    });
  }

  /**
   * A running run stops after the current iteration and still ends with 'done' (stopped: true) and its image;
   * a queued one leaves the queue with an 'error' event of code CANCELED.
   */
  async stopRun(ref: RunRef): Promise<Result<null>> {
    return this.control(ref, (record) => {
      if (record.state === 'queued') {
        this.queue.splice(this.queue.indexOf(record), 1);
        record.state = 'failed';
        record.request = null;
        this.publish({ runId: record.runId, type: 'error', error: { code: 'CANCELED', message: 'The run was stopped before it started.' } });
        this.publishQueuePositions();
      } else this.worker.send({ type: 'stop', runId: record.runId });
    });
  }

  /**
   * Layer toggles and weights, style/content/TV weights: from the next iteration; a layer the current graph
   * lacks rebuilds it and continues from the current image ('rebuilt' event). Other fields are ignored.
   */
  async updateRunSettings({ runId, settings }: UpdateRunSettingsRequest): Promise<Result<null>> {
    return this.control({ runId }, (record) => {
      if (record.state === 'queued' && record.request) {
        record.request = { ...record.request, settings: applyMidRunChanges(record.request.settings, settings) };
      } else this.worker.send({ type: 'update', runId: record.runId, settings });
    });
  }

  /**
   * Masks painted mid-run: from the next iteration; masks of another kind than the run's rebuild its network and
   * continue from the current image ('rebuilt'); a tiled run takes them from the tile under way or the next. Refused
   * as at start (checkRunMasks); masks the run itself cannot use are refused later by a 'masksRefused' event.
   */
  async setRunMasks({ runId, masks }: SetRunMasksRequest): Promise<Result<null>> {
    const record = this.runs.get(runId);
    const checked = record && masks ? checkRunMasks(masks, record.styleCount) : null;
    if (checked && !checked.ok) return checked;
    return this.control({ runId }, (record) => {
      if (record.state === 'queued' && record.request) record.request = { ...record.request, masks };
      else this.worker.send({ type: 'masks', runId: record.runId, masks });
    });
  }

  /** The run's image: the final one once finished, else the current one from the worker. */
  async runImage(runId: string): Promise<Result<PlanarImage>> {
    const record = this.runs.get(runId);
    if (!record) return fail('UNKNOWN_RUN', `There is no run ${runId} in this session.`);
    if (record.image) return ok(record.image);
    if (record.imageEvicted) {
      return fail('IMAGE_RELEASED', `The image of ${runId} was released to save memory (the last ${this.keepImages} runs keep theirs).`);
    }
    if (record.state === 'queued') return fail('NO_IMAGE_YET', 'That run has not started yet, so it has no image to export.');
    if (record.state === 'running' && this.current === record) {
      const image = await this.worker.snapshot(record.runId);
      if (image) return ok(image);
      if (record.image) return ok(record.image);
      return fail('NO_IMAGE_YET', 'The run has not finished its first iteration yet; try again in a moment.');
    }
    return fail('NO_IMAGE', 'That run ended without an image (it failed or was stopped before starting).');
  }

  /** The run's state, or undefined for an id this session never issued. */
  runInfo(runId: string): RunInfo | undefined {
    const record = this.runs.get(runId);
    return record ? { runId, state: record.state } : undefined;
  }

  /** Subscribes to every run's events; returns the unsubscribe function. */
  onRunEvent(listener: (event: RunEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Ends the worker and forgets the queue; further calls answer UNAVAILABLE. A run in progress is stopped first, its
   * checkpoint kept so that the next session offers it (WorkerHost.dispose says why it is not simply terminated).
   */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    const running = this.current?.state === 'running' ? this.current.runId : null;
    this.queue.length = 0;
    this.current = null;
    this.listeners.clear();
    await this.worker.dispose(running);
  }

  private async control({ runId }: RunRef, act: (record: RunRecord) => void): Promise<Result<null>> {
    const record = this.runs.get(runId);
    if (!record) return fail('UNKNOWN_RUN', `There is no run ${runId} in this session.`);
    // Controls racing a run's end (Stop pressed as it finishes) are harmless no-ops, not errors.
    if (record.state === 'finished' || record.state === 'failed') return ok(null);
    act(record);
    return ok(null);
  }

  private positionOf(record: RunRecord): number {
    return this.queue.indexOf(record) + (this.current ? 1 : 0);
  }

  private announcePosition(record: RunRecord): void {
    const position = this.positionOf(record);
    if (position === record.announcedPosition) return;
    record.announcedPosition = position;
    this.publish({ runId: record.runId, type: 'queued', position });
  }

  /** Runs still waiting hear their new place when the queue moves. */
  private publishQueuePositions(): void {
    for (const record of this.queue) this.announcePosition(record);
  }

  private publish(event: RunEvent): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch (error) {
        // One failing subscriber (a closed window, a dead socket) must not starve the others.
        console.error('[run-service] a run event listener threw:', error);
      }
    }
  }

  private pump(): void {
    if (this.disposed || this.current) return;
    const record = this.queue.shift();
    if (!record) {
      this.worker.rest();
      return;
    }
    const request = record.request!;
    record.request = null;
    record.state = 'running';
    this.current = record;
    this.publishQueuePositions();
    const started = this.worker.start({
      type: 'start',
      runId: record.runId,
      request,
      frames: this.options.frames ? timelapseSpool(this.options.frames, record.runId, request.timelapse, this.options.checkpoints?.root ?? null) : null,
      weightsPath: record.weightsPath,
      previewIntervalMs: this.previewIntervalMs,
      threads: this.threads,
      paused: record.pauseOnStart,
      holdAtConvergence: record.hold,
      checkpoint: this.options.checkpoints && record.checkpoint ? { root: this.options.checkpoints.root, everyMs: this.options.checkpoints.everyMs ?? DEFAULT_CHECKPOINT_EVERY_MS } : null,
      resume: record.resume,
    });
    record.resume = null;
    // Not started: that run failed (the host said why); the next one tries a fresh worker.
    if (!started) setImmediate(() => this.pump());
  }

  private onWorkerEvent(event: RunEvent): void {
    const record = this.runs.get(event.runId);
    if (!record || record !== this.current) return;
    if (event.type === 'done') record.state = 'finished';
    if (event.type === 'error') record.state = 'failed';
    if (event.type === 'converged') {
      record.held = true;
      if (this.queue.length > 0) this.worker.send({ type: 'stop', runId: record.runId });
    }
    if (event.type === 'resumed' || event.type === 'done') record.held = false;
    this.publish(event);
  }

  private onWorkerIdle(runId: string): void {
    const record = this.runs.get(runId);
    if (record && record === this.current) {
      // A run that ended without 'done' or 'error' (should not happen) still ends, visibly.
      if (record.state === 'running') this.failCurrent({ code: 'INTERNAL', message: 'The run ended without a result.' });
      this.current = null;
    }
    this.pump();
  }

  private failCurrent(error: ErrorInfo): void {
    const record = this.current;
    if (!record) return;
    this.current = null;
    if (record.state === 'running') {
      record.state = 'failed';
      this.publish({ runId: record.runId, type: 'error', error });
    }
  }

  private keepImage(record: RunRecord, image: PlanarImage): void {
    record.image = image;
    this.finishedWithImages.push(record);
    while (this.finishedWithImages.length > this.keepImages) {
      const old = this.finishedWithImages.shift()!;
      old.image = null;
      old.imageEvicted = true;
    }
  }
}

function queueFull(): Result<never> {
  return fail('QUEUE_FULL', `${MAX_QUEUED_RUNS} runs are waiting already: start this one when one of them has started, or stop one.`);
}
