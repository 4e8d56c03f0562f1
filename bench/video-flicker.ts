// How much a stylised clip flickers (issue 17's target: a warping error at least 3x lower than per-frame stylisation
// with the same size and iterations, on both shared clips): each clip painted frame by frame with `nst batch` (each
// frame on its own, from its own content) and with `nst stylize-video` at several temporal weights (0: the warped start
// alone), the warping error of each output against the clip's TRUE motion, the time per frame beside one `nst stylize`
// of a frame with the same iterations, and each process's peak RSS; plus a strip of frames, per-frame above temporal.
// Usage: node scripts/build-cli.mjs && npm run bench:flicker -- [--data ../shared/data/video]
//   [--style ../shared/data/images/style_starry_night.jpg] [--size 160] [--iterations 10] [--weights 0,200,2000]
//   [--frames 24] [--strip-weight 200] [--work /tmp/nst-video-flicker] [--out bench/results] [--name video-flicker]
//   [--strip docs/images/video-flicker.png]
//   [--strip-only] (compose the strip again from the frames a full run left in --work, running nothing)
// Writes <out>/<name>.json and .md, and the strip. Every run uses --stop off, so "the same iterations" is exact.
// The default size is the clips' own (160x120): there the pan's true motion is a whole (−2, −1) px and the metric
// samples no pixel between centres; at 128 px (−1.6, −0.8) the bilinear sample alone gives the INPUT frames 43 levels².

import { spawn } from 'node:child_process';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { chwToHwcUint8, decodeImage, flowFromMotion, type FlowField, type PlanarImage, warpingError, writeImageAtomic } from '../src/engine/index.js';

const { values } = parseArgs({
  options: {
    data: { type: 'string', default: '../shared/data/video' },
    style: { type: 'string', default: '../shared/data/images/style_starry_night.jpg' },
    size: { type: 'string', default: '160' },
    iterations: { type: 'string', default: '10' },
    weights: { type: 'string', default: '0,200,2000' },
    frames: { type: 'string', default: '24' },
    'strip-weight': { type: 'string', default: '200' },
    work: { type: 'string', default: path.join(os.tmpdir(), 'nst-video-flicker') },
    out: { type: 'string', default: 'bench/results' },
    name: { type: 'string', default: 'video-flicker' },
    strip: { type: 'string', default: 'docs/images/video-flicker.png' },
    'strip-only': { type: 'boolean', default: false },
  },
});
const sizePx = Number(values.size);
const iterations = Number(values.iterations);
const weights = values.weights!.split(',').map(Number);
const frameCount = Number(values.frames);
const stripWeight = Number(values['strip-weight']);
const work = path.resolve(values.work!);
const NST = path.resolve('bin/nst.js');
/** The clips' own size: their truth is in these pixels. */
const CLIP_WIDTH = 160;
const ZOOM_RATE = 1 / 0.98 - 1;

/** Each clip's true motion from frame t to t+1 at (x, y) of a 160x120 frame (its truth.json). */
const CLIPS: Record<string, (x: number, y: number) => readonly [number, number]> = {
  pan_tubingen_160x120: () => [-2, -1],
  zoom_tubingen_160x120: (x, y) => [(x - 79.5) * ZOOM_RATE, (y - 59.5) * ZOOM_RATE],
};

interface NstRun {
  lines: Record<string, unknown>[];
  wallMs: number;
  /** The process's peak resident set, from /usr/bin/time (null where there is none). */
  peakRssMb: number | null;
}

/** Runs `nst ARGS` to its end (throwing on a non-zero exit) and collects its JSON lines, wall time and peak RSS. */
async function nst(args: string[]): Promise<NstRun> {
  const timed = ['-f', 'NST_BENCH_MAXRSS_KB=%M', process.execPath, NST, ...args];
  const started = performance.now();
  const child = spawn('/usr/bin/time', timed, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve, reject) => child.on('error', reject).on('close', resolve));
  const wallMs = performance.now() - started;
  if (code !== 0) throw new Error(`nst ${args.join(' ')} exited ${code}:\n${stderr.slice(-2000)}`);
  const rss = /NST_BENCH_MAXRSS_KB=(\d+)/.exec(stderr);
  const lines = stdout.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>);
  return { lines, wallMs, peakRssMb: rss ? Math.round(Number(rss[1]) / 1024) : null };
}

interface Row {
  clip: string;
  /** 'input' (the content frames: the floor), 'per-frame' (nst batch) or 'temporal' (nst stylize-video). */
  run: 'input' | 'per-frame' | 'temporal';
  temporalWeight: number | null;
  /** Mean over the pairs of the mean squared difference, 0..255 levels² (RGB averaged). */
  warpingError: number;
  worstPair: number;
  /** Per-frame's warping error over this one's (the target: ≥ 3 for the default weight). */
  ratio: number | null;
  firstFrameMs: number | null;
  /** Mean over the frames after the first. */
  msPerFrame: number | null;
  /** The final style + content + TV loss (normalised), mean over the frames after the first: what holding the frames costs the picture. */
  paintLoss: number | null;
  /** The temporal term unweighted, mean(c ⊙ (x − warped)²) in levels², mean over the frames after the first. */
  temporalTerm: number | null;
  wallS: number | null;
  peakRssMb: number | null;
}

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const framesDir = (clip: string): string => path.join(work, clip, 'input');
const runDir = (clip: string, weight: number | null): string => path.join(work, clip, weight === null ? 'per-frame' : `temporal-w${weight}`);
const frameName = (t: number): string => `frame_${String(t).padStart(4, '0')}.png`;
const outputName = (t: number): string => `frame_${String(t).padStart(6, '0')}.png`;

/** The flicker of a sequence of frames on disk against the clip's true motion at their size. */
async function measure(files: readonly string[], truth: (x: number, y: number) => readonly [number, number]): Promise<{ frames: PlanarImage[]; error: number; worst: number }> {
  const frames = await Promise.all(files.map((file) => decodeImage(file)));
  const { width, height } = frames[0]!;
  const flow: FlowField = flowFromMotion(width, height, truth, width / CLIP_WIDTH);
  const result = warpingError(frames, () => flow);
  return { frames, error: result.meanSquared, worst: Math.max(...result.pairs.map((pair) => pair.meanSquared)) };
}

const common = ['--size', String(sizePx), '--iterations', String(iterations), '--stop', 'off', '--json'];
const rows: Row[] = [];

/** One frame alone with the same iterations: what a frame of a clip costs against a photo of its size. */
async function stylizeOneFrame(clip: string): Promise<{ seconds: number; peakRssMb: number | null }> {
  const one = await nst(['stylize', path.join(framesDir(clip), frameName(1)), values.style!, '-o', path.join(work, clip, 'single.png'), '--checkpoint-every', '0', ...common]);
  const summary = one.lines.find((line) => line.done === true)!;
  return { seconds: Number(summary.seconds), peakRssMb: one.peakRssMb };
}

async function benchClip(clip: string, truth: (x: number, y: number) => readonly [number, number]): Promise<void> {
  // Copies of the first frames (listing skips links): the same decoded inputs for every run.
  await rm(path.join(work, clip), { recursive: true, force: true });
  await mkdir(framesDir(clip), { recursive: true });
  for (let t = 1; t <= frameCount; t++) await copyFile(path.join(values.data!, clip, frameName(t)), path.join(framesDir(clip), frameName(t)));
  const inputs = await measure(
    await Promise.all(Array.from({ length: frameCount }, async (_, i) => {
      const file = path.join(framesDir(clip), frameName(i + 1));
      const sized = path.join(work, clip, `sized-${frameName(i + 1)}`);
      await writeImageAtomic(sized, await decodeImage(file, { sizePx }));
      return sized;
    })),
    truth,
  );
  rows.push({ clip, run: 'input', temporalWeight: null, warpingError: inputs.error, worstPair: inputs.worst, ratio: null, firstFrameMs: null, msPerFrame: null, paintLoss: null, temporalTerm: null, wallS: null, peakRssMb: null });

  const batch = await nst(['batch', '--content', framesDir(clip), '--style', values.style!, '-o', runDir(clip, null), ...common]);
  const items = batch.lines.filter((line) => line.status === 'done');
  const perFrame = await measure(items.map((line) => String(line.output)), truth);
  const itemMs = items.map((line) => Number(line.seconds) * 1000);
  rows.push({ clip, run: 'per-frame', temporalWeight: null, warpingError: perFrame.error, worstPair: perFrame.worst, ratio: 1, firstFrameMs: itemMs[0]!, msPerFrame: mean(itemMs.slice(1)), paintLoss: mean(items.slice(1).map((line) => Number(line.finalLoss))), temporalTerm: null, wallS: batch.wallMs / 1000, peakRssMb: batch.peakRssMb });
  console.log(JSON.stringify(rows[rows.length - 1]));

  for (const weight of weights) {
    const dir = runDir(clip, weight);
    const video = await nst(['stylize-video', framesDir(clip), values.style!, '-o', path.join(work, clip, `temporal-w${weight}.mp4`), '--frames-dir', dir, '--first-iterations', String(2 * iterations), '--temporal-weight', String(weight), ...common]);
    const frameLines = video.lines.filter((line) => typeof line.frame === 'number');
    const frameMs = frameLines.map((line) => Number(line.ms));
    // The line's loss is the total: the temporal term's share (w/255² under normalize) taken out.
    const later = frameLines.slice(1);
    const temporalTerm = weight > 0 ? mean(later.map((line) => Number(line.temporal))) : null;
    const paintLoss = mean(later.map((line) => Number(line.loss) - (weight / 255 ** 2) * (weight > 0 ? Number(line.temporal) : 0)));
    const result = await measure(Array.from({ length: frameCount }, (_, i) => path.join(dir, outputName(i + 1))), truth);
    rows.push({ clip, run: 'temporal', temporalWeight: weight, warpingError: result.error, worstPair: result.worst, ratio: perFrame.error / result.error, firstFrameMs: frameMs[0]!, msPerFrame: mean(frameMs.slice(1)), paintLoss, temporalTerm, wallS: video.wallMs / 1000, peakRssMb: video.peakRssMb });
    console.log(JSON.stringify(rows[rows.length - 1]));
  }

}

/** Frames t and t+1 of a run and the pair's warping error map (RMS over RGB x4, black where not visible). */
async function stripRow(clip: string, weight: number | null, t: number): Promise<PlanarImage[]> {
  const file = (k: number): string => (weight === null ? path.join(runDir(clip, null), frameName(k)) : path.join(runDir(clip, weight), outputName(k)));
  const frames = await Promise.all([t, t + 1].map((k) => decodeImage(file(k))));
  const [a, b] = frames as [PlanarImage, PlanarImage];
  const { width, height } = a;
  const flow = flowFromMotion(width, height, CLIPS[clip]!, width / CLIP_WIDTH);
  const n = width * height;
  const map = new Float32Array(3 * n);
  for (let p = 0; p < n; p++) {
    const moved = pixelAt(b, (p % width) + flow.u[p]!, Math.floor(p / width) + flow.v[p]!);
    if (moved === null) continue;
    let sum = 0;
    for (let c = 0; c < 3; c++) sum += (a.data[c * n + p]! - moved[c]!) ** 2;
    map[p] = map[n + p] = map[2 * n + p] = Math.min(255, 4 * Math.sqrt(sum / 3));
  }
  return [...frames, { width, height, data: map }];
}

/** The bilinear RGB value of an image at (x, y), as warpingError samples it; null outside the pixel centres' span. */
function pixelAt(image: PlanarImage, x: number, y: number): number[] | null {
  const { width, height } = image;
  const n = width * height;
  if (!(x >= 0 && y >= 0 && x <= width - 1 && y <= height - 1)) return null;
  const x0 = Math.min(Math.floor(x), width - 2);
  const y0 = Math.min(Math.floor(y), height - 2);
  const fx = x - x0;
  const fy = y - y0;
  const at = (c: number, xx: number, yy: number): number => image.data[c * n + yy * width + xx]!;
  return [0, 1, 2].map((c) => (at(c, x0, y0) * (1 - fx) + at(c, x0 + 1, y0) * fx) * (1 - fy) + (at(c, x0, y0 + 1) * (1 - fx) + at(c, x0 + 1, y0 + 1) * fx) * fy);
}

/** Rows of equal-size tiles, 4 px apart on white, as one image. */
function compose(rowsOfTiles: PlanarImage[][]): PlanarImage {
  const gap = 4;
  const { width: tw, height: th } = rowsOfTiles[0]![0]!;
  const cols = rowsOfTiles[0]!.length;
  const width = cols * tw + (cols - 1) * gap;
  const height = rowsOfTiles.length * th + (rowsOfTiles.length - 1) * gap;
  const n = width * height;
  const data = new Float32Array(3 * n).fill(255);
  rowsOfTiles.forEach((tiles, r) =>
    tiles.forEach((tile, c) => {
      for (let ch = 0; ch < 3; ch++) {
        for (let y = 0; y < th; y++) {
          for (let x = 0; x < tw; x++) data[ch * n + (r * (th + gap) + y) * width + c * (tw + gap) + x] = tile.data[ch * tw * th + y * tw + x]!;
        }
      }
    }),
  );
  return { width, height, data };
}

async function writeStrip(): Promise<void> {
  // Frames 12 and 13: far enough in for the temporal runs to have settled, the same frames for both rows.
  const t = Math.min(12, frameCount - 1);
  const stripRows: PlanarImage[][] = [];
  for (const clip of Object.keys(CLIPS)) {
    // Batch names its outputs after the inputs (frame_0011.png); the video job numbers its own (frame_000011.png).
    stripRows.push(await stripRow(clip, null, t), await stripRow(clip, stripWeight, t));
  }
  await mkdir(path.dirname(values.strip!), { recursive: true });
  const strip = compose(stripRows);
  // Lossless, at sharp's strongest PNG settings: a third of the default's bytes for a picture kept in the repository.
  await sharp(chwToHwcUint8(strip.data, strip.width, strip.height), { raw: { width: strip.width, height: strip.height, channels: 3 } })
    .png({ compressionLevel: 9, adaptiveFiltering: true, effort: 10 })
    .toFile(values.strip!);
}

if (!values['strip-only']) {
  for (const [clip, truth] of Object.entries(CLIPS)) await benchClip(clip, truth);
  const single = await stylizeOneFrame(Object.keys(CLIPS)[0]!);
  const machine = `${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} at the end`;
  const style = path.basename(values.style!);
  const settings = { sizePx, iterations, firstIterations: 2 * iterations, stop: 'off', frames: frameCount, style, weights: 'installed or built-in (nst resolves them)' };
  mkdirSync(values.out!, { recursive: true });
  writeFileSync(path.join(values.out!, `${values.name!}.json`), `${JSON.stringify({ machine, node: process.version, settings, singleFrameStylize: single, rows }, null, 2)}\n`);
  const fmt = (x: number | null, digits = 0): string => (x === null ? '' : x.toFixed(digits));
  writeFileSync(
    path.join(values.out!, `${values.name!}.md`),
    [
      '# Video flicker: warping error, per-frame against temporal',
      '',
      `${machine}; Node ${process.version}. ${frameCount} frames of each clip at --size ${sizePx}, ${style}, --iterations ${iterations} a frame (the temporal runs' first frame ${2 * iterations}), --stop off. Per-frame: \`nst batch\` on the frames (each from its own content); temporal: \`nst stylize-video --temporal-weight W\` (W 0: the warped start, no temporal term).`,
      '',
      'Warping error: the mean over consecutive pairs of the mean squared difference between O_t(p) and O_{t+1}(p + u) over the pixels p whose p + u stays in the frame, u the TRUE motion (truth.json, scaled to the frame size), in 0..255 levels² (RGB averaged); "input" is the content frames at that size (the floor: resampling alone). Ratio: per-frame over the row (target ≥ 3). Paint loss: the final style + content + TV loss (normalised), mean over frames 2..; temporal term: mean(c ⊙ (x − warped previous)²), unweighted.',
      '',
      '| clip | run | weight | warping error (levels²) | worst pair | ratio | paint loss (2..) | temporal term (levels², 2..) | first frame ms | ms / frame (2..) | wall s | peak RSS MB |',
      '|---|---|---|---|---|---|---|---|---|---|---|---|',
      ...rows.map((r) => `| ${r.clip} | ${r.run} | ${r.temporalWeight ?? ''} | ${fmt(r.warpingError, 1)} | ${fmt(r.worstPair, 1)} | ${fmt(r.ratio, 2)} | ${fmt(r.paintLoss, 3)} | ${fmt(r.temporalTerm, 2)} | ${fmt(r.firstFrameMs)} | ${fmt(r.msPerFrame)} | ${fmt(r.wallS, 1)} | ${fmt(r.peakRssMb)} |`),
      '',
      `One \`nst stylize\` of frame 1 with the same size and iterations: ${(single.seconds * 1000).toFixed(0)} ms (its own figure, from after the weights are loaded), peak RSS ${single.peakRssMb ?? '?'} MB.`,
      '',
    ].join('\n'),
  );
}
await writeStrip();

