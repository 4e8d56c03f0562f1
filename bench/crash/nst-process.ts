// Runs the built `nst` as a user would and, for the crash harness, kill -9s it at a chosen point: a time offset,
// just after an iteration's --json line, or as a new file or folder (a temporary, a checkpoint, a frame, a run's folder) appears.

import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../tests/helpers/shared-data.js';
import { TreeWatch } from './tree-watch.js';

/** Where a run is killed. Each is reproducible as data; where it lands in the run is what `landed` then says. */
export type KillPoint =
  /** `ms` after the process was started (start-up included: loading the weights, building the graph). */
  | { readonly at: 'time'; readonly ms: number }
  /** `delayMs` after the `line`-th iteration line of --json output (counted over a batch's items). */
  | { readonly at: 'iteration'; readonly line: number; readonly delayMs: number }
  /** As the `nth` new name appears under the trial's folder: a temporary being written, a frame, a run's folder. */
  | { readonly at: 'write'; readonly nth: number }
  /** Once a checkpoint at iteration `iteration` or later is on disk (the resume job's first kill). */
  | { readonly at: 'checkpoint'; readonly iteration: number };

export interface NstRun {
  readonly args: readonly string[];
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The --json lines. */
  readonly lines: readonly Record<string, unknown>[];
  /** Whether the kill point was reached and SIGKILL sent (false: the run ended first). */
  readonly killed: boolean;
  /** Where the kill landed, in words ("after iteration 5 + 12 ms", "as out/.out.png.123.ab.tmp appeared"). */
  readonly landed: string | null;
  readonly iterationLines: number;
  /** New names (files, folders) seen under the watched folder (the reference's count bounds the write kill points). */
  readonly newFiles: number;
  readonly ms: number;
  /** Processes of its group (ffmpeg, an onnxruntime child) still alive a few seconds after it ended: then killed. */
  readonly outlived: boolean;
  readonly timedOut: boolean;
}

export interface NstRunOptions {
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  readonly kill?: KillPoint;
  /** The folder whose new names the `write` kill point counts (and every run reports as newFiles). */
  readonly watch?: string;
  /** Where a `checkpoint` kill point looks for checkpoints (the data folder's runs/). */
  readonly runsDir?: string;
  readonly timeoutMs?: number;
}

const NST = path.join(REPO_ROOT, 'bin/nst.js');
const GROUP_GRACE_MS = 5_000;

/** Runs `nst ARGS` to its end, killing it with SIGKILL at `options.kill` if it gets there first. */
export function runNst(args: readonly string[], options: NstRunOptions): Promise<NstRun> {
  const started = performance.now();
  // Its own process group, so what it started (ffmpeg) can be seen, and cleaned up, after it is killed.
  const child = spawn(process.execPath, [NST, ...args], { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let stdout = '';
  let stderr = '';
  let pending = '';
  const lines: Record<string, unknown>[] = [];
  let iterationLines = 0;
  let newFiles = 0;
  let killed = false;
  let landed: string | null = null;
  let exited = false;
  const timers: NodeJS.Timeout[] = [];

  const kill = (where: string): void => {
    if (killed || exited) return;
    try {
      process.kill(child.pid!, 'SIGKILL');
    } catch {
      return; // it exited between the check and the kill
    }
    killed = true;
    landed = `${where} (${Math.round(performance.now() - started)} ms after the start)`;
  };

  const point = options.kill;
  if (point?.at === 'time') timers.push(setTimeout(() => kill(`at ${point.ms} ms`), point.ms));
  if (point?.at === 'checkpoint') {
    const poll = setInterval(() => {
      const at = newestCheckpointIteration(options.runsDir!);
      if (at !== null && at >= point.iteration) kill(`once its checkpoint at iteration ${at} was on disk`);
    }, 10);
    timers.push(poll);
  }
  const watcher = options.watch
    ? new TreeWatch(options.watch, (file) => {
        newFiles++;
        if (point?.at === 'write' && newFiles === point.nth) kill(`as ${path.relative(options.watch!, file)} appeared (new name ${newFiles})`);
      })
    : null;
  watcher?.start();

  child.stdout.on('data', (chunk: Buffer) => {
    const text = chunk.toString();
    stdout += text;
    pending += text;
    let newline: number;
    while ((newline = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, newline).trim();
      pending = pending.slice(newline + 1);
      if (!line.startsWith('{')) continue;
      let record: Record<string, unknown>;
      try {
        record = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue;
      }
      lines.push(record);
      if (typeof record.iteration !== 'number') continue;
      iterationLines++;
      if (point?.at === 'iteration' && iterationLines === point.line) {
        const where = `${point.delayMs} ms after iteration line ${iterationLines} (iteration ${record.iteration}${typeof record.item === 'number' ? ` of item ${record.item}` : ''})`;
        if (point.delayMs === 0) kill(where);
        else timers.push(setTimeout(() => kill(where), point.delayMs));
      }
    }
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));

  let timedOut = false;
  const timeout = setTimeout(() => {
    timedOut = true;
    killGroup(child.pid!);
  }, options.timeoutMs ?? 180_000);

  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      exited = true;
      clearTimeout(timeout);
      for (const timer of timers) clearTimeout(timer);
      watcher?.close();
      void waitForGroup(child.pid!).then((outlived) =>
        resolve({ args, code, signal, stdout, stderr, lines, killed, landed, iterationLines, newFiles, ms: Math.round(performance.now() - started), outlived, timedOut }),
      );
    });
  });
}

/** The highest iteration of a complete checkpoint under runsDir (manifests are replaced by rename: whole or absent). */
function newestCheckpointIteration(runsDir: string): number | null {
  let best: number | null = null;
  let ids: string[] = [];
  try {
    ids = readdirSync(runsDir);
  } catch {
    return null;
  }
  for (const id of ids) {
    const manifest = path.join(runsDir, id, 'checkpoint.json');
    if (!existsSync(manifest)) continue;
    try {
      const at = (JSON.parse(readFileSync(manifest, 'utf8')) as { progress?: { iteration?: unknown } }).progress?.iteration;
      if (typeof at === 'number' && (best === null || at > best)) best = at;
    } catch {
      // Replaced as it was read: the next poll sees the new one.
    }
  }
  return best;
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** Waits for what the run started to end with it; true (and the rest killed) when something outlived it. */
async function waitForGroup(pgid: number): Promise<boolean> {
  const deadline = Date.now() + GROUP_GRACE_MS;
  while (groupAlive(pgid)) {
    if (Date.now() > deadline) {
      killGroup(pgid);
      return true;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return false;
}
