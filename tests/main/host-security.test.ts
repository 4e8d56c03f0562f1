// The browser host and the studio bridge against a client that holds the token and means harm (the second audit of
// issue 13): no call makes the host run a file it names, read outside the data folder, grow without bound, fetch
// addresses of its choosing, or answer to host names it was not given; what the host writes is its user's alone.

import { chmod, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_INDEX_URL } from '../../src/main/app-protocol.js';
import { ipcHandler } from '../../src/main/ipc/index.js';
import { saveDialogCalls } from '../../src/main/ipc/save-dialogs.js';
import { trustPolicy } from '../../src/main/security.js';
import { SETTINGS_FILE_NAME } from '../../src/main/services/settings-store.js';
import { StudioBackend } from '../../src/main/services/studio-backend.js';
import { startStudioHost } from '../../src/server/host.js';
import type { RequestMethod, Result } from '../../src/shared/api.js';
import { apiHandlers } from '../../src/shared/dispatch.js';
import { DEFAULT_STUDIO_SETTINGS, DEFAULT_VIDEO_SETTINGS } from '../../src/shared/studio-settings.js';
import { decodeWireMessage, encodeWireMessage, wsUrlFor, type WsServerMessage } from '../../src/shared/ws-protocol.js';
import { tsJobWorker } from '../helpers/studio.js';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'nst-host-security-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A client of the host's socket holding the token: calls by id, replies matched. */
class Client {
  private nextId = 1;
  private readonly pending = new Map<number, (result: Result<unknown>) => void>();

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (raw) => {
      const message = decodeWireMessage(String(raw)) as WsServerMessage;
      if ('id' in message && message.id !== null) this.pending.get(message.id)?.(message.result);
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
