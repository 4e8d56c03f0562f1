// The runs of this session: a thumbnail, the settings they used, and their id for re-export.

import type { StudioSettings } from '../../shared/studio-settings.js';
import type { FinishedRun } from './run.svelte.js';

export interface HistoryEntry {
  runId: string;
  thumbUrl: string;
  width: number;
  height: number;
  iterations: number;
  stopped: boolean;
  finalLoss: number;
  device: string | null;
  settings: StudioSettings;
  finishedAt: Date;
}

export class HistoryState {
  entries = $state.raw<HistoryEntry[]>([]);

  add(run: FinishedRun): HistoryEntry {
    const entry: HistoryEntry = {
      runId: run.runId,
      thumbUrl: URL.createObjectURL(new Blob([run.final.jpeg.slice()], { type: 'image/jpeg' })),
      width: run.final.width,
      height: run.final.height,
      iterations: run.iterations,
      stopped: run.stopped,
      finalLoss: run.loss.total,
      device: run.device,
      settings: structuredClone(run.settings),
      finishedAt: new Date(),
    };
    this.entries = [entry, ...this.entries];
    return entry;
  }

  clear(): void {
    for (const entry of this.entries) URL.revokeObjectURL(entry.thumbUrl);
    this.entries = [];
  }
}
