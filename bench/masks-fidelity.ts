// Region fidelity of spatial control (issue 16's target, measured, not timed): a 2-style, 2-region `nst stylize
// --masks` run (style A masked to the top half, style B to the bottom), then, on each half's crop (kept `margin` rows
// from the seam), the distance of the output's Gram to each style's, ‖G_l(crop) − G_l(s)‖, summed over block1–3.
// The factor is other / own: above 1, the region took its own style. The test at 96 px is tests/cli/stylize-masks.test.ts.
// Usage: npx tsx bench/masks-fidelity.ts [--size 256] [--iterations 100] [--threads 2] [--out bench/results]
// (runs the built CLI: node scripts/build-cli.mjs first). Writes <out>/masks-fidelity-<size>.json and .md.

import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { builtInWeightsFolder, decodeImage, loadWeights, objectiveShape, type PlanarImage, resolveExecution, StyleObjective, type Vgg19Weights } from '../src/engine/index.js';

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '256' },
    iterations: { type: 'string', default: '100' },
    threads: { type: 'string', default: '2' },
    margin: { type: 'string', default: '16' },
    content: { type: 'string', default: '../shared/data/images/content_tubingen.jpg' },
    styles: { type: 'string', default: '../shared/data/images/style_starry_night.jpg,../shared/data/images/style_the_scream.jpg' },
    out: { type: 'string', default: 'bench/results' },
  },
});
const size = Number(values.size);
const margin = Number(values.margin);
const LAYERS = ['block1_conv1', 'block2_conv1', 'block3_conv1'];
const stylePaths = values.styles!.split(',');
const dir = mkdtempSync(path.join(os.tmpdir(), 'nst-masks-fidelity-'));

// Masks at the content's aspect, as the output will be (longest side `size`).
const contentImage = await decodeImage(values.content!, { sizePx: size });
const { width, height } = contentImage;
const masks = await Promise.all(
  [[0, height / 2], [height / 2, height]].map(async ([from, to], k) => {
    const data = Buffer.alloc(width * height);
    data.fill(255, Math.round(from!) * width, Math.round(to!) * width);
    const file = path.join(dir, `mask-${k + 1}.png`);
    await sharp(data, { raw: { width, height, channels: 1 } }).png().toFile(file);
    return file;
  }),
);
const output = path.join(dir, 'split.png');
const started = performance.now();
execFileSync(process.execPath, [
  'bin/nst.js', 'stylize', values.content!, ...stylePaths, '-o', output, '--masks', masks.join(','), '--weights', builtInWeightsFolder()!,
  '--size', String(size), '--iterations', values.iterations!, '--stop', 'off', '--device', 'cpu', '--threads', values.threads!, '--checkpoint-every', '0',
], { stdio: ['ignore', 'ignore', 'inherit'] });
const runSeconds = (performance.now() - started) / 1000;

function crop(image: PlanarImage, from: number, to: number): PlanarImage {
  const h = to - from;
  const data = new Float32Array(3 * image.width * h);
  for (let c = 0; c < 3; c++) data.set(image.data.subarray((c * image.height + from) * image.width, (c * image.height + to) * image.width), c * image.width * h);
  return { width: image.width, height: h, data };
}

async function gramDistances(weights: Vgg19Weights, image: PlanarImage, style: PlanarImage): Promise<number[]> {
  const shape = { width: image.width, height: image.height };
  const objective = await StyleObjective.create({
    weights, ...shape, pool: 'max', styleLayers: LAYERS, contentLayers: [], styleImages: [style], contentImage: image, styleWeight: 1, contentWeight: 0, tvWeight: 0,
    execution: resolveExecution({ device: 'cpu' }, objectiveShape(shape, { styleLayers: LAYERS, contentLayers: [], pool: 'max' }, [style])),
  });
  try {
    const loss = await objective.evaluate(image.data, new Float32Array(image.data.length));
    return LAYERS.map((l) => Math.sqrt(loss.style[l]!));
  } finally {
    await objective.dispose();
  }
}

const weights = await loadWeights(builtInWeightsFolder()!);
const painted = await decodeImage(output);
const styles = await Promise.all(stylePaths.map((p) => decodeImage(p, { sizePx: size })));
const half = Math.round(height / 2);
const regions = [
  { region: 'top', style: stylePaths[0]!, image: crop(painted, 0, half - margin), own: styles[0]!, other: styles[1]! },
  { region: 'bottom', style: stylePaths[1]!, image: crop(painted, half + margin, height), own: styles[1]!, other: styles[0]! },
];
const rows = [];
for (const r of regions) {
  const own = await gramDistances(weights, r.image, r.own);
  const other = await gramDistances(weights, r.image, r.other);
  const factor = other.reduce((s, d) => s + d, 0) / own.reduce((s, d) => s + d, 0);
  rows.push({ region: r.region, style: path.basename(r.style), factor, perLayer: Object.fromEntries(LAYERS.map((l, i) => [l, other[i]! / own[i]!])), own, other });
}
const result = { size: `${width}x${height}`, iterations: Number(values.iterations), threads: Number(values.threads), margin, content: path.basename(values.content!), runSeconds, rows, date: new Date().toISOString() };
mkdirSync(values.out!, { recursive: true });
writeFileSync(path.join(values.out!, `masks-fidelity-${size}.json`), `${JSON.stringify(result, null, 1)}\n`);
const md = [
  `# Region fidelity of --masks at ${width}x${height} (${result.content}, ${values.iterations} iterations, built-in uint8 weights, ${result.date.slice(0, 10)})`,
  '',
  '| region | its style | factor (block1–3 summed) | block1_conv1 | block2_conv1 | block3_conv1 |',
  '|---|---|---|---|---|---|',
  ...rows.map((r) => `| ${r.region} | ${r.style} | ${r.factor.toFixed(2)} | ${LAYERS.map((l) => r.perLayer[l]!.toFixed(2)).join(' | ')} |`),
  '',
];
writeFileSync(path.join(values.out!, `masks-fidelity-${size}.md`), md.join('\n'));
console.log(md.join('\n'));
