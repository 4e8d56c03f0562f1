// Child process: runs a built main bundle against the fake electron module, then answers the test's requests
// (fork IPC, structured clone) by playing Electron: invoke a channel, fetch app://, click a menu item, quit.
import { register } from 'node:module';
import { pathToFileURL } from 'node:url';

register(new URL('./hooks.mjs', import.meta.url));
const { state, app, emitReady } = await import('./electron.mjs');

const mainBundle = process.argv[2];
if (!mainBundle) throw new Error('usage: harness.mjs out/main/index.js');
await import(pathToFileURL(mainBundle).href);
emitReady();

const mainWindow = () => state.windows.find((w) => !w.destroyed) ?? state.windows[0];
// Chromium's origin for our standard app: scheme (Node's URL gives non-special schemes the origin "null").
const originOf = (url) => {
  const u = new URL(url);
  return `${u.protocol}//${u.host}`;
};
const strip = (value) => JSON.parse(JSON.stringify(value ?? null));
const event = (extra = {}) => ({ defaultPrevented: false, preventDefault() { this.defaultPrevented = true; }, ...extra });

function findMenuItem(items, id) {
  for (const item of items ?? []) {
    if (item.id === id) return item;
    const inner = findMenuItem(Array.isArray(item.submenu) ? item.submenu : [], id);
    if (inner) return inner;
  }
  return null;
}

const commands = {
  state: () => ({
    log: state.log,
    schemes: state.schemes,
    protocolSchemes: [...state.protocolHandlers.keys()],
    ipcChannels: [...state.ipcHandlers.keys()],
    windows: state.windows.map((w) => ({
      options: strip(w.options),
      loadedUrl: w.loadedUrl,
      shown: w.shown,
      destroyed: w.destroyed,
      webContentsId: w.webContents.id,
      listeners: Object.fromEntries(['will-navigate', 'will-redirect', 'will-attach-webview'].map((n) => [n, w.webContents.listenerCount(n)])),
      hasWindowOpenHandler: typeof w.webContents.windowOpenHandler === 'function',
    })),
    menu: strip(state.menus.at(-1)?.template),
    session: Object.fromEntries(Object.entries(state.session).map(([k, v]) => [k, typeof v === 'function'])),
    progress: state.progress,
    errors: state.errors,
    quitCalls: state.quitCalls,
    quitted: state.quitted,
    saveDialogs: strip(state.dialogs.save),
  }),
  sent: ({ channel }) => state.sent.filter((m) => !channel || m.channel === channel),
  invoke: async ({ channel, payload, frameUrl, foreign }) => {
    const handler = state.ipcHandlers.get(channel);
    if (!handler) throw new Error(`no handler for ${channel}`);
    const sender = foreign ? { id: 424242 } : mainWindow().webContents;
    return handler({ sender, senderFrame: { url: frameUrl, parent: null }, frameId: 1, processId: 1 }, payload);
  },
  fetch: async ({ url, method }) => {
    const response = await state.protocolHandlers.get(new URL(url).protocol.slice(0, -1))(new Request(url, { method: method ?? 'GET' }));
    return { status: response.status, headers: Object.fromEntries(response.headers), body: response.body ? await response.text() : '' };
  },
  headers: ({ url, responseHeaders }) =>
    new Promise((resolve) => state.session.headersReceived({ url, responseHeaders }, (answer) => resolve(answer))),
  permission: ({ permission, url }) =>
    new Promise((resolve) =>
      state.session.permissionRequest(mainWindow().webContents, permission, (granted) => resolve({ requested: granted, checked: state.session.permissionCheck(mainWindow().webContents, permission, originOf(url), {}) }), { requestingUrl: url }),
    ),
  navigate: ({ url }) => {
    const e = event({ url });
    mainWindow().webContents.emit('will-navigate', e);
    return e.defaultPrevented;
  },
  windowOpen: ({ url }) => mainWindow().webContents.windowOpenHandler({ url }),
  attachWebview: () => {
    const e = event();
    mainWindow().webContents.emit('will-attach-webview', e, {}, { src: 'https://example.com' });
    return e.defaultPrevented;
  },
  setDialogs: ({ save, open }) => {
    if (save) state.dialogs.nextSave = save;
    if (open) state.dialogs.nextOpen = open;
    return null;
  },
  menuClick: ({ id }) => {
    const item = findMenuItem(state.menus.at(-1)?.template, id);
    if (!item) throw new Error(`no menu item ${id}`);
    item.click();
    return null;
  },
  quit: async () => {
    app.quit();
    for (let i = 0; i < 600 && !state.quitted; i++) await new Promise((r) => setTimeout(r, 50));
    return { quitted: state.quitted, quitCalls: state.quitCalls };
  },
};

process.on('message', async ({ id, command, args }) => {
  try {
    process.send({ id, ok: true, value: await commands[command](args ?? {}) });
  } catch (error) {
    process.send({ id, ok: false, error: error instanceof Error ? `${error.message}\n${error.stack}` : String(error) });
  }
});
process.send({ id: 0, ok: true, value: 'loaded' });
