// A studio run's checkpoint records the weights it was made with: the next session, loading other weights from the
// same place, is refused by the engine when it resumes the run (an error event, as data), and the run stays offered.

import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RunService } from '../../src/main/services/run-service.js';
import { MANIFEST_FILE } from '../../src/engine/persist/checkpoint.js';
import { loadWeights } from '../../src/engine/weights/load.js';
import { describeFingerprint, weightsFingerprint } from '../../src/engine/weights/fingerprint.js';
import type { RunEvent } from '../../src/shared/api.js';
import { EventLog, WEIGHTS_DIR, studioDataPresent, testSettings, tsJobWorker, tubingenStarryRequest } from '../helpers/studio.js';
import { STUDIO_WEIGHTS_REMEDY } from '../../src/main/worker/run-checkpoint.js';

const present = studioDataPresent();

function service(root: string, weightsPath: string): RunService {
  return new RunService({ worker: tsJobWorker(), weights: async () => ({ path: weightsPath }), threads: 2, checkpoints: { root, everyMs: 0 } });
}

function manifestOf(root: string, runId: string): { progress: { iteration: number }; generation: number; weights?: unknown } | null {
  try {
    return JSON.parse(readFileSync(path.join(root, 'runs', runId, MANIFEST_FILE), 'utf8')) as { progress: { iteration: number }; generation: number; weights?: unknown };
  } catch {
    return null;
  }
}

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.skipIf(!present)('studio runs resumed with other weights (real uint8 VGG19, 64 px)', () => {
  it('are refused with BAD_CHECKPOINT naming both weights, before any iteration; the checkpoint stays and is offered again', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'nst-studio-weights-'));
    const weightsDir = path.join(root, 'weights');
    cpSync(WEIGHTS_DIR, weightsDir, { recursive: true });
    const made = weightsFingerprint(await loadWeights(weightsDir));

    // Session one: a run checkpoints, and the app quits mid-run (dispose keeps the run's checkpoint).
    const first = service(root, weightsDir);
    let runId: string;
    try {
      const started = await first.startRun(await tubingenStarryRequest(testSettings({ iterations: 500, optimizer: 'adam' })));
      if (!started.ok) throw new Error(started.error.message);
      runId = started.value.runId;
      await until(() => (manifestOf(root, runId)?.progress.iteration ?? 0) >= 2, 90_000, 'a checkpoint');
    } finally {
      await first.dispose();
    }
    const before = manifestOf(root, runId)!;
    expect(before.weights).toEqual(made);

    // Between the sessions the weights file at that path is replaced by other weights (one value differs).
    const shard = path.join(weightsDir, 'group1-shard1of20.bin');
    const bytes = readFileSync(shard);
    bytes[100]! ^= 0x01;
    writeFileSync(shard, bytes);
    const now = weightsFingerprint(await loadWeights(weightsDir));

    const second = service(root, weightsDir);
    const log = new EventLog(second);
    try {
      expect(await second.listInterruptedRuns()).toMatchObject({ ok: true, value: [{ runId }] });
      expect(await second.resumeInterruptedRun({ runId })).toEqual({ ok: true, value: { runId } });
      const end = (await log.end(runId)) as Extract<RunEvent, { type: 'error' }>;
      expect(end.type).toBe('error');
      expect(end.error).toEqual({
        code: 'BAD_CHECKPOINT',
        message: `Run ${runId} cannot be resumed with these weights: it was made with ${describeFingerprint(made)}, not ${describeFingerprint(now)}, and its image and optimizer state belong to that network. ${STUDIO_WEIGHTS_REMEDY}`,
      });
      expect(log.of(runId).map((e) => e.type)).not.toContain('progress');
      // Nothing was written over it; it is offered again.
      expect(manifestOf(root, runId)).toEqual(before);
      expect(await second.listInterruptedRuns()).toMatchObject({ ok: true, value: [{ runId, iteration: before.progress.iteration }] });
    } finally {
      await second.dispose();
    }
  }, 240_000);
});
