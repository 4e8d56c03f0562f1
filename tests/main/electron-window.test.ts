// The studio window, menu and taskbar progress, as the main process configures them (pure functions).

import { describe, expect, it, vi } from 'vitest';
import { buildMenuTemplate, type MenuCommands } from '../../src/main/menu.js';
import { TaskbarProgress } from '../../src/main/taskbar-progress.js';
import { MIN_SIZE, createWindowOptions, visibleBounds } from '../../src/main/window.js';
import type { MenuItemConstructorOptions } from 'electron';
import type { RunEvent } from '../../src/shared/api.js';
import { SHORTCUTS, accelerator, shortcutOf } from '../../src/shared/shortcuts.js';

vi.mock('electron', () => {
  throw new Error('a module under test loaded electron at run time (only src/main/index.ts and the preload may)');
});

describe('createWindowOptions', () => {
  const options = createWindowOptions('/app/out/preload/index.cjs');
  const prefs = options.webPreferences!;

  it('isolates and sandboxes the page, with no Node anywhere in it', () => {
    expect(prefs.contextIsolation).toBe(true);
    expect(prefs.sandbox).toBe(true);
    expect(prefs.nodeIntegration).toBe(false);
    expect(prefs.nodeIntegrationInWorker).toBe(false);
    expect(prefs.nodeIntegrationInSubFrames).toBe(false);
  });

  it('keeps web security on and the risky features off', () => {
    expect(prefs.webSecurity).toBe(true);
    expect(prefs.allowRunningInsecureContent).toBe(false);
    expect(prefs.webviewTag).toBe(false);
    expect(prefs.experimentalFeatures).toBe(false);
    expect(prefs.navigateOnDragDrop).toBe(false);
  });

  it('uses the given preload and keeps DevTools off unless asked (development)', () => {
    expect(prefs.preload).toBe('/app/out/preload/index.cjs');
    expect(prefs.devTools).toBe(false);
    expect(createWindowOptions('/p.cjs', { devTools: true }).webPreferences!.devTools).toBe(true);
  });

  it('starts hidden (shown on ready-to-show) and centred when there are no saved bounds', () => {
    expect(options.show).toBe(false);
    expect(options.center).toBe(true);
    expect(options.x).toBeUndefined();
    expect(options.minWidth).toBe(MIN_SIZE.width);
  });

  it('reopens where it was', () => {
    const restored = createWindowOptions('/p.cjs', { bounds: { x: 40, y: 30, width: 1400, height: 900 } });
    expect([restored.x, restored.y, restored.width, restored.height]).toEqual([40, 30, 1400, 900]);
    expect(restored.center).toBeUndefined();
  });
});

describe('visibleBounds', () => {
  const screen = { x: 0, y: 0, width: 1920, height: 1040 };

  it('keeps saved bounds that are on a display', () => {
    expect(visibleBounds({ x: 100, y: 80, width: 1200, height: 800 }, [screen])).toEqual({ x: 100, y: 80, width: 1200, height: 800 });
  });

  it('forgets bounds on a monitor that is gone (the window would open off screen)', () => {
    expect(visibleBounds({ x: 2500, y: 100, width: 1200, height: 800 }, [screen])).toBeNull();
    expect(visibleBounds({ x: 1890, y: 100, width: 1200, height: 800 }, [screen])).toBeNull();
  });

  it('shrinks bounds larger than the display, but not below the minimum size', () => {
    expect(visibleBounds({ x: 0, y: 0, width: 5000, height: 3000 }, [screen])).toEqual({ x: 0, y: 0, width: 1920, height: 1040 });
    expect(visibleBounds({ x: 0, y: 0, width: 300, height: 200 }, [screen])).toMatchObject(MIN_SIZE);
  });

  it('rejects nothing saved, and nonsense', () => {
    expect(visibleBounds(null, [screen])).toBeNull();
    expect(visibleBounds({ x: Number.NaN, y: 0, width: 800, height: 600 }, [screen])).toBeNull();
    expect(visibleBounds({ x: 0, y: 0, width: -5, height: 600 }, [screen])).toBeNull();
  });
});

describe('buildMenuTemplate', () => {
  const commands = (): MenuCommands & { calls: string[] } => {
    const calls: string[] = [];
    return {
      calls,
      openContent: () => calls.push('openContent'),
      openStyle: () => calls.push('openStyle'),
      exportImage: () => calls.push('exportImage'),
      exportVideo: () => calls.push('exportVideo'),
      start: () => calls.push('start'),
      pause: () => calls.push('pause'),
      stop: () => calls.push('stop'),
      about: () => calls.push('about'),
    };
  };
  const items = (menu: MenuItemConstructorOptions): MenuItemConstructorOptions[] => (menu.submenu as MenuItemConstructorOptions[] | undefined) ?? [];
  const roles = (menu: MenuItemConstructorOptions): string[] => items(menu).flatMap((i) => (i.role ? [i.role] : []));
  const find = (template: MenuItemConstructorOptions[], id: string): MenuItemConstructorOptions | undefined =>
    template.flatMap(items).find((i) => i.id === id);

  it('has File, Edit, View, Run, Window and Help on Windows and Linux, with Quit under File', () => {
    const template = buildMenuTemplate(commands(), { platform: 'win32', isDev: false, appName: 'Neural Style Studio' });
    expect(template.map((m) => m.label ?? m.role)).toEqual(['&File', '&Edit', '&View', '&Run', 'windowMenu', 'help']);
    expect(items(template[0]!).map((i) => i.label ?? i.role ?? i.type)).toEqual([
      'Open Content Image…',
      'Open Style Images…',
      'separator',
      'Export Image…',
      'Export Video…',
      'separator',
      'quit',
    ]);
    expect(items(template[3]!).map((i) => i.label)).toEqual(['Start', 'Pause or Resume', 'Stop']);
    expect(roles(template[1]!)).toEqual(['undo', 'redo', 'cut', 'copy', 'paste', 'selectAll']);
  });

  it('puts About and Quit in the app menu on macOS', () => {
    const template = buildMenuTemplate(commands(), { platform: 'darwin', isDev: false, appName: 'Neural Style Studio' });
    expect(template[0]!.label).toBe('Neural Style Studio');
    expect(roles(template[0]!)).toContain('quit');
    expect(items(template[1]!).some((i) => i.role === 'quit')).toBe(false);
  });

  it('offers reload and DevTools only in development; zoom always', () => {
    const release = buildMenuTemplate(commands(), { platform: 'linux', isDev: false, appName: 'S' });
    const dev = buildMenuTemplate(commands(), { platform: 'linux', isDev: true, appName: 'S' });
    expect(roles(release[2]!)).toEqual(['resetZoom', 'zoomIn', 'zoomOut', 'togglefullscreen']);
    expect(roles(dev[2]!)).toEqual(['reload', 'forceReload', 'toggleDevTools', 'resetZoom', 'zoomIn', 'zoomOut', 'togglefullscreen']);
  });

  it('runs the commands, with the usual accelerators', () => {
    const c = commands();
    const template = buildMenuTemplate(c, { platform: 'linux', isDev: false, appName: 'S' });
    for (const id of ['open-content', 'open-style', 'export-image', 'export-video', 'start', 'pause', 'stop', 'about']) {
      const item = find(template, id)!;
      (item.click as () => void)();
    }
    expect(c.calls).toEqual(['openContent', 'openStyle', 'exportImage', 'exportVideo', 'start', 'pause', 'stop', 'about']);
    expect(find(template, 'open-content')!.accelerator).toBe('CmdOrCtrl+O');
    expect(find(template, 'export-image')!.accelerator).toBe('CmdOrCtrl+E');
    expect(find(template, 'start')!.accelerator).toBe('CmdOrCtrl+Enter');
  });

  it("shows exactly the page's shortcuts as accelerators, each naming the key the page acts on", () => {
    const template = buildMenuTemplate(commands(), { platform: 'linux', isDev: false, appName: 'S' });
    const withKeys = template.flatMap(items).filter((i) => i.accelerator !== undefined);
    // Every accelerator is one of the page's shortcuts (no menu-only keys), and every shortcut is in the menu.
    expect(withKeys.map((i) => i.id).sort()).toEqual(SHORTCUTS.map((s) => s.id).sort());
    for (const item of withKeys) {
      const s = SHORTCUTS.find((x) => x.id === item.id)!;
      expect(item.accelerator, item.id).toBe(accelerator(s));
      expect(item.label, item.id).toBe(s.label);
      // The key press the accelerator stands for is the one the page's handler reads as this shortcut.
      const parts = String(item.accelerator).split('+');
      const key = parts.at(-1)!;
      const press = { key: key === 'Enter' ? 'Enter' : parts.includes('Shift') ? key.toUpperCase() : key.toLowerCase(), ctrlKey: true, metaKey: false, shiftKey: parts.includes('Shift'), altKey: false };
      expect(shortcutOf(press), item.id).toBe(item.id);
      expect(shortcutOf({ ...press, ctrlKey: false, metaKey: true }), `${item.id} with Cmd`).toBe(item.id);
      expect(shortcutOf({ ...press, ctrlKey: false }), `${item.id} without Ctrl`).toBeNull();
    }
  });
});

describe('TaskbarProgress', () => {
  const loss = { iteration: 1, total: 1, style: {}, content: {}, tv: 0 };
  // A progress event carries the run's total in `iterations` and the iteration just done in `loss.iteration`.
  const progress = (runId: string, iteration: number, total = 200): RunEvent => ({
    runId,
    type: 'progress',
    loss: { ...loss, iteration },
    iterations: total,
    msPerIteration: 10,
    preview: null,
  });

  it('shows the fraction of planned iterations done, paused while paused, and clears at the end', () => {
    const bar = new TaskbarProgress();
    bar.plan('run-1-a', 200);
    expect(bar.update({ runId: 'run-1-a', type: 'queued', position: 0 })).toBeNull();
    expect(bar.update({ runId: 'run-1-a', type: 'started', width: 8, height: 8, device: 'cpu', fallbackReason: null })).toEqual({ value: 0, mode: 'indeterminate' });
    expect(bar.update(progress('run-1-a', 50))).toEqual({ value: 0.25, mode: 'normal' });
    expect(bar.update({ runId: 'run-1-a', type: 'paused', iteration: 50 })).toEqual({ value: 0.25, mode: 'paused' });
    expect(bar.update({ runId: 'run-1-a', type: 'resumed', iteration: 50 })).toEqual({ value: 0.25, mode: 'normal' });
    expect(bar.update(progress('run-1-a', 200))).toEqual({ value: 1, mode: 'normal' });
    const final = { width: 8, height: 8, jpeg: new Uint8Array() };
    expect(bar.update({ runId: 'run-1-a', type: 'done', iterations: 200, stopped: false, stop: { kind: 'cap', iteration: 200, message: 'reached the cap of 200 iterations' }, final, loss })).toEqual({ value: -1, mode: 'none' });
  });

  it('measures against the render plan once it arrives (multi-scale and tiled runs take more iterations)', () => {
    const bar = new TaskbarProgress();
    bar.plan('run-3-c', 100);
    const plan = { runId: 'run-3-c', type: 'plan', plan: { mode: 'whole', sizePx: 64, scales: [32, 64], tiles: 0 }, iterations: 400, steerable: true, reason: null } as unknown as RunEvent;
    expect(bar.update(plan)).toBeNull();
    expect(bar.update(progress('run-3-c', 100, 100))).toEqual({ value: 0.25, mode: 'normal' });
  });

  it('is indeterminate for a run it has no plan for, and clears on an error', () => {
    const bar = new TaskbarProgress();
    expect(bar.update(progress('run-2-b', 5))).toEqual({ value: 0, mode: 'indeterminate' });
    expect(bar.update({ runId: 'run-2-b', type: 'error', error: { code: 'X', message: 'x' } })).toEqual({ value: -1, mode: 'none' });
  });
});
