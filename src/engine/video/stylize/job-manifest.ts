// A video job's manifest (nst-video.json in its folder): what the job paints and how, which frames are done, and
// the refusal of a job started again with other settings. Written atomically; the frames on disk are the truth.

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { NstError } from '../../errors.js';
import { describeSettingsChanges } from '../../persist/batch-manifest.js';
import type { RunSettings } from '../../render/run.js';
import { writeFileAtomic } from '../../sys/atomic-file.js';
import type { InputIdentity } from './frame-source.js';

export const VIDEO_JOB_FILE = 'nst-video.json';
const VERSION = 1;

/** Everything that decides a job's pixels: a job resumed or run again must have all of it the same. */
export interface VideoJobSettings {
  /** Longest side of the stylised frames, px. */
  readonly sizePx: number;
  /** Optimizer iterations (the cap, with an adaptive stop) for each frame after the first… */
  readonly iterations: number;
  /** …and for the first, which starts from the content or noise rather than a warped painting. */
  readonly firstIterations: number;
  /** w_t of the temporal term (0: each frame on its own, still started from the warped previous one). */
  readonly temporalWeight: number;
  /** Style images' longest side relative to the frames'. */
  readonly styleScale: number;
  /** The run settings of every frame; `iterations` in it is ignored (the two above decide). */
  readonly run: Omit<RunSettings, 'iterations' | 'reportEvery' | 'imageEvery'>;
}

export interface VideoJobManifest {
  readonly version: typeof VERSION;
  readonly kind: 'nst-video';
  readonly input: InputIdentity & {
    /** Frames per second the output is encoded at (the video's own; a folder's --fps). */
    readonly fps: number;
    readonly hasAudio: boolean;
    /** Input frames, once known (a video's once decoded). */
    readonly frames: number | null;
  };
  readonly styles: readonly { readonly path: string; readonly sha256: string }[];
  /** SHA-256 of the VGG19 weights (weights/fingerprint.ts) and where they came from. */
  readonly weights: { readonly sha256: string; readonly source: string };
  readonly settings: VideoJobSettings;
  /** The video encoded at the end, or null (frames only). */
  readonly output: string | null;
  /** Frames finished (1..framesDone are on disk); the frames themselves decide on resumption. */
  readonly framesDone: number;
  /** How the front end started the job (the CLI's options), for its resumption; not compared. */
  readonly launch?: Readonly<Record<string, unknown>>;
  /** All frames painted and the output written. */
  readonly finished: boolean;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export function manifestPath(jobDir: string): string {
  return path.join(jobDir, VIDEO_JOB_FILE);
}

/** The job's manifest, or null when the folder has none. BAD_CHECKPOINT when it is there but not one nst can read. */
export async function readJobManifest(jobDir: string): Promise<VideoJobManifest | null> {
  const file = manifestPath(jobDir);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  let parsed: Partial<VideoJobManifest>;
  try {
    parsed = JSON.parse(text) as Partial<VideoJobManifest>;
  } catch (error) {
    throw new NstError('BAD_CHECKPOINT', `${file} is not a video job manifest nst can read (${(error as Error).message}); remove the folder to start over.`, { cause: error });
  }
  if (parsed.kind !== 'nst-video' || parsed.version !== VERSION || !parsed.input || !parsed.settings || !Array.isArray(parsed.styles) || !parsed.weights || typeof parsed.framesDone !== 'number') {
    throw new NstError('BAD_CHECKPOINT', `${file} is not a video job manifest of this nst (kind ${String(parsed.kind)}, version ${String(parsed.version)}); remove the folder to start over.`);
  }
  return parsed as VideoJobManifest;
}

export async function writeJobManifest(jobDir: string, manifest: VideoJobManifest): Promise<void> {
  await writeFileAtomic(manifestPath(jobDir), `${JSON.stringify({ ...manifest, updatedAt: new Date().toISOString() }, null, 2)}\n`);
}

/** What a job is of: compared with a saved job's before it is continued. */
export type JobIdentity = Pick<VideoJobManifest, 'input' | 'styles' | 'weights' | 'settings'>;

/**
 * Throws BAD_ARGUMENT (one sentence naming each difference) when `saved` is a job of another input, other styles,
 * other weights or other settings than `wanted`: its frames would not be the ones `wanted` paints. The output
 * path, a folder's --fps and progress may differ.
 */
export function checkSameJob(jobDir: string, saved: JobIdentity, wanted: JobIdentity): void {
  const facts = (job: JobIdentity): Record<string, unknown> => ({
    input: `${job.input.kind} ${job.input.path}`,
    inputContent: job.input.fingerprint.slice(0, 12),
    styles: job.styles.map((style) => style.path),
    styleContents: job.styles.map((style) => style.sha256.slice(0, 12)),
    weights: job.weights.sha256.slice(0, 12),
    ...flatten(job.settings),
  });
  const changes = describeSettingsChanges(facts(saved), facts(wanted));
  if (changes.length === 0) return;
  throw new NstError(
    'BAD_ARGUMENT',
    `${jobDir} holds a video job with other settings (${changes.join('; ')}): its frames would not match. Run it with the settings it was started with (nst resume ${jobDir}), or choose another --frames-dir (or remove that one) to start over.`,
  );
}

/** settings.run's keys beside the others, so a difference is named by its own key (`optimizer: …`). */
function flatten(settings: VideoJobSettings): Record<string, unknown> {
  const { run, ...rest } = settings;
  return { ...rest, ...run };
}
