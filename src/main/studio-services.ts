// Composition root for the main process's services: the shared StudioBackend (run queue in a worker thread,
// settings store, export, weights) adapted to what the IPC handlers and the window need. No Electron here.

import { StudioBackend } from './services/studio-backend.js';
import type { StudioServices } from './services-port.js';
import type { RunEvent, VideoExportEvent, WeightsEvent } from '../shared/ipc.js';
import type { BatchEvent } from '../shared/batch-api.js';
import type { WindowState } from './window.js';

export interface MainServices {
  readonly api: StudioServices;
  onRunEvent(listener: (event: RunEvent) => void): () => void;
  onWeightsEvent(listener: (event: WeightsEvent) => void): () => void;
  onVideoEvent(listener: (event: VideoExportEvent) => void): () => void;
  onBatchEvent(listener: (event: BatchEvent) => void): () => void;
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
  return adaptBackend(backend);
}

/** The subset of StudioBackend used here (tests substitute a fake). */
export type BackendLike = Pick<
  StudioBackend,
  | 'startRun'
  | 'pauseRun'
  | 'resumeRun'
  | 'stopRun'
  | 'updateRunSettings'
  | 'exportImage'
  | 'getSettings'
  | 'saveSettings'
  | 'getAppInfo'
  | 'onRunEvent'
  | 'dispose'
  | 'getWeightsStatus'
  | 'fetchWeights'
  | 'cancelWeightsFetch'
  | 'importWeights'
  | 'removeWeights'
  | 'onWeightsEvent'
  | 'hasVideoFrames'
  | 'exportVideoTo'
  | 'cancelVideoExport'
  | 'getFfmpegStatus'
  | 'onVideoEvent'
  | 'estimateMemory'
  | 'getVideoSettings'
  | 'saveVideoSettings'
  | 'startBatch'
  | 'pauseBatch'
  | 'resumeBatch'
  | 'clearBatch'
  | 'getBatchStatus'
  | 'getBatchOutput'
  | 'onBatchEvent'
  | 'listInterruptedRuns'
  | 'resumeInterruptedRun'
  | 'discardInterruptedRun'
> & { readonly settings: Pick<StudioBackend['settings'], 'windowState' | 'saveWindowState'> };

export function adaptBackend(backend: BackendLike): MainServices {
  return {
    api: {
      startRun: (request) => backend.startRun(request),
      pauseRun: (ref) => backend.pauseRun(ref),
      resumeRun: (ref) => backend.resumeRun(ref),
      stopRun: (ref) => backend.stopRun(ref),
      updateRunSettings: (request) => backend.updateRunSettings(request),
      renderExport: async (request) => {
        const exported = await backend.exportImage(request);
        return exported.ok ? { ok: true, value: exported.value.bytes } : exported;
      },
      getSettings: () => backend.getSettings(),
      saveSettings: (settings) => backend.saveSettings(settings),
      getAppInfo: () => backend.getAppInfo(),
      estimateMemory: (request) => backend.estimateMemory(request),
      getWeightsStatus: () => backend.getWeightsStatus(),
      fetchWeights: (request) => backend.fetchWeights(request),
      cancelWeightsFetch: () => backend.cancelWeightsFetch(),
      importWeights: (request) => backend.importWeights(request),
      removeWeights: () => backend.removeWeights(),
      hasVideoFrames: (ref) => backend.hasVideoFrames(ref),
      exportVideo: (request, savePath) => backend.exportVideoTo(request, savePath),
      cancelVideoExport: (ref) => backend.cancelVideoExport(ref),
      getFfmpegStatus: () => backend.getFfmpegStatus(),
      getVideoSettings: () => backend.getVideoSettings(),
      saveVideoSettings: (settings) => backend.saveVideoSettings(settings),
      startBatch: (request) => backend.startBatch(request),
      pauseBatch: () => backend.pauseBatch(),
      resumeBatch: () => backend.resumeBatch(),
      clearBatch: () => backend.clearBatch(),
      getBatchStatus: () => backend.getBatchStatus(),
      getBatchOutput: (ref) => backend.getBatchOutput(ref),
      listInterruptedRuns: () => backend.listInterruptedRuns(),
      resumeInterruptedRun: (ref) => backend.resumeInterruptedRun(ref),
      discardInterruptedRun: (ref) => backend.discardInterruptedRun(ref),
    },
    onRunEvent: (listener) => backend.onRunEvent(listener),
    onWeightsEvent: (listener) => backend.onWeightsEvent(listener),
    onVideoEvent: (listener) => backend.onVideoEvent(listener),
    onBatchEvent: (listener) => backend.onBatchEvent(listener),
    loadWindowState: async () => {
      const saved = backend.settings.windowState;
      if (!saved) return null;
      const bounds = saved.x === null || saved.y === null ? null : { x: saved.x, y: saved.y, width: saved.width, height: saved.height };
      return { bounds, maximized: saved.maximized };
    },
    saveWindowState: async (state) => {
      if (!state.bounds) return;
      const { x, y, width, height } = state.bounds;
      const saved = await backend.settings.saveWindowState({ x: Math.round(x), y: Math.round(y), width: Math.round(width), height: Math.round(height), maximized: state.maximized });
      if (!saved.ok) console.warn(`studio: ${saved.error.message}`);
    },
    dispose: () => backend.dispose(),
  };
}
