// The Batch panel's state: content images chosen for the next batch (each checked as it is added: a file that is not
// an image is refused then, by name), and the batch the studio is running (its items, overall and current-item
// progress, a thumbnail of each finished one), kept in step with the main process's batch events.

import type { BatchEvent, BatchStatus, ErrorInfo, ImageInput, StudioApi } from '../../shared/api.js';
import type { StudioSettings } from '../../shared/studio-settings.js';
import { encodeScaled, isRefusal, readImageFile, scaleDownImage, type Refusal } from '../Drop/read-image.js';

/** A file the batch refused when it was added, with what scaling it down needs. */
export interface RefusedBatchFile extends Refusal {
  id: number;
  blob: Blob;
}

/** Longest side of a finished item's thumbnail, in CSS px times two (sharp on a HiDPI screen). */
const THUMB_PX = 96;

/** A small JPEG of a finished item's PNG, as an object URL: the list holds thumbnails, not the full images. */
async function thumbnail(png: Uint8Array): Promise<string> {
  const full = await createImageBitmap(new Blob([png.slice()], { type: 'image/png' }));
  try {
    return URL.createObjectURL((await encodeScaled(full, THUMB_PX, { type: 'image/jpeg', quality: 0.85 })).blob);
  } finally {
    full.close();
  }
}

const EMPTY: BatchStatus = { state: 'empty', items: [], current: null, total: 0, done: 0, failed: 0, error: null };

export class BatchState {
  /** Images chosen for the next batch (not sent until Start). */
  chosen = $state.raw<ImageInput[]>([]);
  /** The files the last add refused, each with its reason. */
  refused = $state.raw<RefusedBatchFile[]>([]);
  status = $state.raw<BatchStatus>(EMPTY);
  /** Thumbnail URLs of finished items, by item index (fetched once each, revoked when the batch goes). */
  thumbs = $state.raw<Record<number, string>>({});
  error = $state<ErrorInfo | null>(null);
  busy = $state(false);
  private readonly off: () => void;
  private nextId = 1;
  /** Items whose thumbnail was asked for (once each), and which batch they belong to (thumbnails of one replaced are dropped). */
  private readonly thumbsAsked = new Set<number>();
  private thumbsGeneration = 0;

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

  /** Adds the files that read as images; the others are refused (replacing the last add's refusals). */
  async choose(files: readonly { blob: Blob; name: string }[]): Promise<void> {
    const refused: RefusedBatchFile[] = [];
    for (const { blob, name } of files) {
      const read = await readImageFile(blob, name);
      if (isRefusal(read)) refused.push({ ...read, id: this.nextId++, blob });
      else this.chosen = [...this.chosen, { name: read.name, bytes: read.bytes }];
    }
    this.refused = refused;
  }

  /** A too-large refused photo, scaled down and added (or refused again, with the reason). */
  async scaleDown(id: number): Promise<void> {
    const file = this.refused.find((r) => r.id === id);
    if (!file?.scaleToPx) return;
    const others = this.refused.filter((r) => r.id !== id);
    const scaled = await scaleDownImage(file.blob, file.name, file.scaleToPx);
    if (isRefusal(scaled)) {
      this.refused = [...others, { ...scaled, id: this.nextId++, blob: file.blob }];
      return;
    }
    await this.choose([scaled]);
    this.refused = [...others, ...this.refused];
  }

  dismissRefused(): void {
    this.refused = [];
  }

  unchoose(index: number): void {
    this.chosen = this.chosen.filter((_, i) => i !== index);
  }

  /** Starts a batch of the chosen images with these styles and settings (the studio's current ones). */
  async start(styles: { image: ImageInput; blend: number }[], settings: StudioSettings): Promise<void> {
    if (this.chosen.length === 0) return;
    await this.act(() => this.api.startBatch({ contents: this.chosen, styles, settings }));
    if (!this.error) {
      this.chosen = [];
      this.refused = [];
    }
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
    this.dropThumbs();
  }

  /** Takes a new status; a batch that was replaced or cleared takes its thumbnails with it, new finished items get theirs. */
  private show(status: BatchStatus): void {
    const before = this.status;
    const replaced = status.total !== before.total || status.items.some((item, i) => item.name !== before.items[i]?.name);
    if (replaced) this.dropThumbs();
    this.status = status;
    for (const item of status.items) {
      if (item.state === 'done' && !this.thumbsAsked.has(item.index)) void this.fetchThumb(item.index);
    }
  }

  private async fetchThumb(index: number): Promise<void> {
    this.thumbsAsked.add(index);
    const generation = this.thumbsGeneration;
    const result = await this.api.getBatchOutput({ index });
    // A thumbnail that cannot be had leaves the item without one: Save says why, should it fail too.
    if (!result.ok) return;
    const url = await thumbnail(result.value.bytes).catch(() => null);
    if (url && generation === this.thumbsGeneration) this.thumbs = { ...this.thumbs, [index]: url };
    else if (url) URL.revokeObjectURL(url);
  }

  private dropThumbs(): void {
    for (const url of Object.values(this.thumbs)) URL.revokeObjectURL(url);
    this.thumbs = {};
    this.thumbsAsked.clear();
    this.thumbsGeneration++;
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
    if (result.ok) this.show(result.value);
    else this.error = result.error;
  }

  private receive(event: BatchEvent): void {
    if (event.type === 'status') {
      this.show(event.status);
      return;
    }
    const current = this.status.current;
    if (current?.index === event.index) this.status = { ...this.status, current: { ...current, iteration: event.iteration, iterations: event.iterations } };
  }
}
