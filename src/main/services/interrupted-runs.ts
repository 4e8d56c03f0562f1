// Interrupted runs: the checkpoints a crash, a kill or a power loss left in the data folder, listed for the studio
// and read back into a run request (settings, masks and the images saved beside it) with the state to continue from.

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { checkNotRunning, isNstError, listCheckpoints, readCheckpoint, runDir, runOwner, type CheckpointManifest, type RenderState, NstError } from '../../engine/index.js';
import type { InterruptedRun, Result, StartRunRequest } from '../../shared/api.js';
import { errorText, fail, ok } from '../../shared/result.js';
import { validateRequest } from '../../shared/schemas.js';
import { CONTENT_FILE, parseStudioJob, styleFile, type StudioJob } from '../worker/run-checkpoint.js';
import { maskSetOf } from '../worker/run-masks.js';

export interface ResumableRun {
  request: StartRunRequest;
  checkpoint: { state: RenderState; manifest: CheckpointManifest };
}

/**
 * The studio runs with a checkpoint under `root`, newest first: not those `isLive` says this session is running,
 * nor those another live process (a second window's host, a CLI) owns. A run whose lock cannot be read is listed
 * (resuming or discarding it takes it over): one damaged lock hides neither its run nor the others.
 */
export async function findInterruptedRuns(root: string, isLive: (runId: string) => boolean): Promise<InterruptedRun[]> {
  const out: InterruptedRun[] = [];
  for (const { runId, manifest } of await listCheckpoints(root)) {
    if (!manifest || (manifest.job as { kind?: unknown } | null)?.kind !== 'studio-run' || isLive(runId) || (await runOwner(runId, root)).state === 'running') continue;
    // A job from disk reaches the window only as a valid one; a run whose job is not cannot be resumed anyway.
    const job = parsedJob(runId, manifest.job);
    if (!job) continue;
    out.push({
      runId,
      contentName: job.content.name,
      styleNames: job.styles.map((style) => style.name),
      settings: job.settings,
      sizePx: job.settings.sizePx,
      iteration: manifest.progress.iteration,
      totalIterations: manifest.progress.totalIterations,
      savedAt: manifest.updatedAt,
    });
  }
  return out;
}

/** The job parsed with its schema, or null when it is not a valid studio job (such a run is not offered). */
function parsedJob(runId: string, job: unknown): StudioJob | null {
  try {
    return parseStudioJob(runId, job);
  } catch (error) {
    if (isNstError(error)) return null;
    throw error;
  }
}

/**
 * An interrupted run read back to be queued again, or why it cannot be (FILE_NOT_FOUND, RUN_IN_USE, BAD_CHECKPOINT
 * …). The worker takes the run before it touches it (takeRun): this early refusal spares queueing one it cannot.
 */
export async function loadInterruptedRun(runId: string, root: string): Promise<Result<ResumableRun>> {
  let resumed: Awaited<ReturnType<typeof readStudioCheckpoint>>;
  try {
    await checkNotRunning(runId, root);
    resumed = await readStudioCheckpoint(runId, root);
  } catch (error) {
    return fail(isNstError(error) ? error.code : 'BAD_CHECKPOINT', errorText(error));
  }
  // What came from disk is checked as strictly as what comes from the window.
  const request = validateRequest('startRun', resumed.request);
  if (!request.ok) return fail('BAD_CHECKPOINT', `Run ${runId} cannot be resumed: its saved request is not valid (${request.error.message}).`);
  return ok({ request: request.value, checkpoint: resumed.checkpoint });
}

/**
 * The request to queue again (unvalidated: loadInterruptedRun checks it as a window's would be) and the checkpoint
 * to continue from. Throws NstError (BAD_CHECKPOINT, FILE_NOT_FOUND) naming what is wrong.
 */
async function readStudioCheckpoint(runId: string, root: string): Promise<{ request: unknown; checkpoint: { state: RenderState; manifest: CheckpointManifest } }> {
  const { manifest, state } = await readCheckpoint(runId, root);
  const bad = (why: string): NstError => new NstError('BAD_CHECKPOINT', `Run ${runId} cannot be resumed: ${why}.`);
  const kind = (manifest.job as { kind?: unknown } | null)?.kind ?? null;
  if (kind !== 'studio-run') throw bad(`it is not a studio run (${JSON.stringify(kind)}): finish it with \`nst resume ${runId}\``);
  const job = parseStudioJob(runId, manifest.job);
  const dir = runDir(runId, root);
  const image = async (name: string, file: string): Promise<{ name: string; bytes: Uint8Array }> => {
    try {
      return { name, bytes: new Uint8Array(await readFile(path.join(dir, file))) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw bad(`its saved image ${file} is missing`);
      throw error;
    }
  };
  let masks: ReturnType<typeof maskSetOf>;
  try {
    masks = maskSetOf(state.masks);
  } catch (error) {
    throw bad(errorText(error));
  }
  const request = {
    content: await image(job.content.name, CONTENT_FILE),
    styles: await Promise.all(job.styles.map(async (style, i) => ({ image: await image(style.name, styleFile(i)), blend: style.blend }))),
    settings: job.settings,
    // A run that spooled a timelapse goes on spooling into the same frames (older checkpoints do not say: none).
    timelapse: job.timelapse ?? null,
    // The masks it painted with last (mid-run edits included), from the checkpoint, not from the window.
    ...(masks ? { masks } : {}),
  };
  return { request, checkpoint: { state, manifest } };
}
