// The Batch panel's state: content images chosen for the next batch, and the batch the studio is running (its
// items, overall and current-item progress), kept in step with the main process's batch events.

import type { BatchEvent, BatchStatus, ErrorInfo, ImageInput, StudioApi } from '../../shared/api.js';
import type { StudioSettings } from '../../shared/studio-settings.js';

const EMPTY: BatchStatus = { state: 'empty', items: [], current: null, total: 0, done: 0, failed: 0, error: null };

export class BatchState {
  /** Images chosen for the next batch (not sent until Start). */
  chosen = $state.raw<ImageInput[]>([]);
  status = $state.raw<BatchStatus>(EMPTY);
  error = $state<ErrorInfo | null>(null);
  busy = $state(false);
  private readonly off: () => void;

  /** 0..1 over the whole batch: finished and failed items, plus the current one's share. */
  overall = $derived.by(() => {
    const { total, done, failed, current } = this.status;
    if (total === 0) return 0;
    const partial = current && current.iterations > 0 ? current.iteration / current.iterations : 0;
    return Math.min(1, (done + failed + partial) / total);
  });

  constructor(private readonly api: StudioApi) {
    this.off = api.onBatchEvent((event) => this.receive(event));
  }

  async refresh(): Promise<void> {
    this.settle(await this.api.getBatchStatus());
  }

  async choose(files: readonly File[]): Promise<void> {
    const read = await Promise.all(files.map(async (f) => ({ name: f.name, bytes: new Uint8Array(await f.arrayBuffer()) })));
    this.chosen = [...this.chosen, ...read];
  }

  unchoose(index: number): void {
    this.chosen = this.chosen.filter((_, i) => i !== index);
  }

  /** Starts a batch of the chosen images with these styles and settings (the studio's current ones). */
  async start(styles: { image: ImageInput; blend: number }[], settings: StudioSettings): Promise<void> {
    if (this.chosen.length === 0) return;
    await this.act(() => this.api.startBatch({ contents: this.chosen, styles, settings }));
    if (!this.error) this.chosen = [];
  }

  pause(): Promise<void> {
    return this.act(() => this.api.pauseBatch());
  }

  resume(): Promise<void> {
    return this.act(() => this.api.resumeBatch());
  }

  clear(): Promise<void> {
    return this.act(() => this.api.clearBatch());
  }

  /** A finished item's image: bytes and a file name, or null (the error is shown). */
  async output(index: number): Promise<{ fileName: string; bytes: Uint8Array } | null> {
    const result = await this.api.getBatchOutput({ index });
    if (result.ok) return result.value;
    this.error = result.error;
    return null;
  }

  dispose(): void {
    this.off();
  }

  private async act(call: () => Promise<{ ok: true; value: BatchStatus } | { ok: false; error: ErrorInfo }>): Promise<void> {
    this.busy = true;
    this.error = null;
    try {
      this.settle(await call());
    } finally {
      this.busy = false;
    }
  }

  private settle(result: { ok: true; value: BatchStatus } | { ok: false; error: ErrorInfo }): void {
    if (result.ok) this.status = result.value;
    else this.error = result.error;
  }

  private receive(event: BatchEvent): void {
    if (event.type === 'status') {
      this.status = event.status;
      return;
    }
    const current = this.status.current;
    if (current?.index === event.index) this.status = { ...this.status, current: { ...current, iteration: event.iteration, iterations: event.iterations } };
  }
}
