// The browser host and the studio bridge against a client that holds the token and means harm (the second audit of
// issue 13): no call makes the host run a file it names, read outside the data folder, grow without bound, fetch
// addresses of its choosing, or answer to host names it was not given; what the host writes is its user's alone.

import { execFileSync, spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, request as httpRequest } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_INDEX_URL } from '../../src/main/app-protocol.js';
import { ipcHandler } from '../../src/main/ipc/index.js';
import { saveDialogCalls } from '../../src/main/ipc/save-dialogs.js';
import { trustPolicy } from '../../src/main/security.js';
import { SETTINGS_FILE_NAME } from '../../src/main/services/settings-store.js';
import { ExportService } from '../../src/main/services/export-service.js';
import { MAX_QUEUED_RUNS, RunService } from '../../src/main/services/run-service.js';
import { StudioBackend } from '../../src/main/services/studio-backend.js';
import { noiseImage } from '../../src/engine/io/image.js';
import { startStudioHost } from '../../src/server/host.js';
import type { RequestMethod, Result } from '../../src/shared/api.js';
import { apiHandlers } from '../../src/shared/dispatch.js';
import { ok } from '../../src/shared/result.js';
import { MAX_IMAGE_BYTES } from '../../src/shared/schemas.js';
import { DEFAULT_STUDIO_SETTINGS, DEFAULT_VIDEO_SETTINGS } from '../../src/shared/studio-settings.js';
import { MAX_WS_MESSAGE_BYTES, decodeWireMessage, encodeWireMessage, wsUrlFor, type WsServerMessage } from '../../src/shared/ws-protocol.js';
import { REPO_ROOT, hasShared, sharedPath } from '../helpers/shared-data.js';
import { testSettings, tsJobWorker } from '../helpers/studio.js';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'nst-host-security-'));
  // The hosts below serve this folder as their renderer.
  await writeFile(path.join(dir, 'index.html'), '<!doctype html><title>Studio</title>');
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A client of the host's socket holding the token: calls by id, replies matched. */
class Client {
  private nextId = 1;
  private readonly pending = new Map<number, (result: Result<unknown>) => void>();
  /** Every event pushed to this client, in order. */
  readonly events: WsServerMessage[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (raw) => {
      const message = decodeWireMessage(String(raw)) as WsServerMessage;
      if ('event' in message) this.events.push(message);
      else if (message.id !== null) this.pending.get(message.id)?.(message.result);
    });
  }

  static async open(url: string): Promise<Client> {
    const ws = new WebSocket(url);
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    return new Client(ws);
  }

  call(method: RequestMethod, params: unknown): Promise<Result<unknown>> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.ws.send(encodeWireMessage({ id, method, params } as never));
    });
  }
}

const exists = (file: string): Promise<boolean> => stat(file).then(() => true, () => false);

/** An "ffmpeg" that is a shell script leaving a marker file when run: whether the host ran it shows on disk. */
async function markerScript(name: string): Promise<{ script: string; marker: string }> {
  const script = path.join(dir, `${name}.sh`);
  const marker = path.join(dir, `${name}.ran`);
  await writeFile(script, `#!/bin/sh\ntouch '${marker}'\nexit 1\n`);
  await chmod(script, 0o755);
  return { script, marker };
}

describe('code execution: no client of the bridge can make the host run a file it names', () => {
  it('the browser host: ffmpeg paths in saveVideoSettings or chooseFfmpeg are refused, and getFfmpegStatus runs none of them', async () => {
    const { script, marker } = await markerScript('browser');
    const dataDir = path.join(dir, 'browser-data');
    const backend = await StudioBackend.create({ dataDir, worker: tsJobWorker(), version: 'test', env: {}, weightsService: { root: path.join(dir, 'browser-weights') } });
    const host = await startStudioHost({ backend, rendererDir: dir });
    try {
      const client = await Client.open(wsUrlFor(host.url));
      const replies = [
        await client.call('saveVideoSettings', { ...DEFAULT_VIDEO_SETTINGS, ffmpegPath: script }),
        await client.call('saveVideoSettings', { ...DEFAULT_VIDEO_SETTINGS, ffmpegPath: '/bin/sh' }),
        await client.call('chooseFfmpeg', { reset: false, path: script }),
        await client.call('chooseFfmpeg', { reset: false }),
        await client.call('getFfmpegStatus', null),
        await client.call('getFfmpegStatus', { ffmpegPath: script }),
      ];
      expect(replies.slice(0, 3)).toMatchObject([
        { ok: false, error: { code: 'BAD_REQUEST', message: expect.stringMatching(/^saveVideoSettings\.ffmpegPath is not a known field/) } },
        { ok: false, error: { code: 'BAD_REQUEST', message: expect.stringMatching(/^saveVideoSettings\.ffmpegPath is not a known field/) } },
        { ok: false, error: { code: 'BAD_REQUEST', message: expect.stringMatching(/^chooseFfmpeg\.path is not a known field/) } },
      ]);
      // The browser host says where its ffmpeg is chosen: its own command line.
      expect(replies[3]).toMatchObject({ ok: false, error: { code: 'FFMPEG_CHOSEN_BY_HOST', message: expect.stringContaining('--ffmpeg PATH') } });
      expect(replies[4]!.ok).toBe(true);
      client.ws.close();
      expect(await exists(marker), 'the script was never run').toBe(false);
      // Nothing the host said probes the file system for the client: its path is named nowhere.
      expect(JSON.stringify(replies).replaceAll(/(saveVideoSettings|chooseFfmpeg)\.[^"]*/g, '')).not.toContain(script);
    } finally {
      await host.close();
      await backend.dispose();
    }
  });

  it('a settings file that kept a page-given ffmpeg path (from before) does not get it run', async () => {
    const { script, marker } = await markerScript('legacy');
    const dataDir = path.join(dir, 'legacy-data');
    await mkdir(dataDir, { recursive: true });
    await writeFile(path.join(dataDir, SETTINGS_FILE_NAME), JSON.stringify({ version: 1, settings: DEFAULT_STUDIO_SETTINGS, video: { ...DEFAULT_VIDEO_SETTINGS, ffmpegPath: script } }));
    const backend = await StudioBackend.create({ dataDir, worker: tsJobWorker(), version: 'test', env: {} });
    try {
      await backend.getFfmpegStatus();
      expect(await exists(marker)).toBe(false);
    } finally {
      await backend.dispose();
    }
  });

  it("Electron: the renderer can only ask for the open dialog; a path comes from the user's answer alone", async () => {
    const { script, marker } = await markerScript('electron');
    const backend = await StudioBackend.create({ dataDir: path.join(dir, 'electron-data'), worker: tsJobWorker(), version: 'test', env: {} });
    const own = { sender: { id: 1 }, senderFrame: { url: APP_INDEX_URL, parent: null } };
    let asked = 0;
    const dialogs = {
      chooseSavePath: async () => null,
      writeFileAtomic: async () => undefined,
      chooseExecutable: async () => {
        asked++;
        return null; // the user cancels
      },
    };
    const handlers = apiHandlers(backend.services, saveDialogCalls(backend, dialogs));
    const call = (method: RequestMethod, payload: unknown) => ipcHandler(method, handlers, trustPolicy({ isOwnWebContents: (id) => id === 1 }), () => undefined)(own, payload);
    try {
      expect(await call('chooseFfmpeg', { reset: false, path: script })).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
      expect(await call('saveVideoSettings', { ...DEFAULT_VIDEO_SETTINGS, ffmpegPath: script })).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
      expect(asked).toBe(0);
      expect((await call('chooseFfmpeg', { reset: false })).ok).toBe(true);
      expect(asked).toBe(1);
      expect(await exists(marker)).toBe(false);
    } finally {
      await backend.dispose();
    }
  });

  it('the host\'s own choice (--ffmpeg, NST_FFMPEG) is run: the marker would show a bridge-chosen run too', async () => {
    const { script, marker } = await markerScript('operator');
    const backend = await StudioBackend.create({ dataDir: path.join(dir, 'operator-data'), worker: tsJobWorker(), version: 'test', env: {}, ffmpegPath: script });
    try {
      const status = await backend.getFfmpegStatus();
      expect(await exists(marker)).toBe(true);
      // A path the operator gave that does not work is worth saying, to the operator's own page.
      expect(JSON.stringify(status)).toContain(script);
    } finally {
      await backend.dispose();
    }
  });
});

describe('files outside the data folder: weights dropped through the bridge read only themselves', () => {
  it('a model.json naming /dev/zero is refused at once, and the weights calls stay free (no import left spinning)', async () => {
    const backend = await StudioBackend.create({ dataDir: path.join(dir, 'zero-data'), worker: tsJobWorker(), version: 'test', env: {}, weightsService: { root: path.join(dir, 'zero-weights') } });
    const host = await startStudioHost({ backend, rendererDir: dir });
    try {
      const client = await Client.open(wsUrlFor(host.url));
      const manifest = JSON.stringify({ weightsManifest: [{ paths: ['/dev/zero'], weights: [{ name: 'block1_conv1/kernel', shape: [3, 3, 3, 64], dtype: 'float32' }] }] });
      const imported = await Promise.race([
        client.call('importWeights', { files: [{ name: 'model.json', bytes: new TextEncoder().encode(manifest) }] }),
        new Promise((resolve) => setTimeout(() => resolve('still importing after 10 s'), 10_000)),
      ]);
      expect(imported).toMatchObject({ ok: false, error: { code: 'BAD_WEIGHTS', message: expect.stringContaining('outside its own folder') } });
      expect(await client.call('getWeightsStatus', null)).toMatchObject({ ok: true, value: { busy: null } });
      client.ws.close();
    } finally {
      await host.close();
      await backend.dispose();
    }
  });
});

describe('resource limits: what a client asks for is bounded in concurrency, size, count and time', () => {
  it('exports one image at a time: twelve large exports at once get one picture and eleven EXPORT_BUSY', async () => {
    const image = noiseImage(64, 64, 7);
    const exports = new ExportService({ runImage: async () => ok(image) });
    const results = await Promise.all(Array.from({ length: 12 }, () => exports.exportImage({ runId: 'run-1-abcd', format: 'jpeg', sizePx: 2048 })));
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(results.filter((r) => !r.ok).map((r) => !r.ok && r.error.code)).toEqual(Array(11).fill('EXPORT_BUSY'));
    // The next one, once the first is done, is taken.
    expect((await exports.exportImage({ runId: 'run-1-abcd', format: 'jpeg', sizePx: 64 })).ok).toBe(true);
  });

  it(`queues at most ${MAX_QUEUED_RUNS} runs behind the running one: the rest are QUEUE_FULL`, async () => {
    const runs = new RunService({ worker: tsJobWorker(), weights: async () => ({ path: '/no/weights/needed' }), threads: 1 });
    try {
      const png = new Uint8Array(4 * 1024 * 1024);
      const request = { content: { name: 'big.png', bytes: png }, styles: [{ image: { name: 'style.png', bytes: png }, blend: 1 }], settings: testSettings(), timelapse: null };
      const results = await Promise.all(Array.from({ length: 20 }, () => runs.startRun(request)));
      const refused = results.filter((r) => !r.ok);
      expect(results.length - refused.length).toBeLessThanOrEqual(MAX_QUEUED_RUNS + 1);
      expect(refused.length).toBeGreaterThanOrEqual(20 - MAX_QUEUED_RUNS - 1);
      expect(refused.every((r) => !r.ok && r.error.code === 'QUEUE_FULL')).toBe(true);
    } finally {
      await runs.dispose();
    }
  });

  it('takes frames as large as the largest image the schemas allow, as base64 with its request, and no larger', () => {
    const base64 = (bytes: number): number => Math.ceil(bytes / 3) * 4;
    const settings = { ...DEFAULT_STUDIO_SETTINGS };
    const longest = 'é'.repeat(1024);
    const frame = encodeWireMessage({ id: Number.MAX_SAFE_INTEGER, method: 'startRun', params: { content: { name: longest, bytes: new Uint8Array(3) }, styles: [{ image: { name: longest, bytes: new Uint8Array(3) }, blend: 1 }], settings, timelapse: null } } as never);
    // One image at the limit (the other small) fits; two would not: that is the desktop app's to take.
    expect(Buffer.byteLength(frame) - 4 + base64(MAX_IMAGE_BYTES)).toBeLessThanOrEqual(MAX_WS_MESSAGE_BYTES);
    expect(2 * base64(MAX_IMAGE_BYTES)).toBeGreaterThan(MAX_WS_MESSAGE_BYTES);
    expect(MAX_WS_MESSAGE_BYTES - base64(MAX_IMAGE_BYTES)).toBeLessThanOrEqual(1024 * 1024);
  });

  describe('sockets', () => {
    let backend: StudioBackend;
    let host: Awaited<ReturnType<typeof startStudioHost>>;
    const limits = { maxSockets: 2, maxConnections: 6, headersTimeoutMs: 500, heartbeatMs: 300, maxMessageBytes: 64 * 1024 };

    beforeAll(async () => {
      backend = await StudioBackend.create({ dataDir: path.join(dir, 'sockets-data'), worker: tsJobWorker(), version: 'test', env: {}, weightsService: { root: path.join(dir, 'sockets-weights') } });
      host = await startStudioHost({ backend, rendererDir: dir, limits });
    });
    afterAll(async () => {
      await host?.close();
      await backend?.dispose();
    });

    /** A raw TCP connection that sends nothing: resolves with how long the host kept it and what it answered. */
    const silent = (): Promise<{ ms: number; said: string }> =>
      new Promise((resolve) => {
        const started = performance.now();
        let said = '';
        const socket = connect(host.port, '127.0.0.1');
        socket.on('data', (chunk) => (said += chunk.toString()));
        socket.on('error', () => undefined);
        socket.on('close', () => resolve({ ms: performance.now() - started, said }));
      });

    it('closes a connection that sends no request (408) once the headers timeout has passed', async () => {
      const { ms, said } = await silent();
      expect(said).toMatch(/^HTTP\/1\.1 408/);
      expect(ms).toBeLessThan(5000);
    });

    it('closes a socket that stops answering pings (half-open), and keeps one that answers', async () => {
      const mute = new WebSocket(wsUrlFor(host.url), { autoPong: false });
      await new Promise((resolve) => mute.once('open', resolve));
      const alive = await Client.open(wsUrlFor(host.url));
      const closed = await new Promise<number>((resolve) => mute.once('close', (code) => resolve(code)));
      expect(closed).toBe(1006);
      await new Promise((resolve) => setTimeout(resolve, 4 * limits.heartbeatMs));
      expect(alive.ws.readyState).toBe(WebSocket.OPEN);
      expect((await alive.call('getSettings', null)).ok).toBe(true);
      alive.ws.close();
      await new Promise((resolve) => alive.ws.once('close', resolve));
    });

    it('refuses a socket past maxSockets (503) and a frame past maxMessageBytes (1009)', async () => {
      const first = await Client.open(wsUrlFor(host.url));
      const second = await Client.open(wsUrlFor(host.url));
      const third = new WebSocket(wsUrlFor(host.url));
      expect(await new Promise((resolve) => third.once('unexpected-response', (_request, response) => resolve(response.statusCode)))).toBe(503);
      const closed = new Promise<number>((resolve) => first.ws.once('close', (code) => resolve(code)));
      first.ws.send('x'.repeat(limits.maxMessageBytes + 1));
      expect(await closed).toBe(1009);
      expect((await second.call('getSettings', null)).ok).toBe(true);
      second.ws.close();
      await new Promise((resolve) => second.ws.once('close', resolve));
    });

    it('takes at most maxConnections connections at once: the next is closed unanswered', async () => {
      const held = Array.from({ length: limits.maxConnections }, () => connect(host.port, '127.0.0.1').on('error', () => undefined));
      await Promise.all(held.map((socket) => new Promise((resolve) => socket.once('connect', resolve))));
      await new Promise((resolve) => setTimeout(resolve, 50));
      const extra = await silent();
      expect(extra.said).toBe('');
      expect(extra.ms).toBeLessThan(limits.headersTimeoutMs);
      held.forEach((socket) => socket.destroy());
    });
  });
});

describe('server-side requests: fetchWeights takes no address of the client choosing', () => {
  it('refuses any URL but the known mirrors before a request leaves, with one answer for open and closed ports alike', async () => {
    let requests = 0;
    const listening = createServer((_request, response) => {
      requests++;
      response.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
    });
    await new Promise<void>((resolve) => listening.listen(0, '127.0.0.1', resolve));
    const open = `http://127.0.0.1:${(listening.address() as AddressInfo).port}/vgg19.h5`;
    const closed = `http://127.0.0.1:${await freePort()}/vgg19.h5`;
    const backend = await StudioBackend.create({ dataDir: path.join(dir, 'fetch-data'), worker: tsJobWorker(), version: 'test', env: {}, weightsService: { root: path.join(dir, 'fetch-weights'), retries: 0, timeoutMs: 2000 } });
    const host = await startStudioHost({ backend, rendererDir: dir });
    try {
      const client = await Client.open(wsUrlFor(host.url));
      const answers = [];
      for (const url of [open, closed, 'http://169.254.169.254/latest/meta-data/', 'https://example.invalid/vgg19.h5']) answers.push(await client.call('fetchWeights', { url }));
      expect(answers[0]).toMatchObject({ ok: false, error: { code: 'URL_NOT_ALLOWED', message: expect.stringContaining('nst weights fetch --url') } });
      // The same words whatever is (or is not) listening there: nothing to scan ports with.
      expect(new Set(answers.map((answer) => JSON.stringify(answer))).size).toBe(1);
      expect(requests).toBe(0);
      client.ws.close();
    } finally {
      await host.close();
      await backend.dispose();
      await new Promise((resolve) => listening.close(resolve));
    }
  });
});

/** A port nothing listens on (bound, then let go). */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

describe('host names: only the names the host is reached by, on every binding', () => {
  const get = (port: number, hostHeader: string, address = '127.0.0.1'): Promise<number> =>
    new Promise((resolve, reject) => {
      const request = httpRequest({ host: address, port, path: '/', headers: { host: hostHeader } }, (response) => {
        response.resume();
        resolve(response.statusCode!);
      });
      request.on('error', reject);
      request.end();
    });

  it('bound to 0.0.0.0: a rebinding name is refused, the machine\'s own names and --allow-host names are answered', async () => {
    const backend = await StudioBackend.create({ dataDir: path.join(dir, 'any-data'), worker: tsJobWorker(), version: 'test', env: {}, weightsService: { root: path.join(dir, 'any-weights') } });
    const host = await startStudioHost({ backend, rendererDir: dir, host: '0.0.0.0', allowHosts: ['studio.example'] });
    try {
      expect(await get(host.port, `evil.example:${host.port}`)).toBe(403);
      expect(await get(host.port, `127.0.0.1.evil.example:${host.port}`)).toBe(403);
      expect(await get(host.port, `127.0.0.1:${host.port + 1}`)).toBe(403);
      expect(await get(host.port, `127.0.0.1:${host.port}`)).toBe(200);
      expect(await get(host.port, `${os.hostname()}:${host.port}`)).toBe(200);
      expect(await get(host.port, `studio.example:${host.port}`)).toBe(200);
      const lan = Object.values(os.networkInterfaces()).flatMap((entries) => entries ?? []).find((entry) => entry.family === 'IPv4' && !entry.internal);
      if (lan) expect(await get(host.port, `${lan.address}:${host.port}`, lan.address)).toBe(200);
      // The socket is behind the same check.
      const rebound = new WebSocket(wsUrlFor(host.url), { headers: { host: `evil.example:${host.port}` } });
      expect(await new Promise((resolve) => rebound.once('unexpected-response', (_request, response) => resolve(response.statusCode)))).toBe(403);
    } finally {
      await host.close();
      await backend.dispose();
    }
  });

  it('bound to 127.0.0.2: answers the URL it prints', async () => {
    const backend = await StudioBackend.create({ dataDir: path.join(dir, 'two-data'), worker: tsJobWorker(), version: 'test', env: {}, weightsService: { root: path.join(dir, 'two-weights') } });
    const host = await startStudioHost({ backend, rendererDir: dir, host: '127.0.0.2' });
    try {
      expect(host.url).toMatch(/^http:\/\/127\.0\.0\.2:\d+\//);
      expect((await fetch(host.url)).status).toBe(200);
      const client = await Client.open(wsUrlFor(host.url));
      expect((await client.call('getSettings', null)).ok).toBe(true);
      client.ws.close();
    } finally {
      await host.close();
      await backend.dispose();
    }
  });
});

describe.skipIf(process.platform === 'win32')('private files: what the browser host writes is its user\'s alone (POSIX modes)', () => {
  it('settings, batch inputs, run frames and weights are 0600 in 0700 folders, and an older install is tightened', { timeout: 300_000 }, async () => {
    execFileSync(process.execPath, ['scripts/build-node.mjs'], { cwd: REPO_ROOT, stdio: 'ignore' });
    const dataDir = path.join(dir, 'private-data');
    const weightsRoot = path.join(dir, 'private-weights');
    // What an older version left: an open runs folder and settings file.
    await mkdir(path.join(dataDir, 'runs'), { recursive: true, mode: 0o755 });
    await chmod(path.join(dataDir, 'runs'), 0o755);
    await writeFile(path.join(dataDir, SETTINGS_FILE_NAME), '{}', { mode: 0o644 });
    await chmod(path.join(dataDir, SETTINGS_FILE_NAME), 0o644);
    const server = spawn(process.execPath, ['out/server/serve.js', '--renderer-dir', dir, '--data-dir', dataDir, '--threads', '1'], {
      cwd: REPO_ROOT,
      env: { ...process.env, NST_WEIGHTS: '', NST_DATA_DIR: weightsRoot },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        server.stdout!.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const match = /http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+/.exec(out);
          if (match) resolve(match[0]);
        });
        server.once('exit', (code) => reject(new Error(`serve exited (${code})`)));
      });
      const client = await Client.open(wsUrlFor(url));
      const png = await tinyPng();
      const settings = testSettings({ iterations: 2 });
      expect((await client.call('saveSettings', settings)).ok).toBe(true);
      const started = (await client.call('startRun', { content: { name: 'me.png', bytes: png }, styles: [{ image: { name: 'art.png', bytes: png }, blend: 1 }], settings, timelapse: { frameEvery: 1 } })) as Result<{ runId: string }>;
      expect(started.ok).toBe(true);
      await expect.poll(() => client.events.some((e) => 'event' in e && e.event === 'runEvent' && (e.data.type === 'done' || e.data.type === 'error')), { timeout: 120_000, interval: 500 }).toBe(true);
      expect((await client.call('startBatch', { contents: [{ name: 'holiday.png', bytes: png }], styles: [{ image: { name: 'art.png', bytes: png }, blend: 1 }], settings })).ok).toBe(true);
      if (hasShared('data', 'vgg19-imagenet-block1-3')) {
        const folder = sharedPath('data', 'vgg19-imagenet-block1-3');
        const files = await Promise.all((await readdir(folder)).map(async (name) => ({ name, bytes: new Uint8Array(await readFile(path.join(folder, name))) })));
        expect((await client.call('importWeights', { files })).ok).toBe(true);
      }
      client.ws.close();

      const open: string[] = [];
      const kinds = new Set<string>();
      for (const root of [dataDir, weightsRoot]) {
        for (const entry of await readdir(root, { recursive: true }).catch(() => [] as string[])) {
          const file = path.join(root, String(entry));
          const info = await stat(file);
          kinds.add(path.relative(root, file).split(path.sep)[0]!);
          if ((info.mode & 0o077) !== 0) open.push(`${file} ${(info.mode & 0o777).toString(8)}`);
        }
      }
      // Each kind of data was written (the run's frames, the batch's photos, the settings), so each was checked.
      expect([SETTINGS_FILE_NAME, 'runs', 'run-frames', 'batch'].filter((kind) => !kinds.has(kind))).toEqual([]);
      expect(open, 'readable or enterable by others').toEqual([]);
    } finally {
      server.kill('SIGTERM');
      await new Promise((resolve) => server.once('exit', resolve));
    }
  });
});

/** A 16 × 16 PNG. */
async function tinyPng(): Promise<Uint8Array> {
  const { default: sharp } = await import('sharp');
  return new Uint8Array(await sharp({ create: { width: 16, height: 16, channels: 3, background: { r: 200, g: 80, b: 40 } } }).png().toBuffer());
}
