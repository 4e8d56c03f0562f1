// A stand-in for the `electron` module, enough to run the built main process (out/main/index.js) in plain Node:
// it records what the app asks of Electron and lets the test harness play Electron's part (ready, IPC, clicks).
// It enforces the rules the real one does where a mistake would otherwise pass unnoticed (scheme registration
// only before ready, protocol.handle only after, one handler per IPC channel).
import { EventEmitter } from 'node:events';
import os from 'node:os';

export const state = {
  log: [],
  schemes: [],
  protocolHandlers: new Map(),
  ipcHandlers: new Map(),
  windows: [],
  menus: [],
  sent: [],
  progress: [],
  errors: [],
  session: { headersReceived: null, permissionRequest: null, permissionCheck: null, devicePermission: null },
  dialogs: { save: [], open: [], nextSave: { canceled: true }, nextOpen: { canceled: true, filePaths: [] } },
  quitCalls: 0,
  quitted: false,
  aboutShown: 0,
};

let resolveReady;
const ready = new Promise((resolve) => (resolveReady = resolve));
const paths = new Map([
  ['userData', process.env.FAKE_ELECTRON_USER_DATA ?? os.tmpdir()],
  ['pictures', process.env.FAKE_ELECTRON_PICTURES ?? os.tmpdir()],
  ['home', os.homedir()],
]);

class App extends EventEmitter {
  isPackaged = process.env.FAKE_ELECTRON_PACKAGED === '1';
  ready = false;
  closing = false;
  whenReady() {
    return ready;
  }
  isReady() {
    return this.ready;
  }
  enableSandbox() {
    if (this.ready) throw new Error('app.enableSandbox() must be called before the app is ready');
    state.log.push('app.enableSandbox');
  }
  requestSingleInstanceLock() {
    state.log.push('app.requestSingleInstanceLock');
    return true;
  }
  getPath(name) {
    if (!paths.has(name)) throw new Error(`fake electron: no path ${name}`);
    return paths.get(name);
  }
  setPath(name, value) {
    state.log.push(`app.setPath(${name})`);
    paths.set(name, value);
  }
  getVersion() {
    return '0.1.0-test';
  }
  setAboutPanelOptions() {}
  showAboutPanel() {
    state.aboutShown++;
  }
  setAppUserModelId() {}
  quit() {
    state.quitCalls++;
    // Like Electron: a quit() while the app is already closing its windows changes nothing.
    if (this.closing) return;
    const event = { defaultPrevented: false, preventDefault() { this.defaultPrevented = true; } };
    this.emit('before-quit', event);
    if (event.defaultPrevented) return;
    this.closing = true;
    for (const window of BrowserWindow.getAllWindows()) window.close();
    this.emit('will-quit', { preventDefault() {} });
    state.quitted = true;
  }
  exit(code) {
    state.exitCode = code;
  }
}
export const app = new App();

/** Electron emits ready after the entry module (and its static imports) ran. */
export function emitReady() {
  app.ready = true;
  state.log.push('ready');
  app.emit('ready');
  resolveReady();
}

export const protocol = {
  registerSchemesAsPrivileged(schemes) {
    if (app.ready) throw new Error('protocol.registerSchemesAsPrivileged should be called before app is ready');
    state.log.push('protocol.registerSchemesAsPrivileged');
    state.schemes.push(...schemes);
  },
  handle(scheme, handler) {
    if (!app.ready) throw new Error('protocol.handle before ready');
    state.protocolHandlers.set(scheme, handler);
  },
};

export const session = {
  defaultSession: {
    webRequest: {
      onHeadersReceived(listener) {
        state.session.headersReceived = listener;
      },
    },
    setPermissionRequestHandler(handler) {
      state.session.permissionRequest = handler;
    },
    setPermissionCheckHandler(handler) {
      state.session.permissionCheck = handler;
    },
    setDevicePermissionHandler(handler) {
      state.session.devicePermission = handler;
    },
  },
};

export const ipcMain = {
  handle(channel, listener) {
    if (state.ipcHandlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`);
    state.ipcHandlers.set(channel, listener);
  },
  removeHandler(channel) {
    state.ipcHandlers.delete(channel);
  },
};

let nextId = 1;
class WebContents extends EventEmitter {
  id = nextId++;
  windowOpenHandler = null;
  send(channel, payload) {
    state.sent.push({ channel, payload });
  }
  setWindowOpenHandler(handler) {
    this.windowOpenHandler = handler;
  }
  isDestroyed() {
    return false;
  }
}

export class BrowserWindow extends EventEmitter {
  static getAllWindows() {
    return state.windows.filter((w) => !w.destroyed);
  }
  constructor(options) {
    super();
    if (!app.ready) throw new Error('Cannot create BrowserWindow before app is ready');
    this.options = options;
    this.webContents = new WebContents();
    this.destroyed = false;
    this.shown = false;
    this.loadedUrl = null;
    state.windows.push(this);
    app.emit('web-contents-created', {}, this.webContents);
  }
  loadURL(url) {
    this.loadedUrl = url;
    setImmediate(() => this.emit('ready-to-show'));
    return Promise.resolve();
  }
  show() {
    this.shown = true;
  }
  maximize() {}
  isMaximized() {
    return false;
  }
  isMinimized() {
    return false;
  }
  restore() {}
  focus() {}
  isDestroyed() {
    return this.destroyed;
  }
  getNormalBounds() {
    return { x: 12, y: 34, width: 1111, height: 777 };
  }
  setProgressBar(value, options) {
    state.progress.push([value, options?.mode ?? 'normal']);
  }
  close() {
    if (this.destroyed) return;
    this.emit('close', { preventDefault() {} });
    this.destroyed = true;
    this.emit('closed');
    if (BrowserWindow.getAllWindows().length === 0) app.emit('window-all-closed');
  }
}

export const Menu = {
  buildFromTemplate(template) {
    return { template };
  },
  setApplicationMenu(menu) {
    state.menus.push(menu);
  },
};

export const dialog = {
  async showSaveDialog(...args) {
    state.dialogs.save.push(args.at(-1));
    return state.dialogs.nextSave;
  },
  async showOpenDialog(...args) {
    state.dialogs.open.push(args.at(-1));
    return state.dialogs.nextOpen;
  },
  showErrorBox(title, content) {
    state.errors.push(`${title}: ${content}`);
  },
};

export const screen = {
  getAllDisplays() {
    return [{ workArea: { x: 0, y: 0, width: 1920, height: 1040 } }];
  },
};

export default { app, protocol, session, ipcMain, BrowserWindow, Menu, dialog, screen };
