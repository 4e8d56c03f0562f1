// The crash harness as a library: set up (inputs, the uninterrupted references, the tolerance they imply), then
// run seeded kills until N landed. The script (bench/crash-harness.ts) and the CI test both drive it.

import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../tests/helpers/shared-data.js';
import { findProbeTools } from '../../tests/helpers/video-probe.js';
import type { Failure, Tolerance } from './checks.js';
import { diffRgb, type ImageDiff } from './files.js';
import { prepareInputs, type JobKind, type JobScale } from './jobs.js';
import { planTrial } from './plan.js';
import { runReference, runTrial, type HarnessContext, type Reference, type TrialResult } from './trial.js';

/**
 * The least difference allowed between a finished job and its reference, levels of 255: one level, for a value
 * that rounds to the other side of .5 after a resumed run's last float differs in its last bit. The measured
 * run-to-run difference (twice it) is taken instead when the engine is less deterministic than that.
 */
export const TOLERANCE_FLOOR = 1;

export interface HarnessSetup {
  readonly ctx: HarnessContext;
  readonly references: ReadonlyMap<JobKind, Reference>;
  /** The largest difference between two uninterrupted runs of one job, per kind (null: measured once only). */
  readonly determinism: ReadonlyMap<JobKind, ImageDiff | null>;
  /** What the references themselves left behind (a clean run's debris). */
  readonly referenceFailures: readonly { kind: JobKind; failure: Failure }[];
  /** Kinds left out, and why (no ffmpeg for the video). */
  readonly skipped: readonly { kind: JobKind; reason: string }[];
}

export interface SetupOptions {
  readonly workDir: string;
  readonly scale: JobScale;
  readonly kinds: readonly JobKind[];
  /** Uninterrupted runs per kind: 2 measures how deterministic the engine is; 1 takes TOLERANCE_FLOOR. */
  readonly referenceRuns: 1 | 2;
  readonly keepFailed: boolean;
  /** Build the CLI first (node scripts/build-cli.mjs). */
  readonly build: boolean;
  /** Reference runs at once (each nst uses one thread). */
  readonly parallel?: number;
  readonly log: (line: string) => void;
}

export async function setUpHarness(options: SetupOptions): Promise<HarnessSetup> {
  if (options.build) execFileSync(process.execPath, ['scripts/build-cli.mjs'], { cwd: REPO_ROOT, stdio: 'inherit' });
  mkdirSync(options.workDir, { recursive: true });
  const tools = await findProbeTools();
  const ffmpeg = 'ffmpeg' in tools ? tools.ffmpeg : null;
  const skipped = !ffmpeg && options.kinds.includes('video') ? [{ kind: 'video' as const, reason: 'reason' in tools ? tools.reason : 'no ffmpeg' }] : [];
  const inputs = await prepareInputs(path.join(options.workDir, 'inputs'), ffmpeg);
  const kinds = options.kinds.filter((k) => !skipped.some((s) => s.kind === k));
  const references = new Map<JobKind, Reference>();
  const determinism = new Map<JobKind, ImageDiff | null>();
  const referenceFailures: { kind: JobKind; failure: Failure }[] = [];
  // The tolerance is decided from the references, so the context's is filled in once they are measured.
  const ctx = { workDir: options.workDir, inputs, scale: options.scale, ffmpeg, tolerance: { maxAbs: TOLERANCE_FLOOR }, keepFailed: options.keepFailed };
  await inPool(kinds, options.parallel ?? 1, async (kind) => {
    const runs: Reference[] = [];
    for (let i = 1; i <= options.referenceRuns; i++) {
      const { reference, failures } = await runReference(ctx, kind, String(i));
      runs.push(reference);
      referenceFailures.push(...failures.map((failure) => ({ kind, failure })));
      options.log(`reference ${kind} #${i}: ${reference.ms} ms, ${reference.iterationLines} iteration lines, ${reference.newFiles} new names${failures.length ? `; ${failures.length} problems: ${failures.map((f) => f.reason).join('; ')}` : ''}`);
    }
    references.set(kind, runs[0]!);
    determinism.set(kind, runs.length > 1 ? compareReferences(runs[0]!, runs[1]!) : null);
  });
  const worst = Math.max(0, ...[...determinism.values()].map((d) => d?.maxAbs ?? 0));
  const tolerance: Tolerance = { maxAbs: Math.max(TOLERANCE_FLOOR, 2 * worst) };
  return { ctx: { ...ctx, tolerance }, references, determinism, referenceFailures, skipped };
}

/** The largest difference between two uninterrupted runs' results, over every output (frames too). */
function compareReferences(a: Reference, b: Reference): ImageDiff {
  let maxAbs = 0;
  let meanAbs = 0;
  for (const [file, result] of a.results) {
    const other = b.results.get(file);
    const diff = other ? diffRgb(result.image, other.image) : null;
    if (!diff) throw new Error(`two uninterrupted runs of one job wrote ${file} in different sizes`);
    maxAbs = Math.max(maxAbs, diff.maxAbs);
    meanAbs = Math.max(meanAbs, diff.meanAbs);
  }
  return { maxAbs, meanAbs };
}

export interface KillOptions {
  readonly seed: number;
  /** Kills to land (a job that ends before its kill point is not counted and another trial is drawn). */
  readonly kills: number;
  readonly kinds: readonly JobKind[];
  /** Run just these trial indices (reproducing a failure), instead of drawing until `kills` landed. */
  readonly only?: readonly number[];
  /** Trials run at once (each nst uses one thread); 1 keeps time offsets closest to the references'. */
  readonly parallel?: number;
  readonly onTrial?: (result: TrialResult) => void;
}

/** Calls `fn` on each item, `n` at a time. */
async function inPool<T>(items: readonly T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.max(1, n) }, worker));
}

/** Runs trials in index order (several at once with `parallel`) until `kills` landed; results sorted by index. */
export async function runKills(setup: HarnessSetup, options: KillOptions): Promise<TrialResult[]> {
  const kinds = options.kinds.filter((k) => setup.references.has(k));
  if (kinds.length === 0) return [];
  const results: TrialResult[] = [];
  const only = options.only ?? null;
  // Trials whose job ends before the kill are redrawn; give up past twice the kills asked for.
  const limit = only ? only.length : 2 * options.kills + 8;
  let next = 0;
  let landed = 0;
  let running = 0;
  const more = (): boolean => next < limit && (only !== null || landed + running < options.kills);
  const worker = async (): Promise<void> => {
    while (more()) {
      const index = only ? only[next++]! : next++;
      running++;
      const spec = planTrial(options.seed, index, kinds, setup.references);
      // A trial the harness itself could not carry through is a failed trial, not the end of the run.
      const result = await runTrial(setup.ctx, spec, setup.references.get(spec.kind)!)
        .catch((error: unknown): TrialResult => ({ spec, killed: true, ok: false, failures: [{ check: 'setup', reason: `the harness failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}` }], steps: [], finishedBy: null, diff: null, seconds: 0, keptDir: null }))
        .finally(() => running--);
      results.push(result);
      if (result.killed) landed++;
      options.onTrial?.(result);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.parallel ?? 1) }, worker));
  return results.sort((a, b) => a.spec.index - b.spec.index);
}
