// Builds the desktop app (electron-vite build → out/main, out/preload, out/renderer) at most once per test run,
// for the tests that read the build output. Standalone (no run id from the global setup) it builds each time.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');
export const OUT_DIR = path.join(ROOT, 'out');
const STAMP = path.join(OUT_DIR, '.electron-build-run');

/** Set by tests/global-setup.ts for the whole run; forks inherit it. */
export const TEST_RUN_ID_ENV = 'NST_TEST_RUN_ID';

export function ensureElectronBuild(): void {
  const runId = process.env[TEST_RUN_ID_ENV];
  if (runId && existsSync(STAMP) && readFileSync(STAMP, 'utf8') === runId) return;
  execFileSync(process.execPath, [path.join(ROOT, 'node_modules', 'electron-vite', 'bin', 'electron-vite.js'), 'build'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (runId) {
    mkdirSync(OUT_DIR, { recursive: true });
    writeFileSync(STAMP, runId);
  }
}
