// `nst devices`: the providers and adapters of this machine, whether each can run, its measured ms/iteration, and
// the verdict `auto` follows.

import { Command } from 'commander';
import { MEASURE_SIZE_PX, settleAutoDevice, type DevicesReport } from '../../engine/index.js';
import { parseNumber } from '../parse.js';
import { writeJsonLine } from '../output.js';

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
        onMeasuring: (devices) => void process.stderr.write(`nst: measuring ${devices.map((d) => d.device).join(', ')} at ${sizePx} px …\n`),
      });
      if (raw.json === true) writeJsonLine(asJson(report));
      else process.stdout.write(asTable(report));
    });
}

function rows(report: DevicesReport): { device: string; adapter: string; canRun: boolean | null; msPerIteration: number | null; setupMs: number | null; note: string }[] {
  return report.candidates.map((c) => {
    const measured = report.verdict?.measurements.find((m) => m.device === c.device);
    // The CPU provider always runs; another is known to only once it has been tried.
    const canRun = c.excluded !== null ? false : measured ? measured.msPerIteration !== null : c.device === 'cpu' ? true : null;
    const note = c.excluded ?? measured?.error ?? (measured ? '' : 'not measured');
    return { device: c.device, adapter: c.adapter ?? '-', canRun, msPerIteration: measured?.msPerIteration ?? null, setupMs: measured?.setupMs ?? null, note };
  });
}

function asJson(report: DevicesReport): Record<string, unknown> {
  return {
    onnxruntime: report.onnxruntime,
    devices: rows(report).map((r, i) => {
      const { adapter, driver, software, excluded } = report.candidates[i]!;
      const error = report.verdict?.measurements.find((m) => m.device === r.device)?.error ?? null;
      return { device: r.device, adapter, driver, software, canRun: r.canRun, excluded, msPerIteration: r.msPerIteration, setupMs: r.setupMs, error };
    }),
    verdict: report.verdict ? { device: report.verdict.device, reason: report.verdict.reason, measuredAt: report.verdict.measuredAt, sizePx: report.verdict.sizePx } : null,
    auto: report.auto,
    measuredNow: report.measuredNow,
  };
}

function asTable(report: DevicesReport): string {
  const size = report.verdict?.sizePx ?? MEASURE_SIZE_PX;
  const table = [['device', 'adapter', 'can run', `ms/it (${size} px)`, 'note'], ...rows(report).map((r) => [r.device, r.adapter, r.canRun === null ? '?' : r.canRun ? 'yes' : 'no', r.msPerIteration === null ? '-' : r.msPerIteration.toFixed(1), r.note])];
  const widths = table[0]!.map((_, col) => Math.max(...table.map((row) => row[col]!.length)));
  const lines = table.map((row) => row.map((cell, col) => (col === row.length - 1 ? cell : cell.padEnd(widths[col]!))).join('  ').trimEnd());
  const when = report.verdict ? ` (measured ${report.verdict.measuredAt.slice(0, 16).replace('T', ' ')} UTC, onnxruntime ${report.onnxruntime}; nst devices --measure measures again)` : '';
  return `${lines.join('\n')}\nauto: ${report.auto.device}: ${report.auto.reason}${when}\n`;
}
