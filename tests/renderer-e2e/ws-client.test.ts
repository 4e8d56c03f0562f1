// The renderer's WebSocket client, derived from the API table, against the browser host's real dispatch (with fake
// services): a function per call and per studio event, nothing else, and every one of them carried end to end.

import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { webSocketApi } from '../../src/renderer/lib/api/ws-client.js';
import { serveApi } from '../../src/server/ws-api.js';
import { API, REQUEST_METHODS, STUDIO_PUSH_NAMES, listenerName, type Result } from '../../src/shared/api.js';
import { ok } from '../../src/shared/result.js';
import { valid } from '../helpers/api-payloads.js';
import { fakeServices } from '../helpers/fake-services.js';

describe("the renderer's WebSocket client", () => {
  let server: WebSocketServer;
  let url: string;
  let fake: ReturnType<typeof fakeServices>;
  const browserWebSocket = globalThis.WebSocket;

  beforeAll(async () => {
    fake = fakeServices();
    server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    server.on('connection', (socket) => serveApi(socket, fake.backend));
    await new Promise((resolve) => server.once('listening', resolve));
    url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/api`;
    // The client runs on the browser's WebSocket; ws plays it here.
    (globalThis as { WebSocket: unknown }).WebSocket = WebSocket;
  });

  afterAll(async () => {
    (globalThis as { WebSocket: unknown }).WebSocket = browserWebSocket;
    for (const client of server.clients) client.terminate();
    await new Promise((resolve) => server.close(resolve));
  });

  it('has a function per call and per studio event, and word of the connection, nothing else', () => {
    const api = webSocketApi(url);
    expect(Object.keys(api).sort()).toEqual([...REQUEST_METHODS, ...STUDIO_PUSH_NAMES.map(listenerName), 'onConnectionError'].sort());
  });

  it('carries every call to its service (the exports come back as downloads; ffmpeg is the host\'s to choose) and every studio event to its subscriber', async () => {
    const api = webSocketApi(url) as unknown as Record<string, (argument?: unknown) => unknown>;
    for (const method of REQUEST_METHODS) {
      const result = (await api[method]!(valid(method))) as Result<unknown>;
      if (method === 'chooseFfmpeg') expect(result, method).toMatchObject({ ok: false, error: { code: 'FFMPEG_CHOSEN_BY_HOST' } });
      else if (API[method].answeredBy === 'host') expect(result, method).toMatchObject({ ok: true, value: { kind: 'download' } });
      else {
        expect(result, method).toEqual(ok({ answered: method }));
        // A call without a payload goes out as null.
        expect(fake.calls.at(-1)).toEqual([method, valid(method) ?? null]);
      }
    }
    const heard: [string, unknown][] = [];
    for (const name of STUDIO_PUSH_NAMES) api[listenerName(name)]!((event: unknown) => heard.push([name, event]));
    await vi.waitFor(() => expect(STUDIO_PUSH_NAMES.every((name) => fake.subscribers(name) > 0)).toBe(true));
    for (const name of STUDIO_PUSH_NAMES) fake.emit(name, { from: name });
    await vi.waitFor(() => expect(heard).toHaveLength(STUDIO_PUSH_NAMES.length));
    expect(heard).toEqual(STUDIO_PUSH_NAMES.map((name) => [name, { from: name }]));
  });
});
