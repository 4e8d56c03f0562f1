// `auto`'s device, settled before a run and said in one line: measured once per machine (the first time, with a
// line saying so), then read from the cached verdict.

import { settleAutoDevice, type DeviceRequest } from '../engine/index.js';
import { say } from './output.js';

/**
 * Settles `auto` (nothing for an explicit device) and, unless `quiet` (JSON output, whose stderr carries only
 * problems), prints "nst: auto: cpu: fastest measured (…)".
 */
export async function settleAndSayAutoDevice(device: DeviceRequest, quiet: boolean): Promise<void> {
  if (device !== 'auto') return;
  const note = (line: string): void => void (quiet || say(line));
  const report = await settleAutoDevice({ onMeasuring: (devices) => note(`measuring ${devices.map((d) => d.device).join(', ')} to choose the fastest device (once; nst devices shows the verdict)`) });
  if (report.cacheError) say(report.cacheError);
  note(`auto: ${report.auto.device}: ${report.auto.reason}`);
}
