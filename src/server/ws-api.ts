// One WebSocket connection speaking src/shared/ws-protocol.ts: requests dispatched to the studio backend,
// run events pushed. Malformed frames get an error reply; nothing a client sends can throw out of here.

import type { WebSocket } from 'ws';
import type {
  AppInfo,
  ExportImageResponse,
  ExportVideoResponse,
  FfmpegStatus,
  MemoryEstimateInfo,
  Result,
  RunEvent,
  RunRef,
  VideoExportEvent,
  VideoExportInfo,
  WeightsEvent,
  WeightsInfo,
} from '../shared/ipc.js';
import type { BatchEvent, BatchOutput, BatchStatus } from '../shared/batch-api.js';
import type { InterruptedRun } from '../shared/resume-api.js';
import type { StudioSettings, VideoSettings } from '../shared/studio-settings.js';
import { decodeWireMessage, encodeWireMessage, WS_METHODS, type WsMethod, type WsServerMessage } from '../shared/ws-protocol.js';
import type { ExportedImage } from '../main/services/export-service.js';

/** What the host needs from the backend (StudioBackend has it; tests may pass a fake). */
export interface HostBackend {
  startRun(payload: unknown): Promise<Result<RunRef>>;
  pauseRun(payload: unknown): Promise<Result<null>>;
  resumeRun(payload: unknown): Promise<Result<null>>;
  stopRun(payload: unknown): Promise<Result<null>>;
  updateRunSettings(payload: unknown): Promise<Result<null>>;
  exportImage(payload: unknown): Promise<Result<ExportedImage>>;
  getSettings(payload?: unknown): Promise<Result<StudioSettings>>;
  saveSettings(payload: unknown): Promise<Result<null>>;
  getAppInfo(payload?: unknown): Promise<Result<AppInfo>>;
  estimateMemory(payload: unknown): Promise<Result<MemoryEstimateInfo>>;
  onRunEvent(listener: (event: RunEvent) => void): () => void;
  getWeightsStatus(payload?: unknown): Promise<Result<WeightsInfo>>;
  fetchWeights(payload?: unknown): Promise<Result<WeightsInfo>>;
  cancelWeightsFetch(payload?: unknown): Promise<Result<null>>;
  importWeights(payload: unknown): Promise<Result<WeightsInfo>>;
  removeWeights(payload?: unknown): Promise<Result<WeightsInfo>>;
  onWeightsEvent(listener: (event: WeightsEvent) => void): () => void;
  /** The video's bytes (the browser cannot be given a save dialog). */
  exportVideoBytes(payload: unknown): Promise<Result<{ info: VideoExportInfo; bytes: Uint8Array }>>;
  cancelVideoExport(payload: unknown): Promise<Result<null>>;
  getFfmpegStatus(payload?: unknown): Promise<Result<FfmpegStatus>>;
  getVideoSettings(payload?: unknown): Promise<Result<VideoSettings>>;
  saveVideoSettings(payload: unknown): Promise<Result<null>>;
  onVideoEvent(listener: (event: VideoExportEvent) => void): () => void;
  startBatch(payload: unknown): Promise<Result<BatchStatus>>;
  pauseBatch(payload?: unknown): Promise<Result<BatchStatus>>;
  resumeBatch(payload?: unknown): Promise<Result<BatchStatus>>;
  clearBatch(payload?: unknown): Promise<Result<BatchStatus>>;
  getBatchStatus(payload?: unknown): Promise<Result<BatchStatus>>;
  getBatchOutput(payload: unknown): Promise<Result<BatchOutput>>;
  onBatchEvent(listener: (event: BatchEvent) => void): () => void;
  listInterruptedRuns(payload?: unknown): Promise<Result<InterruptedRun[]>>;
  resumeInterruptedRun(payload: unknown): Promise<Result<RunRef>>;
  discardInterruptedRun(payload: unknown): Promise<Result<null>>;
}

/** Past this much unsent data on a socket, progress events go out without their preview. */
const BACKLOG_BYTES = 8 * 1024 * 1024;

const badRequest = (message: string): Result<never> => ({ ok: false, error: { code: 'BAD_REQUEST', message } });

export function serveApi(socket: WebSocket, backend: HostBackend): void {
  const send = (message: WsServerMessage): void => {
    if (socket.readyState !== socket.OPEN) return;
    socket.send(encodeWireMessage(message));
  };

  const subscriptions = [
    backend.onRunEvent((event) => {
      const data = event.type === 'progress' && event.preview && socket.bufferedAmount > BACKLOG_BYTES ? { ...event, preview: null } : event;
      send({ event: 'runEvent', data });
    }),
    backend.onWeightsEvent((data) => send({ event: 'weightsEvent', data })),
    backend.onVideoEvent((data) => send({ event: 'videoEvent', data })),
    backend.onBatchEvent((event) => {
      const data = event.type === 'progress' && event.preview && socket.bufferedAmount > BACKLOG_BYTES ? { ...event, preview: null } : event;
      send({ event: 'batchEvent', data });
    }),
  ];
  const unsubscribe = (): void => subscriptions.forEach((stop) => stop());
  socket.on('close', unsubscribe);
  socket.on('error', unsubscribe);

  socket.on('message', (raw, isBinary) => {
    if (isBinary) {
      send({ id: null, result: badRequest('Binary frames are not part of the protocol: send JSON text.') });
      return;
    }
    let message: unknown;
    try {
      message = decodeWireMessage(rawText(raw));
    } catch (error) {
      send({ id: null, result: badRequest(`The frame is not valid JSON (${(error as Error).message}).`) });
      return;
    }
    const id = typeof message === 'object' && message !== null ? (message as { id?: unknown }).id : undefined;
    if (typeof id !== 'number' || !Number.isSafeInteger(id)) {
      send({ id: null, result: badRequest('A request needs an integer "id".') });
      return;
    }
    const { method, params } = message as { method?: unknown; params?: unknown };
    if (typeof method !== 'string' || !(WS_METHODS as readonly string[]).includes(method)) {
      send({ id, result: badRequest(`Unknown method ${JSON.stringify(method)}: use one of ${WS_METHODS.join(', ')}.`) });
      return;
    }
    void call(backend, method as WsMethod, params).then(
      (result) => send({ id, result } as WsServerMessage),
      (error: unknown) => send({ id, result: { ok: false, error: { code: 'INTERNAL', message: `The request failed: ${(error as Error).message}` } } }),
    );
  });
}

async function call(backend: HostBackend, method: WsMethod, params: unknown): Promise<Result<unknown>> {
  switch (method) {
    case 'startRun':
      return backend.startRun(params);
    case 'pauseRun':
      return backend.pauseRun(params);
    case 'resumeRun':
      return backend.resumeRun(params);
    case 'stopRun':
      return backend.stopRun(params);
    case 'updateRunSettings':
      return backend.updateRunSettings(params);
    case 'exportImage': {
      // A browser cannot be given a save dialog by the server: the page downloads the bytes.
      const exported = await backend.exportImage(params);
      if (!exported.ok) return exported;
      const response: ExportImageResponse = { kind: 'download', fileName: exported.value.fileName, bytes: exported.value.bytes };
      return { ok: true, value: response };
    }
    case 'getSettings':
      return backend.getSettings(params);
    case 'saveSettings':
      return backend.saveSettings(params);
    case 'getAppInfo':
      return backend.getAppInfo(params);
    case 'getWeightsStatus':
      return backend.getWeightsStatus(params);
    case 'fetchWeights':
      return backend.fetchWeights(params);
    case 'cancelWeightsFetch':
      return backend.cancelWeightsFetch(params);
    case 'importWeights':
      return backend.importWeights(params);
    case 'removeWeights':
      return backend.removeWeights(params);
    case 'exportVideo': {
      const exported = await backend.exportVideoBytes(params);
      if (!exported.ok) return exported.error.code === 'ABORTED' ? { ok: true, value: { kind: 'canceled' } satisfies ExportVideoResponse } : exported;
      const response: ExportVideoResponse = { kind: 'download', info: exported.value.info, bytes: exported.value.bytes };
      return { ok: true, value: response };
    }
    case 'cancelVideoExport':
      return backend.cancelVideoExport(params);
    case 'getFfmpegStatus':
      return backend.getFfmpegStatus(params);
    case 'estimateMemory':
      return backend.estimateMemory(params);
    case 'getVideoSettings':
      return backend.getVideoSettings(params);
    case 'saveVideoSettings':
      return backend.saveVideoSettings(params);
    case 'startBatch':
      return backend.startBatch(params);
    case 'pauseBatch':
      return backend.pauseBatch(params);
    case 'resumeBatch':
      return backend.resumeBatch(params);
    case 'clearBatch':
      return backend.clearBatch(params);
    case 'getBatchStatus':
      return backend.getBatchStatus(params);
    case 'getBatchOutput':
      return backend.getBatchOutput(params);
    case 'listInterruptedRuns':
      return backend.listInterruptedRuns(params);
    case 'resumeInterruptedRun':
      return backend.resumeInterruptedRun(params);
    case 'discardInterruptedRun':
      return backend.discardInterruptedRun(params);
  }
}

function rawText(raw: Buffer | ArrayBuffer | Buffer[]): string {
  if (Array.isArray(raw)) return Buffer.concat(raw).toString('utf8');
  return Buffer.from(raw as ArrayBuffer).toString('utf8');
}
