// Crash-consistency harness (a script, not a CI test): runs real `nst` jobs (stylize, resume, batch, stylize
// --video), kill -9s them at seeded points, and checks the user's files, the finished result and the debris
// after each. Writes bench/results/crash-harness.{json,md}. The CI variant is tests/cli/crash-harness.test.ts.
// Usage: npm run crash -- [--seed 1] [--kills 200] [--kinds stylize,resume,batch,video] [--trial 17,42]
//        [--scale full|ci] [--parallel 1] [--work DIR] [--out bench/results] [--no-build] [--discard-failed]
// Exits 0 when every kill survived, 1 otherwise.

import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from '../tests/helpers/shared-data.js';
import { runKills, setUpHarness } from './crash/harness.js';
import { JOB_KINDS, type JobKind, type JobScale } from './crash/jobs.js';
import { describeKill } from './crash/plan.js';
import { buildReport, reportMarkdown } from './crash/report.js';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: '1' },
    kills: { type: 'string', default: '200' },
    kinds: { type: 'string', default: JOB_KINDS.join(',') },
    trial: { type: 'string' },
    scale: { type: 'string', default: 'full' },
    work: { type: 'string', default: path.join(os.tmpdir(), 'nst-crash-harness') },
    out: { type: 'string', default: 'bench/results' },
    'no-build': { type: 'boolean', default: false },
    'discard-failed': { type: 'boolean', default: false },
    parallel: { type: 'string', default: '1' },
  },
});

const whole = (name: string, text: string | undefined, min: number): number => {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw new RangeError(`--${name} must be a whole number ≥ ${min}, got ${text}`);
  return n;
};
const SEED = whole('seed', values.seed, 0);
const KILLS = whole('kills', values.kills, 1);
const KINDS = values.kinds!.split(',').map((k) => k.trim()) as JobKind[];
for (const kind of KINDS) if (!JOB_KINDS.includes(kind)) throw new RangeError(`--kinds: ${kind} is not one of ${JOB_KINDS.join(', ')}`);
const ONLY = values.trial?.split(',').map((t) => whole('trial', t, 0));
if (values.scale !== 'full' && values.scale !== 'ci') throw new RangeError(`--scale must be full or ci, got ${values.scale}`);
const SCALE: JobScale = values.scale;
const PARALLEL = whole('parallel', values.parallel, 1);
const WORK = path.resolve(values.work!);
const OUT = path.resolve(REPO_ROOT, values.out!);

const log = (line: string): void => void process.stderr.write(`crash: ${line}\n`);
const started = new Date();
const t0 = performance.now();
rmSync(WORK, { recursive: true, force: true });

const setup = await setUpHarness({ workDir: WORK, scale: SCALE, kinds: KINDS, referenceRuns: 2, keepFailed: !values['discard-failed'], build: !values['no-build'], parallel: PARALLEL, log });
log(`tolerance ${setup.ctx.tolerance.maxAbs} level(s); ${[...setup.determinism].map(([k, d]) => `${k} run-to-run max ${d?.maxAbs ?? '?'}`).join(', ')}`);
for (const s of setup.skipped) log(`skipping ${s.kind}: ${s.reason}`);

let landed = 0;
let survived = 0;
const trials = await runKills(setup, {
  seed: SEED,
  kills: KILLS,
  kinds: KINDS,
  parallel: PARALLEL,
  ...(ONLY ? { only: ONLY } : {}),
  onTrial: (t) => {
    if (t.killed) landed++;
    if (t.killed && t.ok) survived++;
    const where = t.steps.filter((s) => s.killed).map((s) => s.landed).join('; then ');
    const verdict = !t.killed ? 'ended before the kill' : t.ok ? 'ok' : `FAILED: ${t.failures.map((f) => `${f.check}: ${f.reason}`).join(' | ')}`;
    log(`trial ${t.spec.index} ${t.spec.kind} [${describeKill(t.spec)}] ${where ? `killed ${where}; ` : ''}finished by ${t.finishedBy ?? '—'}; ${verdict} (${survived}/${landed}, ${t.seconds} s)`);
  },
});

const commit = (() => {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim() !== '';
    return dirty ? `${head} (with uncommitted changes in the tree)` : head;
  } catch {
    return 'unknown';
  }
})();
const reproduceBase = `npm run crash -- --seed ${SEED} --kinds ${KINDS.join(',')}${SCALE === 'ci' ? ' --scale ci' : ''}`;
const report = buildReport(
  {
    seed: SEED,
    killsAsked: ONLY ? ONLY.length : KILLS,
    kinds: KINDS,
    scale: SCALE,
    parallel: PARALLEL,
    commit,
    machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}, Node ${process.versions.node}, ${os.platform()}`,
    startedAt: started.toISOString(),
    seconds: (performance.now() - t0) / 1000,
    reproduce: (index) => `${reproduceBase} --trial ${index}`,
  },
  setup,
  trials,
);
mkdirSync(OUT, { recursive: true });
const base = ONLY ? 'crash-harness-trials' : 'crash-harness';
writeFileSync(path.join(OUT, `${base}.json`), `${JSON.stringify(report, null, 2)}\n`);
const markdown = reportMarkdown(report);
writeFileSync(path.join(OUT, `${base}.md`), markdown);
process.stdout.write(markdown);
process.exitCode = report.failures.length === 0 && report.referenceProblems.length === 0 ? 0 : 1;
