// The run queue: runs validated requests one at a time in a worker thread, publishes their events.
// Pure Node (no Electron): the Electron main process, the browser host and the tests all use it as is.

import { randomBytes } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import type { ErrorInfo, InterruptedRun, Result, RunEvent, RunRef, StartRunRequest, UpdateRunSettingsRequest } from '../../shared/api.js';
import { fail, ok } from '../../shared/result.js';
import { validateRequest, validateStudioSettings } from '../../shared/schemas.js';
import type { ParentToWorker, WorkerToParent } from '../worker/messages.js';
import { applyMidRunChanges } from '../worker/run-settings.js';
import { DEFAULT_VIDEO_SETTINGS } from '../../shared/studio-settings.js';
import { pruneRunFrames, runFramesDir } from './video-service.js';
import { checkNotRunning, listCheckpoints, removeCheckpoint, runOwner, type CheckpointManifest, type PlanarImage, type RenderState, isNstError } from '../../engine/index.js';
import { readStudioCheckpoint } from './interrupted-runs.js';

/**
 * Where the job worker's script is: a built `.js` file (Electron: out/main/job-worker.js; browser host:
 * out/server/job-worker.js), or a bootstrap that loads the TypeScript source (tests).
 */
export interface WorkerLocation {
  url: URL | string;
  /** Node options for the worker thread (e.g. a loader). */
  execArgv?: string[];
  /** Extra process.argv entries inside the worker. */
  argv?: string[];
}

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
  weightsPath: string;
  pauseOnStart: boolean;
  /** The queue position last announced, so a 'queued' event goes out only when it changes. */
  announcedPosition: number | null;
  /** The finished image (for export), until evicted by newer runs. */
  image: PlanarImage | null;
  imageEvicted: boolean;
  /** A resumed run's checkpoint, until the worker has its copy. */
  resume: { state: RenderState; manifest: CheckpointManifest } | null;
  /** Whether the run checkpoints (when the service keeps checkpoints at all). */
  checkpoint: boolean;
}

interface PendingSnapshot {
  runId: string;
  resolve: (image: PlanarImage | null) => void;
  timer: NodeJS.Timeout;
}

export class RunService {
  private readonly runs = new Map<string, RunRecord>();
  private readonly queue: RunRecord[] = [];
  private readonly listeners = new Set<(event: RunEvent) => void>();
  private readonly finishedWithImages: RunRecord[] = [];
  private readonly pendingSnapshots = new Map<number, PendingSnapshot>();
  private worker: Worker | null = null;
  private current: RunRecord | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  private sequence = 0;
  private snapshotSequence = 0;
  private disposed = false;
  private readonly previewIntervalMs: number;
  private readonly threads: number;
  private readonly keepImages: number;
  private readonly idleWorkerMs: number;
  private readonly snapshotTimeoutMs: number;
  private readonly shutdownTimeoutMs: number;

  constructor(private readonly options: RunServiceOptions) {
    this.previewIntervalMs = options.previewIntervalMs ?? 250;
    this.threads = options.threads ?? 0;
    this.keepImages = options.keepImages ?? 20;
    this.idleWorkerMs = options.idleWorkerMs ?? 5 * 60_000;
    this.snapshotTimeoutMs = options.snapshotTimeoutMs ?? 15_000;
    this.shutdownTimeoutMs = options.shutdownTimeoutMs ?? 30_000;
  }

  /**
   * Queues a run; its events follow (first 'queued', with how many runs are ahead of it).
   * `checkpoint: false`: this run leaves no checkpoint (a batch item: the batch resumes by item).
   */
  async startRun(request: StartRunRequest, options: { checkpoint?: boolean } = {}): Promise<Result<RunRef>> {
    if (this.disposed) return fail('UNAVAILABLE', 'The studio is shutting down; no new runs can start.');
    const weights = await this.options.weights();
    if (weights.path === null) return fail('WEIGHTS_NOT_FOUND', weights.help);
    const runId = `run-${++this.sequence}-${randomBytes(4).toString('hex')}`;
    const record: RunRecord = { runId, state: 'queued', request, weightsPath: weights.path, pauseOnStart: false, announcedPosition: null, image: null, imageEvicted: false, resume: null, checkpoint: options.checkpoint ?? true };
    this.enqueue(record);
    return ok({ runId });
  }

  /** Interrupted runs with a checkpoint in the data folder, newest first (not the ones this session is running). */
  async listInterruptedRuns(): Promise<Result<InterruptedRun[]>> {
    const root = this.options.checkpoints?.root;
    if (!root) return ok([]);
    const live = (runId: string): boolean => ['queued', 'running'].includes(this.runs.get(runId)?.state ?? '');
    const out: InterruptedRun[] = [];
    for (const { runId, manifest } of await listCheckpoints(root)) {
      const job = manifest?.job as { kind?: unknown; settings?: unknown; content?: { name?: unknown }; styles?: { name?: unknown }[] } | null | undefined;
      // Not the runs this session is running, nor those another live process (a second window's host) is.
      if (!manifest || job?.kind !== 'studio-run' || live(runId) || (await runOwner(runId, root)) !== null) continue;
      // Settings from disk reach the window only as valid settings; a run whose are not cannot be resumed anyway.
      const settings = validateStudioSettings(job.settings);
      if (!settings.ok) continue;
      out.push({
        runId,
        contentName: String(job.content?.name ?? ''),
        styleNames: (job.styles ?? []).map((s) => String(s?.name ?? '')),
        settings: settings.value,
        sizePx: settings.value.sizePx,
        iteration: manifest.progress.iteration,
        totalIterations: manifest.progress.totalIterations,
        savedAt: manifest.updatedAt,
      });
    }
    return ok(out);
  }

  /** Queues an interrupted run again, under its own id, from its checkpoint (see ResumeApi). */
  async resumeInterruptedRun({ runId }: RunRef): Promise<Result<RunRef>> {
    if (this.disposed) return fail('UNAVAILABLE', 'The studio is shutting down; no new runs can start.');
    const root = this.options.checkpoints?.root;
    if (!root) return fail('NO_CHECKPOINTS', 'This studio keeps no checkpoints, so it has no run to resume.');
    const existing = this.runs.get(runId);
    if (existing && (existing.state === 'queued' || existing.state === 'running')) return fail('ALREADY_RUNNING', `Run ${runId} is already ${existing.state}.`);
    let resumed: Awaited<ReturnType<typeof readStudioCheckpoint>>;
    try {
      await checkNotRunning(runId, root);
      resumed = await readStudioCheckpoint(runId, root);
    } catch (error) {
      return fail(isNstError(error) ? error.code : 'BAD_CHECKPOINT', errorText(error));
    }
    // What came from disk is checked as strictly as what comes from the window.
    const request = validateRequest('startRun', resumed.request);
    if (!request.ok) return fail('BAD_CHECKPOINT', `Run ${runId} cannot be resumed: its saved request is not valid (${request.error.message}).`);
    const weights = await this.options.weights();
    if (weights.path === null) return fail('WEIGHTS_NOT_FOUND', weights.help);
    const record: RunRecord = { runId, state: 'queued', request: request.value, weightsPath: weights.path, pauseOnStart: false, announcedPosition: null, image: null, imageEvicted: false, resume: resumed.checkpoint, checkpoint: true };
    this.enqueue(record);
    return ok({ runId });
  }

  /** Deletes an interrupted run's checkpoint (not one this session is running). */
  async discardInterruptedRun({ runId }: RunRef): Promise<Result<null>> {
    const root = this.options.checkpoints?.root;
    const record = this.runs.get(runId);
    if (record && (record.state === 'queued' || record.state === 'running')) return fail('ALREADY_RUNNING', `Run ${runId} is ${record.state}: stop it instead.`);
    if (root) await removeCheckpoint(runId, root);
    return ok(null);
  }

  private enqueue(record: RunRecord): void {
    const runId = record.runId;
    this.runs.set(runId, record);
    this.queue.push(record);
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
      else this.send({ type: 'pause', runId: record.runId });
    });
  }

  async resumeRun(ref: RunRef): Promise<Result<null>> {
    return this.control(ref, (record) => {
      if (record.state === 'queued') record.pauseOnStart = false;
      else this.send({ type: 'resume', runId: record.runId });
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
      } else this.send({ type: 'stop', runId: record.runId });
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
      } else this.send({ type: 'update', runId: record.runId, settings });
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
      const image = await this.snapshot(record);
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
   * Ends the worker and forgets the queue; further calls answer UNAVAILABLE. A run in progress is stopped first
   * (its checkpoint kept, so the next session offers it) and the worker terminated only once it is idle:
   * terminating a worker thread inside an onnxruntime call aborts the whole process ("terminate called after
   * throwing an instance of 'Napi::Error'"), which would turn quitting mid-run into a crash.
   */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    const running = this.current;
    this.queue.length = 0;
    this.clearIdleTimer();
    for (const pending of this.pendingSnapshots.values()) {
      clearTimeout(pending.timer);
      pending.resolve(null);
    }
    this.pendingSnapshots.clear();
    const worker = this.worker;
    this.worker = null;
    this.current = null;
    this.listeners.clear();
    if (!worker) return;
    if (running?.state === 'running') await stopAndWaitIdle(worker, running.runId, this.shutdownTimeoutMs);
    await worker.terminate();
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
      this.armIdleTimer();
      return;
    }
    this.clearIdleTimer();
    const request = record.request!;
    record.request = null;
    record.state = 'running';
    this.current = record;
    this.publishQueuePositions();
    const worker = this.ensureWorker();
    if (!worker) {
      // That run failed (failCurrent said why); the next one tries a fresh worker.
      setImmediate(() => this.pump());
      return;
    }
    // A busy worker keeps the process alive; an idle one does not (the host can exit, tests end).
    worker.ref();
    this.send({
      type: 'start',
      runId: record.runId,
      request,
      frames: this.framesFor(record.runId, request),
      weightsPath: record.weightsPath,
      previewIntervalMs: this.previewIntervalMs,
      threads: this.threads,
      paused: record.pauseOnStart,
      checkpoint: this.options.checkpoints && record.checkpoint ? { root: this.options.checkpoints.root, everyMs: this.options.checkpoints.everyMs ?? DEFAULT_CHECKPOINT_EVERY_MS } : null,
      resume: record.resume,
    });
    record.resume = null;
  }

  /**
   * Where and how often this run spools timelapse frames, or null (off, or no frames root); prunes old spools. A
   * resumed run's request carries the timelapse its checkpoint recorded, and its spool is its own folder again.
   */
  private framesFor(runId: string, request: StartRunRequest): { dir: string; frameEvery: number } | null {
    const frames = this.options.frames;
    if (!frames || request.timelapse === null) return null;
    const keep = Math.max(1, frames.keep ?? 20);
    // Old spools go before the new one grows.
    void this.pruneFrames(frames.root, keep - 1, runId).catch((error: unknown) => console.warn('[run-service] could not prune old timelapse frames:', error));
    return { dir: runFramesDir(frames.root, runId), frameEvery: request.timelapse?.frameEvery ?? DEFAULT_VIDEO_SETTINGS.frameEvery };
  }

  /**
   * Never pruned: the run starting now, and every run with a checkpoint (interrupted and resumable, or running in
   * another process): resuming one continues its spool, and its video needs the frames from before the interruption.
   */
  private async pruneFrames(root: string, keep: number, runId: string): Promise<void> {
    const checkpoints = this.options.checkpoints?.root;
    const resumable = checkpoints ? (await listCheckpoints(checkpoints)).map((c) => c.runId) : [];
    await pruneRunFrames(root, keep, [runId, ...resumable]);
  }

  private ensureWorker(): Worker | null {
    if (this.worker) return this.worker;
    let worker: Worker;
    try {
      worker = new Worker(this.options.worker.url, {
        ...(this.options.worker.execArgv ? { execArgv: this.options.worker.execArgv } : {}),
        ...(this.options.worker.argv ? { argv: this.options.worker.argv } : {}),
      });
    } catch (error) {
      this.failCurrent({ code: 'WORKER_FAILED', message: `The style-transfer worker could not start: ${errorText(error)}` });
      return null;
    }
    this.worker = worker;
    worker.on('message', (message: WorkerToParent) => this.onWorkerMessage(worker, message));
    worker.on('messageerror', (error) => {
      if (this.worker === worker) this.failCurrent({ code: 'INTERNAL', message: `A message from the worker could not be read: ${errorText(error)}` });
    });
    worker.on('error', (error) => this.onWorkerGone(worker, `The style-transfer worker crashed: ${errorText(error)}`));
    worker.on('exit', (code) => this.onWorkerGone(worker, `The style-transfer worker stopped unexpectedly (exit code ${code}).`));
    return worker;
  }

  private onWorkerMessage(worker: Worker, message: WorkerToParent): void {
    if (this.worker !== worker || this.disposed) return;
    switch (message.type) {
      case 'event': {
        const event = message.event;
        const record = this.runs.get(event.runId);
        if (!record || record !== this.current) return;
        if (event.type === 'done') record.state = 'finished';
        if (event.type === 'error') record.state = 'failed';
        this.publish(event);
        break;
      }
      case 'result': {
        const record = this.runs.get(message.runId);
        if (record) this.keepImage(record, message.image);
        break;
      }
      case 'snapshot': {
        const pending = this.pendingSnapshots.get(message.requestId);
        if (pending) {
          this.pendingSnapshots.delete(message.requestId);
          clearTimeout(pending.timer);
          pending.resolve(message.image);
        }
        break;
      }
      case 'idle': {
        const record = this.runs.get(message.runId);
        if (record && record === this.current) {
          // A run that ended without 'done' or 'error' (should not happen) still ends, visibly.
          if (record.state === 'running') this.failCurrent({ code: 'INTERNAL', message: 'The run ended without a result.' });
          this.current = null;
        }
        worker.unref();
        this.pump();
        break;
      }
    }
  }

  /** A crash or an exit: the run in progress fails with the reason; the next run gets a fresh worker. */
  private onWorkerGone(worker: Worker, reason: string): void {
    if (this.worker !== worker) return;
    this.worker = null;
    this.clearIdleTimer();
    for (const [id, pending] of this.pendingSnapshots) {
      clearTimeout(pending.timer);
      pending.resolve(null);
      this.pendingSnapshots.delete(id);
    }
    if (this.disposed) return;
    this.failCurrent({ code: 'WORKER_CRASHED', message: reason });
    void worker.terminate().catch(() => undefined);
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

  private send(message: ParentToWorker): void {
    try {
      this.worker?.postMessage(message);
    } catch (error) {
      this.failCurrent({ code: 'INTERNAL', message: `Could not reach the style-transfer worker: ${errorText(error)}` });
    }
  }

  private snapshot(record: RunRecord): Promise<PlanarImage | null> {
    if (!this.worker) return Promise.resolve(null);
    const requestId = ++this.snapshotSequence;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pendingSnapshots.delete(requestId);
        resolve(null);
      }, this.snapshotTimeoutMs);
      this.pendingSnapshots.set(requestId, { runId: record.runId, resolve, timer });
      this.send({ type: 'snapshot', runId: record.runId, requestId });
    });
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

  private armIdleTimer(): void {
    if (!this.worker || this.idleTimer) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      const worker = this.worker;
      if (!worker || this.current) return;
      this.worker = null;
      void worker.terminate().catch(() => undefined);
    }, this.idleWorkerMs);
    this.idleTimer.unref();
  }

  private clearIdleTimer(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }
}

function errorText(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
}

/**
 * Asks the worker to stop `runId` after its current iteration, keeping its checkpoint, and resolves when the worker
 * reports itself idle, exits, or `timeoutMs` passes (an iteration at a huge size; then terminate() is the only way).
 */
function stopAndWaitIdle(worker: Worker, runId: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const finish = (): void => {
      clearTimeout(timer);
      worker.off('message', onMessage);
      worker.off('exit', finish);
      resolve();
    };
    const onMessage = (message: WorkerToParent): void => {
      if (message.type === 'idle' && message.runId === runId) finish();
    };
    const timer = setTimeout(finish, timeoutMs);
    worker.on('message', onMessage);
    worker.on('exit', finish);
    try {
      worker.postMessage({ type: 'stop', runId, keepCheckpoint: true } satisfies ParentToWorker);
    } catch {
      finish();
    }
  });
}
