// StudioApi over the browser host's WebSocket (src/shared/ws-protocol.ts): numbered requests, replies, pushed events.

import type {
  ErrorInfo,
  ExportImageRequest,
  ExportImageResponse,
  ExportVideoRequest,
  ExportVideoResponse,
  FetchWeightsRequest,
  FfmpegStatus,
  ImportWeightsRequest,
  VideoExportEvent,
  WeightsEvent,
  WeightsInfo,
  Result,
  RunEvent,
  RunRef,
  StartRunRequest,
  StudioApi,
  UpdateRunSettingsRequest,
  AppInfo,
  EstimateMemoryRequest,
  MemoryEstimateInfo,
} from '../../../shared/ipc.js';
import type { BatchEvent, BatchItemRef, BatchOutput, BatchStatus, StartBatchRequest } from '../../../shared/batch-api.js';
import type { InterruptedRun } from '../../../shared/resume-api.js';
import type { StudioSettings, VideoSettings } from '../../../shared/studio-settings.js';
import {
  TOKEN_PARAM,
  decodeWireMessage,
  encodeWireMessage,
  wsUrlFor,
  type WsMethod,
  type WsParams,
  type WsRequest,
} from '../../../shared/ws-protocol.js';

interface Pending {
  resolve: (result: Result<unknown>) => void;
}

/** The WebSocket address of the host that served this page, with the page's token; throws when there is none. */
export function webSocketUrlFromLocation(location: Location): string {
  if (!new URLSearchParams(location.search).get(TOKEN_PARAM)) {
    throw new Error(
      'This page was opened without its access token. Open the full address that `npm run serve` printed (it ends in ?token=…).',
    );
  }
  return wsUrlFor(location.href);
}

const disconnected = (detail: string): ErrorInfo => ({
  code: 'disconnected',
  message: `Lost the connection to the studio server (${detail}). Check that \`npm run serve\` is still running, then reload.`,
});

export class WebSocketApi implements StudioApi {
  private socket: WebSocket | null = null;
  private opening: Promise<WebSocket> | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly listeners = new Set<(event: RunEvent) => void>();
  private readonly weightsListeners = new Set<(event: WeightsEvent) => void>();
  private readonly videoListeners = new Set<(event: VideoExportEvent) => void>();
  private readonly batchListeners = new Set<(event: BatchEvent) => void>();
  private readonly disconnectListeners = new Set<(error: ErrorInfo) => void>();

  constructor(private readonly url: string) {}

  startRun(request: StartRunRequest): Promise<Result<RunRef>> {
    return this.call('startRun', request);
  }
  pauseRun(ref: RunRef): Promise<Result<null>> {
    return this.call('pauseRun', ref);
  }
  resumeRun(ref: RunRef): Promise<Result<null>> {
    return this.call('resumeRun', ref);
  }
  stopRun(ref: RunRef): Promise<Result<null>> {
    return this.call('stopRun', ref);
  }
  updateRunSettings(request: UpdateRunSettingsRequest): Promise<Result<null>> {
    return this.call('updateRunSettings', request);
  }
  exportImage(request: ExportImageRequest): Promise<Result<ExportImageResponse>> {
    return this.call('exportImage', request);
  }
  getSettings(): Promise<Result<StudioSettings>> {
    return this.call('getSettings', null);
  }
  saveSettings(settings: StudioSettings): Promise<Result<null>> {
    return this.call('saveSettings', settings);
  }
  getAppInfo(): Promise<Result<AppInfo>> {
    return this.call('getAppInfo', null);
  }

  getWeightsStatus(): Promise<Result<WeightsInfo>> {
    return this.call('getWeightsStatus', null);
  }
  fetchWeights(request: FetchWeightsRequest): Promise<Result<WeightsInfo>> {
    return this.call('fetchWeights', request);
  }
  cancelWeightsFetch(): Promise<Result<null>> {
    return this.call('cancelWeightsFetch', null);
  }
  importWeights(request: ImportWeightsRequest): Promise<Result<WeightsInfo>> {
    return this.call('importWeights', request);
  }
  removeWeights(): Promise<Result<WeightsInfo>> {
    return this.call('removeWeights', null);
  }
  /** Over the socket the answer is always kind 'download' (the bytes), 'canceled', or an error. */
  exportVideo(request: ExportVideoRequest): Promise<Result<ExportVideoResponse>> {
    return this.call('exportVideo', request);
  }
  cancelVideoExport(ref: RunRef): Promise<Result<null>> {
    return this.call('cancelVideoExport', ref);
  }
  getFfmpegStatus(): Promise<Result<FfmpegStatus>> {
    return this.call('getFfmpegStatus', null);
  }
  estimateMemory(request: EstimateMemoryRequest): Promise<Result<MemoryEstimateInfo>> {
    return this.call('estimateMemory', request);
  }
  getVideoSettings(): Promise<Result<VideoSettings>> {
    return this.call('getVideoSettings', null);
  }
  saveVideoSettings(settings: VideoSettings): Promise<Result<null>> {
    return this.call('saveVideoSettings', settings);
  }
  startBatch(request: StartBatchRequest): Promise<Result<BatchStatus>> {
    return this.call('startBatch', request);
  }
  pauseBatch(): Promise<Result<BatchStatus>> {
    return this.call('pauseBatch', null);
  }
  resumeBatch(): Promise<Result<BatchStatus>> {
    return this.call('resumeBatch', null);
  }
  clearBatch(): Promise<Result<BatchStatus>> {
    return this.call('clearBatch', null);
  }
  getBatchStatus(): Promise<Result<BatchStatus>> {
    return this.call('getBatchStatus', null);
  }
  getBatchOutput(ref: BatchItemRef): Promise<Result<BatchOutput>> {
    return this.call('getBatchOutput', ref);
  }
  listInterruptedRuns(): Promise<Result<InterruptedRun[]>> {
    return this.call('listInterruptedRuns', null);
  }
  resumeInterruptedRun(ref: RunRef): Promise<Result<RunRef>> {
    return this.call('resumeInterruptedRun', ref);
  }
  discardInterruptedRun(ref: RunRef): Promise<Result<null>> {
    return this.call('discardInterruptedRun', ref);
  }

  onRunEvent(listener: (event: RunEvent) => void): () => void {
    return this.subscribe(this.listeners, listener);
  }
  onWeightsEvent(listener: (event: WeightsEvent) => void): () => void {
    return this.subscribe(this.weightsListeners, listener);
  }
  onVideoEvent(listener: (event: VideoExportEvent) => void): () => void {
    return this.subscribe(this.videoListeners, listener);
  }
  onBatchEvent(listener: (event: BatchEvent) => void): () => void {
    return this.subscribe(this.batchListeners, listener);
  }

  private subscribe<T>(set: Set<(event: T) => void>, listener: (event: T) => void): () => void {
    set.add(listener);
    // Events only flow on an open socket: connect now so a subscriber does not wait for its first call.
    void this.connect().catch(() => undefined);
    return () => set.delete(listener);
  }

  /** Subscribes to the connection dropping (or a frame the server could not read); returns the unsubscribe. */
  onConnectionError(listener: (error: ErrorInfo) => void): () => void {
    this.disconnectListeners.add(listener);
    return () => this.disconnectListeners.delete(listener);
  }

  private async call<T, M extends WsMethod = WsMethod>(method: M, params: WsParams<M>): Promise<Result<T>> {
    let socket: WebSocket;
    try {
      socket = await this.connect();
    } catch (error) {
      return { ok: false, error: disconnected(error instanceof Error ? error.message : String(error)) };
    }
    const id = this.nextId++;
    return new Promise<Result<T>>((resolve) => {
      this.pending.set(id, { resolve: resolve as (result: Result<unknown>) => void });
      try {
        socket.send(encodeWireMessage({ id, method, params } as WsRequest));
      } catch (error) {
        this.pending.delete(id);
        resolve({ ok: false, error: disconnected(error instanceof Error ? error.message : String(error)) });
      }
    });
  }

  /** Opens the socket once; after a close, the next call opens a fresh one. */
  private connect(): Promise<WebSocket> {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) return Promise.resolve(this.socket);
    if (this.opening) return this.opening;
    this.opening = new Promise<WebSocket>((resolve, reject) => {
      const socket = new WebSocket(this.url);
      let opened = false;
      socket.binaryType = 'arraybuffer';
      socket.addEventListener('open', () => {
        opened = true;
        this.socket = socket;
        this.opening = null;
        resolve(socket);
      });
      socket.addEventListener('message', (message) => this.receive(message.data));
      socket.addEventListener('close', (event) => {
        this.opening = null;
        if (this.socket === socket) this.socket = null;
        const detail = event.reason || (opened ? `code ${event.code}` : 'the server refused the connection or is not running');
        if (!opened) return reject(new Error(detail)); // the caller that was waiting reports it
        this.failPending(detail);
        for (const listener of this.disconnectListeners) listener(disconnected(detail));
      });
    });
    return this.opening;
  }

  private receive(data: unknown): void {
    let message: unknown;
    try {
      message = decodeWireMessage(typeof data === 'string' ? data : new TextDecoder().decode(data as ArrayBuffer));
    } catch {
      return; // A frame this client cannot read is the server's bug; dropping it beats crashing the page.
    }
    if (typeof message !== 'object' || message === null) return;
    const m = message as { id?: unknown; result?: unknown; event?: unknown; data?: unknown };
    if (m.event === 'runEvent') {
      for (const listener of this.listeners) listener(m.data as RunEvent);
      return;
    }
    if (m.event === 'weightsEvent') {
      for (const listener of this.weightsListeners) listener(m.data as WeightsEvent);
      return;
    }
    if (m.event === 'videoEvent') {
      for (const listener of this.videoListeners) listener(m.data as VideoExportEvent);
      return;
    }
    if (m.event === 'batchEvent') {
      for (const listener of this.batchListeners) listener(m.data as BatchEvent);
      return;
    }
    if (m.id === null) {
      // The server could not read one of our frames at all; no request can be matched to it, so tell the page.
      const result = m.result as Result<never>;
      if (!result.ok) for (const listener of this.disconnectListeners) listener(result.error);
      return;
    }
    if (typeof m.id === 'number') {
      const pending = this.pending.get(m.id);
      if (!pending) return;
      this.pending.delete(m.id);
      pending.resolve(m.result as Result<unknown>);
    }
  }

  private failPending(detail: string): void {
    const error = disconnected(detail);
    for (const [id, pending] of this.pending) {
      this.pending.delete(id);
      pending.resolve({ ok: false, error });
    }
  }
}
