// Focus that never falls to the page: when the control that had it goes away (removed, swapped, hidden), the
// component that removed it moves focus on purpose to the next sensible control, once Svelte has updated the page.

import { tick } from 'svelte';

type Candidate = HTMLElement | null | undefined;

/** Whether focus has fallen to the page (the control that had it is gone). */
export function focusLost(): boolean {
  const active = document.activeElement;
  return active === null || active === document.body || !active.isConnected;
}

/** Focuses the first candidate still in the page; true when one took focus. */
export function focusFirst(candidates: readonly Candidate[]): boolean {
  for (const element of candidates) {
    if (!element?.isConnected) continue;
    element.focus();
    if (document.activeElement === element) return true;
  }
  return false;
}

/**
 * After the page has caught up with a change, and only if focus fell to the page with it, focuses the first of
 * `pick()`'s candidates (chosen then, from the page as it is after the change).
 */
export async function rescueFocus(pick: () => readonly Candidate[]): Promise<void> {
  await tick();
  if (focusLost()) focusFirst(pick());
}

/**
 * Whether focus was last inside an element (attach with {@attach tracker.attach}): set by a focusin there, cleared
 * when focus or a pointer lands elsewhere. A control removed while focused leaves it set, which is the point: the
 * element's component then knows the focus that fell to the page was its own to put back.
 */
export class FocusWithin {
  within = false;

  attach = (node: HTMLElement): (() => void) => {
    const enter = (): void => {
      this.within = true;
    };
    const leave = (event: FocusEvent): void => {
      if (event.relatedTarget instanceof Node && !node.contains(event.relatedTarget)) this.within = false;
    };
    const pointer = (event: PointerEvent): void => {
      if (!(event.target instanceof Node && node.contains(event.target))) this.within = false;
    };
    node.addEventListener('focusin', enter);
    node.addEventListener('focusout', leave);
    document.addEventListener('pointerdown', pointer, true);
    return () => {
      node.removeEventListener('focusin', enter);
      node.removeEventListener('focusout', leave);
      document.removeEventListener('pointerdown', pointer, true);
    };
  };

  /** rescueFocus, only when the focus that fell was inside the element. */
  async rescue(pick: () => readonly (HTMLElement | null | undefined)[]): Promise<void> {
    await tick();
    if (this.within && focusLost()) focusFirst(pick());
  }
}
