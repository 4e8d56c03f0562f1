// One crash trial: run a job, kill -9 it at a seeded point, check the user's files, finish the job as the docs say,
// compare with an uninterrupted reference and look for debris. Also the references and the seeded plan of trials.

import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { batchManifestDone, checkDebris, checkIntact, checkSameResult, readResult, snapshotUserFiles, type Failure, type Result, type Tolerance } from './checks.js';
import { jobFor, layTrial, trialEnv, type Inputs, type Job, type JobKind, type JobScale } from './jobs.js';
import { runNst, type KillPoint, type NstRun, type NstRunOptions } from './nst-process.js';
import { forResume } from './plan.js';
import type { ImageDiff } from './files.js';

export interface HarnessContext {
  /** Trials and references are made under it. */
  readonly workDir: string;
  readonly inputs: Inputs;
  readonly scale: JobScale;
  /** The system's ffmpeg, to decode videos (null: no video jobs). */
  readonly ffmpeg: string | null;
  readonly tolerance: Tolerance;
  /** Keep a failed trial's folder to look at (a passed one is always removed). */
  readonly keepFailed: boolean;
}

/** An uninterrupted run of a job: its results, and the figures kill points are drawn from. */
export interface Reference {
  readonly kind: JobKind;
  readonly results: ReadonlyMap<string, Result>;
  readonly ms: number;
  readonly iterationLines: number;
  readonly newFiles: number;
}

export interface TrialSpec {
  readonly index: number;
  readonly kind: JobKind;
  readonly seed: number;
  readonly kill: KillPoint;
  /** The resume job: the checkpoint iteration its first (stylize) run is killed at, before its resume is killed. */
  readonly setupIteration?: number;
  /** False: the job runs with --checkpoint-every 0 (the video job every other turn; its reference is the same). */
  readonly checkpoints: boolean;
}

export interface StepRecord {
  readonly command: string;
  readonly exit: string;
  readonly killed: boolean;
  readonly landed: string | null;
  readonly ms: number;
  /** Its stderr, first lines (the notes a user would read: a lock taken over, a resumption). */
  readonly said: string;
}

export interface TrialResult {
  readonly spec: TrialSpec;
  /** False when the job ended before the kill point (not a kill; not counted). */
  readonly killed: boolean;
  readonly ok: boolean;
  readonly failures: readonly Failure[];
  readonly steps: readonly StepRecord[];
  /** How the job was finished after the kill: resume RUN_ID, or the same command again. */
  readonly finishedBy: string | null;
  readonly diff: ImageDiff | null;
  readonly seconds: number;
  /** A failed trial's folder, when kept. */
  readonly keptDir: string | null;
}

/** Runs the job uninterrupted in a fresh folder: the reference (checked for debris like any trial). */
export async function runReference(ctx: HarnessContext, kind: JobKind, tag: string): Promise<{ reference: Reference; failures: Failure[] }> {
  const job = jobFor(kind, ctx.scale);
  const root = path.join(ctx.workDir, `reference-${kind}-${tag}`);
  rmSync(root, { recursive: true, force: true });
  layTrial(root, ctx.inputs, job);
  const options = runOptions(root);
  const run = await runNst(job.args, options);
  const failures: Failure[] = [];
  if (run.code !== 0) throw new Error(`the uninterrupted ${kind} job failed (exit ${exitOf(run)}): ${lastLine(run.stderr)}`);
  const results = new Map<string, Result>();
  for (const output of job.outputs) results.set(output.file, await readResult(ctx.ffmpeg, path.join(root, output.file), output.type));
  failures.push(...checkDebris(root, job, await listRuns(options)));
  if (run.outlived) failures.push({ check: 'process', reason: 'a process it started outlived it' });
  rmSync(root, { recursive: true, force: true });
  return { reference: { kind, results, ms: run.ms, iterationLines: run.iterationLines, newFiles: run.newFiles }, failures };
}

/** One seeded kill and the checks after it. */
export async function runTrial(ctx: HarnessContext, spec: TrialSpec, reference: Reference): Promise<TrialResult> {
  const started = performance.now();
  const job = jobFor(spec.kind, ctx.scale, spec.checkpoints);
  const root = path.join(ctx.workDir, `trial-${String(spec.index).padStart(4, '0')}-${spec.kind}`);
  rmSync(root, { recursive: true, force: true });
  layTrial(root, ctx.inputs, job);
  const userFiles = snapshotUserFiles(root);
  const options = runOptions(root);
  const steps: StepRecord[] = [];
  const failures: Failure[] = [];
  const record = (run: NstRun): NstRun => {
    steps.push(stepOf(run));
    if (run.outlived) failures.push({ check: 'process', reason: `a process started by \`nst ${run.args.join(' ')}\` outlived it` });
    if (run.timedOut) failures.push({ check: 'finish', reason: `\`nst ${run.args.join(' ')}\` did not end within its time limit (hung)` });
    return run;
  };
  const result = (killed: boolean, finishedBy: string | null, diff: ImageDiff | null): TrialResult => {
    const ok = failures.length === 0;
    const keep = !ok && ctx.keepFailed && killed;
    if (!keep) rmSync(root, { recursive: true, force: true });
    // A check run twice (after the kill and after the finish) says a lasting problem once.
    const unique = failures.filter((f, i) => failures.findIndex((g) => g.check === f.check && g.reason === f.reason) === i);
    return { spec, killed, ok, failures: unique, steps, finishedBy, diff, seconds: Math.round((performance.now() - started) / 100) / 10, keptDir: keep ? root : null };
  };

  // The job, killed at the spec's point (the resume job: killed once at a checkpoint, then its resume is).
  let killedRun: NstRun;
  if (spec.kind === 'resume') {
    const first = record(await runNst(job.args, { ...options, kill: { at: 'checkpoint', iteration: spec.setupIteration ?? 1 } }));
    if (!first.killed) {
      failures.push({ check: 'setup', reason: `the run ended (exit ${exitOf(first)}) before a checkpoint at iteration ${spec.setupIteration} appeared` });
      return result(false, null, null);
    }
    failures.push(...(await checkIntact(root, userFiles, job, reference.results, ctx.ffmpeg)));
    const listed = await listRunRecords(options);
    const at = listed[0]?.iteration;
    if (listed.length === 0) {
      // The checkpoint was its last: the run had finished and was deleting its folder when it was killed. That kill
      // is the trial's (nothing is left to resume, the same command again finishes the job).
      killedRun = first;
    } else if (listed.length !== 1 || typeof at !== 'number') {
      failures.push({ check: 'finish', reason: `after a kill with its checkpoint on disk, nst runs lists ${listed.length} runs${listed.length === 1 ? ` (${String(listed[0]!.problem)})` : ''}` });
      return result(true, null, null);
    } else {
      const kill = forResume(spec.kill, 1 - at / reference.iterationLines);
      killedRun = record(await runNst(['resume', String(listed[0]!.runId), '--json'], { ...options, kill }));
    }
  } else {
    killedRun = record(await runNst(job.args, { ...options, kill: spec.kill }));
  }
  if (!killedRun.killed) return result(false, null, null);

  // (a) right after the kill.
  failures.push(...(await checkIntact(root, userFiles, job, reference.results, ctx.ffmpeg)));
  const batchAtKill = job.kind === 'batch' ? batchManifestDone(root) : null;
  if (batchAtKill && 'check' in batchAtKill) failures.push(batchAtKill);

  // (b) finish it as the docs say, then compare.
  const finished = await finish(job, options, record, failures);
  // Finished items are not redone: the rerun skips at least those the manifest had done at the kill.
  if (batchAtKill && !('check' in batchAtKill) && finished.skipped !== null && finished.skipped < batchAtKill.done) {
    failures.push({ check: 'finish', reason: `the batch's manifest said ${batchAtKill.done} items were done at the kill, but its rerun skipped only ${finished.skipped} (finished work redone)` });
  }
  let diff: ImageDiff | null = null;
  if (!failures.some((f) => f.check === 'finish')) {
    const same = await checkSameResult(root, job, reference.results, ctx.tolerance, ctx.ffmpeg);
    failures.push(...same.failures);
    diff = same.worst;
  }
  // (a) again, and (c) once the job is finished.
  failures.push(...(await checkIntact(root, userFiles, job, reference.results, ctx.ffmpeg)));
  failures.push(...checkDebris(root, job, await listRuns(options)));
  return result(true, finished.by, diff);
}

/**
 * Finishes the job as a user following the docs would: `nst resume RUN_ID` for each run `nst runs` lists for it,
 * else (and for a batch always) the same command again. Returns what was run (and a batch's count of items it
 * skipped as done); failures say why it could not finish.
 */
async function finish(job: Job, options: NstRunOptions, record: (run: NstRun) => NstRun, failures: Failure[]): Promise<{ by: string; skipped: number | null }> {
  if (job.finish === 'resume') {
    const runs = await listRunRecords(options);
    // A run folder without a manifest is a run killed before its first checkpoint was whole: nothing to resume (the
    // same command again finishes the job), so what it left is debris; a manifest that cannot be resumed is lost work.
    for (const run of runs.filter((r) => typeof r.problem === 'string')) {
      const hasManifest = existsSync(path.join(options.runsDir!, String(run.runId), 'checkpoint.json'));
      failures.push(
        hasManifest
          ? { check: 'finish', reason: `nst runs lists ${run.runId} as one that cannot be resumed: ${String(run.problem)}` }
          : { check: 'debris', reason: `a run folder without a checkpoint (killed before its first was whole) is listed as one that cannot be resumed and stays` },
      );
    }
    const resumable = runs.filter((r) => typeof r.problem !== 'string');
    if (resumable.length > 1) failures.push({ check: 'finish', reason: `nst runs lists ${resumable.length} runs for one job` });
    if (resumable.length > 0) {
      const id = String(resumable[0]!.runId);
      const resumed = record(await runNst(['resume', id, '--json'], options));
      if (resumed.code !== 0) failures.push({ check: 'finish', reason: `nst resume ${id} failed (exit ${exitOf(resumed)}): ${lastLine(resumed.stderr)}` });
      return { by: `nst resume ${id}`, skipped: null };
    }
  }
  const again = record(await runNst(job.args, options));
  if (again.code !== 0) failures.push({ check: 'finish', reason: `running the same command again failed (exit ${exitOf(again)}): ${lastLine(again.stderr)}` });
  const done = again.lines.find((l) => l.done === true);
  return { by: 'the same command again', skipped: typeof done?.skipped === 'number' ? done.skipped : null };
}

function runOptions(root: string): NstRunOptions {
  return { cwd: root, env: trialEnv(root), watch: root, runsDir: path.join(root, 'data', 'runs') };
}

async function listRunRecords(options: NstRunOptions): Promise<Record<string, unknown>[]> {
  const run = await runNst(['runs', '--json'], { cwd: options.cwd, env: options.env });
  if (run.code !== 0) throw new Error(`nst runs --json failed (exit ${exitOf(run)}): ${lastLine(run.stderr)}`);
  return [...run.lines];
}

async function listRuns(options: NstRunOptions): Promise<string[]> {
  return (await listRunRecords(options)).map((r) => String(r.runId));
}

function stepOf(run: NstRun): StepRecord {
  return {
    command: `nst ${run.args.join(' ')}`,
    exit: exitOf(run),
    killed: run.killed,
    landed: run.landed,
    ms: run.ms,
    said: run.stderr.split('\n').filter(Boolean).slice(0, 4).join('\n'),
  };
}

function exitOf(run: NstRun): string {
  return run.signal ? run.signal : String(run.code);
}

function lastLine(text: string): string {
  return text.trim().split('\n').at(-1)?.slice(0, 300) ?? '';
}
