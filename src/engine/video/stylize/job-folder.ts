// Where a video job keeps its work and what is in it: the stylised frames (the job's checkpoint), the decoded input
// frames, its manifest and lock; the data folder's video-jobs/ for jobs started without a folder of their own.

import { access, readdir } from 'node:fs/promises';
import path from 'node:path';
import { NstError } from '../../errors.js';
import { dataDir } from '../../persist/data-dir.js';
import { isRunId } from '../../persist/run-folder.js';
import { VIDEO_JOB_LOCK_FILE } from '../../persist/run-lock.js';
import { isStaleTemporary } from '../../sys/atomic-file.js';
import { VIDEO_JOB_FILE } from './job-manifest.js';

/** Jobs started without --frames-dir live in the data folder, one folder per job named like a run id. */
export function videoJobsDir(root: string = dataDir()): string {
  return path.join(root, 'video-jobs');
}

/** The folder of the job `id` in the data folder, or null when `id` is not a job id. */
export function videoJobDir(id: string, root: string = dataDir()): string | null {
  return isRunId(id) ? path.join(videoJobsDir(root), id) : null;
}

/** The decoded input frames of a video file, inside the job's folder (removed once the job is done). */
export const INPUT_FRAMES_FOLDER = 'input';

/** Stylised frame `frame` (1-based), in the job's folder: frame_000001.png, … */
export function stylisedFramePath(jobDir: string, frame: number): string {
  return path.join(jobDir, `frame_${String(frame).padStart(6, '0')}.png`);
}

/**
 * How many frames are finished: 1..k all on disk. Each is renamed into place whole (writeImageAtomic), so a file
 * that is there is a finished frame, whatever the manifest (written after it) says.
 */
export async function countFinishedFrames(jobDir: string, total: number): Promise<number> {
  let done = 0;
  while (done < total && (await exists(stylisedFramePath(jobDir, done + 1)))) done++;
  return done;
}

/**
 * Refuses (BAD_ARGUMENT) a folder with no job manifest that holds files other than a lock or a killed writer's
 * temporaries: its images would be taken for frames of the video.
 */
export async function checkFreshJobFolder(jobDir: string): Promise<void> {
  const names = await readdir(jobDir).catch(() => [] as string[]);
  const others: string[] = [];
  for (const name of names) if (name !== VIDEO_JOB_LOCK_FILE && name !== VIDEO_JOB_FILE && !(await isStaleTemporary(name))) others.push(name);
  if (others.length > 0) {
    throw new NstError('BAD_ARGUMENT', `${jobDir} holds files (${others.slice(0, 3).join(', ')}${others.length > 3 ? ', …' : ''}) but no video job: give an empty or new folder for the frames.`);
  }
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}
