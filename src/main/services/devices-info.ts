// The studio's view of `nst devices`: the providers of this machine, their measured speed, and what Automatic runs
// on and why. Read only: measuring takes seconds and happens when an Automatic run starts (the job worker).

import { deviceStatuses, settleAutoDevice, type DevicesReport } from '../../engine/index.js';
import type { DevicesInfo } from '../../shared/api.js';

export async function devicesInfo(): Promise<DevicesInfo> {
  return fromReport(await settleAutoDevice({ measure: 'never' }));
}

export function fromReport(report: DevicesReport): DevicesInfo {
  return {
    auto: report.auto,
    devices: deviceStatuses(report).map((d) => ({ device: d.device, adapter: d.adapter, software: d.software, canRun: d.canRun, msPerIteration: d.msPerIteration, why: d.excluded ?? d.error })),
    measuredAt: report.verdict?.measuredAt ?? null,
    sizePx: report.verdict?.sizePx ?? null,
  };
}
