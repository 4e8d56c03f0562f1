// The crash harness's seeded kill points: trial i's kind and kill point follow from (seed, i) alone, so any one
// trial can be drawn again (`--trial i`) without running those before it.

import type { JobKind } from './jobs.js';
import type { KillPoint } from './nst-process.js';
import type { Reference, TrialSpec } from './trial.js';

/** mulberry32: a small, well-mixed 32-bit generator; enough to spread kill points, reproducible everywhere. */
export function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Trial i's own seed, from the run's seed. */
export function trialSeed(seed: number, index: number): number {
  return (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(index + 1, 0xc2b2ae35)) >>> 0;
}

const int = (random: () => number, lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1));

/**
 * Trial i: kinds in turn, and a kill point drawn within the reference run of that kind — a time offset (start-up
 * included), just after an iteration's line (plus up to 40 ms, into the next iteration's work or writes), or as
 * a new name appears under the trial folder (inside a write: a temporary, a checkpoint's data, a frame, a run's
 * folder or one renamed away to be deleted).
 */
export function planTrial(seed: number, index: number, kinds: readonly JobKind[], references: ReadonlyMap<JobKind, Reference>): TrialSpec {
  const kind = kinds[index % kinds.length]!;
  const reference = references.get(kind)!;
  const s = trialSeed(seed, index);
  const random = generator(s);
  // The resume job is killed first at a checkpoint in its first half; its resume's kill point is drawn over a whole
  // run and scaled to what the resume has left once that checkpoint is known (forResume).
  const setupIteration = kind === 'resume' ? int(random, 1, Math.max(1, Math.floor(reference.iterationLines / 2))) : undefined;
  const which = random();
  let kill: KillPoint;
  if (which < 0.3) kill = { at: 'time', ms: int(random, 0, reference.ms) };
  else if (which < 0.65) kill = { at: 'iteration', line: int(random, 1, reference.iterationLines), delayMs: int(random, 0, 40) };
  else kill = { at: 'write', nth: int(random, 1, reference.newFiles) };
  // Every other video trial runs without checkpoints: its spool is then a temp folder (nst-frames-PID-…).
  const checkpoints = kind !== 'video' || Math.floor(index / kinds.length) % 2 === 0;
  return { index, kind, seed: s, kill, checkpoints, ...(setupIteration !== undefined ? { setupIteration } : {}) };
}

/**
 * A kill point drawn over a whole run, scaled to a resume that has `left` (0–1) of the run's iterations to do:
 * its iteration lines and new names are that share of the whole's (its start-up is not, but scaling the time too
 * keeps the kill inside the shorter run more often than not).
 */
export function forResume(kill: KillPoint, left: number): KillPoint {
  const share = Math.min(1, Math.max(0.05, left));
  const scaled = (n: number): number => Math.max(1, Math.round(n * share));
  if (kill.at === 'iteration') return { ...kill, line: scaled(kill.line) };
  if (kill.at === 'write') return { ...kill, nth: scaled(kill.nth) };
  if (kill.at === 'time') return { ...kill, ms: Math.round(kill.ms * (0.5 + 0.5 * share)) };
  return kill;
}

export function describeKill(spec: TrialSpec): string {
  const k = spec.kill;
  const point = k.at === 'time' ? `${k.ms} ms after the start` : k.at === 'iteration' ? `${k.delayMs} ms after iteration line ${k.line}` : k.at === 'write' ? `as new name ${k.nth} appears` : `at a checkpoint of iteration ${k.iteration}`;
  if (spec.setupIteration !== undefined) return `stylize killed at a checkpoint of iteration ${spec.setupIteration} or later, then its resume ${point} (scaled to what it had left)`;
  return spec.checkpoints ? point : `${point}, --checkpoint-every 0`;
}
