// Installs VGG19 weights into the store, validated first: a file the user has (.h5, .onnx, TF.js model.json or
// folder), or the one downloaded and verified (download.ts).

import { readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { NstError, isNstError } from '../errors.js';
import { VGG19_LAYER_NAMES } from '../model/vgg19.js';
import { detectWeightsFormat, loadWeights, type WeightsFormat } from './load.js';
import { dataDir } from '../persist/data-dir.js';
import { fetchWeights, KERAS_VGG19_NOTOP, type FetchWeightsOptions } from './download.js';
import { isShardPathInside } from './tfjs.js';
import { hashFile, storePaths, writeConvertedWeights, type SourceFile, type WeightsIndex, type WeightsProvenance } from './store.js';
import type { Vgg19Weights } from './types.js';

export interface ImportWeightsOptions {
  /** The data folder; default dataDir(). */
  readonly root?: string;
  /** What to record as the source instead of the path (e.g. the name of a file dropped into the app). */
  readonly sourceLabel?: string;
}

/**
 * Loads `sourcePath`, checks that it is VGG19 (known layer names, the table's shapes, finite values, layers
 * from block1_conv1 on without gaps), and installs it as the converted weights. Nothing is installed, and the
 * weights already installed stay, when any check fails.
 */
export async function importWeights(sourcePath: string, options: ImportWeightsOptions = {}): Promise<WeightsIndex> {
  const absolute = path.resolve(sourcePath);
  const format = await detectWeightsFormat(absolute).catch((error: unknown) => refuse(absolute, error));
  const files = await sourceFiles(absolute, format);
  return installWeightsFile(absolute, {
    kind: 'import',
    source: options.sourceLabel ?? absolute,
    format,
    files: await digestFiles(files),
    root: options.root,
  });
}

export interface DownloadAndInstallOptions extends Omit<FetchWeightsOptions, 'destDir' | 'expectedMd5' | 'fileName'> {
  /** The data folder; default dataDir(). */
  readonly root?: string;
  /** Default: the Keras file's MD5 (a user URL is expected to serve that same file unless this is given). */
  readonly expectedMd5?: string;
}

/**
 * Downloads (or takes a local file), verifies, converts into the store: only then are the weights installed.
 * The downloaded file is deleted once converted; its digests stay in the index's provenance.
 */
export async function downloadAndInstallWeights(options: DownloadAndInstallOptions = {}): Promise<WeightsIndex> {
  const root = options.root ?? dataDir();
  const urls = options.urls ?? KERAS_VGG19_NOTOP.urls;
  const fetched = await fetchWeights({
    ...options,
    urls,
    destDir: storePaths(root).downloads,
    fileName: options.urls ? fileNameFor(urls[0] ?? '') : KERAS_VGG19_NOTOP.fileName,
    expectedMd5: options.expectedMd5 ?? KERAS_VGG19_NOTOP.md5,
  });
  try {
    options.onProgress?.({ phase: 'convert', url: fetched.url });
    return await installWeightsFile(fetched.path, {
      kind: 'download',
      source: fetched.url,
      files: [{ name: path.basename(fetched.path), bytes: fetched.bytes, md5: fetched.md5, sha256: fetched.sha256 }],
      root,
    });
  } finally {
    if (!fetched.local) await rm(fetched.path, { force: true });
  }
}

/** The download's file name from its URL (the loaders go by extension), made safe for any file system. */
function fileNameFor(url: string): string {
  let base = '';
  try {
    base = /^https?:/i.test(url) ? path.posix.basename(decodeURIComponent(new URL(url).pathname)) : path.basename(url);
  } catch {
    base = '';
  }
  const safe = base.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '');
  return safe || 'vgg19-weights.download';
}

export interface InstallSource {
  readonly kind: WeightsProvenance['kind'];
  readonly source: string;
  readonly format?: WeightsFormat;
  readonly files: readonly SourceFile[];
  readonly root?: string | undefined;
}

/** Shared by import and download: load + validate + convert into the store. */
export async function installWeightsFile(filePath: string, from: InstallSource): Promise<WeightsIndex> {
  const format = from.format ?? (await detectWeightsFormat(filePath).catch((error: unknown) => refuse(filePath, error)));
  const weights = await loadWeights(filePath).catch((error: unknown) => refuse(filePath, error));
  requireContiguousLayers(weights, filePath);
  const provenance: WeightsProvenance = {
    kind: from.kind,
    source: from.source,
    format,
    files: from.files,
    date: new Date().toISOString(),
  };
  return writeConvertedWeights(weights, provenance, from.root ?? dataDir());
}

/** The graph runs from block1_conv1 down, so a file with a gap (or starting deeper) cannot serve any run. */
function requireContiguousLayers(weights: Vgg19Weights, file: string): void {
  const present = VGG19_LAYER_NAMES.filter((name) => weights.layers.has(name));
  const gap = VGG19_LAYER_NAMES.slice(0, present.length).find((name) => !weights.layers.has(name));
  if (gap) {
    throw new NstError(
      'BAD_WEIGHTS',
      `Not imported: ${file} has VGG19 layers ${present.join(', ')} but lacks ${gap}; ` +
        'usable weights run from block1_conv1 down without gaps.',
    );
  }
}

/** Keeps the loader's code (FILE_NOT_FOUND, BAD_WEIGHTS) and says that nothing was imported. */
function refuse(file: string, error: unknown): never {
  if (isNstError(error)) {
    const message = error.message.includes(file) ? error.message : `${file}: ${error.message}`;
    throw new NstError(error.code, `Not imported: ${message}`, { cause: error });
  }
  throw error;
}

/** The files that make up the weights: the one file, or a TF.js model.json and the shards its manifest names. */
async function sourceFiles(absolute: string, format: WeightsFormat): Promise<string[]> {
  const info = await stat(absolute);
  if (format === 'converted') {
    const folder = info.isDirectory() ? absolute : path.dirname(absolute);
    return [path.join(folder, 'vgg19.json'), path.join(folder, 'vgg19.bin')];
  }
  if (format !== 'tfjs') return [absolute];
  const modelJson = info.isDirectory() ? path.join(absolute, 'model.json') : absolute;
  const folder = path.dirname(modelJson);
  const shards = new Set<string>();
  try {
    const manifest = (JSON.parse(await readFile(modelJson, 'utf8')) as { weightsManifest?: { paths?: unknown }[] }).weightsManifest;
    for (const group of manifest ?? []) {
      for (const shard of Array.isArray(group.paths) ? group.paths : []) {
        // Containment first: a manifest naming /dev/zero or a FIFO elsewhere must not get it opened (loadWeights refuses it).
        if (typeof shard === 'string' && isShardPathInside(folder, shard)) shards.add(path.resolve(folder, shard));
      }
    }
  } catch {
    // loadWeights names what is wrong with the model.json; the digests just cover what can be read.
  }
  return [modelJson, ...shards];
}

async function digestFiles(files: readonly string[]): Promise<SourceFile[]> {
  const base = path.dirname(files[0] ?? '');
  const digests: SourceFile[] = [];
  for (const file of files) {
    // Regular files only (hashFile refuses the rest without blocking); loadWeights says what is wrong with them.
    const digest = await hashFile(file).catch(() => null);
    if (digest) digests.push({ name: path.relative(base, file) || path.basename(file), ...digest });
  }
  return digests;
}
