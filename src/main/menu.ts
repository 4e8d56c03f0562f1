// The app menu as a template: File (open content/style, export image/video, quit), Edit, View (zoom; reload and
// DevTools only in development), Run (start, pause or resume, stop), Window, Help. Commands run in main; the renderer
// hears about them on `menu:action`. The keys are the page's shortcuts (src/shared/shortcuts.ts), one table for both.

import type { MenuItemConstructorOptions } from 'electron';
import { accelerator, shortcut, type ShortcutId } from '../shared/shortcuts.js';

export interface MenuCommands {
  openContent(): void;
  openStyle(): void;
  exportImage(): void;
  exportVideo(): void;
  start(): void;
  /** Pauses a running run, resumes a paused one, keeps a converged one going: the page's Pause button. */
  pause(): void;
  stop(): void;
  about(): void;
}

/** A menu item for one of the page's shortcuts: its words and keys from the shared table. */
function item(id: ShortcutId, click: () => void): MenuItemConstructorOptions {
  const s = shortcut(id);
  return { id, label: s.label, accelerator: accelerator(s), click };
}

export interface MenuOptions {
  platform: NodeJS.Platform;
  isDev: boolean;
  appName: string;
}

export function buildMenuTemplate(commands: MenuCommands, options: MenuOptions): MenuItemConstructorOptions[] {
  const isMac = options.platform === 'darwin';
  const file: MenuItemConstructorOptions = {
    label: '&File',
    submenu: [
      item('open-content', () => commands.openContent()),
      item('open-style', () => commands.openStyle()),
      { type: 'separator' },
      item('export-image', () => commands.exportImage()),
      item('export-video', () => commands.exportVideo()),
      ...(isMac ? [] : ([{ type: 'separator' }, { role: 'quit' }] as MenuItemConstructorOptions[])),
    ],
  };
  const edit: MenuItemConstructorOptions = {
    label: '&Edit',
    submenu: [
      { role: 'undo' },
      { role: 'redo' },
      { type: 'separator' },
      { role: 'cut' },
      { role: 'copy' },
      { role: 'paste' },
      { role: 'selectAll' },
    ],
  };
  const view: MenuItemConstructorOptions = {
    label: '&View',
    submenu: [
      ...(options.isDev
        ? ([{ role: 'reload' }, { role: 'forceReload' }, { role: 'toggleDevTools' }, { type: 'separator' }] as MenuItemConstructorOptions[])
        : []),
      { role: 'resetZoom' },
      { role: 'zoomIn' },
      { role: 'zoomOut' },
      { type: 'separator' },
      { role: 'togglefullscreen' },
    ],
  };
  const run: MenuItemConstructorOptions = {
    label: '&Run',
    submenu: [item('start', () => commands.start()), item('pause', () => commands.pause()), item('stop', () => commands.stop())],
  };
  const windowMenu: MenuItemConstructorOptions = { role: 'windowMenu' };
  const help: MenuItemConstructorOptions = {
    role: 'help',
    submenu: [{ id: 'about', label: `About ${options.appName}`, click: () => commands.about() }],
  };
  const appMenu: MenuItemConstructorOptions = {
    label: options.appName,
    submenu: [
      { id: 'about', label: `About ${options.appName}`, click: () => commands.about() },
      { type: 'separator' },
      { role: 'services' },
      { type: 'separator' },
      { role: 'hide' },
      { role: 'hideOthers' },
      { role: 'unhide' },
      { type: 'separator' },
      { role: 'quit' },
    ],
  };
  return isMac ? [appMenu, file, edit, view, run, windowMenu, help] : [file, edit, view, run, windowMenu, help];
}
