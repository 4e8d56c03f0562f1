// `nst stylize CONTENT STYLE… -o OUT`: one style-transfer run with progress, snapshots and JSON lines.

import path from 'node:path';
import { mkdir } from 'node:fs/promises';
import { Command } from 'commander';
import { decodeImage, resizeImage, writeImageAtomic, RunController, initialImage, type RunSettings, multiScaleIterations, scaleSizes, planIterations, renderStyleTransfer, keepOriginalColors, NstError, checkOutputFolder } from '../../engine/index.js';
import { parseNumber } from '../parse.js';
import { resolveWeights } from '../weights.js';
import { createProgress, say, writeJsonLine } from '../output.js';
import { checkOutputPath } from '../output-path.js';
import { checkStylizeWrites } from '../planned-writes.js';
import { settleAndSayAutoDevice } from '../auto-device.js';
import { addRenderOptions, decodeStyles, iterationRecord, readRenderOptions, round, stopRecord, stopSentence } from '../render-options.js';
import { addCheckpointOption, openCheckpoints, type ResumedRun } from '../checkpoints.js';
import { addStylizeVideoOptions, applyPresetOptions, describeVideo, prepareStylizeVideo, summary as videoSummary } from './video.js';

export function stylizeCommand(): Command {
  const command = new Command('stylize')
    .description('paint CONTENT in the style of STYLE (several styles are blended)')
    .argument('<content>', 'content image (JPEG, PNG, WebP, TIFF)')
    .argument('<styles...>', 'one or more style images')
    .requiredOption('-o, --output <file>', 'output image (.png or .jpg)');
  addRenderOptions(command)
    .option('--save-every <n>', 'write the image so far every N iterations (to OUT, or numbered into --frames-dir)', '0')
    .option('--frames-dir <dir>', 'folder for numbered frames (frame_000010.png …) written every --save-every iterations')
    .option('--json', 'one JSON object per reported iteration on stdout, then a final {"done":true,…} line');
  addCheckpointOption(command);
  addStylizeVideoOptions(command);
  return command.action(async (contentPath: string, stylePaths: string[], raw: Record<string, string | boolean | undefined>) => {
    applyPresetOptions(command, raw);
    await stylize(contentPath, stylePaths, raw);
  });
}

/**
 * A stylize run; `resume` (from `nst resume`, which owns the run by then) continues a checkpointed one with the
 * options it was started with.
 */
export async function stylize(contentPath: string, stylePaths: string[], raw: Record<string, string | boolean | undefined>, resume?: ResumedRun): Promise<void> {
  // A checkpoint written before the adaptive stop was of a run to --iterations: its resumption runs there too.
  if (resume && raw.stop === undefined) raw = { ...raw, stop: 'off' };
  const text = raw as Record<string, string | undefined>;
  const json = raw.json === true;
  const output = path.resolve(text.output!);
  if (!/\.(png|jpe?g)$/i.test(output)) {
    throw new NstError('BAD_ARGUMENT', `-o/--output: ${output} must end in .png, .jpg or .jpeg.`);
  }
  await checkOutputPath('-o/--output', output, [contentPath, ...stylePaths]);
  if (typeof raw.video === 'string') await checkOutputPath('--video', raw.video, [contentPath, ...stylePaths]);
  const options = readRenderOptions(raw, { styleCount: stylePaths.length });
  const { sizePx, scales, styleScale, tile, tileOverlapPx, memoryLimitBytes } = options;
  const saveEvery = parseNumber('--save-every', text.saveEvery!, { min: 0, integer: true });
  let settings: RunSettings = { ...options.settings, imageEvery: saveEvery };
  const scaleCount = scaleSizes(sizePx, scales).length;
  const totalIterations = multiScaleIterations(settings.iterations, sizePx, scales);
  const framesDir = text.framesDir ? path.resolve(text.framesDir) : undefined;
  if (framesDir && saveEvery === 0) throw new NstError('BAD_ARGUMENT', '--frames-dir needs --save-every N (N ≥ 1).');
  if (framesDir) await checkOutputFolder('--frames-dir', framesDir);
  // --video: options checked and ffmpeg found now, so a missing ffmpeg does not surface after a long run. Frames
  // are picked from the events by iteration across scales, so a multi-scale run attaches its image every iteration.
  const video = await prepareStylizeVideo(raw);
  if (video) settings = { ...settings, imageEvery: scaleCount > 1 ? 1 : saveEvery > 0 ? gcd(saveEvery, video.frameEvery) : video.frameEvery };
  // The run attached images for --save-every at iteration 1, every N-th and the last of each scale: keep exactly those.
  const wantsSnapshot = (iteration: number, stageIterations: number): boolean =>
    saveEvery > 0 && (iteration === 1 || iteration % saveEvery === 0 || iteration === stageIterations);

  // Images before weights: a mistyped image path should fail at once, not after loading a 550 MB .h5.
  const content = await decodeImage(contentPath, { sizePx });
  const styles = await decodeStyles(stylePaths, options);
  // Before the weights and the run: the data folder takes checkpoints and the disks have room for what it writes.
  await checkStylizeWrites({ raw, output, width: content.width, height: content.height, framesDir, saveEvery, videoFrameEvery: video?.frameEvery ?? null, iterations: settings.iterations, adaptiveStop: settings.converge !== undefined });
  // Made once the run will go ahead: a refused one leaves no empty folder.
  if (framesDir) await mkdir(framesDir, { recursive: true });
  const weights = await resolveWeights({ weights: options.weights });

  const checkpoints = await openCheckpoints({ contentPath, stylePaths, raw, video: video !== null, totalIterations: (plan) => planIterations(plan, settings.iterations, scales), ...(resume ? { resume } : {}) });
  await settleAndSayAutoDevice(settings.device ?? 'auto', json);
  const controller = new RunController();
  const onSignal = (): void => controller.stop();
  process.once('SIGINT', onSignal);
  let progress = createProgress(totalIterations, !json);
  const started = performance.now();
  const snapshots = new Set<Promise<void>>();
  const withChosenColors = (image: typeof content): typeof content => (options.originalColors ? keepOriginalColors(image, content) : image);
  const atOutputSize = async (image: typeof content): Promise<typeof content> =>
    withChosenColors(image.width === content.width ? image : await resizeImage(image, content.width, content.height));
  video?.start({ width: content.width, height: content.height, data: initialImage(settings.init, content, styles, settings.seed) }, content, atOutputSize);
  let exporting = false;
  try {
    const result = await renderStyleTransfer({ weights, content, styles }, settings, {
      scales,
      tile,
      tileOverlapPx,
      memoryLimitBytes,
      ...checkpoints.renderOptions,
      onNotice: (message) => say(message),
      onPlan: (plan) => {
        if (plan.mode === 'whole') return;
        progress.stop();
        progress = createProgress(planIterations(plan, settings.iterations, scales), !json);
      },
      // Tiled plans: the image after each tile, for --save-every (tiles attach no images of their own).
      onTile: (image, _tile, index) => {
        if (saveEvery === 0) return;
        const target = framesDir ? path.join(framesDir, `tile_${String(index + 1).padStart(4, '0')}.png`) : output;
        const write = writeImageAtomic(target, withChosenColors(image))
          .catch((error: unknown) => say(`could not save ${target}: ${(error as Error).message}`))
          .finally(() => snapshots.delete(write));
        snapshots.add(write);
      },
      styleScale,
      controller,
      onEvent: (event, scale) => {
        if (event.type === 'started') {
          if (event.fallbackReason && scale.index === 0 && scale.phase !== 'tile') say(`running on ${event.device}: ${event.fallbackReason}`);
        } else if (event.type === 'progress') {
          const iteration = event.iteration;
          progress.update(iteration, event.loss.total, event.ms);
          if (json) writeJsonLine(iterationRecord(event, scale));
          video?.onEvent(event);
          if (event.image && wantsSnapshot(event.stageIteration, event.stageIterations)) {
            const target = framesDir ? path.join(framesDir, `frame_${String(iteration).padStart(6, '0')}.png`) : output;
            const image = event.image;
            // Coarse scales are snapshotted at the output's size, so every frame of a run has one size.
            // Awaiting here would stall the loop; a failed snapshot is reported, never silently lost.
            const write = (image.width === content.width ? Promise.resolve(image) : resizeImage(image, content.width, content.height))
              .then((frame) => writeImageAtomic(target, withChosenColors(frame)))
              .catch((error: unknown) => say(`could not save ${target}: ${(error as Error).message}`))
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
    exporting = true;
    const exported = video ? await video.finish(result) : null;
    await checkpoints.finish(result);
    const summary = {
      done: true,
      output,
      ...(checkpoints.enabled ? { runId: checkpoints.runId } : {}),
      width: result.image.width,
      height: result.image.height,
      iterations: result.iterations,
      stopped: result.stopped,
      stop: stopRecord(result.stop),
      device: result.device,
      initialLoss: result.initialLoss.total,
      finalLoss: result.finalLoss.total,
      seconds: round((performance.now() - started) / 1000),
      ...(result.plan.mode !== 'whole' ? { plan: result.plan } : {}),
      peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
      ...(exported ? { video: videoSummary(exported) } : {}),
    };
    if (json) writeJsonLine(summary);
    // A tiled run's first and last losses belong to different images (the pass, the last tile): not a before/after.
    else if (result.plan.mode === 'tiled') say(`wrote ${output} (${result.image.width}x${result.image.height}, ${result.plan.tiles} tiles, ${result.iterations} iterations, ${summary.seconds} s on ${result.device})`);
    else say(`wrote ${output} (${result.image.width}x${result.image.height}, ${result.iterations} iterations, loss ${summary.initialLoss.toExponential(3)} → ${summary.finalLoss.toExponential(3)}, ${summary.seconds} s on ${result.device})`);
    if (exported && !json) say(describeVideo(exported));
    if (!json) say(stopSentence(result.stop));
  } catch (error) {
    // A failed run leaves no frames behind; a failed export keeps them, and its message says where.
    if (video && !exporting) await video.discard();
    await checkpoints.abandon();
    throw error;
  } finally {
    progress.stop();
    process.off('SIGINT', onSignal);
  }
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}
