// Quitting the studio mid-run: RunService.dispose() stops the run before it ends the worker thread (terminating a
// thread inside an onnxruntime call aborts the whole process), and the run's checkpoint stays for the next session.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RunService } from '../../src/main/services/run-service.js';
import { REPO_ROOT } from '../helpers/shared-data.js';
import { WEIGHTS_DIR, studioDataPresent, tsJobWorker } from '../helpers/studio.js';

describe.skipIf(!studioDataPresent())('quitting the studio during a run (real uint8 VGG19, 64 px)', () => {
  it('stops the run, exits cleanly and leaves the run to resume in the next session', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'nst-studio-quit-'));
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'tests', 'helpers', 'studio-quit-child.ts'), root], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('exit', (c, s) => resolve([c, s])));
    expect({ code, signal, stderr: err.slice(-600) }).toEqual({ code: 0, signal: null, stderr: expect.not.stringMatching(/terminate called|Napi::Error/) });
    const lines = out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const runId = lines.find((l) => typeof l.runId === 'string')!.runId as string;
    const disposed = lines.find((l) => l.disposed === true);
    expect(disposed).toBeDefined();
    // Nothing after the quit: the run did not go on to its 400 iterations.
    const last = lines.filter((l) => l.type === 'progress').at(-1)!;
    expect(last.iteration as number).toBeLessThan(400);

    expect(existsSync(path.join(root, 'runs', runId))).toBe(true);
    const next = new RunService({ worker: tsJobWorker(), weights: async () => ({ path: WEIGHTS_DIR }), threads: 2, checkpoints: { root, everyMs: 0 } });
    try {
      const listed = await next.listInterruptedRuns();
      expect(listed).toMatchObject({ ok: true, value: [{ runId, totalIterations: 400 }] });
      if (!listed.ok) return;
      expect(listed.value[0]!.iteration).toBeGreaterThanOrEqual(3);
    } finally {
      await next.dispose();
    }
  }, 180_000);
});
