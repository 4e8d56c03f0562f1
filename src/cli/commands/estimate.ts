// `nst estimate`: the memory a run will need, what fits in the memory limit, and (with --measure) the real peak.

import { Command } from 'commander';
import { DEFAULT_RUN_SETTINGS, DEFAULT_SIZE_PX, MB, defaultMemoryLimit, estimateMemory, formatBytes, largestFittingSize, type EstimateSpec, type MemoryEstimate, planRender, type RenderPlan, noiseImage, resolveExecution, runStyleTransfer, type RunShape, DEVICES, type DeviceRequest, type OptimizerName, CONV_ALGORITHMS, NstError, isNstError, withExecution, type LossMasks, type Mask } from '../../engine/index.js';
import { parseChoice, parseLayerList, parseNumber } from '../parse.js';
import { resolveWeights } from '../weights.js';
import { writeJsonLine } from '../output.js';

export function estimateCommand(): Command {
  const d = DEFAULT_RUN_SETTINGS;
  return new Command('estimate')
    .description('estimate the peak memory of a run (and what fits in the memory limit)')
    .option('--size <px|WxH>', 'longest side (square) or width x height of the output', String(DEFAULT_SIZE_PX))
    .option('--style-layers <layers>', 'style layers, comma-separated', d.styleLayers.join(','))
    .option('--content-layers <layers>', 'content layers, comma-separated', d.contentLayers.join(','))
    .option('--pool <max|avg>', 'pooling', d.pool)
    .option('--optimizer <gd|adam|lbfgs>', 'optimizer', d.optimizer)
    .option('--lbfgs-history <m>', 'L-BFGS curvature pairs kept', '20')
    .option('--device <device>', `execution provider: ${DEVICES.join(', ')}`, 'cpu')
    .option('--conv <direct|winograd|auto>', '3x3 convs as in stylize --conv (Winograd keeps 4x larger kernels)', 'auto')
    .option('--style-images <n>', 'style images blended', '1')
    .option('--style-scale <factor>', 'style image size relative to the output', '1')
    .option('--masks', 'as with stylize --masks: one style mask per style image (guided Grams); no files needed')
    .option('--content-mask', 'as with stylize --content-mask: the content term weighed by a mask; no file needed')
    .option('--memory-limit <MB>', 'memory budget in MB (default: the memory available now, less a margin)')
    .option('--measure <iterations>', 'also run that many iterations on noise images in this process and report the measured peak RSS')
    .option('--weights <path>', 'VGG19 weights for --measure; default $NST_WEIGHTS')
    .option('--random-weights', 'seeded random VGG19 weights for --measure: no weights file needed')
    .option('--threads <n>', 'CPU threads for --measure (0 = all cores)', '0')
    .option('--json', 'print one JSON object')
    .action(async (raw: Record<string, string | boolean | undefined>) => {
      await estimate(raw);
    });
}

function parseSize(text: string): { width: number; height: number } {
  const pair = /^(\d+)x(\d+)$/i.exec(text.trim());
  if (pair) {
    return {
      width: parseNumber('--size', pair[1]!, { min: 16, max: 65536, integer: true }),
      height: parseNumber('--size', pair[2]!, { min: 16, max: 65536, integer: true }),
    };
  }
  const side = parseNumber('--size', text, { min: 16, max: 65536, integer: true });
  return { width: side, height: side };
}

async function estimate(raw: Record<string, string | boolean | undefined>): Promise<void> {
  const text = raw as Record<string, string | undefined>;
  const optimizer = parseChoice<OptimizerName>('--optimizer', text.optimizer!, ['gd', 'adam', 'lbfgs']);
  const shape: RunShape = {
    ...parseSize(text.size!),
    styleLayers: parseLayerList('--style-layers', text.styleLayers ?? ''),
    contentLayers: parseLayerList('--content-layers', text.contentLayers ?? ''),
    pool: parseChoice('--pool', text.pool!, ['max', 'avg'] as const),
    optimizer,
    lbfgsHistory: parseNumber('--lbfgs-history', text.lbfgsHistory!, { min: 1, max: 1000, integer: true }),
    styleImages: parseNumber('--style-images', text.styleImages!, { min: 1, max: 64, integer: true }),
    styleScale: parseNumber('--style-scale', text.styleScale!, { min: 0.05, max: 8 }),
    ...(raw.masks === true ? { styleMasks: parseNumber('--style-images', text.styleImages!, { min: 1, max: 64, integer: true }) } : {}),
    ...(raw.contentMask === true ? { contentMask: true } : {}),
  };
  const request = { device: parseChoice('--device', text.device!, DEVICES), convAlgorithm: parseChoice('--conv', text.conv ?? 'auto', CONV_ALGORITHMS) };
  if (shape.styleLayers.length + shape.contentLayers.length === 0) throw new NstError('BAD_ARGUMENT', 'Choose at least one style or content layer.');
  const limitBytes = text.memoryLimit !== undefined ? parseNumber('--memory-limit', text.memoryLimit, { min: 1 }) * MB : defaultMemoryLimit();
  // What a run of these settings within the limit executes with (an 'auto' run over it takes Conv).
  const spec = withExecution(shape, resolveExecution(request, shape, { memoryLimitBytes: limitBytes }));
  const measureIterations = text.measure !== undefined ? parseNumber('--measure', text.measure, { min: 0, max: 10_000, integer: true }) : null;
  const threads = parseNumber('--threads', text.threads!, { min: 0, max: 256, integer: true });

  const result = estimateMemory(spec);
  const fits = result.totalBytes <= limitBytes;
  const largest = fits ? null : largestFittingSize(spec, limitBytes);
  let plan: RenderPlan | null = null;
  let planError: string | null = null;
  if (!fits) {
    try {
      plan = planRender({ width: spec.width, height: spec.height, settings: { ...DEFAULT_RUN_SETTINGS, ...shape, ...request }, styleImages: spec.styleImages!, styleScale: spec.styleScale!, styleMasks: spec.styleMasks ?? 0, contentMask: spec.contentMask === true }, limitBytes, 'auto').plan;
    } catch (error) {
      if (!isNstError(error)) throw error;
      planError = error.message;
    }
  }
  const measured = measureIterations === null ? null : await measure(spec, request.device, measureIterations, threads, raw);

  if (raw.json === true) {
    const mb = (bytes: number): number => Math.round(bytes / MB);
    writeJsonLine({
      width: spec.width,
      height: spec.height,
      totalMb: mb(result.totalBytes),
      breakdownMb: Object.fromEntries(Object.entries(result.breakdown).map(([k, v]) => [k, mb(v as number)])),
      deviceMb: result.deviceBytes === null ? null : mb(result.deviceBytes),
      calibrated: result.calibrated,
      convAlgorithm: result.convAlgorithm,
      memoryLimitMb: mb(limitBytes),
      fits,
      largestFittingPx: largest,
      plan,
      ...(planError ? { planError } : {}),
      ...(measured ? { measuredPeakMb: measured.peakMb, errorPercent: Math.round(((result.totalBytes / MB - measured.peakMb) / measured.peakMb) * 1000) / 10, measuredIterations: measured.iterations } : {}),
    });
    return;
  }
  process.stdout.write(report(spec, result, limitBytes, fits, largest, plan, planError));
  if (measured) {
    const error = ((result.totalBytes / MB - measured.peakMb) / measured.peakMb) * 100;
    process.stdout.write(`measured peak RSS ${Math.round(measured.peakMb)} MB after ${measured.iterations} iterations (estimate ${error >= 0 ? '+' : ''}${error.toFixed(1)}%)\n`);
  }
}

function report(spec: EstimateSpec, e: MemoryEstimate, limit: number, fits: boolean, largest: number | null, plan: RenderPlan | null, planError: string | null): string {
  const p = e.parts;
  const history = spec.optimizer === 'lbfgs' ? ` (history ${spec.lbfgsHistory})` : '';
  const row = (label: string, bytes: number, detail = ''): string => `  ${label.padEnd(12)}${formatBytes(bytes).padStart(9)}${detail ? `  (${detail})` : ''}\n`;
  let out = `${spec.width}x${spec.height} px, style ${spec.styleLayers.join(',') || '-'}, content ${spec.contentLayers.join(',') || '-'}, ${spec.optimizer}${history}, ${spec.device}, ${e.convAlgorithm} convs${e.calibrated ? '' : ' (not calibrated on this device: rough)'}\n`;
  out += row('weights', e.breakdown.weights, `VGG19 ${formatBytes(p.loadedWeights)}, onnxruntime's copies ${formatBytes(p.ortWeights)} of a ${formatBytes(p.modelBytes)} ONNX model${p.winogradBytes > 0 ? ` (Winograd kernels ${formatBytes(p.winogradBytes)})` : ''}`);
  out += row('activations', e.breakdown.activations, `${e.keptTensors.length} tensors kept for the backward pass, targets included`);
  out += row('workspace', e.breakdown.workspace, `transient ${formatBytes(p.transient)}, images ${formatBytes(p.imageBuffers)}`);
  out += row('optimizer', e.breakdown.optimizer);
  out += row('runtime', e.breakdown.runtime);
  out += `  ${'total'.padEnd(12)}${formatBytes(e.totalBytes).padStart(9)}  of a ${formatBytes(limit)} limit: ${fits ? 'fits' : 'does not fit'}\n`;
  if (e.deviceBytes !== null) out += `  ${'on device'.padEnd(12)}${formatBytes(e.deviceBytes).padStart(9)}\n`;
  if (!fits) {
    out += largest !== null ? `the largest size that fits is ${largest} px (longest side)` : 'no size fits';
    if (plan?.mode === 'tiled') out += `; or ${plan.tiles} tiles of ${plan.tilePx} px after a ${plan.coherencePx}-px pass (nst stylize --tile auto does this)`;
    if (planError) out += `: ${planError}`;
    out += '\n';
  }
  return out;
}

/**
 * Runs `iterations` on seeded noise at spec's size (content and style), with spec's masks (style k: the k-th of as
 * many horizontal bands; the content mask: the left half), then reads this process's peak RSS.
 */
async function measure(spec: EstimateSpec, device: DeviceRequest, iterations: number, threads: number, raw: Record<string, string | boolean | undefined>): Promise<{ peakMb: number; iterations: number }> {
  const weights = await resolveWeights({ weights: raw.weights as string | undefined, randomWeights: raw.randomWeights === true });
  const styleScale = spec.styleScale ?? 1;
  const styleSide = (n: number): number => Math.max(16, Math.round(n * styleScale));
  const content = noiseImage(spec.width, spec.height, 1);
  const styles = Array.from({ length: spec.styleImages ?? 1 }, (_, i) => noiseImage(styleSide(spec.width), styleSide(spec.height), 2 + i));
  const band = (k: number, count: number): Mask => maskOf(spec.width, spec.height, (_x, y) => Math.floor((y * count) / spec.height) === k);
  const masks: LossMasks = {
    ...(spec.styleMasks ? { styles: Array.from({ length: spec.styleMasks }, (_, k) => band(k, spec.styleMasks!)) } : {}),
    ...(spec.contentMask ? { content: maskOf(spec.width, spec.height, (x) => x < spec.width / 2) } : {}),
  };
  const result = await runStyleTransfer({ weights, content, styles, masks }, {
    ...DEFAULT_RUN_SETTINGS,
    styleLayers: spec.styleLayers,
    contentLayers: spec.contentLayers,
    pool: spec.pool ?? 'max',
    optimizer: spec.optimizer ?? 'lbfgs',
    iterations,
    device,
    threads,
    convAlgorithm: spec.convAlgorithm,
  });
  return { peakMb: process.resourceUsage().maxRSS / 1024, iterations: result.iterations };
}

/** A width × height mask: 1 where `inside`, else 0. */
function maskOf(width: number, height: number, inside: (x: number, y: number) => boolean): Mask {
  const data = new Float32Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data[y * width + x] = inside(x, y) ? 1 : 0;
  return { width, height, data };
}
