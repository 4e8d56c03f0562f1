// Small file systems a test can fill up or make read-only: tmpfs mounts (Linux, as root), or why they cannot be made
// here, so those tests skip saying so. Root ignores permission bits, so a read-only mount is the real test of one.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmdirSync, statfsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface SmallDisk {
  /** The mount point (an empty folder on the new file system). */
  readonly dir: string;
  /** Remounts it read-only: every write there fails with EROFS. */
  readOnly(): void;
  /** Writes a filler file until at most `leftBytes` are free there. */
  fill(leftBytes: number): void;
  /** Bytes free there now. */
  free(): number;
  /** Unmounts it and removes the mount point. */
  unmount(): void;
}

function run(command: string, args: readonly string[]): void {
  execFileSync(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A fresh tmpfs of `sizeKib` KiB mounted on a new temporary folder (throws where mounting is not allowed). */
export function mountSmallDisk(sizeKib = 2048): SmallDisk {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nst-small-disk-'));
  try {
    run('mount', ['-t', 'tmpfs', '-o', `size=${sizeKib}k,mode=0755`, 'tmpfs', dir]);
  } catch (error) {
    rmdirSync(dir);
    throw error;
  }
  const free = (): number => {
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  };
  return {
    dir,
    readOnly: () => run('mount', ['-o', 'remount,ro', dir]),
    fill: (leftBytes) => {
      const bytes = free() - leftBytes;
      if (bytes > 0) writeFileSync(path.join(dir, 'filler.bin'), new Uint8Array(bytes));
    },
    free,
    unmount: () => {
      run('umount', [dir]);
      rmdirSync(dir);
    },
  };
}

/** Why no small disk can be mounted here (not Linux, not root, no mount permission in this container), or null. */
export const whyNoSmallDisk: string | null = (() => {
  if (process.platform !== 'linux') return `tmpfs mounts are a Linux test (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'mounting a tmpfs needs root';
  try {
    mountSmallDisk(64).unmount();
    return null;
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim().split('\n')[0];
    return `mount -t tmpfs failed here (${stderr || (error as Error).message})`;
  }
})();
