// The browser host: loopback by default, its page public but its socket behind a token (401 otherwise), a strict
// CSP, and the StudioApi over the WebSocket driving a real run end to end.

import { request as httpRequest } from 'node:http';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RENDERER_CSP_HEADER } from '../../src/main/csp.js';
import { StudioBackend } from '../../src/main/services/studio-backend.js';
import { startStudioHost, type StudioHost } from '../../src/server/host.js';
import type { RequestMethod, Result, RunEvent } from '../../src/shared/api.js';
import { DEFAULT_STUDIO_SETTINGS } from '../../src/shared/studio-settings.js';
import { decodeWireMessage, encodeWireMessage, wsUrlFor, type WsServerMessage } from '../../src/shared/ws-protocol.js';
import { REPO_ROOT } from '../helpers/shared-data.js';
import { WEIGHTS_DIR, studioDataPresent, testSettings, tsJobWorker, tubingenStarryRequest } from '../helpers/studio.js';

const present = studioDataPresent();

let dir: string;
let backend: StudioBackend;
let host: StudioHost;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'nst-host-'));
  const rendererDir = path.join(dir, 'renderer');
  await mkdir(path.join(rendererDir, 'assets'), { recursive: true });
  await writeFile(path.join(rendererDir, 'index.html'), '<!doctype html><title>Studio</title><script type="module" src="./assets/app.js"></script>');
  await writeFile(path.join(rendererDir, 'assets', 'app.js'), 'console.log("studio");');
  await writeFile(path.join(dir, 'secret.txt'), 'outside the renderer');
  backend = await StudioBackend.create({ dataDir: path.join(dir, 'data'), worker: tsJobWorker(), version: '9.9.9', weightsArgument: present ? WEIGHTS_DIR : null, env: {}, threads: 2, weightsService: { root: path.join(dir, 'weights-store') } });
  host = await startStudioHost({ backend, rendererDir });
});

afterAll(async () => {
  await host?.close();
  await backend?.dispose();
  await rm(dir, { recursive: true, force: true });
});

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function get(pathAndQuery: string, headers: Record<string, string> = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: host.port, path: pathAndQuery, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Opens a socket; resolves with it once open, or rejects with the HTTP status of a refused upgrade. */
function connect(url: string, headers: Record<string, string> = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })));
    ws.once('error', reject);
  });
}

class ApiClient {
  private nextId = 1;
  private readonly pending = new Map<number, (result: Result<unknown>) => void>();
  readonly events: RunEvent[] = [];
  readonly stray: WsServerMessage[] = [];
  private eventWaiters: (() => void)[] = [];

  constructor(readonly ws: WebSocket) {
    ws.on('message', (raw) => {
      const message = decodeWireMessage(String(raw)) as WsServerMessage;
      if ('event' in message) {
        if (message.event !== 'runEvent') return;
        this.events.push(message.data);
        for (const wake of this.eventWaiters.splice(0)) wake();
      } else if (message.id !== null && this.pending.has(message.id)) {
        this.pending.get(message.id)!(message.result);
        this.pending.delete(message.id);
      } else this.stray.push(message);
    });
  }

  call(method: RequestMethod, params: unknown): Promise<Result<unknown>> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.ws.send(encodeWireMessage({ id, method, params } as never));
    });
  }

  async waitForEvent(match: (e: RunEvent) => boolean, timeoutMs = 90_000): Promise<RunEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.find(match);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no matching event; saw ${this.events.map((e) => e.type).join(',')}`);
      await new Promise<void>((resolve) => {
        this.eventWaiters.push(resolve);
        setTimeout(resolve, 500);
      });
    }
  }
}

describe('browser host: access', () => {
  it('binds to the loopback interface by default and prints a URL with the token', () => {
    expect(host.address).toBe('127.0.0.1');
    expect(host.loopbackOnly).toBe(true);
    expect(host.url).toBe(`http://127.0.0.1:${host.port}/?token=${host.token}`);
    expect(host.token.length).toBeGreaterThanOrEqual(32);
  });

  it('serves the page and its files without the token (they hold no secret), never sets a cookie, and never serves outside the renderer', async () => {
    for (const target of ['/', `/?token=${host.token}`, '/?token=wrong', '/assets/app.js']) {
      const response = await get(target);
      expect(response.status, target).toBe(200);
      // The token is no cookie: a cookie for 127.0.0.1 goes to every server on 127.0.0.1, whatever its port.
      expect(response.headers['set-cookie'], target).toBeUndefined();
      expect(response.headers['content-security-policy']).toBe(RENDERER_CSP_HEADER);
      expect(response.headers['referrer-policy']).toBe('no-referrer');
    }
    const page = await get('/');
    expect(page.body).toContain('<title>Studio</title>');
    // The renderer's one policy: own scripts only, the API socket through 'self', no framing.
    const csp = page.headers['content-security-policy'] as string;
    expect(csp).toContain("script-src 'self';");
    expect(csp).toContain("connect-src 'self';");
    expect(csp).toContain("frame-ancestors 'none'");

    const script = await get('/assets/app.js');
    expect(script).toMatchObject({ status: 200, body: 'console.log("studio");' });
    expect(script.headers['content-type']).toMatch(/^text\/javascript/);
    expect((await get('/%2e%2e/secret.txt')).status).toBe(404);
    expect((await get('/..%2fsecret.txt')).status).toBe(404);
    expect((await get('/missing.js')).status).toBe(404);
  });

  it('refuses other host names (DNS rebinding) even with the token', async () => {
    const response = await get(`/?token=${host.token}`, { host: `evil.example:${host.port}` });
    expect(response.status).toBe(403);
  });

  it('refuses the WebSocket without the token (401), with a wrong one (401), with it as a cookie only (401) and from another origin (403)', async () => {
    const base = `ws://127.0.0.1:${host.port}/api`;
    await expect(connect(base)).rejects.toMatchObject({ status: 401 });
    await expect(connect(`${base}?token=nope`)).rejects.toMatchObject({ status: 401 });
    await expect(connect(base, { cookie: `nst_host_token_${host.port}=${host.token}` })).rejects.toMatchObject({ status: 401 });
    await expect(connect(wsUrlFor(host.url), { origin: 'http://evil.example' })).rejects.toMatchObject({ status: 403 });
    const ws = await connect(wsUrlFor(host.url), { origin: `http://127.0.0.1:${host.port}` });
    ws.close();
  });

  it('answers malformed frames with BAD_REQUEST and keeps the socket open', async () => {
    const client = new ApiClient(await connect(wsUrlFor(host.url)));
    client.ws.send('{not json');
    client.ws.send(JSON.stringify({ method: 'getSettings' }));
    expect(await client.call('nuke' as RequestMethod, null)).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST', message: expect.stringContaining('Unknown method') } });
    expect(await client.call('startRun', { content: 'C:/photo.jpg' })).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    expect(await client.call('getSettings', { extra: 1 })).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    expect(await client.call('getSettings', null)).toEqual({ ok: true, value: DEFAULT_STUDIO_SETTINGS });
    expect(client.stray).toHaveLength(2);
    expect(client.stray.every((m) => 'id' in m && m.id === null && !m.result.ok)).toBe(true);
    client.ws.close();
  });
});

describe('browser host: the example images', () => {
  it('hands out the built-in photo and painting, byte for byte, with their credits', async () => {
    const client = new ApiClient(await connect(wsUrlFor(host.url)));
    const examples = (await client.call('getExamples', null)) as Result<{ role: string; name: string; bytes: Uint8Array; credit: string }[]>;
    if (!examples.ok) throw new Error(examples.error.message);
    expect(examples.value.map(({ role, name }) => [role, name])).toEqual([['content', 'golden-gate.jpg'], ['style', 'great-wave.jpg']]);
    for (const example of examples.value) {
      expect(Buffer.from(example.bytes).equals(await readFile(path.join(REPO_ROOT, 'resources', 'examples', example.name))), example.name).toBe(true);
      expect(example.credit).toMatch(/Pexels|Hokusai/);
    }
    client.ws.close();
  });
});

describe.skipIf(!present)('browser host: a real run over the WebSocket', () => {
  it('reports the weights, runs to done with previews, and exports a PNG download', async () => {
    const client = new ApiClient(await connect(wsUrlFor(host.url)));
    const info = await client.call('getAppInfo', null);
    expect(info).toMatchObject({ ok: true, value: { version: '9.9.9', weights: { source: expect.stringContaining('vgg19-imagenet-uint8') } } });

    const started = (await client.call('startRun', await tubingenStarryRequest(testSettings({ iterations: 5 })))) as Result<{ runId: string }>;
    expect(started.ok).toBe(true);
    const runId = started.ok ? started.value.runId : '';
    const done = await client.waitForEvent((e) => e.runId === runId && (e.type === 'done' || e.type === 'error'));
    expect(done).toMatchObject({ type: 'done', iterations: 5, final: { width: 64, height: 64 } });
    const types = client.events.filter((e) => e.runId === runId).map((e) => e.type);
    expect(types.slice(0, 3)).toEqual(['queued', 'plan', 'started']);
    expect(types.filter((t) => t === 'progress')).toHaveLength(5);
    const firstProgress = client.events.find((e) => e.runId === runId && e.type === 'progress') as Extract<RunEvent, { type: 'progress' }>;
    expect(firstProgress.preview!.jpeg).toBeInstanceOf(Uint8Array);
    expect((await sharp(firstProgress.preview!.jpeg).metadata()).format).toBe('jpeg');

    // The estimate behind the size control, over the socket: the engine's, for the output size.
    const estimate = await client.call('estimateMemory', { settings: testSettings({ sizePx: 320, memoryLimitMb: 600 }), content: { width: 64, height: 64 } });
    expect(estimate).toMatchObject({ ok: true, value: { width: 320, height: 320, fits: false, limitBytes: 600 * 2 ** 20, limitSource: 'setting', plan: { mode: 'tiled' } } });
    const exported = await client.call('exportImage', { runId, format: 'png', sizePx: 96 });
    expect(exported).toMatchObject({ ok: true, value: { kind: 'download', fileName: `neural-style-${runId}.png` } });
    const bytes = (exported as { value: { bytes: Uint8Array } }).value.bytes;
    expect(await sharp(bytes).metadata()).toMatchObject({ format: 'png', width: 96, height: 96 });

    // The Model panel's status over the socket: nothing in the (empty) weights store, with how to get them.
    expect(await client.call('getWeightsStatus', null)).toMatchObject({ ok: true, value: { installed: false, help: expect.stringMatching(/download/i) } });
    // The run spooled its timelapse; over the socket the video comes back as a download (or ffmpeg's absence, said plainly).
    const ffmpeg = await backend.getFfmpegStatus();
    const video = await client.call('exportVideo', { runId, format: 'gif', fps: 10, holdFinalSeconds: 0, sideBySide: true, caption: false });
    if (ffmpeg.ok && ffmpeg.value.found) {
      expect(video).toMatchObject({ ok: true, value: { kind: 'download', info: { fileName: `neural-style-${runId}.gif`, mimeType: 'image/gif', path: null, frames: 2 } } });
      const gif = (video as { value: { bytes: Uint8Array } }).value.bytes;
      expect(Buffer.from(gif.subarray(0, 6)).toString('latin1')).toBe('GIF89a');
    } else {
      expect(video).toMatchObject({ ok: false, error: { code: 'FFMPEG_NOT_FOUND' } });
    }
    client.ws.close();
  });
});
