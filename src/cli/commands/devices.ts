// `nst devices`: the providers and adapters of this machine, whether each can run, its measured ms/iteration, and
// the verdict `auto` follows.

import { Command } from 'commander';
import { deviceStatuses, MEASURE_SIZE_PX, settleAutoDevice, type DevicesReport } from '../../engine/index.js';
import { parseNumber } from '../parse.js';
import { say, writeJsonLine, writeText } from '../output.js';

export function devicesCommand(): Command {
  return new Command('devices')
    .description('list the execution providers and GPUs here, measure the loss graph on each (once, cached) and say which one auto uses')
    .option('--measure', 'measure again, even when a verdict is cached')
    .option('--size <px>', 'square size the graph is timed at when measuring', String(MEASURE_SIZE_PX))
    .option('--include-software', 'also measure a software WebGPU adapter (SwiftShader, lavapipe); same as NST_DEVICES_INCLUDE_SOFTWARE=1')
    .option('--json', 'print one JSON object')
    .action(async (raw: Record<string, string | boolean | undefined>) => {
      const sizePx = parseNumber('--size', String(raw.size), { min: 16, max: 2048, integer: true });
      const env = raw.includeSoftware === true ? { ...process.env, NST_DEVICES_INCLUDE_SOFTWARE: '1' } : process.env;
      const report = await settleAutoDevice({
        measure: raw.measure === true ? 'always' : 'if-needed',
        env,
        sizePx,
        onMeasuring: (devices) => say(`measuring ${devices.map((d) => d.device).join(', ')} at ${sizePx} px …`),
      });
      if (report.cacheError) say(report.cacheError);
      if (raw.json === true) writeJsonLine(asJson(report));
      else writeText(asTable(report));
    });
}

function asJson(report: DevicesReport): Record<string, unknown> {
  const verdict = report.verdict ? { device: report.verdict.device, reason: report.verdict.reason, measuredAt: report.verdict.measuredAt, sizePx: report.verdict.sizePx } : null;
  return { onnxruntime: report.onnxruntime, devices: deviceStatuses(report), verdict, auto: report.auto, measuredNow: report.measuredNow };
}

function asTable(report: DevicesReport): string {
  const size = report.verdict?.sizePx ?? MEASURE_SIZE_PX;
  const table = [
    ['device', 'adapter', 'can run', `ms/it (${size} px)`, 'note'],
    ...deviceStatuses(report).map((d) => [d.device, d.adapter ?? '-', d.canRun === null ? '?' : d.canRun ? 'yes' : 'no', d.msPerIteration === null ? '-' : d.msPerIteration.toFixed(1), d.excluded ?? d.error ?? (d.canRun === null ? 'not measured' : '')]),
  ];
  const widths = table[0]!.map((_, col) => Math.max(...table.map((row) => row[col]!.length)));
  const lines = table.map((row) => row.map((cell, col) => (col === row.length - 1 ? cell : cell.padEnd(widths[col]!))).join('  ').trimEnd());
  const when = report.verdict ? ` (measured ${report.verdict.measuredAt.slice(0, 16).replace('T', ' ')} UTC, onnxruntime ${report.onnxruntime}; nst devices --measure measures again)` : '';
  return `${lines.join('\n')}\nauto: ${report.auto.device}: ${report.auto.reason}${when}\n`;
}
