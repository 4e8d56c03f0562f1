// Downloads the VGG19 weights file, verified: mirrors in order, Range resume, timeouts, retries, proxy from env, MD5
// before use. (Installing it into the store is import.ts's.)

import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { Dispatcher } from 'undici';
import { NstError } from '../errors.js';
import { acquireOwnerLock, LockHeld } from '../sys/owner-lock.js';
import { hashFile } from './store.js';

/** The file keras.applications.VGG19(include_top=False) downloads, and the MD5 Keras checks it against. */
export const KERAS_VGG19_NOTOP = {
  fileName: 'vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5',
  md5: '253f8cb515780f3b799900260a226db6',
  /** For display before the server says ("80 MB"). */
  approxBytes: 80_134_624,
  urls: [
    'https://github.com/fchollet/deep-learning-models/releases/download/v0.1/vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5',
    'https://storage.googleapis.com/tensorflow/keras-applications/vgg19/vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5',
  ],
} as const;

export interface DownloadProgress {
  readonly url: string;
  /** Bytes of the file received so far, including any from before a resume. */
  readonly bytes: number;
  /** The file's size, when the server says. */
  readonly total: number | null;
  /** Over the last few seconds. */
  readonly bytesPerSecond: number;
  readonly etaSeconds: number | null;
  /** Where this request began: above 0 when it resumed a .part; 0 again when a server ignored the Range. */
  readonly resumedFrom: number;
  /** 1 for the first try of this URL. */
  readonly attempt: number;
}

export type WeightsProgress =
  | ({ readonly phase: 'download' } & DownloadProgress)
  | { readonly phase: 'verify'; readonly url: string; readonly bytes: number }
  | { readonly phase: 'convert'; readonly url: string };

export interface FetchWeightsOptions {
  /** Tried in order; http(s) URLs, file: URLs or local paths. Default: the Keras mirrors. */
  readonly urls?: readonly string[];
  /** Where the .part and the verified file go. */
  readonly destDir: string;
  /** Name of the verified file (and of its .part: `NAME.part`); default the Keras file name. */
  readonly fileName?: string;
  readonly expectedMd5: string;
  /** Checked as well when given. */
  readonly expectedSha256?: string;
  readonly onProgress?: (progress: WeightsProgress) => void;
  /** Stops the download; the .part stays for the next call to resume. */
  readonly signal?: AbortSignal;
  /** Connecting, waiting for the response, and any pause in the data; default 30 s. */
  readonly timeoutMs?: number;
  /** Further tries per URL after network errors, timeouts and 5xx; default 3. */
  readonly retries?: number;
  /** First back-off, doubled on each retry (capped at 30 s); default 1 s. */
  readonly backoffMs?: number;
  /** At most one progress report per this interval, plus the last; default 100 ms. */
  readonly progressIntervalMs?: number;
  /** Default: an agent that honours HTTPS_PROXY / HTTP_PROXY / NO_PROXY. */
  readonly dispatcher?: Dispatcher;
}

export interface FetchedFile {
  readonly path: string;
  /** The URL or path it came from. */
  readonly url: string;
  /** True when it is the user's own local file (not a download to delete after use). */
  readonly local: boolean;
  readonly bytes: number;
  readonly md5: string;
  readonly sha256: string;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_RETRIES = 3;
const DEFAULT_BACKOFF_MS = 1_000;
const MAX_BACKOFF_MS = 30_000;
const MAX_REDIRECTS = 5;
const RATE_WINDOW_MS = 3_000;
const USER_AGENT = 'neural-style-studio (VGG19 weights download)';

/** What the .part's resume record holds: enough to resume it only against the same file. */
interface PartRecord {
  readonly url: string;
  readonly md5: string;
  readonly etag: string | null;
  readonly lastModified: string | null;
  readonly total: number | null;
}

/** One failed try: whether another try of the same URL may succeed. */
class AttemptError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly mismatch = false,
  ) {
    super(message);
  }
}

/**
 * Downloads to DEST/NAME.part, resuming one left by an earlier call; checks MD5 (and SHA-256 when given) and only
 * then renames it to DEST/NAME. A file with the wrong digest is deleted. Throws DOWNLOAD_FAILED or
 * CHECKSUM_MISMATCH naming every URL tried and why it failed, or ABORTED.
 */
export async function fetchWeights(options: FetchWeightsOptions): Promise<FetchedFile> {
  const expectedMd5 = checkDigest('expectedMd5', options.expectedMd5, 32);
  const expectedSha256 = options.expectedSha256 === undefined ? undefined : checkDigest('expectedSha256', options.expectedSha256, 64);
  const urls = options.urls ?? KERAS_VGG19_NOTOP.urls;
  if (urls.length === 0) throw new NstError('BAD_ARGUMENT', 'fetchWeights needs at least one URL.');
  // ftp://, s3://, …: a scheme nst does not speak is said as such, not taken for a local path that does not exist.
  for (const url of urls) {
    const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
    if (scheme !== undefined && !['http', 'https', 'file'].includes(scheme)) {
      throw new NstError('BAD_ARGUMENT', `Cannot download ${url}: nst speaks http and https (or takes a file: URL or a local path), not ${scheme}.`);
    }
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const retries = options.retries ?? DEFAULT_RETRIES;
  // undici on first use: every `nst` run would load it otherwise (70 ms of a run's start-up) for a rare download.
  const dispatcher = options.dispatcher ?? new (await import('undici')).EnvHttpProxyAgent({ connect: { timeout: timeoutMs } });
  const target = path.join(options.destDir, options.fileName ?? KERAS_VGG19_NOTOP.fileName);
  const job: Job = {
    part: `${target}.part`,
    record: `${target}.part.json`,
    expectedMd5,
    expectedSha256,
    timeoutMs,
    dispatcher,
    signal: options.signal,
    progressIntervalMs: options.progressIntervalMs ?? 100,
    onProgress: options.onProgress ?? (() => {}),
  };
  await mkdir(options.destDir, { recursive: true }).catch((cause: unknown) => {
    throw new NstError('DOWNLOAD_FAILED', `Cannot create the download folder ${options.destDir}: ${(cause as Error).message}`, { cause });
  });
  const unlock = await lockDownload(`${target}.part.lock`);

  const failures: string[] = [];
  let mismatched = false;
  try {
    for (const url of urls) {
      if (!/^https?:\/\//i.test(url)) {
        try {
          return await useLocalFile(url, job);
        } catch (error) {
          if (!(error instanceof AttemptError)) throw error;
          mismatched ||= error.mismatch;
          failures.push(`${url}: ${error.message}`);
          continue;
        }
      }
      for (let attempt = 1; attempt <= retries + 1; attempt++) {
        try {
          const digest = await downloadOnce(url, attempt, job);
          await rename(job.part, target);
          await rm(job.record, { force: true });
          return { path: target, url, local: false, ...digest };
        } catch (error) {
          if (options.signal?.aborted) throw aborted();
          if (!(error instanceof AttemptError)) throw error;
          mismatched ||= error.mismatch;
          const last = attempt > retries || !error.retryable;
          if (last) {
            failures.push(`${url}: ${error.message}${attempt > 1 ? ` (after ${attempt} tries)` : ''}`);
            break;
          }
          const backoff = Math.min(MAX_BACKOFF_MS, (options.backoffMs ?? DEFAULT_BACKOFF_MS) * 2 ** (attempt - 1));
          await delay(backoff * (0.75 + Math.random() / 2), undefined, { signal: options.signal }).catch(() => {
            throw aborted();
          });
        }
      }
    }
  } finally {
    await unlock();
    if (!options.dispatcher) await dispatcher.close().catch(() => {});
  }
  // Only a download that got somewhere leaves a .part to resume (a local file that failed leaves none).
  const partial = !mismatched && (await fileSize(job.part)) > 0;
  throw new NstError(
    mismatched ? 'CHECKSUM_MISMATCH' : 'DOWNLOAD_FAILED',
    `Could not get the VGG19 weights: ${failures.join('; ')}.` +
      (mismatched ? ' A file with the wrong digest is deleted, never installed.' : partial ? ' A partial download is kept and resumed next time.' : ''),
  );
}

interface Job {
  readonly part: string;
  readonly record: string;
  readonly expectedMd5: string;
  readonly expectedSha256: string | undefined;
  readonly timeoutMs: number;
  readonly dispatcher: Dispatcher;
  readonly signal: AbortSignal | undefined;
  readonly progressIntervalMs: number;
  readonly onProgress: (progress: WeightsProgress) => void;
}

/** One GET (following redirects) into the .part, then the digest check. */
async function downloadOnce(url: string, attempt: number, job: Job): Promise<{ bytes: number; md5: string; sha256: string }> {
  const record = await readRecord(job.record);
  let offset = await fileSize(job.part);
  // A .part of some other file (another expected MD5) is no use; one from another mirror of this file is.
  if (offset > 0 && record?.md5 !== job.expectedMd5) offset = await discardPart(job);
  const validator = offset > 0 && record?.url === url ? (strongEtag(record.etag) ?? record.lastModified) : null;

  const response = await get(url, offset, validator, job);
  const status = response.statusCode;
  const header = (name: string): string | null => headerValue(response.headers[name]);
  let total: number | null;
  if (status === 206) {
    const range = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(header('content-range') ?? '');
    if (!range || Number(range[1]) !== offset) {
      await response.body.dump().catch(() => {});
      await discardPart(job);
      throw new AttemptError(`the server answered the resume request with range "${header('content-range') ?? ''}"`, true);
    }
    total = range[2] === '*' ? null : Number(range[2]);
  } else if (status === 200) {
    // No Range sent, or the server ignored it (or If-Range said the file changed): start from zero.
    offset = 0;
    total = contentLength(header('content-length'));
  } else if (status === 416) {
    await response.body.dump().catch(() => {});
    const size = /\/(\d+)$/.exec(header('content-range') ?? '');
    if (size && Number(size[1]) === offset) return verifyPart(url, job, true);
    await discardPart(job);
    throw new AttemptError('the server refused to resume the partial download (HTTP 416); starting over', true);
  } else {
    await response.body.dump().catch(() => {});
    throw new AttemptError(`HTTP ${status}${statusText(status)}`, status === 408 || status === 425 || status === 429 || status >= 500);
  }

  const etag = header('etag');
  const lastModified = header('last-modified');
  await writeFile(job.record, JSON.stringify({ url, md5: job.expectedMd5, etag, lastModified, total } satisfies PartRecord));
  await receiveBody(response.body, { url, attempt, offset, total }, job);
  return verifyPart(url, job, offset > 0);
}

async function get(url: string, offset: number, validator: string | null, job: Job): Promise<Dispatcher.ResponseData> {
  let current = url;
  for (let hop = 0; ; hop++) {
    const headers: Record<string, string> = { 'user-agent': USER_AGENT, 'accept-encoding': 'identity' };
    if (offset > 0) headers['range'] = `bytes=${offset}-`;
    if (offset > 0 && validator) headers['if-range'] = validator;
    let response: Dispatcher.ResponseData;
    try {
      response = await (await import('undici')).request(current, {
        method: 'GET',
        headers,
        dispatcher: job.dispatcher,
        signal: job.signal ?? null,
        headersTimeout: job.timeoutMs,
        bodyTimeout: job.timeoutMs,
      });
    } catch (error) {
      throw networkError(error, job.timeoutMs);
    }
    const location = headerValue(response.headers['location']);
    if (response.statusCode < 300 || response.statusCode >= 400 || !location || response.statusCode === 304) return response;
    await response.body.dump().catch(() => {});
    // Release assets redirect to short-lived signed URLs: follow them, but resume against the URL given.
    if (hop >= MAX_REDIRECTS) throw new AttemptError(`more than ${MAX_REDIRECTS} redirects`, false);
    current = new URL(location, current).href;
  }
}

/** Appends each chunk to the .part as it arrives, so whatever came before a dropped connection is kept. */
async function receiveBody(
  body: AsyncIterable<Uint8Array>,
  at: { url: string; attempt: number; offset: number; total: number | null },
  job: Job,
): Promise<void> {
  const handle = await open(job.part, at.offset > 0 ? 'a' : 'w');
  let bytes = at.offset;
  const samples: { ms: number; bytes: number }[] = [{ ms: performance.now(), bytes }];
  let lastReport = -Infinity;
  const report = (force: boolean): void => {
    const now = performance.now();
    if (!force && now - lastReport < job.progressIntervalMs) return;
    lastReport = now;
    samples.push({ ms: now, bytes });
    while (samples.length > 2 && now - (samples[1]?.ms ?? now) > RATE_WINDOW_MS) samples.shift();
    const first = samples[0] ?? { ms: now, bytes };
    const seconds = (now - first.ms) / 1000;
    const bytesPerSecond = seconds > 0 ? (bytes - first.bytes) / seconds : 0;
    const etaSeconds = at.total !== null && bytesPerSecond > 0 ? Math.max(0, at.total - bytes) / bytesPerSecond : null;
    job.onProgress({ phase: 'download', url: at.url, bytes, total: at.total, bytesPerSecond, etaSeconds, resumedFrom: at.offset, attempt: at.attempt });
  };
  try {
    report(true);
    try {
      for await (const chunk of body) {
        try {
          await handle.write(chunk);
        } catch (error) {
          throw new AttemptError(`cannot write ${job.part}: ${(error as Error).message}`, false);
        }
        bytes += chunk.length;
        report(false);
      }
    } catch (error) {
      if (error instanceof AttemptError) throw error;
      throw networkError(error, job.timeoutMs, bytes);
    }
    report(true);
  } finally {
    await handle.close();
  }
  if (at.total !== null && bytes !== at.total) {
    throw new AttemptError(`the connection ended after ${bytes} of ${at.total} bytes`, true);
  }
}

/**
 * Hashes the finished .part; a wrong digest deletes it (and its record) so it can never be used. After a resume
 * the old part may be what was wrong, so that URL gets another, fresh try.
 */
async function verifyPart(url: string, job: Job, resumed: boolean): Promise<{ bytes: number; md5: string; sha256: string }> {
  job.onProgress({ phase: 'verify', url, bytes: await fileSize(job.part) });
  const digest = await hashFile(job.part);
  const wrong =
    digest.md5 !== job.expectedMd5
      ? `MD5 ${digest.md5}, not the expected ${job.expectedMd5}`
      : job.expectedSha256 && digest.sha256 !== job.expectedSha256
        ? `SHA-256 ${digest.sha256}, not the expected ${job.expectedSha256}`
        : null;
  if (wrong) {
    await discardPart(job);
    throw new AttemptError(`the file (${digest.bytes} bytes) has ${wrong}; it was deleted`, resumed, true);
  }
  return digest;
}

/** A mirror on disk or a network share: checked in place, never copied. */
async function useLocalFile(location: string, job: Job): Promise<FetchedFile> {
  const file = location.startsWith('file:') ? fileURLToPath(location) : path.resolve(location);
  const info = await stat(file).catch(() => undefined);
  if (!info?.isFile()) throw new AttemptError(`${file} is not a file`, false);
  job.onProgress({ phase: 'verify', url: file, bytes: info.size });
  const digest = await hashFile(file);
  if (digest.md5 !== job.expectedMd5) {
    throw new AttemptError(`the file has MD5 ${digest.md5}, not the expected ${job.expectedMd5}`, false, true);
  }
  if (job.expectedSha256 && digest.sha256 !== job.expectedSha256) {
    throw new AttemptError(`the file has SHA-256 ${digest.sha256}, not the expected ${job.expectedSha256}`, false, true);
  }
  return { path: file, url: file, local: true, ...digest };
}

/**
 * One download per file at a time (the app and the CLI share the data folder): two writers appending to one .part
 * would only produce a file that fails its digest. A lock left by a process that is gone (or whose pid another
 * program now has) is taken over.
 */
async function lockDownload(lockPath: string): Promise<() => Promise<void>> {
  try {
    // An unreadable lock is taken over too: the worst a wrong guess costs is a .part that fails its digest.
    const lock = await acquireOwnerLock(lockPath, { command: 'weights download', takeOver: 'unknown' });
    return () => lock.release();
  } catch (error) {
    if (!(error instanceof LockHeld) || error.verdict.state !== 'live') throw error;
    throw new NstError('DOWNLOAD_FAILED', `Another download of these weights is running (process ${error.verdict.owner.pid}); wait for it to finish.`);
  }
}

// --- small helpers -----------------------------------------------------------------------------------------

function checkDigest(name: string, value: string, hexLength: number): string {
  const lower = value.trim().toLowerCase();
  if (!new RegExp(`^[0-9a-f]{${hexLength}}$`).test(lower)) {
    throw new NstError('BAD_ARGUMENT', `${name} must be ${hexLength} hexadecimal digits, got "${value}".`);
  }
  return lower;
}

async function readRecord(file: string): Promise<PartRecord | null> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as PartRecord;
  } catch {
    return null;
  }
}

async function discardPart(job: Job): Promise<0> {
  await rm(job.part, { force: true });
  await rm(job.record, { force: true });
  return 0;
}

async function fileSize(file: string): Promise<number> {
  return (await stat(file).catch(() => undefined))?.size ?? 0;
}

function headerValue(value: string | string[] | undefined): string | null {
  return (Array.isArray(value) ? value[0] : value) ?? null;
}

/** If-Range needs a strong validator: a weak ETag (W/"…") would never match. */
function strongEtag(etag: string | null): string | null {
  return etag && !etag.startsWith('W/') ? etag : null;
}

function contentLength(value: string | null): number | null {
  return value !== null && /^\d+$/.test(value) ? Number(value) : null;
}

function statusText(status: number): string {
  const texts: Record<number, string> = { 401: ' Unauthorized', 403: ' Forbidden', 404: ' Not Found', 410: ' Gone', 429: ' Too Many Requests', 500: ' Internal Server Error', 502: ' Bad Gateway', 503: ' Service Unavailable', 504: ' Gateway Timeout' };
  return texts[status] ?? '';
}

/** Network failures in words, all retryable. */
function networkError(error: unknown, timeoutMs: number, received?: number): AttemptError | Error {
  if (error instanceof AttemptError) return error;
  const code = errorCode(error);
  const seconds = `${+(timeoutMs / 1000).toFixed(3)} s`;
  const after = received === undefined ? '' : ` after ${received} bytes`;
  const words: Record<string, string> = {
    UND_ERR_HEADERS_TIMEOUT: `timed out: no response within ${seconds}`,
    UND_ERR_BODY_TIMEOUT: `timed out: no data for ${seconds}${after}`,
    UND_ERR_CONNECT_TIMEOUT: `timed out: could not connect within ${seconds}`,
    UND_ERR_SOCKET: `the connection dropped${after}`,
    ECONNRESET: `the connection was reset${after}`,
    ECONNREFUSED: 'the connection was refused',
    ENOTFOUND: 'the host name does not resolve (offline, or a proxy needed? set HTTPS_PROXY)',
    EAI_AGAIN: 'the host name does not resolve (offline, or a proxy needed? set HTTPS_PROXY)',
    ETIMEDOUT: `timed out${after}`,
    ENETUNREACH: 'the network is unreachable',
    EHOSTUNREACH: 'the host is unreachable',
  };
  const known = code ? words[code] : undefined;
  if (known) return new AttemptError(known, true);
  if (code === 'UND_ERR_ABORTED' || (error as Error | undefined)?.name === 'AbortError') return aborted();
  const message = error instanceof Error ? error.message : String(error);
  return new AttemptError(`${message}${after}`, true);
}

function errorCode(error: unknown): string | undefined {
  for (let e = error as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 4; e = e.cause as typeof e, depth++) {
    if (typeof e.code === 'string') return e.code;
  }
  return undefined;
}

function aborted(): NstError {
  return new NstError('ABORTED', 'The download was stopped; the part received so far is kept and the next fetch resumes it.');
}
