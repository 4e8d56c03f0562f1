// engine/video/frame-index.ts: a spool's index is appended to, a line a frame or loss, so a long run writes O(frames)
// bytes of index, never a rewrite per frame; a line torn by a kill is left out by readers and dropped by a resume;
// a spool from before (frames.json) is still read, and resumed into frames.jsonl.

import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { PlanarImage } from '../../src/engine/io/image.js';

/** Every synchronous write the module under test made: which file (by name), how, and how many bytes. */
const writes: { name: string; how: 'append' | 'write'; bytes: number }[] = [];
const opened = new Map<number, string>();

vi.mock('node:fs', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs')>();
  const size = (data: unknown): number => (typeof data === 'string' ? Buffer.byteLength(data) : (data as Uint8Array).byteLength);
  return {
    ...actual,
    appendFileSync: (file: string, data: string | Uint8Array, options?: unknown) => {
      writes.push({ name: path.basename(file), how: 'append', bytes: size(data) });
      return actual.appendFileSync(file, data, options as never);
    },
    // A whole-file write goes through a descriptor (atomic-file.ts): remember which file each one opened.
    openSync: (file: string, flags?: unknown, mode?: unknown) => {
      const fd = actual.openSync(file, flags as never, mode as never);
      opened.set(fd, path.basename(file));
      return fd;
    },
    writeFileSync: (file: string | number, data: string | Uint8Array, options?: unknown) => {
      writes.push({ name: typeof file === 'number' ? (opened.get(file) ?? `fd ${file}`) : path.basename(file), how: 'write', bytes: size(data) });
      return actual.writeFileSync(file, data, options as never);
    },
  };
});

const { CONTENT_FILE, FRAMES_INDEX_FILE, LEGACY_FRAMES_INDEX_FILE, hasFramesIndex, listFrames, readFramesIndex } = await import('../../src/engine/video/frame-index.js');
const { FrameSpool } = await import('../../src/engine/video/frames.js');

/** A tiny image of one grey level. */
const image = (level: number, size = 2): PlanarImage => ({ width: size, height: size, data: new Float32Array(3 * size * size).fill(level / 255) });

let dir: string;

beforeEach(async () => {
  dir = path.join(await mkdtemp(path.join(os.tmpdir(), 'nst-frame-index-')), 'spool');
  writes.length = 0;
});

afterEach(async () => {
  await rm(path.dirname(dir), { recursive: true, force: true });
});

/** Writes of the index itself, or of a temporary file that would be renamed over it (a rewrite). */
const indexWrites = () => writes.filter((w) => w.name === FRAMES_INDEX_FILE || w.name.startsWith(`.${FRAMES_INDEX_FILE}.`));

describe('the frame index', () => {
  it('of a 2,000-frame spool is written in O(frames) bytes: one appended line per frame and per loss, never rewritten', async () => {
    const frames = 2000;
    const spool = await FrameSpool.create({ dir, frameEvery: 1 });
    for (let i = 0; i < frames; i++) {
      void spool.add(image(i % 256), i);
      void spool.setLoss(i, 1000 - i / 2);
    }
    await spool.flush();

    const index = indexWrites();
    expect(index.every((w) => w.how === 'append')).toBe(true);
    expect(index).toHaveLength(2 * frames);
    const bytes = index.reduce((sum, w) => sum + w.bytes, 0);
    // Every byte written is one the file holds (a rewrite per frame would have written ~frames²/2 lines: ~100 MB).
    expect(bytes).toBe((await stat(path.join(dir, FRAMES_INDEX_FILE))).size);
    expect(bytes / frames).toBeLessThan(150);

    const read = (await readFramesIndex(dir))!;
    expect(read).toMatchObject({ width: 2, height: 2, format: 'png', frameEvery: 1, content: null });
    expect(read.frames).toHaveLength(frames);
    expect(read.frames.at(-1)).toEqual({ file: 'frame_001999.png', iteration: 1999, loss: 1000 - 1999 / 2 });
  });

  it('lists only frames whose files are written, and a line torn by a kill is left out until a resume drops it', async () => {
    const spool = await FrameSpool.create({ dir, frameEvery: 2 });
    await spool.add(image(0), 0);
    await spool.setContent(image(9));
    await spool.add(image(2), 2);
    await spool.setLoss(2, 41);
    // A kill in the middle of appending the next frame's line.
    await writeFile(path.join(dir, FRAMES_INDEX_FILE), '{"type":"frame","file":"frame_000002.png","itera', { flag: 'a' });

    const listed = await listFrames(dir);
    expect(listed.frames.map((f) => [path.basename(f.path), f.iteration, f.loss])).toEqual([
      ['frame_000000.png', 0, null],
      ['frame_000001.png', 2, 41],
    ]);
    expect(listed.contentPath).toBe(path.join(dir, CONTENT_FILE));

    const resumed = await FrameSpool.resume({ dir, upTo: 3 });
    expect(resumed.frames.map((f) => f.iteration)).toEqual([0, 2]);
    const text = await readFile(path.join(dir, FRAMES_INDEX_FILE), 'utf8');
    expect(text.endsWith('}\n')).toBe(true);
    await resumed.add(image(4), 4);
    expect((await readFramesIndex(dir))!.frames.map((f) => [f.file, f.iteration, f.loss])).toEqual([
      ['frame_000000.png', 0, null],
      ['frame_000001.png', 2, 41],
      ['frame_000002.png', 4, null],
    ]);
  });

  it('refuses a torn line that is not the last, and an index another program wrote, naming the file', async () => {
    const spool = await FrameSpool.create({ dir });
    await spool.add(image(0), 0);
    const file = path.join(dir, FRAMES_INDEX_FILE);
    const text = await readFile(file, 'utf8');
    await writeFile(file, `${text}{"type":"fra\n{"type":"loss","iteration":0,"loss":1}\n`);
    await expect(listFrames(dir)).rejects.toMatchObject({ code: 'BAD_ARGUMENT', message: `${file} is not a frame index nst wrote (line 4 is not JSON).` });
    await writeFile(file, '{"frames":[]}\n');
    await expect(listFrames(dir)).rejects.toMatchObject({ code: 'BAD_ARGUMENT', message: `${file} is not a frame index nst wrote (its first line is not a version 2 spool line).` });
    await writeFile(file, `${text}{"type":"frame","file":"../../etc/passwd","iteration":1,"loss":null}\n`);
    await expect(listFrames(dir)).rejects.toMatchObject({ code: 'BAD_ARGUMENT', message: `${file} is not a frame index nst wrote (line 4 is not a record it knows).` });
  });

  it('reads a spool written before the index was appended to (frames.json), and a resume carries it on in frames.jsonl', async () => {
    const spool = await FrameSpool.create({ dir, frameEvery: 5 });
    await spool.add(image(0), 0);
    await spool.add(image(5), 5);
    await rm(path.join(dir, FRAMES_INDEX_FILE));
    const legacy = { version: 1, width: 2, height: 2, format: 'png', frameEvery: 5, content: null, frames: [{ file: 'frame_000000.png', iteration: 0, loss: 9 }, { file: 'frame_000001.png', iteration: 5, loss: 8 }] };
    expect(await hasFramesIndex(dir)).toBe(false);
    await writeFile(path.join(dir, LEGACY_FRAMES_INDEX_FILE), JSON.stringify(legacy, null, 1));
    expect(await hasFramesIndex(dir)).toBe(true);

    expect((await listFrames(dir)).frames.map((f) => [f.iteration, f.loss])).toEqual([[0, 9], [5, 8]]);
    await expect(FrameSpool.create({ dir })).rejects.toMatchObject({ code: 'BAD_ARGUMENT', message: expect.stringContaining(`already holds a frame spool (${LEGACY_FRAMES_INDEX_FILE})`) });

    const resumed = await FrameSpool.resume({ dir, upTo: 7 });
    await resumed.add(image(10), 10);
    expect((await readdir(dir)).sort()).toEqual(['frame_000000.png', 'frame_000001.png', 'frame_000002.png', FRAMES_INDEX_FILE]);
    expect((await readFramesIndex(dir))!.frames.map((f) => [f.iteration, f.loss])).toEqual([[0, 9], [5, 8], [10, null]]);
  });
});
