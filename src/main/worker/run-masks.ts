// A studio run's masks between the window's form (MaskSet: bytes 0..255) and the engine's (LossMasks: 0..1 floats),
// the engine's own checks on them (refusals as errors-as-data), and when a change of masks needs a new graph.

import { checkMask, isNstError, type LossMasks, type Mask } from '../../engine/index.js';
import type { MaskSet } from '../../shared/api.js';
import { fail, ok, type Result } from '../../shared/result.js';

/** The engine's masks for a window's MaskSet (pixel / 255, as decodeMask reads a grey PNG). */
export function lossMasks(set: MaskSet): LossMasks {
  const mask = (bytes: Uint8Array): Mask => ({ width: set.width, height: set.height, data: Float32Array.from(bytes, (b) => b / 255) });
  return { ...(set.styles.length > 0 ? { styles: set.styles.map(mask) } : {}), ...(set.content ? { content: mask(set.content) } : {}) };
}

/**
 * The window's form of masks the engine saved with a checkpoint (they came from a MaskSet: k/255 back to k exactly),
 * or null for none. Throws RangeError when they are not one size (no studio run saves such masks).
 */
export function maskSetOf(masks: LossMasks | undefined): MaskSet | null {
  const all = [...(masks?.styles ?? []), ...(masks?.content ? [masks.content] : [])];
  const first = all[0];
  if (!first) return null;
  if (all.some((m) => m.width !== first.width || m.height !== first.height)) throw new RangeError('the masks are not all of one size');
  const bytes = (mask: Mask): Uint8Array => Uint8Array.from(mask.data, (v) => Math.round(Math.min(1, Math.max(0, v)) * 255));
  return { width: first.width, height: first.height, styles: (masks?.styles ?? []).map(bytes), content: masks?.content ? bytes(masks.content) : null };
}

/**
 * The engine's refusals of masks a run cannot use, checked before they reach the run: one style mask per style image
 * (or none) and no mask black everywhere (checkMask's sentence). The request's schema has checked sizes and counts
 * against its own fields already; a mid-run change is checked here against the run's style count.
 */
export function checkRunMasks(set: MaskSet, styleCount: number): Result<LossMasks> {
  if (set.styles.length !== 0 && set.styles.length !== styleCount) {
    return fail('BAD_REQUEST', `${set.styles.length} style masks for ${styleCount} style image${styleCount === 1 ? '' : 's'}: give one mask per style image, in style order.`);
  }
  const masks = lossMasks(set);
  try {
    masks.styles?.forEach((mask, k) => checkMask(mask, `Style mask ${k + 1}`));
    if (masks.content) checkMask(masks.content, 'The content mask');
  } catch (error) {
    if (isNstError(error) || error instanceof RangeError) return fail(isNstError(error) ? error.code : 'BAD_REQUEST', error.message);
    throw error;
  }
  return ok(masks);
}

/** What kind of masks a graph takes: as many style mask inputs, and a content mask input or none. */
export const maskKind = (masks: LossMasks | null): string => `${masks?.styles?.length ?? 0}/${masks?.content ? 1 : 0}`;

/** Why masks of another kind than the graph's need a new graph, or null when they are of its kind. */
export function maskRebuildReason(next: LossMasks | null, graph: LossMasks | null): string | null {
  if (maskKind(next) === maskKind(graph)) return null;
  const styles = (next?.styles?.length ?? 0) > 0;
  const before = (graph?.styles?.length ?? 0) > 0;
  if (styles !== before) return styles ? 'style masks were turned on' : 'style masks were turned off';
  return next?.content ? 'a content mask was added' : 'the content mask was removed';
}
