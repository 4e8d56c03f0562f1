// The bundled browser host (out/server/serve.js + job-worker.js) as `npm run serve` starts it: prints its URL,
// serves the page with the token, runs a job in the bundled worker, and exits cleanly on SIGTERM; on SIGHUP (its
// terminal closed) too, keeping the checkpoint of the run it stops.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { WebSocket } from 'ws';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeWireMessage, encodeWireMessage, wsUrlFor, type WsServerMessage } from '../../src/shared/ws-protocol.js';
import { REPO_ROOT } from '../helpers/shared-data.js';
import { WEIGHTS_DIR, studioDataPresent, testSettings, tubingenStarryRequest } from '../helpers/studio.js';

const present = studioDataPresent();
let child: ChildProcess | null = null;
let dir = '';
let built = false;

afterAll(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Builds the bundles (once) and starts the host on a fresh data folder; resolves with its URL once it prints it. */
async function startHost(): Promise<{ server: ChildProcess; url: string; data: string; stderr: () => string }> {
  if (!built) execFileSync(process.execPath, ['scripts/build-node.mjs'], { cwd: REPO_ROOT, stdio: 'inherit' });
  built = true;
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = await mkdtemp(path.join(os.tmpdir(), 'nst-serve-'));
  await mkdir(path.join(dir, 'renderer'));
  await writeFile(path.join(dir, 'renderer', 'index.html'), '<!doctype html><title>bundled</title>');
  const data = path.join(dir, 'data');
  const server = spawn(
    process.execPath,
    ['out/server/serve.js', '--renderer-dir', path.join(dir, 'renderer'), '--data-dir', data, '--weights', WEIGHTS_DIR, '--threads', '2'],
    { cwd: REPO_ROOT, env: { ...process.env, NST_WEIGHTS: '' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child = server;
  let stderr = '';
  server.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    let stdout = '';
    server.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+/.exec(stdout);
      if (match) resolve(match[0]);
    });
    server.once('exit', (code) => reject(new Error(`serve exited (${code}): ${stderr}`)));
  });
  return { server, url, data, stderr: () => stderr };
}

describe.skipIf(!present)('npm run serve (the bundled host)', () => {
  it('starts, prints a tokenised loopback URL, runs a job through the bundled worker, and stops on SIGTERM', async () => {
    const { server, url, stderr } = await startHost();
    expect(stderr()).toContain('weights');

    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('bundled');
    // The page is public code; the socket is what needs the token.
    const refused = new WebSocket(wsUrlFor(url, 'x'));
    expect(await new Promise((resolve) => refused.once('unexpected-response', (_request, response) => resolve(response.statusCode)))).toBe(401);

    const ws = new WebSocket(wsUrlFor(url));
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const messages: WsServerMessage[] = [];
    const ended = new Promise<WsServerMessage>((resolve) =>
      ws.on('message', (raw) => {
        const message = decodeWireMessage(String(raw)) as WsServerMessage;
        messages.push(message);
        if ('event' in message && (message.data.type === 'done' || message.data.type === 'error')) resolve(message);
      }),
    );
    ws.send(encodeWireMessage({ id: 1, method: 'startRun', params: await tubingenStarryRequest(testSettings({ iterations: 3 })) }));
    const end = await ended;
    expect(messages.find((m) => 'id' in m && m.id === 1)).toMatchObject({ result: { ok: true } });
    expect(end).toMatchObject({ event: 'runEvent', data: { type: 'done', iterations: 3 } });
    ws.close();

    const exit = new Promise<number | null>((resolve) => server.once('exit', (code) => resolve(code)));
    server.kill('SIGTERM');
    expect(await exit).toBe(0);
  });

  it('SIGHUP (its terminal closed) stops the run in progress after its iteration, keeps its checkpoint, and exits 0', async () => {
    const { server, url, data } = await startHost();
    const ws = new WebSocket(wsUrlFor(url));
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    let runId = '';
    const progressed = new Promise<void>((resolve) =>
      ws.on('message', (raw) => {
        const message = decodeWireMessage(String(raw)) as WsServerMessage;
        if ('id' in message && message.id === 1) runId = (message as { result: { value: { runId: string } } }).result.value.runId;
        if ('event' in message && message.data.type === 'progress' && (message.data as { loss: { iteration: number } }).loss.iteration >= 2) resolve();
      }),
    );
    ws.send(encodeWireMessage({ id: 1, method: 'startRun', params: await tubingenStarryRequest(testSettings({ iterations: 400 })) }));
    await progressed;
    const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => server.once('exit', (code, signal) => resolve({ code, signal })));
    server.kill('SIGHUP');
    expect(await exit).toEqual({ code: 0, signal: null });
    expect(await readdir(path.join(data, 'runs'))).toEqual([runId]);
    const manifest = JSON.parse(await readFile(path.join(data, 'runs', runId, 'checkpoint.json'), 'utf8')) as { progress: { iteration: number } };
    expect(manifest.progress.iteration).toBeGreaterThanOrEqual(2);
  });
});
