// The batch queue's part of the IPC contract (the Batch panel): many content images under one setting set, run one
// after another through the run queue, persisted so that it resumes after a restart. ipc.ts merges BATCH_CHANNELS
// into CHANNELS and StudioApi extends BatchApi; src/main/services/batch-service.ts implements every method.

import type { ErrorInfo, ImageInput, PreviewFrame, Result } from './ipc.js';
import type { StudioSettings } from './studio-settings.js';

export const BATCH_CHANNELS = {
  startBatch: 'batch:start',
  pauseBatch: 'batch:pause',
  resumeBatch: 'batch:resume',
  clearBatch: 'batch:clear',
  getBatchStatus: 'batch:status',
  getBatchOutput: 'batch:output',
  /** Pushed main → renderer: the batch's status after every change, and the current item's progress. */
  batchEvent: 'batch:event',
} as const;

/** Most content images one batch may hold. */
export const MAX_BATCH_ITEMS = 1000;

export interface StartBatchRequest {
  contents: ImageInput[];
  styles: { image: ImageInput; blend: number }[];
  /** One setting set for every item (the panel sends the current settings). */
  settings: StudioSettings;
}

export type BatchItemState = 'pending' | 'running' | 'done' | 'failed';

export interface BatchItemInfo {
  index: number;
  /** The content image's name as it was added. */
  name: string;
  state: BatchItemState;
  /** Why it failed (the batch went on with the next item). */
  error: ErrorInfo | null;
  seconds: number | null;
}

export interface BatchStatus {
  /** empty: no batch; paused: stopped by the user (or by a problem every item would hit: `error` says). */
  state: 'empty' | 'running' | 'paused' | 'finished';
  items: BatchItemInfo[];
  /** The item being painted now, with its iteration. */
  current: { index: number; iteration: number; iterations: number } | null;
  total: number;
  done: number;
  failed: number;
  /** A problem that paused the whole batch (no weights, say); null otherwise. */
  error: ErrorInfo | null;
}

export type BatchEvent =
  | { type: 'status'; status: BatchStatus }
  | { type: 'progress'; index: number; iteration: number; iterations: number; loss: number; preview: PreviewFrame | null };

export interface BatchItemRef {
  index: number;
}

/** A finished item's image, PNG. */
export interface BatchOutput {
  fileName: string;
  bytes: Uint8Array;
}

export interface BatchApi {
  /** Replaces a finished (or empty) batch with a new one and starts it; BATCH_BUSY while one is unfinished. */
  startBatch(request: StartBatchRequest): Promise<Result<BatchStatus>>;
  /** Pauses the current item after its iteration (the run controller's pause); no next item starts. */
  pauseBatch(): Promise<Result<BatchStatus>>;
  resumeBatch(): Promise<Result<BatchStatus>>;
  /** Stops the current item and forgets the batch and its outputs. */
  clearBatch(): Promise<Result<BatchStatus>>;
  getBatchStatus(): Promise<Result<BatchStatus>>;
  getBatchOutput(ref: BatchItemRef): Promise<Result<BatchOutput>>;
  /** Subscribes to batch events; returns the unsubscribe function. */
  onBatchEvent(listener: (event: BatchEvent) => void): () => void;
}
