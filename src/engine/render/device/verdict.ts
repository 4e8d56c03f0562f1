// `auto`'s verdict: the fastest measured provider and the one line that says why, cached per machine in the data
// folder under a key that changes with onnxruntime, the adapters and drivers, and the candidates measured.

import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Device } from '../../model/runtime/runtime.js';
import { onnxruntimeVersion } from '../../model/runtime/onnxruntime.js';
import { dataDir } from '../../persist/data-dir.js';
import { writeFileAtomic } from '../../sys/atomic-file.js';
import { deviceCandidates, hostCandidateProbe, verdictKey, type DeviceCandidate, type VerdictKey } from './candidates.js';

/** The size the real loss graph is timed at by default: large enough to rank providers, small enough to take seconds. */
export const MEASURE_SIZE_PX = 128;

/** One provider's timing, or why it could not run. */
export interface DeviceMeasurement {
  readonly device: Device;
  readonly adapter: string | null;
  readonly software: boolean;
  /** Median wall time of one loss-and-gradient evaluation after a warm-up; null when it could not run. */
  readonly msPerIteration: number | null;
  /** Session creation (graph optimisation, kernel or shader compilation). */
  readonly setupMs: number | null;
  readonly error: string | null;
}

export interface DeviceVerdict {
  readonly key: VerdictKey;
  readonly measuredAt: string;
  /** The square size the graph was timed at (the ranking holds at other sizes; the timings are this size's). */
  readonly sizePx: number;
  readonly measurements: readonly DeviceMeasurement[];
  readonly device: Device;
  readonly reason: string;
}

/** Which device `auto` takes and why, in one line: "cpu: fastest measured (cpu 115 ms/it, webgpu 2400 ms/it on …)". */
export interface AutoDecision {
  readonly device: Device;
  readonly reason: string;
  /** From a measurement (now or cached), not from there being a single candidate. */
  readonly measured: boolean;
}

export function verdictFile(dir: string = dataDir()): string {
  return path.join(dir, 'device-verdict.json');
}

/** Verdicts this process measured but could not write, by cache file: they hold here (the next process measures again). */
const unwritten = new Map<string, DeviceVerdict>();

/** The verdict cached in `file` (or measured here and not writable) when it was made under `key`, else null. */
export function readVerdict(key: VerdictKey, file: string = verdictFile()): DeviceVerdict | null {
  const matches = (v: Partial<DeviceVerdict> | null | undefined): v is DeviceVerdict =>
    !!v && typeof v === 'object' && typeof v.device === 'string' && typeof v.reason === 'string' && Array.isArray(v.measurements) && JSON.stringify(v.key) === JSON.stringify(key);
  let parsed: Partial<DeviceVerdict> | null = null;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<DeviceVerdict> | null;
  } catch {
    // none yet, or unreadable: perhaps one measured here could not be written
  }
  if (matches(parsed)) return parsed;
  const here = unwritten.get(file);
  return matches(here) ? here : null;
}

/**
 * Caches `verdict` in `file`, making its folder (a first run has none), and in this process. Why it could not be
 * written (a read-only data folder), or null: the verdict then holds for this process only (it is measured again
 * by the next one).
 */
export async function writeVerdict(verdict: DeviceVerdict, file: string = verdictFile()): Promise<string | null> {
  try {
    await mkdir(path.dirname(file), { recursive: true });
    await writeFileAtomic(file, `${JSON.stringify(verdict, null, 2)}\n`);
    unwritten.delete(file);
    return null;
  } catch (error) {
    unwritten.set(file, verdict);
    return `could not save the device verdict in ${file}: ${error instanceof Error ? error.message : String(error)}`;
  }
}

/** The fastest provider that ran (ties go to the earlier, the platform's preference), and the line that says so. */
export function decide(measurements: readonly DeviceMeasurement[]): { device: Device; reason: string } {
  const ran = measurements.filter((m): m is DeviceMeasurement & { msPerIteration: number } => m.msPerIteration !== null);
  const best = ran.reduce<(typeof ran)[number] | null>((a, m) => (a === null || m.msPerIteration < a.msPerIteration ? m : a), null);
  const failed = measurements.filter((m) => m.msPerIteration === null).map((m) => `${m.device} could not run: ${m.error ?? 'no reason given'}`);
  if (!best) return { device: 'cpu', reason: `nothing could be measured (${failed.join('; ')})` };
  const timed = ran.map((m) => `${m.device} ${formatMs(m.msPerIteration)} ms/it${m.device !== 'cpu' && m.adapter ? ` on ${m.adapter}` : ''}`);
  return { device: best.device, reason: `fastest measured (${timed.join(', ')})${failed.length > 0 ? `; ${failed.join('; ')}` : ''}` };
}

function formatMs(ms: number): string {
  return ms >= 100 ? String(Math.round(ms)) : ms.toFixed(1);
}

/** Whether the user turned measuring off (NST_MEASURE_DEVICES=0): auto then takes the platform's order. */
export function measuringOff(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.NST_MEASURE_DEVICES === '0';
}

/** The one candidate, when only one can be tried: no measurement needed. */
export function onlyCandidate(candidates: readonly DeviceCandidate[]): AutoDecision | null {
  const tried = candidates.filter((c) => c.excluded === null);
  if (tried.length !== 1) return null;
  const others = candidates.filter((c) => c.excluded !== null).map((c) => `${c.device}: ${c.excluded}`);
  return { device: tried[0]!.device, reason: `the only device that can run here${others.length > 0 ? ` (${others.join('; ')})` : ''}`, measured: false };
}

/**
 * What `auto` takes on this machine without measuring now: the cached verdict, or the single candidate; null when
 * measuring is off, or several candidates have no valid verdict yet (resolveExecution then takes the platform's order).
 */
export function autoDecision(env: NodeJS.ProcessEnv = process.env, file?: string): AutoDecision | null {
  if (measuringOff(env)) return null;
  const candidates = deviceCandidates(hostCandidateProbe(env));
  const cached = readVerdict(verdictKey(candidates, onnxruntimeVersion()), file ?? verdictFile(dataDir({ env })));
  return cached ? { device: cached.device, reason: cached.reason, measured: true } : onlyCandidate(candidates);
}
