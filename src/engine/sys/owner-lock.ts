// Lock files that name the process holding something (a run's folder, a batch's folder, a download): taken
// atomically, told apart from a pid that a later, unrelated process reuses, and taken over only when stale or forced.
//
// A lock is a small JSON record (pid, the process's start time, this machine, a random token, the command) that
// appears at its path in one step: written beside it, then hard-linked into place (link fails when the path is
// taken, so of two takers exactly one wins); where links are not supported, created with O_EXCL. A stale lock is
// replaced only under a short-lived guard (a lock file of the same kind naming its taker), after checking it is
// still the lock that was judged.

import { randomBytes } from 'node:crypto';
import { link, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { temporaryPath } from './atomic-file.js';
import { isProcessAlive, processCommandLine, processStartTime, startTimeBoot, bootId } from './process-alive.js';

/** What a lock records about its holder. `start` is processStartTime's (null where it cannot be told). */
export interface OwnerRecord {
  readonly pid: number;
  readonly start: string | null;
  readonly host: string | null;
  readonly token: string | null;
  /** What the holder was doing, for messages (`nst resume 20261207-…`); null in a lock an older nst wrote. */
  readonly command: string | null;
  readonly since: string | null;
}

/**
 * What a lock file says about its holder now:
 * - free: no lock;
 * - stale: its process is gone (exited, or the pid now names another program, or the machine restarted since);
 * - live: its process is running; `sure` when its start time matched the record (it is the process that took the
 *   lock), else the pid is alive but nst cannot tell whether it is the same process (an older nst's lock, another
 *   machine's, Windows);
 * - unknown: there is a lock that cannot be read as one (not a file, unreadable, not a record); `why` is a
 *   predicate ("cannot be read (EISDIR)").
 */
export type OwnerVerdict =
  | { readonly state: 'free' }
  | { readonly state: 'stale'; readonly owner: OwnerRecord; readonly why: string }
  | { readonly state: 'live'; readonly owner: OwnerRecord; readonly sure: boolean; readonly seems: string | null }
  | { readonly state: 'unknown'; readonly why: string };

/** How far a taker goes: stale locks only (the default), also unreadable ones, or any (a user's --force). */
export type TakeOver = 'stale' | 'unknown' | 'live';

export interface HeldLock {
  readonly file: string;
  readonly record: OwnerRecord;
  /** The lock this one replaced (stale, unreadable or forced), for the taker's note; null for a free path. */
  readonly replaced: Exclude<OwnerVerdict, { state: 'free' }> | null;
  /** Removes the lock if it is still this one's (a forced taker's is left alone). */
  release(): Promise<void>;
}

/** A lock the taker may not take over (per its TakeOver), with what holds it. */
export class LockHeld extends Error {
  constructor(readonly file: string, readonly verdict: Exclude<OwnerVerdict, { state: 'free' | 'stale' }>) {
    super(`${file} is held (${verdict.state})`);
  }
}

/**
 * The tokens of the locks this thread holds. A lock naming this process with a token not here was left by a thread
 * that has ended (the studio's job worker is a thread of its host, and a crashed one leaves its locks): stale.
 */
const heldTokens = new Set<string>();

/** A takeover guard that does not say who took it, older than this, belongs to a taker that died in its work. */
const GUARD_STALE_MS = 10_000;
const ATTEMPTS = 20;

/**
 * Takes `file` (its folder must exist: ENOENT otherwise) for this process. A held lock is taken over when its
 * verdict is within `takeOver`; otherwise LockHeld is thrown.
 */
export async function acquireOwnerLock(file: string, options: { command: string; takeOver?: TakeOver }): Promise<HeldLock> {
  const record: OwnerRecord = {
    pid: process.pid,
    start: await processStartTime(process.pid),
    host: os.hostname(),
    token: randomBytes(12).toString('hex'),
    command: options.command,
    since: new Date().toISOString(),
  };
  let replaced: HeldLock['replaced'] = null;
  // Counted as held before the file can appear: another taker in this process must never judge it a dead thread's.
  heldTokens.add(record.token!);
  try {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      if (await createExclusive(file, `${JSON.stringify(record)}\n`)) {
        // Read back: on a filesystem whose link or O_EXCL is not to be trusted (some network mounts), another
        // taker's record would show here.
        if ((await readRecord(file))?.token === record.token) return held(file, record, replaced);
        continue;
      }
      const seen = await readLock(file);
      if (seen.raw === null) continue; // released meanwhile: try again
      const verdict = await judge(seen);
      if (verdict.state === 'free') continue;
      if (verdict.state !== 'stale' && !within(verdict.state, options.takeOver ?? 'stale')) throw new LockHeld(file, verdict);
      if (await replaceIfUnchanged(file, seen.raw, record)) replaced = verdict;
      else await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 30));
    }
    const last = await inspectOwnerLock(file);
    throw new LockHeld(file, last.state === 'live' || last.state === 'unknown' ? last : { state: 'unknown', why: 'kept being taken by other processes at the same time' });
  } catch (error) {
    heldTokens.delete(record.token!);
    throw error;
  }
}

/** What `file` says about its holder (never throws for a lock that cannot be read: that is 'unknown'). */
export async function inspectOwnerLock(file: string): Promise<OwnerVerdict> {
  return judge(await readLock(file));
}

/** Whether a taker that goes as far as `takeOver` may replace a lock judged `state`. */
function within(state: 'unknown' | 'live', takeOver: TakeOver): boolean {
  return takeOver === 'live' || (takeOver === 'unknown' && state === 'unknown');
}

/**
 * The lock `lock` once the folder it was taken in has been renamed so that its file is now `file` (a folder made
 * with its lock already inside, then renamed into place: persist/run-lock.ts's createRun).
 */
export function movedOwnerLock(lock: HeldLock, file: string): HeldLock {
  return held(file, lock.record, lock.replaced);
}

function held(file: string, record: OwnerRecord, replaced: HeldLock['replaced']): HeldLock {
  let released = false;
  return {
    file,
    record,
    replaced,
    release: async () => {
      if (released) return;
      released = true;
      heldTokens.delete(record.token!);
      if ((await readRecord(file).catch(() => null))?.token === record.token) await unlink(file).catch(() => undefined);
    },
  };
}

/** Creates `file` holding `text` in one step; false when something stands there already. */
async function createExclusive(file: string, text: string): Promise<boolean> {
  const temporary = temporaryPath(file);
  await writeFile(temporary, text, { flag: 'wx' });
  try {
    await link(temporary, file);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    // No hard links here (FAT, some network shares): O_EXCL, with a moment in which the file is empty.
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw error;
    try {
      await writeFile(file, text, { flag: 'wx' });
      return true;
    } catch (fallback) {
      if ((fallback as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw fallback;
    }
  } finally {
    await unlink(temporary).catch(() => undefined);
  }
}

/**
 * Replaces a stale lock: under a guard (a lock file beside it, naming its taker) only one taker at a time checks
 * that the lock is still the one it judged (`raw`) and removes it. False when another taker holds the guard (the
 * caller looks again).
 */
async function replaceIfUnchanged(file: string, raw: string, taker: OwnerRecord): Promise<boolean> {
  const guard = `${file}.takeover`;
  if (!(await createExclusive(guard, `${JSON.stringify(taker)}\n`))) {
    // A taker killed inside its guard leaves it: debris, which the next taker removes (and then looks again).
    if (await isStaleGuard(guard)) await rm(guard, { recursive: true, force: true });
    return false;
  }
  try {
    if ((await readLock(file)).raw !== raw) return false;
    await rm(file, { recursive: true, force: true });
    return true;
  } finally {
    if ((await readRecord(guard))?.token === taker.token) await unlink(guard).catch(() => undefined);
  }
}

/**
 * Whether a takeover guard was left by a taker that died in its few milliseconds of work: at once when its record
 * names a process that is gone (judged as a lock is); after GUARD_STALE_MS when it cannot tell (an older nst's guard
 * folder, or one naming this process: another of its threads may be taking over now).
 */
async function isStaleGuard(guard: string): Promise<boolean> {
  const seen = await readLock(guard);
  if (seen.raw === null) return false;
  if (seen.record && seen.record.pid !== process.pid && (await judge(seen)).state === 'stale') return true;
  return (await stat(guard).then((s) => Date.now() - s.mtimeMs, () => 0)) > GUARD_STALE_MS;
}

interface SeenLock {
  /** The file's text, `<EISDIR>`-style for one that cannot be read, null for none: compared before a takeover. */
  readonly raw: string | null;
  readonly record: OwnerRecord | null;
  readonly problem: string | null;
}

async function readLock(file: string): Promise<SeenLock> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    if (code === 'ENOENT') return { raw: null, record: null, problem: null };
    return { raw: `<${code}>`, record: null, problem: `cannot be read (${code})` };
  }
  const record = parseRecord(text);
  return { raw: text, record, problem: record ? null : text.trim() === '' ? 'is empty' : 'does not name a process' };
}

async function readRecord(file: string): Promise<OwnerRecord | null> {
  return (await readLock(file)).record;
}

/** A record as this module writes it, or an older nst's plain `PID\n`; null for anything else. */
function parseRecord(text: string): OwnerRecord | null {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) {
    const pid = Number(trimmed);
    return Number.isSafeInteger(pid) && pid > 0 ? { pid, start: null, host: null, token: null, command: null, since: null } : null;
  }
  let value: unknown;
  try {
    value = JSON.parse(trimmed);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const r = value as Record<string, unknown>;
  const str = (key: string): string | null => (typeof r[key] === 'string' ? (r[key] as string) : null);
  if (typeof r.pid !== 'number' || !Number.isSafeInteger(r.pid) || r.pid <= 0) return null;
  return { pid: r.pid, start: str('start'), host: str('host'), token: str('token'), command: str('command'), since: str('since') };
}

async function judge(seen: SeenLock): Promise<OwnerVerdict> {
  if (seen.raw === null) return { state: 'free' };
  const owner = seen.record;
  if (!owner) return { state: 'unknown', why: seen.problem ?? 'does not name a process' };
  if (owner.host !== null && owner.host !== os.hostname()) {
    return { state: 'live', owner, sure: false, seems: null };
  }
  const recordedBoot = owner.start ? startTimeBoot(owner.start) : null;
  const thisBoot = await bootId();
  if (recordedBoot && thisBoot && recordedBoot !== thisBoot) return { state: 'stale', owner, why: 'the machine has restarted since' };
  if (!(await isProcessAlive(owner.pid))) return { state: 'stale', owner, why: 'exited' };
  if (owner.pid === process.pid) {
    return owner.token !== null && heldTokens.has(owner.token) ? { state: 'live', owner, sure: true, seems: null } : { state: 'stale', owner, why: 'a thread of this process that has ended took it' };
  }
  const commandLine = await processCommandLine(owner.pid);
  const seems = commandLine ? oneLine(commandLine) : null;
  if (owner.start !== null) {
    const start = await processStartTime(owner.pid);
    if (start !== null) {
      return start === owner.start ? { state: 'live', owner, sure: true, seems } : { state: 'stale', owner, why: `its pid now names another program${seems ? `: ${seems}` : ''}` };
    }
  }
  // No start time to compare (an older nst's lock, Windows): a command line that is plainly not nst's settles it.
  if (seems !== null && !looksLikeNst(commandLine!)) return { state: 'stale', owner, why: `its pid now names another program: ${seems}` };
  return { state: 'live', owner, sure: false, seems };
}

/**
 * Whether a command line could be an nst process: the CLI (node … nst), the studio (Electron, its worker) or the
 * browser host (node). Only used where no start time can be compared, so it errs towards "could be".
 */
function looksLikeNst(commandLine: string): boolean {
  const program = commandLine.split(' ')[0]!.split(/[\\/]/).at(-1)!.toLowerCase();
  return /^(node|nodejs|electron|nst)(\.exe)?$/.test(program) || /\bnst\b|neural.?style/i.test(commandLine);
}

/** A command line for a one-line message: control characters out, and not too long. */
function oneLine(text: string): string {
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
  return clean.length > 120 ? `${clean.slice(0, 117)}...` : clean;
}
