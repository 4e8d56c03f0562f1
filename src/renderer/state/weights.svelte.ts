// The Model panel's state: the installed weights (or how to get them), a download's progress, and imports.

import type { ErrorInfo, StudioApi, WeightsEvent, WeightsInfo } from '../../shared/api.js';

export interface DownloadProgress {
  phase: 'download' | 'verify' | 'convert';
  bytes: number;
  total: number | null;
  bytesPerSecond: number;
  etaSeconds: number | null;
}

export class WeightsState {
  info = $state.raw<WeightsInfo | null>(null);
  progress = $state.raw<DownloadProgress | null>(null);
  busy = $state<'fetch' | 'import' | null>(null);
  error = $state<ErrorInfo | null>(null);
  /** What the last action did, in words. */
  message = $state<string | null>(null);
  private readonly off: () => void;

  constructor(
    private readonly api: StudioApi,
    /** Called when weights were installed or removed (the app re-reads what it can run). */
    private readonly onchange: () => void = () => undefined,
  ) {
    this.off = api.onWeightsEvent((event) => this.receive(event));
  }

  async refresh(): Promise<void> {
    const result = await this.api.getWeightsStatus();
    if (result.ok) {
      this.info = result.value;
      this.busy = result.value.busy;
    } else this.error = result.error;
  }

  async download(): Promise<void> {
    this.begin('fetch');
    this.progress = { phase: 'download', bytes: this.info?.partialDownloadBytes ?? 0, total: this.info?.downloadBytes ?? null, bytesPerSecond: 0, etaSeconds: null };
    const result = await this.api.fetchWeights({});
    this.end(result.ok ? result.value : null, result.ok ? 'Downloaded and verified the VGG19 weights.' : null, result.ok ? null : result.error);
  }

  async cancel(): Promise<void> {
    const result = await this.api.cancelWeightsFetch();
    if (!result.ok) this.error = result.error;
  }

  /** Dropped or chosen files: one .h5 / .onnx, or a TF.js model.json with its shards. */
  async importFiles(files: readonly File[]): Promise<void> {
    if (files.length === 0) return;
    this.begin('import');
    const read = await Promise.all(files.map(async (f) => ({ name: f.name, bytes: new Uint8Array(await f.arrayBuffer()) })));
    const result = await this.api.importWeights({ files: read });
    const names = files.map((f) => f.name).join(', ');
    this.end(result.ok ? result.value : null, result.ok ? `Imported ${names}.` : null, result.ok ? null : result.error);
  }

  async remove(): Promise<void> {
    const result = await this.api.removeWeights();
    if (result.ok) {
      this.info = result.value;
      this.message = 'Removed the installed weights.';
      this.onchange();
    } else this.error = result.error;
  }

  dispose(): void {
    this.off();
  }

  private begin(kind: 'fetch' | 'import'): void {
    this.busy = kind;
    this.error = null;
    this.message = null;
  }

  private end(info: WeightsInfo | null, message: string | null, error: ErrorInfo | null): void {
    this.busy = null;
    this.progress = null;
    if (info) {
      this.info = info;
      this.onchange();
    }
    this.message = message;
    // A cancel is the user's choice, not an error; the part downloaded resumes next time.
    if (error && error.code === 'ABORTED') {
      this.message = 'Download paused: what was fetched is kept, and the next download resumes it.';
      void this.refresh();
    } else this.error = error;
  }

  private receive(event: WeightsEvent): void {
    switch (event.type) {
      case 'progress':
        this.busy ??= 'fetch';
        this.progress =
          event.phase === 'download'
            ? { phase: 'download', bytes: event.bytes, total: event.total, bytesPerSecond: event.bytesPerSecond, etaSeconds: event.etaSeconds }
            : { ...(this.progress ?? { bytes: 0, total: null, bytesPerSecond: 0, etaSeconds: null }), phase: event.phase };
        break;
      case 'done':
        this.info = event.status;
        break;
      case 'error':
      case 'canceled':
        this.progress = null;
        break;
    }
  }
}

/** "80.1 MB" */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB'];
  let value = bytes;
  let unit = -1;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** "1 min 05 s" */
export function formatEta(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '';
  const s = Math.max(0, Math.round(seconds));
  return s >= 60 ? `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s` : `${s} s`;
}
