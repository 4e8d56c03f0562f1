// nst's folders in the temp folder carry their process's pid: a later process removes those of dead processes only,
// and only folders of exactly that name; and temp files beside an output are swept for the names asked for only.

import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeTempFolder, removeStaleTempFolders } from '../../src/engine/sys/temp-folders.js';
import { removeStaleTemporaries, temporaryPath, temporaryTarget } from '../../src/engine/sys/atomic-file.js';
import { useTempDirs } from '../helpers/temp-dirs.js';

const tempDir = useTempDirs();

async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.on('exit', resolve));
  return child.pid!;
}

describe('temp folders named for their process', () => {
  it('are made as nst-<kind>-<pid>-XXXXXX; a kind that is not a plain word is refused', async () => {
    const root = tempDir('nst-temp-folders-');
    const made = await makeTempFolder('frames', root);
    expect(path.basename(made)).toMatch(new RegExp(`^nst-frames-${process.pid}-[A-Za-z0-9]{6}$`));
    expect(() => makeTempFolder('../x', root)).toThrow(RangeError);
  });

  it('only those of dead processes go; live ones, other kinds, other names, files and links stay', async () => {
    const root = tempDir('nst-temp-folders-');
    const dead = await deadPid();
    const stale = `nst-frames-${dead}-AbC123`;
    const kept = [`nst-frames-${process.pid}-AbC123`, `nst-palette-${dead}-AbC123`, 'nst-frames-AbC123', `nst-frames-${dead}-AbC1234`];
    for (const name of [stale, ...kept]) {
      mkdirSync(path.join(root, name));
      writeFileSync(path.join(root, name, 'frame_000000.png'), 'x');
    }
    // A file and a link under a stale folder's name: not folders nst made.
    writeFileSync(path.join(root, `nst-frames-${dead}-File01`), 'x');
    symlinkSync(path.join(root, kept[0]!), path.join(root, `nst-frames-${dead}-Link01`));
    expect(await removeStaleTempFolders('frames', root)).toEqual([stale]);
    expect(readdirSync(root).sort()).toEqual([...kept, `nst-frames-${dead}-File01`, `nst-frames-${dead}-Link01`].sort());
    expect(readdirSync(path.join(root, kept[0]!))).toEqual(['frame_000000.png']);
  });
});

describe('stale temp files beside an output', () => {
  it('name the file they were to replace', () => {
    expect(temporaryTarget(path.basename(temporaryPath('/x/out.png')))).toBe('out.png');
    expect(temporaryTarget('.a.b.png.123.0123abcd.tmp')).toBe('a.b.png');
    expect(temporaryTarget('out.png')).toBeNull();
  });

  it('are swept for the names asked for only, and only those of dead writers', async () => {
    const dir = tempDir('nst-temp-files-');
    const dead = await deadPid();
    const names = [`.out.png.${dead}.0badc0de.tmp`, `.other.png.${dead}.0badc0de.tmp`, `.out.png.${process.pid}.0badc0de.tmp`];
    for (const name of names) writeFileSync(path.join(dir, name), 'partial');
    expect(await removeStaleTemporaries(dir, (target) => target === 'out.png')).toEqual([names[0]]);
    expect(readdirSync(dir).sort()).toEqual([names[1], names[2]].sort());
  });
});
