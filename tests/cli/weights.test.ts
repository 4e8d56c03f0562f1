// Specification of `nst weights status | fetch | import | verify | path | remove`, and of commands finding the
// installed weights. Each test has its own NST_DATA_DIR; downloads come from a server on 127.0.0.1 only.

import { createHash } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
// The documented numbers (docs/cli.md), not the code's own table: a changed exit code must fail here.
import { DOCUMENTED_EXIT_CODES as EXIT_CODES } from '../helpers/exit-codes.js';
import { VGG19_LAYER_NAMES } from '../../src/engine/model/vgg19.js';
import { randomVgg19Weights } from '../../src/engine/weights/random.js';
import { jsonLines, runNst, spawnNst, type CliResult } from '../helpers/cli.js';
import { TestFileServer } from '../helpers/file-server.js';
import { writeKerasH5 } from '../helpers/keras-h5-writer.js';
import { hasShared, sharedPath } from '../helpers/shared-data.js';

const hasBlock1to3 = hasShared('data', 'vgg19-imagenet-block1-3');
const hasImages = hasShared('data', 'images');
const BLOCK1_3 = sharedPath('data', 'vgg19-imagenet-block1-3');
const CONTENT = sharedPath('data', 'images', 'content_tubingen_64.png');
const STYLE = sharedPath('data', 'images', 'style_starry_night_64.png');

let tmp = '';
let h5File = '';
let h5Md5 = '';
let server: TestFileServer;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'nst-cli-weights-'));
  h5File = await writeKerasH5(path.join(tmp, 'synthetic.h5'), randomVgg19Weights({ seed: 21, depth: 3 }));
  const bytes = await readFile(h5File);
  h5Md5 = createHash('md5').update(bytes).digest('hex');
  server = await TestFileServer.start(bytes);
});

afterAll(async () => {
  await server?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

let dataDir = '';
beforeEach(async () => {
  dataDir = await mkdtemp(path.join(tmp, 'data-'));
  server.misbehaviour = {};
  server.requests.length = 0;
});
afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

/** `nst` with this test's data folder and no proxy (the server is local). */
function nst(args: readonly string[]): Promise<CliResult> {
  return runNst(args, { env: { NST_DATA_DIR: dataDir, HTTP_PROXY: '', http_proxy: '', HTTPS_PROXY: '', https_proxy: '' } });
}

/** `nst weights status --json`, parsed. */
async function statusJson(): Promise<Record<string, unknown>> {
  const result = await nst(['weights', 'status', '--json']);
  expect(result.code, `status --json failed: ${result.stderr}`).toBe(0);
  return jsonLines(result.stdout)[0]!;
}

/** One `nst: ` line on stderr, nothing on stdout, the exit code given. */
function expectOneLineError(result: CliResult, code: number): string {
  expect(result.code, `exit code; stderr was:\n${result.stderr}`).toBe(code);
  expect(result.stderr).toMatch(/^nst: [^\n]+\n$/);
  expect(result.stdout).toBe('');
  return result.stderr.trimEnd();
}

describe('nst weights with nothing installed', () => {
  it('status says so; --json says installed: false', async () => {
    const text = await nst(['weights', 'status']);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`Installed: none (folder ${path.join(dataDir, 'weights')})`);
    expect(text.stdout).toContain('`nst weights fetch`');
    const json = jsonLines((await nst(['weights', 'status', '--json'])).stdout);
    expect(json).toEqual([expect.objectContaining({ installed: false, complete: false, layers: [], provenance: null })]);
    // `nst weights` alone is status.
    expect((await nst(['weights'])).stdout).toBe(text.stdout);
  });

  it('path prints the weights folder', async () => {
    expect(await nst(['weights', 'path'])).toMatchObject({ code: 0, stdout: `${path.join(dataDir, 'weights')}\n` });
  });

  it('verify fails with exit 4 and says how to get weights', async () => {
    const line = expectOneLineError(await nst(['weights', 'verify']), EXIT_CODES.WEIGHTS_NOT_FOUND);
    expect(line).toContain('nst weights fetch');
  });

  it.skipIf(!hasImages)('with none installed and none given, a command runs on the built-in weights', async () => {
    const result = await nst(['loss', CONTENT, '--style', STYLE, '--content', CONTENT, '--device', 'cpu']);
    expect(result.code, result.stderr).toBe(0);
    expect((JSON.parse(result.stdout) as { total: number }).total).toBeGreaterThan(0);
  });

  it('status names the weights runs use (built in) and offers the full-precision download as an upgrade', async () => {
    const status = await nst(['weights', 'status']);
    expect(status.stdout).toMatch(/^Runs use: .*resources\/weights\n  built in: the uint8-quantized ImageNet VGG19 shipped with the app\n/);
    expect(status.stdout).toContain('`nst weights fetch` downloads the full-precision VGG19 (about 80 MB) as an upgrade.');
    const json = JSON.parse((await nst(['weights', 'status', '--json'])).stdout) as { active: { origin: string }; installed: boolean };
    expect(json).toMatchObject({ active: { origin: 'builtin' }, installed: false });
  });
});

describe('nst weights import', () => {
  it.skipIf(!hasBlock1to3 || !hasImages)(
    'installs the shared TF.js weights; status, verify and commands without --weights then use them',
    async () => {
      const imported = await nst(['weights', 'import', BLOCK1_3]);
      expect(imported.code, imported.stderr).toBe(0);
      expect(imported.stderr).toMatch(/^nst: installed the VGG19 weights imported from .*vgg19-imagenet-block1-3 into .*: 8 of 16 conv layers/);

      const status = await statusJson();
      expect(status).toMatchObject({ installed: true, complete: false, layers: VGG19_LAYER_NAMES.slice(0, 8) });
      expect(status['provenance']).toMatchObject({ kind: 'import', source: BLOCK1_3, format: 'tfjs' });
      expect((await nst(['weights', 'status'])).stdout).toMatch(/Installed: 8 of 16 conv layers .*not available/);

      const verify = await nst(['weights', 'verify']);
      expect(verify.code).toBe(0);
      expect(verify.stdout).toMatch(/^ok: .*vgg19\.bin \(\d+ bytes\) matches its recorded SHA-256 [0-9a-f]{64}\n$/);

      // The same evaluation from the installed weights as from the files they came from.
      const args = ['loss', CONTENT, '--style', STYLE, '--content', CONTENT, '--style-layers', 'block1_conv1,block3_conv1', '--content-layers', 'block2_conv2', '--device', 'cpu'];
      const installed = await nst(args);
      const direct = await nst([...args, '--weights', BLOCK1_3]);
      expect(installed.code, installed.stderr).toBe(0);
      expect(jsonLines(installed.stdout)).toEqual(jsonLines(direct.stdout));
      // --weights also takes the installed folder, as `nst weights path` prints it.
      const viaPath = await nst([...args, '--weights', path.join(dataDir, 'weights')]);
      expect(jsonLines(viaPath.stdout)).toEqual(jsonLines(direct.stdout));
    },
  );

  it('refuses a file that is not VGG19 (exit 4, one line) and keeps what was installed', async () => {
    expect((await nst(['weights', 'import', h5File])).code).toBe(0);
    const notVgg = await writeKerasH5(path.join(dataDir, 'classifier.h5'), { layers: new Map(), source: 'none' }, ['dense_1']);
    const line = expectOneLineError(await nst(['weights', 'import', notVgg]), EXIT_CODES.BAD_WEIGHTS);
    expect(line).toMatch(/^nst: Not imported: .*classifier\.h5 has no VGG19 layer groups/);
    const status = await statusJson();
    expect(status['provenance']).toMatchObject({ source: h5File });
  });

  it('refuses a truncated .h5 in one line, with no HDF5 error stack', async () => {
    const cut = path.join(dataDir, 'cut.h5');
    await writeFile(cut, (await readFile(h5File)).subarray(0, 50_000));
    const line = expectOneLineError(await nst(['weights', 'import', cut]), EXIT_CODES.BAD_WEIGHTS);
    expect(line).toMatch(/cut\.h5 could not be opened as HDF5.*truncated/);
  });

  it('names a path that does not exist (exit 4)', async () => {
    const missing = path.join(dataDir, 'nope.h5');
    expect(expectOneLineError(await nst(['weights', 'import', missing]), EXIT_CODES.WEIGHTS_NOT_FOUND)).toContain(missing);
  });
});

describe('nst weights fetch (from a local server)', () => {
  it('downloads, verifies and installs; --json prints progress and a final done line', async () => {
    const result = await nst(['weights', 'fetch', '--url', server.url(), '--md5', h5Md5, '--json']);
    expect(result.code, result.stderr).toBe(0);
    const lines = jsonLines(result.stdout);
    expect(lines[0]).toMatchObject({ phase: 'download', bytes: 0 });
    expect(lines.map((l) => l['phase'] ?? 'done').slice(-3)).toEqual(['verify', 'convert', 'done']);
    expect(lines.at(-1)).toMatchObject({
      done: true,
      layers: VGG19_LAYER_NAMES.slice(0, 3),
      provenance: { kind: 'download', source: server.url(), files: [{ md5: h5Md5 }] },
    });
    expect((await nst(['weights', 'verify'])).code).toBe(0);
  });

  it('replaces installed weights whose index is damaged, as the refusal says to (no --force needed)', async () => {
    expect((await nst(['weights', 'import', h5File])).code).toBe(0);
    await writeFile(path.join(dataDir, 'weights', 'vgg19.json'), '{"version": 2, "blob": ');
    const refused = expectOneLineError(await nst(['weights', 'status']), EXIT_CODES.BAD_WEIGHTS);
    expect(refused).toMatch(/damaged.*Install the weights again \(fetch or import\)/);
    const fetched = await nst(['weights', 'fetch', '--url', server.url(), '--md5', h5Md5]);
    expect(fetched.code, fetched.stderr).toBe(0);
    expect((await nst(['weights', 'verify'])).code).toBe(0);
  });

  it('rejects a wrong digest (exit 4) and installs nothing', async () => {
    const line = expectOneLineError(await nst(['weights', 'fetch', '--url', server.url()]), EXIT_CODES.CHECKSUM_MISMATCH);
    expect(line).toContain(`not the expected ${'253f8cb515780f3b799900260a226db6'}`);
    expect(await statusJson()).toMatchObject({ installed: false, partialDownloads: [] });
  });

  it('a 404 fails with exit 6 in one line that says what to do', async () => {
    server.misbehaviour = { status: 404 };
    const line = expectOneLineError(await nst(['weights', 'fetch', '--url', server.url(), '--md5', h5Md5]), EXIT_CODES.DOWNLOAD_FAILED);
    expect(line).toContain(`${server.url()}: HTTP 404 Not Found`);
    expect(line).toContain('`nst weights import PATH`');
  });

  it('a dropped connection leaves a part that status shows and the next fetch resumes', async () => {
    server.misbehaviour = { cutAfterBytes: 200_000 };
    const first = await nst(['weights', 'fetch', '--url', server.url(), '--md5', h5Md5, '--retries', '0']);
    // What arrived before the drop (up to 200000 bytes: the client may not have read the last chunks) is kept.
    expect(expectOneLineError(first, EXIT_CODES.DOWNLOAD_FAILED)).toMatch(/after \d+ bytes.*resumed next time.*Run `nst weights fetch` again to resume/);
    const status = await statusJson();
    const kept = (status['partialDownloads'] as { bytes: number }[])[0]?.bytes ?? 0;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThanOrEqual(200_000);
    expect((await nst(['weights', 'status'])).stdout).toMatch(/partial .*\.part: 0\.\d MB so far; `nst weights fetch` resumes it/);
    server.misbehaviour = {};
    expect((await nst(['weights', 'fetch', '--url', server.url(), '--md5', h5Md5])).code).toBe(0);
    expect(server.requests.at(-1)).toMatchObject({ status: 206, range: `bytes=${kept}-` });
  });

  it('SIGTERM mid-download stops it (exit 143, one line) and keeps the part the next fetch resumes', async () => {
    server.misbehaviour = { stallAfterBytes: 100_000 };
    const child = spawnNst(['weights', 'fetch', '--url', server.url(), '--md5', h5Md5, '--json'], { env: { NST_DATA_DIR: dataDir, HTTP_PROXY: '', http_proxy: '', HTTPS_PROXY: '', https_proxy: '' } });
    let stderr = '';
    child.stdout.resume();
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
    // The part on disk holds what arrived before the stall: the download is under way.
    const downloads = path.join(dataDir, 'downloads');
    const partBytes = (): number => (existsSync(downloads) ? readdirSync(downloads).filter((n) => n.endsWith('.part')).reduce((n, f) => n + statSync(path.join(downloads, f)).size, 0) : 0);
    const deadline = Date.now() + 20_000;
    while (partBytes() === 0 && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGTERM');
    expect(await exited, stderr).toEqual({ code: 143, signal: null });
    expect(stderr).toBe('nst: The download was stopped; the part received so far is kept and the next fetch resumes it.\n');
    expect((await statusJson())['partialDownloads']).toEqual([expect.objectContaining({ bytes: expect.any(Number) })]);
  });

  it('times out in one line when the server never answers', async () => {
    server.misbehaviour = { hang: true };
    const args = ['weights', 'fetch', '--url', server.url(), '--md5', h5Md5, '--timeout', '0.3', '--retries', '0'];
    expect(expectOneLineError(await nst(args), EXIT_CODES.DOWNLOAD_FAILED)).toContain('timed out: no response within 0.3 s');
  });

  it('checks its options before touching the network', async () => {
    expectOneLineError(await nst(['weights', 'fetch', '--timeout', '0']), EXIT_CODES.BAD_ARGUMENT);
    expectOneLineError(await nst(['weights', 'fetch', '--url', server.url(), '--md5', 'abc']), EXIT_CODES.BAD_ARGUMENT);
    const unknown = expectOneLineError(await nst(['weights', 'fetch', '--bogus']), EXIT_CODES.BAD_ARGUMENT);
    expect(unknown).toContain('nst weights fetch --help');
    expect(server.requests).toHaveLength(0);
  });
});

describe('nst weights verify and remove', () => {
  it('verify catches a damaged blob (exit 4); remove deletes everything', async () => {
    expect((await nst(['weights', 'import', h5File])).code).toBe(0);
    const blob = path.join(dataDir, 'weights', 'vgg19.bin');
    const bytes = await readFile(blob);
    bytes[12] = (bytes[12] ?? 0) ^ 1;
    await writeFile(blob, bytes);
    const line = expectOneLineError(await nst(['weights', 'verify']), EXIT_CODES.CHECKSUM_MISMATCH);
    expect(line).toMatch(/vgg19\.bin is damaged: .*SHA-256 [0-9a-f]{64}, not the [0-9a-f]{64} recorded at install/);

    const removed = await nst(['weights', 'remove']);
    expect(removed.code).toBe(0);
    expect(removed.stderr).toMatch(/^nst: removed .*vgg19\.json, .*vgg19\.bin\n$/);
    expect(await statusJson()).toMatchObject({ installed: false });
    expect((await nst(['weights', 'remove'])).stderr).toMatch(/nothing removed/);
  });
});
