// The mask layers of one photo as plain bytes (one per style, by style id, and the content layer), and frames: copies
// of some layers over a rectangle, which is what an undo step keeps from before and after an edit.

/** A style's layer is keyed by the style's id; the "keep the photo here" layer by 'content'. */
export type LayerKey = number | 'content';

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Copies of `layers` over `rect` of a document `width` × `height`. */
export interface Frame {
  width: number;
  height: number;
  rect: Rect;
  layers: Map<LayerKey, Uint8Array>;
}

export const rectArea = (r: Rect): number => r.width * r.height;

/** The smallest rectangle holding both (either may be null: nothing yet). */
export function unionRect(a: Rect | null, b: Rect | null): Rect | null {
  if (!a) return b;
  if (!b) return a;
  const x = Math.min(a.x, b.x);
  const y = Math.min(a.y, b.y);
  return { x, y, width: Math.max(a.x + a.width, b.x + b.width) - x, height: Math.max(a.y + a.height, b.y + b.height) - y };
}

/** `r` cut to a width × height image; null when nothing is left. */
export function clipRect(r: Rect, width: number, height: number): Rect | null {
  const x0 = Math.max(0, Math.floor(r.x));
  const y0 = Math.max(0, Math.floor(r.y));
  const x1 = Math.min(width, Math.ceil(r.x + r.width));
  const y1 = Math.min(height, Math.ceil(r.y + r.height));
  return x1 > x0 && y1 > y0 ? { x: x0, y: y0, width: x1 - x0, height: y1 - y0 } : null;
}

/** The bytes of `rect` from a row-major layer `width` wide. */
export function crop(layer: Uint8Array, width: number, rect: Rect): Uint8Array {
  const out = new Uint8Array(rectArea(rect));
  for (let row = 0; row < rect.height; row++) {
    const from = (rect.y + row) * width + rect.x;
    out.set(layer.subarray(from, from + rect.width), row * rect.width);
  }
  return out;
}

/** Writes `patch` (rect-sized) into a layer `width` wide at `rect`. */
export function paste(layer: Uint8Array, width: number, rect: Rect, patch: Uint8Array): void {
  for (let row = 0; row < rect.height; row++) layer.set(patch.subarray(row * rect.width, (row + 1) * rect.width), (rect.y + row) * width + rect.x);
}

/** A layer resized bilinearly (pixel centres aligned, as the engine resizes a mask of another size). */
export function resample(src: Uint8Array, sw: number, sh: number, dw: number, dh: number): Uint8Array {
  if (sw === dw && sh === dh) return src.slice();
  // Each column's two source columns and weight, worked out once (2048 px: 4 million pixels a layer).
  const x0s = new Int32Array(dw);
  const x1s = new Int32Array(dw);
  const wxs = new Float32Array(dw);
  for (let x = 0; x < dw; x++) {
    const fx = Math.min(sw - 1, Math.max(0, ((x + 0.5) * sw) / dw - 0.5));
    x0s[x] = Math.floor(fx);
    x1s[x] = Math.min(sw - 1, x0s[x]! + 1);
    wxs[x] = fx - x0s[x]!;
  }
  const out = new Uint8Array(dw * dh);
  for (let y = 0; y < dh; y++) {
    const fy = Math.min(sh - 1, Math.max(0, ((y + 0.5) * sh) / dh - 0.5));
    const top = Math.floor(fy) * sw;
    const bottom = Math.min(sh - 1, Math.floor(fy) + 1) * sw;
    const wy = fy - Math.floor(fy);
    const row = y * dw;
    for (let x = 0; x < dw; x++) {
      const a = x0s[x]!;
      const b = x1s[x]!;
      const wx = wxs[x]!;
      const t = src[top + a]! + (src[top + b]! - src[top + a]!) * wx;
      const u = src[bottom + a]! + (src[bottom + b]! - src[bottom + a]!) * wx;
      out[row + x] = Math.round(t + (u - t) * wy);
    }
  }
  return out;
}

export class MaskDocument {
  width = 0;
  height = 0;
  /** Style ids in style order: the order of MaskSet.styles. */
  styleIds: number[] = [];
  readonly layers = new Map<LayerKey, Uint8Array>();

  get full(): Rect {
    return { x: 0, y: 0, width: this.width, height: this.height };
  }

  layer(key: LayerKey): Uint8Array | undefined {
    return this.layers.get(key);
  }

  /** Every layer emptied at a new size. */
  reset(width: number, height: number): void {
    this.width = width;
    this.height = height;
    for (const key of [...this.layers.keys()]) this.layers.set(key, new Uint8Array(width * height));
    if (!this.layers.has('content')) this.layers.set('content', new Uint8Array(width * height));
  }

  /** Follows the style list: a new style gets an empty layer, a removed one's layer goes. True if anything changed. */
  setStyles(ids: readonly number[]): boolean {
    const same = ids.length === this.styleIds.length && ids.every((id, i) => id === this.styleIds[i]);
    if (same) return false;
    for (const key of [...this.layers.keys()]) if (key !== 'content' && !ids.includes(key)) this.layers.delete(key);
    for (const id of ids) if (!this.layers.has(id)) this.layers.set(id, new Uint8Array(this.width * this.height));
    this.styleIds = [...ids];
    return true;
  }

  /** A frame of `keys` (those that exist) over `rect`. */
  capture(keys: readonly LayerKey[], rect: Rect = this.full): Frame {
    const layers = new Map<LayerKey, Uint8Array>();
    for (const key of keys) {
      const layer = this.layers.get(key);
      if (layer) layers.set(key, crop(layer, this.width, rect));
    }
    return { width: this.width, height: this.height, rect, layers };
  }

  /**
   * Puts a frame's layers back (a style removed since is skipped). A whole-image frame of another size (from before
   * the photo changed) is resized to this one; any other frame must be of this size.
   */
  apply(frame: Frame): void {
    const sameSize = frame.width === this.width && frame.height === this.height;
    for (const [key, bytes] of frame.layers) {
      const layer = this.layers.get(key);
      if (!layer) continue;
      if (sameSize) paste(layer, this.width, frame.rect, bytes);
      else if (rectArea(frame.rect) === frame.width * frame.height) layer.set(resample(bytes, frame.width, frame.height, this.width, this.height));
      else throw new RangeError(`a ${frame.width}×${frame.height} frame's part cannot be put on a ${this.width}×${this.height} mask`);
    }
  }

  /** Bytes a frame holds (for the undo stack's cap). */
  static frameBytes(frame: Frame): number {
    let total = 0;
    for (const bytes of frame.layers.values()) total += bytes.byteLength;
    return total;
  }
}

/** Whether every byte is 0 (an unpainted layer). */
export function isEmpty(layer: Uint8Array): boolean {
  // Four bytes at a time: this runs on every read of a 2048 px layer.
  const aligned = layer.byteOffset % 4 === 0;
  const words = aligned ? new Uint32Array(layer.buffer, layer.byteOffset, layer.byteLength >> 2) : null;
  if (words) for (let i = 0; i < words.length; i++) if (words[i] !== 0) return false;
  for (let i = words ? words.length * 4 : 0; i < layer.length; i++) if (layer[i] !== 0) return false;
  return true;
}
