// Watches a folder tree for new names (files and folders) as they appear: the crash harness's "inside a write" kill
// points.
// Node 20's recursive fs.watch on Linux drops events in new folders, so each folder gets its own plain watcher.

import { readdirSync, statSync, watch, type FSWatcher } from 'node:fs';
import path from 'node:path';

/**
 * Calls `onNew` once for each name that appears anywhere under `root` after `start()`: files (a temporary, a frame,
 * a manifest) and folders (a run's, one renamed away to be deleted, a lock's guard), which are then watched too.
 */
export class TreeWatch {
  private readonly watchers = new Map<string, FSWatcher>();
  private readonly seen = new Set<string>();
  private closed = false;

  constructor(
    private readonly root: string,
    private readonly onNew: (file: string) => void,
  ) {}

  /** What is there already is not new: only names that appear from now on are reported. */
  start(): void {
    this.add(this.root, true);
  }

  close(): void {
    this.closed = true;
    for (const watcher of this.watchers.values()) watcher.close();
    this.watchers.clear();
  }

  private add(dir: string, existing = false): void {
    if (this.closed || this.watchers.has(dir)) return;
    let watcher: FSWatcher;
    try {
      watcher = watch(dir, (_event, name) => {
        if (name) this.saw(path.join(dir, name.toString()));
      });
    } catch {
      return; // gone already (a temp folder renamed away)
    }
    watcher.on('error', () => this.watchers.delete(dir));
    this.watchers.set(dir, watcher);
    // What appeared before the watcher did (a folder made and filled at once).
    let names: string[] = [];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names) this.saw(path.join(dir, name), existing);
  }

  private saw(file: string, existing = false): void {
    if (this.closed || this.seen.has(file)) return;
    this.seen.add(file);
    let isDir = false;
    try {
      isDir = statSync(file).isDirectory();
    } catch {
      // Gone again (a temporary renamed into place): it was still a file that appeared.
    }
    if (!existing) this.onNew(file);
    if (isDir) this.add(file, existing);
  }
}
