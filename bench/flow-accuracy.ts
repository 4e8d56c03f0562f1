// How accurate and how fast the optical flow is (issue 17's target: mean endpoint error <= 0.5 px away from the
// borders on the shared clips): EPE against each clip's true motion over all 23 frame pairs, at 160x120 and with the
// frames upscaled to 512x384 (the truth scaled with them), and the time per frame pair (wall and process CPU).
// Usage: npx tsx bench/flow-accuracy.ts [--data ../shared/data/video] [--rounds 3] [--out bench/results]
// Writes <out>/flow-accuracy.json and .md.

import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { decodeImage, estimateFlow, type FlowField, type PlanarImage, resizeImage } from '../src/engine/index.js';

const { values } = parseArgs({
  options: {
    data: { type: 'string', default: '../shared/data/video' },
    rounds: { type: 'string', default: '3' },
    out: { type: 'string', default: 'bench/results' },
  },
});
const rounds = Number(values.rounds);
const FRAMES = 24;
/** Pixels this far from the borders (at 160x120; scaled with the frames) are left out of the EPE. */
const MARGIN_PX = 8;
const ZOOM_RATE = 1 / 0.98 - 1;

/** Each clip's true flow from frame t to t+1 at pixel (x, y) of a 160x120 frame (the clips' truth.json). */
const CLIPS: Record<string, (x: number, y: number) => [number, number]> = {
  pan_tubingen_160x120: () => [-2, -1],
  zoom_tubingen_160x120: (x, y) => [(x - 79.5) * ZOOM_RATE, (y - 59.5) * ZOOM_RATE],
};

interface Row {
  clip: string;
  size: string;
  meanEpePx: number;
  worstPairEpePx: number;
  wallMsPerPair: number;
  cpuMsPerPair: number;
}

/** Mean endpoint error at `scale` times the clip's size: a pixel's centre maps back by (p + 0.5) / scale - 0.5. */
function endpointError(flow: FlowField, truth: (x: number, y: number) => [number, number], scale: number): number {
  const margin = Math.round(MARGIN_PX * scale);
  let sum = 0;
  let count = 0;
  for (let y = margin; y < flow.height - margin; y++) {
    for (let x = margin; x < flow.width - margin; x++) {
      const [u, v] = truth((x + 0.5) / scale - 0.5, (y + 0.5) / scale - 0.5);
      const i = y * flow.width + x;
      sum += Math.hypot(flow.u[i]! - u * scale, flow.v[i]! - v * scale);
      count++;
    }
  }
  return sum / count;
}

const rows: Row[] = [];
for (const [clip, truth] of Object.entries(CLIPS)) {
  const frames: PlanarImage[] = [];
  for (let t = 1; t <= FRAMES; t++) frames.push(await decodeImage(path.join(values.data!, clip, `frame_${String(t).padStart(4, '0')}.png`)));
  for (const width of [160, 512]) {
    const scale = width / frames[0]!.width;
    const sized = await Promise.all(frames.map((frame) => resizeImage(frame, width, Math.round(frame.height * scale))));
    const errors: number[] = [];
    for (let t = 0; t + 1 < sized.length; t++) errors.push(endpointError(estimateFlow(sized[t]!, sized[t + 1]!), truth, scale));
    // Timed apart from the accuracy pass (whose first calls also compile the code): `rounds` passes over 4 pairs.
    const pairs = [0, 7, 14, 21];
    const cpuStart = process.cpuUsage();
    const wallStart = performance.now();
    for (let round = 0; round < rounds; round++) for (const t of pairs) estimateFlow(sized[t]!, sized[t + 1]!);
    const cpu = process.cpuUsage(cpuStart);
    const timed = rounds * pairs.length;
    rows.push({
      clip,
      size: `${sized[0]!.width}x${sized[0]!.height}`,
      meanEpePx: errors.reduce((a, b) => a + b, 0) / errors.length,
      worstPairEpePx: Math.max(...errors),
      wallMsPerPair: (performance.now() - wallStart) / timed,
      cpuMsPerPair: (cpu.user + cpu.system) / 1000 / timed,
    });
    console.log(JSON.stringify(rows[rows.length - 1]));
  }
}

const machine = `${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} at the end`;
mkdirSync(values.out!, { recursive: true });
writeFileSync(path.join(values.out!, 'flow-accuracy.json'), `${JSON.stringify({ machine, node: process.version, marginPx: MARGIN_PX, rounds, rows }, null, 2)}\n`);
writeFileSync(
  path.join(values.out!, 'flow-accuracy.md'),
  [
    `# Optical flow: accuracy and speed`,
    '',
    `${machine}; Node ${process.version}. EPE: mean endpoint error against the true motion over all ${FRAMES - 1} frame pairs, ${MARGIN_PX} px (at 160x120, scaled with the frames) from the borders.`,
    '',
    '| clip | size | mean EPE (px) | worst pair (px) | wall ms / pair | CPU ms / pair |',
    '|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.clip} | ${r.size} | ${r.meanEpePx.toFixed(3)} | ${r.worstPairEpePx.toFixed(3)} | ${r.wallMsPerPair.toFixed(0)} | ${r.cpuMsPerPair.toFixed(0)} |`),
    '',
  ].join('\n'),
);
