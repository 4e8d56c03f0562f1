// Who owns a run (issue 13, class 3): two `nst resume` of one run started together → one runs it to its end, the
// other exits 10 at once naming it; an owner.pid whose pid now names another program (a reused pid after a power
// loss) is stale and taken over with a note; a live nst of the run is refused without --force and taken over with
// it (a warning); a lock that cannot be read shows as "owner unknown" and hides no run; a batch folder is one
// batch's at a time. Real built-in weights, 48 px (the example photo is 48 × 22 there).

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MANIFEST_FILE } from '../../src/engine/persist/checkpoint.js';
import { CheckpointWriter } from '../../src/engine/persist/checkpoint-writer.js';
import { newRunId } from '../../src/engine/persist/run-folder.js';
import { BATCH_LOCK_FILE, LOCK_FILE, takeBatchFolder, takeRun } from '../../src/engine/persist/run-lock.js';
import type { RenderState } from '../../src/engine/render/render.js';
import { jsonLines, runNst, spawnNst, type CliResult } from '../helpers/cli.js';
import { REPO_ROOT } from '../helpers/shared-data.js';

const CONTENT = path.join(REPO_ROOT, 'resources', 'examples', 'golden-gate.jpg');
const STYLE = path.join(REPO_ROOT, 'resources', 'examples', 'great-wave.jpg');
const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const SINCE = '\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC';
/** The run to interrupt is usually still going at its first checkpoint (about 30 iterations in, here). */
const ITERATIONS = 60;

const children: ChildProcess[] = [];
afterAll(() => children.forEach((child) => child.kill('SIGKILL')));

function stylizeArgs(output: string, iterations: number, extra: string[] = []): string[] {
  return ['stylize', CONTENT, STYLE, '-o', output, '--size', '48', '--iterations', String(iterations), '--stop', 'off', '--device', 'cpu', '--threads', '1', '--json', ...extra];
}

/** An nst process and what it said, with its pid (to compare with the one a refusal names). */
function started(args: string[], env: NodeJS.ProcessEnv): { pid: number; result: Promise<CliResult>; stderr: () => string } {
  const child = spawnNst(args, { env });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const result = new Promise<CliResult>((resolve) => child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr })));
  return { pid: child.pid!, result, stderr: () => stderr };
}

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * A stylize run killed with SIGKILL once a checkpoint is on disk: its run id and iteration count (its owner.pid names
 * the dead process). On a slow disk a short run can end before its first checkpoint is written: then a longer one.
 */
async function interruptedRun(dataDir: string, output: string, iterations: number): Promise<{ runId: string; iterations: number }> {
  for (const tried of [iterations, iterations * 4]) {
    const run = started(stylizeArgs(output, tried, ['--checkpoint-every', '0.1']), { NST_DATA_DIR: dataDir });
    const runs = path.join(dataDir, 'runs');
    let runId = '';
    let ended = false;
    void run.result.then(() => (ended = true));
    await until(() => {
      // Run ids only: a run's folder is made under a temporary (dot) name and renamed into place.
      runId = existsSync(runs) ? (readdirSync(runs).find((name) => !name.startsWith('.')) ?? '') : '';
      return ended || (runId !== '' && existsSync(path.join(runs, runId, MANIFEST_FILE)));
    }, 60_000, 'a first checkpoint');
    if (ended) continue;
    process.kill(run.pid, 'SIGKILL');
    await run.result;
    return { runId, iterations: tried };
  }
  throw new Error(`runs of ${iterations} and ${iterations * 4} iterations both ended before their first checkpoint`);
}

const ownerPid = (dataDir: string, runId: string): number | null => {
  try {
    return (JSON.parse(readFileSync(path.join(dataDir, 'runs', runId, LOCK_FILE), 'utf8')) as { pid: number }).pid;
  } catch {
    return null;
  }
};

describe('nst resume: one owner per run', () => {
  it('two resumes started together: one finishes the run, the other exits 10 at once naming the one that has it', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'nst-own-race-'));
    const env = { NST_DATA_DIR: path.join(dir, 'data') };
    const output = path.join(dir, 'out.png');
    const { runId, iterations } = await interruptedRun(env.NST_DATA_DIR, output, ITERATIONS);
    const [a, b] = [started(['resume', runId, '--json'], env), started(['resume', runId, '--json'], env)];
    const results = [await a.result, await b.result];
    const winner = results.findIndex((r) => r.code === 0);
    expect(results.map((r) => r.code).sort(), results.map((r) => r.stderr).join('\n')).toEqual([0, 10]);
    const won = results[winner]!;
    const lost = results[1 - winner]!;
    const winnerPid = [a, b][winner]!.pid;
    expect(lost.stderr).toMatch(new RegExp(`^nst: Run ${runId} is in use by nst in process ${winnerPid} \\(nst resume ${runId}, since ${SINCE}\\): let it finish, or stop that nst; if it is stuck, run it again with --force to take it over\\.\\n$`));
    expect(lost.stdout).toBe('');
    // The winner took the run over from the killed stylize, said so, and finished it whole.
    expect(won.stderr).toMatch(new RegExp(`^nst: run ${runId}: its owner, process \\d+ \\(nst stylize, since ${SINCE}\\), is gone \\(exited\\); taking it over\\.\\n`));
    expect(jsonLines(won.stdout).at(-1)).toMatchObject({ done: true, runId, iterations, stopped: false, output });
    expect(existsSync(output)).toBe(true);
    expect(readdirSync(path.join(env.NST_DATA_DIR, 'runs'))).toEqual([]);
  }, 120_000);

  it('an owner.pid naming a live program that is not nst (a reused pid) is stale: listed as interrupted, resumed with a note', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'nst-own-reused-'));
    const env = { NST_DATA_DIR: path.join(dir, 'data') };
    const output = path.join(dir, 'out.png');
    const { runId, iterations } = await interruptedRun(env.NST_DATA_DIR, output, ITERATIONS);
    const sleep = spawn('sleep', ['30'], { stdio: 'ignore' });
    children.push(sleep);
    // What an older nst wrote, or what a power loss leaves: a bare pid, now another program's.
    await writeFile(path.join(env.NST_DATA_DIR, 'runs', runId, LOCK_FILE), `${sleep.pid}\n`);
    await new Promise((r) => setTimeout(r, 100)); // sleep has replaced the spawn's fork by now
    expect((await runNst(['runs'], { env })).stdout).toMatch(new RegExp(`^${runId}\\s+\\d+/${iterations}\\s+\\S+ \\S+\\s+interrupted\\s`, 'm'));
    const resumed = await runNst(['resume', runId, '--json'], { env });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr.split('\n')[0]).toBe(`nst: run ${runId}: its owner, process ${sleep.pid} (an older nst), is gone (its pid now names another program: sleep 30); taking it over.`);
    expect(resumed.stderr).not.toMatch(/stop|kill/i);
    expect(jsonLines(resumed.stdout).at(-1)).toMatchObject({ done: true, runId, iterations });
  }, 120_000);

  it('a live nst of the run: resume and --remove refused (exit 10), shown running; --force takes it over with a warning', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'nst-own-live-'));
    const env = { NST_DATA_DIR: path.join(dir, 'data') };
    const { runId } = await interruptedRun(env.NST_DATA_DIR, path.join(dir, 'out.png'), 5000);
    const first = started(['resume', runId, '--json'], env);
    await until(() => ownerPid(env.NST_DATA_DIR, runId) === first.pid, 30_000, 'the first resume to own the run');
    // A stuck nst: alive, owning the run, doing nothing (what --force is for).
    process.kill(first.pid, 'SIGSTOP');
    try {
      const refused = await runNst(['resume', runId], { env });
      expect(refused.code).toBe(10);
      expect(refused.stderr).toMatch(new RegExp(`^nst: Run ${runId} is in use by nst in process ${first.pid} \\(nst resume ${runId}, since ${SINCE}\\): let it finish, or stop that nst; if it is stuck, run it again with --force to take it over\\.\\n$`));
      expect((await runNst(['runs'], { env })).stdout).toMatch(new RegExp(`^${runId}\\s+\\d+/5000\\s+\\S+ \\S+\\s+running \\(pid ${first.pid}\\)\\s`, 'm'));
      expect(jsonLines((await runNst(['runs', '--json'], { env })).stdout)[0]).toMatchObject({ runId, runningPid: first.pid, owner: 'running', ownerVerified: true });
      const remove = await runNst(['runs', '--remove', runId], { env });
      expect(remove.code).toBe(10);
      expect(remove.stderr).toMatch(/ is in use by nst in process /);
      expect(existsSync(path.join(env.NST_DATA_DIR, 'runs', runId, MANIFEST_FILE))).toBe(true);

      const forced = started(['resume', runId, '--force', '--json'], env);
      // The lock can be on disk before the warning has come through the pipe (CI saw an empty stderr here).
      await until(() => ownerPid(env.NST_DATA_DIR, runId) === forced.pid && forced.stderr().includes('\n'), 30_000, 'the forced resume to own the run and say so');
      expect(forced.stderr().split('\n')[0]).toMatch(
        new RegExp(`^nst: warning: --force: taking run ${runId} over from process ${first.pid}, which is still running \\(nst resume ${runId}, since ${SINCE}\\); if it still works on this run, the two will write over each other's files\\.$`),
      );
      process.kill(forced.pid, 'SIGKILL');
      await forced.result;
    } finally {
      process.kill(first.pid, 'SIGKILL');
      await first.result;
    }
    // Both gone: the lock (the forced one's) is stale, and the run is removed with a note.
    const removed = await runNst(['runs', '--remove', runId], { env });
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stderr).toMatch(new RegExp(`^nst: run ${runId}: its owner, process \\d+ \\(nst resume ${runId}, since ${SINCE}\\), is gone \\(exited\\); taking it over\\.\\nnst: removed `));
    expect(readdirSync(path.join(env.NST_DATA_DIR, 'runs'))).toEqual([]);
  }, 120_000);
});

/** A checkpoint of a stylize job written without running anything (its writer closed: nobody owns it). */
async function fakeRun(dataDir: string, job: unknown): Promise<string> {
  const runId = newRunId();
  const state: RenderState = {
    plan: { mode: 'whole', sizePx: 32, estimateBytes: 1 },
    phase: 'scale',
    stage: { index: 0, iterationsBefore: 0, run: { iteration: 1, image: new Float32Array(3), optimizer: { name: 'lbfgs', iteration: 1, buffers: {}, scalars: {} }, objectiveScale: 1, carried: null, initialLoss: null, weights: null } },
  };
  const writer = new CheckpointWriter({ runId, root: dataDir, everyMs: 0, job, totalIterations: () => 10 });
  await writer.save(state);
  await writer.close();
  return runId;
}

describe('nst runs with a lock that cannot be read', () => {
  it('lists every run (a folder or garbage as owner.pid is "owner unknown"); resume needs --force, which takes it over', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'nst-own-unknown-'));
    const env = { NST_DATA_DIR: dataDir };
    const job = { kind: 'nst-stylize', contentPath: CONTENT, stylePaths: [STYLE], options: { output: path.join(dataDir, 'o.png') }, inputs: [{ path: CONTENT, sha256: 'f'.repeat(64) }] };
    const plain = await fakeRun(dataDir, job);
    const folderLock = await fakeRun(dataDir, job);
    const garbageLock = await fakeRun(dataDir, job);
    const owned = await fakeRun(dataDir, job);
    await mkdir(path.join(dataDir, 'runs', folderLock, LOCK_FILE));
    await writeFile(path.join(dataDir, 'runs', garbageLock, LOCK_FILE), '\u0000\u0007garbage{');
    const lock = await takeRun(owned, { root: dataDir, command: 'test owner' });
    try {
      const listed = await runNst(['runs'], { env });
      expect(listed.code, listed.stderr).toBe(0);
      const row = (runId: string, state: string): RegExp => new RegExp(`^${runId}\\s+1/10\\s+\\S+ \\S+\\s+${escape(state)}\\s`, 'm');
      expect(listed.stdout).toMatch(row(plain, 'interrupted'));
      expect(listed.stdout).toMatch(row(folderLock, 'owner unknown'));
      expect(listed.stdout).toMatch(row(garbageLock, 'owner unknown'));
      expect(listed.stdout).toMatch(row(owned, `running (pid ${process.pid})`));
      const json = jsonLines((await runNst(['runs', '--json'], { env })).stdout);
      expect(json.map((r) => [r.runId, r.owner]).sort()).toEqual([[plain, 'none'], [folderLock, 'unknown'], [garbageLock, 'unknown'], [owned, 'running']].sort());
      expect(json.find((r) => r.runId === folderLock)).toMatchObject({ runningPid: null, ownerProblem: 'its lock file cannot be read (EISDIR)' });

      const lockFile = path.join(dataDir, 'runs', folderLock, LOCK_FILE);
      const refused = await runNst(['resume', folderLock], { env });
      expect(refused.code).toBe(10);
      expect(refused.stderr).toBe(`nst: Cannot tell whether run ${folderLock} is in use: its lock file ${lockFile} cannot be read (EISDIR). If no nst is working on this run, run it again with --force to take it over.\n`);
      // --force gets past the lock (this fake job then fails on its input's checksum, exit 3) and gives the run up.
      const forced = await runNst(['resume', folderLock, '--force'], { env });
      expect(forced.code).toBe(3);
      expect(forced.stderr.split('\n')[0]).toBe(`nst: run ${folderLock}: its lock file ${lockFile} cannot be read (EISDIR); taking it over.`);
      expect(forced.stderr).toMatch(/has changed since the run started/);
      expect(existsSync(lockFile)).toBe(false);
      expect((await runNst(['runs'], { env })).stdout).toMatch(row(folderLock, 'interrupted'));
    } finally {
      await lock.release();
    }
  }, 60_000);
});

describe('nst batch: one batch at a time in a folder', () => {
  it('refuses a folder another live nst batch works in (exit 10, nothing written); takes over a stale lock with a note', async () => {
    const outDir = mkdtempSync(path.join(os.tmpdir(), 'nst-own-batch-'));
    const args = ['batch', '--content', CONTENT, '--style', STYLE, '-o', outDir, '--size', '48', '--iterations', '2', '--device', 'cpu', '--threads', '1'];
    const held = await takeBatchFolder(outDir, { command: 'test batch' });
    const lockFile = path.join(outDir, BATCH_LOCK_FILE);
    try {
      const refused = await runNst(args);
      expect(refused.code).toBe(10);
      expect(refused.stderr).toMatch(
        new RegExp(`^nst: The batch folder ${escape(outDir)} is in use by nst in process ${process.pid} \\(test batch, since ${SINCE}\\): let it finish, or stop that nst; if it is stuck, delete ${escape(lockFile)} to take it over\\.\\n$`),
      );
      expect(readdirSync(outDir)).toEqual([BATCH_LOCK_FILE]);
    } finally {
      await held.release();
    }
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    await writeFile(lockFile, `${dead}\n`);
    const ran = await runNst(args);
    expect(ran.code, ran.stderr).toBe(0);
    expect(ran.stderr.split('\n')[0]).toBe(`nst: the batch folder ${outDir}: its owner, process ${dead} (an older nst), is gone (exited); taking it over.`);
    expect(readdirSync(outDir).sort()).toEqual(['golden-gate.png', 'nst-batch.json']);
    expect(await readFile(path.join(outDir, 'nst-batch.json'), 'utf8')).toMatch(/"status": ?"done"/);
  }, 60_000);
});
