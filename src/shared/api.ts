// The studio API as one table: each call the page can make (its channel, request and result) and each event a
// host pushes. StudioApi, the preload bridge, the WebSocket client and dispatch and the Electron handler
// registration are all derived from it; docs/architecture.md says how to add a call. No valibot at run time
// here (the sandboxed preload bundles this file): the request schemas are schemas.ts's, keyed by method.

import type {
  AppInfo,
  DevicesInfo,
  BatchEvent,
  BatchItemRef,
  BatchOutput,
  ChooseFfmpegRequest,
  BatchStatus,
  EstimateMemoryRequest,
  ExportImageRequest,
  ExportImageResponse,
  ExportVideoRequest,
  ExportVideoResponse,
  FetchWeightsRequest,
  FfmpegStatus,
  ImportWeightsRequest,
  InterruptedRun,
  MemoryEstimateInfo,
  MenuAction,
  ResumedRun,
  RunEvent,
  RunRef,
  StartBatchRequest,
  SetRunMasksRequest,
  PhotoMasks,
  PhotoMasksRef,
  SavePhotoMasksRequest,
  StartRunRequest,
  UpdateRunSettingsRequest,
  VideoExportEvent,
  StartVideoJobRequest,
  VideoJobEvent,
  VideoJobFrameRef,
  VideoJobOutput,
  VideoJobStatus,
  WeightsEvent,
  WeightsInfo,
} from './api-types.js';
import type { Result } from './result.js';
import type { StudioSettings, VideoSettings } from './studio-settings.js';

// Consumers import the payload types from here too: one import for the API and what it carries.
export type * from './api-types.js';
export type { ErrorInfo, Result } from './result.js';

/** A call: one request (void: none) answered with one Result. Req and Res ride on a property never set. */
export interface RequestRow<Req, Res, By extends 'services' | 'host'> {
  readonly kind: 'request';
  readonly channel: string;
  /** 'host': each host answers it itself (Electron through a save dialog, the browser host with a download). */
  readonly answeredBy: By;
  readonly types?: (request: Req) => Res;
}

/** An event the host pushes to the page; 'electron': only the desktop app sends it. */
export interface PushRow<Event, Hosts extends 'all' | 'electron'> {
  readonly kind: 'push';
  readonly channel: string;
  readonly hosts: Hosts;
  readonly types?: (event: Event) => void;
}

const request = <Req, Res>(channel: string): RequestRow<Req, Res, 'services'> => ({ kind: 'request', channel, answeredBy: 'services' });
const hostRequest = <Req, Res>(channel: string): RequestRow<Req, Res, 'host'> => ({ kind: 'request', channel, answeredBy: 'host' });
const push = <Event>(channel: string): PushRow<Event, 'all'> => ({ kind: 'push', channel, hosts: 'all' });
const electronPush = <Event>(channel: string): PushRow<Event, 'electron'> => ({ kind: 'push', channel, hosts: 'electron' });

export const API = {
  // --- Runs: queued, run one at a time in the job worker, steered while they run
  /** Events follow on runEvent (first 'queued'); they may arrive before this reply. */
  startRun: request<StartRunRequest, RunRef>('run:start'),
  /** After the current iteration ('paused' event); a queued run starts paused. */
  pauseRun: request<RunRef, null>('run:pause'),
  resumeRun: request<RunRef, null>('run:resume'),
  /** A running run ends with 'done' (stopped: true) and its image; a queued one with 'error' CANCELED. */
  stopRun: request<RunRef, null>('run:stop'),
  /** Layer toggles and weights, style/content/TV weights, from the next iteration; other fields are ignored. */
  updateRunSettings: request<UpdateRunSettingsRequest, null>('run:update-settings'),
  /** Masks painted mid-run, from the next iteration (another kind of masks rebuilds the network: 'rebuilt'). */
  setRunMasks: request<SetRunMasksRequest, null>('run:set-masks'),
  /** The memory a run with these settings would need, what is available, and what fits. */
  estimateMemory: request<EstimateMemoryRequest, MemoryEstimateInfo>('run:estimate-memory'),
  runEvent: push<RunEvent>('run:event'),
  exportImage: hostRequest<ExportImageRequest, ExportImageResponse>('image:export'),

  // --- Settings and the app
  getSettings: request<void, StudioSettings>('settings:get'),
  saveSettings: request<StudioSettings, null>('settings:save'),
  /** The masks last painted over this photo (beside the settings, in the data folder), or null: none kept or unreadable. */
  getPhotoMasks: request<PhotoMasksRef, PhotoMasks | null>('settings:photo-masks-get'),
  savePhotoMasks: request<SavePhotoMasksRequest, null>('settings:photo-masks-save'),
  getAppInfo: request<void, AppInfo>('app:info'),
  /** The built-in example images, a photo and a painting, with a line of credit each ("Try an example"). */
  getExamples: request<void, { role: 'content' | 'style'; name: string; bytes: Uint8Array; credit: string }[]>('app:examples'),
  /** The providers and GPUs here, their measured speed, and what Automatic runs on and why (read only: a run measures). */
  getDevices: request<void, DevicesInfo>('app:devices'),
  /** A command from the app menu (files picked in its Open dialog arrive as bytes). */
  menuAction: electronPush<MenuAction>('menu:action'),

  // --- The weights manager (the Model panel)
  getWeightsStatus: request<void, WeightsInfo>('weights:status'),
  /** Resolves when installed (or failed); progress arrives on weightsEvent meanwhile. */
  fetchWeights: request<FetchWeightsRequest, WeightsInfo>('weights:fetch'),
  cancelWeightsFetch: request<void, null>('weights:cancel'),
  importWeights: request<ImportWeightsRequest, WeightsInfo>('weights:import'),
  removeWeights: request<void, WeightsInfo>('weights:remove'),
  weightsEvent: push<WeightsEvent>('weights:event'),

  // --- Timelapse video: runs that record one spool frames; Export video turns them into a file
  /** Resolves when written (or failed / cancelled); progress arrives on videoEvent meanwhile. */
  exportVideo: hostRequest<ExportVideoRequest, ExportVideoResponse>('video:export'),
  /** Cancels the run's export in progress (one export per run at a time). */
  cancelVideoExport: request<RunRef, null>('video:cancel'),
  getFfmpegStatus: request<void, FfmpegStatus>('video:ffmpeg-status'),
  /**
   * The ffmpeg to use, chosen the host's way (Electron: a native open dialog; the browser host: its --ffmpeg option,
   * so it answers with how), never a path the page names; answers the status after the choice.
   */
  chooseFfmpeg: hostRequest<ChooseFfmpegRequest, FfmpegStatus>('video:ffmpeg-choose'),
  /** The Export video options and the timelapse toggle, persisted with the settings. */
  getVideoSettings: request<void, VideoSettings>('video:settings-get'),
  saveVideoSettings: request<VideoSettings, null>('video:settings-save'),
  videoEvent: push<VideoExportEvent>('video:event'),

  // --- The batch queue (the Batch panel)
  /** Replaces a finished (or empty) batch with a new one and starts it; BATCH_BUSY while one is unfinished. */
  startBatch: request<StartBatchRequest, BatchStatus>('batch:start'),
  /** Pauses the current item after its iteration; no next item starts. */
  pauseBatch: request<void, BatchStatus>('batch:pause'),
  resumeBatch: request<void, BatchStatus>('batch:resume'),
  /** Stops the current item and forgets the batch and its outputs. */
  clearBatch: request<void, BatchStatus>('batch:clear'),
  getBatchStatus: request<void, BatchStatus>('batch:status'),
  getBatchOutput: request<BatchItemRef, BatchOutput>('batch:output'),
  /** The batch's status after every change, and the current item's progress. */
  batchEvent: push<BatchEvent>('batch:event'),

  // --- The Video tab: one clip painted frame by frame in its own worker, resumable from its last finished frame
  /** Replaces a finished, stopped or failed job with this one and starts it; VIDEO_JOB_BUSY while one is painting. */
  startVideoJob: request<StartVideoJobRequest, VideoJobStatus>('video-job:start'),
  /** After the current iteration of the frame in progress. */
  pauseVideoJob: request<void, VideoJobStatus>('video-job:pause'),
  /** A paused job goes on; a stopped (or failed) one continues from its last finished frame. */
  resumeVideoJob: request<void, VideoJobStatus>('video-job:resume'),
  /** Ends the job after abandoning the frame in progress; the finished frames stay for resumeVideoJob. */
  stopVideoJob: request<void, VideoJobStatus>('video-job:stop'),
  getVideoJobStatus: request<void, VideoJobStatus>('video-job:status'),
  /** A finished frame's PNG (the strip of a job the window did not watch). */
  getVideoJobFrame: request<VideoJobFrameRef, Uint8Array>('video-job:frame'),
  /** The encoded video of a finished job. */
  getVideoJobOutput: request<void, VideoJobOutput>('video-job:output'),
  videoJobEvent: push<VideoJobEvent>('video-job:event'),

  // --- Interrupted runs: checkpoints that a crash, a kill or a power loss left
  /** Newest first; runs of this session still queued or running are not among them. */
  listInterruptedRuns: request<void, InterruptedRun[]>('runs:interrupted'),
  /** Queues the run again under its own id from its checkpoint; its events follow as for startRun. */
  /** Its masks (from the checkpoint) come back for the mask editor. */
  resumeInterruptedRun: request<RunRef, ResumedRun>('runs:resume-interrupted'),
  /** Deletes the run's checkpoint. */
  discardInterruptedRun: request<RunRef, null>('runs:discard-interrupted'),
};

type Table = typeof API;
type Name = keyof Table;

export type RequestMethod = { [K in Name]: Table[K]['kind'] extends 'request' ? K : never }[Name];
export type PushName = { [K in Name]: Table[K]['kind'] extends 'push' ? K : never }[Name];
/** The calls each host answers itself. */
export type HostMethod = { [K in RequestMethod]: Table[K] extends { answeredBy: 'host' } ? K : never }[RequestMethod];
/** The events every host pushes (the rest are Electron's alone). */
export type StudioPushName = { [K in PushName]: Table[K] extends { hosts: 'all' } ? K : never }[PushName];

export type RequestOf<M extends RequestMethod> = Table[M] extends { types?: (request: infer Req) => unknown } ? Req : never;
export type ResultOf<M extends RequestMethod> = Table[M] extends { types?: (request: never) => infer Res } ? Res : never;
export type EventOf<P extends PushName> = Table[P] extends { types?: (event: infer Event) => void } ? Event : never;

/** A call as the page makes it: no argument where the request is void. */
export type Call<M extends RequestMethod> = [RequestOf<M>] extends [void]
  ? () => Promise<Result<ResultOf<M>>>
  : (request: RequestOf<M>) => Promise<Result<ResultOf<M>>>;
export type ListenerName<P extends PushName> = `on${Capitalize<P>}`;
/** Subscribes to an event; returns the unsubscribe function. */
export type Subscribe<P extends PushName> = (listener: (event: EventOf<P>) => void) => () => void;

export type ApiCalls = { [M in RequestMethod]: Call<M> };
type Subscriptions<P extends PushName> = { [Q in P as ListenerName<Q>]: Subscribe<Q> };

/** The API the page sees: window.api in Electron, the same over the browser host's WebSocket. */
export type StudioApi = ApiCalls & Subscriptions<StudioPushName>;
/** What the Electron preload exposes: the StudioApi and the app menu's events. */
export type DesktopApi = ApiCalls & Subscriptions<PushName>;
/** What the services implement: every call but those a host answers itself, and every event. */
export type StudioServices = Omit<StudioApi, HostMethod>;
/** What a host adds to the services: its own answer to each HostMethod. */
export type HostCalls = Pick<ApiCalls, HostMethod>;

const names = Object.keys(API) as Name[];
export const REQUEST_METHODS = names.filter((name) => API[name].kind === 'request') as RequestMethod[];
export const PUSH_NAMES = names.filter((name) => API[name].kind === 'push') as PushName[];
export const STUDIO_PUSH_NAMES = PUSH_NAMES.filter((name) => (API[name] as PushRow<unknown, 'all' | 'electron'>).hosts === 'all') as StudioPushName[];

/** A table key that is a call (never an inherited property such as "constructor"). */
export const isRequestMethod = (name: unknown): name is RequestMethod => (REQUEST_METHODS as readonly unknown[]).includes(name);

export const listenerName = <P extends PushName>(push: P): ListenerName<P> => `on${push[0]!.toUpperCase()}${push.slice(1)}` as ListenerName<P>;

/** How a client reaches its host: a request out and a Result back, events by push name. */
export interface ApiTransport {
  request(method: RequestMethod, payload: unknown): Promise<Result<unknown>>;
  subscribe(push: PushName, listener: (event: unknown) => void): () => void;
}

/** The page's API over a transport: a function per call and an on… subscription per push in `pushes`, nothing else. */
export function apiClient<P extends PushName>(transport: ApiTransport, pushes: readonly P[]): ApiCalls & Subscriptions<P> {
  const api: Record<string, unknown> = {};
  for (const method of REQUEST_METHODS) api[method] = (payload?: unknown) => transport.request(method, payload);
  for (const name of pushes) api[listenerName(name)] = (listener: (event: unknown) => void) => transport.subscribe(name, listener);
  return api as ApiCalls & Subscriptions<P>;
}
