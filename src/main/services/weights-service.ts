// The studio's weights manager: status, download with progress events, import from a path or dropped bytes, remove.
// Pure Node (no Electron): the Electron main process, the browser host and the tests all use it as is.

import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Dispatcher } from 'undici';
import { locateWeights, type WeightsLocation, type WeightsQuery, KERAS_VGG19_NOTOP, downloadAndInstallWeights, type WeightsProgress, importWeights, dataDir, removeConvertedWeights, inspectInstalledWeights, type InstalledWeights, storePaths } from '../../engine/index.js';
import type { FetchWeightsRequest, ImportWeightsRequest, Result, WeightsEvent, WeightsInfo } from '../../shared/api.js';
import { fail, ok } from '../../shared/result.js';
import { errorInfo } from './error-info.js';

export interface WeightsServiceOptions {
  /** The data folder shared with the CLI; default dataDir() (NST_DATA_DIR, else the per-OS folder). */
  root?: string;
  /** Mirrors to try; default the Keras ones. */
  urls?: readonly string[];
  /** Default the Keras file's MD5. */
  expectedMd5?: string;
  timeoutMs?: number;
  retries?: number;
  backoffMs?: number;
  /** Progress events at most this often; default 250 ms. */
  progressIntervalMs?: number;
  /** Default: honours HTTPS_PROXY / HTTP_PROXY / NO_PROXY. */
  dispatcher?: Dispatcher;
  /** Which weights runs use (the studio's own lookup); default locateUsableWeights over `root`. */
  locate?: () => Promise<WeightsLocation>;
}

const HELP =
  'Download the full-precision VGG19 (about 80 MB, once), or import a VGG19 file you have ' +
  '(a Keras .h5, an ONNX .onnx, or a TF.js model.json with its shards).';

export class WeightsService {
  private readonly root: string;
  private readonly listeners = new Set<(event: WeightsEvent) => void>();
  private busy: { kind: 'fetch' | 'import'; controller: AbortController } | null = null;

  constructor(private readonly options: WeightsServiceOptions = {}) {
    this.root = options.root ?? dataDir();
  }

  /** Subscribes to weights events; returns the unsubscribe function. */
  onEvent(listener: (event: WeightsEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async status(): Promise<Result<WeightsInfo>> {
    return this.guard(async () => this.info(this.busy?.kind ?? null));
  }

  /** The installed weights (damaged ones as damaged, in the words runs refuse them with) and which weights runs use. */
  private async info(busy: WeightsInfo['busy']): Promise<WeightsInfo> {
    return toInfo(await inspectInstalledWeights(this.root), storePaths(this.root).weights, await this.active(), busy);
  }

  /** The weights runs use now (never throws: a damaged install is reported by the status itself). */
  private async active(): Promise<WeightsLocation> {
    const locate = this.options.locate ?? (() => locateUsableWeights({ storeRoot: this.root }));
    return locate().catch((error: unknown) => ({ path: null, help: error instanceof Error ? error.message : String(error) }));
  }

  /**
   * Downloads, verifies and installs; one job at a time. Progress goes to onEvent listeners. `url` may only pick one
   * of the known mirrors: a client that could name any address would have the host fetch it (a server-side request
   * into the user's network) and learn from the answer. Another address is for `nst weights fetch --url`.
   */
  async fetch(request: FetchWeightsRequest = {}): Promise<Result<WeightsInfo>> {
    const url = request.url?.trim() || null;
    const mirrors = this.options.urls ?? KERAS_VGG19_NOTOP.urls;
    if (url !== null && !mirrors.includes(url)) {
      return fail(
        'URL_NOT_ALLOWED',
        'The studio downloads the weights only from their known mirrors. To use another address, run `nst weights fetch --url URL` on this machine, or import the file.',
      );
    }
    return this.exclusive('fetch', async (signal) => {
      const { urls, expectedMd5, timeoutMs, retries, backoffMs, dispatcher } = this.options;
      await downloadAndInstallWeights({
        root: this.root,
        ...(url ? { urls: [url] } : urls ? { urls } : {}),
        ...(expectedMd5 !== undefined && { expectedMd5 }),
        ...(timeoutMs !== undefined && { timeoutMs }),
        ...(retries !== undefined && { retries }),
        ...(backoffMs !== undefined && { backoffMs }),
        ...(dispatcher !== undefined && { dispatcher }),
        progressIntervalMs: this.options.progressIntervalMs ?? 250,
        signal,
        onProgress: (progress) => this.emit(progressEvent(progress)),
      });
    });
  }

  /** Stops a running download (its part is kept for the next fetch). False when none runs. */
  cancelFetch(): Result<boolean> {
    if (this.busy?.kind !== 'fetch') return ok(false);
    this.busy.controller.abort();
    return ok(true);
  }

  /** Imports a file or TF.js folder the user chose (Electron's open dialog, the browser host's --weights). */
  async importFromPath(filePath: string): Promise<Result<WeightsInfo>> {
    if (typeof filePath !== 'string' || filePath === '') return fail('BAD_ARGUMENT', 'The weights path must be a non-empty string.');
    return this.exclusive('import', async () => {
      await importWeights(filePath, { root: this.root });
    });
  }

  /**
   * Imports dropped files: one .h5 / .onnx, or a TF.js model.json with its shards. They are written to a scratch
   * folder in the data folder (the loaders read files), imported, and the scratch folder is deleted.
   */
  async importFromFiles(request: ImportWeightsRequest): Promise<Result<WeightsInfo>> {
    const files = Array.isArray(request?.files) ? request.files : null;
    if (!files || files.length === 0 || !files.every((f) => typeof f?.name === 'string' && f.bytes instanceof Uint8Array)) {
      return fail('BAD_ARGUMENT', 'An import needs one or more files, each with a name and its bytes.');
    }
    const names = files.map((f) => safeName(f.name));
    // Two drops that come to one name would be written over each other (and concurrently): refuse, naming it.
    const repeated = names.find((name, i) => names.indexOf(name) !== i);
    if (repeated !== undefined) return fail('BAD_ARGUMENT', `Two dropped files are both named ${repeated}; drop each file once.`);
    const entry = names.includes('model.json') ? 'model.json' : names.length === 1 ? names[0] : undefined;
    if (!entry) {
      return fail('BAD_ARGUMENT', 'Drop one .h5 or .onnx file, or a TF.js model.json together with its shard files.');
    }
    return this.exclusive('import', async () => {
      const scratch = path.join(this.root, 'downloads', `import-${randomBytes(6).toString('hex')}`);
      try {
        await mkdir(scratch, { recursive: true });
        await Promise.all(files.map((f, i) => writeFile(path.join(scratch, names[i] ?? `file${i}`), f.bytes)));
        const label = names.length === 1 ? `dropped file ${entry}` : `dropped files ${names.join(', ')}`;
        await importWeights(path.join(scratch, entry), { root: this.root, sourceLabel: label }).catch((error: unknown) => {
          // The scratch folder means nothing to the user: name the files as they dropped them.
          if (error instanceof Error) error.message = error.message.split(`${scratch}${path.sep}`).join('');
          throw error;
        });
      } finally {
        await rm(scratch, { recursive: true, force: true });
      }
    });
  }

  async remove(): Promise<Result<WeightsInfo>> {
    if (this.busy) return fail('WEIGHTS_BUSY', `Cannot remove the weights while a ${this.busy.kind === 'fetch' ? 'download' : 'import'} runs.`);
    return this.guard(async () => {
      await removeConvertedWeights(this.root);
      return this.info(null);
    });
  }

  private async exclusive(kind: 'fetch' | 'import', work: (signal: AbortSignal) => Promise<void>): Promise<Result<WeightsInfo>> {
    if (this.busy) {
      return fail('WEIGHTS_BUSY', `A weights ${this.busy.kind === 'fetch' ? 'download' : 'import'} is already running.`);
    }
    const controller = new AbortController();
    this.busy = { kind, controller };
    try {
      await work(controller.signal);
      this.busy = null;
      const status = await this.info(null);
      this.emit({ type: 'done', status });
      return ok(status);
    } catch (error) {
      this.busy = null;
      const info = errorInfo(error);
      this.emit(info.code === 'ABORTED' ? { type: 'canceled' } : { type: 'error', error: info });
      return { ok: false, error: info };
    }
  }

  private async guard<T>(work: () => Promise<T>): Promise<Result<T>> {
    try {
      return ok(await work());
    } catch (error) {
      return { ok: false, error: errorInfo(error) };
    }
  }

  private emit(event: WeightsEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // One broken listener must not stop a download or the others.
      }
    }
  }
}

/**
 * Which weights the studio's runs use: the engine's lookup, where installed weights that runs would refuse (a blob
 * missing or cut short, an index that does not read) are none, the damage being the reason. A run is then refused at
 * its start in those words, and nothing falls through silently to other weights (as a path that leads nowhere).
 */
export async function locateUsableWeights(query: WeightsQuery): Promise<WeightsLocation> {
  const damage = (damaged: string): WeightsLocation => ({ path: null, help: damaged });
  let found: WeightsLocation;
  try {
    found = await locateWeights(query);
  } catch (error) {
    // readWeightsIndex's refusal of a damaged index, which inspectInstalledWeights words as runs would.
    const { damaged } = await inspectInstalledWeights(query.storeRoot);
    if (damaged !== null) return damage(damaged);
    throw error;
  }
  if (found.path === null || found.origin !== 'installed') return found;
  const { damaged } = await inspectInstalledWeights(query.storeRoot);
  return damaged === null ? found : damage(damaged);
}

function toInfo({ status, damaged }: InstalledWeights, folder: string, active: WeightsLocation, busy: WeightsInfo['busy']): WeightsInfo {
  const index = status?.index ?? null;
  const partials = status?.partialDownloads ?? [];
  const partial = partials.reduce((sum, p) => sum + p.bytes, 0);
  return {
    active: active.path === null ? { origin: null, help: active.help } : { origin: active.origin, path: active.path },
    // Damaged weights are installed (Remove offers to delete them) but never usable: `damaged` says so.
    installed: index !== null || damaged !== null,
    damaged,
    complete: damaged === null && (status?.complete ?? false),
    layers: damaged === null ? [...(status?.layers ?? [])] : [],
    provenance: index && {
      kind: index.provenance.kind,
      source: index.provenance.source,
      format: index.provenance.format,
      date: index.provenance.date,
      files: index.provenance.files.map((f) => ({ ...f })),
    },
    sizeBytes: index?.blob.bytes ?? 0,
    partialDownloadBytes: partials.length > 0 ? partial : null,
    downloadBytes: KERAS_VGG19_NOTOP.approxBytes,
    busy,
    folder,
    help: index && damaged === null ? null : HELP,
  };
}

function progressEvent(progress: WeightsProgress): WeightsEvent {
  if (progress.phase === 'download') {
    const { url, bytes, total, bytesPerSecond, etaSeconds } = progress;
    return { type: 'progress', phase: 'download', url, bytes, total, bytesPerSecond, etaSeconds };
  }
  return { type: 'progress', phase: progress.phase, url: progress.url };
}

/** A dropped file's own name, never a path into somewhere else. */
function safeName(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? '';
  return base.replace(/^\.+/, '').replace(/[^A-Za-z0-9._ -]/g, '_') || 'weights';
}
