// The run's inputs: one content image and one or more style images with a blend weight each, read with the File API.

import type { ImageInput } from '../../shared/api.js';
import { isRefusal, readImageFile, scaleDownImage, type ReadImage, type Refusal } from '../Drop/read-image.js';

export interface LoadedImage {
  name: string;
  bytes: Uint8Array;
  /** An object URL for thumbnails and the before/after compare; revoked when the image is removed. */
  url: string;
  width: number;
  height: number;
}

export interface StyleInput {
  id: number;
  image: LoadedImage;
  blend: number;
}

/** A file the last drop (or paste, or open) refused, kept with what is needed to scale it down and use it. */
export interface RefusedFile extends Refusal {
  id: number;
  /** Where it was going. */
  slot: 'content' | 'style';
  blob: Blob;
}

export interface NamedFile {
  blob: Blob;
  name: string;
}

const loaded = (read: ReadImage, blob: Blob): LoadedImage => ({ ...read, url: URL.createObjectURL(blob) });

export class ImagesState {
  content = $state.raw<LoadedImage | null>(null);
  styles = $state<StyleInput[]>([]);
  /** The files the last drop refused, each with its reason. */
  refused = $state.raw<RefusedFile[]>([]);
  private nextId = 1;

  ready = $derived(this.content !== null && this.styles.length > 0);

  /**
   * Takes the first of `files` that reads as the content image (replacing the one before); every other file is
   * refused by name, in `refused`, which this call replaces: it always says what became of the files given last.
   */
  async setContent(files: readonly NamedFile[]): Promise<void> {
    const refused: RefusedFile[] = [];
    let taken: LoadedImage | null = null;
    for (const file of files) {
      if (taken) {
        refused.push(this.refusal(file, 'content', { name: file.name, code: 'image-not-used', message: `“${file.name}” was not used: the content takes one photo (${taken.name}). Drop paintings under Style.` }));
        continue;
      }
      const read = await readImageFile(file.blob, file.name);
      if (isRefusal(read)) refused.push(this.refusal(file, 'content', read));
      else taken = loaded(read, file.blob);
    }
    if (taken) {
      if (this.content) URL.revokeObjectURL(this.content.url);
      this.content = taken;
    }
    this.refused = refused;
  }

  /** Adds every file that reads as an image to the styles; the others are refused by name (as setContent). */
  async addStyles(files: readonly NamedFile[]): Promise<void> {
    const refused: RefusedFile[] = [];
    for (const file of files) {
      const read = await readImageFile(file.blob, file.name);
      if (isRefusal(read)) refused.push(this.refusal(file, 'style', read));
      else this.styles.push({ id: this.nextId++, image: loaded(read, file.blob), blend: 1 });
    }
    this.refused = refused;
  }

  /** A too-large refused file at its scaled-down size, into the slot it was dropped on; false if that failed (it says why). */
  async scaleDown(id: number): Promise<boolean> {
    const file = this.refused.find((r) => r.id === id);
    if (!file?.scaleToPx) return false;
    const scaled = await scaleDownImage(file.blob, file.name, file.scaleToPx);
    const others = this.refused.filter((r) => r.id !== id);
    if (isRefusal(scaled)) {
      this.refused = others.concat(this.refusal(file, file.slot, scaled));
      return false;
    }
    if (file.slot === 'content') await this.setContent([scaled]);
    else await this.addStyles([scaled]);
    // this.refused now says only what became of the scaled file.
    const stillRefused = this.refused;
    this.refused = [...others, ...stillRefused];
    return stillRefused.length === 0;
  }

  dismissRefused(): void {
    this.refused = [];
  }

  removeContent(): void {
    if (this.content) URL.revokeObjectURL(this.content.url);
    this.content = null;
  }

  removeStyle(id: number): void {
    const style = this.styles.find((s) => s.id === id);
    if (style) URL.revokeObjectURL(style.image.url);
    this.styles = this.styles.filter((s) => s.id !== id);
  }

  private refusal(file: NamedFile, slot: 'content' | 'style', why: Refusal): RefusedFile {
    return { ...why, id: this.nextId++, slot, blob: file.blob };
  }

  /** The images as the API takes them: names and bytes only (plain objects, never reactive proxies). */
  toRequest(): { content: ImageInput; styles: { image: ImageInput; blend: number }[] } | null {
    if (!this.content || this.styles.length === 0) return null;
    return { content: { name: this.content.name, bytes: this.content.bytes }, styles: this.toStyles() };
  }

  /** The style images as the API takes them (a batch uses them with its own content photos). */
  toStyles(): { image: ImageInput; blend: number }[] {
    return this.styles.map((s) => ({ image: { name: s.image.name, bytes: s.image.bytes }, blend: s.blend }));
  }
}
