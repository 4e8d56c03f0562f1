// An undo/redo history of edits with a cap on the bytes it keeps: the oldest steps go first when it would pass it.

export class UndoStack<T> {
  private done: { step: T; bytes: number }[] = [];
  private undone: { step: T; bytes: number }[] = [];
  private total = 0;

  /** `capBytes`: the most the kept steps may weigh (a 2048 px photo's stroke is up to 8 MB before and after). */
  constructor(private readonly capBytes: number) {
    if (!(capBytes > 0)) throw new RangeError(`capBytes must be positive, got ${capBytes}`);
  }

  get canUndo(): boolean {
    return this.done.length > 0;
  }

  get canRedo(): boolean {
    return this.undone.length > 0;
  }

  /** Bytes held by every kept step, undone ones included. */
  get bytes(): number {
    return this.total;
  }

  /** A new step: what was undone can no longer be redone. A step larger than the cap is kept alone. */
  push(step: T, bytes: number): void {
    for (const u of this.undone) this.total -= u.bytes;
    this.undone = [];
    this.done.push({ step, bytes });
    this.total += bytes;
    while (this.total > this.capBytes && this.done.length > 1) this.total -= this.done.shift()!.bytes;
  }

  /** The step to take back (it moves to the redo side), or undefined. */
  undo(): T | undefined {
    const entry = this.done.pop();
    if (entry) this.undone.push(entry);
    return entry?.step;
  }

  /** The step to do again (it moves back to the undo side), or undefined. */
  redo(): T | undefined {
    const entry = this.undone.pop();
    if (entry) this.done.push(entry);
    return entry?.step;
  }

  clear(): void {
    this.done = [];
    this.undone = [];
    this.total = 0;
  }
}
