// Frame t's start and temporal term from frame t−1 (Ruder et al. 2016): flow both ways between the input frames,
// the forward-backward consistency mask, and the previous stylised frame warped onto this one.

import type { PlanarImage } from '../../io/image.js';
import type { TemporalTerm } from '../../model/temporal.js';
import { consistencyMask } from '../flow/consistency.js';
import { estimateFlow } from '../flow/farneback.js';
import { warpImage } from '../flow/warp.js';

export interface FromPreviousFrame {
  /** The previous stylised frame warped onto this one: the start image. */
  readonly start: Float32Array;
  /** The same image as the temporal target, with its consistency mask; weight as given (0: the term is left out). */
  readonly temporal: TemporalTerm | null;
  /** Share of pixels the mask trusts (0..1), for reports: low on a scene cut or fast motion. */
  readonly consistent: number;
  readonly flowMs: number;
}

/**
 * From frame t−1 (its input `previousContent` and its stylised result `previous`, as read back from its PNG, so a
 * resumed job starts every frame from exactly the bytes an uninterrupted one did) to frame t (`content`); all three
 * of one size. The flow from t to t−1 carries the result over (warpImage samples x_{t−1} at p + flow(p)); the flow
 * from t−1 to t checks it (consistencyMask).
 */
export function fromPreviousFrame(previous: PlanarImage, previousContent: PlanarImage, content: PlanarImage, temporalWeight: number): FromPreviousFrame {
  const started = performance.now();
  const backward = estimateFlow(content, previousContent);
  const forward = estimateFlow(previousContent, content);
  const mask = consistencyMask(backward, forward);
  const warped = warpImage(previous, backward);
  let trusted = 0;
  for (const c of mask.data) trusted += c;
  return {
    start: warped.data,
    temporal: temporalWeight > 0 ? { target: warped.data, mask: mask.data, weight: temporalWeight } : null,
    consistent: trusted / mask.data.length,
    flowMs: performance.now() - started,
  };
}
