// `nst resume RUN_ID` finishes a checkpointed `nst stylize` run; `nst runs` lists (and removes) checkpointed runs.

import { rm } from 'node:fs/promises';
import { Command } from 'commander';
import { checkRunId, dataDir, listCheckpoints, readCheckpoint, removeRun, runDir, runFramesDir, runOwner, runsDir, sweepAbandonedRuns, takeRun, type RunOwner } from '../../engine/index.js';
import { checkStylizeJob } from '../checkpoints.js';
import { say, writeJsonLine, writeText } from '../output.js';
import { stylize } from './stylize.js';
import { findVideoJob, resumeVideoJob } from './stylize-video.js';

export function resumeCommand(): Command {
  return new Command('resume')
    .description('finish a `nst stylize` run from its last checkpoint, or a `nst stylize-video` job from its last finished frame (after a crash, kill or Ctrl-C): same options, same output file')
    .argument('<run-id>', 'the run id `nst stylize` printed (see `nst runs`), or the job id or --frames-dir `nst stylize-video` printed')
    .option('--json', 'JSON lines as `nst stylize --json` prints them (default: as the run was started)')
    .option('--force', FORCE_HELP)
    .action(async (runId: string, options: { json?: boolean; force?: boolean }) => {
      // A video job owns its folder itself (its lock is taken by the job).
      const videoJob = await findVideoJob(runId);
      if (videoJob !== null) return resumeVideoJob(videoJob, options);
      // Owned before anything is read: of two resumes started together, one runs and the other is told it is in use.
      const lock = await takeRun(checkRunId(runId), ownership(`nst resume ${runId}`, options.force));
      try {
        const checkpoint = await readCheckpoint(runId);
        const job = await checkStylizeJob(runId, checkpoint.manifest.job);
        await stylize(job.contentPath, [...job.stylePaths], { ...job.options, ...(options.json ? { json: true } : {}) }, { ...checkpoint, manifest: { ...checkpoint.manifest, job }, lock });
      } finally {
        // A finished run's folder is gone with its lock; a stopped or failed one is given up, its checkpoint kept.
        await lock.release();
      }
    });
}

export function runsCommand(): Command {
  return new Command('runs')
    .description('list the runs that can be resumed (`nst resume RUN_ID`), newest first')
    .option('--json', 'one JSON object per run')
    .option('--remove <run-id>', 'delete that run\'s checkpoint instead')
    .option('--force', `with --remove: ${FORCE_HELP}`)
    .action(async (options: { json?: boolean; remove?: string; force?: boolean }) => {
      if (options.remove !== undefined) {
        const dir = runDir(checkRunId(options.remove));
        await removeRun(options.remove, ownership(`nst runs --remove ${options.remove}`, options.force));
        // A --video run's frames, kept for its resumption, go with it.
        await rm(runFramesDir(dataDir(), options.remove), { recursive: true, force: true });
        say(`removed ${dir}`);
        return;
      }
      // Runs killed before their first checkpoint have nothing to resume: swept, not listed.
      await sweepAbandonedRuns();
      const runs = await listCheckpoints();
      // A lock that cannot be read makes its run "owner unknown", never an error that hides the other runs.
      const owners = new Map(await Promise.all(runs.map(async (run): Promise<[string, RunOwner]> => [run.runId, await runOwner(run.runId)])));
      if (options.json) {
        for (const run of runs) {
          const m = run.manifest;
          writeJsonLine({
            runId: run.runId,
            dir: run.dir,
            ...(m
              ? { iteration: m.progress.iteration, totalIterations: m.progress.totalIterations, updatedAt: m.updatedAt, stopped: m.stopped, ...ownerRecord(owners.get(run.runId)), kind: (m.job as { kind?: unknown } | null)?.kind ?? null, output: jobOutput(m.job) }
              : { problem: run.problem }),
          });
        }
        return;
      }
      if (runs.length === 0) {
        say(`no runs to resume in ${runsDir()}`);
        return;
      }
      const rows = runs.map((run) => {
        const m = run.manifest;
        if (!m) return [run.runId, '-', '-', `cannot be resumed: ${run.problem!.replace(/^Run \S+ cannot be resumed: /, '')}`];
        const owner = owners.get(run.runId);
        const state =
          owner?.state === 'running' ? `${owner.sure ? 'running' : 'may be running'} (pid ${owner.pid})` : owner?.state === 'unknown' ? 'owner unknown' : m.stopped ? 'stopped' : 'interrupted';
        return [run.runId, `${m.progress.iteration}/${m.progress.totalIterations}`, m.updatedAt.replace('T', ' ').slice(0, 19), `${state}  ${jobOutput(m.job) ?? '(studio run)'}`];
      });
      const header = ['RUN ID', 'ITERATION', 'SAVED (UTC)', 'OUTPUT'];
      const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
      for (const row of [header, ...rows]) writeText(`${row.map((cell, i) => (i < row.length - 1 ? cell.padEnd(widths[i]!) : cell)).join('  ')}\n`);
    });
}

const FORCE_HELP = 'take the run over even from a process that still seems to own it (its pid, with a warning)';

/** How this command takes a run: over stale owners always, over live or unreadable ones only with --force. */
function ownership(command: string, force: boolean | undefined): { command: string; takeOver: 'stale' | 'live'; forceHint: string; note: (line: string) => void } {
  return { command, takeOver: force ? 'live' : 'stale', forceHint: 'run it again with --force', note: say };
}

/** `nst runs --json`'s owner fields: runningPid (as before), and owner: none, running or unknown (with why). */
function ownerRecord(owner: RunOwner | undefined): Record<string, unknown> {
  if (owner?.state === 'running') return { runningPid: owner.pid, owner: 'running', ownerVerified: owner.sure };
  if (owner?.state === 'unknown') return { runningPid: null, owner: 'unknown', ownerProblem: owner.why };
  return { runningPid: null, owner: 'none' };
}

function jobOutput(job: unknown): string | null {
  const options = (job as { options?: { output?: unknown } } | null)?.options;
  return typeof options?.output === 'string' ? options.output : null;
}
