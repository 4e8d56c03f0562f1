// The worked example of docs/masks.md, from real `nst stylize` runs: makes its masks (two styles split at the
// horizon; a face kept by a content mask) as soft-edged grey PNGs, paints each photo with and without them on the
// built-in weights, and writes the doc's small pictures (docs/images/masks-*.jpg) and the runs' own lines.
// Usage: npx tsx bench/masks-example.ts [--only horizon|face] [--size 256] [--threads 2] [--face-rest 0.02]
//   [--work DIR] [--images docs/images] [--out bench/results]
// (runs the built CLI: node scripts/build-cli.mjs first). Writes <out>/masks-example[-<only>].json; prints the commands.

import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    size: { type: 'string', default: '256' },
    threads: { type: 'string', default: '2' },
    'face-rest': { type: 'string', default: '0.02' },
    work: { type: 'string', default: path.join(os.tmpdir(), 'nst-masks-example') },
    images: { type: 'string', default: 'docs/images' },
    out: { type: 'string', default: 'bench/results' },
  },
});
const DATA = '../shared/data/images';
const work = values.work!;
mkdirSync(work, { recursive: true });
mkdirSync(values.images!, { recursive: true });

/** A grey mask at the photo's own size (what the studio's editor exports), `value(x, y)` in [0, 1]. */
async function writeMask(file: string, width: number, height: number, value: (x: number, y: number) => number): Promise<string> {
  const data = Buffer.alloc(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data[y * width + x] = Math.round(255 * Math.min(1, Math.max(0, value(x, y))));
  await sharp(data, { raw: { width, height, channels: 1 } }).png().toFile(file);
  return file;
}

async function photoSize(file: string): Promise<{ width: number; height: number }> {
  const { width, height } = await sharp(file).metadata();
  if (width === undefined || height === undefined) throw new Error(`${file}: no size in its header`);
  return { width, height };
}

interface Run {
  readonly name: string;
  readonly command: string;
  /** The run's own `nst:` lines (stderr): what it wrote, its iterations and seconds, why it stopped. */
  readonly lines: string[];
  /** Wall time of the whole command, start-up and weights included. */
  readonly wallSeconds: number;
}

/** One `nst stylize` on the built-in weights, adaptive stop and default iterations, as a user would type it. */
function stylize(name: string, content: string, styles: string[], output: string, extra: string[]): Run {
  const args = ['bin/nst.js', 'stylize', content, ...styles, '-o', output, ...extra, '--size', values.size!, '--device', 'cpu', '--threads', values.threads!, '--weights', 'resources/weights'];
  const command = `node ${args.join(' ')}`;
  console.log(`$ ${command}`);
  const started = performance.now();
  const run = spawnSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
  const wallSeconds = (performance.now() - started) / 1000;
  const lines = run.stderr.split('\n').filter((l) => l.startsWith('nst:'));
  for (const line of lines) console.log(line);
  if (run.status !== 0) throw new Error(`${name}: nst exited ${run.status}:\n${run.stderr}`);
  console.log(`(${wallSeconds.toFixed(1)} s wall, start-up included)\n`);
  return { name, command, lines, wallSeconds };
}

/** A small JPEG of `file` for the doc, `width` px wide at most (a mask stays grey). */
async function docPicture(file: string, name: string, width: number): Promise<void> {
  const target = path.join(values.images!, `masks-${name}.jpg`);
  await sharp(file).resize({ width, withoutEnlargement: true }).jpeg({ quality: 82, mozjpeg: true }).toFile(target);
  console.log(`wrote ${target} (${(readFileSync(target).length / 1024).toFixed(1)} KB)`);
}

const runs: Run[] = [];
const size = Number(values.size);

if (values.only === undefined || values.only === 'horizon') {
  // Starry Night above the horizon, the Great Wave below it. The sea line of the 1280x719 beach photo is at row 438
  // (found by the mean brightness of its left 600 columns, buildings-free: 145 at row 428, 72 at 440, the far shore
  // and the sea); the masks cross over ±12 rows about it (±2.4 rows at 144 px high), and add up to 1 everywhere.
  const photo = `${DATA}/content_beach_city.jpg`;
  const styles = [`${DATA}/style_starry_night.jpg`, `${DATA}/style_great_wave.jpg`];
  const { width, height } = await photoSize(photo);
  const horizon = (438 / 719) * height;
  const feather = (12 / 719) * height;
  const sky = (_x: number, y: number): number => (horizon + feather - y) / (2 * feather);
  const masks = [
    await writeMask(path.join(work, 'sky.png'), width, height, sky),
    await writeMask(path.join(work, 'sea.png'), width, height, (x, y) => 1 - sky(x, y)),
  ];
  const plain = path.join(work, 'horizon-plain.png');
  const masked = path.join(work, 'horizon-masked.png');
  runs.push(stylize('horizon, no masks (the two styles blended everywhere)', photo, styles, plain, []));
  runs.push(stylize('horizon, --masks sky.png,sea.png', photo, styles, masked, ['--masks', masks.join(',')]));
  await docPicture(masks[0]!, 'horizon-sky', size);
  await docPicture(masks[1]!, 'horizon-sea', size);
  await docPicture(plain, 'horizon-plain', size);
  await docPicture(masked, 'horizon-masked', size);
}

if (values.only === undefined || values.only === 'face') {
  // The Scream over the astronaut, her face kept. The face and hair of the 512x512 photo lie in an ellipse centred
  // at (227, 100) with radii 72 x 92 px (read off the image). The content mask is white there (the photo's full
  // weight) and `face-rest` elsewhere; with --content-weight 1 / face-rest, the rest keeps the default weight (1)
  // and the face gets 1 / face-rest times it. The edge ramps from 0.9 to 1.1 of the radii.
  const photo = `${DATA}/content_astronaut.png`;
  const style = `${DATA}/style_the_scream.jpg`;
  const { width, height } = await photoSize(photo);
  const rest = Number(values['face-rest']);
  const contentWeight = String(Math.round(1 / rest));
  const k = width / 512;
  const inside = (x: number, y: number): number => (1.1 - Math.hypot((x - 227 * k) / (72 * k), (y - 100 * k) / (92 * k))) / 0.2;
  const faceMask = await writeMask(path.join(work, 'face.png'), width, height, (x, y) => rest + (1 - rest) * Math.min(1, Math.max(0, inside(x, y))));
  const plain = path.join(work, 'face-plain.png');
  const masked = path.join(work, 'face-masked.png');
  runs.push(stylize('face, no mask', photo, [style], plain, []));
  runs.push(stylize('face, --content-mask face.png', photo, [style], masked, ['--content-mask', faceMask, '--content-weight', contentWeight]));
  await docPicture(faceMask, 'face-mask', size);
  await docPicture(plain, 'face-plain', size);
  await docPicture(masked, 'face-masked', size);
}

mkdirSync(values.out!, { recursive: true });
const record = path.join(values.out!, `masks-example${values.only === undefined ? '' : `-${values.only}`}.json`);
writeFileSync(record, `${JSON.stringify({ date: new Date().toISOString(), host: `${os.cpus().length} CPUs, load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`, runs }, null, 1)}\n`);
console.log(`wrote ${record}`);
