// The batch queue behind the Batch panel: many content images under one setting set, each run through the run
// queue (RunService: its worker, its pause/resume), persisted in the app data folder as an engine batch manifest
// (engine/persist/batch-manifest.ts), so it resumes after a restart without redoing finished items. Pure Node, no Electron.
// While a batch is unfinished this process holds its folder's lock, the one `nst batch` takes (takeBatchFolder): a
// second studio on the same data folder, or an nst batch into it, is refused by name instead of redoing its items.

import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { writeFileAtomic, BatchLedger, MANIFEST_NAME, encodeImage, isNstError, takeBatchFolder, BATCH_LOCK_FILE } from '../../engine/index.js';
import type { BatchEvent, BatchItemRef, BatchOutput, BatchStatus, ErrorInfo, Result, RunEvent, RunRef, StartBatchRequest, StartRunRequest } from '../../shared/api.js';
import { fail, ok } from '../../shared/result.js';
import type { StudioSettings } from '../../shared/studio-settings.js';
import type { RunService } from './run-service.js';
import { errorInfo } from './error-info.js';

/** What the batch needs from the run queue. */
export type BatchRuns = Pick<RunService, 'startRun' | 'pauseRun' | 'resumeRun' | 'stopRun' | 'runImage' | 'onRunEvent'>;

export interface BatchServiceOptions {
  runs: BatchRuns;
  /** The folder the batch lives in (the app data folder's `batch`): manifest, inputs, styles, outputs. */
  root: string;
}

/** What the manifest records to run the batch again after a restart. */
interface StudioBatchRecipe {
  kind: 'studio-batch';
  settings: StudioSettings;
  styles: { file: string; name: string; blend: number }[];
  /** Display names by input file. */
  names: Record<string, string>;
  paused: boolean;
}

/** Errors every item would hit: the batch pauses with the message instead of failing item after item. */
const BATCH_WIDE_ERRORS = new Set(['WEIGHTS_NOT_FOUND', 'UNAVAILABLE', 'WORKER_FAILED']);

export class BatchService {
  private ledger: BatchLedger | null = null;
  private recipe: StudioBatchRecipe | null = null;
  private current: { index: number; runId: string | null; iteration: number; iterations: number; startedMs: number } | null = null;
  private error: ErrorInfo | null = null;
  /** The batch folder's lock, held while this process has an unfinished batch in it. */
  private folder: { release(): Promise<void> } | null = null;
  private readonly listeners = new Set<(event: BatchEvent) => void>();
  private readonly unsubscribeRuns: () => void;
  private disposed = false;
  /** Serialises manifest changes and item starts (events and requests arrive concurrently). */
  private chain: Promise<void> = Promise.resolve();

  private constructor(private readonly options: BatchServiceOptions) {
    this.unsubscribeRuns = options.runs.onRunEvent((event) => this.onRunEvent(event));
  }

  /** Opens the batch left in `root` (if any) and, unless it was paused, carries on with its unfinished items. */
  static async open(options: BatchServiceOptions): Promise<BatchService> {
    const service = new BatchService(options);
    const manifest = await BatchLedger.read(service.dir).catch((error: unknown) => {
      console.warn(`[batch] the saved batch could not be read and is set aside: ${(error as Error).message}`);
      return null;
    });
    const recipe = manifest ? readRecipe(manifest.recipe) : null;
    if (manifest && recipe) {
      // An unfinished batch is carried on only by the process that holds its folder; one a live process holds is
      // left to it (a dead holder's lock is stale and taken over, as nst batch does).
      const unfinished = manifest.items.some((item) => item.status === 'pending' || item.status === 'running');
      if (unfinished) {
        const held = await service.takeFolder();
        if (!held.ok) {
          console.warn(`[batch] the saved batch is left to its owner: ${held.error.message}`);
          return service;
        }
      }
      // Same inputs and settings: finished items stay finished; one interrupted mid-way is done again.
      service.ledger = await BatchLedger.open(service.dir, { inputs: manifest.items.map((i) => i.input), extension: 'png', settings: manifest.settings, recipe });
      service.recipe = recipe;
      service.serially(() => service.pump());
    }
    return service;
  }

  private get dir(): string {
    return path.join(this.options.root, 'current');
  }

  async startBatch(request: StartBatchRequest): Promise<Result<BatchStatus>> {
    if (this.disposed) return fail('UNAVAILABLE', 'The studio is shutting down; no batch can start.');
    return this.serially(async () => {
      if (this.nextPending() !== undefined) {
        return fail('BATCH_BUSY', 'A batch is still unfinished: let it finish, or clear it before starting another.');
      }
      // Taken before the old batch is deleted: another process's batch in this folder is not ours to delete.
      const held = await this.takeFolder();
      if (!held.ok) return held;
      try {
        return await this.begin(request);
      } catch (error) {
        // Nothing half-made is left to run: the batch is forgotten and the folder given back.
        await this.forget().catch(() => undefined);
        await this.releaseFolder();
        throw error;
      }
    });
  }

  /** Replaces whatever batch the folder holds with this one and starts it (the folder is this process's). */
  private async begin(request: StartBatchRequest): Promise<Result<BatchStatus>> {
    await this.forget();
    const value = request;
    const dir = this.dir;
    await mkdir(path.join(dir, 'inputs'), { recursive: true });
    await mkdir(path.join(dir, 'styles'), { recursive: true });
    // The images are kept as the page sent them (bytes, never a path), numbered so equal names stay apart.
    const names: Record<string, string> = {};
    const inputs: string[] = [];
    for (const [i, content] of value.contents.entries()) {
      const file = path.join(dir, 'inputs', `${String(i + 1).padStart(4, '0')}-${safeName(content.name)}`);
      await writeFileAtomic(file, content.bytes, { sync: false });
      names[file] = content.name;
      inputs.push(file);
    }
    const styles: StudioBatchRecipe['styles'] = [];
    for (const [i, style] of value.styles.entries()) {
      const file = path.join(dir, 'styles', `${i + 1}-${safeName(style.image.name)}`);
      await writeFileAtomic(file, style.image.bytes, { sync: false });
      styles.push({ file, name: style.image.name, blend: style.blend });
    }
    const recipe: StudioBatchRecipe = { kind: 'studio-batch', settings: value.settings, styles, names, paused: false };
    const settings = { settings: value.settings, styles: value.styles.map((s) => ({ sha256: sha256(s.image.bytes), blend: s.blend })) };
    this.ledger = await BatchLedger.open(dir, { inputs, extension: 'png', settings, recipe });
    this.recipe = recipe;
    this.error = null;
    await this.pump();
    return ok(this.status());
  }

  /** Pauses the item being painted after its current iteration; no further item starts until resumeBatch. */
  pauseBatch(): Promise<Result<BatchStatus>> {
    return this.control(async () => {
      if (!this.ledger || !this.recipe) return;
      await this.setPaused(true);
      if (this.current?.runId) await this.options.runs.pauseRun({ runId: this.current.runId });
    });
  }

  resumeBatch(): Promise<Result<BatchStatus>> {
    return this.control(async () => {
      if (!this.ledger || !this.recipe) return;
      this.error = null;
      await this.setPaused(false);
      if (this.current?.runId) await this.options.runs.resumeRun({ runId: this.current.runId });
      else await this.pump();
    });
  }

  /**
   * Stops the item in progress and deletes the batch (inputs, outputs, manifest), then gives the folder back.
   * Refused (RUN_IN_USE) when another process holds the folder: its batch is not this window's to delete.
   */
  clearBatch(): Promise<Result<BatchStatus>> {
    return this.serially(async () => {
      const held = await this.takeFolder();
      if (!held.ok) return held;
      await this.forget();
      await this.releaseFolder();
      this.publishStatus();
      return ok(this.status());
    });
  }

  async getBatchStatus(): Promise<Result<BatchStatus>> {
    return ok(this.status());
  }

  /** A finished item's PNG. */
  async getBatchOutput({ index }: BatchItemRef): Promise<Result<BatchOutput>> {
    const item = this.ledger?.items[index];
    if (!this.ledger || !item) return fail('UNKNOWN_ITEM', `The batch has no item ${index}.`);
    if (item.status !== 'done') return fail('NO_IMAGE_YET', `${this.nameOf(item.input)} is not finished.`);
    const bytes = await readFile(this.ledger.outputPath(index));
    return ok({ fileName: `${path.parse(this.nameOf(item.input)).name}-styled.png`, bytes: new Uint8Array(bytes) });
  }

  onBatchEvent(listener: (event: BatchEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  status(): BatchStatus {
    const ledger = this.ledger;
    if (!ledger || !this.recipe) return { state: 'empty', items: [], current: null, total: 0, done: 0, failed: 0, error: null };
    const counts = ledger.counts();
    const unfinished = this.nextPending() !== undefined;
    return {
      state: !unfinished ? 'finished' : this.recipe.paused || this.error ? 'paused' : 'running',
      items: ledger.items.map((item, index) => ({
        index,
        name: this.nameOf(item.input),
        state: this.current?.index === index ? 'running' : item.status === 'running' ? 'pending' : item.status,
        error: item.error ?? null,
        seconds: item.seconds ?? null,
      })),
      current: this.current ? { index: this.current.index, iteration: this.current.iteration, iterations: this.current.iterations } : null,
      total: counts.total,
      done: counts.done,
      failed: counts.failed,
      error: this.error,
    };
  }

  /**
   * Stops listening and gives the folder back; the item in progress is left to the run queue's own dispose, and
   * resumes at the next open.
   */
  async dispose(): Promise<void> {
    this.disposed = true;
    this.unsubscribeRuns();
    this.listeners.clear();
    await this.chain.catch(() => undefined);
    await this.releaseFolder();
  }

  // --- Internals --------------------------------------------------------------------------------------------------

  /** A control: run in turn with the others, answered (and announced) with the status. */
  private async control(act: () => Promise<void>): Promise<Result<BatchStatus>> {
    return this.serially(async () => {
      await act();
      this.publishStatus();
      return ok(this.status());
    });
  }

  private serially<T>(task: () => Promise<T>): Promise<T> {
    const result = this.chain.then(task);
    this.chain = result.then(
      () => undefined,
      (error: unknown) => console.error('[batch] ', error),
    );
    return result;
  }

  /** Starts the next unfinished item, if the batch is not paused and none is in progress. */
  private async pump(): Promise<void> {
    const ledger = this.ledger;
    const recipe = this.recipe;
    if (this.disposed || !ledger || !recipe || this.current || recipe.paused || this.error) return;
    const index = this.nextPending();
    if (index === undefined) {
      // The batch has ended: its folder is free for the next batch, here or elsewhere.
      await this.releaseFolder();
      this.publishStatus();
      return;
    }
    const item = ledger.items[index]!;
    await ledger.markRunning(index);
    this.current = { index, runId: null, iteration: 0, iterations: recipe.settings.iterations, startedMs: performance.now() };
    let request: StartRunRequest;
    try {
      request = {
        content: { name: this.nameOf(item.input), bytes: new Uint8Array(await readFile(item.input)) },
        styles: await Promise.all(recipe.styles.map(async (s) => ({ image: { name: s.name, bytes: new Uint8Array(await readFile(s.file)) }, blend: s.blend }))),
        settings: recipe.settings,
        timelapse: null,
      };
    } catch (error) {
      await this.finishItem(index, { code: 'FILE_NOT_FOUND', message: `The batch's copy of an image could not be read: ${(error as Error).message}` });
      return;
    }
    // The batch resumes by item (its manifest): its runs leave no checkpoints to offer on their own.
    const started = await this.options.runs.startRun(request, { checkpoint: false, holdAtConvergence: false, queueLimit: false });
    if (!started.ok) {
      await this.finishItem(index, started.error);
      return;
    }
    this.current.runId = started.value.runId;
    this.publishStatus();
  }

  private onRunEvent(event: RunEvent): void {
    const current = this.current;
    if (!current || event.runId !== current.runId) return;
    switch (event.type) {
      case 'progress':
        current.iteration = event.loss.iteration;
        current.iterations = event.iterations;
        this.publish({ type: 'progress', index: current.index, iteration: event.loss.iteration, iterations: event.iterations, loss: event.loss.total, preview: event.preview });
        break;
      case 'paused':
      case 'resumed':
        this.publishStatus();
        break;
      case 'done':
        void this.serially(() => (event.stopped ? this.finishItem(current.index, null, { interrupted: true }) : this.saveOutput(current.index, { runId: event.runId })));
        break;
      case 'error':
        void this.serially(() => this.finishItem(current.index, event.error));
        break;
    }
  }

  private async saveOutput(index: number, ref: RunRef): Promise<void> {
    const image = await this.options.runs.runImage(ref.runId);
    if (!image.ok) {
      await this.finishItem(index, image.error);
      return;
    }
    try {
      await writeFileAtomic(this.ledger!.outputPath(index), await encodeImage(image.value, 'png'));
    } catch (error) {
      await this.finishItem(index, errorInfo(error, { code: 'WRITE_FAILED', message: (detail) => `The result could not be saved: ${detail}` }));
      return;
    }
    await this.finishItem(index, null);
  }

  /** Records the item's end (done when error is null; failed; or, interrupted, pending again) and starts the next. */
  private async finishItem(index: number, error: ErrorInfo | null, { interrupted = false } = {}): Promise<void> {
    const ledger = this.ledger;
    const current = this.current;
    if (!ledger || current?.index !== index) return;
    this.current = null;
    if (interrupted) await ledger.markPending(index);
    else if (error && BATCH_WIDE_ERRORS.has(error.code)) {
      await ledger.markPending(index);
      this.error = error;
    } else if (error) await ledger.markFailed(index, error);
    else await ledger.markDone(index, Math.round((performance.now() - current.startedMs) / 10) / 100);
    this.publishStatus();
    await this.pump();
  }

  private async setPaused(paused: boolean): Promise<void> {
    if (!this.ledger || !this.recipe || this.recipe.paused === paused) return;
    this.recipe = { ...this.recipe, paused };
    await this.ledger.setRecipe(this.recipe);
  }

  /** Takes the batch folder's lock (made first) for this process, unless held already; RUN_IN_USE naming its holder. */
  private async takeFolder(): Promise<Result<null>> {
    if (this.folder) return ok(null);
    try {
      await mkdir(this.dir, { recursive: true });
      this.folder = await takeBatchFolder(this.dir, {
        command: 'studio batch',
        // A holder that crashed is the usual case; only a pid now naming another program is worth a line.
        note: (line, expected) => {
          if (!expected) console.warn(`[batch] ${line}`);
        },
      });
      return ok(null);
    } catch (error) {
      if (isNstError(error)) return fail(error.code, error.message);
      throw error;
    }
  }

  private async releaseFolder(): Promise<void> {
    const folder = this.folder;
    this.folder = null;
    await folder?.release();
  }

  /** Deletes the batch's files; the folder's lock (held by this process) stays until it is released. */
  private async forget(): Promise<void> {
    const runId = this.current?.runId;
    this.current = null;
    this.ledger = null;
    this.recipe = null;
    this.error = null;
    if (runId) await this.options.runs.stopRun({ runId });
    const names = await readdir(this.dir).catch(() => [] as string[]);
    await Promise.all(names.filter((name) => name !== BATCH_LOCK_FILE).map((name) => rm(path.join(this.dir, name), { recursive: true, force: true })));
  }

  /**
   * The first item not yet tried (an interrupted one is pending again). Unlike a CLI rerun, the queue does not
   * retry failed items by itself: the same bytes would fail the same way.
   */
  private nextPending(): number | undefined {
    const index = this.ledger?.items.findIndex((item) => item.status === 'pending' || item.status === 'running') ?? -1;
    return index < 0 ? undefined : index;
  }

  private nameOf(input: string): string {
    return this.recipe?.names[input] ?? path.basename(input);
  }

  private publishStatus(): void {
    this.publish({ type: 'status', status: this.status() });
  }

  private publish(event: BatchEvent): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch (error) {
        console.error('[batch] a batch event listener threw:', error);
      }
    }
  }
}

function readRecipe(value: unknown): StudioBatchRecipe | null {
  const r = value as Partial<StudioBatchRecipe> | null;
  if (!r || r.kind !== 'studio-batch' || !Array.isArray(r.styles) || typeof r.settings !== 'object' || typeof r.names !== 'object') {
    console.warn(`[batch] the saved ${MANIFEST_NAME} is not a studio batch; it is left alone.`);
    return null;
  }
  return { ...(r as StudioBatchRecipe), paused: r.paused === true };
}

/** A name safe as a file name on every OS (the display name is kept in the recipe). */
function safeName(name: string): string {
  const cleaned = path.basename(name.replaceAll('\\', '/')).replace(/[^\w.-]+/g, '_').slice(-80);
  return cleaned.replace(/^\.+/, '') || 'image';
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
