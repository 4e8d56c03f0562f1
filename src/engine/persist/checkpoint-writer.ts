// Writes a run's checkpoints: data files named by generation, then the manifest renamed into place.
//
// Each checkpoint writes its buffers (image, optimizer state; for tiled renders the canvas) as raw little-endian
// float32 into new files (temp, fsync, rename), then replaces checkpoint.json atomically, then deletes the data files
// the new manifest no longer names. A kill or power loss at any point leaves either the previous complete checkpoint
// or the new one; a manifest never names a file that was not completely written. The folder is fsynced after each
// rename, so a power cut cannot undo a rename the next step relies on. The files are written in one synchronous
// stretch right after the iteration that asked for them (see write()), not one event-loop turn per step.

import { readdir, unlink } from 'node:fs/promises';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { NstError } from '../errors.js';
import { isStaleTemporary, removeStaleTemporaries, writeFileAtomicSync } from '../sys/atomic-file.js';
import { asNstError } from '../sys/fs-errors.js';
import { LITTLE_ENDIAN_HOST } from '../sys/endian.js';
import { pathExists } from '../sys/path-exists.js';
import { CHECKPOINT_FORMAT, CHECKPOINT_VERSION } from './checkpoint-schema.js';
import { checkCheckpointWeights, MANIFEST_FILE, type BufferEntry, type CheckpointManifest, type FileEntry, type SerialState } from './checkpoint.js';
import { runDir } from './run-folder.js';
import { createRun, takeRun, type RunLock } from './run-lock.js';
import { sweepAbandonedRuns } from './run-sweep.js';
import { weightsFingerprint, type WeightsFingerprint } from '../weights/fingerprint.js';
import type { Vgg19Weights } from '../weights/types.js';
import type { RenderPlan, RenderState } from '../render/render.js';
import type { CompositorState } from '../render/tiles/compositor.js';
import type { LossMasks } from '../model/masks.js';

/**
 * Above this, a snapshot is written from the run's live buffers while the run waits: an L-BFGS state is dozens of
 * image-sized buffers, and a second copy of them could cost a large run the memory its plan was sized to.
 */
const DEFAULT_COPY_LIMIT_BYTES = 256 * 2 ** 20;

export interface CheckpointWriterOptions<Job> {
  readonly runId: string;
  readonly job: Job;
  /** Minimum time between two checkpoints (the first comes this long after the writer is made). */
  readonly everyMs: number;
  /** Iterations the whole render runs for a plan (for the manifest's progress). */
  readonly totalIterations: (plan: RenderPlan) => number;
  /** The data folder (default dataDir()); the checkpoint goes to <root>/runs/<runId>/. */
  readonly root?: string;
  /** Snapshots above this size are not copied (the run waits for their write instead); default 256 MiB. */
  readonly copyLimitBytes?: number;
  /**
   * Before each write, in the run's folder (made by then): waits for what the manifest refers to. Each awaited file
   * step here delays the checkpoint by an evaluation (see write()): files written once belong after open().
   */
  readonly prepare?: (dir: string) => Promise<void>;
  /** After each checkpoint is complete on disk. */
  readonly onSaved?: (manifest: CheckpointManifest<Job>) => void;
  /** A checkpoint that could not be written (the run goes on; the previous checkpoint stays valid). */
  readonly onError?: (error: unknown) => void;
  /**
   * How this front end resumes a run with the weights it was made with (or drops it): the last sentence of the
   * refusal of a checkpoint continued with other weights. Default: a general one.
   */
  readonly weightsRemedy?: string;
  /**
   * The run's ownership, taken by the caller before it read the checkpoint it continues (takeRun). Absent: a new
   * run, whose folder is made at open() or its first write.
   */
  readonly lock?: RunLock;
  /** What this process does with the run, for others' messages (takeRun's command); default 'nst run'. */
  readonly command?: string;
}

/**
 * Writes a run's snapshots one at a time, without the run loop awaiting them: due() is false while a write is in
 * flight or the interval has not passed, so snapshots never queue. A forced or final snapshot (a paused or stopped
 * run) waits for the write in flight and is always written.
 */
export class CheckpointWriter<Job = unknown> {
  readonly dir: string;
  /** States above this many bytes are handed over live (not copied) and the run waits for their write. */
  readonly copyLimitBytes: number;
  private lastMs = performance.now();
  private inFlight: Promise<void> | null = null;
  private closed = false;
  private generation = 0;
  /** The run's ownership (its lock file): given, or taken at the first write. */
  private lock: RunLock | null;
  private swept = false;
  private createdAt: string | null = null;
  /** The masks last written and their file: a run's masks are written once, not with every snapshot. */
  private masksWritten: { masks: LossMasks; entry: FileEntry } | null = null;
  /** The canvas last written and its file, so a tile's snapshots share one canvas file. */
  private canvasWritten: { canvas: CompositorState; entry: FileEntry } | null = null;
  private lastManifest: CheckpointManifest<Job> | null = null;
  private job: Job;
  /** The weights the run computes with (useWeights), recorded in every manifest from then on. */
  private weights: WeightsFingerprint | null = null;
  /** The checkpoint this writer continues (continueFrom): its weights are the only ones it may go on with. */
  private continued: CheckpointManifest | null = null;

  constructor(private readonly options: CheckpointWriterOptions<Job>) {
    if (!Number.isFinite(options.everyMs) || options.everyMs < 0) throw new RangeError(`everyMs must be a finite number ≥ 0, got ${options.everyMs}.`);
    this.dir = runDir(options.runId, options.root);
    this.job = options.job;
    this.copyLimitBytes = options.copyLimitBytes ?? DEFAULT_COPY_LIMIT_BYTES;
    this.lock = options.lock ?? null;
  }

  /** The job recorded from the next checkpoint on (a run whose settings were changed mid-run). */
  setJob(job: Job): void {
    this.job = job;
  }

  /**
   * Continue the generation count (and creation time) of an existing checkpoint, for a resumed run; the run's
   * weights (useWeights) must then be the ones the checkpoint was made with.
   */
  continueFrom(manifest: CheckpointManifest): void {
    this.generation = manifest.generation;
    this.createdAt = manifest.createdAt;
    this.continued = manifest;
  }

  /**
   * The weights the run computes with (the engine tells its checkpoint sink before any work): recorded in every
   * manifest. A continued checkpoint made with other weights is refused (BAD_CHECKPOINT); one that does not say
   * which (an older nst wrote it) goes on, and the first call returns a one-line warning saying so.
   */
  useWeights(weights: Vgg19Weights): string | null {
    const fingerprint = weightsFingerprint(weights);
    if (this.weights?.sha256 === fingerprint.sha256) return null;
    const warning = this.continued ? checkCheckpointWeights(this.continued, fingerprint, this.options.weightsRemedy) : null;
    this.weights = fingerprint;
    return warning;
  }

  /**
   * Takes the run's folder now, if no lock was given: a new run's is made owned by this process (createRun: it never
   * exists without its lock), one that is there already is taken as takeRun takes one; then the runs killed before
   * their first checkpoint are swept (sweepAbandonedRuns), and the temporary files of a writer killed mid-write.
   * A front end calls it before the run starts: a first write that has to do it waits an evaluation for each of
   * its file steps (see write()). One that keeps files of a new run elsewhere (a --video spool) calls it before
   * making them, so whatever a kill leaves has a folder that says whose it is.
   */
  async open(): Promise<void> {
    if (!this.lock) {
      const root = this.options.root;
      const options = { command: this.options.command ?? 'nst run', ...(root ? { root } : {}) };
      this.lock = (await pathExists(this.dir)) ? await takeRun(this.options.runId, options) : await createRun(this.options.runId, options);
      await sweepAbandonedRuns(root);
    }
    if (!this.swept) {
      // What a writer killed mid-write left (`.run-3.bin.<pid>.<hex>.tmp`): its pid is gone, so it is debris.
      await removeStaleTemporaries(this.dir);
      this.swept = true;
    }
  }

  /** The manifest of the last checkpoint this writer completed, if any. */
  get last(): CheckpointManifest<Job> | null {
    return this.lastManifest;
  }

  due(): boolean {
    return !this.closed && this.inFlight === null && performance.now() - this.lastMs >= this.options.everyMs;
  }

  /** Resolves when this snapshot's write has ended (written, or failed and reported through onError). */
  save(state: RenderState, options: { final?: boolean; force?: boolean } = {}): Promise<void> {
    if (this.closed || (this.inFlight && !options.final && !options.force)) return Promise.resolve();
    const previous = this.inFlight ?? Promise.resolve();
    const write: Promise<void> = previous
      .then(() => this.write(state, options.final === true))
      // A full or read-only disk is said in words (the run goes on; the previous checkpoint is intact).
      .catch((error: unknown) => this.options.onError?.(asNstError(error)))
      .finally(() => {
        if (this.inFlight === write) this.inFlight = null;
        this.lastMs = performance.now();
      });
    this.inFlight = write;
    return write;
  }

  /** Resolves when no write is in flight. */
  async flush(): Promise<void> {
    while (this.inFlight) await this.inFlight;
  }

  /** Stops taking snapshots, waits for the write in flight and gives the run up (the checkpoint stays on disk). */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
    await this.lock?.release();
  }

  /**
   * Deletes the checkpoint on disk (the manifest and its data, not the folder's other files) and takes the next
   * snapshot as soon as one is offered: the run goes on as something the old checkpoint no longer describes.
   */
  async restart(): Promise<void> {
    await this.flush();
    await unlink(path.join(this.dir, MANIFEST_FILE)).catch(() => undefined);
    await removeDebris(this.dir, new Set());
    this.canvasWritten = null;
    this.masksWritten = null;
    this.lastManifest = null;
    this.lastMs = -Infinity;
  }

  /**
   * Stops, then deletes the run's checkpoint folder while still owning it (a finished run has nothing to resume);
   * nothing when this writer never owned it (it wrote nothing). After close(), the run is no longer its to delete.
   */
  async remove(): Promise<void> {
    this.closed = true;
    await this.flush();
    await this.lock?.remove();
  }

  private async write(state: RenderState, final: boolean): Promise<void> {
    const generation = ++this.generation;
    // Nothing to wait for once open() has run (the front end's, before the run).
    await this.open();
    await this.options.prepare?.(this.dir);
    // From here to the manifest's rename, synchronously: the run's thread evaluates onnxruntime between its turns,
    // so each awaited step would wait for an evaluation and the checkpoint would land dozens of iterations after the
    // one it holds. Written in one go it is whole before the run's next evaluation (a kill after it finds it).
    const { run } = state.stage;
    const runBuffers: [string, Float32Array][] = [['image', run.image], ...Object.entries(run.optimizer.buffers).map(([k, b]): [string, Float32Array] => [`optimizer.${k}`, b])];
    const files: FileEntry[] = [writeDataFile(this.dir, `run-${generation}.bin`, runBuffers)];
    if (state.canvas) {
      if (this.canvasWritten?.canvas !== state.canvas) {
        const { base, sum, coverage } = state.canvas;
        this.canvasWritten = { canvas: state.canvas, entry: writeDataFile(this.dir, `canvas-${generation}.bin`, [['canvas.base', base], ['canvas.sum', sum], ['canvas.coverage', coverage]]) };
      }
      files.push(this.canvasWritten.entry);
    }
    if (state.masks) {
      if (this.masksWritten?.masks !== state.masks) {
        const { styles = [], content } = state.masks;
        const buffers: [string, Float32Array][] = [...styles.map((m, k): [string, Float32Array] => [`mask.style.${k}`, m.data]), ...(content ? [['mask.content', content.data] as [string, Float32Array]] : [])];
        this.masksWritten = { masks: state.masks, entry: writeDataFile(this.dir, `masks-${generation}.bin`, buffers) };
      }
      files.push(this.masksWritten.entry);
    }
    const now = new Date().toISOString();
    this.createdAt ??= now;
    const manifest: CheckpointManifest<Job> = {
      format: CHECKPOINT_FORMAT,
      version: CHECKPOINT_VERSION,
      runId: this.options.runId,
      createdAt: this.createdAt,
      updatedAt: now,
      generation,
      stopped: final,
      job: this.job,
      ...(this.weights ? { weights: this.weights } : {}),
      progress: { iteration: state.stage.iterationsBefore + run.iteration, totalIterations: this.options.totalIterations(state.plan) },
      state: serialState(state),
      files,
    };
    // Temp file, fsync, rename, then the folder fsynced: the rename is on disk before the old data files go.
    writeFileAtomicSync(path.join(this.dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 1)}\n`, { sync: true });
    // Only now may the previous generation's files go: until the rename above, the old manifest names them.
    await removeDebris(this.dir, new Set(files.map((f) => f.name)));
    this.lastManifest = manifest;
    this.options.onSaved?.(manifest);
  }
}

/**
 * Deletes the data files not in `keep` and the temporary files of writers that are gone. A live process's
 * temporary file stays (a second writer in this folder would be a bug, but not one to make worse).
 */
async function removeDebris(dir: string, keep: ReadonlySet<string>): Promise<void> {
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if ((name.endsWith('.bin') && !keep.has(name)) || (await isStaleTemporary(name))) await unlink(path.join(dir, name)).catch(() => undefined);
  }
}

function serialState(state: RenderState): SerialState {
  const { run } = state.stage;
  return {
    plan: state.plan,
    phase: state.phase,
    stage: {
      index: state.stage.index,
      iterationsBefore: state.stage.iterationsBefore,
      run: {
        iteration: run.iteration,
        objectiveScale: run.objectiveScale,
        carried: run.carried,
        initialLoss: run.initialLoss,
        weights: run.weights,
        ...(run.convergence ? { convergence: run.convergence } : {}),
        optimizer: { name: run.optimizer.name, iteration: run.optimizer.iteration, scalars: run.optimizer.scalars },
      },
    },
    ...(state.canvas ? { canvas: { width: state.canvas.width, height: state.canvas.height } } : {}),
    ...(state.passInitialLoss ? { passInitialLoss: state.passInitialLoss } : {}),
    ...(state.masks ? { masks: { styles: (state.masks.styles ?? []).map(({ width, height }) => ({ width, height })), content: state.masks.content ? { width: state.masks.content.width, height: state.masks.content.height } : null } } : {}),
  };
}

/**
 * Writes float32 buffers back to back into `name` (temp file, fsync, rename, folder fsync: on disk before a manifest
 * can name it) and returns its manifest entry.
 */
function writeDataFile(dir: string, name: string, buffers: readonly [string, Float32Array][]): FileEntry {
  if (!LITTLE_ENDIAN_HOST) throw new NstError('RUNTIME_FAILURE', 'Checkpoints are written on little-endian machines only.');
  const entries: BufferEntry[] = [];
  const chunks: Uint8Array[] = [];
  let offset = 0;
  let checksum = 0;
  for (const [key, buffer] of buffers) {
    const bytes = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    checksum = crc32(bytes, checksum);
    chunks.push(bytes);
    entries.push({ key, offset, length: buffer.length });
    offset += buffer.length;
  }
  writeFileAtomicSync(path.join(dir, name), chunks, { sync: true });
  return { name, bytes: offset * 4, crc32: checksum, buffers: entries };
}
