// `nst bench`: per-iteration speed and peak memory of the loss graph on this machine.

import { Command } from 'commander';
import { benchmark } from '../../engine/index.js';
import { addLossOptions, readLossOptions } from '../loss-options.js';
import { parseNumber } from '../parse.js';
import { resolveWeights } from '../weights.js';
import { writeJsonLine } from '../output.js';
import { settleAndSayAutoDevice } from '../auto-device.js';

export function benchCommand(): Command {
  const command = new Command('bench')
    .description('measure milliseconds per iteration and peak memory (median over --iterations after one warm-up)')
    .option('--size <px>', 'square image side', '256')
    .option('--iterations <n>', 'timed iterations', '5')
    .option('--weights <path>', 'VGG19 weights; default $NST_WEIGHTS')
    .option('--random-weights', 'seeded He-initialised VGG19 weights: no weights file needed')
    .option('--json', 'print one JSON object');
  addLossOptions(command, { normalizeByDefault: false });
  return command.action(async (raw: Record<string, string | boolean | undefined>) => {
    const text = raw as Record<string, string | undefined>;
    const loss = readLossOptions(text);
    // Every option is checked before the weights are built or loaded (seconds for an .h5).
    const sizePx = parseNumber('--size', text.size!, { min: 16, max: 8192, integer: true });
    const iterations = parseNumber('--iterations', text.iterations!, { min: 1, max: 10_000, integer: true });
    const weights = await resolveWeights({ weights: text.weights, randomWeights: raw.randomWeights === true });
    await settleAndSayAutoDevice(loss.device, raw.json === true);
    const result = await benchmark({
      weights,
      sizePx,
      iterations,
      styleLayers: loss.styleLayers,
      contentLayers: loss.contentLayers,
      pool: loss.pool,
      device: loss.device,
      threads: loss.threads,
      convAlgorithm: loss.convAlgorithm,
    });
    const report = {
      msPerIterMedian: Math.round(result.msPerIterMedian * 10) / 10,
      peakRssMb: Math.round(result.peakRssMb),
      gflopPerIter: Math.round(result.gflopPerIter * 10) / 10,
      gflops: Math.round(result.gflops * 10) / 10,
      device: result.device,
      convAlgorithm: result.convAlgorithm,
      cpuMsPerIterMedian: Math.round(result.cpuMsPerIterMedian * 10) / 10,
    };
    if (raw.json === true) writeJsonLine(report);
    else {
      process.stdout.write(
        `${report.msPerIterMedian} ms/iteration (median of ${result.msPerIter.length}) on ${report.device} (${report.convAlgorithm} convs, CPU ${report.cpuMsPerIterMedian} ms), ` +
          `${report.gflopPerIter} GFLOP/iteration = ${report.gflops} GFLOP/s, peak RSS ${report.peakRssMb} MB\n`,
      );
    }
  });
}
