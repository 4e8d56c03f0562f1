// Runs the built `nst` CLI (bin/nst.js → out/cli/nst.js) as a user would, capturing its output.

import { spawn, type ChildProcessByStdio } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { REPO_ROOT } from './shared-data.js';

/** A data folder nothing writes to: runs see no installed weights unless a test passes its own NST_DATA_DIR. */
const NO_DATA_DIR = path.join(os.tmpdir(), 'nst-tests-no-data-dir');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunNstOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Run under `ulimit -d` (KiB, via bash): allocations past it fail as a real out-of-memory would. */
  dataLimitKib?: number;
}

export function runNst(args: readonly string[], options: RunNstOptions = {}): Promise<CliResult> {
  const child = spawnNst(args, options);
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** Starts `nst` as runNst does, for a test that signals or kills it midway; stdout and stderr are pipes to read. */
export function spawnNst(args: readonly string[], options: RunNstOptions = {}): ChildProcessByStdio<null, Readable, Readable> {
  const nst = [process.execPath, path.join(REPO_ROOT, 'bin/nst.js'), ...args];
  const [command, ...commandArgs] =
    options.dataLimitKib === undefined ? nst : ['bash', '-c', `ulimit -d ${options.dataLimitKib} && exec "$0" "$@"`, ...nst];
  return spawn(command!, commandArgs, {
    cwd: options.cwd ?? REPO_ROOT,
    // No NST_WEIGHTS and an empty data folder, so weights installed on this machine (`nst weights fetch`) never
    // stand in for the ones a test names.
    env: { ...process.env, NST_WEIGHTS: '', NST_DATA_DIR: NO_DATA_DIR, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** The JSON objects a `--json` run printed, one per line. */
export function jsonLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .split('\n')
    .filter((line) => line.trim().startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}
