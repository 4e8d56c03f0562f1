// Runs killed before their first checkpoint (persist/run-sweep.ts, run-lock.ts's createRun): a new run's folder
// appears with its owner inside; a folder with nothing to resume and no live owner is swept with its --video spool;
// a folder with a manifest, a live, unreadable or this process's owner, and a spool without a run are left alone.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MANIFEST_FILE } from '../../src/engine/persist/checkpoint.js';
import { newRunId, runDir, runsDir } from '../../src/engine/persist/run-folder.js';
import { createRun, LOCK_FILE, runOwner } from '../../src/engine/persist/run-lock.js';
import { isAbandonedRun, sweepAbandonedRuns } from '../../src/engine/persist/run-sweep.js';
import { processCommandLine, processStartTime } from '../../src/engine/sys/process-alive.js';
import { runFramesDir } from '../../src/engine/video/frames.js';

const tmp = (): string => mkdtempSync(path.join(os.tmpdir(), 'nst-run-sweep-'));
const children: ChildProcess[] = [];
afterAll(() => children.forEach((child) => child.kill('SIGKILL')));

/** A pid no process has: a child that has exited and been reaped. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '']).pid!;
}

/** A live process (`sleep 30`) and its pid once it runs sleep. */
async function liveProcess(): Promise<number> {
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  children.push(child);
  for (let i = 0; i < 100 && !(await processCommandLine(child.pid!))?.startsWith('sleep'); i++) await new Promise((r) => setTimeout(r, 10));
  return child.pid!;
}

/** A run folder as a process `pid` left it (its lock; `files` beside it), and a frame spool for it. */
async function runFolder(root: string, lock: string | null, files: Record<string, string> = {}): Promise<string> {
  const runId = `${newRunId()}${Math.random().toString(16).slice(2, 6)}`;
  const dir = runDir(runId, root);
  await mkdir(dir, { recursive: true });
  if (lock !== null) await writeFile(path.join(dir, LOCK_FILE), lock);
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text);
  await mkdir(runFramesDir(root, runId), { recursive: true });
  await writeFile(path.join(runFramesDir(root, runId), 'frames.jsonl'), '');
  return runId;
}

const record = async (pid: number): Promise<string> => JSON.stringify({ pid, start: await processStartTime(pid), host: os.hostname(), token: 'e'.repeat(24), command: 'nst stylize', since: null });

describe.skipIf(process.platform !== 'linux')('runs killed before their first checkpoint', () => {
  it('createRun: the folder appears with its owner inside, nothing else is left beside it; it is refused for a run that exists', async () => {
    const root = tmp();
    const runId = newRunId();
    const lock = await createRun(runId, { root, command: 'nst stylize' });
    expect(await readdir(runsDir(root))).toEqual([runId]);
    expect(await runOwner(runId, root)).toMatchObject({ state: 'running', pid: process.pid, sure: true, command: 'nst stylize' });
    expect(await isAbandonedRun(runId, root)).toBe(false);
    await writeFile(path.join(runDir(runId, root), 'keep'), 'x');
    await expect(createRun(runId, { root, command: 'second' })).rejects.toMatchObject({ code: expect.stringMatching(/^(ENOTEMPTY|EEXIST)$/) });
    expect((await readdir(runsDir(root))).sort()).toEqual([runId]);
    await lock.release();
    expect(await readdir(runDir(runId, root))).toEqual(['keep']);
  });

  it('sweeps folders without a manifest whose owner is gone or absent, with their spools and temporaries; keeps every other', async () => {
    const root = tmp();
    const dead = deadPid();
    const live = await liveProcess();
    const swept = [
      await runFolder(root, `${dead}\n`),
      await runFolder(root, await record(dead), { [`.run-1.bin.${dead}.0badc0de.tmp`]: 'partial' }),
      await runFolder(root, null, { [`.owner.pid.${dead}.0badc0de.tmp`]: 'partial' }),
      await runFolder(root, null),
    ];
    const kept = [
      await runFolder(root, `${dead}\n`, { [MANIFEST_FILE]: '{"not":"whole"}' }),
      await runFolder(root, await record(live)),
      await runFolder(root, 'garbage'),
      // This process's pid with a token it does not hold: a thread of it (the studio's worker) may hold it.
      await runFolder(root, await record(process.pid)),
    ];
    // A creator killed midway (createRun's temporary name, its pid gone) and one making its run now.
    const creating = [`.${newRunId()}.${dead}.0badc0de.tmp`, `.${newRunId()}.${process.pid}.0badc0de.tmp`];
    for (const name of creating) await mkdir(path.join(runsDir(root), name, 'x'), { recursive: true });
    // A spool whose run is gone: the studio keeps a finished run's timelapse for export.
    const finished = path.join(root, 'run-frames', newRunId());
    await mkdir(finished, { recursive: true });

    expect((await sweepAbandonedRuns(root)).sort()).toEqual([...swept].sort());
    expect((await readdir(runsDir(root))).sort()).toEqual([...kept, creating[1]!].sort());
    expect((await readdir(path.join(root, 'run-frames'))).sort()).toEqual([...kept, path.basename(finished)].sort());
    // The kept folders are as they were.
    expect(await readFile(path.join(runDir(kept[2]!, root), LOCK_FILE), 'utf8')).toBe('garbage');
    expect(await sweepAbandonedRuns(root)).toEqual([]);
  });

  it('a data folder without runs is nothing to sweep', async () => {
    expect(await sweepAbandonedRuns(tmp())).toEqual([]);
  });
});
