// Run checkpoints on disk: what a manifest holds, and reading a run's checkpoint back, every file checked.
//
// A folder per run under <data dir>/runs/<RUN_ID>/ (run-folder.ts): raw little-endian float32 data files named by
// generation and a checkpoint.json manifest that names them with their length and CRC-32 (checkpoint-writer.ts
// writes them so that a kill or power cut leaves the previous checkpoint or the new one, never a mix).

import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { NstError } from '../errors.js';
import { CHECKPOINT_FORMAT, parseManifest } from './checkpoint-schema.js';
import { dataDir } from './data-dir.js';
import { isRunId, runDir, runsDir } from './run-folder.js';
import { describeFingerprint, type WeightsFingerprint } from '../weights/fingerprint.js';
import type { LossBreakdown, LossWeights } from '../model/objective.js';
import type { OptimizerName } from '../optim/types.js';
import type { RenderPlan, RenderState } from '../render/render.js';
import type { ConvergenceState } from '../render/convergence.js';
import type { Mask } from '../io/mask.js';
import type { LossMasks } from '../model/masks.js';

export const MANIFEST_FILE = 'checkpoint.json';

export interface BufferEntry {
  readonly key: string;
  /** Offset and length in float32 values. */
  readonly offset: number;
  readonly length: number;
}

export interface FileEntry {
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
export interface SerialState {
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
      /** Absent in checkpoints written before the adaptive stop. */
      readonly convergence?: ConvergenceState | null;
      readonly optimizer: { readonly name: OptimizerName; readonly iteration: number; readonly scalars: Record<string, number> };
    };
  };
  readonly canvas?: { readonly width: number; readonly height: number };
  readonly passInitialLoss?: LossBreakdown;
  /**
   * The run's masks' sizes (their values are buffers mask.style.K and mask.content); absent for a run without masks
   * and in checkpoints written before masks.
   */
  readonly masks?: { readonly styles: readonly MaskSize[]; readonly content: MaskSize | null };
}

export interface MaskSize {
  readonly width: number;
  readonly height: number;
}

export interface Checkpoint<Job = unknown> {
  readonly manifest: CheckpointManifest<Job>;
  readonly state: RenderState;
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
  const mask = (key: string, size: MaskSize): Mask => {
    const data = take(key);
    if (data.length !== size.width * size.height) throw corrupt(runId, `its ${key} buffer holds ${data.length} values, not the ${size.width}x${size.height} its manifest says`);
    return { width: size.width, height: size.height, data };
  };
  const masks: LossMasks | undefined = s.masks
    ? { ...(s.masks.styles.length > 0 ? { styles: s.masks.styles.map((size, k) => mask(`mask.style.${k}`, size)) } : {}), ...(s.masks.content ? { content: mask('mask.content', s.masks.content) } : {}) }
    : undefined;
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
        convergence: s.stage.run.convergence ?? null,
      },
    },
    ...(s.phase === 'tile'
      ? {
          canvas: { width: s.canvas!.width, height: s.canvas!.height, base: take('canvas.base'), sum: take('canvas.sum'), coverage: take('canvas.coverage') },
          passInitialLoss: s.passInitialLoss!,
        }
      : {}),
    ...(masks ? { masks } : {}),
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
  for (const runId of names.filter(isRunId).sort().reverse()) {
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
