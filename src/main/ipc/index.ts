// The IPC table: one handler per request channel, each behind the same guard — the sender must be our window
// showing our page, the payload is validated by the handler, and whatever happens the answer is a Result.

import type { IpcMainInvokeEvent } from 'electron';
import { CHANNELS, PUSH_CHANNELS } from '../../shared/ipc.js';
import { checkSender, type SenderInfo, type TrustPolicy } from '../security.js';
import { cancelVideoExport } from './cancel-video-export.js';
import { clearBatch } from './clear-batch.js';
import { discardInterruptedRun } from './discard-interrupted-run.js';
import { cancelWeightsFetch } from './cancel-weights-fetch.js';
import { estimateMemory } from './estimate-memory.js';
import { exportImage } from './export-image.js';
import { exportVideo } from './export-video.js';
import { fetchWeights } from './fetch-weights.js';
import { getAppInfo } from './get-app-info.js';
import { getBatchOutput } from './get-batch-output.js';
import { getBatchStatus } from './get-batch-status.js';
import { getFfmpegStatus } from './get-ffmpeg-status.js';
import { getSettings } from './get-settings.js';
import { getVideoSettings } from './get-video-settings.js';
import { getWeightsStatus } from './get-weights-status.js';
import { importWeights } from './import-weights.js';
import { listInterruptedRuns } from './list-interrupted-runs.js';
import { pauseBatch } from './pause-batch.js';
import { pauseRun } from './pause-run.js';
import { removeWeights } from './remove-weights.js';
import { resumeBatch } from './resume-batch.js';
import { resumeInterruptedRun } from './resume-interrupted-run.js';
import { resumeRun } from './resume-run.js';
import { saveSettings } from './save-settings.js';
import { saveVideoSettings } from './save-video-settings.js';
import { startBatch } from './start-batch.js';
import { startRun } from './start-run.js';
import { stopRun } from './stop-run.js';
import { updateRunSettings } from './update-run-settings.js';
import { failure, type Handler, type HandlerTable, type InvokeMethod, type IpcContext, type ResultOf } from './types.js';

export const HANDLERS: HandlerTable = {
  startRun,
  pauseRun,
  resumeRun,
  stopRun,
  updateRunSettings,
  exportImage,
  getSettings,
  saveSettings,
  getAppInfo,
  getWeightsStatus,
  fetchWeights,
  cancelWeightsFetch,
  importWeights,
  removeWeights,
  exportVideo,
  cancelVideoExport,
  getFfmpegStatus,
  estimateMemory,
  getVideoSettings,
  saveVideoSettings,
  startBatch,
  pauseBatch,
  resumeBatch,
  clearBatch,
  getBatchStatus,
  getBatchOutput,
  listInterruptedRuns,
  resumeInterruptedRun,
  discardInterruptedRun,
};

/** The channel each request method travels on (CHANNELS' keys are StudioApi's method names). */
export const channelOf = (method: InvokeMethod): string => CHANNELS[method];

/** The request channels: every CHANNELS entry except the ones main pushes to the renderer. */
export const INVOKE_CHANNELS: readonly string[] = Object.values(CHANNELS).filter((channel) => !PUSH_CHANNELS.includes(channel));

/** Checks the sender, runs the handler, and turns anything thrown into an error Result. */
export function guard<M extends InvokeMethod>(
  method: M,
  handler: Handler<M>,
  context: IpcContext,
  policy: TrustPolicy,
  log: (message: string, error: unknown) => void = defaultLog,
): (event: SenderInfo, payload: unknown) => Promise<ResultOf<M>> {
  return async (event, payload) => {
    const refused = checkSender(event, policy);
    if (refused) {
      log(`ipc: refused ${channelOf(method)}: ${refused.message}`, null);
      return failure(refused) as ResultOf<M>;
    }
    try {
      return (await handler(context, payload)) as ResultOf<M>;
    } catch (error) {
      log(`ipc: ${channelOf(method)} failed`, error);
      const message = error instanceof Error ? error.message : String(error);
      return failure({ code: 'INTERNAL', message: `Something went wrong in the studio: ${message}` }) as ResultOf<M>;
    }
  };
}

/** The subset of ipcMain used here (tests pass a recorder). */
export interface IpcMainLike {
  handle(channel: string, listener: (event: IpcMainInvokeEvent, ...args: unknown[]) => unknown): void;
  removeHandler(channel: string): void;
}

/** Registers every handler; returns the function that removes them again. */
export function registerIpcHandlers(ipcMain: IpcMainLike, context: IpcContext, policy: TrustPolicy): () => void {
  const methods = Object.keys(HANDLERS) as InvokeMethod[];
  for (const method of methods) {
    const handle = guard(method, HANDLERS[method] as Handler<typeof method>, context, policy);
    // Only the first argument is the payload; the preload never sends more.
    ipcMain.handle(channelOf(method), (event, payload) => handle(event, payload));
  }
  return () => methods.forEach((method) => ipcMain.removeHandler(channelOf(method)));
}

function defaultLog(message: string, error: unknown): void {
  if (error) console.error(message, error);
  else console.warn(message);
}
