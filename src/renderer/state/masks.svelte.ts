// The mask editor's state: one layer per style and a "keep the photo here" layer at the photo's size, the tools'
// options, and the undo history. The window's one MaskState (`masks`): the run request and the editor both read it.

import type { MaskSet } from '../../shared/api-types.js';
import { MaskDocument, clipRect, crop, isEmpty, rectArea, resample, unionRect, type Frame, type LayerKey, type Rect } from '../Masks/mask-document.js';
import { Stroke, type BrushOptions } from '../Masks/brush.js';
import { floodFill, invert } from '../Masks/mask-ops.js';
import { UndoStack } from '../Masks/undo-stack.js';

export type { MaskSet } from '../../shared/api-types.js';
export type { LayerKey, Rect } from '../Masks/mask-document.js';

export type MaskTool = 'brush' | 'eraser' | 'fill';

/** What the editor follows: the content photo (a new url is a new photo) and the styles, in order. */
export interface MaskSubject {
  photo: { url: string; bytes: Uint8Array; width: number; height: number } | null;
  /** Each style's id, its file name (the legend's words) and its thumbnail's url. */
  styles: readonly { id: number; name: string; url?: string }[];
}

interface Step {
  sentence: string;
  before: Frame;
  after: Frame;
}

/** Undo keeps at most this much (a whole-image step of a 2048 px photo with three styles is 32 MB). */
const UNDO_CAP_BYTES = 256 * 1024 * 1024;

export class MaskState {
  /** Masks on or off for the run: off, the run has none (current() is null). */
  enabled = $state(false);
  /** Bumps on every committed edit and whenever what current() gives changes (a style added, a new photo). */
  version = $state(0);
  /** The photo's size (0 × 0: none yet). */
  width = $state(0);
  height = $state(0);
  /** The styles, in order, with the names the legend shows. */
  styles = $state.raw<MaskSubject['styles']>([]);
  hasPhoto = $state(false);
  /** The photo's url (auto regions read its pixels). */
  photoUrl = $state<string | null>(null);
  /** The photo's encoded bytes (auto regions decode them in a worker). */
  photoBytes: Uint8Array | null = null;
  /** The overlay is shown over the preview and takes the pointer. */
  editing = $state(false);

  tool = $state<MaskTool>('brush');
  brush = $state<BrushOptions>({ sizePx: 64, hardness: 0.6, opacity: 1 });
  /** The layer the tools paint on. */
  active = $state<LayerKey>('content');
  /** How strongly the overlay covers the photo, 0..1. */
  overlayOpacity = $state(0.55);
  canUndo = $state(false);
  canRedo = $state(false);
  /**
   * Whether this photo's masks are kept with the host between sessions (photo-masks.ts): 'pending' while an edit waits
   * to be saved, 'saved' once it is, 'restored' when saved masks came back with the photo; 'none' before any of that.
   */
  kept = $state<'none' | 'pending' | 'saved' | 'restored'>('none');
  /** The last committed edit in a sentence (`n` tells a repeat apart): the editor says it through the announcer. */
  lastEdit = $state.raw<{ n: number; sentence: string } | null>(null);

  private readonly doc = new MaskDocument();
  private readonly history = new UndoStack<Step>(UNDO_CAP_BYTES);
  private readonly drawers = new Set<(dirty: Rect | null) => void>();
  private stroke: { key: LayerKey; stroke: Stroke; before: Uint8Array; dirty: Rect | null; erase: boolean } | null = null;
  /** Masks waiting for their photo (a resumed run's, whose photo is being loaded): painted when that photo comes. */
  private awaiting: { set: MaskSet; photo: Uint8Array; sentence: string } | null = null;
  /** The current photo came with masks (restoreWithPhoto): they are its masks, not a blank editor. */
  photoCameWithMasks = false;

  /** null when masks are off or there is no photo; copies, so later painting does not change a request under way. */
  current(): MaskSet | null {
    if (!this.enabled || !this.hasPhoto) return null;
    const content = this.doc.layer('content')!;
    return {
      width: this.doc.width,
      height: this.doc.height,
      styles: this.doc.styleIds.map((id) => this.doc.layer(id)!.slice()),
      content: isEmpty(content) ? null : content.slice(),
    };
  }

  /** Puts a saved set back (a history entry, the settings), resized to the photo: one undo step. Ignored without a photo. */
  restore(set: MaskSet, sentence = 'Masks restored.'): void {
    if (!this.hasPhoto) return;
    const layers = new Map<LayerKey, Uint8Array>();
    this.doc.styleIds.forEach((id, i) => {
      const mask = set.styles[i];
      layers.set(id, mask ? resample(mask, set.width, set.height, this.doc.width, this.doc.height) : new Uint8Array(this.doc.width * this.doc.height));
    });
    layers.set('content', set.content ? resample(set.content, set.width, set.height, this.doc.width, this.doc.height) : new Uint8Array(this.doc.width * this.doc.height));
    this.replace(layers, sentence, false);
  }

  /**
   * Masks for a photo about to be loaded: restored (and turned on) when sync() brings that photo, byte for byte;
   * dropped if another photo comes first.
   */
  restoreWithPhoto(set: MaskSet, photo: Uint8Array, sentence: string): void {
    this.awaiting = { set, photo, sentence };
  }

  /** Follows the photo and the style list (App calls it whenever either changes). */
  sync(subject: MaskSubject): void {
    const { photo } = subject;
    let changed = false;
    const newPhoto = photo !== null && photo.url !== this.photoUrl;
    if (photo && newPhoto) {
      const had = this.doc.width > 0 && this.doc.height > 0;
      const before = had ? this.doc.capture([...this.doc.layers.keys()]) : null;
      // A stroke under way paints a layer that is gone now.
      this.stroke = null;
      this.doc.reset(photo.width, photo.height);
      this.history.clear();
      // The masks of the photo before stay one undo away (resized to this one).
      if (before) this.push({ sentence: 'Masks reset for the new photo.', before, after: this.doc.capture([...before.layers.keys()]) });
      this.photoUrl = photo.url;
      this.photoBytes = photo.bytes;
      this.width = photo.width;
      this.height = photo.height;
      changed = true;
    }
    this.hasPhoto = photo !== null;
    const hadStyles = this.doc.styleIds.length > 0;
    if (this.doc.setStyles(subject.styles.map((s) => s.id))) changed = true;
    // The first style's layer is what one paints first; the content layer waits to be chosen.
    if (!hadStyles && this.active === 'content' && this.doc.styleIds[0] !== undefined) this.active = this.doc.styleIds[0];
    this.styles = subject.styles;
    if (this.active !== 'content' && !this.doc.styleIds.includes(this.active)) this.active = this.doc.styleIds[0] ?? 'content';
    if (changed) {
      this.version++;
      this.draw(null);
    }
    if (photo && newPhoto) {
      // A resumed run's masks, waiting for this photo; any other photo drops them.
      const awaiting = this.awaiting;
      this.awaiting = null;
      this.photoCameWithMasks = awaiting !== null && sameBytes(awaiting.photo, photo.bytes);
      if (awaiting && this.photoCameWithMasks) {
        this.restore(awaiting.set, awaiting.sentence);
        this.enabled = true;
      }
    }
  }

  /** The bytes of a layer (the overlay and export read them; never write to them). */
  layer(key: LayerKey): Uint8Array | undefined {
    return this.doc.layer(key);
  }

  /** Style ids in style order (reactive: read from `styles`, which sync sets with the document's layers). */
  get styleIds(): readonly number[] {
    return this.styles.map((s) => s.id);
  }

  /** The legend's name of a layer. */
  layerName(key: LayerKey): string {
    if (key === 'content') return 'Keep the photo';
    const i = this.doc.styleIds.indexOf(key);
    return `Style ${i + 1}${this.styles[i] ? ` (${this.styles[i].name})` : ''}`;
  }

  /** Called with the rectangle to redraw (null: all of it) after every change to the pixels. */
  onDraw(drawer: (dirty: Rect | null) => void): () => void {
    this.drawers.add(drawer);
    return () => this.drawers.delete(drawer);
  }

  // --- Painting ------------------------------------------------------------------------------------------------

  /** Starts a brush or eraser stroke on the active layer at (x, y) in photo pixels. */
  beginStroke(x: number, y: number, pressure = 1): void {
    const layer = this.doc.layer(this.active);
    if (!layer || this.tool === 'fill') return;
    const erase = this.tool === 'eraser';
    const stroke = new Stroke(layer, layer.slice(), this.doc.width, this.doc.height, { ...this.brush }, erase);
    this.stroke = { key: this.active, stroke, before: layer.slice(), dirty: null, erase };
    this.strokeTo(x, y, pressure);
  }

  strokeTo(x: number, y: number, pressure = 1): void {
    if (!this.stroke) return;
    const dirty = this.stroke.stroke.to(x, y, pressure);
    if (!dirty) return;
    this.stroke.dirty = unionRect(this.stroke.dirty, dirty);
    this.draw(dirty);
  }

  /** Ends the stroke: one undo step of the rectangle it touched. */
  endStroke(): void {
    const s = this.stroke;
    this.stroke = null;
    if (!s?.dirty) return;
    const layer = this.doc.layer(s.key);
    if (!layer) return;
    const frame = (bytes: Uint8Array): Frame => ({ width: this.doc.width, height: this.doc.height, rect: s.dirty!, layers: new Map([[s.key, crop(bytes, this.doc.width, s.dirty!)]]) });
    this.commit({ sentence: `${s.erase ? 'Erased from' : 'Painted on'} ${this.layerName(s.key)}.`, before: frame(s.before), after: frame(layer) });
  }

  get painting(): boolean {
    return this.stroke !== null;
  }

  /** The fill tool: the region connected to (x, y) on the active layer, filled at the brush's opacity. */
  fillAt(x: number, y: number): void {
    this.edit(`Filled a region of ${this.layerName(this.active)}.`, (layer) => floodFill(layer, this.doc.width, this.doc.height, x, y, Math.round(255 * this.brush.opacity)));
  }

  /** The whole active layer at the brush's opacity. */
  fill(): void {
    this.edit(`Filled ${this.layerName(this.active)}.`, (layer) => {
      layer.fill(Math.round(255 * this.brush.opacity));
      return this.doc.full;
    });
  }

  invert(): void {
    this.edit(`Inverted ${this.layerName(this.active)}.`, (layer) => {
      invert(layer);
      return this.doc.full;
    });
  }

  clear(): void {
    this.edit(`Cleared ${this.layerName(this.active)}.`, (layer) => {
      layer.fill(0);
      return this.doc.full;
    });
  }

  /** Whole layers at the photo's size (auto regions, an import): one undo step. `enable`: turn the masks on. */
  replace(layers: ReadonlyMap<LayerKey, Uint8Array>, sentence: string, enable = true): void {
    const keys = [...layers.keys()].filter((k) => this.doc.layer(k));
    if (keys.length === 0 || this.stroke) return;
    const before = this.doc.capture(keys);
    for (const key of keys) {
      const bytes = layers.get(key)!;
      if (bytes.length !== this.doc.width * this.doc.height) throw new RangeError(`a ${bytes.length}-byte layer does not fit a ${this.doc.width}×${this.doc.height} photo`);
      this.doc.layer(key)!.set(bytes);
    }
    this.commit({ sentence, before, after: this.doc.capture(keys) }, enable);
  }

  // Not mid-stroke: the stroke's undo step is built from the layer as it found it.
  undo(): void {
    if (this.stroke) return;
    const step = this.history.undo();
    if (step) this.revisit(step.before, `Undone: ${lowerFirst(step.sentence)}`);
  }

  redo(): void {
    if (this.stroke) return;
    const step = this.history.redo();
    if (step) this.revisit(step.after, `Redone: ${lowerFirst(step.sentence)}`);
  }

  // --- Internals -----------------------------------------------------------------------------------------------

  /** An edit of the active layer that returns what it changed (null: nothing), as one undo step. */
  private edit(sentence: string, change: (layer: Uint8Array) => Rect | null): void {
    const layer = this.doc.layer(this.active);
    if (!layer || this.stroke) return;
    const before = layer.slice();
    const rect = change(layer);
    const dirty = rect && clipRect(rect, this.doc.width, this.doc.height);
    if (!dirty) return;
    const frame = (bytes: Uint8Array): Frame => ({ width: this.doc.width, height: this.doc.height, rect: dirty, layers: new Map([[this.active, crop(bytes, this.doc.width, dirty)]]) });
    this.commit({ sentence, before: frame(before), after: frame(layer) });
  }

  /** Records an edit; one made with the tools (not a restore) turns the masks on: what is painted is meant for the run. */
  private commit(step: Step, enable = true): void {
    if (enable) this.enabled = true;
    this.push(step);
    this.version++;
    this.say(step.sentence);
    this.draw(rectArea(step.after.rect) === this.doc.width * this.doc.height ? null : step.after.rect);
  }

  private push(step: Step): void {
    this.history.push(step, MaskDocument.frameBytes(step.before) + MaskDocument.frameBytes(step.after));
    this.canUndo = this.history.canUndo;
    this.canRedo = this.history.canRedo;
  }

  private revisit(frame: Frame, sentence: string): void {
    this.doc.apply(frame);
    this.canUndo = this.history.canUndo;
    this.canRedo = this.history.canRedo;
    this.version++;
    this.say(sentence);
    const sameSize = frame.width === this.doc.width && frame.height === this.doc.height;
    this.draw(sameSize ? frame.rect : null);
  }

  private say(sentence: string): void {
    this.lastEdit = { n: (this.lastEdit?.n ?? 0) + 1, sentence };
  }

  private draw(dirty: Rect | null): void {
    for (const drawer of this.drawers) drawer(dirty);
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

const lowerFirst = (s: string): string => (s.startsWith('Masks') ? s : s.charAt(0).toLowerCase() + s.slice(1));

/** The window's masks (one photo, one editor): the run request, history and settings read and restore them here. */
export const masks = new MaskState();
