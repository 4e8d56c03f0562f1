// Where run checkpoints live: run ids (made, checked) and each run's folder under <data dir>/runs/.

import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { NstError } from '../errors.js';
import { dataDir } from './data-dir.js';

const RUN_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/** The folder that holds every run's checkpoint folder. */
export function runsDir(root: string = dataDir()): string {
  return path.join(root, 'runs');
}

/** A new run id: sortable by start time, unique enough for one machine (`20261129-114512-a1b2`). */
export function newRunId(now: Date = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${randomBytes(2).toString('hex')}`;
}

/** Whether `name` can be a run id (a folder under runsDir that is not one is none of ours). */
export function isRunId(name: string): boolean {
  return RUN_ID_PATTERN.test(name);
}

/** Throws BAD_ARGUMENT unless `runId` is a plain name (it becomes a folder name: no separators, no `..`). */
export function checkRunId(runId: string): string {
  if (!isRunId(runId)) {
    throw new NstError('BAD_ARGUMENT', `"${runId}" is not a run id (letters, digits, - and _, as \`nst runs\` lists them).`);
  }
  return runId;
}

export function runDir(runId: string, root: string = dataDir()): string {
  return path.join(runsDir(root), checkRunId(runId));
}
