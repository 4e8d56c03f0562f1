// Specification of WeightsService, the Model panel's back end: status, fetch with events, cancel, import of dropped
// files, remove; errors as data. Downloads come from a server on 127.0.0.1 only.

import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, stat, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Agent } from 'undici';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadWeights } from '../../src/engine/weights/load.js';
import { randomVgg19Weights } from '../../src/engine/weights/random.js';
import { loadConvertedWeights, storePaths, weightsStatus } from '../../src/engine/weights/store.js';
import { RunService } from '../../src/main/services/run-service.js';
import { locateUsableWeights, WeightsService } from '../../src/main/services/weights-service.js';
import type { WeightsEvent } from '../../src/shared/api.js';
import { TestFileServer } from '../helpers/file-server.js';
import { writeKerasH5 } from '../helpers/keras-h5-writer.js';
import { hasShared, sharedPath } from '../helpers/shared-data.js';
import { testSettings, tsJobWorker } from '../helpers/studio.js';

const hasBlock1to3 = hasShared('data', 'vgg19-imagenet-block1-3');

let tmp = '';
let h5Bytes = Buffer.alloc(0);
let md5 = '';
let server: TestFileServer;
// A plain agent: the test server is local whatever proxy this machine has.
const dispatcher = new Agent();

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'nst-weights-service-'));
  h5Bytes = await readFile(await writeKerasH5(path.join(tmp, 'source.h5'), randomVgg19Weights({ seed: 31, depth: 3 })));
  md5 = createHash('md5').update(h5Bytes).digest('hex');
  server = await TestFileServer.start(h5Bytes);
});
afterAll(async () => {
  await server?.close();
  await dispatcher.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

let root = '';
let service: WeightsService;
let events: WeightsEvent[] = [];
beforeEach(async () => {
  root = await mkdtemp(path.join(tmp, 'data-'));
  server.misbehaviour = {};
  server.requests.length = 0;
  service = new WeightsService({ root, urls: [server.url()], expectedMd5: md5, dispatcher, retries: 0, timeoutMs: 2000, progressIntervalMs: 0 });
  events = [];
  service.onEvent((event) => events.push(event));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('WeightsService', () => {
  it('reports nothing installed, with the download size and how to get weights', async () => {
    const status = await service.status();
    expect(status).toEqual({
      ok: true,
      value: expect.objectContaining({ installed: false, complete: false, layers: [], provenance: null, busy: null, partialDownloadBytes: null }),
    });
    if (!status.ok) return;
    expect(status.value.downloadBytes).toBeGreaterThan(80_000_000);
    expect(status.value.help).toMatch(/Download the full-precision VGG19 .* or import a VGG19 file/);
    // Nothing installed: runs use the built-in weights.
    expect(status.value.active).toMatchObject({ origin: 'builtin' });
  });

  it('fetches with progress events, then done; runs then use the installed folder, which loadWeights reads', async () => {
    const result = await service.fetch();
    expect(result).toMatchObject({ ok: true, value: { installed: true, layers: ['block1_conv1', 'block1_conv2', 'block2_conv1'], busy: null } });
    const progress = events.filter((e) => e.type === 'progress' && e.phase === 'download');
    expect(progress.length).toBeGreaterThan(1);
    expect(progress.at(-1)).toMatchObject({ bytes: h5Bytes.length, total: h5Bytes.length });
    expect(events.slice(-3).map((e) => (e.type === 'progress' ? e.phase : e.type))).toEqual(['verify', 'convert', 'done']);
    expect(result.ok && result.value.active).toEqual({ origin: 'installed', path: path.join(root, 'weights') });
    expect((await loadWeights(path.join(root, 'weights'))).layers.size).toBe(3);
  });

  it('runs one job at a time, and cancel keeps the part for the next fetch', async () => {
    server.misbehaviour = { stallAfterBytes: 100_000, on: [1] };
    const first = service.fetch();
    await expect.poll(() => events.some((e) => e.type === 'progress' && e.phase === 'download' && e.bytes >= 100_000)).toBe(true);
    expect(await service.fetch()).toMatchObject({ ok: false, error: { code: 'WEIGHTS_BUSY' } });
    expect(await service.remove()).toMatchObject({ ok: false, error: { code: 'WEIGHTS_BUSY' } });
    expect(await service.status()).toMatchObject({ ok: true, value: { busy: 'fetch' } });
    expect(service.cancelFetch()).toEqual({ ok: true, value: true });
    expect(await first).toMatchObject({ ok: false, error: { code: 'ABORTED' } });
    expect(events.at(-1)).toEqual({ type: 'canceled' });
    expect(await service.status()).toMatchObject({ ok: true, value: { installed: false, partialDownloadBytes: 100_000, busy: null } });

    expect(await service.fetch()).toMatchObject({ ok: true, value: { installed: true, partialDownloadBytes: null } });
    expect(server.requests.at(-1)).toMatchObject({ status: 206, range: 'bytes=100000-' });
  });

  it('reports a failed download as an error event and an error result', async () => {
    server.misbehaviour = { status: 404 };
    const result = await service.fetch({ url: server.url() });
    expect(result).toMatchObject({ ok: false, error: { code: 'DOWNLOAD_FAILED', message: expect.stringContaining('HTTP 404') } });
    expect(events.at(-1)).toMatchObject({ type: 'error', error: { code: 'DOWNLOAD_FAILED' } });
  });

  it('fetches from its mirrors only: another address, a local path or a file: URL is refused before any request', async () => {
    const before = server.requests.length;
    for (const url of [server.url('elsewhere.h5'), path.join(tmp, 'source.h5'), 'file:///etc/passwd', 'http://169.254.169.254/latest/meta-data/']) {
      expect(await service.fetch({ url }), url).toMatchObject({ ok: false, error: { code: 'URL_NOT_ALLOWED' } });
    }
    expect(server.requests.length).toBe(before);
  });

  it.skipIf(!hasBlock1to3)('imports dropped TF.js files (model.json + shards) from their bytes', async () => {
    const folder = sharedPath('data', 'vgg19-imagenet-block1-3');
    const files = await Promise.all((await readdir(folder)).map(async (name) => ({ name, bytes: new Uint8Array(await readFile(path.join(folder, name))) })));
    const result = await service.importFromFiles({ files });
    expect(result).toMatchObject({ ok: true, value: { installed: true, layers: expect.arrayContaining(['block3_conv4']), complete: false } });
    if (result.ok) expect(result.value.provenance?.source).toMatch(/^dropped files .*model\.json/);
    expect(await readdir(path.join(root, 'downloads'))).toEqual([]); // the scratch copy is gone
  });

  it('refuses a dropped file that is not VGG19, naming it as dropped (no scratch path)', async () => {
    const result = await service.importFromFiles({ files: [{ name: 'cat.onnx', bytes: new TextEncoder().encode('meow') }] });
    expect(result).toMatchObject({ ok: false, error: { code: 'BAD_WEIGHTS', message: expect.stringMatching(/^Not imported: cat\.onnx is not an ONNX model/) } });
    expect(await readdir(path.join(root, 'downloads'))).toEqual([]);
    expect(await service.importFromFiles({ files: [] })).toMatchObject({ ok: false, error: { code: 'BAD_ARGUMENT' } });
    const two = [{ name: 'a.h5', bytes: new Uint8Array(1) }, { name: 'b.h5', bytes: new Uint8Array(1) }];
    expect(await service.importFromFiles({ files: two })).toMatchObject({ ok: false, error: { code: 'BAD_ARGUMENT', message: expect.stringContaining('model.json') } });
  });

  it('imports from a path and removes', async () => {
    expect(await service.importFromPath(path.join(tmp, 'source.h5'))).toMatchObject({ ok: true, value: { installed: true } });
    expect(await service.remove()).toMatchObject({ ok: true, value: { installed: false } });
  });
});

// Issue 13, class 8, in the studio: what `nst weights status` calls DAMAGED (weightsStatus's check, loading's words)
// the Model panel shows as damaged, never as installed weights runs use, and a run is refused at its start.
describe('WeightsService: damaged installed weights', () => {
  /** A run request over this data folder, as the studio's run queue makes it (no worker starts for a refusal). */
  async function startRefusal(): Promise<unknown> {
    const runs = new RunService({ worker: tsJobWorker(), weights: () => locateUsableWeights({ storeRoot: root, env: {}, builtIn: null }) });
    try {
      const image = { name: 'a.png', bytes: new Uint8Array([1]) };
      return await runs.startRun({ content: image, styles: [{ image, blend: 1 }], settings: testSettings(), timelapse: null });
    } finally {
      await runs.dispose();
    }
  }

  it('a truncated blob: damaged, in the sentence runs refuse it with (the CLI\'s damage), not usable; a run is refused at its start', async () => {
    expect(await service.importFromPath(path.join(tmp, 'source.h5'))).toMatchObject({ ok: true, value: { installed: true, damaged: null } });
    const { blob, index } = storePaths(root);
    const bytes = (await stat(blob)).size;
    await truncate(blob, bytes - 1000);
    const damage = (await weightsStatus(root)).damage!; // what `nst weights status` prints after "DAMAGED, runs refuse them:"
    expect(damage).toBe(`its blob ${blob} holds ${bytes - 1000} bytes, not the ${bytes} it lists`);
    const sentence = `The installed weights index ${index} is damaged: ${damage}. Install the weights again (fetch or import).`;
    await expect(loadConvertedWeights(root)).rejects.toMatchObject({ code: 'BAD_WEIGHTS', message: sentence });

    const status = await service.status();
    expect(status).toMatchObject({ ok: true, value: { installed: true, damaged: sentence, complete: false, layers: [] } });
    // Runs do not use them (nor anything else in their place): the damage is the reason.
    expect(status.ok && status.value.active).toEqual({ origin: null, help: sentence });
    expect(await startRefusal()).toEqual({ ok: false, error: { code: 'WEIGHTS_NOT_FOUND', message: sentence } });

    // What the sentence says to do works: a download replaces them.
    expect(await service.fetch()).toMatchObject({ ok: true, value: { installed: true, damaged: null, active: { origin: 'installed' } } });
  });

  it('a damaged index: damaged, in loading\'s words, rather than a failed status; a run is refused at its start', async () => {
    expect(await service.importFromPath(path.join(tmp, 'source.h5'))).toMatchObject({ ok: true });
    const { index } = storePaths(root);
    await writeFile(index, '{"format": "nst-vgg19-float32", "version": 1, "blob": ');
    const sentence = `The installed weights index ${index} is damaged: it is not JSON. Install the weights again (fetch or import).`;
    await expect(loadConvertedWeights(root)).rejects.toMatchObject({ code: 'BAD_WEIGHTS', message: sentence });

    expect(await service.status()).toMatchObject({ ok: true, value: { installed: true, damaged: sentence, provenance: null, layers: [], active: { origin: null, help: sentence } } });
    expect(await startRefusal()).toEqual({ ok: false, error: { code: 'WEIGHTS_NOT_FOUND', message: sentence } });
    expect(await service.remove()).toMatchObject({ ok: true, value: { installed: false, damaged: null } });
  });
});

