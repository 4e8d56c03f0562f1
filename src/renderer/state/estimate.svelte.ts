// The memory line by the size control: the host's estimate for the current settings, asked again (debounced) as
// they change; answers that arrive out of order are dropped.

import type { ErrorInfo, EstimateMemoryRequest, MemoryEstimateInfo, StudioApi } from '../../shared/api.js';
import type { StudioSettings } from '../../shared/studio-settings.js';
import { Debouncer } from '../lib/debouncer.js';

/** The settings the estimate depends on (not weights, seed or iterations): a change elsewhere asks nothing. */
export function estimateKey(request: EstimateMemoryRequest): string {
  const s = request.settings;
  const layers = Object.entries(s.layers).map(([name, l]) => `${name}:${l.style ? 's' : ''}${l.content ? 'c' : ''}`);
  return JSON.stringify([s.sizePx, s.optimizer, s.pool, s.device, s.styleScale, s.tile, s.tileOverlapPx, s.memoryLimitMb, layers, request.content, request.styleImages ?? 1]);
}

/** "1.53 GB" / "812 MB" (as the engine's formatBytes writes them: binary units). */
export function formatBytes(bytes: number): string {
  const MB = 2 ** 20;
  return bytes >= 1000 * MB ? `${(bytes / 2 ** 30).toFixed(2)} GB` : `${Math.round(bytes / MB)} MB`;
}

export class MemoryEstimateState {
  info = $state.raw<MemoryEstimateInfo | null>(null);
  error = $state<ErrorInfo | null>(null);
  /** A newer request is waiting or on its way. */
  pending = $state(false);

  private readonly requests: Debouncer;
  private sequence = 0;
  private lastKey = '';

  constructor(
    private readonly api: StudioApi,
    delayMs = 250,
  ) {
    this.requests = new Debouncer(delayMs);
  }

  /** Asks for the estimate once the settings have been still for delayMs (at once for the first). */
  update(settings: StudioSettings, content: { width: number; height: number } | null, styleImages: number): void {
    const request: EstimateMemoryRequest = { settings, content, styleImages: Math.max(1, styleImages) };
    const key = estimateKey(request);
    if (key === this.lastKey) return;
    this.lastKey = key;
    this.pending = true;
    const seq = ++this.sequence;
    this.requests.schedule(
      () => {
        void this.api.estimateMemory(request).then((result) => {
          if (seq !== this.sequence) return;
          this.pending = false;
          if (result.ok) {
            this.info = result.value;
            this.error = null;
          } else {
            this.info = null;
            this.error = result.error;
          }
        });
      },
      this.info === null && this.error === null ? 0 : undefined,
    );
  }

  dispose(): void {
    this.requests.cancel();
    this.sequence++;
  }
}
