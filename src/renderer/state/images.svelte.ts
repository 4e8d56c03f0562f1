// The run's inputs: one content image and one or more style images with a blend weight each, read with the File API.

import type { ErrorInfo, ImageInput } from '../../shared/api.js';

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

/** Reads a file or pasted blob into bytes, and decodes it once so a non-image is refused here, in plain words. */
export async function readImage(blob: Blob, name: string): Promise<LoadedImage | ErrorInfo> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(blob);
  } catch {
    return { code: 'image-unreadable', message: `“${name}” is not an image this studio can read. Use a PNG, JPEG or WebP file.` };
  }
  const { width, height } = bitmap;
  bitmap.close();
  const bytes = new Uint8Array(await blob.arrayBuffer());
  return { name, bytes, url: URL.createObjectURL(blob), width, height };
}

const isError = (value: LoadedImage | ErrorInfo): value is ErrorInfo => 'code' in value;

export class ImagesState {
  content = $state.raw<LoadedImage | null>(null);
  styles = $state<StyleInput[]>([]);
  private nextId = 1;

  ready = $derived(this.content !== null && this.styles.length > 0);

  /** Replaces the content image; returns an error to show when the file is not an image. */
  async setContent(blob: Blob, name: string): Promise<ErrorInfo | null> {
    const image = await readImage(blob, name);
    if (isError(image)) return image;
    if (this.content) URL.revokeObjectURL(this.content.url);
    this.content = image;
    return null;
  }

  async addStyles(files: readonly { blob: Blob; name: string }[]): Promise<ErrorInfo | null> {
    let firstError: ErrorInfo | null = null;
    for (const { blob, name } of files) {
      const image = await readImage(blob, name);
      if (isError(image)) firstError ??= image;
      else this.styles.push({ id: this.nextId++, image, blend: 1 });
    }
    return firstError;
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
