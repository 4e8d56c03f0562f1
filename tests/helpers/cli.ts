// Runs the built `nst` CLI (bin/nst.js → out/cli/nst.js) as a user would, capturing its output.

import { spawn } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from './shared-data.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function runNst(args: readonly string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin/nst.js'), ...args], {
      cwd: options.cwd ?? REPO_ROOT,
      env: { ...process.env, NST_WEIGHTS: '', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** The JSON objects a `--json` run printed, one per line. */
export function jsonLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .split('\n')
    .filter((line) => line.trim().startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}
