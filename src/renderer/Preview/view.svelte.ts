// Zoom and pan of the preview: "fit" until the user zooms, zooming about the pointer, panning by drag or keys.

const MIN_SCALE = 0.1;
const MAX_SCALE = 16;

export class PreviewView {
  /** null: fit the image to the viewport (and follow its resizes). */
  manualScale = $state<number | null>(null);
  panX = $state(0);
  panY = $state(0);
  viewportWidth = $state(0);
  viewportHeight = $state(0);
  imageWidth = $state(0);
  imageHeight = $state(0);

  /** The margin round a fitted image: 48 px, less in a small viewer (it took the whole of one and went negative). */
  fitMargin = $derived(Math.min(48, Math.min(this.viewportWidth, this.viewportHeight) * 0.1));
  fitScale = $derived(
    this.imageWidth && this.imageHeight && this.viewportWidth && this.viewportHeight
      ? Math.max(MIN_SCALE, Math.min((this.viewportWidth - this.fitMargin) / this.imageWidth, (this.viewportHeight - this.fitMargin) / this.imageHeight))
      : 1,
  );
  scale = $derived(this.manualScale ?? this.fitScale);

  fit(): void {
    this.manualScale = null;
    this.panX = 0;
    this.panY = 0;
  }

  /** Zooms by `factor`, keeping the image point under (x, y) (viewport coordinates) where it is. */
  zoomAt(factor: number, x = this.viewportWidth / 2, y = this.viewportHeight / 2): void {
    const next = Math.min(MAX_SCALE, Math.max(MIN_SCALE, this.scale * factor));
    const cx = x - this.viewportWidth / 2;
    const cy = y - this.viewportHeight / 2;
    const ratio = next / this.scale;
    this.panX = cx - (cx - this.panX) * ratio;
    this.panY = cy - (cy - this.panY) * ratio;
    this.manualScale = next;
  }

  actualSize(): void {
    this.manualScale = 1;
    this.panX = 0;
    this.panY = 0;
  }

  panBy(dx: number, dy: number): void {
    this.panX += dx;
    this.panY += dy;
  }

  /** The viewer's keys: + and - zoom, 0 fits, 1 is actual pixels, arrows pan (Shift: further). False if not ours. */
  handleKey(key: string, shift: boolean): boolean {
    const step = shift ? 120 : 40;
    const actions: Record<string, () => void> = {
      '+': () => this.zoomAt(1.25),
      '=': () => this.zoomAt(1.25),
      '-': () => this.zoomAt(0.8),
      '0': () => this.fit(),
      '1': () => this.actualSize(),
      ArrowLeft: () => this.panBy(step, 0),
      ArrowRight: () => this.panBy(-step, 0),
      ArrowUp: () => this.panBy(0, step),
      ArrowDown: () => this.panBy(0, -step),
    };
    const action = actions[key];
    action?.();
    return action !== undefined;
  }
}
