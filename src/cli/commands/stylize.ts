// `nst stylize CONTENT STYLE… -o OUT`: one style-transfer run with progress, snapshots and JSON lines.

import path from 'node:path';
import { mkdir } from 'node:fs/promises';
import { Command } from 'commander';
import { DEFAULT_RUN_SETTINGS, DEFAULT_SIZE_PX } from '../../engine/defaults.js';
import { decodeImage, resizeImage, writeImageAtomic } from '../../engine/image.js';
import { RunController, type InitMode, type RunSettings } from '../../engine/run.js';
import { runMultiScale, scaleSizes, type ScalesOption } from '../../engine/multiscale.js';
import { keepOriginalColors } from '../../engine/color.js';
import type { OptimizerName } from '../../engine/optim/types.js';
import { NstError } from '../../engine/errors.js';
import { addLossOptions, checkStyleBlend, readLossOptions } from '../loss-options.js';
import { parseChoice, parseNumber } from '../parse.js';
import { resolveWeights } from '../weights.js';
import { createProgress, writeJsonLine } from '../output.js';

export function stylizeCommand(): Command {
  const d = DEFAULT_RUN_SETTINGS;
  const command = new Command('stylize')
    .description('paint CONTENT in the style of STYLE (several styles are blended)')
    .argument('<content>', 'content image (JPEG, PNG, WebP, TIFF)')
    .argument('<styles...>', 'one or more style images')
    .requiredOption('-o, --output <file>', 'output image (.png or .jpg)')
    .option('--size <px>', 'longest side of the output in pixels', String(DEFAULT_SIZE_PX))
    .option('--iterations <n>', 'optimizer iterations', String(d.iterations))
    .option('--optimizer <gd|adam|lbfgs>', 'optimizer', d.optimizer)
    .option('--lr <rate>', 'learning rate (default: the optimizer\'s own)')
    .option('--init <content|noise|style>', 'starting image', d.init)
    .option('--seed <n>', 'random seed (noise init)', String(d.seed))
    .option('--weights <path>', 'VGG19 weights (.h5, .onnx or TF.js folder); default $NST_WEIGHTS')
    .option('--save-every <n>', 'write the image so far every N iterations (to OUT, or numbered into --frames-dir)', '0')
    .option('--frames-dir <dir>', 'folder for numbered frames (frame_000010.png …) written every --save-every iterations')
    .option('--scales <auto|off|N>', 'coarse-to-fine: optimise at halved sizes first (auto: above 384 px, coarsest ≥ 192 px); --iterations runs at every scale', 'auto')
    .option('--style-scale <factor>', 'style image size relative to the output', '1')
    .option('--original-colors', 'keep the content photo\'s colours: transfer luminance only')
    .option('--json', 'one JSON object per reported iteration on stdout, then a final {"done":true,…} line');
  addLossOptions(command, { normalizeByDefault: true });
  return command.action(async (contentPath: string, stylePaths: string[], raw: Record<string, string | boolean | undefined>) => {
    await stylize(contentPath, stylePaths, raw);
  });
}

async function stylize(contentPath: string, stylePaths: string[], raw: Record<string, string | boolean | undefined>): Promise<void> {
  const text = raw as Record<string, string | undefined>;
  const json = raw.json === true;
  const output = path.resolve(text.output!);
  if (!/\.(png|jpe?g)$/i.test(output)) {
    throw new NstError('BAD_ARGUMENT', `-o/--output: ${output} must end in .png, .jpg or .jpeg.`);
  }
  const sizePx = parseNumber('--size', text.size!, { min: 16, max: 16384, integer: true });
  const saveEvery = parseNumber('--save-every', text.saveEvery!, { min: 0, integer: true });
  const loss = readLossOptions(text);
  const settings: RunSettings = {
    ...loss,
    iterations: parseNumber('--iterations', text.iterations!, { min: 0, max: 1_000_000, integer: true }),
    optimizer: parseChoice<OptimizerName>('--optimizer', text.optimizer!, ['gd', 'adam', 'lbfgs']),
    ...(text.lr !== undefined ? { learningRate: parseNumber('--lr', text.lr, { min: 0, minExclusive: true }) } : {}),
    init: parseChoice<InitMode>('--init', text.init!, ['content', 'noise', 'style']),
    seed: parseNumber('--seed', text.seed!, { integer: true, min: -Number.MAX_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
    reportEvery: 1,
    imageEvery: saveEvery,
  };
  const scales: ScalesOption = text.scales === 'auto' || text.scales === 'off' ? text.scales : parseNumber('--scales', text.scales!, { min: 1, max: 8, integer: true });
  const styleScale = parseNumber('--style-scale', text.styleScale!, { min: 0.05, max: 8 });
  const scaleCount = scaleSizes(sizePx, scales).length;
  const framesDir = text.framesDir ? path.resolve(text.framesDir) : undefined;
  if (framesDir && saveEvery === 0) throw new NstError('BAD_ARGUMENT', '--frames-dir needs --save-every N (N ≥ 1).');
  if (framesDir) await mkdir(framesDir, { recursive: true });

  checkStyleBlend(loss.styleBlend, stylePaths.length);
  // Images before weights: a mistyped image path should fail at once, not after loading a 550 MB .h5.
  const content = await decodeImage(contentPath, { sizePx });
  const styles = await Promise.all(stylePaths.map((p) => decodeImage(p, { sizePx: Math.max(16, Math.round(sizePx * styleScale)) })));
  const weights = await resolveWeights({ weights: text.weights });

  const controller = new RunController();
  const onSignal = (): void => controller.stop();
  process.once('SIGINT', onSignal);
  const progress = createProgress(settings.iterations * scaleCount, !json);
  // Iterations are numbered across scales: a scale's first iteration follows the previous scale's last.
  let iterationOffset = 0;
  let lastIteration = 0;
  const started = performance.now();
  const snapshots = new Set<Promise<void>>();
  const withChosenColors = (image: typeof content): typeof content => (raw.originalColors === true ? keepOriginalColors(image, content) : image);
  try {
    const result = await runMultiScale({ weights, content, styles }, settings, {
      scales,
      styleScale,
      controller,
      onEvent: (event, scale) => {
        if (event.type === 'started') {
          iterationOffset = lastIteration;
          if (event.fallbackReason && scale.index === 0) process.stderr.write(`nst: running on ${event.device}: ${event.fallbackReason}\n`);
        } else if (event.type === 'progress') {
          const iteration = iterationOffset + event.iteration;
          lastIteration = iteration;
          progress.update(iteration, event.loss.total, event.ms);
          if (json) {
            writeJsonLine({
              iteration,
              loss: event.loss.total,
              style: event.loss.style,
              content: event.loss.content,
              tv: event.loss.tv,
              ms: round(event.ms),
              ...(scale.count > 1 ? { scale: scale.index + 1, sizePx: scale.sizePx } : {}),
            });
          }
          if (event.image) {
            const target = framesDir ? path.join(framesDir, `frame_${String(iteration).padStart(6, '0')}.png`) : output;
            const image = event.image;
            // Coarse scales are snapshotted at the output's size, so every frame of a run has one size.
            // Awaiting here would stall the loop; a failed snapshot is reported, never silently lost.
            const write = (image.width === content.width ? Promise.resolve(image) : resizeImage(image, content.width, content.height))
              .then((frame) => writeImageAtomic(target, withChosenColors(frame)))
              .catch((error: unknown) => void process.stderr.write(`nst: could not save ${target}: ${(error as Error).message}\n`))
              .finally(() => snapshots.delete(write));
            snapshots.add(write);
          }
        }
      },
    });
    progress.stop();
    // A late snapshot must not land on top of the final image.
    await Promise.all(snapshots);
    await writeImageAtomic(output, withChosenColors(result.image));
    const summary = {
      done: true,
      output,
      width: result.image.width,
      height: result.image.height,
      iterations: result.iterations,
      stopped: result.stopped,
      device: result.device,
      initialLoss: result.initialLoss.total,
      finalLoss: result.finalLoss.total,
      seconds: round((performance.now() - started) / 1000),
    };
    if (json) writeJsonLine(summary);
    else process.stderr.write(`nst: wrote ${output} (${result.image.width}x${result.image.height}, ${result.iterations} iterations, loss ${summary.initialLoss.toExponential(3)} → ${summary.finalLoss.toExponential(3)}, ${summary.seconds} s on ${result.device})\n`);
  } finally {
    progress.stop();
    process.off('SIGINT', onSignal);
  }
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
