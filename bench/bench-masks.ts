// What spatial control costs (issue 16's target: a masked iteration with 2 styles at 256 px ≤ 1.3x an unmasked one):
// one evaluation of the loss and gradient with two style images blended (no masks), with two style masks (guided
// Grams), and with two style masks and a content mask, timed side by side on one machine.
// Usage: npm run bench:masks -- [--size 256] [--rounds 15] [--threads 2] [--conv auto|direct|winograd] [--out bench/results]
// The three objectives are built once each, then evaluated in turns (the order rotated every round, as the box is
// shared and noisy): medians of wall and of process CPU time per evaluation. Writes <out>/masks-<size>.json and .md.

import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { builtInWeightsFolder, type ConvAlgorithm, decodeImage, DEFAULT_RUN_SETTINGS, type LossMasks, type Mask, loadWeights, objectiveShape, resizeImage, resolveExecution, StyleObjective } from '../src/engine/index.js';

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '256' },
    rounds: { type: 'string', default: '15' },
    threads: { type: 'string', default: '2' },
    conv: { type: 'string', default: 'auto' },
    content: { type: 'string', default: 'resources/examples/golden-gate.jpg' },
    styles: { type: 'string', default: 'resources/examples/great-wave.jpg,../shared/data/images/style_starry_night.jpg' },
    out: { type: 'string', default: 'bench/results' },
  },
});
const size = Number(values.size);
const rounds = Number(values.rounds);

// Square, as `nst bench` and `npm run bench` time it: size x size (the photo stretched; the timing cares only for the shape).
const content = await resizeImage(await decodeImage(values.content!), size, size);
const styles = await Promise.all(values.styles!.split(',').map((file) => decodeImage(file, { sizePx: size })));
const weightsFolder = builtInWeightsFolder();
if (!weightsFolder) throw new Error('No built-in weights: run `npm run weights:builtin` or see docs/weights.md.');
const weights = await loadWeights(weightsFolder);
const { width, height } = content;

/** Left and right halves with a soft seam a quarter of the width wide, and a content mask keeping the middle. */
function mask(value: (x: number, y: number) => number): Mask {
  const data = new Float32Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data[y * width + x] = Math.min(1, Math.max(0, value(x / width, y / height)));
  return { width, height, data };
}
const leftMask = mask((u) => 0.5 - (u - 0.5) * 4);
const rightMask = mask((u) => 0.5 + (u - 0.5) * 4);
const middle = mask((u, v) => (Math.hypot(u - 0.5, v - 0.5) < 0.25 ? 1 : 0));

const settings = { ...DEFAULT_RUN_SETTINGS, device: 'cpu' as const, threads: Number(values.threads), convAlgorithm: values.conv as ConvAlgorithm };
const cases: { name: string; masks?: LossMasks }[] = [
  { name: 'unmasked (2 styles blended)' },
  { name: '2 style masks', masks: { styles: [leftMask, rightMask] } },
  { name: '2 style masks + content mask', masks: { styles: [leftMask, rightMask], content: middle } },
];

const objectives: StyleObjective[] = [];
for (const c of cases) {
  objectives.push(
    await StyleObjective.create({
      ...settings,
      weights,
      width,
      height,
      styleImages: styles,
      contentImage: content,
      ...(c.masks ? { masks: c.masks } : {}),
      execution: resolveExecution(settings, objectiveShape(content, settings, styles)),
    }),
  );
}

const image = Float32Array.from(content.data);
const grad = new Float32Array(image.length);
const wall: number[][] = cases.map(() => []);
const cpu: number[][] = cases.map(() => []);
for (const objective of objectives) await objective.evaluate(image, grad); // warm-up: arenas and kernel choices
for (let round = 0; round < rounds; round++) {
  for (let turn = 0; turn < cases.length; turn++) {
    const i = (round + turn) % cases.length;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await objectives[i]!.evaluate(image, grad);
    wall[i]!.push(performance.now() - t0);
    const used = process.cpuUsage(cpu0);
    cpu[i]!.push((used.user + used.system) / 1000);
  }
}
await Promise.all(objectives.map((o) => o.dispose()));

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const base = { wall: median(wall[0]!), cpu: median(cpu[0]!) };
const rows = cases.map((c, i) => ({
  case: c.name,
  wallMsMedian: +median(wall[i]!).toFixed(1),
  cpuMsMedian: +median(cpu[i]!).toFixed(1),
  wallRatio: +(median(wall[i]!) / base.wall).toFixed(3),
  cpuRatio: +(median(cpu[i]!) / base.cpu).toFixed(3),
}));
const machine = `${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} at the end`;
const conv = objectives[0]!.convAlgorithm;
const report = { size: `${width}x${height}`, rounds, threads: settings.threads, conv, device: objectives[0]!.device, machine, weights: weightsFolder, rows };
console.table(rows);
mkdirSync(values.out!, { recursive: true });
writeFileSync(path.join(values.out!, `masks-${size}.json`), `${JSON.stringify(report, null, 2)}\n`);
writeFileSync(
  path.join(values.out!, `masks-${size}.md`),
  [
    `# Masked against unmasked iterations, ${width}x${height}, 2 styles (bench/bench-masks.ts)`,
    '',
    `${rounds} rounds, ${settings.threads} threads, ${conv} convs on ${report.device}; ${machine}.`,
    '',
    '| case | wall ms (median) | CPU ms (median) | wall ratio | CPU ratio |',
    '|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.case} | ${r.wallMsMedian} | ${r.cpuMsMedian} | ${r.wallRatio} | ${r.cpuRatio} |`),
    '',
  ].join('\n'),
);
