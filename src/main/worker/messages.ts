// The tagged messages between the worker host (services/worker-host.ts, the parent) and the job worker;
// structured-cloned, buffers transferred.

import type { MaskSet, RunEvent, StartRunRequest } from '../../shared/api.js';
import type { StudioSettings } from '../../shared/studio-settings.js';
import type { CheckpointManifest, PlanarImage, RenderState } from '../../engine/index.js';
import type { WorkerCheckpointOptions } from './run-checkpoint.js';

export interface StartMessage {
  type: 'start';
  runId: string;
  request: StartRunRequest;
  weightsPath: string;
  /**
   * Spool timelapse frames (FrameSpool) into `dir`, every `frameEvery` iterations plus the first and last; null: none.
   * A resumed run continues the spool already there, from its checkpoint's iteration.
   */
  frames: { dir: string; frameEvery: number } | null;
  /** Previews at most this often (the first and last progress always carry one). */
  previewIntervalMs: number;
  /** onnxruntime CPU threads; 0 = all cores. */
  threads: number;
  /** Start paused (the run was paused while it waited in the queue). */
  paused: boolean;
  /**
   * When the picture stops changing (settings.stop 'auto'), wait there ('converged') for resume ("keep going") or stop
   * (finish) instead of finishing at once. False for batch items, which nobody is watching.
   */
  holdAtConvergence: boolean;
  /** Checkpoint the run into <root>/runs/<runId>/ every `everyMs`; absent or null: no checkpoints. */
  checkpoint?: WorkerCheckpointOptions | null;
  /** Continue an interrupted run from its checkpoint (same runId). */
  resume?: { state: RenderState; manifest: CheckpointManifest } | null;
}

/** Control messages name their run: one that arrives after its run ended must not touch the next one. */
export type ParentToWorker =
  | StartMessage
  | { type: 'pause'; runId: string }
  | { type: 'resume'; runId: string }
  /** keepCheckpoint: the app is quitting, not the user stopping: the run's last checkpoint stays, to be offered again. */
  | { type: 'stop'; runId: string; keepCheckpoint?: boolean }
  | { type: 'update'; runId: string; settings: StudioSettings }
  /** Masks painted mid-run (checked by the service), or null: none. */
  | { type: 'masks'; runId: string; masks: MaskSet | null }
  | { type: 'snapshot'; runId: string; requestId: number };

export type WorkerToParent =
  /** A run event, ready to publish. */
  | { type: 'event'; event: RunEvent }
  /** The finished run's image (full precision, for export); sent before its 'done' event. */
  | { type: 'result'; runId: string; image: PlanarImage }
  /** The current image of a running run, or null before its first iteration. */
  | { type: 'snapshot'; requestId: number; image: PlanarImage | null }
  /** The worker finished with `runId` (done or error) and can take the next run. */
  | { type: 'idle'; runId: string };
