// Reads a studio run's checkpoint back into a run request (settings and the images saved beside it) and its state.

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { readCheckpoint, runDir, type CheckpointManifest, type RenderState, NstError } from '../../engine/index.js';
import { CONTENT_FILE, styleFile, type StudioJob } from '../worker/run-checkpoint.js';

/**
 * The request to queue again (unvalidated: the caller runs it through validateStartRun, as a window's would be)
 * and the checkpoint to continue from. Throws NstError (BAD_CHECKPOINT, FILE_NOT_FOUND) naming what is wrong.
 */
export async function readStudioCheckpoint(runId: string, root: string): Promise<{ request: unknown; checkpoint: { state: RenderState; manifest: CheckpointManifest } }> {
  const { manifest, state } = await readCheckpoint<StudioJob>(runId, root);
  const bad = (why: string): NstError => new NstError('BAD_CHECKPOINT', `Run ${runId} cannot be resumed: ${why}.`);
  const job = manifest.job as Partial<StudioJob> | null;
  if (job?.kind !== 'studio-run') throw bad(`it is not a studio run (${JSON.stringify(job?.kind ?? null)}): finish it with \`nst resume ${runId}\``);
  if (!job.content || !Array.isArray(job.styles)) throw bad('its job lacks its images');
  const dir = runDir(runId, root);
  const image = async (name: unknown, file: string): Promise<{ name: unknown; bytes: Uint8Array }> => {
    try {
      return { name, bytes: new Uint8Array(await readFile(path.join(dir, file))) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw bad(`its saved image ${file} is missing`);
      throw error;
    }
  };
  const request = {
    content: await image(job.content.name, CONTENT_FILE),
    styles: await Promise.all(job.styles.map(async (style, i) => ({ image: await image(style?.name, styleFile(i)), blend: style?.blend }))),
    settings: job.settings,
    // A run that spooled a timelapse goes on spooling into the same frames (older checkpoints do not say: none).
    timelapse: job.timelapse ?? null,
  };
  return { request, checkpoint: { state, manifest } };
}
