// `nst stylize CONTENT STYLE… -o OUT`: one style-transfer run with progress, snapshots and JSON lines.

import path from 'node:path';
import { mkdir } from 'node:fs/promises';
import { Command } from 'commander';
import { decodeImage, resizeImage, writeImageAtomic, RunController, initialImage, type RunSettings, multiScaleIterations, scaleSizes, planIterations, renderStyleTransfer, keepOriginalColors, NstError, checkOutputFolder, type CheckpointManifest, dataDir, removeStaleTemporaries, runDir, runFramesDir } from '../../engine/index.js';
import { parseNumber } from '../parse.js';
import { resolveWeights } from '../weights.js';
import { createProgress, say, writeJsonLine } from '../output.js';
import { checkOutputPath } from '../output-path.js';
import { checkStylizeWrites } from '../planned-writes.js';
import { settleAndSayAutoDevice } from '../auto-device.js';
import { addRenderOptions, decodeStyles, iterationRecord, readRenderOptions, round, stopRecord, stopSentence } from '../render-options.js';
import { addCheckpointOption, openCheckpoints, type ResumedRun } from '../checkpoints.js';
import { addMaskOptions, loadMasks, namedMaskFiles, readMaskPaths } from '../mask-options.js';
import { openStopScope, StoppedBySignal, type StopScope, type StopSignal } from '../stop-signals.js';
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
  addMaskOptions(command);
  addStylizeVideoOptions(command);
  return command.action(async (contentPath: string, stylePaths: string[], raw: Record<string, string | boolean | undefined>) => {
    applyPresetOptions(command, raw);
    await stylize(contentPath, stylePaths, raw);
  });
}

/**
 * A stylize run; `resume` (from `nst resume`, which owns the run by then) continues a checkpointed one with the
 * options it was started with. SIGINT, SIGTERM and SIGHUP stop it (stop-signals.ts) from the start: a signal during
 * the setup stops the run before its first iteration, checkpointed like any stopped run.
 */
export async function stylize(contentPath: string, stylePaths: string[], raw: Record<string, string | boolean | undefined>, resume?: ResumedRun): Promise<void> {
  const stops = openStopScope();
  try {
    await stylizeRun(contentPath, stylePaths, raw, stops, resume);
  } finally {
    stops.close();
  }
}

async function stylizeRun(contentPath: string, stylePaths: string[], raw: Record<string, string | boolean | undefined>, stops: StopScope, resume?: ResumedRun): Promise<void> {
  // A checkpoint written before the adaptive stop was of a run to --iterations: its resumption runs there too.
  if (resume && raw.stop === undefined) raw = { ...raw, stop: 'off' };
  const text = raw as Record<string, string | undefined>;
  const json = raw.json === true;
  const output = path.resolve(text.output!);
  if (!/\.(png|jpe?g)$/i.test(output)) {
    throw new NstError('BAD_ARGUMENT', `-o/--output: ${output} must end in .png, .jpg or .jpeg.`);
  }
  await checkOutputPath('-o/--output', output, [contentPath, ...stylePaths, ...namedMaskFiles(text)]);
  if (typeof raw.video === 'string') await checkOutputPath('--video', raw.video, [contentPath, ...stylePaths, ...namedMaskFiles(text)]);
  // What a run killed while writing this output left beside it (`.out.png.<pid>.<hex>.tmp`, its pid gone).
  await removeStaleTemporaries(path.dirname(output), (target) => target === path.basename(output));
  const options = readRenderOptions(raw, { styleCount: stylePaths.length });
  const { sizePx, scales, styleScale, tile, tileOverlapPx, memoryLimitBytes } = options;
  const maskPaths = readMaskPaths(text, { ...options.settings, styleCount: stylePaths.length });
  const saveEvery = parseNumber('--save-every', text.saveEvery!, { min: 0, integer: true });
  let settings: RunSettings = { ...options.settings, imageEvery: saveEvery };
  const scaleCount = scaleSizes(sizePx, scales).length;
  const totalIterations = multiScaleIterations(settings.iterations, sizePx, scales);
  const framesDir = text.framesDir ? path.resolve(text.framesDir) : undefined;
  if (framesDir && saveEvery === 0) throw new NstError('BAD_ARGUMENT', '--frames-dir needs --save-every N (N ≥ 1).');
  if (framesDir) await checkOutputFolder('--frames-dir', framesDir);
  if (framesDir) await removeStaleTemporaries(framesDir, (target) => /^(frame_\d{6}|tile_\d{4})\.png$/.test(target));
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
  // A resumed run paints the regions it was checkpointed with, whatever has become of the mask files since.
  const masks = resume?.state.masks ?? (await loadMasks(maskPaths));
  // Before the weights and the run: the data folder takes checkpoints and the disks have room for what it writes.
  await checkStylizeWrites({ raw, output, width: content.width, height: content.height, framesDir, saveEvery, videoFrameEvery: video?.frameEvery ?? null, iterations: settings.iterations, adaptiveStop: settings.converge !== undefined });
  // Made once the run will go ahead: a refused one leaves no empty folder.
  if (framesDir) await mkdir(framesDir, { recursive: true });
  const weights = await resolveWeights({ weights: options.weights });

  const checkpoints = await openCheckpoints({
    contentPath,
    stylePaths,
    raw,
    totalIterations: (plan) => planIterations(plan, settings.iterations, scales),
    // A checkpoint waits for the frames taken before it, so its resumption finds every one of them.
    ...(video ? { framesSettled: () => video.settled() } : {}),
    ...(resume ? { resume } : {}),
  });
  await settleAndSayAutoDevice(settings.device ?? 'auto', json);
  const controller = new RunController();
  stops.onStop(() => controller.stop());
  let progress = createProgress(totalIterations, !json);
  const started = performance.now();
  const snapshots = new Set<Promise<void>>();
  const withChosenColors = (image: typeof content): typeof content => (options.originalColors ? keepOriginalColors(image, content) : image);
  const atOutputSize = async (image: typeof content): Promise<typeof content> =>
    withChosenColors(image.width === content.width ? image : await resizeImage(image, content.width, content.height));
  // A checkpointed run spools its frames with its checkpoint (a resumed run goes on filling them), others in a temp folder.
  const spool = { dir: checkpoints.enabled ? runFramesDir(dataDir(), checkpoints.runId) : null, resumeAt: resume?.manifest.progress.iteration ?? null };
  await video?.start(spool, { width: content.width, height: content.height, data: initialImage(settings.init, content, styles, settings.seed) }, content, atOutputSize);
  // A resumed run's image at its checkpoint, for the timelapse once its stage says its size (a tile's is not the picture).
  let checkpointFrame = resume && resume.state.phase !== 'tile' ? { iteration: resume.manifest.progress.iteration, data: resume.state.stage.run.image } : null;
  let exporting = false;
  // The output, frames and checkpoint are settled: what is thrown now (a stop) leaves them as they are.
  let ended = false;
  try {
    const result = await renderStyleTransfer({ weights, content, styles, masks }, settings, {
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
          if (checkpointFrame && checkpointFrame.data.length === 3 * event.width * event.height) video?.resumeFrom({ width: event.width, height: event.height, data: checkpointFrame.data }, checkpointFrame.iteration);
          checkpointFrame = null;
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
    // Stopped by a signal (nothing else stops a CLI run). Before its first iteration the image is the photo or noise,
    // and OUT may hold earlier work: it is written only once the run has taken a step.
    const signal = result.stopped ? stops.signal : null;
    const written = signal === null || result.iterations > 0;
    if (written) await writeImageAtomic(output, await atOutputSize(result.image));
    exporting = true;
    const exported = video && !signal ? await video.finish(result) : null;
    // A stopped run's frames stay for its resumption; without a checkpoint there is none.
    if (video && signal) await (checkpoints.enabled ? video.keep() : video.discard());
    const kept = await checkpoints.finish(result);
    ended = true;
    const summary = {
      done: true,
      output,
      written,
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
    if (signal) {
      if (json) writeJsonLine(summary);
      throw new StoppedBySignal(signal, stoppedSentence({ signal, output, written, iterations: result.iterations, totalIterations, kept, runId: checkpoints.runId, checkpointed: checkpoints.enabled }));
    }
    if (json) writeJsonLine(summary);
    // A tiled run's first and last losses belong to different images (the pass, the last tile): not a before/after.
    else if (result.plan.mode === 'tiled') say(`wrote ${output} (${result.image.width}x${result.image.height}, ${result.plan.tiles} tiles, ${result.iterations} iterations, ${summary.seconds} s on ${result.device})`);
    else say(`wrote ${output} (${result.image.width}x${result.image.height}, ${result.iterations} iterations, loss ${summary.initialLoss.toExponential(3)} → ${summary.finalLoss.toExponential(3)}, ${summary.seconds} s on ${result.device})`);
    if (exported && !json) say(describeVideo(exported));
    if (!json) say(stopSentence(result.stop));
  } catch (error) {
    if (ended) throw error;
    // A failed run leaves no frames behind; a failed export keeps them, and its message says where.
    if (video && !exporting) await video.discard();
    await checkpoints.abandon();
    throw error;
  } finally {
    progress.stop();
  }
}

/**
 * The one line a stopped run ends with: where it stopped, what became of OUT, and how to finish it (or that it
 * cannot be resumed, and why).
 */
function stoppedSentence(run: {
  readonly signal: StopSignal;
  readonly output: string;
  readonly written: boolean;
  readonly iterations: number;
  readonly totalIterations: number;
  readonly kept: CheckpointManifest | null;
  readonly runId: string;
  readonly checkpointed: boolean;
}): string {
  const total = run.kept?.progress.totalIterations ?? run.totalIterations;
  const where = run.iterations > 0 ? `stopped at iteration ${run.iterations} of ${total}` : `stopped before the first of ${total} iterations`;
  const image = run.written ? `the image so far is in ${run.output}` : `${run.output} was left as it was`;
  let next: string;
  if (run.kept) {
    const from = run.kept.stopped ? '' : ` from its checkpoint at iteration ${run.kept.progress.iteration}`;
    next = `its checkpoint is in ${runDir(run.runId)}; finish it${from} with: nst resume ${run.runId}`;
  } else if (!run.checkpointed) next = 'it was not checkpointed (--checkpoint-every 0): run the command again to start over';
  else next = 'its checkpoint could not be written: run the command again to start over';
  return `${where} (${run.signal}); ${image}; ${next}`;
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}
