// `nst batch --content DIR|GLOB|FILE… --style S… -o OUT_DIR`: many content images in one style, resumable:
// OUT_DIR/nst-batch.json records each item as it finishes, so a rerun (or --resume OUT_DIR) does only the rest.

import path from 'node:path';
import { mkdir } from 'node:fs/promises';
import { Command } from 'commander';
import { decodeImage, writeImageAtomic, RunController, planIterations, renderStyleTransfer, multiScaleIterations, keepOriginalColors, BatchLedger, BatchSettingsMismatch, MANIFEST_NAME, expandContentInputs, fileSha256, NstError, isNstError, DEFAULT_TILE_OVERLAP_PX, asNstError, checkOutputFolder, fileSystemError, takeBatchFolder } from '../../engine/index.js';
import { parseChoice } from '../parse.js';
import { resolveWeights } from '../weights.js';
import { createProgress, say, writeJsonLine } from '../output.js';
import { openStopScope, StoppedBySignal } from '../stop-signals.js';
import { settleAndSayAutoDevice } from '../auto-device.js';
import { addRenderOptions, decodeStyles, iterationRecord, readRenderOptions, round, stopRecord, stopSentence, type RenderOptionValues } from '../render-options.js';
import { addMaskOptions, loadMasks, readMaskPaths, type MaskPaths } from '../mask-options.js';

type RawOptions = Record<string, string | string[] | boolean | undefined>;

/** Options that steer this invocation only; every other option is part of the batch's recipe. */
const INVOCATION_OPTIONS = new Set(['content', 'style', 'output', 'resume', 'force', 'json']);

/** What `--resume` needs to run the batch again: stored in the manifest as its recipe. */
interface BatchRecipe {
  content: string[];
  style: string[];
  options: Record<string, string | boolean>;
}

export function batchCommand(): Command {
  const command = new Command('batch')
    .description('paint many content images in one style, resumably (a rerun skips the finished ones)')
    .option('--content <inputs...>', 'content images: folders (their images, sorted), glob patterns (quote them) or files')
    .option('--style <images...>', 'one or more style images (blended)')
    .option('-o, --output <dir>', `output folder (made if missing): the images and ${MANIFEST_NAME}`)
    .option('--resume <dir>', `finish the batch in DIR with the settings its ${MANIFEST_NAME} recorded (options given now override them)`)
    .option('--format <png|jpg>', 'output image format', 'png')
    .option('--force', 'when the folder holds a batch made with other settings, redo every item with these instead of refusing');
  addRenderOptions(command).option('--json', 'JSON lines on stdout: each iteration and each item (with its index and name), then a summary');
  addMaskOptions(command);
  return command.action(async (raw: RawOptions) => batch(command, raw));
}

async function batch(command: Command, raw: RawOptions): Promise<void> {
  const json = raw.json === true;
  const given = (key: string): boolean => command.getOptionValueSource(key) === 'cli';
  const resumeDir = typeof raw.resume === 'string' ? path.resolve(raw.resume) : undefined;
  if (resumeDir && typeof raw.output === 'string' && path.resolve(raw.output) !== resumeDir) {
    throw new NstError('BAD_ARGUMENT', `-o/--output and --resume name different folders (${path.resolve(raw.output)}, ${resumeDir}): give one.`);
  }
  const outDir = resumeDir ?? (typeof raw.output === 'string' ? path.resolve(raw.output) : undefined);
  if (!outDir) throw new NstError('BAD_ARGUMENT', '-o/--output: give the output folder (or --resume OUT_DIR to finish a batch).');
  // A file, or a folder on a read-only disk, is said before any image is read.
  await checkOutputFolder(resumeDir ? '--resume' : '-o/--output', outDir);

  let recipe: BatchRecipe | null = null;
  if (resumeDir) {
    const manifest = await BatchLedger.read(resumeDir);
    if (!manifest) throw new NstError('FILE_NOT_FOUND', `--resume: ${resumeDir} holds no ${MANIFEST_NAME}, so there is no batch to resume.`);
    recipe = readRecipe(manifest.recipe, path.join(resumeDir, MANIFEST_NAME));
    // The recorded options, except those given now.
    for (const [key, value] of Object.entries(recipe.options)) if (!given(key)) raw[key] = value;
    // A batch recorded before the adaptive stop ran its items to --iterations: the rest of them do too.
    if (!('stop' in recipe.options) && !given('stop')) raw.stop = 'off';
  }
  const contentInputs = Array.isArray(raw.content) ? raw.content.map((p) => path.resolve(p)) : recipe?.content;
  const stylePaths = Array.isArray(raw.style) ? raw.style.map((p) => path.resolve(p)) : recipe?.style;
  if (!contentInputs?.length) throw new NstError('BAD_ARGUMENT', '--content: give the content images (folders, globs or files).');
  if (!stylePaths?.length) throw new NstError('BAD_ARGUMENT', '--style: give one or more style images.');
  const format = parseChoice('--format', String(raw.format), ['png', 'jpg'] as const);
  if (typeof raw.weights === 'string') raw.weights = path.resolve(raw.weights);
  // Recorded absolute, like the weights, so that --resume finds them from anywhere.
  if (typeof raw.masks === 'string') raw.masks = raw.masks.split(',').map((p) => (p.trim() === '' ? p : path.resolve(p.trim()))).join(',');
  if (typeof raw.contentMask === 'string') raw.contentMask = path.resolve(raw.contentMask);
  const options = readRenderOptions(raw as Record<string, string | boolean | undefined>, { styleCount: stylePaths.length });
  const maskPaths = readMaskPaths(raw as Record<string, string | undefined>, { ...options.settings, styleCount: stylePaths.length });
  checkMasksOutside(maskPaths, outDir);

  // Styles, masks and inputs before weights: a mistyped path fails at once. The same masks serve every item: each
  // run resizes them to its image.
  const styles = await decodeStyles(stylePaths, options);
  const masks = await loadMasks(maskPaths);
  const { files, ignored } = await expandContentInputs(contentInputs, { excludeDir: outDir });
  const notice = (message: string): void => say(message);
  if (ignored.length > 0) notice(`ignoring ${ignored.length} file${ignored.length === 1 ? '' : 's'} that ${ignored.length === 1 ? 'is' : 'are'} not an image: ${ignored.map((f) => path.basename(f)).join(', ')}`);
  await mkdir(outDir, { recursive: true });

  const recipeOptions: Record<string, string | boolean> = {};
  for (const option of command.options) {
    const key = option.attributeName();
    const value = raw[key];
    if (!INVOCATION_OPTIONS.has(key) && (typeof value === 'string' || typeof value === 'boolean')) recipeOptions[key] = value;
  }
  // What the pictures depend on (parsed, so `10` and `10.0` agree); not the device, threads, memory or weights path.
  const painting: Record<string, unknown> = { ...options.settings };
  for (const key of ['device', 'threads', 'backend', 'reportEvery', 'imageEvery']) delete painting[key];
  const settings = {
    ...painting,
    sizePx: options.sizePx,
    scales: options.scales,
    styleScale: options.styleScale,
    tile: options.tile,
    tileOverlapPx: options.tileOverlapPx ?? DEFAULT_TILE_OVERLAP_PX,
    originalColors: options.originalColors,
    format,
    styles: await Promise.all(stylePaths.map(fileSha256)),
    // Only with masks, so a batch recorded without them keeps its settings' hash.
    ...(maskPaths.styles.length > 0 ? { masks: await Promise.all(maskPaths.styles.map(fileSha256)) } : {}),
    ...(maskPaths.content !== undefined ? { contentMask: await fileSha256(maskPaths.content) } : {}),
  };
  // One batch at a time in a folder, from its manifest on: two would redo each other's items (RUN_IN_USE).
  const owned = await takeBatchFolder(outDir, { command: 'nst batch', note: notice });
  let ledger: BatchLedger;
  try {
    ledger = await BatchLedger.open(outDir, {
      inputs: files,
      extension: format,
      settings,
      recipe: { content: contentInputs, style: stylePaths, options: recipeOptions } satisfies BatchRecipe,
      force: raw.force === true,
    });
  } catch (error) {
    await owned.release();
    if (!(error instanceof BatchSettingsMismatch)) throw error;
    throw new NstError('BAD_ARGUMENT', `${error.message} Finished items would not match: rerun with --force to redo every item with these settings, or choose another -o folder.`, { cause: error });
  }

  const total = ledger.items.length;
  const todo = ledger.todo();
  const skipped = total - todo.length;
  const started = performance.now();
  if (json) {
    for (const [index, item] of ledger.items.entries()) {
      if (item.status === 'done') writeJsonLine({ item: index + 1, items: total, name: path.basename(item.input), status: 'skipped', output: ledger.outputPath(index) });
    }
  } else {
    const recovered = ledger.recovered > 0 ? ` (${ledger.recovered} finished just before an interruption)` : '';
    notice(`batch of ${total} into ${outDir}: ${skipped} already done${recovered}, ${todo.length} to do`);
  }

  let interrupted = false;
  let current: RunController | null = null;
  // SIGINT, SIGTERM, SIGHUP: the item in progress stops unwritten and stays to do (stop-signals.ts).
  const stops = openStopScope();
  stops.onStop(() => {
    interrupted = true;
    current?.stop();
  });
  let written = 0;
  let failed = 0;
  try {
    const weights = todo.length > 0 ? await resolveWeights({ weights: options.weights }) : null;
    if (todo.length > 0) await settleAndSayAutoDevice(options.settings.device ?? 'auto', json);
    let fallbackSaid = false;
    for (const index of todo) {
      if (interrupted) break;
      const item = ledger.items[index]!;
      const name = path.basename(item.input);
      const label = `[${index + 1}/${total}] ${name}`;
      if (!json) notice(`${label} → ${item.output}`);
      await ledger.markRunning(index);
      current = new RunController();
      const itemStarted = performance.now();
      const progress = { bar: createProgress(multiScaleIterations(options.settings.iterations, options.sizePx, options.scales), !json) };
      try {
        const content = await decodeImage(item.input, { sizePx: options.sizePx });
        const result = await renderStyleTransfer({ weights: weights!, content, styles, masks }, options.settings, {
          ...renderOptions(options),
          controller: current,
          onNotice: (message) => notice(`${label}: ${message}`),
          onPlan: (plan) => {
            if (plan.mode === 'whole') return;
            progress.bar.stop();
            progress.bar = createProgress(planIterations(plan, options.settings.iterations, options.scales), !json);
          },
          onEvent: (event, scale) => {
            if (event.type === 'started') {
              if (event.fallbackReason && !fallbackSaid) notice(`running on ${event.device}: ${event.fallbackReason}`);
              fallbackSaid = true;
            } else if (event.type === 'progress') {
              progress.bar.update(event.iteration, event.loss.total, event.ms);
              if (json) writeJsonLine({ item: index + 1, items: total, name, ...iterationRecord(event, scale) });
            }
          },
        });
        progress.bar.stop();
        // Stopped mid-item: its image is unfinished, so it is neither written nor marked done.
        if (result.stopped || interrupted) {
          await ledger.markPending(index);
          break;
        }
        await writeImageAtomic(ledger.outputPath(index), options.originalColors ? keepOriginalColors(result.image, content) : result.image);
        const seconds = round((performance.now() - itemStarted) / 1000);
        await ledger.markDone(index, seconds);
        written++;
        const { width, height } = result.image;
        if (json) {
          writeJsonLine({ item: index + 1, items: total, name, status: 'done', output: ledger.outputPath(index), width, height, iterations: result.iterations, finalLoss: result.finalLoss.total, seconds, stop: stopRecord(result.stop) });
        } else notice(`${label}: wrote ${ledger.outputPath(index)} (${width}x${height}, ${result.iterations} iterations, ${seconds} s): ${stopSentence(result.stop)}`);
      } catch (error) {
        progress.bar.stop();
        if (interrupted) {
          await ledger.markPending(index);
          break;
        }
        // A full disk, or an output folder that refuses files, would fail every item after this one: the batch stops.
        if (stopsBatch(error, outDir)) {
          await ledger.markPending(index).catch(() => undefined);
          throw asNstError(error);
        }
        // Skip and report: the item is marked failed with its reason and the batch goes on.
        const info = { code: isNstError(error) ? error.code : 'INTERNAL', message: error instanceof Error ? error.message : String(error) };
        await ledger.markFailed(index, info);
        failed++;
        if (json) writeJsonLine({ item: index + 1, items: total, name, status: 'failed', error: info });
        else notice(`${label}: failed, skipped: ${info.message}`);
      }
    }
  } finally {
    current = null;
    stops.close();
    await owned.release();
  }

  const counts = ledger.counts();
  const seconds = round((performance.now() - started) / 1000);
  if (json) writeJsonLine({ done: true, outputDir: outDir, manifest: ledger.manifestPath, stopped: interrupted, items: total, written, skipped, failed, pending: counts.pending, seconds });
  else notice(`batch: ${written} written, ${skipped} skipped (already done), ${failed} failed${counts.pending > 0 ? `, ${counts.pending} not done yet` : ''} (${seconds} s)`);
  if (interrupted) {
    throw new StoppedBySignal(stops.signal!, `Stopped (${stops.signal!}): ${counts.done} of ${total} done. Rerun the same command, or nst batch --resume ${outDir}, to finish (finished items are not redone).`);
  }
  if (counts.failed > 0) {
    const reasons = ledger.items.flatMap((item) => (item.status === 'failed' ? [`${path.basename(item.input)} (${(item.error?.message ?? 'failed').replace(/\.$/, '')})`] : []));
    throw new NstError('BATCH_ITEMS_FAILED', `${counts.failed} of ${total} items failed: ${reasons.join('; ')}. The other ${counts.done} are in ${outDir}.`);
  }
}

function renderOptions(options: RenderOptionValues): Pick<Parameters<typeof renderStyleTransfer>[2], 'scales' | 'styleScale' | 'tile' | 'tileOverlapPx' | 'memoryLimitBytes'> {
  return { scales: options.scales, styleScale: options.styleScale, tile: options.tile, tileOverlapPx: options.tileOverlapPx, memoryLimitBytes: options.memoryLimitBytes };
}

/**
 * Masks may not lie directly in the output folder: a painting named like one (an input a.png, a mask a.png) would be
 * written over it, and the batch's rerun would read the painting as the mask.
 */
function checkMasksOutside(masks: MaskPaths, outDir: string): void {
  const named = [...masks.styles.map((file) => ['--masks', file] as const), ...(masks.content !== undefined ? [['--content-mask', masks.content] as const] : [])];
  for (const [option, file] of named) {
    if (path.dirname(path.resolve(file)) === outDir) {
      throw new NstError('BAD_ARGUMENT', `${option}: ${file} is in the output folder ${outDir}, where the paintings are written (one could be written over it): keep masks elsewhere.`);
    }
  }
}

/** A file-system refusal that is not this item's fault: the disk is full, or writing into the output folder failed. */
function stopsBatch(error: unknown, outDir: string): boolean {
  const refused = fileSystemError(error);
  const file = (error as NodeJS.ErrnoException).path;
  return refused !== null && (refused.code === 'DISK_FULL' || (typeof file === 'string' && path.dirname(file) === outDir));
}

function readRecipe(value: unknown, manifestPath: string): BatchRecipe {
  const r = value as Partial<BatchRecipe> | null;
  const strings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');
  if (!r || typeof r !== 'object' || !strings(r.content) || !strings(r.style) || typeof r.options !== 'object' || r.options === null) {
    throw new NstError('BAD_ARGUMENT', `--resume: ${manifestPath} was not written by nst batch (it records no command to resume).`);
  }
  return r as BatchRecipe;
}
