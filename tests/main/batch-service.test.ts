// The batch queue service on the real run queue (worker thread, real uint8 VGG19, 64-px images): items run one
// after another with one setting set, a bad item is skipped and reported, pause/resume go through the run
// controller, and a restart (new run queue, new service, same folder) carries on without redoing finished items.

import { spawn } from 'node:child_process';
import { mkdtempSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { BatchService, type BatchRuns } from '../../src/main/services/batch-service.js';
import { RunService } from '../../src/main/services/run-service.js';
import type { BatchEvent, BatchStatus, StartBatchRequest } from '../../src/shared/api.js';
import { REPO_ROOT } from '../helpers/shared-data.js';
import { WEIGHTS_DIR, fixtureBytes, layers, studioDataPresent, testSettings, tsJobWorker } from '../helpers/studio.js';

const present = studioDataPresent();

/** Shallow layers (the graph stops at block2) and few iterations: each item takes a fraction of a second. */
const settings = (iterations: number) => testSettings({ iterations, layers: layers(['block1_conv1', 'block2_conv1'], ['block2_conv2']) });

async function request(iterations: number, contents: { name: string; bytes: Uint8Array }[]): Promise<StartBatchRequest> {
  return {
    contents,
    styles: [{ image: { name: 'starry.png', bytes: await fixtureBytes('style_starry_night_64x64.png') }, blend: 1 }],
    settings: settings(iterations),
  };
}

/** A run queue that also records the content name and the id of every run started. */
function recordingRuns(): { runs: RunService; started: string[]; runIds: string[] } {
  const runs = new RunService({ worker: tsJobWorker(), weights: async () => ({ path: WEIGHTS_DIR }), threads: 1, previewIntervalMs: 100 });
  const started: string[] = [];
  const runIds: string[] = [];
  const startRun = runs.startRun.bind(runs);
  runs.startRun = async (request) => {
    started.push(request.content.name);
    const result = await startRun(request);
    if (result.ok) runIds.push(result.value.runId);
    return result;
  };
  return { runs, started, runIds };
}

/** Resolves with the first batch event (past events not kept) that matches. */
function next(service: BatchService, match: (event: BatchEvent) => boolean, what: string, timeoutMs = 90_000): Promise<BatchEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; status ${JSON.stringify(service.status())}`)), timeoutMs);
    const stop = service.onBatchEvent((event) => {
      if (!match(event)) return;
      clearTimeout(timer);
      stop();
      resolve(event);
    });
  });
}
const statusWhere = (match: (s: BatchStatus) => boolean) => (e: BatchEvent) => e.type === 'status' && match(e.status);

describe.skipIf(!present)('BatchService on the real run queue', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function open(root: string) {
    const { runs, started, runIds } = recordingRuns();
    const service = await BatchService.open({ runs: runs as BatchRuns, root });
    const close = async () => {
      await service.dispose();
      await runs.dispose();
    };
    cleanups.push(close);
    return { service, runs, started, runIds, close };
  }

  it('paints each item with the one setting set, skips and reports a bad one, and keeps the results', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'nst-batch-service-'));
    const { service, started } = await open(root);
    const tubingen = await fixtureBytes('content_tubingen_64x64.png');
    const progress: BatchEvent[] = [];
    service.onBatchEvent((e) => e.type === 'progress' && progress.push(e));
    const finished = next(service, statusWhere((s) => s.state === 'finished'), 'the batch to finish');
    const start = await service.startBatch(await request(4, [
      { name: 'tubingen.png', bytes: tubingen },
      { name: 'broken.png', bytes: new TextEncoder().encode('not a png at all') },
      { name: 'starry.png', bytes: await fixtureBytes('style_starry_night_64x64.png') },
    ]));
    expect(start.ok && start.value.state).toBe('running');
    expect(await service.startBatch(await request(4, [{ name: 'another.png', bytes: tubingen }])), 'a second batch while one is unfinished').toMatchObject({
      ok: false,
      error: { code: 'BATCH_BUSY' },
    });
    const done = (await finished) as Extract<BatchEvent, { type: 'status' }>;

    expect(done.status).toMatchObject({ state: 'finished', total: 3, done: 2, failed: 1, current: null, error: null });
    expect(done.status.items.map((i) => [i.name, i.state])).toEqual([['tubingen.png', 'done'], ['broken.png', 'failed'], ['starry.png', 'done']]);
    expect(done.status.items[1]!.error).toMatchObject({ code: 'NOT_AN_IMAGE', message: expect.stringContaining('broken.png') });
    expect(started).toEqual(['tubingen.png', 'broken.png', 'starry.png']);
    // Per-item progress: every iteration of both good items, tagged with its item.
    expect(progress.filter((e) => e.type === 'progress' && e.index === 0).map((e) => (e as { iteration: number }).iteration)).toEqual([1, 2, 3, 4]);
    expect(progress.filter((e) => e.type === 'progress' && e.index === 2)).toHaveLength(4);

    const output = await service.getBatchOutput({ index: 0 });
    expect(output.ok && output.value.fileName).toBe('tubingen-styled.png');
    const meta = await sharp(output.ok ? output.value.bytes : new Uint8Array()).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 64, 64]);
    expect(await service.getBatchOutput({ index: 1 })).toMatchObject({ ok: false, error: { code: 'NO_IMAGE_YET' } });
    expect(await service.getBatchOutput({ index: 7 })).toMatchObject({ ok: false, error: { code: 'UNKNOWN_ITEM' } });

    // A finished batch is replaced by the next; clearing forgets it.
    expect((await service.clearBatch()).ok && service.status().state).toBe('empty');
  }, 180_000);

  /** Runs tests/helpers/batch-app.ts (the app, in its own process) until `until` sees a line, then kills it with -9. */
  async function appKilledWhen(root: string, mode: 'pause' | 'run', until: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>[]> {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'tests/helpers/batch-app.ts'), root, mode, '40'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    const lines: Record<string, unknown>[] = [];
    let buffer = '';
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('close', (_code, signal) => resolve(signal)));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        buffer += chunk.toString();
        for (let newline = buffer.indexOf('\n'); newline >= 0; newline = buffer.indexOf('\n')) {
          const line = JSON.parse(buffer.slice(0, newline)) as Record<string, unknown>;
          buffer = buffer.slice(newline + 1);
          lines.push(line);
          if (until(line)) {
            child.kill('SIGKILL');
            resolve();
          }
        }
      });
      void exited.then(() => reject(new Error(`the app ended before it was killed: ${JSON.stringify(lines.slice(-3))}`)));
    });
    expect(await exited).toBe('SIGKILL');
    return lines;
  }

  it('pauses through the run controller, survives a kill -9 while paused, and resumes without redoing finished items', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'nst-batch-service-'));
    const lines = await appKilledWhen(root, 'pause', (line) => line.held === true);
    // The run controller paused mid-item 2 (its last progress well before the 40th iteration).
    const secondItem = lines.filter((l) => l.type === 'progress' && l.index === 1).map((l) => l.iteration as number);
    expect(Math.max(...secondItem)).toBeLessThan(40);
    const outputOne = path.join(root, 'current', '0001-one.png');
    const before = statSync(outputOne);

    const app = await open(root);
    const restored = app.service.status();
    expect(restored.state).toBe('paused');
    expect(restored.items.map((i) => i.state)).toEqual(['done', 'pending', 'pending']);
    expect(app.started).toEqual([]);

    const finished = next(app.service, statusWhere((s) => s.state === 'finished'), 'the resumed batch to finish');
    expect((await app.service.resumeBatch()).ok).toBe(true);
    const done = (await finished) as Extract<BatchEvent, { type: 'status' }>;
    expect(done.status.items.map((i) => i.state)).toEqual(['done', 'done', 'done']);
    // The finished item was neither run again nor rewritten.
    expect(app.started).toEqual(['two.png', 'three.png']);
    const after = statSync(outputOne);
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
  }, 240_000);

  it('after a kill -9 while running, a restart carries on by itself', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'nst-batch-service-'));
    await appKilledWhen(root, 'run', (line) => line.type === 'progress' && line.index === 0 && (line.iteration as number) >= 2);
    const app = await open(root);
    expect(app.service.status().state).toBe('running');
    await next(app.service, statusWhere((s) => s.state === 'finished'), 'the batch to finish');
    expect(app.service.status()).toMatchObject({ state: 'finished', done: 3, failed: 0 });
    expect(app.started).toEqual(['one.png', 'two.png', 'three.png']);
  }, 240_000);
});
