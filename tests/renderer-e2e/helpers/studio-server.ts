// Starts `npm run serve` (the browser host) as a child process and reads the URL, token included, that it prints.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface StudioServer {
  url: string;
  /** Everything the server printed so far (for failure messages). */
  output(): string;
  close(): Promise<void>;
}

const URL_PATTERN = /https?:\/\/127\.0\.0\.1:\d+\/\S*token=\S+/;

/** How to start the host: `npm run serve`, or the script it runs while package.json does not name it yet. */
export function serveCommand(repoRoot: string): { command: string; args: string[] } | null {
  const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
  if (typeof pkg.scripts?.serve === 'string') return { command: 'npm', args: ['run', 'serve', '--'] };
  if (existsSync(path.join(repoRoot, 'scripts', 'serve.mjs'))) return { command: process.execPath, args: ['scripts/serve.mjs'] };
  return null;
}

/** The host's environment: NST_WEIGHTS as given, or none at all with the data folder empty (a first start). */
function freshEnv(weights: string | null, dataDir: string): NodeJS.ProcessEnv {
  const env = { ...process.env };
  if (weights !== null) return { ...env, NST_WEIGHTS: weights };
  delete env.NST_WEIGHTS;
  return { ...env, NST_DATA_DIR: dataDir };
}

export async function startStudioServer(options: {
  repoRoot: string;
  /** NST_WEIGHTS for the host; null: a fresh install (no NST_WEIGHTS, an empty data folder: the built-in weights run). */
  weights: string | null;
  /** Building the host and renderer on a 2-core machine takes a while. */
  timeoutMs?: number;
}): Promise<StudioServer> {
  const serve = serveCommand(options.repoRoot);
  if (!serve) throw new Error('There is no `npm run serve` in this checkout.');
  const dataDir = mkdtempSync(path.join(tmpdir(), 'nst-serve-data-'));
  let log = '';
  // detached: the child leads its own process group, so close() can end npm and the node under it together.
  const child: ChildProcess = spawn(serve.command, [...serve.args, '--data-dir', dataDir], {
    cwd: options.repoRoot,
    env: freshEnv(options.weights, dataDir),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const close = async (): Promise<void> => {
    if (child.exitCode === null && child.pid !== undefined) {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        // already gone
      }
      const timer = setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // already gone
        }
      }, 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dataDir, { recursive: true, force: true });
  };

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm run serve printed no URL within ${options.timeoutMs ?? 180_000} ms:\n${log}`)), options.timeoutMs ?? 180_000);
    const onData = (chunk: Buffer): void => {
      log += chunk.toString();
      const match = URL_PATTERN.exec(log);
      if (match) {
        clearTimeout(timer);
        resolve(match[0]);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`npm run serve exited (code ${code}) before printing its URL:\n${log}`));
    });
  }).catch(async (error: unknown) => {
    await close();
    throw error;
  });

  return { url, output: () => log, close };
}
