// The renderer built by vite once per test run for every file that serves it with the fake host (a build is ~4 s
// of the 2-core box's CPU, and seven files each built their own). Standalone (no run id) each call builds afresh.

import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'vite';
import { REPO_ROOT } from './shared-data.js';

/** Where one run's shared build lives (tests/global-setup.ts removes it when the run ends). */
export const sharedRendererDir = (runId: string): string => path.join(tmpdir(), `nst-renderer-run-${runId}`);

export interface RendererBuild {
  /** The built renderer (index.html and its assets); read only: other files serve it too. */
  dir: string;
  /** Removes a build of this file's own; a shared one stays for the rest of the run. */
  release(): void;
}

async function buildInto(outDir: string): Promise<void> {
  await build({ configFile: path.join(REPO_ROOT, 'vite.renderer.config.ts'), build: { outDir, emptyOutDir: true, sourcemap: false }, logLevel: 'warn' });
}

/**
 * The run's renderer build, made by the first file that asks. Files may run at once (the browser project's
 * workers): the first to make the lock folder builds, the others wait for its stamp.
 */
export async function rendererBuild(timeoutMs = 180_000): Promise<RendererBuild> {
  const runId = process.env.NST_TEST_RUN_ID;
  if (!runId) {
    const dir = mkdtempSync(path.join(tmpdir(), 'nst-renderer-'));
    await buildInto(dir);
    return { dir, release: () => rmSync(dir, { recursive: true, force: true }) };
  }
  const dir = sharedRendererDir(runId);
  const stamp = `${dir}.built`;
  const shared: RendererBuild = { dir, release: () => undefined };
  if (existsSync(stamp)) return shared;
  let builder = true;
  try {
    mkdirSync(`${dir}.lock`);
  } catch {
    builder = false;
  }
  if (builder) {
    await buildInto(dir);
    writeFileSync(stamp, runId);
    return shared;
  }
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(stamp)) {
    if (Date.now() > deadline) throw new Error(`The renderer build another test file started (${dir}) did not finish in ${timeoutMs} ms.`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return shared;
}
