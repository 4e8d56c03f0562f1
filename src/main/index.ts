// The Electron main process: one hardened window serving the built renderer from app://, the IPC table over
// the services (run queue in a worker thread, settings, export, weights), the app menu and taskbar progress.

import { pathToFileURL } from 'node:url';
import path from 'node:path';
import { BrowserWindow, Menu, app, dialog, ipcMain, protocol, screen, session } from 'electron';
import { API, type MenuAction, type RunEvent } from '../shared/api.js';
import { apiHandlers } from '../shared/dispatch.js';
import { APP_INDEX_URL, APP_SCHEME, APP_SCHEME_PRIVILEGES, createAppRequestHandler } from './app-protocol.js';
import { writeFileAtomic } from '../engine/index.js';
import { forwardEvents, registerIpcHandlers } from './ipc/index.js';
import { saveDialogCalls, type SaveDialogs } from './ipc/save-dialogs.js';
import { buildMenuTemplate } from './menu.js';
import { IMAGE_EXTENSIONS, readPickedImage } from './open-images.js';
import { appPaths } from './paths.js';
import { hardenSession, hardenWebContents, trustPolicy } from './security.js';
import { createStudioServices, type MainServices } from './studio-services.js';
import { TaskbarProgress } from './taskbar-progress.js';
import { APP_ID, WINDOW_TITLE, createWindowOptions, visibleBounds } from './window.js';
import { EXAMPLES_CREDIT, WEIGHTS_CREDIT } from '../shared/credits.js';

// These must happen before `ready` (synchronously, at the top of the entry module): every renderer sandboxed,
// whatever its options say; app:// a standard, secure origin (see app-protocol.ts).
app.enableSandbox();
protocol.registerSchemesAsPrivileged([APP_SCHEME_PRIVILEGES]);

// Tests (and developers) run the unpackaged build against a throwaway data folder; a packaged app ignores this.
if (!app.isPackaged && process.env.NST_USER_DATA_DIR) app.setPath('userData', process.env.NST_USER_DATA_DIR);

const paths = appPaths(import.meta.dirname);
/** electron-vite dev serves the renderer from Vite; never honoured in a packaged app. */
const devServerUrl = !app.isPackaged ? (process.env.ELECTRON_RENDERER_URL ?? null) : null;

let mainWindow: BrowserWindow | null = null;
let services: MainServices | null = null;
const taskbar = new TaskbarProgress();

const policy = trustPolicy({
  devServerUrl,
  isOwnWebContents: (id) => mainWindow !== null && !mainWindow.isDestroyed() && mainWindow.webContents.id === id,
});

// Every webContents the app ever gets (the window, and anything unexpected) refuses navigation, popups, <webview>.
app.on('web-contents-created', (_event, contents) => hardenWebContents(contents));

if (!app.requestSingleInstanceLock()) {
  // Another studio is open: it gets focus (second-instance below) and this one leaves.
  app.quit();
} else {
  app.on('second-instance', () => {
    if (!mainWindow) return;
    if (mainWindow.isMinimized()) mainWindow.restore();
    mainWindow.focus();
  });
  app.whenReady().then(start).catch(fatal);
}

async function start(): Promise<void> {
  if (process.platform === 'win32') app.setAppUserModelId(APP_ID);
  app.setAboutPanelOptions({
    applicationName: WINDOW_TITLE,
    applicationVersion: app.getVersion(),
    copyright: 'Gatys et al. neural style transfer on VGG19, run by onnxruntime.',
    // The built-in weights are CC BY 4.0: the attribution goes where users look for it.
    credits: `${WEIGHTS_CREDIT}\n${EXAMPLES_CREDIT}`,
  });
  protocol.handle(APP_SCHEME, createAppRequestHandler(paths.rendererDir));
  hardenSession(session.defaultSession, policy);

  services = await createStudioServices({
    workerUrl: pathToFileURL(paths.worker),
    dataDir: app.getPath('userData'),
    appVersion: app.getVersion(),
  });
  const { backend } = services;
  forwardEvents(backend.services, sendToWindow);
  backend.services.onRunEvent(showProgress);

  const dialogs: SaveDialogs = {
    chooseSavePath: async ({ defaultName, format }) => {
      const options = {
        title: format === 'png' || format === 'jpeg' ? 'Export image' : 'Export video',
        defaultPath: path.join(format === 'png' || format === 'jpeg' ? picturesFolder() : videosFolder(), defaultName),
        filters: [{ name: SAVE_FILTERS[format].name, extensions: [...SAVE_FILTERS[format].extensions] }],
        properties: ['createDirectory', 'showOverwriteConfirmation'] as Array<'createDirectory' | 'showOverwriteConfirmation'>,
      };
      const answer = mainWindow ? await dialog.showSaveDialog(mainWindow, options) : await dialog.showSaveDialog(options);
      return answer.canceled || !answer.filePath ? null : answer.filePath;
    },
    writeFileAtomic,
    // The one way an ffmpeg path gets in: the user picks the file (the renderer can only ask for this dialog).
    chooseExecutable: async () => {
      const options = { title: 'Choose ffmpeg', properties: ['openFile', 'dontAddToRecent'] as Array<'openFile' | 'dontAddToRecent'> };
      const answer = mainWindow ? await dialog.showOpenDialog(mainWindow, options) : await dialog.showOpenDialog(options);
      return answer.canceled || answer.filePaths.length === 0 ? null : answer.filePaths[0]!;
    },
  };
  const handlers = apiHandlers(backend.services, saveDialogCalls(backend, dialogs));
  registerIpcHandlers(ipcMain, {
    ...handlers,
    // The taskbar needs each run's planned iterations, known only from its request.
    startRun: async (request) => {
      const result = await handlers.startRun(request);
      if (result.ok) taskbar.plan(result.value.runId, request.settings.iterations);
      return result;
    },
  }, policy);

  Menu.setApplicationMenu(
    Menu.buildFromTemplate(
      buildMenuTemplate(
        {
          openContent: () => void openImages('content'),
          openStyle: () => void openImages('style'),
          exportImage: () => sendMenuAction({ type: 'export-image' }),
          exportVideo: () => sendMenuAction({ type: 'export-video' }),
          start: () => sendMenuAction({ type: 'start' }),
          pause: () => sendMenuAction({ type: 'pause' }),
          stop: () => sendMenuAction({ type: 'stop' }),
          about: () => app.showAboutPanel(),
        },
        { platform: process.platform, isDev: !app.isPackaged, appName: WINDOW_TITLE },
      ),
    ),
  );

  await createMainWindow();
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) void createMainWindow();
  });
}

async function createMainWindow(): Promise<void> {
  const saved = services ? await services.loadWindowState() : null;
  const bounds = visibleBounds(saved?.bounds ?? null, screen.getAllDisplays().map((d) => d.workArea));
  const window = new BrowserWindow(createWindowOptions(paths.preload, { bounds, devTools: !app.isPackaged }));
  mainWindow = window;
  window.once('ready-to-show', () => {
    // maximize() would show the window at once; here it is shown painted.
    if (saved?.maximized) window.maximize();
    window.show();
  });
  window.on('close', () => void saveWindowState(window));
  window.on('closed', () => {
    if (mainWindow === window) mainWindow = null;
  });
  let reloads = 0;
  window.webContents.on('render-process-gone', (_event, details) => {
    if (details.reason === 'clean-exit' || window.isDestroyed()) return;
    // A crashed page is reloaded (runs live in the worker and carry on); a page that keeps crashing is not.
    if (++reloads > 3) {
      dialog.showErrorBox('Neural Style Studio', `The window keeps failing (${details.reason}). Please restart the studio.`);
      return;
    }
    console.error(`studio: the window's renderer process ended (${details.reason}); reloading it`);
    void window.loadURL(devServerUrl ?? APP_INDEX_URL);
  });
  await window.loadURL(devServerUrl ?? APP_INDEX_URL);
}

/** Normal bounds: what to restore to even when it closes maximized. */
async function saveWindowState(window: BrowserWindow): Promise<void> {
  if (!services || window.isDestroyed()) return;
  await services.saveWindowState({ bounds: window.getNormalBounds(), maximized: window.isMaximized() });
}

const SAVE_FILTERS = {
  png: { name: 'PNG image', extensions: ['png'] },
  jpeg: { name: 'JPEG image', extensions: ['jpg', 'jpeg'] },
  mp4: { name: 'MP4 video', extensions: ['mp4'] },
  webm: { name: 'WebM video', extensions: ['webm'] },
  gif: { name: 'Animated GIF', extensions: ['gif'] },
} as const;

function videosFolder(): string {
  try {
    return app.getPath('videos');
  } catch {
    return picturesFolder();
  }
}

function sendToWindow(channel: string, payload: unknown): void {
  if (mainWindow && !mainWindow.isDestroyed()) mainWindow.webContents.send(channel, payload);
}

function picturesFolder(): string {
  try {
    return app.getPath('pictures');
  } catch {
    // Some Linux desktops define no pictures folder.
    return app.getPath('home');
  }
}

function showProgress(event: RunEvent): void {
  if (!mainWindow || mainWindow.isDestroyed()) return;
  const bar = taskbar.update(event);
  if (bar) mainWindow.setProgressBar(bar.value, { mode: bar.mode });
}

function sendMenuAction(action: MenuAction): void {
  if (mainWindow && !mainWindow.isDestroyed()) mainWindow.webContents.send(API.menuAction.channel, action);
}

/** File ▸ Open: the user picks files in the native dialog; main reads them and hands the renderer bytes. */
async function openImages(kind: 'content' | 'style'): Promise<void> {
  const options = {
    title: kind === 'content' ? 'Open content image' : 'Open style images',
    filters: [{ name: 'Images', extensions: [...IMAGE_EXTENSIONS] }],
    properties: (kind === 'content' ? ['openFile'] : ['openFile', 'multiSelections']) as Array<'openFile' | 'multiSelections'>,
  };
  const answer = mainWindow ? await dialog.showOpenDialog(mainWindow, options) : await dialog.showOpenDialog(options);
  if (answer.canceled || answer.filePaths.length === 0) return;
  const images = [];
  for (const filePath of answer.filePaths) {
    const read = await readPickedImage(filePath);
    if (!read.ok) return sendMenuAction({ type: 'error', error: read.error });
    images.push(read.value);
  }
  if (kind === 'content') sendMenuAction({ type: 'open-content', image: images[0]! });
  else sendMenuAction({ type: 'open-style', images });
}

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit();
});

let disposing = false;
app.on('before-quit', (event) => {
  // Once: remember the window, stop the worker (and its run), wait for the settings file, then really quit.
  if (!services || disposing) return;
  disposing = true;
  event.preventDefault();
  const current = services;
  void (mainWindow ? saveWindowState(mainWindow) : Promise.resolve())
    .then(() => current.dispose())
    .catch((error: unknown) => console.error('studio: shutting down', error))
    .finally(() => app.quit());
});

function fatal(error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  console.error('studio: could not start', error);
  dialog.showErrorBox('Neural Style Studio could not start', message);
  app.exit(1);
}
