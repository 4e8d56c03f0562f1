// The window's one live region (ui/LiveRegion.svelte): components hand it whole sentences, it says the newest.

import { getContext, setContext } from 'svelte';

const KEY = Symbol('announcer');

export class Announcer {
  /** What the region holds; read by LiveRegion. */
  message = $state('');
  private flip = false;

  /** Says `sentence` (politely, after what is being read). The same sentence twice is said twice. */
  say(sentence: string): void {
    // A region whose text does not change says nothing: a no-break space at the end tells a repeat apart.
    this.flip = sentence === this.message.trimEnd() ? !this.flip : false;
    this.message = this.flip ? `${sentence}\u00a0` : sentence;
  }
}

/** App makes the one announcer; components below it find it here. */
export function provideAnnouncer(announcer: Announcer): void {
  setContext(KEY, announcer);
}

/** The window's announcer; one that goes nowhere when a component is mounted on its own (tests). */
export function useAnnouncer(): Announcer {
  return getContext<Announcer | undefined>(KEY) ?? new Announcer();
}
