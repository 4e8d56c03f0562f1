// Composition root for the main process's services: the shared StudioBackend (run queue in a worker thread,
// settings store, export, weights), plus the window state kept in its settings file. No Electron here.

import { StudioBackend } from './services/studio-backend.js';
import type { WindowState } from './window.js';

export interface MainServices {
  /** The calls and events of the API table, and what the save dialogs export. */
  readonly backend: StudioBackend;
  loadWindowState(): Promise<WindowState | null>;
  saveWindowState(state: WindowState): Promise<void>;
  /** Stops the worker (and any run), then waits for pending settings writes. */
  dispose(): Promise<void>;
}

export interface MainServicesOptions {
  /** The built job worker (out/main/job-worker.js, inside app.asar when packaged). */
  workerUrl: URL;
  /** Electron's userData folder: settings file and the default weights folder. */
  dataDir: string;
  appVersion: string;
}

export async function createStudioServices(options: MainServicesOptions): Promise<MainServices> {
  const backend = await StudioBackend.create({ dataDir: options.dataDir, worker: { url: options.workerUrl }, version: options.appVersion });
  return { backend, ...windowStateStore(backend.settings), dispose: () => backend.dispose() };
}

/** The window's bounds as the settings file keeps them (whole pixels; no position: the OS places it). */
export function windowStateStore(settings: Pick<StudioBackend['settings'], 'windowState' | 'saveWindowState'>): Pick<MainServices, 'loadWindowState' | 'saveWindowState'> {
  return {
    loadWindowState: async () => {
      const saved = settings.windowState;
      if (!saved) return null;
      const bounds = saved.x === null || saved.y === null ? null : { x: saved.x, y: saved.y, width: saved.width, height: saved.height };
      return { bounds, maximized: saved.maximized };
    },
    saveWindowState: async (state) => {
      if (!state.bounds) return;
      const { x, y, width, height } = state.bounds;
      const saved = await settings.saveWindowState({ x: Math.round(x), y: Math.round(y), width: Math.round(width), height: Math.round(height), maximized: state.maximized });
      if (!saved.ok) console.warn(`studio: ${saved.error.message}`);
    },
  };
}
