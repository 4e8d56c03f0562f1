// Where start-up goes: the wall time from `nst stylize`'s process start to its first iteration (spawned, as a user
// runs it), and, in this process, each step of setting a run up: loading the weights, building and serialising the
// graphs, creating their sessions, computing the targets, and the first evaluation.
// Usage: npm run bench:startup -- [--size 128] [--rounds 3] [--conv auto|direct|winograd] [--out bench/results]

import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { decodeImage, loadWeights, builtInWeightsFolder, objectiveShape, resolveExecution, StyleObjective, DEFAULT_RUN_SETTINGS, type ConvAlgorithm } from '../src/engine/index.js';
// The loss graph's builder is an internal the bench times on its own.
import { buildLossGraph } from '../src/engine/model/graph/vgg-graph.js';

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '128' },
    rounds: { type: 'string', default: '3' },
    conv: { type: 'string', default: 'auto' },
    content: { type: 'string', default: 'resources/examples/golden-gate.jpg' },
    style: { type: 'string', default: 'resources/examples/great-wave.jpg' },
    out: { type: 'string', default: 'bench/results' },
  },
});
const size = Number(values.size);

/** Spawn to first --json progress line, and the process's peak RSS from its done line. */
function firstIteration(): Promise<{ firstMs: number; peakRssMb: number }> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(process.execPath, ['bin/nst.js', 'stylize', values.content!, values.style!, '-o', path.join(os.tmpdir(), 'nst-startup.png'), '--size', String(size), '--iterations', '1', '--conv', values.conv!, '--device', 'cpu', '--threads', '2', '--checkpoint-every', '0', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let firstMs: number | null = null;
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      if (firstMs === null) firstMs = performance.now() - start;
      out += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const done = out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.done === true);
      if (code !== 0 || firstMs === null || !done) reject(new Error(`nst exited ${code}: ${out}`));
      else resolve({ firstMs, peakRssMb: done.peakRssMb as number });
    });
  });
}

async function steps(): Promise<Record<string, number>> {
  const t: Record<string, number> = {};
  let last = performance.now();
  const mark = (name: string): void => {
    const now = performance.now();
    t[name] = Math.round(now - last);
    last = now;
  };
  const content = await decodeImage(values.content!, { sizePx: size });
  const style = await decodeImage(values.style!, { sizePx: size });
  mark('decode images');
  const weights = await loadWeights(builtInWeightsFolder()!);
  mark('load weights (built in)');
  const settings = { ...DEFAULT_RUN_SETTINGS, device: 'cpu' as const, threads: 2, convAlgorithm: values.conv as ConvAlgorithm };
  const execution = resolveExecution(settings, objectiveShape(content, settings, [style]));
  // The loss graph alone, as the objective builds it, then its session: the two biggest parts of the setup.
  const { model } = buildLossGraph({ ...settings, weights, width: content.width, height: content.height, convAlgorithm: execution.convAlgorithm, maxPoolGrad: execution.maxPoolGrad });
  const weightBytes = model.external.reduce((sum, e) => sum + e.data.byteLength, 0);
  mark(`build + serialise the loss graph (${Math.round(model.bytes.length / 2 ** 10)} kB, weights ${Math.round(weightBytes / 2 ** 20)} MB beside it)`);
  const session = await execution.runtime.create(model, execution.session);
  mark('create its session');
  await session.dispose();
  last = performance.now();
  const objective = await StyleObjective.create({ ...settings, weights, width: content.width, height: content.height, styleImages: [style], contentImage: content, execution });
  mark('whole objective (loss graph + session + target graphs, sessions, runs)');
  const image = Float32Array.from(content.data);
  await objective.evaluate(image, new Float32Array(image.length));
  mark('first evaluation');
  await objective.dispose();
  return t;
}

const rounds: { firstMs: number; peakRssMb: number; steps: Record<string, number> }[] = [];
for (let round = 1; round <= Number(values.rounds); round++) {
  const spawned = await firstIteration();
  const inProcess = await steps();
  rounds.push({ ...spawned, steps: inProcess });
  console.log(`round ${round}: first iteration ${Math.round(spawned.firstMs)} ms from process start (peak ${spawned.peakRssMb} MB); in process: ${Object.entries(inProcess).map(([k, v]) => `${k} ${v}`).join(', ')} ms`);
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const stepNames = Object.keys(rounds[0]!.steps);
const report = {
  date: new Date().toISOString(),
  machine: `${os.cpus()[0]?.model ?? 'cpu'} (${os.cpus().length} cores)`,
  config: { size, conv: values.conv, content: values.content, style: values.style, weights: 'built-in uint8' },
  firstIterationMs: Math.round(median(rounds.map((r) => r.firstMs))),
  peakRssMb: median(rounds.map((r) => r.peakRssMb)),
  steps: Object.fromEntries(stepNames.map((name) => [name, median(rounds.map((r) => r.steps[name] ?? 0))])),
  rounds,
};
mkdirSync(values.out!, { recursive: true });
writeFileSync(path.join(values.out!, `startup-${size}-${values.conv}.json`), `${JSON.stringify(report, null, 2)}\n`);
const md = [
  `| ${size} px, --conv ${values.conv}, CPU, 2 threads, median of ${values.rounds} | ms |`,
  '|---|---|',
  `| process start → first iteration (nst stylize) | ${report.firstIterationMs} |`,
  ...stepNames.map((name) => `| in process: ${name} | ${report.steps[name]} |`),
  '',
  `peak RSS of the spawned run: ${report.peakRssMb} MB`,
].join('\n');
writeFileSync(path.join(values.out!, `startup-${size}-${values.conv}.md`), `${md}\n`);
console.log(md);
