// The job worker's host: spawns the worker thread when a run needs it, carries the tagged messages both ways
// (src/main/worker/messages.ts), answers snapshot requests, ends a worker left idle, and shuts it down without
// aborting a run inside onnxruntime. It knows nothing of the queue: what happens is told to its events.

import { Worker } from 'node:worker_threads';
import type { ErrorInfo, RunEvent } from '../../shared/api.js';
import { errorText } from '../../shared/result.js';
import { turnOffOnnxruntimeTelemetry, type PlanarImage } from '../../engine/index.js';
import type { ParentToWorker, StartMessage, WorkerToParent } from '../worker/messages.js';

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

export interface WorkerHostOptions {
  location: WorkerLocation;
  /** An idle worker (weights loaded) is kept this long for the next run, then ended. */
  idleWorkerMs: number;
  /** How long a snapshot waits for the worker's current image. */
  snapshotTimeoutMs: number;
  /** How long dispose() lets a running run finish its iteration before terminating the worker. */
  shutdownTimeoutMs: number;
}

/** What the worker reports, for the queue to act on. */
export interface WorkerHostEvents {
  /** A run event, ready to publish. */
  event(event: RunEvent): void;
  /** A finished run's full-precision image, sent before its 'done' event. */
  result(runId: string, image: PlanarImage): void;
  /** The worker is done with `runId` and can take the next run. */
  idle(runId: string): void;
  /** The run in progress cannot go on: the worker could not start or be reached, or a message was unreadable. */
  failed(error: ErrorInfo): void;
  /** The worker crashed or exited: the run in progress fails with `error`; the next run gets a fresh worker. */
  gone(error: ErrorInfo): void;
}

interface PendingSnapshot {
  resolve: (image: PlanarImage | null) => void;
  timer: NodeJS.Timeout;
}

export class WorkerHost {
  private worker: Worker | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  private readonly pendingSnapshots = new Map<number, PendingSnapshot>();
  private snapshotSequence = 0;
  private disposed = false;

  constructor(
    private readonly options: WorkerHostOptions,
    private readonly events: WorkerHostEvents,
  ) {}

  /** Hands a run to the worker (started if there is none); false when none could start (`failed` said why). */
  start(message: StartMessage): boolean {
    this.clearIdleTimer();
    const worker = this.ensureWorker();
    if (!worker) return false;
    // A busy worker keeps the process alive; an idle one does not (the host can exit, tests end).
    worker.ref();
    this.send(message);
    return true;
  }

  send(message: ParentToWorker): void {
    try {
      this.worker?.postMessage(message);
    } catch (error) {
      this.events.failed({ code: 'INTERNAL', message: `Could not reach the style-transfer worker: ${errorText(error)}` });
    }
  }

  /** The running run's current image, or null (no worker, no image yet, or no answer within the timeout). */
  snapshot(runId: string): Promise<PlanarImage | null> {
    if (!this.worker) return Promise.resolve(null);
    const requestId = ++this.snapshotSequence;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pendingSnapshots.delete(requestId);
        resolve(null);
      }, this.options.snapshotTimeoutMs);
      this.pendingSnapshots.set(requestId, { resolve, timer });
      this.send({ type: 'snapshot', runId, requestId });
    });
  }

  /** Nothing to run: the worker (weights loaded) waits idleWorkerMs for the next run, then ends. */
  rest(): void {
    if (!this.worker || this.idleTimer) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      const worker = this.worker;
      if (!worker) return;
      this.worker = null;
      void worker.terminate().catch(() => undefined);
    }, this.options.idleWorkerMs);
    this.idleTimer.unref();
  }

  /**
   * Ends the worker. A run in progress (`runningRunId`) is stopped first, its checkpoint kept, and the worker
   * terminated only once it is idle: terminating a worker thread inside an onnxruntime call aborts the whole process
   * ("terminate called after throwing an instance of 'Napi::Error'"), which would turn quitting mid-run into a crash.
   */
  async dispose(runningRunId: string | null): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.clearIdleTimer();
    this.resolveSnapshots();
    const worker = this.worker;
    this.worker = null;
    if (!worker) return;
    if (runningRunId !== null) await stopAndWaitIdle(worker, runningRunId, this.options.shutdownTimeoutMs);
    await worker.terminate();
  }

  private ensureWorker(): Worker | null {
    if (this.worker) return this.worker;
    const { location } = this.options;
    // onnxruntime loads in the worker, whose process.env is its own copy: its telemetry is turned off from here.
    turnOffOnnxruntimeTelemetry();
    let worker: Worker;
    try {
      worker = new Worker(location.url, {
        ...(location.execArgv ? { execArgv: location.execArgv } : {}),
        ...(location.argv ? { argv: location.argv } : {}),
      });
    } catch (error) {
      this.events.failed({ code: 'WORKER_FAILED', message: `The style-transfer worker could not start: ${errorText(error)}` });
      return null;
    }
    this.worker = worker;
    worker.on('message', (message: WorkerToParent) => this.onMessage(worker, message));
    worker.on('messageerror', (error) => {
      if (this.worker === worker) this.events.failed({ code: 'INTERNAL', message: `A message from the worker could not be read: ${errorText(error)}` });
    });
    worker.on('error', (error) => this.onGone(worker, `The style-transfer worker crashed: ${errorText(error)}`));
    worker.on('exit', (code) => this.onGone(worker, `The style-transfer worker stopped unexpectedly (exit code ${code}).`));
    return worker;
  }

  private onMessage(worker: Worker, message: WorkerToParent): void {
    if (this.worker !== worker || this.disposed) return;
    switch (message.type) {
      case 'event':
        this.events.event(message.event);
        break;
      case 'result':
        this.events.result(message.runId, message.image);
        break;
      case 'snapshot': {
        const pending = this.pendingSnapshots.get(message.requestId);
        if (pending) {
          this.pendingSnapshots.delete(message.requestId);
          clearTimeout(pending.timer);
          pending.resolve(message.image);
        }
        break;
      }
      case 'idle':
        worker.unref();
        this.events.idle(message.runId);
        break;
    }
  }

  private onGone(worker: Worker, reason: string): void {
    if (this.worker !== worker) return;
    this.worker = null;
    this.clearIdleTimer();
    this.resolveSnapshots();
    if (this.disposed) return;
    void worker.terminate().catch(() => undefined);
    this.events.gone({ code: 'WORKER_CRASHED', message: reason });
  }

  private resolveSnapshots(): void {
    for (const pending of this.pendingSnapshots.values()) {
      clearTimeout(pending.timer);
      pending.resolve(null);
    }
    this.pendingSnapshots.clear();
  }

  private clearIdleTimer(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }
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
