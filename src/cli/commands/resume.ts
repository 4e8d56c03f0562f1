// `nst resume RUN_ID` finishes a checkpointed `nst stylize` run; `nst runs` lists (and removes) checkpointed runs.

import { Command } from 'commander';
import { checkNotRunning, checkRunId, listCheckpoints, readCheckpoint, removeCheckpoint, runDir, runOwner, runsDir } from '../../engine/index.js';
import { checkStylizeJob } from '../checkpoints.js';
import { say, writeJsonLine, writeText } from '../output.js';
import { stylize } from './stylize.js';

export function resumeCommand(): Command {
  return new Command('resume')
    .description('finish a `nst stylize` run from its last checkpoint (after a crash, kill or Ctrl-C): same options, same output file')
    .argument('<run-id>', 'the run id `nst stylize` printed (see `nst runs`)')
    .option('--json', 'JSON lines as `nst stylize --json` prints them (default: as the run was started)')
    .action(async (runId: string, options: { json?: boolean }) => {
      const checkpoint = await readCheckpoint(checkRunId(runId));
      await checkNotRunning(runId);
      const job = await checkStylizeJob(runId, checkpoint.manifest.job);
      await stylize(job.contentPath, [...job.stylePaths], { ...job.options, ...(options.json ? { json: true } : {}) }, { ...checkpoint, manifest: { ...checkpoint.manifest, job } });
    });
}

export function runsCommand(): Command {
  return new Command('runs')
    .description('list the runs that can be resumed (`nst resume RUN_ID`), newest first')
    .option('--json', 'one JSON object per run')
    .option('--remove <run-id>', 'delete that run\'s checkpoint instead')
    .action(async (options: { json?: boolean; remove?: string }) => {
      if (options.remove !== undefined) {
        const dir = runDir(checkRunId(options.remove));
        await checkNotRunning(options.remove);
        await removeCheckpoint(options.remove);
        say(`removed ${dir}`);
        return;
      }
      const runs = await listCheckpoints();
      const owners = new Map(await Promise.all(runs.map(async (run): Promise<[string, number | null]> => [run.runId, await runOwner(run.runId)])));
      if (options.json) {
        for (const run of runs) {
          const m = run.manifest;
          writeJsonLine({
            runId: run.runId,
            dir: run.dir,
            ...(m
              ? { iteration: m.progress.iteration, totalIterations: m.progress.totalIterations, updatedAt: m.updatedAt, stopped: m.stopped, runningPid: owners.get(run.runId) ?? null, kind: (m.job as { kind?: unknown } | null)?.kind ?? null, output: jobOutput(m.job) }
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
        const pid = owners.get(run.runId);
        const state = pid ? `running (pid ${pid})` : m.stopped ? 'stopped' : 'interrupted';
        return [run.runId, `${m.progress.iteration}/${m.progress.totalIterations}`, m.updatedAt.replace('T', ' ').slice(0, 19), `${state}  ${jobOutput(m.job) ?? '(studio run)'}`];
      });
      const header = ['RUN ID', 'ITERATION', 'SAVED (UTC)', 'OUTPUT'];
      const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
      for (const row of [header, ...rows]) writeText(`${row.map((cell, i) => (i < row.length - 1 ? cell.padEnd(widths[i]!) : cell)).join('  ')}\n`);
    });
}

function jobOutput(job: unknown): string | null {
  const options = (job as { options?: { output?: unknown } } | null)?.options;
  return typeof options?.output === 'string' ? options.output : null;
}
