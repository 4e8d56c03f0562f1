// `nst stylize` checkpoints: what a run saves to finish itself later (`nst resume RUN_ID`), and when it deletes it.

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { CheckpointWriter, newRunId, type Checkpoint, type CheckpointManifest, type RenderPlan, type RenderState, type RunResult, NstError } from '../engine/index.js';
import { parseNumber } from './parse.js';

export const DEFAULT_CHECKPOINT_EVERY_S = 60;

/** The job a `nst stylize` checkpoint carries: the command as it was parsed, with every path made absolute. */
export interface StylizeJob {
  readonly kind: 'nst-stylize';
  readonly contentPath: string;
  readonly stylePaths: readonly string[];
  /** The command's option values (after presets), relative paths resolved, so `resume` parses them exactly again. */
  readonly options: Record<string, string | boolean>;
  /** SHA-256 of each input image when the run started: resuming against edited inputs would mix two jobs. */
  readonly inputs: readonly { readonly path: string; readonly sha256: string }[];
}

export function addCheckpointOption(command: Command): Command {
  return command.option(
    '--checkpoint-every <seconds>',
    `save the run's state every N seconds to the data folder, so \`nst resume RUN_ID\` can finish it after a crash (0 = off; default ${DEFAULT_CHECKPOINT_EVERY_S}; off with --video)`,
    // Checked as it is parsed, so a bad value fails before any image is read; kept as text for the job record.
    (text: string) => String(parseCheckpointEvery(text)),
  );
}

function parseCheckpointEvery(text: string): number {
  return parseNumber('--checkpoint-every', text, { min: 0, max: 86_400 });
}

async function sha256(file: string): Promise<string> {
  return createHash('sha256').update(await readFile(file)).digest('hex');
}

/** Options whose values are paths, resolved against the directory the run was started from. */
const PATH_OPTIONS = ['output', 'weights', 'framesDir'] as const;

export interface CliCheckpoints {
  readonly runId: string;
  /** Whether this run writes checkpoints (off: --checkpoint-every 0, or --video). */
  readonly enabled: boolean;
  /** For renderStyleTransfer: the sink (when checkpoints are on) and the state to continue from (on resume). */
  readonly renderOptions: { checkpoint?: CheckpointWriter<StylizeJob>; resume?: RenderState };
  /** Iterations the stages before the resumed one ran (0 for a fresh run): where the CLI's count continues. */
  readonly iterationsBefore: number;
  /** After the output is written: a finished run deletes its checkpoint; a stopped one keeps its final snapshot. */
  finish(result: RunResult): Promise<void>;
  /** After a failure: waits for the write in flight and keeps the checkpoint (the run may be resumed). */
  abandon(): Promise<void>;
}

/**
 * Sets up checkpoints for a stylize run (a fresh one, or one resumed from `resume`). `raw` holds the parsed
 * option values; NST_WEIGHTS is written into the job as --weights, so the resumed run loads the same file.
 */
export async function openCheckpoints(args: {
  readonly contentPath: string;
  readonly stylePaths: readonly string[];
  readonly raw: Record<string, string | boolean | undefined>;
  readonly video: boolean;
  readonly totalIterations: (plan: RenderPlan) => number;
  readonly resume?: Checkpoint<StylizeJob>;
}): Promise<CliCheckpoints> {
  const text = args.raw as Record<string, string | undefined>;
  let everyS = text.checkpointEvery === undefined ? DEFAULT_CHECKPOINT_EVERY_S : parseCheckpointEvery(text.checkpointEvery);
  if (args.video && everyS > 0) {
    if (text.checkpointEvery !== undefined) throw new NstError('BAD_ARGUMENT', '--checkpoint-every: runs that make a --video are not checkpointed (their frames are not kept); leave out one of the two.');
    everyS = 0;
  }
  const resume = args.resume;
  const runId = resume?.manifest.runId ?? newRunId();
  const iterationsBefore = resume ? resume.state.stage.iterationsBefore : 0;
  if (resume) {
    const { manifest } = resume;
    const of = manifest.progress;
    process.stderr.write(`nst: resuming run ${runId} at iteration ${of.iteration} of ${of.totalIterations}${manifest.stopped ? ' (it was stopped)' : ''}, from its checkpoint of ${manifest.updatedAt}\n`);
  }
  let writer: CheckpointWriter<StylizeJob> | undefined;
  if (everyS > 0) {
    const options: Record<string, string | boolean> = {};
    for (const [key, value] of Object.entries(args.raw)) if (value !== undefined) options[key] = value;
    for (const key of PATH_OPTIONS) if (typeof options[key] === 'string') options[key] = path.resolve(options[key]);
    const weightsFromEnv = options.weights === undefined && process.env.NST_WEIGHTS ? path.resolve(process.env.NST_WEIGHTS) : undefined;
    if (weightsFromEnv) options.weights = weightsFromEnv;
    const contentPath = path.resolve(args.contentPath);
    const stylePaths = args.stylePaths.map((p) => path.resolve(p));
    const job: StylizeJob = resume?.manifest.job ?? {
      kind: 'nst-stylize',
      contentPath,
      stylePaths,
      options,
      inputs: await Promise.all([contentPath, ...stylePaths].map(async (p) => ({ path: p, sha256: await sha256(p) }))),
    };
    // --json runs say nothing on stderr for it (scripts find the id in the final line, or with `nst runs --json`).
    let told = resume !== undefined || args.raw.json === true;
    writer = new CheckpointWriter<StylizeJob>({
      runId,
      job,
      everyMs: everyS * 1000,
      totalIterations: args.totalIterations,
      // Said once, at the first checkpoint: before it there is nothing to resume.
      onSaved: () => {
        if (told) return;
        told = true;
        process.stderr.write(`nst: run ${runId} is checkpointed every ${everyS} s to ${writer!.dir}; if it is interrupted, finish it with: nst resume ${runId}\n`);
      },
      onError: (error) => void process.stderr.write(`nst: could not write checkpoint of run ${runId} (the run goes on): ${error instanceof Error ? error.message : String(error)}\n`),
      weightsRemedy: weightsRemedy(runId, job.options.weights),
    });
    if (resume) writer.continueFrom(resume.manifest as CheckpointManifest);
  }
  return {
    runId,
    enabled: writer !== undefined,
    iterationsBefore,
    renderOptions: { ...(writer ? { checkpoint: writer } : {}), ...(resume ? { resume: resume.state } : {}) },
    finish: async (result) => {
      if (!writer) return;
      await writer.close();
      if (result.stopped && writer.last?.stopped) {
        process.stderr.write(`nst: stopped at iteration ${writer.last.progress.iteration} of ${writer.last.progress.totalIterations}; finish it with: nst resume ${runId}\n`);
        return;
      }
      await writer.remove();
    },
    abandon: async () => {
      if (!writer) return;
      await writer.close();
      if (writer.last) process.stderr.write(`nst: run ${runId} keeps its checkpoint at iteration ${writer.last.progress.iteration}: nst resume ${runId}\n`);
    },
  };
}

/** How to resume a run refused for its weights: they are loaded from the job's --weights, else the installed ones. */
function weightsRemedy(runId: string, weights: string | boolean | undefined): string {
  const again = `run \`nst resume ${runId}\` again, or delete the run (\`nst runs --remove ${runId}\`) and start it afresh.`;
  if (typeof weights === 'string') return `It loads its weights from ${weights}: put those weights back there and ${again}`;
  const env = process.env.NST_WEIGHTS ? ' (or unset NST_WEIGHTS, which it loads instead)' : '';
  return `It loads the installed weights: install those again with \`nst weights import PATH\`${env} and ${again}`;
}

/**
 * Checks a checkpoint's job before resuming it: it must be a `nst stylize` job whose input images are still the
 * files the run started from.
 */
export async function checkStylizeJob(runId: string, job: unknown): Promise<StylizeJob> {
  const bad = (why: string): NstError => new NstError('BAD_CHECKPOINT', `Run ${runId} cannot be resumed: ${why}.`);
  if (typeof job !== 'object' || job === null) throw bad('its checkpoint holds no job');
  const j = job as Record<string, unknown>;
  if (j.kind !== 'nst-stylize') throw bad(`it is a ${JSON.stringify(j.kind)} job, not an \`nst stylize\` run (resume it where it was started)`);
  const isPaths = (v: unknown): v is string[] => Array.isArray(v) && v.every((p) => typeof p === 'string' && path.isAbsolute(p));
  if (typeof j.contentPath !== 'string' || !isPaths(j.stylePaths) || !isPaths([j.contentPath])) throw bad('its job lacks absolute content and style paths');
  if (typeof j.options !== 'object' || j.options === null || Object.values(j.options).some((v) => typeof v !== 'string' && typeof v !== 'boolean')) throw bad('its job lacks its options');
  if (!Array.isArray(j.inputs)) throw bad('its job lacks the input images\' checksums');
  for (const input of j.inputs as { path?: unknown; sha256?: unknown }[]) {
    if (typeof input.path !== 'string' || typeof input.sha256 !== 'string') throw bad('its job lacks the input images\' checksums');
    let now: string;
    try {
      now = await sha256(input.path);
    } catch {
      throw new NstError('FILE_NOT_FOUND', `Run ${runId} cannot be resumed: its input image ${input.path} is gone.`);
    }
    if (now !== input.sha256) throw bad(`its input image ${input.path} has changed since the run started`);
  }
  return job as StylizeJob;
}
