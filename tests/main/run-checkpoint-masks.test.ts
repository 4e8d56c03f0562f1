// A masked studio run killed mid-run (the app dying) resumes with its masks: the ones painted last, mid-run edits
// included, from its checkpoint; the next session's resume answers them for the mask editor.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RunService } from '../../src/main/services/run-service.js';
import { MANIFEST_FILE } from '../../src/engine/persist/checkpoint.js';
import type { RunEvent } from '../../src/shared/api.js';
import { REPO_ROOT } from '../helpers/shared-data.js';
import { EventLog, WEIGHTS_DIR, halfMasks, studioDataPresent, testSettings, tsJobWorker, tubingenStarryRequest } from '../helpers/studio.js';

type Of<T extends RunEvent['type']> = Extract<RunEvent, { type: T }>;

const ITERATIONS = 150;
const SWITCH_AT = 3;
const PAUSE_AT = 8;

async function until(condition: () => boolean, timeoutMs: number, what: string, detail: () => string = () => ''): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} ${detail()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.skipIf(!studioDataPresent())('a masked studio run resumed after the app died (real uint8 VGG19, 64 px, Adam)', () => {
  it('resumes with the masks painted last, and goes on exactly as the killed run did', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'nst-studio-masks-'));
    // Top half masked, the bottom half painted instead after iteration 3, then a pause after 8: the only checkpoint
    // (the interval is 10 minutes), holding the bottom half. The run goes on and is killed a few iterations later.
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'tests', 'helpers', 'studio-run-child.ts'), root, String(ITERATIONS), 'adam'], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, MASKS: 'top', MASKS_SWITCH_AT: String(SWITCH_AT), PAUSE_AT: String(PAUSE_AT), CHECKPOINT_MS: '600000' },
    });
    let childOut = '';
    child.stdout.on('data', (d: Buffer) => (childOut += d.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    const lines = (): { type: string; runId: string; iteration?: number; total?: number }[] =>
      childOut.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { type: string; runId: string });
    const runs = path.join(root, 'runs');
    const runIdOnDisk = (): string | undefined => (existsSync(runs) ? readdirSync(runs).filter((name) => !name.startsWith('.'))[0] : undefined);
    const checkpointAt = (): number => {
      const id = runIdOnDisk();
      const file = id ? path.join(runs, id, MANIFEST_FILE) : '';
      return id && existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { progress: { iteration: number } }).progress.iteration : 0;
    };
    const lastIteration = (): number => Math.max(0, ...lines().map((l) => l.iteration ?? 0));
    await until(() => checkpointAt() >= PAUSE_AT && lastIteration() >= checkpointAt() + 4, 120_000, 'the pause\'s checkpoint and 4 iterations more', () => childOut.slice(-400));
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    const runId = runIdOnDisk()!;
    const at = checkpointAt();
    expect(lines().some((l) => l.type === 'paused')).toBe(true);
    // The masks are saved beside the run's state (once per change of masks).
    expect(readdirSync(path.join(runs, runId))).toEqual(expect.arrayContaining([MANIFEST_FILE, expect.stringMatching(/^masks-\d+\.bin$/)]));
    const before = new Map(lines().filter((l) => l.type === 'progress').map((l) => [l.iteration!, l.total!]));

    const second = new RunService({ worker: tsJobWorker(), weights: async () => ({ path: WEIGHTS_DIR }), threads: 2, checkpoints: { root, everyMs: 0 } });
    const log = new EventLog(second);
    try {
      // The masks come back for the editor: the bottom half painted mid-run, not the top half the run started with, with
      // the photo they were painted over (for a window that shows another).
      const { content } = await tubingenStarryRequest(testSettings());
      expect(await second.resumeInterruptedRun({ runId })).toEqual({ ok: true, value: { runId, masks: halfMasks('bottom'), content } });
      await log.next(runId, 'progress', (e) => (e as Of<'progress'>).loss.iteration >= at + 4);
      await second.stopRun({ runId });
      await log.end(runId);
      const resumed = log.of(runId).filter((e): e is Of<'progress'> => e.type === 'progress');
      expect(resumed[0]!.loss.iteration).toBe(at + 1);
      // Iteration for iteration, the same losses as the killed run's after its checkpoint (with the top half's masks
      // they would be another objective's).
      for (const p of resumed.filter((p) => before.has(p.loss.iteration))) {
        expect(Math.abs(p.loss.total - before.get(p.loss.iteration)!) / before.get(p.loss.iteration)!).toBeLessThan(1e-4);
      }
      expect(resumed.filter((p) => before.has(p.loss.iteration)).length).toBeGreaterThanOrEqual(4);
    } finally {
      await second.dispose();
      rmSync(root, { recursive: true, force: true });
    }
  }, 240_000);
});
