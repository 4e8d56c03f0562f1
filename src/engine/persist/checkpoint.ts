// Run checkpoints on disk: data files named by generation, then a JSON manifest renamed into place last.
//
// A folder per run under <data dir>/runs/<RUN_ID>/. Each checkpoint writes its buffers (image, optimizer state;
// for tiled renders the canvas) as raw little-endian float32 into new files (temp, fsync, rename), then replaces
// checkpoint.json atomically, then deletes the data files the new manifest no longer names. A kill or power loss at
// any point leaves either the previous complete checkpoint or the new one; a manifest never names a file that was
// not completely written, and every file's length and CRC-32 are checked on reading. The folder is fsynced after
// the data files' renames and after the manifest's, so a power cut cannot undo a rename the next step relies on.

import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, readdir, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { NstError } from '../errors.js';
import { fsyncDirectory, isStaleTemporary, removeStaleTemporaries, temporaryPath, writeFileAtomic } from '../sys/atomic-file.js';
import { CHECKPOINT_FORMAT, CHECKPOINT_VERSION, parseManifest } from './checkpoint-schema.js';
import { isProcessAlive } from '../sys/process-alive.js';
import { dataDir } from '../weights/store.js';
import { describeFingerprint, weightsFingerprint, type WeightsFingerprint } from '../weights/fingerprint.js';
import type { Vgg19Weights } from '../weights/types.js';
import type { LossBreakdown, LossWeights } from '../model/objective.js';
import type { OptimizerName } from '../optim/types.js';
import type { RenderPlan, RenderState } from '../render/render.js';
import type { CompositorState } from '../render/tiles/compositor.js';

export { CHECKPOINT_FORMAT, CHECKPOINT_VERSION };
export const MANIFEST_FILE = 'checkpoint.json';
/** The process writing a run's checkpoints: its pid, so a second process does not resume a run that is still alive. */
export const LOCK_FILE = 'owner.pid';

/**
 * Above this, a snapshot is written from the run's live buffers while the run waits: an L-BFGS state is 43
 * image-sized buffers (73 MiB at 384 px, 516 MiB at 1024 px), and a second copy of that could cost a large run
 * the memory its plan was sized to.
 */
const DEFAULT_COPY_LIMIT_BYTES = 256 * 2 ** 20;
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const RUN_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/** The folder that holds every run's checkpoint folder. */
export function runsDir(root: string = dataDir()): string {
  return path.join(root, 'runs');
}

/** A new run id: sortable by start time, unique enough for one machine (`20261129-114512-a1b2`). */
export function newRunId(now: Date = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${randomBytes(2).toString('hex')}`;
}

/** Throws BAD_ARGUMENT unless `runId` is a plain name (it becomes a folder name: no separators, no `..`). */
export function checkRunId(runId: string): string {
  if (!RUN_ID_PATTERN.test(runId)) {
    throw new NstError('BAD_ARGUMENT', `"${runId}" is not a run id (letters, digits, - and _, as \`nst runs\` lists them).`);
  }
  return runId;
}

export function runDir(runId: string, root: string = dataDir()): string {
  return path.join(runsDir(root), checkRunId(runId));
}

interface BufferEntry {
  readonly key: string;
  /** Offset and length in float32 values. */
  readonly offset: number;
  readonly length: number;
}

interface FileEntry {
  readonly name: string;
  readonly bytes: number;
  readonly crc32: number;
  readonly buffers: readonly BufferEntry[];
}

/** What `nst runs` and the studio show about a checkpoint without reading its data. */
export interface CheckpointProgress {
  /** Iterations done across every stage, and in all (as a progress bar counts them). */
  readonly iteration: number;
  readonly totalIterations: number;
}

export interface CheckpointManifest<Job = unknown> {
  readonly format: typeof CHECKPOINT_FORMAT;
  readonly version: number;
  readonly runId: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly generation: number;
  /** True when the snapshot was taken because the run was stopped (not a crash). */
  readonly stopped: boolean;
  /** What the front end needs to finish the job (its own shape: the CLI's options, the studio's request). */
  readonly job: Job;
  /** The VGG19 weights the state was computed with; absent in checkpoints of older versions (unknown). */
  readonly weights?: WeightsFingerprint;
  readonly progress: CheckpointProgress;
  readonly state: SerialState;
  readonly files: readonly FileEntry[];
}

/** RenderState without its buffers (those are in the data files). */
interface SerialState {
  readonly plan: RenderPlan;
  readonly phase: RenderState['phase'];
  readonly stage: {
    readonly index: number;
    readonly iterationsBefore: number;
    readonly run: {
      readonly iteration: number;
      readonly objectiveScale: number;
      readonly carried: LossBreakdown | null;
      readonly initialLoss: LossBreakdown | null;
      readonly weights: LossWeights | null;
      readonly optimizer: { readonly name: OptimizerName; readonly iteration: number; readonly scalars: Record<string, number> };
    };
  };
  readonly canvas?: { readonly width: number; readonly height: number };
  readonly passInitialLoss?: LossBreakdown;
}

export interface Checkpoint<Job = unknown> {
  readonly manifest: CheckpointManifest<Job>;
  readonly state: RenderState;
}

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
  /** Before each write, in the run's folder (made by then): files the manifest's job refers to, say. */
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
}

/**
 * Writes a run's snapshots in the background, one at a time: due() is false while a write is in flight or the
 * interval has not passed, so the run loop never waits on the disk and never queues snapshots. A forced or final
 * snapshot (a paused or stopped run) waits for the write in flight and is always written.
 */
export class CheckpointWriter<Job = unknown> {
  readonly dir: string;
  /** States above this many bytes are handed over live (not copied) and the run waits for their write. */
  readonly copyLimitBytes: number;
  private lastMs = performance.now();
  private inFlight: Promise<void> | null = null;
  private closed = false;
  private generation = 0;
  /** Whether this writer has claimed the folder (written its pid to LOCK_FILE). */
  private claimed = false;
  private createdAt: string | null = null;
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
      .catch((error: unknown) => this.options.onError?.(error))
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

  /** Stops taking snapshots and waits for the write in flight (the checkpoint stays on disk). */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
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
    this.lastManifest = null;
    this.lastMs = -Infinity;
  }

  /** Closes and deletes the run's checkpoint folder (a finished run has nothing to resume). */
  async remove(): Promise<void> {
    await this.close();
    await rm(this.dir, { recursive: true, force: true });
  }

  private async write(state: RenderState, final: boolean): Promise<void> {
    const generation = ++this.generation;
    await mkdir(this.dir, { recursive: true });
    if (!this.claimed) {
      await writeFile(path.join(this.dir, LOCK_FILE), `${process.pid}\n`);
      // What a writer killed mid-write left (`.run-3.bin.<pid>.<hex>.tmp`): its pid is gone, so it is debris.
      await removeStaleTemporaries(this.dir);
      this.claimed = true;
    }
    await this.options.prepare?.(this.dir);
    const { run } = state.stage;
    const runBuffers: [string, Float32Array][] = [['image', run.image], ...Object.entries(run.optimizer.buffers).map(([k, b]): [string, Float32Array] => [`optimizer.${k}`, b])];
    const files: FileEntry[] = [await writeDataFile(this.dir, `run-${generation}.bin`, runBuffers)];
    if (state.canvas) {
      if (this.canvasWritten?.canvas !== state.canvas) {
        const { base, sum, coverage } = state.canvas;
        this.canvasWritten = { canvas: state.canvas, entry: await writeDataFile(this.dir, `canvas-${generation}.bin`, [['canvas.base', base], ['canvas.sum', sum], ['canvas.coverage', coverage]]) };
      }
      files.push(this.canvasWritten.entry);
    }
    // The data files' renames reach the disk before the manifest that names them can.
    await fsyncDirectory(this.dir);
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
    await writeFileAtomic(path.join(this.dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 1)}\n`);
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
        optimizer: { name: run.optimizer.name, iteration: run.optimizer.iteration, scalars: run.optimizer.scalars },
      },
    },
    ...(state.canvas ? { canvas: { width: state.canvas.width, height: state.canvas.height } } : {}),
    ...(state.passInitialLoss ? { passInitialLoss: state.passInitialLoss } : {}),
  };
}

/** Writes float32 buffers back to back into `name` (temp file, fsync, rename) and returns its manifest entry. */
async function writeDataFile(dir: string, name: string, buffers: readonly [string, Float32Array][]): Promise<FileEntry> {
  if (!LITTLE_ENDIAN_HOST) throw new NstError('RUNTIME_FAILURE', 'Checkpoints are written on little-endian machines only.');
  const temporary = temporaryPath(path.join(dir, name));
  const entries: BufferEntry[] = [];
  let offset = 0;
  let checksum = 0;
  try {
    const handle = await open(temporary, 'wx');
    try {
      for (const [key, buffer] of buffers) {
        const bytes = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
        checksum = crc32(bytes, checksum);
        await handle.write(bytes);
        entries.push({ key, offset, length: buffer.length });
        offset += buffer.length;
      }
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path.join(dir, name));
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
  return { name, bytes: offset * 4, crc32: checksum, buffers: entries };
}

// --- reading ---------------------------------------------------------------------------------------------------

const DEFAULT_WEIGHTS_REMEDY = 'Resume it with those weights, or discard it and start the run again.';

/**
 * Whether a checkpoint may go on with `current` weights: throws BAD_CHECKPOINT, naming both, when it was made with
 * other ones (its image and optimizer state belong to that network: going on would mix two); returns a one-line
 * warning for a checkpoint that does not record its weights (written before they were fingerprinted); else null.
 */
export function checkCheckpointWeights(manifest: CheckpointManifest, current: WeightsFingerprint, remedy: string = DEFAULT_WEIGHTS_REMEDY): string | null {
  const recorded = manifest.weights;
  if (!recorded) {
    return `Run ${manifest.runId}'s checkpoint does not say which weights it was made with (an older nst wrote it): it goes on with ${describeFingerprint(current)}.`;
  }
  if (recorded.sha256 === current.sha256) return null;
  throw new NstError(
    'BAD_CHECKPOINT',
    `Run ${manifest.runId} cannot be resumed with these weights: it was made with ${describeFingerprint(recorded)}, not ${describeFingerprint(current)}, and its image and optimizer state belong to that network. ${remedy}`,
  );
}

/** A BAD_CHECKPOINT error that names the run and what is wrong with its files. */
function corrupt(runId: string, why: string): NstError {
  return new NstError('BAD_CHECKPOINT', `Run ${runId} cannot be resumed: ${why}.`);
}

/** Reads and checks a run's manifest (not its data): for listings, and the first step of readCheckpoint. */
export async function readManifest<Job = unknown>(runId: string, root: string = dataDir()): Promise<CheckpointManifest<Job>> {
  const dir = runDir(runId, root);
  const dirStat = await stat(dir).catch(() => null);
  if (!dirStat?.isDirectory()) {
    throw new NstError('FILE_NOT_FOUND', `No run ${runId} in ${runsDir(root)}: \`nst runs\` lists the runs that can be resumed.`);
  }
  let text: string;
  try {
    text = await readFile(path.join(dir, MANIFEST_FILE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw corrupt(runId, `${dir} holds no ${MANIFEST_FILE} (the run stopped before its first checkpoint was complete)`);
    throw error;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw corrupt(runId, `${MANIFEST_FILE} is not valid JSON (${(error as Error).message})`);
  }
  const parsed = parseManifest(runId, value);
  if (!parsed.ok) throw corrupt(runId, `its ${MANIFEST_FILE} ${parsed.problem}`);
  const manifest: CheckpointManifest = parsed.manifest;
  // The job is the front end's to check (checkStylizeJob, say).
  return manifest as CheckpointManifest<Job>;
}

/** Reads a run's checkpoint: the manifest, then every data file, checked for length and CRC-32. */
export async function readCheckpoint<Job = unknown>(runId: string, root: string = dataDir()): Promise<Checkpoint<Job>> {
  const manifest = await readManifest<Job>(runId, root);
  const dir = runDir(runId, root);
  const buffers = new Map<string, Float32Array>();
  for (const file of manifest.files) {
    let bytes: Buffer;
    try {
      bytes = await readFile(path.join(dir, file.name));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw corrupt(runId, `its data file ${file.name} is missing`);
      throw error;
    }
    if (bytes.length !== file.bytes) throw corrupt(runId, `its data file ${file.name} holds ${bytes.length} bytes, the manifest says ${file.bytes} (the file was cut short or replaced)`);
    const actual = crc32(bytes);
    if (actual !== file.crc32) throw corrupt(runId, `its data file ${file.name} is corrupt (CRC-32 ${hex(actual)}, the manifest says ${hex(file.crc32)})`);
    // A copy into its own aligned buffer: readFile's Buffer may sit at any offset of a shared pool.
    const floats = new Float32Array(bytes.length / 4);
    new Uint8Array(floats.buffer).set(bytes);
    for (const entry of file.buffers) {
      if (entry.offset + entry.length > floats.length) throw corrupt(runId, `buffer ${entry.key} lies beyond the end of ${file.name}`);
      buffers.set(entry.key, floats.subarray(entry.offset, entry.offset + entry.length));
    }
  }
  const take = (key: string): Float32Array => {
    const buffer = buffers.get(key);
    if (!buffer) throw corrupt(runId, `the manifest names no "${key}" buffer`);
    return buffer;
  };
  const s = manifest.state;
  const optimizerBuffers: Record<string, Float32Array> = {};
  for (const [key, buffer] of buffers) if (key.startsWith('optimizer.')) optimizerBuffers[key.slice('optimizer.'.length)] = buffer;
  const state: RenderState = {
    plan: s.plan,
    phase: s.phase,
    stage: {
      index: s.stage.index,
      iterationsBefore: s.stage.iterationsBefore,
      run: {
        iteration: s.stage.run.iteration,
        image: take('image'),
        optimizer: { ...s.stage.run.optimizer, buffers: optimizerBuffers },
        objectiveScale: s.stage.run.objectiveScale,
        carried: s.stage.run.carried,
        initialLoss: s.stage.run.initialLoss,
        weights: s.stage.run.weights,
      },
    },
    ...(s.phase === 'tile'
      ? {
          canvas: { width: s.canvas!.width, height: s.canvas!.height, base: take('canvas.base'), sum: take('canvas.sum'), coverage: take('canvas.coverage') },
          passInitialLoss: s.passInitialLoss!,
        }
      : {}),
  };
  return { manifest, state };
}

function hex(n: number): string {
  return `0x${(n >>> 0).toString(16).padStart(8, '0')}`;
}

export interface CheckpointSummary<Job = unknown> {
  readonly runId: string;
  readonly dir: string;
  /** Present when the manifest could be read. */
  readonly manifest?: CheckpointManifest<Job>;
  /** Why the run cannot be resumed (a torn first checkpoint, a corrupt manifest). */
  readonly problem?: string;
}

/** Every run folder under <root>/runs, newest first, with its manifest or the reason it cannot be read. */
export async function listCheckpoints<Job = unknown>(root: string = dataDir()): Promise<CheckpointSummary<Job>[]> {
  let names: string[];
  try {
    names = await readdir(runsDir(root));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const out: CheckpointSummary<Job>[] = [];
  for (const runId of names.filter((n) => RUN_ID_PATTERN.test(n)).sort().reverse()) {
    const dir = path.join(runsDir(root), runId);
    try {
      out.push({ runId, dir, manifest: await readManifest<Job>(runId, root) });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOTDIR' || (error instanceof NstError && error.code === 'FILE_NOT_FOUND')) continue;
      out.push({ runId, dir, problem: error instanceof Error ? error.message : String(error) });
    }
  }
  return out;
}

/**
 * The pid of another live process that writes this run's checkpoints, or null (none, this one, or a dead one:
 * a crashed run's lock is stale). A pid reused by an unrelated process reads as live: the message names it.
 */
export async function runOwner(runId: string, root: string = dataDir()): Promise<number | null> {
  let text: string;
  try {
    text = await readFile(path.join(runDir(runId, root), LOCK_FILE), 'utf8');
  } catch {
    return null;
  }
  const pid = Number(text.trim());
  if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid) return null;
  return (await isProcessAlive(pid)) ? pid : null;
}

/** Throws BAD_ARGUMENT when another live process is still writing the run (resuming it would make two). */
export async function checkNotRunning(runId: string, root: string = dataDir()): Promise<void> {
  const pid = await runOwner(runId, root);
  if (pid !== null) {
    throw new NstError('BAD_ARGUMENT', `Run ${runId} is still running in process ${pid}: let it finish, or stop it, before resuming it.`);
  }
}

/** Deletes a run's checkpoint folder (nothing when it is already gone). */
export async function removeCheckpoint(runId: string, root: string = dataDir()): Promise<void> {
  await rm(runDir(runId, root), { recursive: true, force: true });
}
