// Time to a painting, whole process, side by side: how long `nst stylize` takes from process start to reach the
// loss that PyTorch's L-BFGS reaches in N evaluations of the same objective (bench/ttq_pytorch.py), and how long
// PyTorch takes for those N evaluations from its own process start. Real uint8 VGG19, the same pre-resized images
// for both (written here through the engine's own decoder), CPU, 2 threads, alternating rounds.
// Usage: npm run bench:ttq -- [--size 256] [--rounds 3] [--evaluations 100] [--weights DIR] [--out bench/results]

import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { decodeImage, writeImageAtomic } from '../src/engine/index.js';

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '256' },
    rounds: { type: 'string', default: '3' },
    evaluations: { type: 'string', default: '100' },
    weights: { type: 'string', default: '../shared/data/vgg19-imagenet-uint8' },
    content: { type: 'string', default: '../shared/data/images/content_golden_gate.jpg' },
    style: { type: 'string', default: '../shared/data/images/style_great_wave.jpg' },
    python: { type: 'string', default: '/usr/bin/python3' },
    out: { type: 'string', default: 'bench/results' },
  },
});

interface Line {
  ms: number;
  value: Record<string, unknown>;
}

/** Runs a command, timestamping each JSON line of stdout from the spawn; `stopWhen` ends it early. */
function timedLines(command: string, args: string[], stopWhen: (value: Record<string, unknown>) => boolean = () => false): Promise<Line[]> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: Line[] = [];
    let buffer = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      buffer += d.toString();
      for (let i = buffer.indexOf('\n'); i >= 0; i = buffer.indexOf('\n')) {
        const text = buffer.slice(0, i).trim();
        buffer = buffer.slice(i + 1);
        if (!text.startsWith('{')) continue;
        const value = JSON.parse(text) as Record<string, unknown>;
        lines.push({ ms: performance.now() - start, value });
        if (stopWhen(value)) child.kill('SIGKILL');
      }
    });
    child.on('error', reject);
    child.on('close', (code, signal) => (code === 0 || signal === 'SIGKILL' ? resolve(lines) : reject(new Error(`${command} exited ${code}: ${stderr}`))));
  });
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'nst-ttq-'));
const size = Number(values.size);
// The images as nst decodes them at this size, written losslessly: both sides optimise exactly these pixels.
const content = path.join(dir, 'content.png');
const style = path.join(dir, 'style.png');
await writeImageAtomic(content, await decodeImage(path.resolve(values.content!), { sizePx: size }));
await writeImageAtomic(style, await decodeImage(path.resolve(values.style!), { sizePx: size }));

const rows: { round: number; target: number; pytorchMs: number; nstMs: number | null; nstFirstIterationMs: number; nstIterations: number | null }[] = [];
for (let round = 1; round <= Number(values.rounds); round++) {
  const torch = await timedLines(values.python!, ['bench/ttq_pytorch.py', '--weights', values.weights!, '--content', content, '--style', style, '--evaluations', values.evaluations!]);
  // torch's L-BFGS checks max_eval only between its iterations: count the first N evaluations ourselves.
  const evaluations = torch.filter((l) => typeof l.value.loss === 'number').slice(0, Number(values.evaluations));
  const target = Math.min(...evaluations.map((l) => l.value.loss as number));
  const pytorchMs = evaluations.at(-1)!.ms;
  const nst = await timedLines(
    process.execPath,
    ['bin/nst.js', 'stylize', content, style, '-o', path.join(dir, 'out.png'), '--weights', values.weights!, '--size', String(size), '--iterations', '1000', '--device', 'cpu', '--threads', '2', '--checkpoint-every', '0', '--json'],
    (value) => typeof value.loss === 'number' && value.loss <= target,
  );
  const reached = nst.find((l) => typeof l.value.loss === 'number' && (l.value.loss as number) <= target);
  rows.push({ round, target, pytorchMs: Math.round(pytorchMs), nstMs: reached ? Math.round(reached.ms) : null, nstFirstIterationMs: Math.round(nst[0]!.ms), nstIterations: reached ? (reached.value.iteration as number) : null });
  console.log(`round ${round}: PyTorch ${values.evaluations} evaluations → ${target.toFixed(4)} in ${(pytorchMs / 1000).toFixed(1)} s; nst reached it ${reached ? `in ${(reached.ms / 1000).toFixed(1)} s (iteration ${reached.value.iteration})` : 'never'}; nst's first iteration at ${(nst[0]!.ms / 1000).toFixed(2)} s`);
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const pytorchMs = median(rows.map((r) => r.pytorchMs));
const reachedRows = rows.filter((r) => r.nstMs !== null);
const nstMs = reachedRows.length ? median(reachedRows.map((r) => r.nstMs!)) : null;
const report = {
  date: new Date().toISOString(),
  machine: `${os.cpus()[0]?.model ?? 'cpu'} (${os.cpus().length} cores)`,
  config: { size, evaluations: Number(values.evaluations), content: values.content, style: values.style, weights: values.weights },
  pytorchMs,
  nstMs,
  speedup: nstMs ? Math.round((pytorchMs / nstMs) * 100) / 100 : null,
  nstFirstIterationMs: median(rows.map((r) => r.nstFirstIterationMs)),
  rounds: rows,
};
mkdirSync(values.out!, { recursive: true });
writeFileSync(path.join(values.out!, `ttq-${size}.json`), `${JSON.stringify(report, null, 2)}\n`);
const md = [
  `| ${size} px, whole process, CPU, 2 threads, median of ${values.rounds} rounds | seconds |`,
  '|---|---|',
  `| PyTorch L-BFGS, ${values.evaluations} evaluations | ${(pytorchMs / 1000).toFixed(1)} |`,
  `| nst to the same loss | ${nstMs ? (nstMs / 1000).toFixed(1) : 'not reached'} |`,
  `| nst's first iteration | ${(report.nstFirstIterationMs / 1000).toFixed(2)} |`,
  '',
  report.speedup ? `nst reaches PyTorch's ${values.evaluations}-evaluation loss ${report.speedup}x sooner.` : '',
].join('\n');
writeFileSync(path.join(values.out!, `ttq-${size}.md`), `${md}\n`);
console.log(md);
