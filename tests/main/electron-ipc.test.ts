// Electron's side of the API table: one guarded handler per call's channel; senders checked, payloads validated,
// answers always Results; the save dialogs' exports. Handlers are called with fake events and fake services, as
// ipcMain would call them.

import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { APP_INDEX_URL } from '../../src/main/app-protocol.js';
import { writeFileAtomic } from '../../src/engine/sys/atomic-file.js';
import { ipcHandler, registerIpcHandlers, type IpcMainLike } from '../../src/main/ipc/index.js';
import { saveDialogCalls, withFormatExtension, withVideoExtension, type SaveDialogs } from '../../src/main/ipc/save-dialogs.js';
import { readPickedImage } from '../../src/main/open-images.js';
import { trustPolicy, type SenderInfo } from '../../src/main/security.js';
import type { ExportSources } from '../../src/main/services/studio-backend.js';
import { windowStateStore } from '../../src/main/studio-services.js';
import { API, REQUEST_METHODS, type RequestMethod, type Result, type StudioServices, type VideoExportInfo } from '../../src/shared/api.js';
import { apiHandlers } from '../../src/shared/dispatch.js';
import { MAX_IMAGE_BYTES } from '../../src/shared/schemas.js';
import { DEFAULT_STUDIO_SETTINGS, DEFAULT_VIDEO_SETTINGS } from '../../src/shared/studio-settings.js';
import { VALID, valid, validStart } from '../helpers/api-payloads.js';

vi.mock('electron', () => {
  throw new Error('a module under test loaded electron at run time (only src/main/index.ts and the preload may)');
});

const WINDOW_ID = 3;
const policy = trustPolicy({ isOwnWebContents: (id) => id === WINDOW_ID });
const ownEvent: SenderInfo = { sender: { id: WINDOW_ID }, senderFrame: { url: APP_INDEX_URL, parent: null } };
const foreignEvent: SenderInfo = { sender: { id: WINDOW_ID }, senderFrame: { url: 'https://evil.example/', parent: null } };
const ok = <T>(value: T): Result<T> => ({ ok: true, value });
const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

const VIDEO_INFO: VideoExportInfo = {
  path: '/home/artist/Videos/painted.mp4',
  fileName: 'painted.mp4',
  format: 'mp4',
  mimeType: 'video/mp4',
  width: 64,
  height: 64,
  fps: 10,
  frames: 12,
  durationSeconds: 1.2,
  sizeBytes: 1000,
};

type FakeServices = StudioServices & Pick<ExportSources, 'renderExport' | 'hasVideoFrames' | 'exportVideoTo' | 'useFfmpeg'> & { calls: string[] };

/** Services that record what reached them (nothing should, for a refused or malformed request); every call answers ok. */
function fakeServices(): FakeServices {
  const calls: string[] = [];
  const services: Record<string, unknown> = { calls };
  for (const method of REQUEST_METHODS) {
    services[method] = async () => {
      calls.push(method);
      return ok(null);
    };
  }
  return Object.assign(services, {
    renderExport: async () => {
      calls.push('renderExport');
      return ok({ bytes: png, format: 'png', mimeType: 'image/png', width: 1, height: 1, fileName: 'run-1-abcd.png' });
    },
    // A precondition the export checks before the save dialog, not a service call of its own.
    hasVideoFrames: async () => true,
    exportVideoTo: async (_request: unknown, savePath: string) => {
      calls.push('exportVideoTo');
      return ok({ ...VIDEO_INFO, path: savePath });
    },
    useFfmpeg: async (ffmpegPath: string | null) => {
      calls.push(`useFfmpeg ${ffmpegPath}`);
      return ok({ found: false, help: 'none' });
    },
  }) as unknown as FakeServices;
}

interface FakeContext {
  services: FakeServices;
  dialogs: SaveDialogs;
  written: Map<string, Uint8Array>;
}

function fakeContext(dialogs: Partial<SaveDialogs> = {}): FakeContext {
  const written = new Map<string, Uint8Array>();
  return {
    services: fakeServices(),
    dialogs: {
      chooseSavePath: async () => '/home/artist/Pictures/painted.png',
      writeFileAtomic: async (file, bytes) => {
        written.set(file, bytes);
      },
      chooseExecutable: async () => '/opt/ffmpeg/bin/ffmpeg',
      ...dialogs,
    },
    written,
  };
}

/** As ipcMain would call the channel's handler: the services and Electron's own save dialogs behind the guard. */
const call = (method: RequestMethod, payload: unknown, context = fakeContext(), event = ownEvent): Promise<Result<unknown>> =>
  ipcHandler(method, apiHandlers(context.services, saveDialogCalls(context.services, context.dialogs)), policy, () => undefined)(event, payload);

describe('the registration', () => {
  it("registers each call's channel once with ipcMain, answers through it, and can remove them all again", async () => {
    const registered = new Map<string, (event: never, ...args: unknown[]) => unknown>();
    const ipcMain: IpcMainLike = {
      handle: (channel, listener) => {
        expect(registered.has(channel), `${channel} registered twice`).toBe(false);
        registered.set(channel, listener as never);
      },
      removeHandler: (channel) => registered.delete(channel),
    };
    const context = fakeContext();
    const unregister = registerIpcHandlers(ipcMain, apiHandlers(context.services, saveDialogCalls(context.services, context.dialogs)), policy);
    expect(registered.size).toBe(REQUEST_METHODS.length);
    // As ipcMain calls it: (event, ...args); only the first argument is the payload.
    const result = await registered.get(API.pauseRun.channel)!(ownEvent as never, { runId: 'run-1-abcd' }, 'ignored extra');
    expect(result).toEqual(ok(null));
    expect(context.services.calls).toEqual(['pauseRun']);
    unregister();
    expect(registered.size).toBe(0);
  });
});

describe('every call', () => {
  it.each(REQUEST_METHODS)('%s answers a valid request from our window', async (method) => {
    const context = fakeContext();
    const result = await call(method, valid(method), context);
    expect(result.ok).toBe(true);
    expect(context.services.calls.length).toBe(1);
  });

  it.each(REQUEST_METHODS)('%s refuses a foreign frame before looking at the payload', async (method) => {
    const context = fakeContext();
    const result = await call(method, valid(method), context, foreignEvent);
    expect(result).toEqual({ ok: false, error: { code: 'forbidden-sender', message: expect.stringContaining('outside the app') } });
    expect(context.services.calls).toEqual([]);
  });

  it.each(REQUEST_METHODS)('%s turns a thrown service error into an INTERNAL error Result', async (method) => {
    const context = fakeContext();
    const boom = async (): Promise<never> => {
      throw new Error('disk on fire\n    at a stack line');
    };
    for (const key of Object.keys(context.services)) if (key !== 'calls') Object.assign(context.services, { [key]: boom });
    const result = await call(method, valid(method), context);
    expect(result).toEqual({ ok: false, error: { code: 'INTERNAL', message: 'Something went wrong in the studio: disk on fire' } });
  });
});

describe('malformed payloads are rejected as data, and never reach the services', () => {
  const hostile = new Proxy(
    {},
    {
      get() {
        throw new Error('trap');
      },
      ownKeys() {
        throw new Error('trap');
      },
    },
  );
  const withSettings = (patch: Record<string, unknown>) => ({ ...validStart(), settings: { ...DEFAULT_STUDIO_SETTINGS, ...patch } });
  const cases: Array<[RequestMethod, string, unknown, RegExp]> = [
    ['startRun', 'nothing', undefined, /startRun/],
    ['startRun', 'a string', 'photo.jpg', /startRun/],
    ['startRun', 'a path instead of bytes', { ...validStart(), content: { name: 'x.png', bytes: '/etc/passwd' } }, /content\.bytes/],
    ['startRun', 'an empty image', { ...validStart(), content: { name: 'x.png', bytes: new Uint8Array() } }, /0 bytes/],
    ['startRun', 'no style', { ...validStart(), styles: [] }, /styles/],
    ['startRun', 'size 0', withSettings({ sizePx: 0 }), /sizePx/],
    ['startRun', 'size 10^6', withSettings({ sizePx: 1_000_000 }), /sizePx/],
    ['startRun', 'NaN style weight', withSettings({ styleWeight: Number.NaN }), /styleWeight/],
    ['startRun', 'a negative TV weight', withSettings({ tvWeight: -1 }), /tvWeight/],
    ['startRun', 'an unknown optimizer', withSettings({ optimizer: 'sgd' }), /optimizer/],
    ['startRun', 'an unknown field', { ...validStart(), outputPath: '/tmp/x.png' }, /outputPath/],
    ['startRun', 'a hostile proxy', hostile, /startRun/],
    ['pauseRun', 'a run id with a path in it', { runId: '../../etc' }, /runId/],
    ['resumeRun', 'a number', 42, /resumeRun/],
    ['stopRun', 'null', null, /stopRun/],
    ['updateRunSettings', 'no settings', { runId: 'run-1-abcd' }, /settings/],
    ['exportImage', 'an unknown format', { runId: 'run-1-abcd', format: 'gif', sizePx: null }, /format/],
    ['exportImage', 'a save path', { runId: 'run-1-abcd', format: 'png', sizePx: null, path: '/etc/cron.d/x' }, /path/],
    ['exportImage', 'a fractional size', { runId: 'run-1-abcd', format: 'png', sizePx: 12.5 }, /sizePx/],
    ['saveSettings', 'an array', [], /saveSettings/],
    ['saveSettings', 'an unknown layer', { ...DEFAULT_STUDIO_SETTINGS, layers: { ...DEFAULT_STUDIO_SETTINGS.layers, block6_conv1: { style: true, styleWeight: 1, content: false } } }, /block6_conv1/],
    ['getSettings', 'a payload where none is taken', { sneaky: true }, /payload/],
    ['getAppInfo', 'a payload where none is taken', 'x', /payload/],
    ['getWeightsStatus', 'a payload where none is taken', { path: '/etc' }, /payload/],
    ['fetchWeights', 'a file URL', { url: 'file:///etc/passwd' }, /url/],
    ['fetchWeights', 'an unknown field', { url: null, path: '/tmp/x.h5' }, /path/],
    ['cancelWeightsFetch', 'a payload where none is taken', 1, /payload/],
    ['importWeights', 'a path instead of bytes', { files: [{ name: 'vgg19.h5', bytes: '/home/me/vgg19.h5' }] }, /files\.0\.bytes/],
    ['importWeights', 'no files', { files: [] }, /files/],
    ['importWeights', 'a path instead of files', { path: '/home/me/vgg19.h5' }, /importWeights\.(files|path)/],
    ['removeWeights', 'a payload where none is taken', { everything: true }, /payload/],
    ['exportVideo', 'an unknown format', { ...(VALID.exportVideo() as object), format: 'avi' }, /format/],
    ['exportVideo', 'fps 0', { ...(VALID.exportVideo() as object), fps: 0 }, /fps/],
    ['exportVideo', 'a save path', { ...(VALID.exportVideo() as object), path: '/etc/cron.d/x' }, /path/],
    ['exportVideo', 'a run id with a path in it', { ...(VALID.exportVideo() as object), runId: '../x' }, /runId/],
    ['cancelVideoExport', 'nothing', undefined, /cancelVideoExport/],
    ['getFfmpegStatus', 'a payload where none is taken', 'ffmpeg', /payload/],
    ['estimateMemory', 'no settings', { content: null }, /settings/],
    ['estimateMemory', 'a tile size below 64 px', { settings: { ...DEFAULT_STUDIO_SETTINGS, tile: 8 }, content: null }, /settings\.tile/],
    ['estimateMemory', 'a memory limit in bytes', { settings: { ...DEFAULT_STUDIO_SETTINGS, memoryLimitMb: 8e9 }, content: null }, /memoryLimitMb/],
    ['estimateMemory', 'a fractional content width', { settings: DEFAULT_STUDIO_SETTINGS, content: { width: 0.5, height: 2 } }, /content\.width/],
    ['getVideoSettings', 'a payload where none is taken', { x: 1 }, /payload/],
    ['saveVideoSettings', 'an ffmpeg path (the page cannot name one)', { ...DEFAULT_VIDEO_SETTINGS, ffmpegPath: '/bin/sh' }, /ffmpegPath is not a known field/],
    ['chooseFfmpeg', 'a path instead of the dialog', { reset: false, path: '/bin/sh' }, /chooseFfmpeg\.path is not a known field/],
    ['chooseFfmpeg', 'nothing', null, /chooseFfmpeg must be an object/],
    ['saveVideoSettings', 'fps 1000', { ...DEFAULT_VIDEO_SETTINGS, fps: 1000 }, /fps/],
    ['saveVideoSettings', 'an unknown field', { ...DEFAULT_VIDEO_SETTINGS, shell: 'rm -rf' }, /shell/],
  ];

  it.each(cases)('%s with %s', async (method, _what, payload, mentions) => {
    const context = fakeContext();
    const result = await call(method, payload, context);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.code).toBe('BAD_REQUEST');
      expect(result.error.message).toMatch(mentions);
    }
    expect(context.services.calls).toEqual([]);
    expect(context.written.size).toBe(0);
  });
});

describe('image:export', () => {
  const request = { runId: 'run-1-abcd', format: 'png', sizePx: 1024 };

  it('writes the encoded image where the user chose in the save dialog, and says where', async () => {
    const context = fakeContext();
    const result = await call('exportImage', request, context);
    expect(result).toEqual(ok({ kind: 'saved', path: '/home/artist/Pictures/painted.png' }));
    expect(context.written.get('/home/artist/Pictures/painted.png')).toEqual(png);
    expect(context.services.calls).toEqual(['renderExport']);
  });

  it('does nothing when the user cancels the dialog', async () => {
    const context = fakeContext({ chooseSavePath: async () => null });
    expect(await call('exportImage', request, context)).toEqual(ok({ kind: 'canceled' }));
    expect(context.services.calls).toEqual([]);
    expect(context.written.size).toBe(0);
  });

  it("suggests a name with the format's extension and adds it when the user typed none", async () => {
    const suggested: string[] = [];
    const context = fakeContext({
      chooseSavePath: async (target) => {
        suggested.push(target.defaultName);
        return '/tmp/painted';
      },
    });
    const result = await call('exportImage', { ...request, format: 'jpeg' }, context);
    expect(suggested).toEqual(['neural-style-run-1-abcd.jpg']);
    expect(result).toEqual(ok({ kind: 'saved', path: '/tmp/painted.jpg' }));
    expect(withFormatExtension('/a/b.JPEG', 'jpeg')).toBe('/a/b.JPEG');
    expect(withFormatExtension('/a/b.jpg', 'png')).toBe('/a/b.jpg.png');
  });

  it('reports a failed write as an error Result, a full or read-only disk in the words the CLI uses', async () => {
    const failing = (code: string): ReturnType<typeof fakeContext> =>
      fakeContext({
        writeFileAtomic: async () => {
          throw Object.assign(new Error(`${code}: something`), { code, syscall: 'write' });
        },
      });
    expect(await call('exportImage', request, failing('EACCES'))).toEqual({
      ok: false,
      error: { code: 'PERMISSION_DENIED', message: 'Cannot write /home/artist/Pictures/painted.png: permission denied (EACCES). Choose a folder you may write to, or change the permissions.' },
    });
    expect(await call('exportImage', request, failing('ENOSPC'))).toEqual({
      ok: false,
      error: { code: 'DISK_FULL', message: 'Cannot write /home/artist/Pictures/painted.png: the disk it is on is full (ENOSPC). Free some space there or choose a folder on another disk, then try again.' },
    });
    expect(await call('exportImage', request, failing('EROFS'))).toMatchObject({ ok: false, error: { code: 'READ_ONLY' } });
    // Not a file-system error: the export's own code, naming what failed.
    expect(await call('exportImage', request, failing('EWEIRD'))).toEqual({ ok: false, error: { code: 'EXPORT_FAILED', message: 'Could not save painted.png (EWEIRD).' } });
  });

  it('passes on the export service’s own error (e.g. a run with no image yet)', async () => {
    const context = fakeContext();
    context.services.renderExport = async () => ({ ok: false, error: { code: 'NO_IMAGE_YET', message: 'That run has not started yet.' } });
    expect(await call('exportImage', request, context)).toEqual({ ok: false, error: { code: 'NO_IMAGE_YET', message: 'That run has not started yet.' } });
    expect(context.written.size).toBe(0);
  });
});

describe('writeFileAtomic', () => {
  it('replaces the file whole and leaves no temporary file behind', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'nst-atomic-'));
    const target = path.join(dir, 'out image.png');
    await writeFile(target, 'old');
    await writeFileAtomic(target, new Uint8Array([1, 2, 3]));
    expect([...(await readFile(target))]).toEqual([1, 2, 3]);
    expect(await readdir(dir)).toEqual(['out image.png']);
  });

  it('fails without leaving anything when the folder does not exist', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'nst-atomic-'));
    await expect(writeFileAtomic(path.join(dir, 'missing', 'x.png'), new Uint8Array([1]))).rejects.toThrow(/ENOENT/);
    expect(await readdir(dir)).toEqual([]);
  });
});

describe('File ▸ Open reads the picked image into bytes', () => {
  it('reads a picked file, with its name', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'nst-open-'));
    const file = path.join(dir, 'Tübingen photo.png');
    await writeFile(file, png);
    expect(await readPickedImage(file)).toEqual(ok({ name: 'Tübingen photo.png', bytes: png }));
  });

  it('refuses empty, oversized, missing files and folders with a sentence naming the file', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'nst-open-'));
    await writeFile(path.join(dir, 'empty.png'), '');
    await writeFile(path.join(dir, 'big.png'), new Uint8Array(2048));
    const message = async (file: string, max?: number) => {
      const result = await readPickedImage(path.join(dir, file), max);
      return result.ok ? 'read' : result.error.message;
    };
    expect(await message('empty.png')).toBe('empty.png is empty (0 bytes), not an image.');
    expect(await message('big.png', 1024)).toMatch(/^big\.png is larger than/);
    expect(await message('missing.png')).toBe('missing.png could not be read (ENOENT).');
    expect(await message('.')).toMatch(/is not a file/);
    expect(MAX_IMAGE_BYTES).toBeGreaterThan(50 * 1024 * 1024);
  });
});

describe('video:export', () => {
  const request = () => VALID.exportVideo();

  it('saves where the dialog said, adding the format extension the user left off', async () => {
    const targets: unknown[] = [];
    const context = fakeContext({
      chooseSavePath: async (target) => {
        targets.push(target);
        return '/home/artist/Videos/painting';
      },
    });
    let savedTo: string | null = null;
    context.services.exportVideoTo = async (_request, savePath) => {
      savedTo = savePath;
      return ok({ ...VIDEO_INFO, path: savePath });
    };
    const result = await call('exportVideo', request(), context);
    expect(targets).toEqual([{ defaultName: 'neural-style-run-1-abcd.mp4', format: 'mp4' }]);
    expect(savedTo).toBe('/home/artist/Videos/painting.mp4');
    expect(result).toEqual(ok({ kind: 'saved', info: { ...VIDEO_INFO, path: '/home/artist/Videos/painting.mp4' } }));
    expect(withVideoExtension('/v/a.GIF', 'gif')).toBe('/v/a.GIF');
    expect(withVideoExtension('/v/a.mp4', 'webm')).toBe('/v/a.mp4.webm');
  });

  it('a dismissed dialog is a cancel, and nothing is encoded', async () => {
    const context = fakeContext({ chooseSavePath: async () => null });
    expect(await call('exportVideo', request(), context)).toEqual(ok({ kind: 'canceled' }));
    expect(context.services.calls).toEqual([]);
  });

  it('a run without frames is refused before the dialog opens', async () => {
    let asked = false;
    const context = fakeContext({
      chooseSavePath: async () => {
        asked = true;
        return '/x.mp4';
      },
    });
    context.services.hasVideoFrames = async () => false;
    const result = await call('exportVideo', request(), context);
    expect(result).toMatchObject({ ok: false, error: { code: 'NO_FRAMES', message: expect.stringContaining('Record timelapse') } });
    expect(asked).toBe(false);
  });

  it('an export cancelled mid-way answers canceled', async () => {
    const context = fakeContext({ chooseSavePath: async () => '/x.mp4' });
    context.services.exportVideoTo = async () => ({ ok: false, error: { code: 'ABORTED', message: 'The export was cancelled.' } });
    expect(await call('exportVideo', request(), context)).toEqual(ok({ kind: 'canceled' }));
  });
});

describe('the window state', () => {
  it('round-trips through the settings store, in whole pixels', async () => {
    const saved: unknown[] = [];
    const store = windowStateStore({
      windowState: { x: 10, y: 20, width: 1000, height: 700, maximized: true },
      saveWindowState: async (state) => {
        saved.push(state);
        return ok(null);
      },
    });
    expect(await store.loadWindowState()).toEqual({ bounds: { x: 10, y: 20, width: 1000, height: 700 }, maximized: true });
    await store.saveWindowState({ bounds: { x: 1.4, y: 2.6, width: 1200, height: 800 }, maximized: false });
    expect(saved).toEqual([{ x: 1, y: 3, width: 1200, height: 800, maximized: false }]);
  });
});
