// The spatial-control options (--masks, --content-mask): declared once, checked, decoded into the engine's masks.

import type { Command } from 'commander';
import { checkMask, decodeMask, type LossMasks, type Mask, NstError } from '../engine/index.js';

export interface MaskPaths {
  /** One per style image, in style order; empty without --masks. */
  readonly styles: readonly string[];
  readonly content?: string;
}

export function addMaskOptions(command: Command): Command {
  return command
    .option('--masks <m1,m2,...>', 'one grayscale mask per style image, in style order: white = that style, black = none (resized to the image)')
    .option('--content-mask <file>', 'grayscale mask of where the photo stays: white = keep it, black = free (weighs the content term per pixel)');
}

/** Every mask file the options name, unchecked: for an output's check that it is none of the inputs (before parsing). */
export function namedMaskFiles(raw: Record<string, string | undefined>): string[] {
  const styles = raw.masks === undefined ? [] : raw.masks.split(',').map((p) => p.trim()).filter((p) => p !== '');
  return [...styles, ...(raw.contentMask !== undefined ? [raw.contentMask] : [])];
}

/**
 * The mask files named, checked against the run before anything is decoded: one per style image, each option only
 * where it has terms to act on, and no --style-blend beside --masks (each style has its own region; the blend
 * would do nothing).
 */
export function readMaskPaths(
  raw: Record<string, string | undefined>,
  run: { styleCount: number; styleLayers: readonly string[]; contentLayers: readonly string[]; styleBlend?: readonly number[] | undefined },
): MaskPaths {
  const styles = raw.masks === undefined ? [] : raw.masks.split(',').map((p) => p.trim());
  if (raw.masks !== undefined) {
    if (styles.some((p) => p === '')) throw new NstError('BAD_ARGUMENT', `--masks: "${raw.masks}" names an empty file; give one file per style image, separated by commas.`);
    if (styles.length !== run.styleCount) {
      const images = run.styleCount === 1 ? '1 style image' : `${run.styleCount} style images`;
      throw new NstError('BAD_ARGUMENT', `--masks: ${styles.length} mask${styles.length === 1 ? '' : 's'} for ${images}; give one mask per style image, in the order of --style.`);
    }
    if (run.styleLayers.length === 0) throw new NstError('BAD_ARGUMENT', '--masks: no style layers are selected, so the masks would do nothing.');
    if (run.styleBlend !== undefined) {
      throw new NstError('BAD_ARGUMENT', '--style-blend does not apply with --masks: each style takes the region its mask gives it (paint a grey level for a weaker style).');
    }
  }
  if (raw.contentMask !== undefined && run.contentLayers.length === 0) {
    throw new NstError('BAD_ARGUMENT', '--content-mask: no content layers are selected, so the mask would do nothing.');
  }
  return { styles, ...(raw.contentMask !== undefined ? { content: raw.contentMask } : {}) };
}

/** Decodes the masks at their own size (the engine resizes them to the image); one with no region is refused by name. */
export async function loadMasks(paths: MaskPaths): Promise<LossMasks> {
  const load = async (file: string, option: string): Promise<Mask> => {
    const mask = await decodeMask(file);
    checkMask(mask, `${option}: ${file}`);
    return mask;
  };
  const styles = await Promise.all(paths.styles.map((file) => load(file, '--masks')));
  return { ...(styles.length > 0 ? { styles } : {}), ...(paths.content !== undefined ? { content: await load(paths.content, '--content-mask') } : {}) };
}
