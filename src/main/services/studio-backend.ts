// The studio's services behind one object with StudioApi's methods (payloads unknown until validated), so
// Electron's IPC handlers and the browser host's WebSocket share one implementation. Every method resolves to
// a Result: nothing throws across a process or socket boundary.

import type { AppInfo, Result, RunEvent, RunRef } from '../../shared/ipc.js';
import { validateNoPayload } from '../../shared/schemas.js';
import type { StudioSettings } from '../../shared/studio-settings.js';
import { buildAppInfo } from './app-info.js';
import { ExportService, type ExportedImage } from './export-service.js';
import { RunService, type WorkerLocation } from './run-service.js';
import { SettingsStore } from './settings-store.js';
import { locateWeights, type WeightsLocation } from './weights-locator.js';

export interface StudioBackendOptions {
  /** The app's data folder: settings file, default weights folder. */
  dataDir: string;
  worker: WorkerLocation;
  version: string;
  /** An explicit weights path (the browser host's --weights); otherwise NST_WEIGHTS, settings, app data. */
  weightsArgument?: string | null;
  env?: Readonly<Record<string, string | undefined>>;
  threads?: number;
  previewIntervalMs?: number;
}

export class StudioBackend {
  private constructor(
    private readonly options: StudioBackendOptions,
    /** Where the weights are now (asked afresh each time: the user may install them while the app runs). */
    readonly locateWeights: () => Promise<WeightsLocation>,
    readonly settings: SettingsStore,
    readonly runs: RunService,
    readonly exports: ExportService,
  ) {}

  static async create(options: StudioBackendOptions): Promise<StudioBackend> {
    const settings = await SettingsStore.open(options.dataDir);
    if (settings.recovery) console.warn(`[studio] ${settings.recovery}`);
    const locate = (): Promise<WeightsLocation> =>
      locateWeights({ argument: options.weightsArgument ?? null, env: options.env ?? process.env, settingsPath: settings.weightsPath, dataDir: options.dataDir });
    const runs = new RunService({
      worker: options.worker,
      weights: locate,
      ...(options.threads !== undefined ? { threads: options.threads } : {}),
      ...(options.previewIntervalMs !== undefined ? { previewIntervalMs: options.previewIntervalMs } : {}),
    });
    return new StudioBackend(options, locate, settings, runs, new ExportService(runs));
  }

  startRun(payload: unknown): Promise<Result<RunRef>> {
    return guard(() => this.runs.startRun(payload));
  }

  pauseRun(payload: unknown): Promise<Result<null>> {
    return guard(() => this.runs.pauseRun(payload));
  }

  resumeRun(payload: unknown): Promise<Result<null>> {
    return guard(() => this.runs.resumeRun(payload));
  }

  stopRun(payload: unknown): Promise<Result<null>> {
    return guard(() => this.runs.stopRun(payload));
  }

  updateRunSettings(payload: unknown): Promise<Result<null>> {
    return guard(() => this.runs.updateRunSettings(payload));
  }

  /** The encoded file; the caller saves it (Electron, via a dialog) or sends it for download (browser host). */
  exportImage(payload: unknown): Promise<Result<ExportedImage>> {
    return guard(() => this.exports.exportImage(payload));
  }

  getSettings(payload?: unknown): Promise<Result<StudioSettings>> {
    return guard(async () => {
      const none = validateNoPayload(payload);
      return none.ok ? { ok: true, value: this.settings.settings } : none;
    });
  }

  saveSettings(payload: unknown): Promise<Result<null>> {
    return guard(() => this.settings.saveSettings(payload));
  }

  getAppInfo(payload?: unknown): Promise<Result<AppInfo>> {
    return guard(async () => {
      const none = validateNoPayload(payload);
      if (!none.ok) return none;
      const weights = await this.locateWeights();
      return { ok: true, value: buildAppInfo(this.options.version, weights) };
    });
  }

  onRunEvent(listener: (event: RunEvent) => void): () => void {
    return this.runs.onRunEvent(listener);
  }

  async dispose(): Promise<void> {
    await this.runs.dispose();
    await this.settings.flush();
  }
}

async function guard<T>(call: () => Promise<Result<T>>): Promise<Result<T>> {
  try {
    return await call();
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    return { ok: false, error: { code: 'INTERNAL', message: `Something went wrong in the studio: ${detail.split('\n')[0]}` } };
  }
}
