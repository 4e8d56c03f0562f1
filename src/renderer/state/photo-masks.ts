// Keeps the masks painted over each photo between sessions, with the host (beside the settings, photo-masks-store.ts):
// saved as grayscale PNGs a moment after each edit, put back when the same photo (the same bytes) is loaded again.

import type { ErrorInfo, PhotoMasks, StudioApi } from '../../shared/api.js';
import { isEmpty } from '../Masks/mask-document.js';
import { importLayer } from '../Masks/mask-io.js';
import { encodeGrayPng } from '../Masks/mask-png.js';
import type { MaskState } from './masks.svelte.js';

/** Edits are saved once they pause this long (a stroke is one edit; a run of strokes is one save). */
export const PHOTO_MASKS_SAVE_DELAY_MS = 600;

/**
 * A photo's key: the SHA-256 of its bytes, hex. The bytes, not a path, size and time: a dropped or pasted photo has no
 * path in a browser, the example has none at all, and a copy or a rename is the same picture the masks were painted
 * over, while an edited photo (other pixels) is not. Null where the page has no WebCrypto (not a secure context).
 */
export async function photoKey(bytes: Uint8Array): Promise<string | null> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) return null;
  const digest = await subtle.digest('SHA-256', bytes.slice());
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** The editor's layers copied at an edit, for the save that follows it. */
interface Captured {
  photo: string;
  width: number;
  height: number;
  enabled: boolean;
  styles: Uint8Array[];
  content: Uint8Array;
}

export class PhotoMasksKeeper {
  private photoUrl: string | null = null;
  /** The current photo's key, once hashed. */
  private key: string | null = null;
  /** Bumps with each photo: answers for an earlier one are dropped. */
  private token = 0;
  /** The edit count and on/off last seen: a change is something to save. */
  private seen = { edit: 0, enabled: false };
  /** Saved masks found for this photo, waiting for its style layers (styles may be added after the photo). */
  private waiting: { masks: PhotoMasks; edit: number } | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private pendingSave: (() => void) | null = null;

  constructor(
    private readonly api: Pick<StudioApi, 'getPhotoMasks' | 'savePhotoMasks'>,
    private readonly masks: MaskState,
    private readonly report: (error: ErrorInfo) => void,
  ) {}

  /** App calls it whenever the photo, the styles, an edit or masks on/off change. */
  update(): void {
    const m = this.masks;
    if (m.photoUrl !== this.photoUrl) {
      void this.photoChanged();
      return;
    }
    if (this.waiting) void this.restore();
    const edit = m.lastEdit?.n ?? 0;
    if (edit === this.seen.edit && m.enabled === this.seen.enabled) return;
    this.seen = { edit, enabled: m.enabled };
    if (this.key && m.hasPhoto) this.schedule(this.key);
  }

  /** Sends a save still waiting for its pause (a new photo, the page going away). */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const save = this.pendingSave;
    this.pendingSave = null;
    save?.();
  }

  dispose(): void {
    this.flush();
  }

  private async photoChanged(): Promise<void> {
    // The last photo's edits were copied when made: they go out now, for that photo.
    this.flush();
    const m = this.masks;
    const token = ++this.token;
    this.photoUrl = m.photoUrl;
    this.key = null;
    this.waiting = null;
    const loadedAt = m.lastEdit?.n ?? 0;
    // A resumed run's photo comes with its masks: they are this photo's now, not the ones kept from before.
    const cameWithMasks = m.photoCameWithMasks;
    this.seen = { edit: loadedAt, enabled: m.enabled };
    m.kept = 'none';
    const bytes = m.photoBytes;
    if (!bytes) return;
    const key = await photoKey(bytes).catch(() => null);
    if (token !== this.token || !key) return;
    this.key = key;
    // Painted while the photo was being hashed: those strokes are this photo's masks now.
    if (cameWithMasks || (m.lastEdit?.n ?? 0) !== loadedAt) {
      this.schedule(key);
      return;
    }
    const found = await this.api.getPhotoMasks({ photo: key });
    if (token !== this.token || !found.ok || !found.value) return;
    this.waiting = { masks: found.value, edit: loadedAt };
    await this.restore();
  }

  /** Puts the saved masks back once the photo has as many style layers as they hold; never over the user's own strokes. */
  private async restore(): Promise<void> {
    const m = this.masks;
    const waiting = this.waiting;
    if (!waiting) return;
    if ((m.lastEdit?.n ?? 0) !== waiting.edit) {
      // Painted before they could come back: the new strokes win.
      this.waiting = null;
      return;
    }
    if (m.styleIds.length < waiting.masks.styles.length) return;
    this.waiting = null;
    const token = this.token;
    const { width, height } = m;
    const decode = (png: Uint8Array): Promise<Uint8Array | ErrorInfo> => importLayer(new Blob([png.slice()], { type: 'image/png' }), 'saved mask', width, height);
    const styles = await Promise.all(waiting.masks.styles.map(decode));
    const content = waiting.masks.content ? await decode(waiting.masks.content) : null;
    const layers = [...styles, ...(content ? [content] : [])];
    // A damaged file: no masks come back, and nothing else happens.
    if (layers.some((l) => !(l instanceof Uint8Array))) return;
    if (token !== this.token || (m.lastEdit?.n ?? 0) !== waiting.edit || m.width !== width || m.height !== height) return;
    m.restore({ width, height, styles: styles as Uint8Array[], content: content as Uint8Array | null }, 'Masks painted over this photo restored.');
    m.enabled = waiting.masks.enabled;
    m.kept = 'restored';
    // What came back is what is kept: nothing to save.
    this.seen = { edit: m.lastEdit?.n ?? 0, enabled: m.enabled };
  }

  /** Copies the layers as they are now and saves them once the edits pause. */
  private schedule(photo: string): void {
    const m = this.masks;
    const layer = (key: number | 'content'): Uint8Array => m.layer(key)?.slice() ?? new Uint8Array(m.width * m.height);
    const captured: Captured = { photo, width: m.width, height: m.height, enabled: m.enabled, styles: m.styleIds.map(layer), content: layer('content') };
    m.kept = 'pending';
    if (this.timer) clearTimeout(this.timer);
    this.pendingSave = () => void this.save(captured);
    this.timer = setTimeout(() => this.flush(), PHOTO_MASKS_SAVE_DELAY_MS);
  }

  private async save(c: Captured): Promise<void> {
    const token = this.token;
    const blank = c.styles.every(isEmpty) && isEmpty(c.content);
    const masks: PhotoMasks | null = blank
      ? null
      : {
          enabled: c.enabled,
          styles: await Promise.all(c.styles.map((layer) => encodeGrayPng(layer, c.width, c.height))),
          content: isEmpty(c.content) ? null : await encodeGrayPng(c.content, c.width, c.height),
        };
    const saved = await this.api.savePhotoMasks({ photo: c.photo, masks });
    if (!saved.ok) this.report(saved.error);
    else if (token === this.token && !this.pendingSave) this.masks.kept = 'saved';
  }
}
