// The crash harness's three checks on a trial folder: (a) the user's files are intact, (b) the finished job's
// results match the uninterrupted reference, (c) nothing is left behind once the next run has finished.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { decodeVideo, decodeWhole, diffRgb, hashTree, listEntries, sha256, type ImageDiff, type Rgb } from './files.js';
import type { Job, JobOutput } from './jobs.js';

export type CheckName = 'intact' | 'finish' | 'same-result' | 'debris' | 'process' | 'setup';

export interface Failure {
  readonly check: CheckName;
  readonly reason: string;
}

/** The files the user had before the job: in/ (inputs) and out/ (older results, notes), by SHA-256. */
export interface UserFiles {
  readonly hashes: ReadonlyMap<string, string>;
}

export function snapshotUserFiles(root: string): UserFiles {
  const hashes = new Map<string, string>();
  for (const sub of ['in', 'out']) for (const [rel, hash] of hashTree(path.join(root, sub))) hashes.set(path.join(sub, rel), hash);
  return { hashes };
}

/** A finished job's result: an image, or a video's frames. */
export type Result = { readonly type: 'image'; readonly image: Rgb } | { readonly type: 'video'; readonly frames: number; readonly image: Rgb };

export interface Tolerance {
  /** Largest channel difference allowed between a result and the reference, levels of 255 (images and video frames). */
  readonly maxAbs: number;
}

export async function readResult(ffmpeg: string | null, file: string, type: JobOutput['type']): Promise<Result> {
  if (type === 'image') return { type, image: await decodeWhole(file) };
  if (!ffmpeg) throw new Error('no ffmpeg to decode the video with');
  const video = await decodeVideo(ffmpeg, file);
  return { type, frames: video.frames, image: { data: video.data, width: video.width, height: video.height * video.frames } };
}

/**
 * (a) Every input is byte-identical; every other file the user had in out/ too; each output is the user's older
 * file, or a whole new image or video of the reference's size (a snapshot, or the result) — never a cut-short one.
 */
export async function checkIntact(root: string, before: UserFiles, job: Job, references: ReadonlyMap<string, Result>, ffmpeg: string | null): Promise<Failure[]> {
  const failures: Failure[] = [];
  const outputs = new Map(job.outputs.map((o) => [o.file, o]));
  for (const [rel, hash] of before.hashes) {
    if (outputs.has(rel)) continue;
    const file = path.join(root, rel);
    if (!existsSync(file)) failures.push({ check: 'intact', reason: `the user's ${rel} is gone` });
    else if (sha256(file) !== hash) failures.push({ check: 'intact', reason: `the user's ${rel} was changed` });
  }
  for (const output of job.outputs) {
    const file = path.join(root, output.file);
    const older = before.hashes.get(output.file);
    if (!existsSync(file)) {
      if (older) failures.push({ check: 'intact', reason: `the user's older ${output.file} is gone and nothing replaced it` });
      continue;
    }
    if (older && sha256(file) === older) continue;
    const reference = references.get(output.file);
    try {
      const got = await readResult(ffmpeg, file, output.type);
      const want = reference?.type === 'video' && got.type === 'video' ? { width: reference.image.width, height: reference.image.height / reference.frames } : reference?.image;
      const size = got.type === 'video' ? { width: got.image.width, height: got.image.height / got.frames } : got.image;
      if (want && (size.width !== want.width || size.height !== want.height)) {
        failures.push({ check: 'intact', reason: `${output.file} is a ${size.width}x${size.height} ${output.type}, not the ${want.width}x${want.height} the job writes` });
      }
    } catch (error) {
      failures.push({ check: 'intact', reason: `${output.file} is neither the user's older file nor a whole ${output.type}: ${oneLine(error)}` });
    }
  }
  return failures;
}

/** (b) Each output matches the reference's within the tolerance (a video: as many frames, each within it). */
export async function checkSameResult(root: string, job: Job, references: ReadonlyMap<string, Result>, tolerance: Tolerance, ffmpeg: string | null): Promise<{ failures: Failure[]; worst: ImageDiff | null }> {
  const failures: Failure[] = [];
  let worst: ImageDiff | null = null;
  for (const output of job.outputs) {
    const file = path.join(root, output.file);
    const reference = references.get(output.file)!;
    let got: Result;
    try {
      got = await readResult(ffmpeg, file, output.type);
    } catch (error) {
      failures.push({ check: 'same-result', reason: `${output.file} is not a whole ${output.type} after the job finished: ${oneLine(error)}` });
      continue;
    }
    if (got.type === 'video' && reference.type === 'video' && got.frames !== reference.frames) {
      failures.push({ check: 'same-result', reason: `${output.file} has ${got.frames} frames, the uninterrupted run's ${reference.frames}` });
      continue;
    }
    const diff = diffRgb(reference.image, got.image);
    if (!diff) {
      failures.push({ check: 'same-result', reason: `${output.file} is ${got.image.width}x${got.image.height}, the uninterrupted run's ${reference.image.width}x${reference.image.height}` });
      continue;
    }
    if (!worst || diff.maxAbs > worst.maxAbs) worst = diff;
    if (diff.maxAbs > tolerance.maxAbs) {
      failures.push({ check: 'same-result', reason: `${output.file} differs from the uninterrupted run's by up to ${diff.maxAbs} levels (mean ${diff.meanAbs.toFixed(3)}), over the ${tolerance.maxAbs} allowed` });
    }
  }
  return { failures, worst };
}

const DEBRIS = /\.tmp$|\.part$|\.lock$|^owner\.pid|^nst-frames-|^mat-debug-|\.ses$/;

/**
 * (c) After the job has finished: the temp folder is empty, out/ holds only the outputs and the user's files, the
 * data folder no run (nothing is left to resume) nor frames, and nowhere a temporary, lock or frame spool.
 */
export function checkDebris(root: string, job: Job, listedRuns: readonly string[]): Failure[] {
  const failures: Failure[] = [];
  const rel = (file: string): string => path.relative(root, file);
  for (const entry of listEntries(path.join(root, 'tmp'))) failures.push({ check: 'debris', reason: `left in the temp folder: ${rel(entry)}` });
  for (const entry of listEntries(root)) {
    if (entry.startsWith(path.join(root, 'tmp') + path.sep)) continue;
    if (DEBRIS.test(path.basename(entry.replace(/\/$/, '')))) failures.push({ check: 'debris', reason: `left behind: ${rel(entry)}` });
  }
  const expected = new Set([...job.outputs.map((o) => o.file), ...job.alsoInOut]);
  for (const entry of listEntries(path.join(root, 'out'))) {
    const name = rel(entry).replace(/\/$/, '');
    if (entry.endsWith('/') ? ![...expected].some((e) => e.startsWith(`${name}/`)) : !expected.has(name)) {
      if (!DEBRIS.test(path.basename(name))) failures.push({ check: 'debris', reason: `left among the outputs: ${name}` });
    }
  }
  for (const name of readdirSafe(root)) {
    if (!['in', 'out', 'data', 'tmp'].includes(name) && !DEBRIS.test(name)) failures.push({ check: 'debris', reason: `left in the working folder: ${name}` });
  }
  const data = path.join(root, 'data');
  for (const name of readdirSafe(data)) {
    if (!['runs', 'run-frames'].includes(name) && !DEBRIS.test(name)) failures.push({ check: 'debris', reason: `unexpected in the data folder: data/${name}` });
  }
  for (const id of listedRuns) failures.push({ check: 'debris', reason: `nst runs still lists run ${id} after the job finished` });
  for (const id of readdirSafe(path.join(data, 'runs'))) {
    if (!listedRuns.includes(id)) failures.push({ check: 'debris', reason: `orphan run folder data/runs/${id} (nst runs does not list it)` });
  }
  for (const id of readdirSafe(path.join(data, 'run-frames'))) {
    if (!listedRuns.includes(id)) failures.push({ check: 'debris', reason: `orphan frame spool data/run-frames/${id}${readdirSafe(path.join(data, 'run-frames', id)).length === 0 ? ' (empty)' : ''} (no run nst runs lists)` });
  }
  return failures;
}

/** A batch's manifest after a kill: whole JSON (it is replaced atomically), and how many items it says are done. */
export function batchManifestDone(root: string): { done: number } | Failure | null {
  const manifest = path.join(root, 'out', 'batch', 'nst-batch.json');
  if (!existsSync(manifest)) return null;
  try {
    const parsed = JSON.parse(readFileSync(manifest, 'utf8')) as { items?: { status?: string }[] };
    return { done: (parsed.items ?? []).filter((item) => item.status === 'done').length };
  } catch (error) {
    return { check: 'intact', reason: `out/batch/nst-batch.json is not whole JSON after the kill: ${oneLine(error)}` };
  }
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

export function oneLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!.slice(0, 300);
}
