// The app menu as a template: File (open content/style, export, quit), Edit, View (zoom; reload and DevTools
// only in development), Window, Help. Commands run in main; the renderer hears about them on `menu:action`.

import type { MenuItemConstructorOptions } from 'electron';

export interface MenuCommands {
  openContent(): void;
  openStyle(): void;
  exportImage(): void;
  about(): void;
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
      { id: 'open-content', label: 'Open Content Image…', accelerator: 'CmdOrCtrl+O', click: () => commands.openContent() },
      { id: 'open-style', label: 'Open Style Images…', accelerator: 'CmdOrCtrl+Shift+O', click: () => commands.openStyle() },
      { type: 'separator' },
      { id: 'export-image', label: 'Export Image…', accelerator: 'CmdOrCtrl+E', click: () => commands.exportImage() },
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
  return isMac ? [appMenu, file, edit, view, windowMenu, help] : [file, edit, view, windowMenu, help];
}
