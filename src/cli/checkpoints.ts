// `nst stylize` checkpoints: what a run saves to finish itself later (`nst resume RUN_ID`), and when it deletes it.

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import * as v from 'valibot';
import { asNstError, CheckpointWriter, newRunId, parseCheckpointJob, type Checkpoint, type CheckpointManifest, type RenderPlan, type RenderState, type RunLock, type RunResult, NstError } from '../engine/index.js';
import { parseNumber } from './parse.js';
import { say } from './output.js';

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

// Messages are predicates: parseCheckpointJob puts the field's path before them ("its job.stylePaths[0] must be …").
const objectMessage = (shape: string) => (issue: v.BaseIssue<unknown>): string => (issue.expected?.startsWith('"') ? 'is missing' : `must be ${shape}`);
const absolutePath = v.pipe(
  v.string('must be an absolute path'),
  v.check((p) => path.isAbsolute(p), 'must be an absolute path'),
);

const StylizeJobSchema = v.object(
  {
    kind: v.literal('nst-stylize', 'must be "nst-stylize"'),
    contentPath: absolutePath,
    stylePaths: v.array(absolutePath, 'must be a list of absolute paths'),
    options: v.record(v.string(), v.union([v.string(), v.boolean()], 'must be text or true/false'), 'must be an object of option values'),
    inputs: v.array(
      v.object(
        { path: absolutePath, sha256: v.pipe(v.string('must be a SHA-256 in hex'), v.regex(/^[0-9a-f]{64}$/, 'must be a SHA-256 in hex')) },
        objectMessage('an object {path, sha256}'),
      ),
      'must be a list of the input images and their SHA-256',
    ),
  },
  objectMessage('an object'),
) satisfies v.GenericSchema<unknown, StylizeJob>;

export function addCheckpointOption(command: Command): Command {
  return command.option(
    '--checkpoint-every <seconds>',
    `save the run's state to the data folder every N seconds and when it is stopped, so \`nst resume RUN_ID\` can finish it after a crash or a stop (0 = off; default ${DEFAULT_CHECKPOINT_EVERY_S})`,
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

/** A run `nst resume` continues: its checkpoint, read while owning the run (takeRun, before any work). */
export interface ResumedRun extends Checkpoint<StylizeJob> {
  readonly lock: RunLock;
}

/** Options whose values are paths, resolved against the directory the run was started from. */
const PATH_OPTIONS = ['output', 'weights', 'framesDir', 'video', 'contentMask'] as const;

export interface CliCheckpoints {
  readonly runId: string;
  /** Whether this run writes checkpoints (off: --checkpoint-every 0). */
  readonly enabled: boolean;
  /** For renderStyleTransfer: the sink (when checkpoints are on) and the state to continue from (on resume). */
  readonly renderOptions: { checkpoint?: CheckpointWriter<StylizeJob>; resume?: RenderState };
  /**
   * After the output is written: a finished run deletes its checkpoint; a stopped one keeps it (its final snapshot,
   * else the last one written) and returns its manifest (null: none was written).
   */
  finish(result: RunResult): Promise<CheckpointManifest<StylizeJob> | null>;
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
  readonly totalIterations: (plan: RenderPlan) => number;
  /** Resolves once the timelapse frames taken so far are on disk (--video): each checkpoint waits for it. */
  readonly framesSettled?: () => Promise<void>;
  readonly resume?: ResumedRun;
}): Promise<CliCheckpoints> {
  const text = args.raw as Record<string, string | undefined>;
  const everyS = text.checkpointEvery === undefined ? DEFAULT_CHECKPOINT_EVERY_S : parseCheckpointEvery(text.checkpointEvery);
  const resume = args.resume;
  const runId = resume?.manifest.runId ?? newRunId();
  if (resume) {
    const { manifest } = resume;
    const of = manifest.progress;
    say(`resuming run ${runId} at iteration ${of.iteration} of ${of.totalIterations}${manifest.stopped ? ' (it was stopped)' : ''}, from its checkpoint of ${manifest.updatedAt}`);
  }
  let writer: CheckpointWriter<StylizeJob> | undefined;
  if (everyS > 0) {
    const options: Record<string, string | boolean> = {};
    for (const [key, value] of Object.entries(args.raw)) if (value !== undefined) options[key] = value;
    for (const key of PATH_OPTIONS) if (typeof options[key] === 'string') options[key] = path.resolve(options[key]);
    if (typeof options.masks === 'string') options.masks = options.masks.split(',').map((p) => path.resolve(p.trim())).join(',');
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
    // A checkpoint that cannot be written is said, and the run goes on (the next one is tried as usual).
    const cannotWrite = (error: unknown): void => {
      const said = asNstError(error);
      say(`could not write checkpoint of run ${runId} (the run goes on): ${said instanceof Error ? said.message : String(said)}`);
    };
    // --json runs say nothing on stderr for it (scripts find the id in the final line, or with `nst runs --json`).
    let told = resume !== undefined || args.raw.json === true;
    writer = new CheckpointWriter<StylizeJob>({
      runId,
      job,
      everyMs: everyS * 1000,
      totalIterations: args.totalIterations,
      // Said once, at the first checkpoint: before it there is nothing to resume. A stopped run's own snapshot is said
      // in its stopped line instead.
      onSaved: (manifest) => {
        if (told || manifest.stopped) return;
        told = true;
        say(`run ${runId} is checkpointed every ${everyS} s to ${writer!.dir}; if it is interrupted, finish it with: nst resume ${runId}`);
      },
      onError: cannotWrite,
      weightsRemedy: weightsRemedy(runId, job.options.weights),
      ...(args.framesSettled ? { prepare: args.framesSettled } : {}),
      command: resume ? `nst resume ${runId}` : 'nst stylize',
      ...(resume ? { lock: resume.lock } : {}),
    });
    if (resume) writer.continueFrom(resume.manifest as CheckpointManifest);
    // A new run's folder, with its owner, before any file of the run is made (its --video spool): whatever a kill
    // leaves from here on is either resumable or known to be debris. Opened before the run, the first checkpoint
    // has no file step to wait an evaluation for (a resumed run's sweep of dead writers' temporaries included).
    await writer.open().catch(cannotWrite);
  }
  return {
    runId,
    enabled: writer !== undefined,
    renderOptions: { ...(writer ? { checkpoint: writer } : {}), ...(resume ? { resume: resume.state } : {}) },
    finish: async (result) => {
      if (!writer) return null;
      // A stopped run keeps its checkpoint: its final snapshot, or (if that could not be written) the one before it.
      if (result.stopped) {
        await writer.close();
        return writer.last;
      }
      await writer.remove();
      return null;
    },
    abandon: async () => {
      if (!writer) return;
      await writer.close();
      if (writer.last) say(`run ${runId} keeps its checkpoint at iteration ${writer.last.progress.iteration}: nst resume ${runId}`);
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
 * A checkpoint's job, parsed, before its run is resumed: it must be a `nst stylize` job (BAD_CHECKPOINT naming the
 * first field that is wrong) whose input images are still the files the run started from.
 */
export async function checkStylizeJob(runId: string, value: unknown): Promise<StylizeJob> {
  const bad = (why: string): NstError => new NstError('BAD_CHECKPOINT', `Run ${runId} cannot be resumed: ${why}.`);
  // Another front end's job is not a malformed one: said as what it is.
  const kind = typeof value === 'object' && value !== null ? (value as { kind?: unknown }).kind : undefined;
  if (kind !== undefined && kind !== 'nst-stylize') throw bad(`it is a ${JSON.stringify(kind)} job, not an \`nst stylize\` run (resume it where it was started)`);
  const job = parseCheckpointJob(runId, StylizeJobSchema, value);
  for (const input of job.inputs) {
    let now: string;
    try {
      now = await sha256(input.path);
    } catch {
      throw new NstError('FILE_NOT_FOUND', `Run ${runId} cannot be resumed: its input image ${input.path} is gone.`);
    }
    if (now !== input.sha256) throw bad(`its input image ${input.path} has changed since the run started`);
  }
  return job;
}
