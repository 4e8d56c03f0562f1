// Export choices (format, size) shared by the export panel and the history's re-export, and the export itself.

import type { ErrorInfo, StudioApi } from '../../shared/api.js';
import { downloadBytes } from '../Export/download.js';

export type SizeChoice = 'run' | '512' | '1024' | '2048' | 'custom';

export class ExportState {
  format = $state<'png' | 'jpeg'>('png');
  size = $state<SizeChoice>('run');
  customSizePx = $state(1600);
  busy = $state(false);
  /** What the last export did, in words ("Saved to …", "Downloaded …"). */
  message = $state<string | null>(null);

  sizePx = $derived(this.size === 'run' ? null : this.size === 'custom' ? this.customSizePx : Number(this.size));

  constructor(private readonly api: StudioApi) {}

  /** Exports one run's image; resolves to an error to show, or null. */
  async export(runId: string): Promise<ErrorInfo | null> {
    this.busy = true;
    this.message = null;
    try {
      const result = await this.api.exportImage({ runId, format: this.format, sizePx: this.sizePx });
      if (!result.ok) return result.error;
      const response = result.value;
      switch (response.kind) {
        case 'saved':
          this.message = `Saved to ${response.path}`;
          break;
        case 'download':
          downloadBytes(response.bytes, response.fileName);
          this.message = `Downloaded ${response.fileName}`;
          break;
        case 'canceled':
          this.message = null;
          break;
      }
      return null;
    } finally {
      this.busy = false;
    }
  }
}
