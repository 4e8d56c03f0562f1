// Who owns a run's folder (or a batch's output folder): one process at a time resumes, writes or removes a run.
// Taken atomically before any work (sys/owner-lock.ts: a lock file naming the process, its start time and a
// token), taken over from a process that is gone or whose pid another program now has, and from a live one only
// when the user forces it. The refusals and notes are worded here, for the CLI and the studio alike.

import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { NstError } from '../errors.js';
import { temporaryPath } from '../sys/atomic-file.js';
import { acquireOwnerLock, inspectOwnerLock, LockHeld, movedOwnerLock, type HeldLock, type OwnerRecord, type OwnerVerdict, type TakeOver } from '../sys/owner-lock.js';
import { dataDir } from './data-dir.js';
import { runDir, runsDir } from './run-folder.js';

/** The file in a run's folder that names the process owning the run. */
export const LOCK_FILE = 'owner.pid';

/** Folders of runs being deleted: renamed out of the way first (not run ids, so never listed). */
const REMOVED_PREFIX = '.removed-';

/** A run this process owns until it releases it or removes its folder. */
export interface RunLock {
  readonly runId: string;
  readonly dir: string;
  /** Gives the run up, keeping its checkpoint (nothing when it was released, removed or forced away already). */
  release(): Promise<void>;
  /**
   * Deletes the run's folder while owning it: renamed away first, so nobody can take the run half-deleted. Nothing
   * once released.
   */
  remove(): Promise<void>;
}

export interface TakeRunOptions {
  /** The data folder (default dataDir()). */
  readonly root?: string;
  /** What this process does with the run, for others' messages (`nst resume 20261207-…`, `studio run`). */
  readonly command: string;
  /** How far to go past a lock: 'stale' (default), 'unknown' (also one that cannot be read), 'live' (--force). */
  readonly takeOver?: TakeOver;
  /** How the refusal says to force it (`run it again with --force`); absent where there is no such way. */
  readonly forceHint?: string;
  /**
   * One line for a lock taken over (a stale owner, an unreadable lock, a forced live one). `expected`: its owner
   * exited or the machine restarted, the usual case after a crash, which a front end may leave unsaid.
   */
  readonly note?: (line: string, expected: boolean) => void;
}

/**
 * Takes the run for this process before it reads or writes anything in it. FILE_NOT_FOUND when there is no such
 * run; RUN_IN_USE (naming the owner and how to tell whether it is really working on the run) when another process
 * owns it beyond `takeOver`.
 */
export async function takeRun(runId: string, options: TakeRunOptions): Promise<RunLock> {
  const root = options.root ?? dataDir();
  const dir = runDir(runId, root);
  const file = path.join(dir, LOCK_FILE);
  let held: HeldLock;
  try {
    held = await acquireOwnerLock(file, { command: options.command, ...(options.takeOver ? { takeOver: options.takeOver } : {}) });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new NstError('FILE_NOT_FOUND', `No run ${runId} in ${runsDir(root)}: \`nst runs\` lists the runs that can be resumed.`, { cause: error });
    }
    if (error instanceof LockHeld) throw new NstError('RUN_IN_USE', inUseSentence(runSubject(runId), file, error.verdict, options.forceHint), { cause: error });
    throw error;
  }
  if (held.replaced) options.note?.(takeOverNote(runSubject(runId), file, held.replaced), expectedTakeOver(held.replaced));
  return runLock(runId, dir, root, held);
}

/**
 * Makes a new run's folder, owned by this process: made under a temporary name beside it (temporaryPath's, so the
 * folder of a creator killed midway is swept like any dead writer's temporary) with its lock inside, then renamed
 * into place, so a run folder never exists without its owner (a sweep of abandoned runs never meets one being
 * made). EEXIST-like errors when the run exists.
 */
export async function createRun(runId: string, options: { readonly root?: string; readonly command: string }): Promise<RunLock> {
  const root = options.root ?? dataDir();
  const dir = runDir(runId, root);
  await mkdir(runsDir(root), { recursive: true });
  const staging = temporaryPath(dir);
  await mkdir(staging);
  let held: HeldLock | null = null;
  try {
    held = await acquireOwnerLock(path.join(staging, LOCK_FILE), { command: options.command });
    await rename(staging, dir);
  } catch (error) {
    await held?.release();
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
  return runLock(runId, dir, root, movedOwnerLock(held, path.join(dir, LOCK_FILE)));
}

function runLock(runId: string, dir: string, root: string, held: HeldLock): RunLock {
  let gone = false;
  return {
    runId,
    dir,
    release: async () => {
      if (!gone) await held.release();
      gone = true;
    },
    remove: async () => {
      // Released: the run is no longer this process's to delete.
      if (gone) return;
      gone = true;
      const trash = path.join(runsDir(root), `${REMOVED_PREFIX}${runId}-${randomBytes(4).toString('hex')}`);
      await rename(dir, trash);
      await held.release(); // its file went with the folder: this only forgets the token
      await rm(trash, { recursive: true, force: true });
      await sweepRemoved(root);
    },
  };
}

/** The lock file `nst batch` holds in its output folder while it works there. */
export const BATCH_LOCK_FILE = '.nst-batch.lock';

/**
 * Takes a batch's output folder (made by then) for this process: two batches writing one folder would redo each
 * other's items and race on its manifest. RUN_IN_USE when another live nst works there; a stale lock is taken over.
 */
export async function takeBatchFolder(dir: string, options: { command: string; note?: (line: string, expected: boolean) => void }): Promise<{ release(): Promise<void> }> {
  return takeFolder(path.join(dir, BATCH_LOCK_FILE), { name: `the batch folder ${dir}`, within: 'in it' }, options);
}

/** The lock file a video job (`nst stylize-video`, its resumption) holds in the job's folder while it works there. */
export const VIDEO_JOB_LOCK_FILE = '.nst-video.lock';

/**
 * Takes a video job's folder (made by then) for this process, as takeBatchFolder takes a batch's: two processes
 * painting one job would write over each other's frames. RUN_IN_USE when another live nst works there.
 */
export async function takeVideoJobFolder(dir: string, options: { command: string; note?: (line: string, expected: boolean) => void }): Promise<{ release(): Promise<void> }> {
  return takeFolder(path.join(dir, VIDEO_JOB_LOCK_FILE), { name: `the video job ${dir}`, within: 'on it' }, options);
}

async function takeFolder(file: string, subject: Subject, options: { command: string; note?: (line: string, expected: boolean) => void }): Promise<{ release(): Promise<void> }> {
  try {
    const held = await acquireOwnerLock(file, { command: options.command });
    if (held.replaced) options.note?.(takeOverNote(subject, file, held.replaced), expectedTakeOver(held.replaced));
    return held;
  } catch (error) {
    if (error instanceof LockHeld) throw new NstError('RUN_IN_USE', inUseSentence(subject, file, error.verdict), { cause: error });
    throw error;
  }
}

/** Takes the run (as takeRun) and deletes its folder: `nst runs --remove`, the studio's Discard. */
export async function removeRun(runId: string, options: TakeRunOptions): Promise<void> {
  await (await takeRun(runId, options)).remove();
}

/** Who owns a run now, for listings: never thrown for a lock that cannot be read (that run shows 'unknown'). */
export type RunOwner =
  | { readonly state: 'none' }
  | { readonly state: 'running'; readonly pid: number; readonly sure: boolean; readonly command: string | null }
  | { readonly state: 'unknown'; readonly why: string };

/** The run's owner: a stale lock (its process gone, or a thread of this process that has ended) is no owner. */
export async function runOwner(runId: string, root: string = dataDir()): Promise<RunOwner> {
  const verdict = await inspectOwnerLock(path.join(runDir(runId, root), LOCK_FILE));
  if (verdict.state === 'unknown') return { state: 'unknown', why: `its lock file ${verdict.why}` };
  if (verdict.state !== 'live') return { state: 'none' };
  return { state: 'running', pid: verdict.owner.pid, sure: verdict.sure, command: verdict.owner.command };
}

/**
 * RUN_IN_USE when another live process owns the run (a cheap early refusal; takeRun decides for good). A lock that
 * cannot be read passes: the studio takes such a run over when it resumes or discards it.
 */
export async function checkNotRunning(runId: string, root: string = dataDir()): Promise<void> {
  const file = path.join(runDir(runId, root), LOCK_FILE);
  const verdict = await inspectOwnerLock(file);
  if (verdict.state === 'live') throw new NstError('RUN_IN_USE', inUseSentence(runSubject(runId), file, verdict));
}

/** What a lock guards, as sentences name it: `run X` (on this run) or `the batch folder D` (in this folder). */
interface Subject {
  readonly name: string;
  readonly within: string;
}

const runSubject = (runId: string): Subject => ({ name: `run ${runId}`, within: 'on this run' });

function inUseSentence(subject: Subject, file: string, verdict: Exclude<OwnerVerdict, { state: 'free' | 'stale' }>, forceHint?: string): string {
  // Where there is no --force (the studio, a batch), deleting the lock file is the way out.
  const takeIt = `${forceHint ?? `delete ${file}`} to take it over`;
  const Name = `${subject.name[0]!.toUpperCase()}${subject.name.slice(1)}`;
  if (verdict.state === 'unknown') return `Cannot tell whether ${subject.name} is in use: its lock file ${file} ${verdict.why}. If no nst is working ${subject.within}, ${takeIt}.`;
  const { owner, sure, seems } = verdict;
  if (sure) return `${Name} is in use by nst in process ${owner.pid} (${describe(owner)}): let it finish, or stop that nst; if it is stuck, ${takeIt}.`;
  if (owner.host !== null && owner.host !== hostname()) {
    return `${Name} may be in use: its lock names process ${owner.pid} on ${owner.host}, which nst cannot check from here. If no nst on ${owner.host} is working ${subject.within}, ${takeIt}.`;
  }
  const tell = process.platform === 'win32' ? `\`tasklist /v /fi "PID eq ${owner.pid}"\`` : `\`ps -o lstart,args -p ${owner.pid}\``;
  return `${Name} may be in use: its lock names process ${owner.pid}, which is running${seems ? ` (${seems})` : ''} but may not be the nst that took it (${describe(owner)}). If ${tell} shows no nst working ${subject.within}, ${takeIt}.`;
}

/** An owner that is simply gone: it exited, its machine restarted, or it was a thread of this process that ended. */
function expectedTakeOver(replaced: Exclude<OwnerVerdict, { state: 'free' }>): boolean {
  return replaced.state === 'stale' && !replaced.why.startsWith('its pid now names another program');
}

function takeOverNote(subject: Subject, file: string, replaced: Exclude<OwnerVerdict, { state: 'free' }>): string {
  if (replaced.state === 'unknown') return `${subject.name}: its lock file ${file} ${replaced.why}; taking it over.`;
  if (replaced.state === 'stale') return `${subject.name}: its owner, process ${replaced.owner.pid} (${describe(replaced.owner)}), is gone (${replaced.why}); taking it over.`;
  const { owner, sure, seems } = replaced;
  return `warning: --force: taking ${subject.name} over from process ${owner.pid}, which is still running (${sure ? describe(owner) : seems ?? 'nst cannot tell what it is'}); if it still works ${subject.within}, the two will write over each other's files.`;
}

/** `nst resume 2026…, since 2026-12-07 10:00:01 UTC`, as far as the record says. */
function describe(owner: OwnerRecord): string {
  const since = owner.since && !Number.isNaN(Date.parse(owner.since)) ? `since ${owner.since.replace('T', ' ').slice(0, 19)} UTC` : null;
  return [owner.command ?? 'an older nst', since].filter(Boolean).join(', ');
}

/** Deletes what removals killed midway left (best effort: another removal may be deleting it now). */
async function sweepRemoved(root: string): Promise<void> {
  for (const name of await readdir(runsDir(root)).catch(() => [] as string[])) {
    if (name.startsWith(REMOVED_PREFIX)) await rm(path.join(runsDir(root), name), { recursive: true, force: true }).catch(() => undefined);
  }
}
