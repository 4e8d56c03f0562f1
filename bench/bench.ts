// Benchmark (not a test): nst's loss graph against PyTorch on the same machine and config, side by side.
// Usage: npm run bench -- [--size 256] [--rounds 3] [--iterations 5] [--threads 2] [--pool max] [--out bench/results]

import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '256' },
    rounds: { type: 'string', default: '3' },
    iterations: { type: 'string', default: '5' },
    threads: { type: 'string', default: '2' },
    pool: { type: 'string', default: 'max' },
    out: { type: 'string', default: 'bench/results' },
    python: { type: 'string', default: '/usr/bin/python3' },
  },
});

const common = ['--size', values.size!, '--iterations', values.iterations!, '--threads', values.threads!, '--pool', values.pool!];
const STYLE = 'block1_conv1,block2_conv1,block3_conv1,block4_conv1,block5_conv1';
const CONTENT = 'block4_conv2';

interface Measure {
  msPerIterMedian: number;
  peakRssMb: number;
}

function runJson(command: string, args: string[]): Measure {
  const out = execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return JSON.parse(out.trim().split('\n').pop()!) as Measure;
}

const torchAvailable = spawnSync(values.python!, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
if (!torchAvailable) console.warn(`bench: PyTorch not found for ${values.python}: install Debian's python3-torch for the side-by-side.`);

const rows: { round: number; nst: Measure; torch: Measure | null }[] = [];
for (let round = 1; round <= Number(values.rounds); round++) {
  // Alternate the order so neither side always runs on a warmer (or more throttled) machine.
  const nstRun = (): Measure => runJson(process.execPath, ['bin/nst.js', 'bench', '--random-weights', '--device', 'cpu', '--style-layers', STYLE, '--content-layers', CONTENT, ...common, '--json']);
  const torchRun = (): Measure | null => (torchAvailable ? runJson(values.python!, ['bench/bench_pytorch.py', '--style-layers', STYLE, '--content-layers', CONTENT, ...common]) : null);
  let nst: Measure;
  let torch: Measure | null;
  if (round % 2) {
    nst = nstRun();
    torch = torchRun();
  } else {
    torch = torchRun();
    nst = nstRun();
  }
  rows.push({ round, nst, torch });
  console.log(`round ${round}: nst ${nst.msPerIterMedian} ms/it, PyTorch ${torch ? `${torch.msPerIterMedian} ms/it` : 'n/a'}`);
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const nstMs = median(rows.map((r) => r.nst.msPerIterMedian));
const torchMs = torchAvailable ? median(rows.map((r) => r.torch!.msPerIterMedian)) : null;
const report = {
  date: new Date().toISOString(),
  machine: `${os.cpus()[0]?.model ?? 'cpu'} (${os.cpus().length} cores)`,
  config: { size: Number(values.size), style: STYLE, content: CONTENT, pool: values.pool, threads: Number(values.threads), iterations: Number(values.iterations) },
  nstMsPerIter: nstMs,
  pytorchMsPerIter: torchMs,
  speedup: torchMs ? Math.round((torchMs / nstMs) * 100) / 100 : null,
  nstPeakRssMb: Math.max(...rows.map((r) => r.nst.peakRssMb)),
  pytorchPeakRssMb: torchAvailable ? Math.max(...rows.map((r) => r.torch!.peakRssMb)) : null,
  rounds: rows,
};
mkdirSync(values.out!, { recursive: true });
writeFileSync(path.join(values.out!, 'cpu-vs-pytorch.json'), `${JSON.stringify(report, null, 2)}\n`);
const md = [
  `| ${values.size} px, ${values.pool} pool, ${values.threads} threads | ms/iteration (median of ${values.rounds} rounds) | peak RSS MB |`,
  '|---|---|---|',
  `| nst (onnxruntime-node, CPU) | ${nstMs} | ${report.nstPeakRssMb} |`,
  `| PyTorch ${torchAvailable ? '' : '(not installed)'} | ${torchMs ?? 'n/a'} | ${report.pytorchPeakRssMb ?? 'n/a'} |`,
  '',
  report.speedup ? `nst is ${report.speedup}x PyTorch's speed per iteration.` : '',
].join('\n');
writeFileSync(path.join(values.out!, 'cpu-vs-pytorch.md'), `${md}\n`);
console.log(md);
