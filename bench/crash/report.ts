// The crash harness's report: kills tried and survived, by job kind and kill point, and each failure with what
// reproduces it; as JSON (every trial) and Markdown (the summary and the failures).

import type { HarnessSetup } from './harness.js';
import type { JobKind } from './jobs.js';
import { describeKill } from './plan.js';
import type { TrialResult } from './trial.js';

export interface RunFacts {
  readonly seed: number;
  readonly killsAsked: number;
  readonly kinds: readonly JobKind[];
  readonly scale: string;
  /** Trials run at once. */
  readonly parallel: number;
  readonly commit: string;
  readonly machine: string;
  readonly startedAt: string;
  readonly seconds: number;
  /** The command that reproduces trial i: the run's own options with --trial i. */
  readonly reproduce: (index: number) => string;
}

interface Tally {
  tried: number;
  survived: number;
}

export interface CrashReport {
  readonly facts: Omit<RunFacts, 'reproduce'>;
  readonly tolerance: { readonly maxAbs: number; readonly determinism: Record<string, { maxAbs: number; meanAbs: number } | null> };
  readonly references: Record<string, { ms: number; iterationLines: number; newFiles: number }>;
  readonly referenceProblems: readonly string[];
  readonly skipped: readonly string[];
  readonly summary: {
    readonly tried: number;
    readonly survived: number;
    readonly notLanded: number;
    readonly byKind: Record<string, Tally>;
    readonly byKillPoint: Record<string, Tally>;
    readonly byCheck: Record<string, number>;
    /** The largest difference from the reference seen in a finished job, levels of 255. */
    readonly worstDiff: number | null;
  };
  /** Failure reasons with run ids, pids and numbers taken out: one line per cause, with the trials it hit. */
  readonly causes: readonly { readonly reason: string; readonly trials: readonly number[] }[];
  readonly failures: readonly FailureEntry[];
  readonly trials: readonly TrialResult[];
}

interface FailureEntry {
  readonly trial: number;
  readonly kind: JobKind;
  readonly seed: number;
  readonly killPoint: string;
  readonly landed: string;
  readonly finishedBy: string | null;
  readonly reasons: readonly string[];
  readonly keptDir: string | null;
  readonly reproduce: string;
}

export function buildReport(facts: RunFacts, setup: HarnessSetup, trials: readonly TrialResult[]): CrashReport {
  const landed = trials.filter((t) => t.killed);
  const tally = (key: (t: TrialResult) => string): Record<string, Tally> => {
    const out: Record<string, Tally> = {};
    for (const t of landed) {
      const entry = (out[key(t)] ??= { tried: 0, survived: 0 });
      entry.tried++;
      if (t.ok) entry.survived++;
    }
    return out;
  };
  const byCheck: Record<string, number> = {};
  for (const t of landed) for (const check of new Set(t.failures.map((f) => f.check))) byCheck[check] = (byCheck[check] ?? 0) + 1;
  const { reproduce, ...plainFacts } = facts;
  const causes = new Map<string, Set<number>>();
  for (const t of landed) {
    for (const f of t.failures) {
      const key = `${f.check}: ${pattern(f.reason)}`;
      causes.set(key, (causes.get(key) ?? new Set<number>()).add(t.spec.index));
    }
  }
  const diffs = landed.flatMap((t) => (t.diff ? [t.diff.maxAbs] : []));
  return {
    facts: plainFacts,
    tolerance: { maxAbs: setup.ctx.tolerance.maxAbs, determinism: Object.fromEntries(setup.determinism) },
    references: Object.fromEntries([...setup.references].map(([kind, r]) => [kind, { ms: r.ms, iterationLines: r.iterationLines, newFiles: r.newFiles }])),
    referenceProblems: setup.referenceFailures.map((f) => `${f.kind}: ${f.failure.reason}`),
    skipped: setup.skipped.map((s) => `${s.kind}: ${s.reason}`),
    summary: {
      tried: landed.length,
      survived: landed.filter((t) => t.ok).length,
      notLanded: trials.length - landed.length,
      byKind: tally((t) => (t.spec.checkpoints ? t.spec.kind : `${t.spec.kind} (--checkpoint-every 0)`)),
      byKillPoint: tally((t) => t.spec.kill.at),
      byCheck,
      worstDiff: diffs.length ? Math.max(...diffs) : null,
    },
    causes: [...causes].map(([reason, trials]) => ({ reason, trials: [...trials] })).sort((a, b) => b.trials.length - a.trials.length),
    failures: landed
      .filter((t) => !t.ok)
      .map((t) => ({
        trial: t.spec.index,
        kind: t.spec.kind,
        seed: t.spec.seed,
        killPoint: describeKill(t.spec),
        landed: t.steps.filter((s) => s.killed).map((s) => s.landed).join('; then '),
        finishedBy: t.finishedBy,
        reasons: t.failures.map((f) => `${f.check}: ${f.reason}`),
        keptDir: t.keptDir,
        reproduce: reproduce(t.spec.index),
      })),
    trials,
  };
}

export function reportMarkdown(report: CrashReport): string {
  const s = report.summary;
  const f = report.facts;
  const rows = (tallies: Record<string, Tally>): string[] => Object.entries(tallies).map(([name, t]) => `| ${name} | ${t.tried} | ${t.survived} | ${t.tried - t.survived} |`);
  const determinism = Object.entries(report.tolerance.determinism)
    .map(([kind, d]) => `${kind}: ${d ? `max ${d.maxAbs}, mean ${d.meanAbs.toFixed(4)}` : 'measured once'}`)
    .join('; ');
  const lines = [
    '# Crash-consistency harness',
    '',
    `\`npm run crash -- --seed ${f.seed} --kills ${f.killsAsked} --kinds ${f.kinds.join(',')}${f.parallel > 1 ? ` --parallel ${f.parallel}` : ''}\` (${f.scale} jobs), ${f.startedAt}, ${Math.round(f.seconds)} s, commit ${f.commit}, ${f.machine}.`,
    '',
    `**Kills survived: ${s.survived} / ${s.tried}.** ${s.notLanded} drawn kill points came after their job had ended and were redrawn.`,
    '',
    'Each kill is a SIGKILL of the `nst` process at a seeded point: a time offset, just after an iteration\'s `--json` line, or as the n-th new file or folder appears under the trial folder (inside a write: a temporary, checkpoint data, a frame, a run folder, one renamed away to be deleted). After it: (a) the inputs are byte-identical and each output is the user\'s older file or a whole new image or video; (b) the job is finished as the docs say (`nst resume RUN_ID` for the run `nst runs` lists, else the same command; a batch reruns) and its results match an uninterrupted run within the tolerance; (c) once finished, no temporary, lock, frame spool, orphan run or temp-folder file is left.',
    '',
    `Tolerance: ${report.tolerance.maxAbs} level(s) of 255 per channel. Two uninterrupted runs of each job differed by ${determinism}; the largest difference of a job finished after a kill was ${s.worstDiff ?? '—'}.`,
    '',
    '| job | kills | survived | failed |',
    '|---|---|---|---|',
    ...rows(s.byKind),
    '',
    '| kill point | kills | survived | failed |',
    '|---|---|---|---|',
    ...rows(s.byKillPoint),
    '',
  ];
  if (report.referenceProblems.length) lines.push('Uninterrupted runs left:', '', ...report.referenceProblems.map((p) => `- ${p}`), '');
  if (report.skipped.length) lines.push('Skipped:', '', ...report.skipped.map((p) => `- ${p}`), '');
  if (report.failures.length === 0) lines.push('No failures.');
  else {
    lines.push(`## Failures (${report.failures.length})`, '', `By check: ${Object.entries(s.byCheck).map(([c, n]) => `${c} ${n}`).join(', ')}.`, '', 'Causes (run ids, pids and counts taken out), with the trials each was seen in:', '');
    for (const cause of report.causes) lines.push(`- ${cause.reason} — ${cause.trials.length} trial(s): ${cause.trials.join(', ')}`);
    lines.push('', 'Each failed trial:', '');
    for (const failure of report.failures) {
      lines.push(
        `- trial ${failure.trial} (${failure.kind}, seed ${failure.seed}): killed ${failure.landed || failure.killPoint}; finished by ${failure.finishedBy ?? '—'}`,
        ...failure.reasons.map((r) => `  - ${r}`),
        `  - reproduce: \`${failure.reproduce}\`${failure.keptDir ? `; its folder: ${failure.keptDir}` : ''}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

/** A reason with what differs from trial to trial (paths, run ids, pids, counts) taken out, to group by cause. */
function pattern(reason: string): string {
  return reason
    .replace(/\/\S*\/(trial|reference)-[^/\s]+\//g, '')
    .replace(/\d{8}-\d{6}-[0-9a-f]{4}/g, 'RUN')
    .replace(/\.\d+\.[0-9a-f]{8}\.tmp/g, '.PID.X.tmp')
    .replace(/\d+(\.\d+)?/g, 'N');
}
