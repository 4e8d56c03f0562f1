// Benchmark (not a test): where the adaptive stop ends a run, and what stopping there costs. One fixed 300-iteration
// run per photo × painting pair, with the adaptive stop off, records each iteration's loss, time and pixel change;
// the adaptive run is a prefix of it (the rule only reads those figures), so the same trace gives both, written to
// bench/results/adaptive-traces.json and the report to bench/results/adaptive-report.{json,md}.
//
// Usage: npm run bench:adaptive -- [--iterations 300] [--threads 2] [--sizes 256] [--large-size 384]
//   [--large-pairs golden_gate:great_wave,tubingen:starry_night] [--photos golden_gate,tubingen,chelsea_cat]
//   [--images ../shared/data/images] [--weights DIR] [--out bench/results] [--from TRACES.json] [--continue]
//
// --from re-reads a traces file and only writes the report (rules are cheap to try; runs are not); --continue skips
// the pairs a traces file already holds (a run killed half-way keeps its finished pairs: the file is rewritten after
// each). Seconds are the run's own: graph and session setup plus the iterations (the process start and the weights
// load are the same for both and left out).

import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ConvergenceWindow, DEFAULT_CONVERGENCE, type ConvergenceRule } from '../src/engine/render/convergence.js';
import { decodeImage, DEFAULT_RUN_SETTINGS, loadWeights, type RunSettings, runStyleTransfer } from '../src/engine/index.js';

const { values } = parseArgs({
  options: {
    iterations: { type: 'string', default: '300' },
    threads: { type: 'string', default: '2' },
    sizes: { type: 'string', default: '256' },
    'large-size': { type: 'string', default: '384' },
    'large-pairs': { type: 'string', default: 'golden_gate:great_wave,tubingen:starry_night' },
    photos: { type: 'string', default: 'golden_gate,tubingen,chelsea_cat' },
    images: { type: 'string', default: '../shared/data/images' },
    weights: { type: 'string', default: process.env.NST_WEIGHTS ?? '../shared/data/vgg19-imagenet-uint8' },
    out: { type: 'string', default: 'bench/results' },
    from: { type: 'string' },
    continue: { type: 'boolean', default: false },
  },
});

/** One fixed run: per iteration t = 1..N, its reported loss (at the step's start point), step time and pixel change. */
interface Trace {
  photo: string;
  style: string;
  sizePx: number;
  width: number;
  height: number;
  setupMs: number;
  /** ms[t-1]: iteration t's step. */
  ms: number[];
  /** loss[t-1]: the loss iteration t reports (the image before its step), as the run loop pushes it to the window. */
  loss: number[];
  /** change[t-1]: mean |x_t − x_{t−1}| over every pixel value, levels of 255. */
  change: number[];
  /** lossAt[t]: the loss of the image after t iterations (t = 0..N; the last is the run's final evaluation). */
  lossAt: number[];
  /** toFinal[t]: mean |x_t − x_N|, levels (t = 0..N). */
  toFinal: number[];
  /** moved20[t]: mean |x_t − x_{t−20}| (t = 0..N; 0 before 20): how far the picture got, against the path `change` sums. */
  moved20: number[];
}

const iterations = Number(values.iterations);
const outDir = values.out!;
const tracesFile = values.from ?? path.join(outDir, 'adaptive-traces.json');
mkdirSync(outDir, { recursive: true });

const stored = values.from || values.continue ? (existsSync(tracesFile) ? (JSON.parse(readFileSync(tracesFile, 'utf8')) as { measuredAt: string; machine: string; traces: Trace[] }) : null) : null;
const traces: Trace[] = stored?.traces ?? [];
if (!values.from) await measure();
report(traces);

async function measure(): Promise<void> {
  const images = values.images!;
  const styles = readdirSync(images).filter((f) => /^style_[a-z_]+\.jpg$/.test(f)).sort();
  const photoFile = (name: string): string => readdirSync(images).find((f) => f.startsWith(`content_${name}.`))!;
  const pairs: { photo: string; style: string; sizePx: number }[] = [];
  for (const sizePx of values.sizes!.split(',').map(Number)) {
    for (const photo of values.photos!.split(',')) for (const style of styles) pairs.push({ photo, style: style.replace(/^style_|\.jpg$/g, ''), sizePx });
  }
  for (const pair of values['large-pairs']!.split(',').filter(Boolean)) {
    const [photo, style] = pair.split(':');
    pairs.push({ photo: photo!, style: style!, sizePx: Number(values['large-size']) });
  }
  const weights = await loadWeights(values.weights!);
  const settings: RunSettings = { ...DEFAULT_RUN_SETTINGS, iterations, threads: Number(values.threads), reportEvery: 1, imageEvery: 1 };
  for (const pair of pairs) {
    if (traces.some((t) => t.photo === pair.photo && t.style === pair.style && t.sizePx === pair.sizePx)) continue;
    const content = await decodeImage(path.join(images, photoFile(pair.photo)), { sizePx: pair.sizePx });
    const style = await decodeImage(path.join(images, `style_${pair.style}.jpg`), { sizePx: pair.sizePx });
    const n = content.data.length;
    // Every iterate, for the distance to the last one (300 × 3·256² floats: 236 MB at 256 px, 530 MB at 384 px).
    const iterates = new Float32Array(n * (iterations + 1));
    iterates.set(content.data, 0);
    const trace: Trace = { ...pair, width: content.width, height: content.height, setupMs: 0, ms: [], loss: [], change: [], lossAt: [], toFinal: [], moved20: [] };
    const started = performance.now();
    const result = await runStyleTransfer({ weights, content, styles: [style] }, settings, {
      onEvent: (event) => {
        if (event.type === 'started') trace.setupMs = event.setupMs;
        if (event.type !== 'progress' || !event.image) return;
        const t = event.stageIteration;
        trace.ms.push(event.ms);
        trace.loss.push(event.loss.total);
        // The loss of x_{t−1} is what iteration t reports.
        trace.lossAt.push(event.loss.total);
        iterates.set(event.image.data, t * n);
        trace.change.push(meanAbs(iterates.subarray(t * n, (t + 1) * n), iterates.subarray((t - 1) * n, t * n)));
      },
    });
    if (result.iterations !== iterations) throw new Error(`${pair.photo} × ${pair.style} ran ${result.iterations} iterations, not ${iterations}.`);
    trace.lossAt.push(result.finalLoss.total);
    const final = iterates.subarray(iterations * n, (iterations + 1) * n);
    for (let t = 0; t <= iterations; t++) {
      const at = iterates.subarray(t * n, (t + 1) * n);
      trace.toFinal.push(meanAbs(at, final));
      trace.moved20.push(t < 20 ? 0 : meanAbs(at, iterates.subarray((t - 20) * n, (t - 19) * n)));
    }
    traces.push(trace);
    writeFileSync(tracesFile, `${JSON.stringify({ measuredAt: new Date().toISOString(), machine: machine(), iterations, threads: settings.threads, traces }, null, 0)}\n`);
    console.log(`${pair.photo} × ${pair.style} @ ${pair.sizePx} px: ${((performance.now() - started) / 1000).toFixed(0)} s; ${JSON.stringify(stopOf(trace, DEFAULT_CONVERGENCE))}`);
  }
}

function meanAbs(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
}

function machine(): string {
  return `${os.cpus()[0]?.model ?? 'unknown CPU'} (${os.cpus().length} cores), ${Math.round(os.totalmem() / 2 ** 30)} GiB, load ${os.loadavg()[0]!.toFixed(1)} at the end`;
}

/** Where `rule` stops a trace, as the run loop decides it (the same ConvergenceWindow, fed the same figures). */
function stopOf(trace: Trace, rule: ConvergenceRule) {
  const window = new ConvergenceWindow(rule);
  const n = trace.ms.length;
  let stop = n;
  // The loop does not ask at the cap itself (that stop is the cap's).
  for (let t = 1; t < n; t++) {
    if (window.push(trace.loss[t - 1]!, trace.change[t - 1]!)) {
      stop = t;
      break;
    }
  }
  const seconds = (k: number): number => (trace.setupMs + trace.ms.slice(0, k).reduce((a, b) => a + b, 0)) / 1000;
  return {
    stop,
    savedIterations: n - stop,
    seconds: round(seconds(stop), 1),
    fullSeconds: round(seconds(n), 1),
    speedup: round(seconds(n) / seconds(stop), 2),
    lossRatio: round(trace.lossAt[stop]! / trace.lossAt[n]!, 4),
    toFinal: round(trace.toFinal[stop]!, 2),
  };
}

function round(x: number, digits: number): number {
  return Math.round(x * 10 ** digits) / 10 ** digits;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return round(s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2, 2);
}

/** The default rule per pair, and a sweep of rules around it (how the thresholds were chosen). */
function report(all: Trace[]): void {
  if (all.length === 0) throw new Error(`No traces in ${tracesFile}.`);
  const rows = all.map((trace) => ({ photo: trace.photo, style: trace.style, sizePx: trace.sizePx, ...stopOf(trace, DEFAULT_CONVERGENCE), ...pathAgainstDisplacement(trace) }));
  const sizes = [...new Set(rows.map((r) => r.sizePx))];
  const totals = (subset: typeof rows) => {
    const seconds = subset.reduce((a, r) => a + r.seconds, 0);
    const fullSeconds = subset.reduce((a, r) => a + r.fullSeconds, 0);
    return {
      pairs: subset.length,
      seconds: round(seconds, 0),
      fullSeconds: round(fullSeconds, 0),
      timeRatio: round(fullSeconds / seconds, 2),
      iterationRatio: round((all[0]!.ms.length * subset.length) / subset.reduce((a, r) => a + r.stop, 0), 2),
      minSpeedup: Math.min(...subset.map((r) => r.speedup)),
      worstLossRatio: Math.max(...subset.map((r) => r.lossRatio)),
      medianStop: median(subset.map((r) => r.stop)),
      medianToFinal: median(subset.map((r) => r.toFinal)),
    };
  };
  const summary = { rule: DEFAULT_CONVERGENCE, all: totals(rows), bySize: Object.fromEntries(sizes.map((px) => [px, totals(rows.filter((r) => r.sizePx === px))])) };
  const sweep = sweepRules(all);
  writeFileSync(path.join(outDir, 'adaptive-report.json'), `${JSON.stringify({ summary, rows, sweep }, null, 1)}\n`);
  const d = DEFAULT_CONVERGENCE;
  const pct = (x: number): string => `${round(x * 100, 2)}%`;
  const rule = (r: { window: number; lossDecrease: number; pixelChange: number }): string => `${r.window} / ${pct(r.lossDecrease)} / ${r.pixelChange}`;
  const sweepRow = (s: SweepRow): string =>
    `| ${rule(s)} | ${s.medianStop} | **${s.timeRatio}x** (min ${s.minSpeedup}x) | ${s.iterationRatio}x | ${s.worstLossRatio.toFixed(4)} | ${s.medianToFinal} |`;
  const best = [...new Set(sweep.map((s) => s.window))].flatMap((window) => {
    const ok = sweep.filter((s) => s.window === window && s.worstLossRatio <= 1.03).sort((a, b) => b.timeRatio - a.timeRatio);
    return ok.length ? [ok[0]!] : [];
  });
  const md = [
    `Fixed ${all[0]!.ms.length}-iteration L-BFGS runs (the CLI's defaults, adaptive stop off; ${stored && !values.continue ? `${stored.machine}, ${stored.measuredAt.slice(0, 10)}` : machine()}),`,
    `the adaptive stop replayed on each trace: stop when over the last ${d.window} iterations the loss fell less than ${pct(d.lossDecrease)} and the pixels moved less than`,
    `${d.pixelChange} levels (the sum of each iteration's mean absolute change). Seconds are the run's (setup + iterations) as`,
    'measured on the shared machine: its load moved during the runs, so a single pair\'s time ratio is noisy; the iteration',
    'ratio is not.',
    '',
    '| photo × painting | px | stops at | iterations saved | s (stop / 300) | time saved | loss at stop / at 300 | stop image vs 300 (levels) | path / displacement |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.photo} × ${r.style} | ${r.sizePx} | ${r.stop} | ${r.savedIterations} | ${r.seconds} / ${r.fullSeconds} | ${r.speedup}x | ${r.lossRatio.toFixed(4)} | ${r.toFinal} | ${r.pathRatio} |`),
    ...Object.entries(summary.bySize).map(
      ([px, t]) => `| **all ${t.pairs} at ${px} px** | ${px} | median ${t.medianStop} | ${t.iterationRatio}x fewer | ${t.seconds} / ${t.fullSeconds} | **${t.timeRatio}x** (min ${t.minSpeedup}x) | worst **${t.worstLossRatio.toFixed(4)}** | median ${t.medianToFinal} | |`,
    ),
    '',
    `Rules around it (window / loss fell less than / pixels moved less than, in levels; ${all.length} traces):`,
    '',
    '| rule | median stop | time saved (all pairs) | fewer iterations | worst loss ratio | median stop image vs 300 |',
    '|---|---|---|---|---|---|',
    ...sweep.filter((s) => s.window === d.window).map(sweepRow),
    '',
    'The rule per window that saves the most time with no pair above 1.03x the loss:',
    '',
    '| rule | median stop | time saved (all pairs) | fewer iterations | worst loss ratio | median stop image vs 300 |',
    '|---|---|---|---|---|---|',
    ...best.map(sweepRow),
    '',
  ].join('\n');
  writeFileSync(path.join(outDir, 'adaptive-report.md'), md);
  console.log(md);
}

interface SweepRow {
  window: number;
  lossDecrease: number;
  pixelChange: number;
  medianStop: number;
  timeRatio: number;
  iterationRatio: number;
  minSpeedup: number;
  worstLossRatio: number;
  medianToFinal: number;
}

/** Every rule of a grid around the default, replayed on every trace. */
function sweepRules(all: Trace[]): SweepRow[] {
  const out: SweepRow[] = [];
  for (const window of [10, 15, 20, 30]) {
    for (const lossDecrease of [0.005, 0.0075, 0.01, 0.0125, 0.015]) {
      for (const perTwenty of [2, 3, 3.5, 4, 5]) {
        const pixelChange = round((perTwenty * window) / 20, 2);
        const r = all.map((t) => stopOf(t, { window, lossDecrease, pixelChange }));
        out.push({
          window,
          lossDecrease,
          pixelChange,
          medianStop: median(r.map((x) => x.stop)),
          timeRatio: round(r.reduce((a, x) => a + x.fullSeconds, 0) / r.reduce((a, x) => a + x.seconds, 0), 2),
          iterationRatio: round((all[0]!.ms.length * all.length) / r.reduce((a, x) => a + x.stop, 0), 2),
          minSpeedup: Math.min(...r.map((x) => x.speedup)),
          worstLossRatio: Math.max(...r.map((x) => x.lossRatio)),
          medianToFinal: median(r.map((x) => x.toFinal)),
        });
      }
    }
  }
  return out;
}

/** At the default rule's stop: the window's summed per-iteration change against how far the picture got (mean |x_t − x_{t−20}|). */
function pathAgainstDisplacement(trace: Trace): { pathRatio: number } {
  const { stop } = stopOf(trace, DEFAULT_CONVERGENCE);
  const path20 = trace.change.slice(Math.max(0, stop - 20), stop).reduce((a, b) => a + b, 0);
  return { pathRatio: round(path20 / trace.moved20[stop]!, 2) };
}
