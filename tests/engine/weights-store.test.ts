// Specification of the weights manager's engine side: the data folder, the converted store, the download (against
// a local server only: full, cut off and resumed, Range ignored, wrong digest, 404, 503, timeouts, proxy, abort)
// and the import of files users already have.

import { createHash } from 'node:crypto';
import fs, { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, stat, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { NstError } from '../../src/engine/errors.js';
import { VGG19_LAYER_NAMES } from '../../src/engine/model/vgg19.js';
import { KERAS_VGG19_NOTOP, fetchWeights, type WeightsProgress } from '../../src/engine/weights/download.js';
import { dataDir } from '../../src/engine/persist/data-dir.js';
import { downloadAndInstallWeights, importWeights } from '../../src/engine/weights/import.js';
import { loadWeights } from '../../src/engine/weights/load.js';
import { randomVgg19Weights } from '../../src/engine/weights/random.js';
import {
  INDEX_FORMAT,
  loadConvertedWeights,
  readWeightsIndex,
  removeConvertedWeights,
  storePaths,
  verifyConvertedWeights,
  weightsStatus,
  writeConvertedWeights,
  type WeightsProvenance,
} from '../../src/engine/weights/store.js';
import type { Vgg19Weights } from '../../src/engine/weights/types.js';
import { TestFileServer, TestProxy } from '../helpers/file-server.js';
import { writeKerasH5 } from '../helpers/keras-h5-writer.js';
import { hasShared, sharedPath } from '../helpers/shared-data.js';

const BLOCK1_3 = ['data', 'vgg19-imagenet-block1-3'] as const;
const hasBlock1to3 = hasShared(...BLOCK1_3);

/** Real VGG19 names and shapes, three layers deep (block1_conv1 … block2_conv1): a 450 KB .h5. */
const SOURCE = randomVgg19Weights({ seed: 11, depth: 3 });
const PROXY_VARS = ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'NO_PROXY', 'no_proxy'] as const;

let tmp = '';
let h5File = '';
let h5Bytes = Buffer.alloc(0);
let md5 = '';
let sha256 = '';
const savedEnv: Record<string, string | undefined> = {};

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'nst-weights-store-'));
  h5File = await writeKerasH5(path.join(tmp, 'source.h5'), SOURCE);
  h5Bytes = await readFile(h5File);
  md5 = createHash('md5').update(h5Bytes).digest('hex');
  sha256 = createHash('sha256').update(h5Bytes).digest('hex');
  // The download must go straight to 127.0.0.1 whatever proxy this machine has.
  for (const name of PROXY_VARS) {
    savedEnv[name] = process.env[name];
    delete process.env[name];
  }
});

afterAll(async () => {
  for (const name of PROXY_VARS) if (savedEnv[name] !== undefined) process.env[name] = savedEnv[name];
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

let root = '';
let server: TestFileServer;
beforeEach(async () => {
  root = await mkdtemp(path.join(tmp, 'data-'));
  server = await TestFileServer.start(h5Bytes);
});
afterEach(async () => {
  await server.close();
});

function expectSameWeights(actual: Vgg19Weights, expected: Vgg19Weights): void {
  expect([...actual.layers.keys()]).toEqual([...expected.layers.keys()]);
  for (const [name, layer] of expected.layers) {
    const got = actual.layers.get(name)!;
    expect({ name, in: got.inChannels, out: got.outChannels }).toEqual({ name, in: layer.inChannels, out: layer.outChannels });
    expect(firstDifference(got.kernel, layer.kernel), `${name} kernel`).toBe(-1);
    expect(firstDifference(got.bias, layer.bias), `${name} bias`).toBe(-1);
  }
}

/** Index of the first value that differs bit for bit (or the shorter length), else -1: fast on millions of values. */
function firstDifference(a: Float32Array, b: Float32Array): number {
  const bytes = (x: Float32Array): Buffer => Buffer.from(x.buffer, x.byteOffset, x.byteLength);
  if (a.length === b.length && bytes(a).equals(bytes(b))) return -1;
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (!Object.is(a[i], b[i])) return i;
  return Math.min(a.length, b.length);
}

async function rejects(promise: Promise<unknown>, code: NstError['code'], message: RegExp): Promise<NstError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error, 'should have been rejected').toBeInstanceOf(NstError);
  expect((error as NstError).code).toBe(code);
  expect((error as NstError).message).toMatch(message);
  return error as NstError;
}

/** Options for a quick test download of the synthetic file. */
function quick(extra: Partial<Parameters<typeof downloadAndInstallWeights>[0]> = {}): Parameters<typeof downloadAndInstallWeights>[0] {
  return { root, urls: [server.url()], expectedMd5: md5, timeoutMs: 2000, retries: 2, backoffMs: 5, ...extra };
}

/** N from a `bytes=N-` Range header. */
function resumedAt(range: string | undefined): number {
  return Number(/^bytes=(\d+)-$/.exec(range ?? '')?.[1] ?? Number.NaN);
}

const downloadsLeft = async (): Promise<string[]> => readdir(storePaths(root).downloads).catch(() => []);

describe('dataDir: the per-user data folder', () => {
  const home = '/home/ada';
  it('is %APPDATA%\\Neural Style Studio on Windows', () => {
    expect(dataDir({ platform: 'win32', env: { APPDATA: 'C:\\Users\\ada\\AppData\\Roaming' }, homedir: 'C:\\Users\\ada' })).toBe(
      'C:\\Users\\ada\\AppData\\Roaming\\Neural Style Studio',
    );
  });
  it('is ~/Library/Application Support/Neural Style Studio on macOS', () => {
    expect(dataDir({ platform: 'darwin', env: {}, homedir: '/Users/ada' })).toBe('/Users/ada/Library/Application Support/Neural Style Studio');
  });
  it('is $XDG_DATA_HOME/neural-style-studio, else ~/.local/share/neural-style-studio, on Linux', () => {
    expect(dataDir({ platform: 'linux', env: { XDG_DATA_HOME: '/data/ada' }, homedir: home })).toBe('/data/ada/neural-style-studio');
    expect(dataDir({ platform: 'linux', env: {}, homedir: home })).toBe('/home/ada/.local/share/neural-style-studio');
    // A relative XDG_DATA_HOME is invalid by the spec and ignored.
    expect(dataDir({ platform: 'linux', env: { XDG_DATA_HOME: 'rel/dir' }, homedir: home })).toBe('/home/ada/.local/share/neural-style-studio');
  });
  it('is NST_DATA_DIR when set, on any OS', () => {
    for (const platform of ['win32', 'darwin', 'linux'] as const) {
      expect(dataDir({ platform, env: { NST_DATA_DIR: '/portable/nst', APPDATA: 'C:\\x' }, homedir: home })).toBe(path.resolve('/portable/nst'));
    }
  });
});

describe('the converted store: vgg19.bin + vgg19.json', () => {
  const provenance: WeightsProvenance = {
    kind: 'import',
    source: '/somewhere/source.h5',
    format: 'keras-h5',
    files: [{ name: 'source.h5', bytes: 1, md5: 'a'.repeat(32), sha256: 'b'.repeat(64) }],
    date: '2024-01-01T00:00:00.000Z',
  };

  it('loads back exactly the numbers written, as views on one buffer', async () => {
    const index = await writeConvertedWeights(SOURCE, provenance, root);
    const loaded = await loadConvertedWeights(root);
    expectSameWeights(loaded, SOURCE);
    const buffers = new Set([...loaded.layers.values()].flatMap((l) => [l.kernel.buffer, l.bias.buffer]));
    expect(buffers.size).toBe(1);
    expect(index.format).toBe(INDEX_FORMAT);
    expect(index.blob.bytes).toBe([...SOURCE.layers.values()].reduce((s, l) => s + 4 * (l.kernel.length + l.bias.length), 0));
    expect(index.layers.map((l) => l.name)).toEqual(['block1_conv1', 'block1_conv2', 'block2_conv1']);
    expect(index.layers[1]).toMatchObject({ kernel: { shape: [64, 64, 3, 3], offset: 4 * (1728 + 64), length: 4 * 36864 } });
    expect(await readWeightsIndex(root)).toEqual(index);
    expect(loaded.source).toContain('imported from /somewhere/source.h5');
  });

  it('leaves no temp files, and replaces an earlier install whole', async () => {
    await writeConvertedWeights(randomVgg19Weights({ seed: 1, depth: 2 }), provenance, root);
    await writeConvertedWeights(SOURCE, { ...provenance, source: '/second.h5' }, root);
    expect((await readdir(storePaths(root).weights)).sort()).toEqual(['vgg19.bin', 'vgg19.json']);
    expectSameWeights(await loadConvertedWeights(root), SOURCE);
    expect((await readWeightsIndex(root))?.provenance.source).toBe('/second.h5');
  });

  it('counts a blob without its index (an install cut short) as not installed', async () => {
    await writeConvertedWeights(SOURCE, provenance, root);
    await rm(storePaths(root).index);
    const status = await weightsStatus(root);
    expect(status.index).toBeNull();
    expect(status.layers).toEqual([]);
  });

  it('verify re-hashes the blob: a changed byte is caught, and load notices a short blob', async () => {
    await writeConvertedWeights(SOURCE, provenance, root);
    expect(await verifyConvertedWeights(root)).toMatchObject({ ok: true });
    const blob = await readFile(storePaths(root).blob);
    blob[1000] = (blob[1000] ?? 0) ^ 0xff;
    await writeFile(storePaths(root).blob, blob);
    const result = await verifyConvertedWeights(root);
    expect(result.ok).toBe(false);
    expect(result.actualSha256).not.toBe(result.expectedSha256);
    await truncate(storePaths(root).blob, 1000);
    await rejects(loadConvertedWeights(root), 'BAD_WEIGHTS', /vgg19\.bin holds 1000 bytes, not the \d+ it lists/);
  });

  it('refuses a damaged index by name', async () => {
    await writeConvertedWeights(SOURCE, provenance, root);
    await writeFile(storePaths(root).index, '{"format": "nst-vgg19-float32", "version": 1, "blob": ');
    await rejects(loadConvertedWeights(root), 'BAD_WEIGHTS', /vgg19\.json is damaged: it is not JSON/);
  });

  it('remove deletes the weights and any partial download; status then says none', async () => {
    await writeConvertedWeights(SOURCE, provenance, root);
    await mkdir(storePaths(root).downloads, { recursive: true });
    await writeFile(path.join(storePaths(root).downloads, 'x.h5.part'), 'abc');
    expect((await weightsStatus(root)).partialDownloads).toEqual([{ path: path.join(storePaths(root).downloads, 'x.h5.part'), bytes: 3 }]);
    const removed = await removeConvertedWeights(root);
    expect(removed).toHaveLength(3);
    const status = await weightsStatus(root);
    expect(status).toMatchObject({ index: null, layers: [], complete: false, partialDownloads: [] });
    expect(await removeConvertedWeights(root)).toEqual([]);
  });

  it('is what loadWeights reads from the weights folder or its vgg19.json (so --weights accepts it)', async () => {
    await writeConvertedWeights(SOURCE, provenance, root);
    expectSameWeights(await loadWeights(storePaths(root).weights), SOURCE);
    expectSameWeights(await loadWeights(storePaths(root).index), SOURCE);
  });
});

describe('downloadAndInstallWeights against a local server', () => {
  it('downloads, verifies MD5, converts, records provenance, and deletes the download', async () => {
    const index = await downloadAndInstallWeights(quick());
    expectSameWeights(await loadConvertedWeights(root), SOURCE);
    expect(index.provenance).toMatchObject({
      kind: 'download',
      source: server.url(),
      format: 'keras-h5',
      files: [{ name: KERAS_VGG19_NOTOP.fileName, bytes: h5Bytes.length, md5, sha256 }],
    });
    expect(Date.now() - Date.parse(index.provenance.date)).toBeLessThan(60_000);
    expect(await downloadsLeft()).toEqual([]);
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]!.range).toBeUndefined();
  });

  it('reports download progress that only grows, with the right total, then verify and convert', async () => {
    const events: WeightsProgress[] = [];
    await downloadAndInstallWeights(quick({ progressIntervalMs: 0, onProgress: (e) => events.push(e) }));
    const downloads = events.filter((e) => e.phase === 'download');
    expect(downloads.length).toBeGreaterThan(2);
    for (const [i, e] of downloads.entries()) {
      expect(e.total).toBe(h5Bytes.length);
      expect(e.bytes).toBeGreaterThanOrEqual(downloads[i - 1]?.bytes ?? 0);
      expect(e.bytesPerSecond).toBeGreaterThanOrEqual(0);
    }
    expect(downloads[0]!.bytes).toBe(0);
    expect(downloads.at(-1)).toMatchObject({ bytes: h5Bytes.length, etaSeconds: 0 });
    expect(events.slice(downloads.length).map((e) => e.phase)).toEqual(['verify', 'convert']);
  });

  it('follows redirects (release assets redirect to a signed URL)', async () => {
    await downloadAndInstallWeights(quick({ urls: [server.url('redirect/vgg19.h5')] }));
    expect(server.requests.map((r) => r.status)).toEqual([302, 200]);
    expect((await readWeightsIndex(root))?.provenance.source).toBe(server.url('redirect/vgg19.h5'));
  });

  it('resumes a download cut off halfway with Range and If-Range', async () => {
    const half = Math.floor(h5Bytes.length / 2);
    server.misbehaviour = { cutAfterBytes: half, on: [1] };
    const events: WeightsProgress[] = [];
    await downloadAndInstallWeights(quick({ onProgress: (e) => events.push(e) }));
    // Kept: what was read before the drop (the last chunks sent may never have been read).
    const kept = resumedAt(server.requests[1]?.range);
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThanOrEqual(half);
    expect(server.requests.map((r) => [r.status, r.range, r.ifRange])).toEqual([
      [200, undefined, undefined],
      [206, `bytes=${kept}-`, server.etag],
    ]);
    expect(server.requests[1]!.sentBytes).toBe(h5Bytes.length - kept);
    expect(events.find((e) => e.phase === 'download' && e.attempt === 2)).toMatchObject({ resumedFrom: kept, bytes: kept });
    expectSameWeights(await loadConvertedWeights(root), SOURCE);
  });

  it('keeps the part when it gives up, and the next call resumes it', async () => {
    const half = Math.floor(h5Bytes.length / 2);
    server.misbehaviour = { cutAfterBytes: half };
    await rejects(downloadAndInstallWeights(quick({ retries: 0 })), 'DOWNLOAD_FAILED', /connection (dropped|was reset) after \d+ bytes.*resumed next time/);
    const [part] = (await weightsStatus(root)).partialDownloads;
    expect(part).toEqual({ path: expect.stringMatching(/\.h5\.part$/), bytes: expect.any(Number) });
    expect(part!.bytes).toBeGreaterThan(0);
    expect(part!.bytes).toBeLessThanOrEqual(half);
    expect((await weightsStatus(root)).index).toBeNull();

    server.misbehaviour = {};
    await downloadAndInstallWeights(quick({ retries: 0 }));
    expect(server.requests[1]).toMatchObject({ status: 206, range: `bytes=${part!.bytes}-`, ifRange: server.etag });
    expectSameWeights(await loadConvertedWeights(root), SOURCE);
    expect(await downloadsLeft()).toEqual([]);
  });

  it('starts from zero when the server ignores Range (200 instead of 206)', async () => {
    const half = Math.floor(h5Bytes.length / 2);
    server.misbehaviour = { cutAfterBytes: half, on: [1] };
    await rejects(downloadAndInstallWeights(quick({ retries: 0 })), 'DOWNLOAD_FAILED', /after \d+ bytes/);
    server.misbehaviour = { ignoreRange: true };
    const events: WeightsProgress[] = [];
    await downloadAndInstallWeights(quick({ progressIntervalMs: 0, onProgress: (e) => events.push(e) }));
    expect(server.requests[1]).toMatchObject({ status: 200, range: expect.stringMatching(/^bytes=\d+-$/), sentBytes: h5Bytes.length });
    expect(resumedAt(server.requests[1]!.range)).toBeGreaterThan(0);
    const downloads = events.filter((e) => e.phase === 'download');
    expect(downloads[0]).toMatchObject({ resumedFrom: 0, bytes: 0 });
    expect(downloads.at(-1)).toMatchObject({ bytes: h5Bytes.length, total: h5Bytes.length });
    expectSameWeights(await loadConvertedWeights(root), SOURCE);
  });

  it('rejects a file with the wrong digest: the part is deleted and nothing is installed', async () => {
    const before = await writeConvertedWeights(randomVgg19Weights({ seed: 2, depth: 1 }), {
      kind: 'import',
      source: '/earlier.h5',
      format: 'keras-h5',
      files: [],
      date: new Date().toISOString(),
    }, root);
    const wrong = 'f'.repeat(32);
    const error = await rejects(downloadAndInstallWeights(quick({ expectedMd5: wrong })), 'CHECKSUM_MISMATCH', new RegExp(`MD5 ${md5}, not the expected ${wrong}`));
    expect(error.message).toContain(server.url());
    expect(server.requests).toHaveLength(1); // a fresh download with a wrong digest is not retried
    expect(await downloadsLeft()).toEqual([]);
    expect(await readWeightsIndex(root)).toEqual(before);
  });

  it('checks the SHA-256 too when one is given', async () => {
    await rejects(downloadAndInstallWeights(quick({ expectedSha256: '0'.repeat(64) })), 'CHECKSUM_MISMATCH', /SHA-256 [0-9a-f]{64}, not the expected 0{64}/);
    expect(await readWeightsIndex(root)).toBeNull();
  });

  it('fails at once on a 404, naming the URL and the status, with nothing installed', async () => {
    server.misbehaviour = { status: 404 };
    const error = await rejects(downloadAndInstallWeights(quick({ retries: 3 })), 'DOWNLOAD_FAILED', /HTTP 404 Not Found/);
    expect(error.message).toContain(server.url());
    expect(server.requests).toHaveLength(1);
    expect(await readWeightsIndex(root)).toBeNull();
  });

  it('tries the mirrors in order', async () => {
    server.misbehaviour = { status: 404, on: [1] };
    const index = await downloadAndInstallWeights(quick({ urls: [server.url('first-mirror.h5'), server.url()] }));
    expect(server.requests.map((r) => [r.path, r.status])).toEqual([
      ['/first-mirror.h5', 404],
      [`/${KERAS_VGG19_NOTOP.fileName}`, 200],
    ]);
    expect(index.provenance.source).toBe(server.url());
  });

  it('retries a 503 with back-off', async () => {
    server.misbehaviour = { status: 503, on: [1, 2] };
    await downloadAndInstallWeights(quick({ retries: 2 }));
    expect(server.requests.map((r) => r.status)).toEqual([503, 503, 200]);
  });

  it('times out on a server that never answers, with a clear error', async () => {
    server.misbehaviour = { hang: true };
    const started = performance.now();
    await rejects(downloadAndInstallWeights(quick({ timeoutMs: 300, retries: 1 })), 'DOWNLOAD_FAILED', /timed out: no response within 0\.3 s \(after 2 tries\)/);
    expect(performance.now() - started).toBeLessThan(5000);
    expect(server.requests).toHaveLength(2);
  });

  it('times out on a download that stalls, then resumes where it stalled', async () => {
    server.misbehaviour = { stallAfterBytes: 100_000, on: [1] };
    await downloadAndInstallWeights(quick({ timeoutMs: 300, retries: 1 }));
    expect(server.requests[1]).toMatchObject({ status: 206, range: 'bytes=100000-' });
    expectSameWeights(await loadConvertedWeights(root), SOURCE);
  });

  it('goes through HTTP_PROXY, and around it for hosts in NO_PROXY', async () => {
    const proxy = await TestProxy.start();
    try {
      process.env.HTTP_PROXY = proxy.url;
      await downloadAndInstallWeights(quick());
      expect(proxy.tunnels).toEqual([`127.0.0.1:${new URL(server.origin).port}`]);
      process.env.NO_PROXY = '127.0.0.1';
      await downloadAndInstallWeights(quick());
      expect(proxy.tunnels).toHaveLength(1);
      expect(server.requests).toHaveLength(2);
    } finally {
      delete process.env.HTTP_PROXY;
      delete process.env.NO_PROXY;
      await proxy.close();
    }
  });

  it('stops on abort, keeping the part for the next fetch', async () => {
    server.misbehaviour = { stallAfterBytes: 100_000 };
    const controller = new AbortController();
    const promise = downloadAndInstallWeights(
      quick({ signal: controller.signal, progressIntervalMs: 0, onProgress: (e) => e.phase === 'download' && e.bytes >= 100_000 && controller.abort() }),
    );
    await rejects(promise, 'ABORTED', /stopped.*resumes/);
    expect((await weightsStatus(root)).partialDownloads).toEqual([{ path: expect.any(String), bytes: 100_000 }]);
  });

  it('runs one download per file at a time, taking over a lock whose process is gone', async () => {
    server.misbehaviour = { stallAfterBytes: 1000, on: [1] };
    const controller = new AbortController();
    let received = 0;
    const first = downloadAndInstallWeights(
      quick({ signal: controller.signal, progressIntervalMs: 0, onProgress: (e) => void (e.phase === 'download' && (received = e.bytes)) }),
    );
    await expect.poll(() => received).toBe(1000);
    await rejects(downloadAndInstallWeights(quick()), 'DOWNLOAD_FAILED', new RegExp(`Another download of these weights is running \\(process ${process.pid}\\)`));
    controller.abort();
    await rejects(first, 'ABORTED', /stopped/);

    const lock = path.join(storePaths(root).downloads, `${KERAS_VGG19_NOTOP.fileName}.part.lock`);
    await writeFile(lock, '2147483646'); // no such process
    await downloadAndInstallWeights(quick());
    expect(existsSync(lock)).toBe(false);
    expect(server.requests.at(-1)).toMatchObject({ status: 206, range: 'bytes=1000-' });
  });

  it('takes a local file in place of a URL, checked by MD5 and left where it is', async () => {
    await downloadAndInstallWeights(quick({ urls: [h5File] }));
    expect((await readWeightsIndex(root))?.provenance).toMatchObject({ kind: 'download', source: h5File });
    expect(existsSync(h5File)).toBe(true);
    await rejects(downloadAndInstallWeights(quick({ urls: [h5File], expectedMd5: '0'.repeat(32) })), 'CHECKSUM_MISMATCH', /not the expected 0{32}/);
    expect(existsSync(h5File)).toBe(true);
  });

  it('refuses a malformed expected digest as a bad argument', async () => {
    await rejects(fetchWeights({ destDir: root, expectedMd5: 'xyz', urls: [server.url()] }), 'BAD_ARGUMENT', /expectedMd5 must be 32 hexadecimal digits/);
    expect(server.requests).toHaveLength(0);
  });
});

describe('importWeights', () => {
  it.skipIf(!hasBlock1to3)('imports the real TF.js weights (block1–3): the same numbers as the engine loader reads', async () => {
    const folder = sharedPath(...BLOCK1_3);
    const index = await importWeights(folder, { root });
    expectSameWeights(await loadConvertedWeights(root), await loadWeights(folder));
    expect(index.layers.map((l) => l.name)).toEqual(VGG19_LAYER_NAMES.slice(0, 8));
    const status = await weightsStatus(root);
    expect(status).toMatchObject({ complete: false, layers: VGG19_LAYER_NAMES.slice(0, 8) });
    expect(index.provenance).toMatchObject({ kind: 'import', source: folder, format: 'tfjs' });
    // model.json and the 8 shards, each with the digest of its bytes.
    expect(index.provenance.files.map((f) => f.name)).toEqual(['model.json', ...Array.from({ length: 8 }, (_, i) => `group${i + 1}-shard1of1`)]);
    for (const file of index.provenance.files) {
      const bytes = await readFile(path.join(folder, file.name));
      expect(file).toEqual({
        name: file.name,
        bytes: bytes.length,
        md5: createHash('md5').update(bytes).digest('hex'),
        sha256: createHash('sha256').update(bytes).digest('hex'),
      });
    }
  });

  it.skipIf(!hasBlock1to3)('refuses a TF.js folder with a truncated shard, keeping what was installed', async () => {
    const before = await importWeights(h5File, { root });
    const copy = path.join(tmp, `truncated-${path.basename(root)}`);
    await cp(sharedPath(...BLOCK1_3), copy, { recursive: true });
    await truncate(path.join(copy, 'group3-shard1of1'), 1000);
    await rejects(importWeights(copy, { root }), 'BAD_WEIGHTS', /^Not imported: Shard group3-shard1of1 of .* is truncated/);
    expect(await readWeightsIndex(root)).toEqual(before);
    expectSameWeights(await loadConvertedWeights(root), SOURCE);
  });

  it('imports a Keras .h5, recording its digests', async () => {
    const index = await importWeights(h5File, { root });
    expect(index.provenance).toMatchObject({ kind: 'import', source: h5File, format: 'keras-h5', files: [{ name: 'source.h5', md5, sha256 }] });
    expectSameWeights(await loadConvertedWeights(root), SOURCE);
  });

  it('refuses a truncated .h5 (a partial download), without the HDF5 library\'s error stack', async () => {
    const cut = path.join(tmp, 'cut.h5');
    await writeFile(cut, h5Bytes.subarray(0, Math.floor(h5Bytes.length / 3)));
    // The library writes its stack with fs.writeSync(2, …) (NODERAWFS), not through process.stderr.
    const writes = vi.spyOn(fs, 'writeSync');
    try {
      await rejects(importWeights(cut, { root }), 'BAD_WEIGHTS', /^Not imported: .*cut\.h5 could not be opened as HDF5.*HDF5 says: File has been truncated/);
      expect(writes.mock.calls.filter(([fd]) => fd === 2)).toEqual([]);
    } finally {
      writes.mockRestore();
    }
    expect(await readWeightsIndex(root)).toBeNull();
  });

  it('refuses an .h5 that is not VGG19', async () => {
    const other = await writeKerasH5(path.join(tmp, 'resnet.h5'), { layers: new Map(), source: 'none' }, ['conv1', 'dense_1']);
    await rejects(importWeights(other, { root }), 'BAD_WEIGHTS', /^Not imported: .*resnet\.h5 has no VGG19 layer groups.*not Keras VGG19 weights/);
    expect(await readWeightsIndex(root)).toBeNull();
  });

  it('refuses VGG19 names with the wrong shapes', async () => {
    const shrunk = randomVgg19Weights({ seed: 4, depth: 2, channelScale: 0.5 });
    const file = await writeKerasH5(path.join(tmp, 'shrunk.h5'), shrunk);
    await rejects(importWeights(file, { root }), 'BAD_WEIGHTS', /^Not imported: Layer block1_conv1 .* VGG19 needs \[64, 3, 3, 3\]/);
  });

  it('refuses layers with a gap (block1_conv2 missing)', async () => {
    const full = randomVgg19Weights({ seed: 5, depth: 3 });
    const gapped = { ...full, layers: new Map([...full.layers].filter(([name]) => name !== 'block1_conv2')) };
    const file = await writeKerasH5(path.join(tmp, 'gapped.h5'), gapped);
    await rejects(importWeights(file, { root }), 'BAD_WEIGHTS', /^Not imported: .*gapped\.h5 has VGG19 layers block1_conv1, block2_conv1 but lacks block1_conv2/);
  });

  it('refuses a file that is no weights format at all, and a path that does not exist', async () => {
    const text = path.join(tmp, 'notes.onnx');
    await writeFile(text, 'these are not weights');
    await rejects(importWeights(text, { root }), 'BAD_WEIGHTS', /^Not imported: .*notes\.onnx is not an ONNX model/);
    await rejects(importWeights(path.join(tmp, 'nope.h5'), { root }), 'FILE_NOT_FOUND', /^Not imported: .*nope\.h5 does not exist/);
    expect(existsSync(storePaths(root).weights)).toBe(false);
  });

  it('writes nothing into the data folder when it refuses', async () => {
    const other = await writeKerasH5(path.join(tmp, 'other.h5'), { layers: new Map(), source: 'none' }, ['dense_1']);
    await importWeights(other, { root }).catch(() => {});
    expect(await stat(root).then(async () => readdir(root))).toEqual([]);
  });
});
