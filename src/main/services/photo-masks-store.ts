// Keeps the masks painted over each photo between sessions, beside the settings: <dataDir>/photo-masks/, per photo
// (keyed by the SHA-256 of its bytes) a small manifest and one grayscale PNG per layer, so the settings file stays
// small and one damaged mask costs only its photo's masks.

import { mkdir, readdir, readFile, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../../engine/index.js';
import type { PhotoMasks, PhotoMasksRef, Result, SavePhotoMasksRequest } from '../../shared/api.js';
import { ok } from '../../shared/result.js';
import { errorInfo } from './error-info.js';

export const PHOTO_MASKS_FOLDER = 'photo-masks';
/** The photos whose masks are kept (the most recently painted); older ones are forgotten at a save. */
const KEEP_PHOTOS = 100;
const MANIFEST_VERSION = 1;

/** `<photo>.json`: which files hold the layers (names from one save, its generation) and whether masks were on. */
interface Manifest {
  version: number;
  enabled: boolean;
  styles: string[];
  content: string | null;
}

export class PhotoMasksStore {
  /** Saves one after another: a manifest never names the files of a save still being written. */
  private writes: Promise<unknown> = Promise.resolve();
  private generation = Date.now();
  readonly folder: string;

  constructor(dataDir: string) {
    this.folder = path.join(dataDir, PHOTO_MASKS_FOLDER);
  }

  /**
   * The photo's masks, or null when none are kept or they cannot be read (a damaged or missing file: a photo without
   * masks, never an error). A PNG that does not decode is the window's to find (it then restores nothing).
   */
  async getPhotoMasks({ photo }: PhotoMasksRef): Promise<Result<PhotoMasks | null>> {
    await this.writes;
    try {
      const manifest = parseManifest(await readFile(this.manifestPath(photo), 'utf8'), photo);
      if (!manifest) return ok(null);
      const read = (name: string): Promise<Uint8Array> => readFile(path.join(this.folder, name)).then((b) => new Uint8Array(b.buffer, b.byteOffset, b.length));
      const styles = await Promise.all(manifest.styles.map(read));
      const content = manifest.content ? await read(manifest.content) : null;
      return ok({ enabled: manifest.enabled, styles, content });
    } catch {
      return ok(null);
    }
  }

  /**
   * Replaces the photo's masks (null: forgets them). The layers are written under new names first, then the manifest
   * atomically, then the old layers removed: a crash leaves the old masks or the new, whole.
   */
  savePhotoMasks(request: SavePhotoMasksRequest): Promise<Result<null>> {
    const write = this.writes.then(() => this.write(request));
    this.writes = write.catch(() => undefined);
    return write.then(
      () => ok(null),
      (error: unknown): Result<null> => {
        const { message } = errorInfo(error, { code: 'SETTINGS_NOT_SAVED', message: (detail) => `${this.folder}: ${detail}` }, { path: this.folder });
        return { ok: false, error: { code: 'SETTINGS_NOT_SAVED', message: `The masks could not be saved: ${message}` } };
      },
    );
  }

  /** Resolves when every save so far has reached the disk (or failed). */
  async flush(): Promise<void> {
    await this.writes;
  }

  private async write({ photo, masks }: SavePhotoMasksRequest): Promise<void> {
    await mkdir(this.folder, { recursive: true });
    let keep: string[] = [];
    if (masks) {
      const stem = `${photo}.${(this.generation = Math.max(this.generation + 1, Date.now()))}`;
      const manifest: Manifest = { version: MANIFEST_VERSION, enabled: masks.enabled, styles: masks.styles.map((_, k) => `${stem}.style-${k + 1}.png`), content: masks.content ? `${stem}.content.png` : null };
      const files: [string, Uint8Array][] = [...masks.styles.map((png, k): [string, Uint8Array] => [manifest.styles[k]!, png]), ...(masks.content ? [[manifest.content!, masks.content] as [string, Uint8Array]] : [])];
      for (const [name, png] of files) await writeFileAtomic(path.join(this.folder, name), png);
      await writeFileAtomic(this.manifestPath(photo), `${JSON.stringify(manifest)}\n`);
      keep = files.map(([name]) => name);
    } else {
      await unlink(this.manifestPath(photo)).catch(ignoreMissing);
    }
    const names = await readdir(this.folder);
    // The photo's layers of earlier saves.
    for (const name of names) if (name.startsWith(`${photo}.`) && name.endsWith('.png') && !keep.includes(name)) await unlink(path.join(this.folder, name)).catch(ignoreMissing);
    await this.prune(names);
  }

  /** Forgets the photos painted longest ago beyond KEEP_PHOTOS (their manifests' times). */
  private async prune(names: readonly string[]): Promise<void> {
    const manifests = names.filter((n) => /^[0-9a-f]{64}\.json$/.test(n));
    if (manifests.length <= KEEP_PHOTOS) return;
    const dated = await Promise.all(manifests.map(async (name) => ({ name, ms: (await stat(path.join(this.folder, name)).catch(() => null))?.mtimeMs ?? 0 })));
    dated.sort((a, b) => b.ms - a.ms);
    for (const { name } of dated.slice(KEEP_PHOTOS)) {
      const photo = name.slice(0, 64);
      for (const file of names) if (file.startsWith(`${photo}.`)) await unlink(path.join(this.folder, file)).catch(ignoreMissing);
    }
  }

  private manifestPath(photo: string): string {
    return path.join(this.folder, `${photo}.json`);
  }
}

/** The manifest, or null when it is not one this store wrote for this photo (damaged, foreign, another version). */
function parseManifest(text: string, photo: string): Manifest | null {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return null;
  }
  const m = raw as Partial<Manifest> | null;
  const ours = (name: unknown): name is string => typeof name === 'string' && name.startsWith(`${photo}.`) && /^[0-9a-f]{64}\.\d+\.(style-\d+|content)\.png$/.test(name);
  if (!m || typeof m !== 'object' || m.version !== MANIFEST_VERSION || typeof m.enabled !== 'boolean') return null;
  if (!Array.isArray(m.styles) || !m.styles.every(ours) || !(m.content === null || ours(m.content))) return null;
  return { version: m.version, enabled: m.enabled, styles: m.styles, content: m.content };
}

function ignoreMissing(error: unknown): void {
  if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
}
