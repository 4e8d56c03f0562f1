// engine/persist/batch-manifest.ts: input expansion (folders, globs, files), collision-safe output names, and the manifest that makes
// a batch resumable (same settings keep finished items, other settings are refused unless forced, a crash mid-item
// is told apart from a finished write).

import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BatchLedger, BatchSettingsMismatch, MANIFEST_NAME, assignOutputNames, describeSettingsChanges, expandContentInputs, settingsHash } from '../../src/engine/persist/batch-manifest.js';

function folder(files: Record<string, string> = {}): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nst-batch-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

describe('expandContentInputs', () => {
  it('takes a folder\'s images sorted by name and lists the other files as ignored', async () => {
    const dir = folder({ 'b.png': 'x', 'a.JPG': 'x', 'c.webp': 'x', 'notes.txt': 'x', '.hidden.png': 'x', 'sub/d.png': 'x' });
    const { files, ignored } = await expandContentInputs([dir]);
    expect(files.map((f) => path.basename(f))).toEqual(['a.JPG', 'b.png', 'c.webp']);
    expect(ignored.map((f) => path.basename(f))).toEqual(['notes.txt']);
  });

  it('expands globs relative to cwd, including ** and {a,b}', async () => {
    const dir = folder({ 'f/1.png': 'x', 'f/2.jpg': 'x', 'f/deep/3.png': 'x', 'f/readme.md': 'x' });
    expect((await expandContentInputs(['f/*.png'], { cwd: dir })).files).toEqual([path.join(dir, 'f/1.png')]);
    expect((await expandContentInputs(['f/**/*.png'], { cwd: dir })).files).toEqual([path.join(dir, 'f/1.png'), path.join(dir, 'f/deep/3.png')]);
    const braces = await expandContentInputs(['f/*.{jpg,md}'], { cwd: dir });
    expect(braces.files).toEqual([path.join(dir, 'f/2.jpg')]);
    expect(braces.ignored).toEqual([path.join(dir, 'f/readme.md')]);
  });

  it('keeps a file named explicitly whatever its extension, and drops repeats', async () => {
    const dir = folder({ 'photo.data': 'x', 'a.png': 'x' });
    const { files } = await expandContentInputs([path.join(dir, 'photo.data'), dir, path.join(dir, 'a.png')]);
    expect(files).toEqual([path.join(dir, 'photo.data'), path.join(dir, 'a.png')]);
  });

  it('leaves out the files directly in the output folder (they are outputs)', async () => {
    const dir = folder({ 'a.png': 'x', 'out/a.png': 'x' });
    const { files } = await expandContentInputs([`${dir}/**/*.png`], { excludeDir: path.join(dir, 'out') });
    expect(files).toEqual([path.join(dir, 'a.png')]);
  });

  it('rejects a missing path that is not a glob, and inputs that hold no image', async () => {
    const dir = folder({ 'notes.txt': 'x' });
    await expect(expandContentInputs([path.join(dir, 'nope.png')])).rejects.toMatchObject({ code: 'FILE_NOT_FOUND', message: expect.stringContaining('nope.png: no such file or folder') });
    await expect(expandContentInputs([dir])).rejects.toMatchObject({ code: 'BAD_ARGUMENT', message: expect.stringContaining('No content images found') });
    await expect(expandContentInputs([`${dir}/*.png`])).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
  });
});

describe('assignOutputNames', () => {
  it('names outputs by stem, keeps the source extension where stems clash, numbers what still clashes', () => {
    expect(assignOutputNames(['/i/photo.jpg', '/i/cat.png'], 'png')).toEqual(['photo.png', 'cat.png']);
    expect(assignOutputNames(['/i/a.jpg', '/i/a.png'], 'png')).toEqual(['a_jpg.png', 'a_png.png']);
    expect(assignOutputNames(['/x/a.png', '/y/a.png', '/y/A.jpg'], 'jpg')).toEqual(['a_png.jpg', 'a_png_2.jpg', 'A_jpg.jpg']);
  });

  it('avoids names already taken, case-insensitively', () => {
    expect(assignOutputNames(['/i/photo.jpg'], 'png', ['PHOTO.png'])).toEqual(['photo_2.png']);
  });
});

describe('settings hash', () => {
  it('ignores key order and undefined fields, and sees every value', () => {
    expect(settingsHash({ a: 1, b: [1, 2], c: undefined })).toBe(settingsHash({ b: [1, 2], a: 1 }));
    expect(settingsHash({ a: 1, b: [1, 2] })).not.toBe(settingsHash({ a: 1, b: [2, 1] }));
    expect(describeSettingsChanges({ iterations: 10, size: 64 }, { iterations: 20, size: 64, lr: 2 })).toEqual(['iterations: 10 → 20', 'lr: (none) → 2']);
  });
});

describe('BatchLedger', () => {
  const settings = { iterations: 10, styles: ['abc'] };
  const open = (dir: string, inputs: string[], extra: Partial<Parameters<typeof BatchLedger.open>[1]> = {}) =>
    BatchLedger.open(dir, { inputs, extension: 'png', settings, recipe: { by: 'test' }, ...extra });
  const onDisk = (dir: string) => JSON.parse(readFileSync(path.join(dir, MANIFEST_NAME), 'utf8')) as { items: { input: string; status: string; output: string }[] };

  it('writes every change to the manifest, and a reopen with the same settings keeps finished items', async () => {
    const dir = folder();
    const ledger = await open(dir, ['/in/a.png', '/in/b.png', '/in/c.png']);
    expect(onDisk(dir).items.map((i) => i.status)).toEqual(['pending', 'pending', 'pending']);
    await ledger.markRunning(0);
    expect(onDisk(dir).items[0]!.status).toBe('running');
    writeFileSync(ledger.outputPath(0), 'image');
    await ledger.markDone(0, 1.5);
    await ledger.markFailed(1, { code: 'NOT_AN_IMAGE', message: 'b.png is not an image.' });
    expect(onDisk(dir).items.map((i) => i.status)).toEqual(['done', 'failed', 'pending']);
    expect(ledger.counts()).toEqual({ total: 3, pending: 1, done: 1, failed: 1 });

    const again = await open(dir, ['/in/a.png', '/in/b.png', '/in/c.png', '/in/d.png']);
    expect(again.items.map((i) => [i.output, i.status])).toEqual([['a.png', 'done'], ['b.png', 'failed'], ['c.png', 'pending'], ['d.png', 'pending']]);
    // Failed items are tried again; finished ones are not.
    expect(again.todo()).toEqual([1, 2, 3]);
    expect(again.recipe).toEqual({ by: 'test' });
  });

  it('drops unfinished items whose input is gone, keeps finished ones', async () => {
    const dir = folder();
    const ledger = await open(dir, ['/in/a.png', '/in/bad.png']);
    await ledger.markDone(0, 1);
    await ledger.markFailed(1, { code: 'NOT_AN_IMAGE', message: 'no' });
    const again = await open(dir, ['/in/c.png']);
    expect(again.items.map((i) => i.input)).toEqual(['/in/a.png', '/in/c.png']);
  });

  it('refuses other settings, naming what changed, and redoes everything when forced', async () => {
    const dir = folder();
    const ledger = await open(dir, ['/in/a.png']);
    await ledger.markDone(0, 1);
    const other = { iterations: 20, styles: ['abc'] };
    const refusal = await open(dir, ['/in/a.png'], { settings: other }).catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(BatchSettingsMismatch);
    expect((refusal as Error).message).toContain('iterations: 10 → 20');
    expect(onDisk(dir).items[0]!.status).toBe('done');
    const forced = await open(dir, ['/in/a.png'], { settings: other, force: true });
    expect(forced.todo()).toEqual([0]);
    // The forced settings are the batch's now: a plain rerun with them is accepted.
    expect((await open(dir, ['/in/a.png'], { settings: other })).todo()).toEqual([0]);
  });

  it('after a crash mid-item: done when the output file was replaced after the item started, else redone', async () => {
    const dir = folder();
    const ledger = await open(dir, ['/in/a.png', '/in/b.png', '/in/c.png']);
    // An output from before (an earlier, forced-over batch) for a and b.
    writeFileSync(ledger.outputPath(0), 'old');
    writeFileSync(ledger.outputPath(1), 'old');
    await ledger.markRunning(0);
    // a's new image is renamed into place, as writeImageAtomic does.
    writeFileSync(path.join(dir, '.a.tmp'), 'new image');
    renameSync(path.join(dir, '.a.tmp'), ledger.outputPath(0));
    await ledger.markRunning(1);
    // The process died here (kill -9): no markDone for a, and b's old file is untouched.
    const reopened = await open(dir, ['/in/a.png', '/in/b.png', '/in/c.png']);
    expect(reopened.recovered).toBe(1);
    expect(reopened.items.map((i) => i.status)).toEqual(['done', 'pending', 'pending']);
  });

  it('after a crash mid-item with no output written: redone', async () => {
    const dir = folder();
    const ledger = await open(dir, ['/in/a.png']);
    await ledger.markRunning(0);
    const reopened = await open(dir, ['/in/a.png']);
    expect([reopened.recovered, reopened.todo()]).toEqual([0, [0]]);
  });

  it('opening deletes the temporary files of writers that died mid-write, never a live process\'s', async () => {
    const dir = folder();
    // A pid no process has: a child that has exited and been reaped (spawnSync waits for it).
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    const stale = [`.a.png.${dead}.0badf00d.tmp`, `.${MANIFEST_NAME}.${dead}.12345678.tmp`];
    const kept = [`.b.png.${process.pid}.cafebabe.tmp`, 'notes.tmp', '.c.png.tmp'];
    for (const name of [...stale, ...kept]) writeFileSync(path.join(dir, name), 'partial');
    await open(dir, ['/in/a.png']);
    expect(readdirSync(dir).sort()).toEqual([...kept, MANIFEST_NAME].sort());
  });

  it('says when the folder holds a file that is not a manifest', async () => {
    const dir = folder({ [MANIFEST_NAME]: '{"version":1,"items":"x"}' });
    await expect(open(dir, ['/in/a.png'])).rejects.toMatchObject({ code: 'BAD_ARGUMENT', message: expect.stringContaining('is not a batch manifest (version 1: settingsHash is missing)') });
    const listed = folder({ [MANIFEST_NAME]: JSON.stringify({ version: 1, settingsHash: 'h', settings: {}, items: 'x', createdAt: 'd', updatedAt: 'd' }) });
    await expect(open(listed, ['/in/a.png'])).rejects.toMatchObject({ message: expect.stringContaining('items should be a list, got "x"') });
    const future = folder({ [MANIFEST_NAME]: JSON.stringify({ version: 2, settingsHash: 'h', settings: {}, items: [], createdAt: 'd', updatedAt: 'd' }) });
    await expect(open(future, ['/in/a.png'])).rejects.toMatchObject({ message: expect.stringContaining('version should be 1, got 2') });
    const badStatus = folder({ [MANIFEST_NAME]: JSON.stringify({ version: 1, settingsHash: 'h', settings: {}, items: [{ input: 'a', output: 'a.png', status: 'lost' }], createdAt: 'd', updatedAt: 'd' }) });
    await expect(open(badStatus, ['/in/a.png'])).rejects.toMatchObject({ message: expect.stringContaining('items.0.status should be pending, running, done or failed, got "lost"') });
    const broken = folder({ [MANIFEST_NAME]: '{' });
    await expect(open(broken, ['/in/a.png'])).rejects.toMatchObject({ message: expect.stringContaining('is not valid JSON') });
    const escaping = folder({ [MANIFEST_NAME]: JSON.stringify({ version: 1, settingsHash: 'h', settings: {}, items: [{ input: 'a', output: '../a.png', status: 'pending' }] }) });
    await expect(open(escaping, ['/in/a.png'])).rejects.toMatchObject({ message: expect.stringContaining('items.0.output should be a file name in this folder, got "../a.png"') });
  });
});
