// Benchmark (not a test): loading the converted weights (float32 blob + index) against parsing the Keras .h5.
// Usage: npx tsx bench/bench-weights.ts [--rounds 5] [--out bench/results]
// Makes a full-size synthetic VGG19 .h5 (random weights, the real shapes, ~80 MB) in a temp folder, converts it,
// then times each form: "cold" in a fresh Node process (module import + WASM start-up included, as at app start)
// and "warm" (median of --rounds loads in one process).

import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    out: { type: 'string', default: 'bench/results' },
    child: { type: 'string' },
    path: { type: 'string' },
  },
});

type Form = 'h5' | 'converted';

/** One process, one form: prints {firstMs, warmMs[]} for `rounds` loads. */
async function child(form: Form, target: string, rounds: number): Promise<void> {
  const start = performance.now();
  // Each form's own module, not the engine's index: a cold load should pay for what that form needs, no more.
  const load =
    form === 'h5'
      ? (await import('../src/engine/weights/load.js')).loadWeights
      : (await import('../src/engine/weights/store.js')).loadConvertedWeights;
  const times: number[] = [];
  for (let i = 0; i <= rounds; i++) {
    const t0 = performance.now();
    const weights = await load(target);
    times.push(performance.now() - t0);
    if (weights.layers.size !== 16) throw new Error(`expected 16 layers, got ${weights.layers.size}`);
  }
  const warmMs = times.slice(1);
  const firstWithImportMs = performance.now() - start - warmMs.reduce((a, b) => a + b, 0);
  process.stdout.write(`${JSON.stringify({ firstMs: times[0], firstWithImportMs, warmMs })}\n`);
}

function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

interface ChildResult {
  firstMs: number;
  firstWithImportMs: number;
  warmMs: number[];
}

function runChild(form: Form, target: string, rounds: number): ChildResult {
  const self = fileURLToPath(import.meta.url);
  const out = execFileSync(process.execPath, ['--import', 'tsx', self, '--child', form, '--path', target, '--rounds', String(rounds)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return JSON.parse(out.trim().split('\n').pop()!) as ChildResult;
}

async function main(): Promise<void> {
  const rounds = Number(values.rounds);
  if (values.child) {
    await child(values.child as Form, values.path!, rounds);
    return;
  }
  const { importWeights, loadConvertedWeights, loadWeights, randomVgg19Weights, storePaths } = await import('../src/engine/index.js');
  const { writeKerasH5 } = await import('../tests/helpers/keras-h5-writer.js');

  const dir = await mkdtemp(path.join(os.tmpdir(), 'nst-bench-weights-'));
  try {
    const h5 = path.join(dir, 'vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5');
    await writeKerasH5(h5, randomVgg19Weights({ seed: 1 }));
    const root = path.join(dir, 'data');
    const t0 = performance.now();
    await importWeights(h5, { root });
    const convertMs = performance.now() - t0;

    // Same numbers either way.
    const [a, b] = [await loadWeights(h5), await loadConvertedWeights(root)];
    for (const [name, layer] of a.layers) {
      const other = b.layers.get(name)!;
      if (!layer.kernel.every((v, i) => v === other.kernel[i]) || !layer.bias.every((v, i) => v === other.bias[i])) {
        throw new Error(`${name} differs between the .h5 and the converted form`);
      }
    }

    const h5Run = runChild('h5', h5, rounds);
    const convertedRun = runChild('converted', root, rounds);
    const result = {
      machine: `${os.cpus()[0]?.model ?? 'cpu'} x${os.cpus().length}, Node ${process.version}, ${os.platform()}`,
      h5Bytes: (await stat(h5)).size,
      blobBytes: (await stat(storePaths(root).blob)).size,
      convertMs: Math.round(convertMs),
      h5: { coldMs: Math.round(h5Run.firstWithImportMs), warmMedianMs: Math.round(median(h5Run.warmMs) * 10) / 10 },
      converted: {
        coldMs: Math.round(convertedRun.firstWithImportMs),
        warmMedianMs: Math.round(median(convertedRun.warmMs) * 10) / 10,
      },
    };
    const speedup = (x: number, y: number): string => `${(x / y).toFixed(1)}x`;
    const table = [
      `| | file MB | first load in a fresh process, ms | warm load (median of ${rounds}), ms |`,
      '|---|---|---|---|',
      `| Keras .h5 (h5wasm) | ${(result.h5Bytes / 1e6).toFixed(1)} | ${result.h5.coldMs} | ${result.h5.warmMedianMs} |`,
      `| converted blob + index | ${(result.blobBytes / 1e6).toFixed(1)} | ${result.converted.coldMs} | ${result.converted.warmMedianMs} |`,
      '',
      `converted is ${speedup(result.h5.coldMs, result.converted.coldMs)} faster cold, ` +
        `${speedup(result.h5.warmMedianMs, result.converted.warmMedianMs)} warm; converting once took ${result.convertMs} ms. (${result.machine})`,
    ].join('\n');
    process.stdout.write(`${table}\n`);
    mkdirSync(values.out!, { recursive: true });
    writeFileSync(path.join(values.out!, 'weights-load.json'), `${JSON.stringify(result, null, 2)}\n`);
    writeFileSync(path.join(values.out!, 'weights-load.md'), `${table}\n`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
