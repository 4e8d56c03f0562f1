// Builds the CLI bundle once before the tests that run `nst` as a subprocess, and names this test run so that
// the desktop build (tests/helpers/electron-build.ts) happens once per run, only when a test needs it.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';

export default function setup(): void {
  process.env.NST_TEST_RUN_ID = randomUUID();
  execFileSync(process.execPath, ['scripts/build-cli.mjs'], { stdio: 'inherit' });
}
