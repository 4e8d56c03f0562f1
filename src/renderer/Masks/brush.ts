// The brush: round dabs with a hard core and a soft edge, spaced along each segment of a stroke. A stroke keeps the
// most coverage each pixel got (so overlapping dabs never pass the brush's opacity) and the layer is the layer from
// before the stroke painted (or erased) by that coverage.

import { clipRect, unionRect, type Rect } from './mask-document.js';

export interface BrushOptions {
  /** Diameter in photo pixels. */
  sizePx: number;
  /** 0: soft from the centre; 1: a hard edge. */
  hardness: number;
  /** 0..1, the most a stroke adds (or takes away). */
  opacity: number;
}

/** A dab's coverage at distance `d` from its centre, of radius `r`: 1 inside the hard core, then a smooth fall to 0. */
export function falloff(d: number, r: number, hardness: number): number {
  if (d >= r) return 0;
  const core = r * Math.min(1, Math.max(0, hardness));
  if (d <= core) return 1;
  const t = (d - core) / (r - core);
  // smoothstep from 1 to 0 across the soft edge.
  return 1 - t * t * (3 - 2 * t);
}

export class Stroke {
  /** The coverage this stroke has given each pixel so far, 0..255. */
  private readonly coverage: Uint8Array;
  private last: { x: number; y: number } | null = null;

  /**
   * `before`: the layer as the stroke found it; `layer` is written. `erase` takes coverage away instead of adding it.
   * `pressure` (pens) scales a dab's opacity.
   */
  constructor(
    private readonly layer: Uint8Array,
    private readonly before: Uint8Array,
    private readonly width: number,
    private readonly height: number,
    private readonly brush: BrushOptions,
    private readonly erase: boolean,
  ) {
    this.coverage = new Uint8Array(width * height);
  }

  /** Extends the stroke to (x, y), in photo pixels: dabs every quarter radius from the last point. The rectangle changed. */
  to(x: number, y: number, pressure = 1): Rect | null {
    const radius = Math.max(0.5, this.brush.sizePx / 2);
    const from = this.last ?? { x, y };
    const distance = Math.hypot(x - from.x, y - from.y);
    const spacing = Math.max(0.5, radius / 4);
    const steps = this.last ? Math.max(1, Math.ceil(distance / spacing)) : 1;
    let dirty: Rect | null = null;
    for (let i = 1; i <= steps; i++) {
      const t = this.last ? i / steps : 1;
      const rect = this.dab(from.x + (x - from.x) * t, from.y + (y - from.y) * t, radius, pressure);
      dirty = unionRect(dirty, rect);
    }
    this.last = { x, y };
    return dirty;
  }

  private dab(cx: number, cy: number, radius: number, pressure: number): Rect | null {
    const rect = clipRect({ x: cx - radius, y: cy - radius, width: 2 * radius, height: 2 * radius }, this.width, this.height);
    if (!rect) return null;
    const strength = 255 * Math.min(1, Math.max(0, this.brush.opacity * pressure));
    const { layer, before, coverage, width } = this;
    // Squared distances first: most of a dab's square is outside it or inside its hard core (no square root).
    const r2 = radius * radius;
    const core = radius * Math.min(1, Math.max(0, this.brush.hardness));
    const core2 = core * core;
    for (let y = rect.y; y < rect.y + rect.height; y++) {
      const dy = y + 0.5 - cy;
      for (let x = rect.x; x < rect.x + rect.width; x++) {
        const dx = x + 0.5 - cx;
        const d2 = dx * dx + dy * dy;
        if (d2 >= r2) continue;
        const a = d2 <= core2 ? Math.round(strength) : Math.round(strength * falloff(Math.sqrt(d2), radius, this.brush.hardness));
        const i = y * width + x;
        if (a <= coverage[i]!) continue;
        coverage[i] = a;
        const b = before[i]!;
        layer[i] = this.erase ? Math.round((b * (255 - a)) / 255) : Math.round(b + ((255 - b) * a) / 255);
      }
    }
    return rect;
  }
}
