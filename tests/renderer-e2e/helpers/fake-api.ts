// A stand-in window.api for looking at the renderer without the engine: runs "paint" by blending the content photo
// toward the first style image, with loss curves that fall and answer weight changes. Bundled on its own by
// fakeApiScript() (browser.ts) and injected with addInitScript; browser code only. A call of the API table the fake
// does not play answers NOT_IN_FAKE, which the page shows like any error (a test that meets one fails on it).

import {
  REQUEST_METHODS,
  type BatchEvent,
  type BatchItemInfo,
  type BatchStatus,
  type DevicesInfo,
  type StartBatchRequest,
  STUDIO_PUSH_NAMES,
  listenerName,
  type ExportVideoRequest,
  type FfmpegStatus,
  type InterruptedRun,
  type LossPoint,
  type PhotoMasks,
  type RunEvent,
  type StartRunRequest,
  type StopInfo,
  type StudioApi,
  type UpdateRunSettingsRequest,
  type VideoExportEvent,
  type WeightsEvent,
  type WeightsInfo,
} from '../../../src/shared/api.js';
import { exportBaseName } from '../../../src/shared/export-names.js';
import { DEFAULT_VIDEO_SETTINGS, type StudioSettings } from '../../../src/shared/studio-settings.js';

export interface FakeApiOptions {
  msPerIteration: number;
  devices: string[];
  /** When set, startRun answers with this error (to see how the window shows failures). */
  failStart?: { code: string; message: string };
  /** Whether VGG19 weights are installed at first (default true); false shows the first-run Model panel. */
  weightsInstalled?: boolean;
  /** Nothing installed, but the built-in weights run (a fresh install); default false: none at all when not installed. */
  builtInWeights?: boolean;
  /** Installed weights that runs refuse (a truncated blob), with the host's sentence: damaged, and runs use none. */
  weightsDamaged?: string;
  /** Runs an earlier session left unfinished, offered at start-up; resuming one runs its remaining iterations. */
  interrupted?: InterruptedRun[];
  /** The masks an interrupted run's checkpoint holds, by run id (layers as plain arrays: options cross as JSON). */
  interruptedMasks?: Record<string, { width: number; height: number; styles: number[][]; content: number[] | null }>;
  /** The photo an interrupted run's checkpoint holds, by run id (bytes as a plain array), sent back with its masks. */
  interruptedPhotos?: Record<string, { name: string; bytes: number[] }>;
  /** Masks sent mid-run are taken (as the host takes them) and then refused by the run with this sentence ('masksRefused'). */
  refuseMaskEdits?: string;
  /** What getFfmpegStatus answers (default: ffmpeg 6.1 on PATH). */
  ffmpeg?: FfmpegStatus;
  /** Why a run fell back to the CPU, as its started event says (default: a short reason; null: no fallback). */
  fallbackReason?: string | null;
  /** What getDevices answers (default: the CPU alone, not measured). */
  devicesInfo?: DevicesInfo;
  /** When set, each run waits this long as #1 in the queue (behind another run) before it starts. */
  queueMs?: number;
}

/** What the fake records for tests to read (window.__nstFakeCalls). */
export interface FakeApiCalls {
  exportVideo: ExportVideoRequest[];
  fetchWeights: number;
  importWeights: string[][];
}

export function installFakeApi(options: FakeApiOptions): void {
  type Listener = (event: RunEvent) => void;
  const listeners = new Set<Listener>();
  const emit = (event: RunEvent): void => listeners.forEach((l) => l(event));
  let saved: StudioSettings | null = null;
  const photoMasks = new Map<string, PhotoMasks>();
  let runCount = 0;
  const results = new Map<string, OffscreenCanvas>();
  interface Job {
    id: string;
    paused: boolean;
    stopped: boolean;
    settings: StudioSettings;
    /** The last iteration done: paused and resumed events carry it, as the worker's do. */
    iteration: number;
  }
  let job: Job | null = null;
  const calls: FakeApiCalls = { exportVideo: [], fetchWeights: 0, importWeights: [] };
  (window as unknown as { __nstFakeCalls: FakeApiCalls }).__nstFakeCalls = calls;
  const weightsListeners = new Set<(event: WeightsEvent) => void>();
  const videoListeners = new Set<(event: VideoExportEvent) => void>();
  let weights: WeightsInfo = options.weightsDamaged
    ? { ...weightsInfo(true), damaged: options.weightsDamaged, complete: false, layers: [], active: { origin: null, help: options.weightsDamaged } }
    : weightsInfo(options.weightsInstalled ?? true);

  function weightsInfo(installed: boolean, kind: 'download' | 'import' = 'download', source = 'https://example.invalid/vgg19_notop.h5'): WeightsInfo {
    const help = 'Download the full-precision VGG19 (about 80 MB, once), or import a VGG19 file you have.';
    return {
      active: installed ? { origin: 'installed', path: '/fake/data/weights' } : options.builtInWeights ? { origin: 'builtin', path: '/fake/resources/weights' } : { origin: null, help: `No VGG19 weights found. ${help}` },
      installed,
      damaged: null,
      complete: installed,
      layers: installed ? ['block1_conv1', 'block1_conv2'] : [],
      provenance: installed ? { kind, source, format: 'keras-h5', date: '2026-01-01T00:00:00.000Z', files: [] } : null,
      sizeBytes: installed ? 80_000_000 : 0,
      partialDownloadBytes: null,
      downloadBytes: 80_134_624,
      busy: null,
      folder: '/fake/data/weights',
      help: installed ? null : help,
    };
  }

  async function bitmapOf(bytes: Uint8Array): Promise<ImageBitmap> {
    return createImageBitmap(new Blob([bytes.slice()]));
  }

  /** Raw losses per layer, and (as the worker reports them) each term's weighted share, the shares summing to the total. */
  function loss(settings: StudioSettings, iteration: number): LossPoint {
    const style: Record<string, number> = {};
    const content: Record<string, number> = {};
    const weighted: NonNullable<LossPoint['weighted']> = { style: {}, content: {}, tv: settings.tvWeight * 0.01 };
    Object.entries(settings.layers).forEach(([name, layer], i) => {
      const raw = 10 ** (5 + i * 0.4) * (0.2 + 0.8 * Math.exp(-iteration / 25));
      if (layer.style) {
        style[name] = raw;
        weighted.style[name] = settings.styleWeight * layer.styleWeight * (raw / 10 ** (5 + i * 0.4));
      }
      if (layer.content) {
        content[name] = iteration === 1 ? 0 : 40 * (1 - Math.exp(-iteration / 20));
        weighted.content[name] = settings.contentWeight * 0.1 * (1 - Math.exp(-iteration / 20));
      }
    });
    const tv = 20 + iteration * 0.05;
    const sum = (terms: Record<string, number>): number => Object.values(terms).reduce((a, b) => a + b, 0);
    return { iteration, total: sum(weighted.style) + sum(weighted.content) + weighted.tv, style, content, tv, weighted };
  }

  /** The fake runs never converge: they end at their iterations, or stopped. */
  const stopOf = (stopped: boolean, iteration: number): StopInfo =>
    stopped ? { kind: 'stopped', iteration, message: `stopped at iteration ${iteration}` } : { kind: 'cap', iteration, message: `reached the cap of ${iteration} iterations` };

  async function run(request: StartRunRequest, current: Job): Promise<void> {
    const content = await bitmapOf(request.content.bytes);
    const style = await bitmapOf(request.styles[0]!.image.bytes);
    const scale = request.settings.sizePx / Math.max(content.width, content.height);
    const width = Math.round(content.width * scale);
    const height = Math.round(content.height * scale);
    const canvas = new OffscreenCanvas(width, height);
    const ctx = canvas.getContext('2d')!;
    results.set(current.id, canvas);
    if (options.queueMs) {
      emit({ runId: current.id, type: 'queued', position: 1 });
      await new Promise((r) => setTimeout(r, options.queueMs));
    }
    emit({ runId: current.id, type: 'started', width, height, device: 'cpu', fallbackReason: options.fallbackReason === undefined ? 'no CUDA libraries on this machine' : options.fallbackReason });
    const frame = async (iteration: number): Promise<{ width: number; height: number; jpeg: Uint8Array }> => {
      const t = Math.min(1, iteration / 40);
      ctx.globalAlpha = 1;
      ctx.filter = 'none';
      ctx.drawImage(content, 0, 0, width, height);
      ctx.globalAlpha = 0.75 * t;
      ctx.filter = `saturate(${1 + t}) contrast(${1 + 0.3 * t})`;
      ctx.drawImage(style, 0, 0, width, height);
      const blob = await canvas.convertToBlob({ type: 'image/jpeg', quality: 0.85 });
      return { width, height, jpeg: new Uint8Array(await blob.arrayBuffer()) };
    };
    const total = request.settings.iterations;
    for (let i = 1; i <= total; i++) {
      while (current.paused && !current.stopped) await new Promise((r) => setTimeout(r, 50));
      if (current.stopped) break;
      await new Promise((r) => setTimeout(r, options.msPerIteration));
      current.iteration = i;
      emit({
        runId: current.id,
        type: 'progress',
        loss: loss(current.settings, i),
        iterations: total,
        msPerIteration: options.msPerIteration,
        preview: i % 2 === 1 || i === total ? await frame(i) : null,
      });
    }
    const last = await frame(total);
    emit({ runId: current.id, type: 'done', iterations: total, stopped: current.stopped, stop: stopOf(current.stopped, total), final: last, loss: loss(current.settings, total) });
    job = null;
  }

  let interrupted = [...(options.interrupted ?? [])];

  /** A resumed run: only the iterations after its checkpoint, then a plain grey final frame. */
  async function runRest(entry: InterruptedRun, current: Job): Promise<void> {
    const side = entry.sizePx;
    emit({ runId: current.id, type: 'started', width: side, height: side, device: 'cpu', fallbackReason: null });
    for (let i = entry.iteration + 1; i <= entry.totalIterations && !current.stopped; i++) {
      await new Promise((r) => setTimeout(r, options.msPerIteration));
      current.iteration = i;
      emit({ runId: current.id, type: 'progress', loss: loss(current.settings, i), iterations: entry.totalIterations, msPerIteration: options.msPerIteration, preview: null });
    }
    const canvas = new OffscreenCanvas(side, side);
    const ctx = canvas.getContext('2d')!;
    ctx.fillStyle = '#777';
    ctx.fillRect(0, 0, side, side);
    const final = { width: side, height: side, jpeg: new Uint8Array(await (await canvas.convertToBlob({ type: 'image/jpeg' })).arrayBuffer()) };
    emit({ runId: current.id, type: 'done', iterations: entry.totalIterations, stopped: current.stopped, stop: stopOf(current.stopped, entry.totalIterations), final, loss: loss(current.settings, entry.totalIterations) });
    job = null;
  }

  const ok = <T>(value: T) => Promise.resolve({ ok: true as const, value });

  // The batch queue: each photo "painted" in a few quick iterations (blended toward the first style, as a run is),
  // one after another; a photo that does not decode fails with the engine's kind of message.
  const batchListeners = new Set<(event: BatchEvent) => void>();
  const emptyBatch = (): BatchStatus => ({ state: 'empty', items: [], current: null, total: 0, done: 0, failed: 0, error: null });
  let batch: BatchStatus = emptyBatch();
  const batchOutputs = new Map<number, { fileName: string; bytes: Uint8Array }>();
  const setBatch = (next: BatchStatus): void => {
    batch = next;
    batchListeners.forEach((l) => l({ type: 'status', status: structuredClone(batch) }));
  };
  async function runBatch(request: StartBatchRequest): Promise<void> {
    const style = await bitmapOf(request.styles[0]!.image.bytes);
    for (const item of batch.items) {
      setBatch({ ...batch, items: batch.items.map((i) => (i === item ? { ...i, state: 'running' } : i)), current: { index: item.index, iteration: 0, iterations: 3 } });
      let done: Partial<BatchItemInfo>;
      try {
        const content = await bitmapOf(request.contents[item.index]!.bytes);
        const canvas = new OffscreenCanvas(content.width, content.height);
        const ctx = canvas.getContext('2d')!;
        ctx.drawImage(content, 0, 0);
        ctx.globalAlpha = 0.6;
        ctx.drawImage(style, 0, 0, content.width, content.height);
        await new Promise((r) => setTimeout(r, options.msPerIteration * 3));
        const bytes = new Uint8Array(await (await canvas.convertToBlob({ type: 'image/png' })).arrayBuffer());
        batchOutputs.set(item.index, { fileName: `${item.name.replace(/\.[^.]*$/, '')}-styled.png`, bytes });
        done = { state: 'done', seconds: 0.1 };
      } catch {
        done = { state: 'failed', error: { code: 'NOT_AN_IMAGE', message: `${item.name} is not an image that can be decoded.` } };
      }
      const items = batch.items.map((i) => (i.index === item.index ? { ...i, ...done } : i));
      setBatch({ ...batch, items, done: items.filter((i) => i.state === 'done').length, failed: items.filter((i) => i.state === 'failed').length, current: null });
    }
    setBatch({ ...batch, state: 'finished' });
  }
  const played = {
    startRun(request) {
      if (options.failStart) return Promise.resolve({ ok: false as const, error: options.failStart });
      const current: Job = { id: `run-${++runCount}`, paused: false, stopped: false, settings: request.settings, iteration: 0 };
      job = current;
      setTimeout(() => void run(request, current), 0);
      return ok({ runId: current.id });
    },
    pauseRun(ref) {
      if (job && job.id === ref.runId) {
        job.paused = true;
        emit({ runId: ref.runId, type: 'paused', iteration: job.iteration });
      }
      return ok(null);
    },
    resumeRun(ref) {
      if (job && job.id === ref.runId) {
        job.paused = false;
        emit({ runId: ref.runId, type: 'resumed', iteration: job.iteration });
      }
      return ok(null);
    },
    setRunMasks(request) {
      const current = job;
      if (current && current.id === request.runId && options.refuseMaskEdits) {
        const message = options.refuseMaskEdits;
        setTimeout(() => emit({ runId: current.id, type: 'masksRefused', iteration: current.iteration, message }), options.msPerIteration);
      }
      return ok(null);
    },
    stopRun(ref) {
      if (job && job.id === ref.runId) job.stopped = true;
      return ok(null);
    },
    updateRunSettings(request: UpdateRunSettingsRequest) {
      if (job && job.id === request.runId) job.settings = request.settings;
      return ok(null);
    },
    async exportImage(request) {
      const canvas = results.get(request.runId);
      if (!canvas) return { ok: false, error: { code: 'no-image', message: 'That run has no image yet.' } };
      return ok({ kind: 'download' as const, fileName: `${exportBaseName(request.runId)}.${request.format === 'png' ? 'png' : 'jpg'}`, bytes: new Uint8Array(await (await canvas.convertToBlob({ type: `image/${request.format}` })).arrayBuffer()) });
    },
    // Nothing saved yet reads as null: the renderer fills in its defaults.
    getSettings: () => ok(saved as StudioSettings),
    saveSettings(settings) {
      saved = settings;
      return ok(null);
    },
    // Masks kept per photo for the page's life (the real hosts keep them in the data folder: photo-masks-store.ts).
    getPhotoMasks: (ref) => ok(photoMasks.get(ref.photo) ?? null),
    savePhotoMasks(request) {
      if (request.masks) photoMasks.set(request.photo, request.masks);
      else photoMasks.delete(request.photo);
      return ok(null);
    },
    getAppInfo: () => ok({ version: '0.1.0', weights: weights.active.origin !== null ? { source: 'fake' } : { source: null, help: weights.active.help }, devices: options.devices, platform: 'linux' }),
    getDevices: () =>
      ok(
        options.devicesInfo ?? {
          auto: { device: 'cpu', reason: 'the only device that can run here', measured: false },
          devices: [{ device: 'cpu', adapter: 'Fake CPU (4 threads)', software: false, canRun: true, msPerIteration: null, why: null }],
          measuredAt: null,
          sizePx: null,
        },
      ),
    onRunEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    getWeightsStatus: () => ok(weights),
    async fetchWeights() {
      calls.fetchWeights++;
      const total = 80_134_624;
      for (let i = 1; i <= 4; i++) {
        await new Promise((r) => setTimeout(r, 30));
        weightsListeners.forEach((l) => l({ type: 'progress', phase: 'download', url: 'https://example.invalid/vgg19_notop.h5', bytes: (total * i) / 4, total, bytesPerSecond: 8e6, etaSeconds: 4 - i }));
      }
      weights = weightsInfo(true);
      weightsListeners.forEach((l) => l({ type: 'done', status: weights }));
      return ok(weights);
    },
    cancelWeightsFetch: () => ok(null),
    importWeights(request) {
      calls.importWeights.push(request.files.map((f) => f.name));
      weights = weightsInfo(true, 'import', `dropped file ${request.files[0]?.name ?? ''}`);
      weightsListeners.forEach((l) => l({ type: 'done', status: weights }));
      return ok(weights);
    },
    removeWeights() {
      weights = weightsInfo(false);
      return ok(weights);
    },
    onWeightsEvent(listener) {
      weightsListeners.add(listener);
      return () => weightsListeners.delete(listener);
    },
    async exportVideo(request) {
      calls.exportVideo.push(request);
      const emitVideo = (event: VideoExportEvent): void => videoListeners.forEach((l) => l(event));
      for (let frame = 1; frame <= 3; frame++) {
        await new Promise((r) => setTimeout(r, 20));
        emitVideo({ runId: request.runId, type: 'progress', phase: 'encode', frame, totalFrames: 3, fraction: frame / 3 });
      }
      const mimeType = ({ mp4: 'video/mp4', webm: 'video/webm', gif: 'image/gif' } as const)[request.format];
      const info = { path: null, fileName: `${exportBaseName(request.runId)}.${request.format}`, format: request.format, mimeType, width: 64, height: 64, fps: request.fps, frames: 3, durationSeconds: 3 / request.fps, sizeBytes: 4 };
      emitVideo({ runId: request.runId, type: 'done', info });
      return ok({ kind: 'download' as const, info, bytes: new Uint8Array([0, 0, 0, 24]) });
    },
    cancelVideoExport: () => ok(null),
    getFfmpegStatus: () => ok(options.ffmpeg ?? { found: true as const, path: '/usr/bin/ffmpeg', source: 'path' as const, version: '6.1', notes: [] }),
    // A fixed budget of 2 GB and a rough 1 MB per 1000 pixels: enough for the size control's line and proposal.
    estimateMemory: (request) => {
      const side = request.settings.sizePx;
      const totalBytes = 600 * 2 ** 20 + side * side * 1049;
      const limitBytes = (request.settings.memoryLimitMb ?? 2048) * 2 ** 20;
      const fits = totalBytes <= limitBytes;
      const largest = fits ? null : Math.max(64, Math.floor(Math.sqrt((limitBytes - 600 * 2 ** 20) / 1049)));
      const plan = fits ? { mode: 'whole' as const, sizePx: side, estimateBytes: totalBytes } : { mode: 'downscaled' as const, sizePx: largest!, estimateBytes: limitBytes };
      return ok({
        width: side,
        height: side,
        totalBytes,
        breakdown: { weights: 387 * 2 ** 20, activations: totalBytes / 4, workspace: totalBytes / 4, optimizer: 0, runtime: 165 * 2 ** 20 },
        deviceBytes: null,
        calibrated: true,
        limitBytes,
        limitSource: request.settings.memoryLimitMb === null ? ('available' as const) : ('setting' as const),
        fits,
        largestFittingPx: largest,
        tiling: null,
        plan,
        planError: null,
      });
    },
    getVideoSettings: () => ok({ ...DEFAULT_VIDEO_SETTINGS }),
    saveVideoSettings: () => ok(null),
    onVideoEvent(listener) {
      videoListeners.add(listener);
      return () => videoListeners.delete(listener);
    },
    // Pausing is exercised against the real host (studio.test.ts); the fake's batch runs straight through.
    startBatch(request: StartBatchRequest) {
      batchOutputs.clear();
      const items = request.contents.map((c, index): BatchItemInfo => ({ index, name: c.name, state: 'pending', error: null, seconds: null }));
      setBatch({ state: 'running', items, current: null, total: items.length, done: 0, failed: 0, error: null });
      setTimeout(() => void runBatch(request), 0);
      return ok(structuredClone(batch));
    },
    pauseBatch: () => ok(structuredClone(batch)),
    resumeBatch: () => ok(structuredClone(batch)),
    clearBatch() {
      batchOutputs.clear();
      setBatch(emptyBatch());
      return ok(structuredClone(batch));
    },
    getBatchStatus: () => ok(structuredClone(batch)),
    getBatchOutput(ref) {
      const output = batchOutputs.get(ref.index);
      return output ? ok(output) : Promise.resolve({ ok: false as const, error: { code: 'UNKNOWN_ITEM', message: `Batch item ${ref.index} has no image.` } });
    },
    onBatchEvent(listener) {
      batchListeners.add(listener);
      return () => batchListeners.delete(listener);
    },
    // The Video tab is played against the real host (video-tab.test.ts); here there is no job.
    getVideoJobStatus: () => ok({ state: 'empty' as const, clipName: null, frames: 0, framesDone: 0, fps: 0, width: 0, height: 0, hasAudio: false, current: null, encoded: null, output: null, error: null }),
    // The real host's interrupted runs are covered by tests/main/run-checkpoint.test.ts.
    listInterruptedRuns: () => ok([...interrupted]),
    resumeInterruptedRun(ref) {
      const entry = interrupted.find((r) => r.runId === ref.runId);
      if (!entry) return Promise.resolve({ ok: false as const, error: { code: 'FILE_NOT_FOUND', message: `No run ${ref.runId}.` } });
      interrupted = interrupted.filter((r) => r !== entry);
      const current: Job = { id: entry.runId, paused: false, stopped: false, settings: entry.settings, iteration: entry.iteration };
      job = current;
      setTimeout(() => void runRest(entry, current), 0);
      const masks = options.interruptedMasks?.[entry.runId];
      if (!masks) return ok({ runId: entry.runId });
      const photo = options.interruptedPhotos?.[entry.runId];
      return ok({
        runId: entry.runId,
        masks: { ...masks, styles: masks.styles.map((m) => Uint8Array.from(m)), content: masks.content ? Uint8Array.from(masks.content) : null },
        ...(photo ? { content: { name: photo.name, bytes: Uint8Array.from(photo.bytes) } } : {}),
      });
    },
    discardInterruptedRun(ref) {
      interrupted = interrupted.filter((r) => r.runId !== ref.runId);
      return ok(null);
    },
  } satisfies Partial<StudioApi>;
  (window as unknown as { api: StudioApi }).api = withEveryCall(played);
}

/** The fake's calls, and for every other call of the table an answer that says the fake does not play it. */
function withEveryCall(played: Partial<StudioApi>): StudioApi {
  const api: Record<string, unknown> = { ...played };
  for (const method of REQUEST_METHODS) {
    api[method] ??= () => Promise.resolve({ ok: false, error: { code: 'NOT_IN_FAKE', message: `The fake API does not play ${method}.` } });
  }
  for (const name of STUDIO_PUSH_NAMES) api[listenerName(name)] ??= () => () => undefined;
  return api as StudioApi;
}
