// One pending call at a time: a newer schedule() replaces the waiting one (saves and requests wait for a pause).

export class Debouncer {
  #timer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly delayMs: number) {}

  /** Runs `action` after `delayMs` (or `delayMs` given here) unless another schedule() or cancel() comes first. */
  schedule(action: () => void, delayMs = this.delayMs): void {
    this.cancel();
    this.#timer = setTimeout(() => {
      this.#timer = null;
      action();
    }, delayMs);
  }

  cancel(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }
}
