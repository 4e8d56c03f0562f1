// Builds the CLI bundle once before the tests that run `nst` as a subprocess, and names this test run so that
// the desktop build (tests/helpers/electron-build.ts) and the renderer build the fake-host browser tests serve
// (tests/helpers/renderer-build.ts) happen once per run, only when a test needs them.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { sharedRendererDir } from './helpers/renderer-build.js';

export default function setup(): () => void {
  const runId = randomUUID();
  process.env.NST_TEST_RUN_ID = runId;
  execFileSync(process.execPath, ['scripts/build-cli.mjs'], { stdio: 'inherit' });
  return () => {
    const dir = sharedRendererDir(runId);
    for (const made of [dir, `${dir}.built`, `${dir}.lock`]) rmSync(made, { recursive: true, force: true });
  };
}
