// Benchmark (not a test): speed and peak memory per size, and time-to-quality of fixed-size Adam, fixed-size
// L-BFGS and multi-scale L-BFGS, written to bench/results/quality.{json,md}.
//
// Usage: npm run bench:quality -- [--size 512] [--adam-iterations 1000] [--sizes 128,256,512] [--rounds 3]
//   [--threads 2] [--coarse-iterations 30] [--weights DIR|FILE] [--content IMG] [--style IMG] [--out bench/results]
//   [--handoff-coarse 10,30,100] [--handoff-full 60] [--skip speed,memory,handoff,quality]
//
// Time-to-quality: N Adam iterations at full size give the reference loss L; each method's time is the wall time
// (setup included, from the start of its first run) until the balanced total loss at full size first reaches
// 1.05·L. Multi-scale L-BFGS runs --coarse-iterations at each halved scale (down to 1/2 of the size for sizes up
// to 384 px, else down to ≥ 192 px as `--scales auto` does), then L-BFGS at full size until the target; its
// losses are compared only at full size, where its objective is the fixed-size runs' objective.
//
// Hand-off (where the full-size loss is, term by term): each term's share of the balanced total at full size
// (LossBreakdown.weighted) for the photo and for the coarse result upsampled with detail after each of
// --handoff-coarse L-BFGS iterations at half size; then --handoff-full L-BFGS iterations at full size from the photo
// and from the --coarse-iterations hand-off, the terms every 15 iterations. Cheap next to the 1000-iteration reference.

import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { autoDeviceOrder, decodeImage, DEFAULT_RUN_SETTINGS, loadWeights, type LossBreakdown, objectiveShape, type PlanarImage, resizeLongest, resolveExecution, RunController, type RunSettings, runStyleTransfer, scaleSizes, StyleObjective } from '../src/engine/index.js';
// The multi-scale hand-off is measured on its own here, so this one helper is imported from inside the engine.
import { upsampleWithDetail } from '../src/engine/render/multiscale.js';

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '512' },
    'adam-iterations': { type: 'string', default: '1000' },
    sizes: { type: 'string', default: '128,256,512' },
    rounds: { type: 'string', default: '3' },
    'memory-iterations': { type: 'string', default: '22' },
    threads: { type: 'string', default: '2' },
    'coarse-iterations': { type: 'string', default: '30' },
    'handoff-coarse': { type: 'string', default: '10,30,100' },
    'handoff-full': { type: 'string', default: '60' },
    weights: { type: 'string', default: process.env.NST_WEIGHTS ?? '../shared/data/vgg19-imagenet-uint8' },
    content: { type: 'string', default: '../shared/data/images/content_tubingen.jpg' },
    style: { type: 'string', default: '../shared/data/images/style_starry_night.jpg' },
    out: { type: 'string', default: 'bench/results' },
    skip: { type: 'string', default: '' },
  },
});

const skip = new Set(values.skip!.split(',').filter(Boolean));
const threads = Number(values.threads);
const rounds = Number(values.rounds);
const STYLE = DEFAULT_RUN_SETTINGS.styleLayers.join(',');
const CONTENT = DEFAULT_RUN_SETTINGS.contentLayers.join(',');

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const round1 = (x: number): number => Math.round(x * 10) / 10;

function nst(args: string[]): Record<string, unknown> {
  const out = execFileSync(process.execPath, ['bin/nst.js', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return JSON.parse(out.trim().split('\n').pop()!) as Record<string, unknown>;
}

execFileSync(process.execPath, ['scripts/build-cli.mjs'], { stdio: 'inherit' });

// ---- speed per size and device ------------------------------------------------------------------------------
interface SpeedRow { device: string; sizePx: number; msPerIter: number; gflops: number; benchPeakRssMb: number }
const speed: SpeedRow[] = [];
const unavailable: Record<string, string> = {};
if (!skip.has('speed')) {
  const others = [...new Set([...autoDeviceOrder(), 'webgpu'])].filter((d) => d !== 'cpu');
  const devices = ['cpu'];
  for (const device of others) {
    const probe = spawnSync(process.execPath, ['bin/nst.js', 'bench', '--random-weights', '--size', '64', '--iterations', '1', '--device', device, '--json'], { encoding: 'utf8' });
    const reported = probe.status === 0 ? (JSON.parse(probe.stdout.trim().split('\n').pop()!) as { device: string }).device : null;
    if (reported === device) devices.push(device);
    else {
      const said = probe.stderr.split('\n').find((l) => l.startsWith('nst: '));
      unavailable[device] = said ? said.replace(/^nst: /, '') : `nst bench --device ${device} ran on ${reported ?? 'nothing'}`;
    }
  }
  for (const device of devices) {
    for (const sizePx of values.sizes!.split(',').map(Number)) {
      const runs = Array.from({ length: rounds }, () =>
        nst(['bench', '--weights', values.weights!, '--size', String(sizePx), '--iterations', '5', '--threads', String(threads), '--device', device,
          '--style-layers', STYLE, '--content-layers', CONTENT, '--json']) as { msPerIterMedian: number; gflops: number; peakRssMb: number });
      const row = { device, sizePx, msPerIter: median(runs.map((r) => r.msPerIterMedian)), gflops: median(runs.map((r) => r.gflops)), benchPeakRssMb: median(runs.map((r) => r.peakRssMb)) };
      speed.push(row);
      console.log(`speed ${device} ${sizePx} px: ${row.msPerIter} ms/iteration, ${row.gflops} GFLOP/s`);
    }
  }
}

// ---- peak RSS of an L-BFGS run per size, against the estimate ------------------------------------------------
interface MemoryRow { sizePx: number; measuredPeakMb: number; estimateMb: number; errorPercent: number; samples: number[] }
const memory: MemoryRow[] = [];
if (!skip.has('memory')) {
  for (const sizePx of values.sizes!.split(',').map(Number)) {
    // Enough iterations that the L-BFGS history (20 pairs) is full, as in any real run.
    const runs = Array.from({ length: Math.max(1, Math.min(rounds, 3)) }, () =>
      nst(['estimate', '--size', String(sizePx), '--measure', values['memory-iterations']!, '--weights', values.weights!, '--threads', String(threads), '--json']) as { totalMb: number; measuredPeakMb: number });
    const measured = median(runs.map((r) => r.measuredPeakMb));
    const row = { sizePx, measuredPeakMb: Math.round(measured), estimateMb: runs[0]!.totalMb, errorPercent: round1(((runs[0]!.totalMb - measured) / measured) * 100), samples: runs.map((r) => Math.round(r.measuredPeakMb)) };
    memory.push(row);
    console.log(`memory ${sizePx} px: measured ${row.measuredPeakMb} MB (${row.samples.join(', ')}), estimate ${row.estimateMb} MB (${row.errorPercent}%)`);
  }
}

// ---- hand-off: the full-size loss term by term -------------------------------------------------------------------
interface TermsRow { label: string; fullSizeIterations: number; total: number; style: Record<string, number>; content: Record<string, number>; tv: number }
let handoff: { sizePx: number; coarsePx: number; rows: TermsRow[] } | null = null;
if (!skip.has('handoff')) {
  const sizePx = Number(values.size);
  const weights = await loadWeights(values.weights!);
  const contentDecoded = await decodeImage(values.content!);
  const styleDecoded = await decodeImage(values.style!);
  const content = await resizeLongest(contentDecoded, sizePx);
  const style = await resizeLongest(styleDecoded, sizePx);
  const coarsePx = Math.round(sizePx / 2);
  const coarseContent = await resizeLongest(contentDecoded, coarsePx);
  const coarseStyle = await resizeLongest(styleDecoded, coarsePx);
  const base: RunSettings = { ...DEFAULT_RUN_SETTINGS, device: 'cpu', threads, reportEvery: 1 };
  const objective = await StyleObjective.create({ ...base, weights, width: content.width, height: content.height, styleImages: [style], contentImage: content, execution: resolveExecution(base, objectiveShape(content, base, [style])) });
  const rows: TermsRow[] = [];
  const row = (label: string, fullSizeIterations: number, loss: LossBreakdown): void => {
    // Every evaluation carries its terms' shares; the runs here use the objective's settings, so the same factors.
    rows.push({ label, fullSizeIterations, total: loss.total, ...loss.weighted! });
    console.log(`handoff ${label}, ${fullSizeIterations} full-size iterations: total ${loss.total.toFixed(4)}`);
  };
  const termsAt = async (image: Float32Array): Promise<LossBreakdown> => objective.evaluate(image, new Float32Array(image.length));
  row('the photo', 0, await termsAt(content.data));
  const starts = new Map<number, PlanarImage>();
  for (const coarseIterations of values['handoff-coarse']!.split(',').map(Number)) {
    const coarse = await runStyleTransfer({ weights, content: coarseContent, styles: [coarseStyle] }, { ...base, iterations: coarseIterations });
    const start = await upsampleWithDetail(coarse.image, coarseContent, content);
    starts.set(coarseIterations, start);
    row(`hand-off after ${coarseIterations} L-BFGS iterations at ${coarsePx} px`, 0, await termsAt(start.data));
  }
  const coarseIterations = Number(values['coarse-iterations']);
  const handoffStart = starts.get(coarseIterations) ?? (await upsampleWithDetail((await runStyleTransfer({ weights, content: coarseContent, styles: [coarseStyle] }, { ...base, iterations: coarseIterations })).image, coarseContent, content));
  const fullIterations = Number(values['handoff-full']);
  for (const [label, start] of [['from the photo', content], [`from the ${coarseIterations}-iteration hand-off`, handoffStart]] as const) {
    // One L-BFGS run (history kept); its progress events carry the loss at each iteration's start.
    await runStyleTransfer({ weights, content, styles: [style], startImage: start.data }, { ...base, iterations: fullIterations + 1 }, {
      onEvent: (e) => {
        if (e.type === 'progress' && (e.iteration - 1) % 15 === 0 && e.iteration > 1) row(`L-BFGS ${label}`, e.iteration - 1, e.loss);
      },
    });
  }
  await objective.dispose();
  handoff = { sizePx, coarsePx, rows };
}

// ---- time-to-quality ------------------------------------------------------------------------------------------
interface Trace { method: string; seconds: number | null; cpuSeconds: number | null; iterations: number | null; startLoss: number; finalLoss: number; totalSeconds: number; note: string }
let quality: { sizePx: number; adamIterations: number; referenceLoss: number; targetLoss: number; traces: Trace[] } | null = null;
if (!skip.has('quality')) {
  const sizePx = Number(values.size);
  const adamIterations = Number(values['adam-iterations']);
  const coarseIterations = Number(values['coarse-iterations']);
  const weights = await loadWeights(values.weights!);
  const contentDecoded = await decodeImage(values.content!);
  const styleDecoded = await decodeImage(values.style!);
  const content = await resizeLongest(contentDecoded, sizePx);
  const style = await resizeLongest(styleDecoded, sizePx);
  const base: RunSettings = { ...DEFAULT_RUN_SETTINGS, device: 'cpu', threads, reportEvery: 1 };

  /** One fixed-size run; stops once `target` is reached (if given). Times from `t0`. */
  // CPU time of this process (onnxruntime's threads included) barely moves when other work shares the machine;
  // wall time does. Both are reported.
  const cpuNow = (): number => {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1e6;
  };
  type Point = { iteration: number; loss: number; seconds: number; cpuSeconds: number };
  async function fixed(optimizer: 'adam' | 'lbfgs', iterations: number, target: number | null, start?: { image: PlanarImage; t0: number; cpu0: number }) {
    const controller = new RunController();
    const t0 = start?.t0 ?? performance.now();
    const cpu0 = start?.cpu0 ?? cpuNow();
    const losses: Point[] = [];
    const result = await runStyleTransfer(
      { weights, content, styles: [style], ...(start ? { startImage: start.image.data } : {}) },
      { ...base, optimizer, iterations },
      {
        controller,
        onEvent: (e) => {
          if (e.type !== 'progress') return;
          const point = { iteration: e.iteration, loss: e.loss.total, seconds: (performance.now() - t0) / 1000, cpuSeconds: cpuNow() - cpu0 };
          losses.push(point);
          // A 1000-iteration reference takes over half an hour at 512 px: say how far it is.
          if (e.iteration % 50 === 0) console.log(`  ${optimizer} iteration ${e.iteration}: loss ${point.loss.toFixed(4)}, ${point.seconds.toFixed(0)} s`);
          if (target !== null && e.loss.total <= target) controller.stop();
        },
      },
    );
    return { result, losses, seconds: (performance.now() - t0) / 1000 };
  }

  console.log(`quality: Adam, ${adamIterations} iterations at ${sizePx} px (the reference)…`);
  const adam = await fixed('adam', adamIterations, null);
  const referenceLoss = adam.result.finalLoss.total;
  const targetLoss = 1.05 * referenceLoss;
  const reached = (losses: Point[]) => losses.find((l) => l.loss <= targetLoss) ?? null;
  const traces: Trace[] = [];
  const adamHit = reached(adam.losses);
  traces.push({ method: 'Adam, fixed size', seconds: adamHit?.seconds ?? null, cpuSeconds: adamHit?.cpuSeconds ?? null, iterations: adamHit?.iteration ?? null, startLoss: adam.losses[0]!.loss, finalLoss: referenceLoss, totalSeconds: adam.seconds, note: `lr ${'default (10)'}, ${adamIterations} iterations in all` });
  console.log(`  Adam: L = ${referenceLoss.toExponential(4)}; reaches 1.05·L after ${adamHit?.iteration} iterations, ${adamHit?.seconds.toFixed(1)} s`);

  console.log('quality: L-BFGS, fixed size…');
  const lbfgs = await fixed('lbfgs', adamIterations, targetLoss);
  const lbfgsHit = reached(lbfgs.losses);
  traces.push({ method: 'L-BFGS, fixed size', seconds: lbfgsHit?.seconds ?? null, cpuSeconds: lbfgsHit?.cpuSeconds ?? null, iterations: lbfgsHit?.iteration ?? null, startLoss: lbfgs.losses[0]!.loss, finalLoss: lbfgs.losses.at(-1)!.loss, totalSeconds: lbfgs.seconds, note: '' });
  console.log(`  L-BFGS: ${lbfgsHit ? `${lbfgsHit.iteration} iterations, ${lbfgsHit.seconds.toFixed(1)} s` : 'not reached'}`);

  console.log('quality: multi-scale L-BFGS…');
  const auto = scaleSizes(sizePx, 'auto');
  const sizes = auto.length > 1 ? auto : scaleSizes(sizePx, 2);
  const t0 = performance.now();
  const cpu0 = cpuNow();
  // The coarse scales as runMultiScale runs them (same start images), then full size until the target.
  let image: PlanarImage | null = null;
  let imageContent: PlanarImage | null = null;
  for (const coarse of sizes.slice(0, -1)) {
    const c = await resizeLongest(contentDecoded, coarse);
    const s = await resizeLongest(styleDecoded, coarse);
    const start = image && imageContent ? await upsampleWithDetail(image, imageContent, c) : null;
    const r = await runStyleTransfer({ weights, content: c, styles: [s], ...(start ? { startImage: start.data } : {}) }, { ...base, optimizer: 'lbfgs', iterations: coarseIterations });
    image = r.image;
    imageContent = c;
  }
  const upsampled = await upsampleWithDetail(image!, imageContent!, content);
  const multi = await fixed('lbfgs', adamIterations, targetLoss, { image: upsampled, t0, cpu0 });
  const multiHit = reached(multi.losses);
  traces.push({ method: `multi-scale L-BFGS (${sizes.join(' → ')} px)`, seconds: multiHit?.seconds ?? null, cpuSeconds: multiHit?.cpuSeconds ?? null, iterations: multiHit ? multiHit.iteration : null, startLoss: multi.losses[0]!.loss, finalLoss: multi.losses.at(-1)!.loss, totalSeconds: multi.seconds, note: `${coarseIterations} iterations at each coarse scale, then full size; iterations counted at full size` });
  console.log(`  multi-scale: ${multiHit ? `${multiHit.iteration} full-size iterations, ${multiHit.seconds.toFixed(1)} s` : 'not reached'}`);
  quality = { sizePx, adamIterations, referenceLoss, targetLoss, traces };
}

// ---- report ---------------------------------------------------------------------------------------------------
const report = {
  date: new Date().toISOString(),
  machine: `${os.cpus()[0]?.model ?? 'cpu'} (${os.cpus().length} cores), ${Math.round(os.totalmem() / 2 ** 30)} GiB`,
  config: { style: STYLE, content: CONTENT, threads, rounds, weights: values.weights, contentImage: values.content, styleImage: values.style },
  speed,
  unavailableDevices: unavailable,
  memory,
  handoff,
  quality,
};
mkdirSync(values.out!, { recursive: true });
writeFileSync(path.join(values.out!, 'quality.json'), `${JSON.stringify(report, null, 2)}\n`);
const md: string[] = [`Measured ${report.date.slice(0, 10)} on ${report.machine}; style ${STYLE}, content ${CONTENT}, ${threads} threads.`, ''];
if (speed.length) {
  md.push('| device | size | ms/iteration (median of rounds) | GFLOP/s |', '|---|---|---|---|');
  for (const r of speed) md.push(`| ${r.device} | ${r.sizePx} px | ${round1(r.msPerIter)} | ${round1(r.gflops)} |`);
  for (const [d, why] of Object.entries(unavailable)) md.push(`| ${d} | – | not available: ${why} | |`);
  md.push('');
}
if (memory.length) {
  md.push(`| size | peak RSS, L-BFGS run (${values['memory-iterations']} iterations) | estimate | error |`, '|---|---|---|---|');
  for (const r of memory) md.push(`| ${r.sizePx} px | ${r.measuredPeakMb} MB | ${r.estimateMb} MB | ${r.errorPercent > 0 ? '+' : ''}${r.errorPercent}% |`);
  md.push('');
}
if (handoff) {
  const layers = Object.keys(handoff.rows[0]!.style);
  const short = (l: string): string => l.replace(/^block(\d)_conv(\d)$/, 'conv$1_$2');
  md.push(
    `Where the balanced loss at ${handoff.sizePx} px is, term by term (each term's share of the total; the coarse scale is ${handoff.coarsePx} px):`,
    '',
    `| image | full-size iterations | total | ${layers.map(short).join(' | ')} | content | TV |`,
    `|---|---|---|${layers.map(() => '---|').join('')}---|---|`,
  );
  const f = (x: number): string => x.toFixed(3);
  for (const r of handoff.rows) {
    md.push(`| ${r.label} | ${r.fullSizeIterations} | ${f(r.total)} | ${layers.map((l) => f(r.style[l]!)).join(' | ')} | ${f(Object.values(r.content).reduce((a, b) => a + b, 0))} | ${f(r.tv)} |`);
  }
  md.push('');
}
if (quality) {
  const adamSeconds = quality.traces[0]!.seconds;
  const adamCpu = quality.traces[0]!.cpuSeconds;
  md.push(
    `Time to reach 1.05x the loss ${quality.adamIterations} Adam iterations reach at ${quality.sizePx} px (L = ${quality.referenceLoss.toExponential(3)}):`,
    '',
    '| method | wall s to 1.05·L | CPU s | full-size iterations | full-size loss at start | speed-up vs Adam (wall / CPU) |',
    '|---|---|---|---|---|---|',
  );
  for (const t of quality.traces) {
    const speedup = t.seconds && adamSeconds && t.cpuSeconds && adamCpu ? `${round1(adamSeconds / t.seconds)}x / ${round1(adamCpu / t.cpuSeconds)}x` : '–';
    md.push(`| ${t.method} | ${t.seconds === null ? 'not reached' : round1(t.seconds)} | ${t.cpuSeconds === null ? '–' : round1(t.cpuSeconds)} | ${t.iterations ?? '–'} | ${t.startLoss.toExponential(3)} | ${speedup} |`);
  }
}
writeFileSync(path.join(values.out!, 'quality.md'), `${md.join('\n')}\n`);
console.log(md.join('\n'));
