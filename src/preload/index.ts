// The sandboxed preload: exposes window.api, named functions over the IPC channels and nothing else. Bundled as
// one CommonJS file that requires only `electron` (a sandboxed preload cannot load other modules).

import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import {
  CHANNELS,
  type DesktopApi,
  type ExportImageRequest,
  type ExportImageResponse,
  type ExportVideoRequest,
  type ExportVideoResponse,
  type FetchWeightsRequest,
  type FfmpegStatus,
  type ImportWeightsRequest,
  type VideoExportEvent,
  type WeightsEvent,
  type WeightsInfo,
  type MenuAction,
  type Result,
  type RunEvent,
  type RunRef,
  type StartRunRequest,
  type UpdateRunSettingsRequest,
  type AppInfo,
  type EstimateMemoryRequest,
  type MemoryEstimateInfo,
} from '../shared/ipc.js';
import type { BatchEvent, BatchItemRef, BatchOutput, BatchStatus, StartBatchRequest } from '../shared/batch-api.js';
import type { InterruptedRun } from '../shared/resume-api.js';
import type { StudioSettings, VideoSettings } from '../shared/studio-settings.js';

type PushChannel = typeof CHANNELS.runEvent | typeof CHANNELS.menuAction | typeof CHANNELS.weightsEvent | typeof CHANNELS.videoEvent | typeof CHANNELS.batchEvent;
type InvokeChannel = Exclude<(typeof CHANNELS)[keyof typeof CHANNELS], PushChannel>;

/** One request; a missing handler or a broken channel also comes back as an error Result, never a rejection. */
async function invoke<T>(channel: InvokeChannel, payload?: unknown): Promise<Result<T>> {
  try {
    return (await ipcRenderer.invoke(channel, payload)) as Result<T>;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { ok: false, error: { code: 'IPC_FAILED', message: `The studio's main process did not answer (${message}).` } };
  }
}

/** Subscribes a listener to a push channel; the IpcRendererEvent (which holds ipcRenderer) never reaches the page. */
function subscribe<T>(channel: PushChannel, listener: (payload: T) => void): () => void {
  const wrapped = (_event: IpcRendererEvent, payload: T): void => listener(payload);
  ipcRenderer.on(channel, wrapped);
  return () => {
    ipcRenderer.removeListener(channel, wrapped);
  };
}

const api = {
  startRun: (request: StartRunRequest) => invoke<RunRef>(CHANNELS.startRun, request),
  pauseRun: (ref: RunRef) => invoke<null>(CHANNELS.pauseRun, ref),
  resumeRun: (ref: RunRef) => invoke<null>(CHANNELS.resumeRun, ref),
  stopRun: (ref: RunRef) => invoke<null>(CHANNELS.stopRun, ref),
  updateRunSettings: (request: UpdateRunSettingsRequest) => invoke<null>(CHANNELS.updateRunSettings, request),
  exportImage: (request: ExportImageRequest) => invoke<ExportImageResponse>(CHANNELS.exportImage, request),
  getSettings: () => invoke<StudioSettings>(CHANNELS.getSettings),
  saveSettings: (settings: StudioSettings) => invoke<null>(CHANNELS.saveSettings, settings),
  getAppInfo: () => invoke<AppInfo>(CHANNELS.getAppInfo),
  estimateMemory: (request: EstimateMemoryRequest) => invoke<MemoryEstimateInfo>(CHANNELS.estimateMemory, request),
  getWeightsStatus: () => invoke<WeightsInfo>(CHANNELS.getWeightsStatus),
  fetchWeights: (request: FetchWeightsRequest) => invoke<WeightsInfo>(CHANNELS.fetchWeights, request),
  cancelWeightsFetch: () => invoke<null>(CHANNELS.cancelWeightsFetch),
  importWeights: (request: ImportWeightsRequest) => invoke<WeightsInfo>(CHANNELS.importWeights, request),
  removeWeights: () => invoke<WeightsInfo>(CHANNELS.removeWeights),
  exportVideo: (request: ExportVideoRequest) => invoke<ExportVideoResponse>(CHANNELS.exportVideo, request),
  cancelVideoExport: (ref: RunRef) => invoke<null>(CHANNELS.cancelVideoExport, ref),
  getFfmpegStatus: () => invoke<FfmpegStatus>(CHANNELS.getFfmpegStatus),
  getVideoSettings: () => invoke<VideoSettings>(CHANNELS.getVideoSettings),
  saveVideoSettings: (settings: VideoSettings) => invoke<null>(CHANNELS.saveVideoSettings, settings),
  startBatch: (request: StartBatchRequest) => invoke<BatchStatus>(CHANNELS.startBatch, request),
  pauseBatch: () => invoke<BatchStatus>(CHANNELS.pauseBatch),
  resumeBatch: () => invoke<BatchStatus>(CHANNELS.resumeBatch),
  clearBatch: () => invoke<BatchStatus>(CHANNELS.clearBatch),
  getBatchStatus: () => invoke<BatchStatus>(CHANNELS.getBatchStatus),
  getBatchOutput: (ref: BatchItemRef) => invoke<BatchOutput>(CHANNELS.getBatchOutput, ref),
  listInterruptedRuns: () => invoke<InterruptedRun[]>(CHANNELS.listInterruptedRuns),
  resumeInterruptedRun: (ref: RunRef) => invoke<RunRef>(CHANNELS.resumeInterruptedRun, ref),
  discardInterruptedRun: (ref: RunRef) => invoke<null>(CHANNELS.discardInterruptedRun, ref),
  onRunEvent: (listener: (event: RunEvent) => void) => subscribe<RunEvent>(CHANNELS.runEvent, listener),
  onWeightsEvent: (listener: (event: WeightsEvent) => void) => subscribe<WeightsEvent>(CHANNELS.weightsEvent, listener),
  onVideoEvent: (listener: (event: VideoExportEvent) => void) => subscribe<VideoExportEvent>(CHANNELS.videoEvent, listener),
  onBatchEvent: (listener: (event: BatchEvent) => void) => subscribe<BatchEvent>(CHANNELS.batchEvent, listener),
  onMenuAction: (listener: (action: MenuAction) => void) => subscribe<MenuAction>(CHANNELS.menuAction, listener),
} satisfies DesktopApi;

/** The exact type of window.api in Electron. */
export type Api = typeof api;

// Compile-time: window.api has exactly DesktopApi's members, no more (nothing extra leaks to the page), no fewer.
type SameKeys<A, B> = [Exclude<keyof A, keyof B>, Exclude<keyof B, keyof A>] extends [never, never] ? true : false;
const exactlyDesktopApi: SameKeys<Api, DesktopApi> = true;
void exactlyDesktopApi;

contextBridge.exposeInMainWorld('api', api);
