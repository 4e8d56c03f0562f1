// The API table walked across the transports: the preload bridge, Electron's handler registration and event
// forwarding, and the browser host's WebSocket dispatch each expose exactly the table's calls and events, carry
// every one of them, and refuse anything else (the renderer's WebSocket client: tests/renderer-e2e/ws-client.test.ts).

import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { APP_INDEX_URL } from '../../src/main/app-protocol.js';
import { forwardEvents, registerIpcHandlers, type IpcMainLike } from '../../src/main/ipc/index.js';
import { saveDialogCalls } from '../../src/main/ipc/save-dialogs.js';
import { trustPolicy } from '../../src/main/security.js';
import { serveApi } from '../../src/server/ws-api.js';
import { API, PUSH_NAMES, REQUEST_METHODS, STUDIO_PUSH_NAMES, listenerName, type RequestMethod, type Result } from '../../src/shared/api.js';
import { apiHandlers } from '../../src/shared/dispatch.js';
import { ok } from '../../src/shared/result.js';
import { decodeWireMessage, encodeWireMessage } from '../../src/shared/ws-protocol.js';
import { valid } from '../helpers/api-payloads.js';
import { fakeServices } from '../helpers/fake-services.js';

/** The preload's view of Electron: what it exposes, what it invokes, what it listens on. */
const electron = vi.hoisted(() => {
  const exposed: Record<string, unknown> = {};
  const invoked: [string, unknown][] = [];
  const listening = new Map<string, (event: unknown, payload: unknown) => void>();
  return {
    exposed,
    invoked,
    listening,
    module: {
      contextBridge: { exposeInMainWorld: (key: string, value: unknown) => (exposed[key] = value) },
      ipcRenderer: {
        invoke: async (channel: string, payload: unknown) => {
          invoked.push([channel, payload]);
          return { ok: true, value: channel };
        },
        on: (channel: string, listener: (event: unknown, payload: unknown) => void) => listening.set(channel, listener),
        removeListener: (channel: string) => listening.delete(channel),
      },
    },
  };
});
vi.mock('electron', () => electron.module);

const sorted = (names: readonly string[]): string[] => [...names].sort();
const HOST_METHODS = REQUEST_METHODS.filter((method) => API[method].answeredBy === 'host');
/** Names a client might try that are no call: inherited members, events, the backend's own helpers. */
const NOT_CALLS = ['nuke', 'constructor', '__proto__', 'toString', 'hasOwnProperty', ...PUSH_NAMES, 'renderExport', 'exportVideoBytes', 'exportVideoTo', 'hasVideoFrames', 'dispose'];

describe('the table', () => {
  it('gives every row a channel of its own', () => {
    const channels = Object.values(API).map((row) => row.channel);
    expect(new Set(channels).size).toBe(channels.length);
  });
});

describe('the preload bridge (src/preload, with Electron faked)', () => {
  beforeAll(async () => {
    await import('../../src/preload/index.js');
  });

  it('exposes window.api alone, with a function per call and per event (the menu included), nothing else', () => {
    expect(Object.keys(electron.exposed)).toEqual(['api']);
    const api = electron.exposed.api as Record<string, unknown>;
    expect(sorted(Object.keys(api))).toEqual(sorted([...REQUEST_METHODS, ...PUSH_NAMES.map(listenerName)]));
    for (const value of Object.values(api)) expect(typeof value).toBe('function');
  });

  it.each(REQUEST_METHODS)('%s goes out on its channel with its payload', async (method) => {
    electron.invoked.length = 0;
    const api = electron.exposed.api as Record<string, (payload?: unknown) => Promise<Result<unknown>>>;
    expect(await api[method]!(valid(method))).toEqual(ok(API[method].channel));
    expect(electron.invoked).toEqual([[API[method].channel, valid(method)]]);
  });

  it.each(PUSH_NAMES)('%s is heard on its channel, without the IpcRendererEvent', (name) => {
    const api = electron.exposed.api as Record<string, (listener: (...args: unknown[]) => void) => () => void>;
    const heard: unknown[][] = [];
    const stop = api[listenerName(name)]!((...args) => heard.push(args));
    electron.listening.get(API[name].channel)!({ sender: 'ipcRenderer' }, { type: 'x' });
    expect(heard).toEqual([[{ type: 'x' }]]);
    stop();
    expect(electron.listening.has(API[name].channel)).toBe(false);
  });
});

describe("Electron's main process", () => {
  const policy = trustPolicy({ isOwnWebContents: (id) => id === 1 });
  const ownEvent = { sender: { id: 1 }, senderFrame: { url: APP_INDEX_URL, parent: null } };

  it('registers exactly one handler per call, and every call reaches its service (or the save dialog) with its request', async () => {
    const handlers = new Map<string, (event: unknown, payload: unknown) => unknown>();
    const ipcMain: IpcMainLike = { handle: (channel, listener) => handlers.set(channel, listener as never), removeHandler: (channel) => handlers.delete(channel) };
    const fake = fakeServices();
    const dialogs = { chooseSavePath: async () => '/home/artist/painting.png', writeFileAtomic: async () => undefined, chooseExecutable: async () => '/opt/ffmpeg/bin/ffmpeg' };
    registerIpcHandlers(ipcMain, apiHandlers(fake.services, saveDialogCalls(fake.sources, dialogs)), policy, () => undefined);
    expect(sorted([...handlers.keys()])).toEqual(sorted(REQUEST_METHODS.map((method) => API[method].channel)));
    for (const method of REQUEST_METHODS) {
      const result = (await handlers.get(API[method].channel)!(ownEvent, valid(method))) as Result<unknown>;
      expect(result.ok, method).toBe(true);
      if (API[method].answeredBy === 'services') {
        expect(result).toEqual(ok({ answered: method }));
        expect(fake.calls.at(-1)).toEqual([method, valid(method)]);
      }
    }
    expect(sorted(fake.calls.map(([method]) => method))).toEqual(sorted(REQUEST_METHODS.filter((method) => !HOST_METHODS.includes(method))));
  });

  it("forwards every studio event on its channel (the menu's are sent by the app itself)", () => {
    const fake = fakeServices();
    const sent: [string, unknown][] = [];
    const stop = forwardEvents(fake.services, (channel, payload) => sent.push([channel, payload]));
    for (const name of STUDIO_PUSH_NAMES) fake.emit(name, { from: name });
    expect(sent).toEqual(STUDIO_PUSH_NAMES.map((name) => [API[name].channel, { from: name }]));
    expect(STUDIO_PUSH_NAMES).not.toContain('menuAction');
    stop();
    for (const name of STUDIO_PUSH_NAMES) expect(fake.subscribers(name), name).toBe(0);
  });
});

describe("the browser host's WebSocket dispatch", () => {
  let server: WebSocketServer;
  let url: string;
  let fake: ReturnType<typeof fakeServices>;

  beforeAll(async () => {
    fake = fakeServices();
    server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    server.on('connection', (socket) => serveApi(socket, fake.backend));
    await new Promise((resolve) => server.once('listening', resolve));
    url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/api`;
  });

  afterAll(async () => {
    for (const client of server.clients) client.terminate();
    await new Promise((resolve) => server.close(resolve));
  });

  /** One request frame on a fresh socket, and the reply. */
  async function ask(method: string, params: unknown): Promise<unknown> {
    const socket = new WebSocket(url);
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    const reply = new Promise<unknown>((resolve) => socket.once('message', (raw) => resolve(decodeWireMessage(String(raw)))));
    socket.send(encodeWireMessage({ id: 7, method: method as RequestMethod, params } as never));
    try {
      return await reply;
    } finally {
      socket.close();
    }
  }

  it.each(REQUEST_METHODS)('answers %s through its service (the exports as downloads, ffmpeg chosen by the host)', async (method) => {
    const reply = (await ask(method, valid(method) ?? null)) as { id: number; result: Result<unknown> };
    expect(reply.id).toBe(7);
    if (method === 'chooseFfmpeg') expect(reply.result).toMatchObject({ ok: false, error: { code: 'FFMPEG_CHOSEN_BY_HOST' } });
    else if (API[method].answeredBy === 'host') expect(reply.result).toMatchObject({ ok: true, value: { kind: 'download' } });
    else {
      expect(reply.result).toEqual(ok({ answered: method }));
      expect(fake.calls.at(-1)).toEqual([method, valid(method) ?? null]);
    }
  });

  it.each(NOT_CALLS)('refuses %s as an unknown method, and nothing is called', async (method) => {
    const calls = fake.calls.length;
    expect(await ask(method, null)).toEqual({ id: 7, result: { ok: false, error: { code: 'BAD_REQUEST', message: expect.stringMatching(/^Unknown method/) } } });
    expect(fake.calls.length).toBe(calls);
  });
});
