// Owner locks (sys/owner-lock.ts): taken by exactly one of many takers at once; a pid that now names another program
// (a reused pid after a power loss) is stale; an unreadable lock is "unknown", never "nobody"; a release leaves a
// lock that is no longer its own.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { acquireOwnerLock, inspectOwnerLock, LockHeld } from '../../src/engine/sys/owner-lock.js';
import { processCommandLine, processStartTime } from '../../src/engine/sys/process-alive.js';

const tmp = (): string => mkdtempSync(path.join(os.tmpdir(), 'nst-owner-lock-'));
const children: ChildProcess[] = [];
afterAll(() => children.forEach((child) => child.kill('SIGKILL')));

/** A live process that is not nst (`sleep 30`), and its pid once it runs sleep (not the shell that starts it). */
async function unrelatedProcess(): Promise<number> {
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  children.push(child);
  const pid = child.pid!;
  for (let i = 0; i < 100 && !(await processCommandLine(pid))?.startsWith('sleep'); i++) await new Promise((r) => setTimeout(r, 10));
  return pid;
}

/** A pid no process has: a child that has exited and been reaped (spawnSync waits for it). */
function deadPid(): number {
  const pid = spawnSync(process.execPath, ['-e', '']).pid;
  if (!pid) throw new Error('could not spawn a child to borrow a dead pid from');
  return pid;
}

describe.skipIf(process.platform !== 'linux')('owner locks (Linux: start times from /proc)', () => {
  it('of twenty takers at once, exactly one holds the lock; the rest are told who does', async () => {
    const file = path.join(tmp(), 'owner.pid');
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => acquireOwnerLock(file, { command: `taker ${i}` })));
    const won = results.filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    for (const { reason } of lost) {
      expect(reason).toBeInstanceOf(LockHeld);
      expect((reason as LockHeld).verdict).toMatchObject({ state: 'live', sure: true, owner: { pid: process.pid } });
    }
    // The record names this process, its start time and what it does.
    const record = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    expect(record).toMatchObject({ pid: process.pid, start: await processStartTime(process.pid), host: os.hostname(), command: expect.stringMatching(/^taker \d+$/) });
    expect(record.token).toMatch(/^[0-9a-f]{24}$/);
    await won[0]!.value.release();
    expect(await inspectOwnerLock(file)).toEqual({ state: 'free' });
  });

  it('an older nst\'s lock naming a live process that is not nst (a reused pid) is stale, and taken over', async () => {
    const file = path.join(tmp(), 'owner.pid');
    const pid = await unrelatedProcess();
    await writeFile(file, `${pid}\n`);
    expect(await inspectOwnerLock(file)).toMatchObject({ state: 'stale', why: 'its pid now names another program: sleep 30' });
    const lock = await acquireOwnerLock(file, { command: 'nst resume x' });
    expect(lock.replaced).toMatchObject({ state: 'stale', owner: { pid } });
    expect(JSON.parse(await readFile(file, 'utf8'))).toMatchObject({ pid: process.pid });
    await lock.release();
  });

  it('a record whose pid is live but started at another time is stale; with that process\'s own start time it is live', async () => {
    const file = path.join(tmp(), 'owner.pid');
    const pid = await unrelatedProcess();
    const start = await processStartTime(pid);
    expect(start).toMatch(/^linux:[0-9a-f-]+:\d+$/);
    const record = { pid, start: start!.replace(/\d+$/, (ticks) => String(Number(ticks) - 1)), host: os.hostname(), token: 'a'.repeat(24), command: 'nst resume x', since: new Date().toISOString() };
    await writeFile(file, JSON.stringify(record));
    expect(await inspectOwnerLock(file)).toMatchObject({ state: 'stale', why: 'its pid now names another program: sleep 30' });
    // Recorded in an earlier boot: stale whatever the pid names now.
    await writeFile(file, JSON.stringify({ ...record, start: `linux:00000000-0000-0000-0000-000000000000:${start!.split(':')[2]}` }));
    expect(await inspectOwnerLock(file)).toMatchObject({ state: 'stale', why: 'the machine has restarted since' });
    await writeFile(file, JSON.stringify({ ...record, start }));
    expect(await inspectOwnerLock(file)).toMatchObject({ state: 'live', sure: true, owner: { pid, command: 'nst resume x' } });
    await expect(acquireOwnerLock(file, { command: 'second' })).rejects.toBeInstanceOf(LockHeld);
    // Forced: taken over, and the taker is told from whom.
    const forced = await acquireOwnerLock(file, { command: 'forced', takeOver: 'live' });
    expect(forced.replaced).toMatchObject({ state: 'live', sure: true, owner: { pid } });
    await forced.release();
  });

  it('a dead pid, or this process\'s pid with a token no lock of it holds (a thread that ended), is stale', async () => {
    const file = path.join(tmp(), 'owner.pid');
    await writeFile(file, `${deadPid()}\n`);
    expect(await inspectOwnerLock(file)).toMatchObject({ state: 'stale', why: 'exited' });
    await writeFile(file, JSON.stringify({ pid: process.pid, start: await processStartTime(process.pid), host: os.hostname(), token: 'b'.repeat(24), command: 'studio run', since: null }));
    expect(await inspectOwnerLock(file)).toMatchObject({ state: 'stale', why: 'a thread of this process that has ended took it' });
  });

  it('a lock that cannot be read (a folder, garbage, empty) is unknown: refused by default, taken over when allowed', async () => {
    const dir = tmp();
    const file = path.join(dir, 'owner.pid');
    await mkdir(file);
    expect(await inspectOwnerLock(file)).toEqual({ state: 'unknown', why: 'cannot be read (EISDIR)' });
    await expect(acquireOwnerLock(file, { command: 'x' })).rejects.toMatchObject({ verdict: { state: 'unknown' } });
    const taken = await acquireOwnerLock(file, { command: 'x', takeOver: 'unknown' });
    expect(taken.replaced).toEqual({ state: 'unknown', why: 'cannot be read (EISDIR)' });
    await taken.release();
    for (const [text, why] of [['not a pid\n', 'does not name a process'], ['', 'is empty'], ['{"pid":-3}', 'does not name a process']] as const) {
      await writeFile(file, text);
      expect(await inspectOwnerLock(file)).toEqual({ state: 'unknown', why });
    }
  });

  it('a release leaves alone a lock that another taker forced away from it', async () => {
    const file = path.join(tmp(), 'owner.pid');
    const first = await acquireOwnerLock(file, { command: 'first' });
    const second = await acquireOwnerLock(file, { command: 'second', takeOver: 'live' });
    await first.release();
    expect(JSON.parse(await readFile(file, 'utf8'))).toMatchObject({ command: 'second' });
    await second.release();
    expect(await inspectOwnerLock(file)).toEqual({ state: 'free' });
  });

  it('a takeover guard left by a taker that died is stale at once; a live taker\'s is respected', async () => {
    const file = path.join(tmp(), 'owner.pid');
    const guard = `${file}.takeover`;
    const dead = deadPid();
    await writeFile(file, `${dead}\n`);
    // What a taker killed inside its takeover leaves: the guard naming it, the stale lock still in place.
    await writeFile(guard, JSON.stringify({ pid: deadPid(), start: null, host: os.hostname(), token: 'c'.repeat(24), command: 'nst resume x', since: null }));
    const started = performance.now();
    const lock = await acquireOwnerLock(file, { command: 'nst resume x' });
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(lock.replaced).toMatchObject({ state: 'stale', owner: { pid: dead } });
    await lock.release();
    await expect(readFile(guard)).rejects.toMatchObject({ code: 'ENOENT' });

    // A live taker's guard (a process that is running, with its own start time) stays: the lock is not taken.
    const pid = await unrelatedProcess();
    await writeFile(file, `${dead}\n`);
    await writeFile(guard, JSON.stringify({ pid, start: await processStartTime(pid), host: os.hostname(), token: 'd'.repeat(24), command: 'nst resume x', since: null }));
    await expect(acquireOwnerLock(file, { command: 'nst resume x' })).rejects.toBeInstanceOf(LockHeld);
    expect(JSON.parse(await readFile(guard, 'utf8'))).toMatchObject({ pid });
  });

  it('a folder that does not exist is ENOENT, not a lock taken', async () => {
    await expect(acquireOwnerLock(path.join(tmp(), 'gone', 'owner.pid'), { command: 'x' })).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
