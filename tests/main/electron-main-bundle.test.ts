// The built main process (out/main/index.js) run for real in Node, with a fake `electron` module playing
// Electron's part (tests/helpers/fake-electron): what it sets up before and after `ready`, the window it opens,
// the app:// protocol, session hardening, the IPC table — and a real style-transfer run through IPC, the job
// worker (out/main/job-worker.js), run events to the window, taskbar progress, export via the save dialog, the
// menu, and quitting with the window state saved. Only Chromium itself is missing.

import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { APP_INDEX_URL } from '../../src/main/app-protocol.js';
import { RENDERER_CSP_HEADER } from '../../src/main/csp.js';
import { API, REQUEST_METHODS, type MenuAction, type Result, type RunEvent, type StartRunRequest } from '../../src/shared/api.js';
import { DEFAULT_STUDIO_SETTINGS, applyPreset } from '../../src/shared/studio-settings.js';
import { OUT_DIR, ROOT, ensureElectronBuild } from '../helpers/electron-build.js';
import { hasShared, sharedPath } from '../helpers/shared-data.js';

vi.mock('electron', () => {
  throw new Error('a module under test loaded electron at run time (only src/main/index.ts and the preload may)');
});

const WEIGHTS = sharedPath('data', 'vgg19-imagenet-uint8');
const haveWeights = hasShared('data', 'vgg19-imagenet-uint8');

interface WindowState {
  options: { show: boolean; webPreferences: Record<string, unknown> };
  loadedUrl: string | null;
  shown: boolean;
  destroyed: boolean;
  webContentsId: number;
  listeners: Record<string, number>;
  hasWindowOpenHandler: boolean;
}
interface FakeState {
  log: string[];
  schemes: { scheme: string; privileges: Record<string, unknown> }[];
  protocolSchemes: string[];
  ipcChannels: string[];
  windows: WindowState[];
  menu: { label?: string; role?: string; submenu?: { id?: string; role?: string; label?: string }[] }[];
  session: Record<string, boolean>;
  progress: [number, string][];
  errors: string[];
  quitCalls: number;
  quitted: boolean;
  saveDialogs: { defaultPath: string }[];
}

/** The harness child: one request at a time, answered by id. */
class Harness {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  readonly loaded: Promise<unknown>;
  output = '';

  constructor(readonly child: ChildProcess) {
    this.loaded = new Promise((resolve, reject) => this.pending.set(0, { resolve, reject }));
    child.stdout?.on('data', (d: Buffer) => (this.output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (this.output += d.toString()));
    child.on('message', (message: { id: number; ok: boolean; value?: unknown; error?: string }) => {
      const waiter = this.pending.get(message.id);
      this.pending.delete(message.id);
      if (message.ok) waiter?.resolve(message.value);
      else waiter?.reject(new Error(message.error));
    });
    child.on('exit', (code) => {
      for (const waiter of this.pending.values()) waiter.reject(new Error(`the main process exited (${code}):\n${this.output}`));
      this.pending.clear();
    });
  }

  request<T>(command: string, args: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.send({ id, command, args });
    });
  }

  state = (): Promise<FakeState> => this.request<FakeState>('state');
  invoke = <T>(channel: string, payload?: unknown, frameUrl = APP_INDEX_URL, foreign = false): Promise<Result<T>> =>
    this.request<Result<T>>('invoke', { channel, payload, frameUrl, foreign });
  sent = <T>(channel: string): Promise<{ channel: string; payload: T }[]> => this.request('sent', { channel });
}

describe('the built main process, with Electron faked', () => {
  let harness: Harness;
  let userData: string;
  let work: string;

  beforeAll(async () => {
    ensureElectronBuild();
    userData = mkdtempSync(path.join(tmpdir(), 'nst-main-userdata-'));
    work = mkdtempSync(path.join(tmpdir(), 'nst-main-work-'));
    const child = fork(path.join(ROOT, 'tests/helpers/fake-electron/harness.mjs'), [path.join(OUT_DIR, 'main', 'index.js')], {
      cwd: ROOT,
      serialization: 'advanced',
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: {
        ...process.env,
        FAKE_ELECTRON_PACKAGED: '1',
        FAKE_ELECTRON_USER_DATA: userData,
        FAKE_ELECTRON_PICTURES: work,
        NST_WEIGHTS: haveWeights ? WEIGHTS : path.join(work, 'no-weights-here'),
      },
    });
    harness = new Harness(child);
    await harness.loaded;
    // The window is shown once the page is ready (the fake emits ready-to-show right after loadURL).
    for (let i = 0; i < 300 && !(await harness.state()).windows[0]?.shown; i++) await new Promise((r) => setTimeout(r, 100));
  }, 120_000);

  afterAll(() => {
    harness?.child.kill();
    rmSync(userData, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  it('sandboxes every renderer and registers app:// before ready; serves it after', async () => {
    const state = await harness.state();
    const ready = state.log.indexOf('ready');
    expect(state.log.indexOf('app.enableSandbox')).toBeGreaterThanOrEqual(0);
    expect(state.log.indexOf('app.enableSandbox')).toBeLessThan(ready);
    expect(state.log.indexOf('protocol.registerSchemesAsPrivileged')).toBeLessThan(ready);
    expect(state.log.indexOf('app.requestSingleInstanceLock')).toBeLessThan(ready);
    expect(state.schemes).toEqual([{ scheme: 'app', privileges: expect.objectContaining({ standard: true, secure: true }) }]);
    expect(state.protocolSchemes).toEqual(['app']);
    // Packaged: NST_USER_DATA_DIR is not honoured.
    expect(state.log.some((l) => l.startsWith('app.setPath'))).toBe(false);
  });

  it('opens one hardened window on app://studio/index.html with the built preload, shown when ready', async () => {
    const [window, ...others] = (await harness.state()).windows;
    expect(others).toEqual([]);
    expect(window!.loadedUrl).toBe(APP_INDEX_URL);
    expect(window!.options.show).toBe(false);
    expect(window!.shown).toBe(true);
    expect(window!.options.webPreferences).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      webviewTag: false,
      devTools: false,
      preload: path.join(OUT_DIR, 'preload', 'index.cjs'),
    });
    expect(window!.listeners).toEqual({ 'will-navigate': 1, 'will-redirect': 1, 'will-attach-webview': 1 });
    expect(window!.hasWindowOpenHandler).toBe(true);
  });

  it('refuses navigation, popups and <webview> in that window', async () => {
    expect(await harness.request('navigate', { url: 'https://example.com/' })).toBe(true);
    expect(await harness.request('navigate', { url: 'file:///etc/passwd' })).toBe(true);
    expect(await harness.request('windowOpen', { url: 'https://example.com/' })).toEqual({ action: 'deny' });
    expect(await harness.request('attachWebview')).toBe(true);
  });

  it('serves the built renderer on app:// with the CSP header, and nothing outside it', async () => {
    const page = await harness.request<{ status: number; headers: Record<string, string>; body: string }>('fetch', { url: APP_INDEX_URL });
    expect(page.status).toBe(200);
    expect(page.headers['content-security-policy']).toBe(RENDERER_CSP_HEADER);
    expect(page.body).toBe(readFileSync(path.join(OUT_DIR, 'renderer', 'index.html'), 'utf8'));
    const escape = await harness.request<{ status: number }>('fetch', { url: 'app://studio/..%5cmain%5cindex.js' });
    expect(escape.status).toBe(403);
  });

  it('puts the CSP on every response and denies permissions other than the clipboard to our page', async () => {
    const answer = await harness.request<{ responseHeaders: Record<string, string[]> }>('headers', {
      url: 'https://example.com/',
      responseHeaders: { 'content-security-policy': ['default-src *'], 'x-other': ['1'] },
    });
    expect(answer.responseHeaders).toEqual({ 'Content-Security-Policy': [RENDERER_CSP_HEADER], 'x-other': ['1'] });
    expect(await harness.request('permission', { permission: 'media', url: APP_INDEX_URL })).toEqual({ requested: false, checked: false });
    expect(await harness.request('permission', { permission: 'clipboard-read', url: APP_INDEX_URL })).toEqual({ requested: true, checked: true });
    expect(await harness.request('permission', { permission: 'clipboard-read', url: 'https://evil.example/' })).toEqual({ requested: false, checked: false });
  });

  it('registers exactly the request channels, answers our page and refuses anyone else', async () => {
    const state = await harness.state();
    expect([...state.ipcChannels].sort()).toEqual(REQUEST_METHODS.map((method) => API[method].channel).sort());
    const settings = await harness.invoke(API.getSettings.channel);
    expect(settings).toEqual({ ok: true, value: DEFAULT_STUDIO_SETTINGS });
    const foreignFrame = await harness.invoke(API.getSettings.channel, undefined, 'https://evil.example/');
    expect(foreignFrame.ok).toBe(false);
    const foreignWindow = await harness.invoke(API.getSettings.channel, undefined, APP_INDEX_URL, true);
    expect(foreignWindow.ok).toBe(false);
    const malformed = await harness.invoke(API.startRun.channel, { content: '/etc/passwd' });
    expect(malformed).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    const info = await harness.invoke<{ version: string; weights: { source: string | null } }>(API.getAppInfo.channel);
    expect(info.ok && info.value.version).toBe('0.1.0-test');
  });

  it('builds the app menu; its commands reach the page as menu:action, opened files as bytes', async () => {
    const state = await harness.state();
    expect(state.menu.map((m) => m.label ?? m.role)).toEqual(
      process.platform === 'darwin' ? ['Neural Style Studio', '&File', '&Edit', '&View', '&Run', 'windowMenu', 'help'] : ['&File', '&Edit', '&View', '&Run', 'windowMenu', 'help'],
    );
    const view = state.menu.find((m) => m.label === '&View')!;
    expect(view.submenu!.map((i) => i.role)).not.toContain('toggleDevTools');

    await harness.request('menuClick', { id: 'export-image' });
    const image = path.join(work, 'picked photo.png');
    await sharp({ create: { width: 8, height: 8, channels: 3, background: '#336699' } }).png().toFile(image);
    await harness.request('setDialogs', { open: { canceled: false, filePaths: [image] } });
    await harness.request('menuClick', { id: 'open-content' });
    await expect.poll(async () => (await harness.sent<MenuAction>(API.menuAction.channel)).length).toBe(2);
    const [exportAction, openAction] = (await harness.sent<MenuAction>(API.menuAction.channel)).map((m) => m.payload);
    expect(exportAction).toEqual({ type: 'export-image' });
    expect(openAction!.type).toBe('open-content');
    if (openAction!.type === 'open-content') {
      expect(openAction!.image.name).toBe('picked photo.png');
      expect(Buffer.from(openAction!.image.bytes).equals(readFileSync(image))).toBe(true);
    }
  });

  it.skipIf(!haveWeights)(
    'runs a real style transfer through IPC and the job worker: events to the window, taskbar progress, export',
    { timeout: 240_000 },
    async () => {
      const pixels = (width: number, height: number, f: (x: number, y: number) => number[]) => {
        const data = Buffer.alloc(width * height * 3);
        for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set(f(x, y), (y * width + x) * 3);
        return sharp(data, { raw: { width, height, channels: 3 } }).png().toBuffer();
      };
      const content = await pixels(40, 32, (x, y) => [x * 6, y * 7, 128]);
      const style = await pixels(32, 32, (x, y) => ((x >> 2) + (y >> 2)) % 2 ? [250, 200, 30] : [20, 40, 160]);
      const request: StartRunRequest = {
        content: { name: 'content.png', bytes: new Uint8Array(content) },
        styles: [{ image: { name: 'style.png', bytes: new Uint8Array(style) }, blend: 1 }],
        settings: { ...applyPreset(DEFAULT_STUDIO_SETTINGS, 'gatys'), sizePx: 40, iterations: 4, optimizer: 'adam', device: 'cpu' },
      };
      const started = await harness.invoke<{ runId: string }>(API.startRun.channel, request);
      expect(started.ok, JSON.stringify(started)).toBe(true);
      const runId = started.ok ? started.value.runId : '';

      const runEvents = async (): Promise<RunEvent[]> => (await harness.sent<RunEvent>(API.runEvent.channel)).map((m) => m.payload).filter((e) => e.runId === runId);
      await expect
        .poll(async () => (await runEvents()).find((e) => e.type === 'done' || e.type === 'error')?.type, { timeout: 200_000, interval: 500 })
        .toBe('done');
      const events = await runEvents();
      expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['queued', 'started', 'progress', 'done']));
      const done = events.find((e) => e.type === 'done')!;
      expect(done.type === 'done' && done.iterations).toBe(4);

      const progress = (await harness.state()).progress;
      expect(progress[0]).toEqual([0, 'indeterminate']);
      expect(progress.some(([value, mode]) => mode === 'normal' && value > 0 && value <= 1)).toBe(true);
      expect(progress.at(-1)).toEqual([-1, 'none']);

      // Export: the save dialog (answered here) names the file; the handler writes it temp-then-rename.
      const target = path.join(work, 'painted');
      await harness.request('setDialogs', { save: { canceled: false, filePath: target } });
      const exported = await harness.invoke(API.exportImage.channel, { runId, format: 'png', sizePx: null });
      expect(exported).toEqual({ ok: true, value: { kind: 'saved', path: `${target}.png` } });
      const meta = await sharp(readFileSync(`${target}.png`)).metadata();
      expect([meta.format, meta.width, meta.height]).toEqual(['png', 40, 32]);
      const dialog = (await harness.state()).saveDialogs.at(-1)!;
      expect(dialog.defaultPath).toBe(path.join(work, `neural-style-${runId}.png`));
    },
  );

  it('quits cleanly: the first quit waits for the shutdown (window state written), then the app quits', async () => {
    const result = await harness.request<{ quitted: boolean; quitCalls: number }>('quit');
    expect(result.quitted).toBe(true);
    // The first quit is held back (before-quit) until the worker stopped and the settings were written.
    expect(result.quitCalls).toBeGreaterThanOrEqual(2);
    const saved = JSON.parse(readFileSync(path.join(userData, 'studio-settings.json'), 'utf8')) as { window: unknown };
    expect(saved.window).toEqual({ x: 12, y: 34, width: 1111, height: 777, maximized: false });
    expect((await harness.state()).errors).toEqual([]);
  });
});
