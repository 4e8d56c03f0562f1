// Settles what `auto` runs on before a run starts: the single candidate, the cached verdict, or a measurement of
// every candidate (written to the cache). resolveExecution then reads the same verdict (verdict.ts autoDecision).

import type { Runtime } from '../../model/runtime/runtime.js';
import { onnxruntimeVersion } from '../../model/runtime/onnxruntime.js';
import { autoDeviceOrder, autoSkipReason } from '../execution.js';
import { deviceCandidates, hostCandidateProbe, verdictKey, type CandidateProbe, type DeviceCandidate } from './candidates.js';
import { measureCandidates } from './measure.js';
import { decide, MEASURE_SIZE_PX, measuringOff, onlyCandidate, readVerdict, verdictFile, writeVerdict, type AutoDecision, type DeviceVerdict } from './verdict.js';

export interface SettleOptions {
  /** 'if-needed' (default): measure when nothing valid is cached; 'always': measure again; 'never': only read. */
  readonly measure?: 'if-needed' | 'always' | 'never';
  readonly env?: NodeJS.ProcessEnv;
  /** The machine's candidates; default this one's. */
  readonly probe?: CandidateProbe;
  /** Where the verdict is cached; default the data folder's device-verdict.json. */
  readonly file?: string;
  /** Measure on this runtime, in this process (tests inject a fake provider). */
  readonly runtime?: Runtime;
  readonly sizePx?: number;
  /** Before measuring: the devices about to be timed (a front end says "measuring …", it takes seconds). */
  readonly onMeasuring?: (devices: readonly DeviceCandidate[]) => void;
}

export interface DevicesReport {
  readonly onnxruntime: string;
  readonly candidates: readonly DeviceCandidate[];
  /** The cached (or just measured) verdict; null when none applies to this machine as it is now. */
  readonly verdict: DeviceVerdict | null;
  readonly auto: AutoDecision;
  readonly measuredNow: boolean;
  /** Why a verdict measured now could not be cached (runs then take the platform's order), or null. */
  readonly cacheError: string | null;
}

export async function settleAutoDevice(options: SettleOptions = {}): Promise<DevicesReport> {
  const env = options.env ?? process.env;
  const probe = options.probe ?? hostCandidateProbe(env);
  const candidates = deviceCandidates(probe);
  const sizePx = options.sizePx ?? MEASURE_SIZE_PX;
  const version = onnxruntimeVersion();
  const key = verdictKey(candidates, version);
  const file = options.file ?? verdictFile();
  const cached = readVerdict(key, file);
  const report = (verdict: DeviceVerdict | null, auto: AutoDecision, measuredNow: boolean, cacheError: string | null = null): DevicesReport => ({ onnxruntime: version, candidates, verdict, auto, measuredNow, cacheError });

  const mode = options.measure ?? 'if-needed';
  if (mode !== 'always') {
    if (measuringOff(env)) return report(cached, platformOrder(probe, 'measuring is off (NST_MEASURE_DEVICES=0)'), false);
    if (cached) return report(cached, { device: cached.device, reason: cached.reason, measured: true }, false);
    const only = onlyCandidate(candidates);
    if (only) return report(null, only, false);
    if (mode === 'never') return report(null, platformOrder(probe, 'not measured yet (nst devices --measure)'), false);
  }
  const tried = candidates.filter((c) => c.excluded === null);
  options.onMeasuring?.(tried);
  const measurements = await measureCandidates(tried, { sizePx, ...(options.runtime ? { runtime: options.runtime } : {}) });
  const decided = decide(measurements);
  const only = onlyCandidate(candidates);
  const { device } = decided;
  const reason = only?.device === device ? `${only.reason}; ${decided.reason.replace(/^fastest measured/, 'measured')}` : decided.reason;
  const verdict: DeviceVerdict = { key, measuredAt: new Date().toISOString(), sizePx, measurements, device, reason };
  const cacheError = await writeVerdict(verdict, file);
  return report(verdict, { device, reason, measured: true }, true, cacheError);
}

/** What resolveExecution does without a verdict: the platform's first provider that is not left out. */
function platformOrder(probe: CandidateProbe, why: string): AutoDecision {
  const device = autoDeviceOrder(probe.os).find((d) => autoSkipReason(d, probe) === null) ?? 'cpu';
  return { device, reason: `the platform's order: ${why}`, measured: false };
}

/** A candidate with what is known of it: whether it can run, and its timing when measured. */
export interface DeviceStatus extends DeviceCandidate {
  /** true: measured (or the CPU, which always runs); false: left out or failed; null: not tried yet. */
  readonly canRun: boolean | null;
  readonly msPerIteration: number | null;
  readonly setupMs: number | null;
  /** Why it failed when measured. */
  readonly error: string | null;
}

/** Each candidate of a report with its measurement, as `nst devices` and the studio list them. */
export function deviceStatuses(report: DevicesReport): DeviceStatus[] {
  return report.candidates.map((c) => {
    const m = report.verdict?.measurements.find((x) => x.device === c.device);
    const canRun = c.excluded !== null ? false : m ? m.msPerIteration !== null : c.device === 'cpu' ? true : null;
    return { ...c, canRun, msPerIteration: m?.msPerIteration ?? null, setupMs: m?.setupMs ?? null, error: m?.error ?? null };
  });
}
