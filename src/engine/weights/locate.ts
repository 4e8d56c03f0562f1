// Which VGG19 weights a run uses, for the CLI, the studio and the browser host alike: a path given (--weights, then
// NST_WEIGHTS, then the studio's setting), else files dropped in a folder, else the installed ones (`nst weights
// fetch|import`, the Model panel), else the built-in uint8 weights shipped with the app (resources/weights).

import path from 'node:path';
import { dataDir } from '../persist/data-dir.js';
import { pathExists } from '../sys/path-exists.js';
import { resourceFolder } from '../sys/resources.js';
import { INDEX_FILE, readWeightsIndex, storePaths } from './store.js';

export const WEIGHTS_ENV = 'NST_WEIGHTS';

/** Where the weights a run uses come from. */
export type WeightsOrigin = 'argument' | 'environment' | 'settings' | 'folder' | 'installed' | 'builtin';

export type WeightsLocation =
  | {
      readonly path: string;
      readonly origin: WeightsOrigin;
      /** For display: the path and where it came from, e.g. "…/resources/weights (built in)". */
      readonly source: string;
    }
  | { readonly path: null; readonly help: string };

/** What a file dropped in a weights folder may be called, in the order tried: Keras .h5, ONNX zoo, TF.js folder. */
export const DROPPED_WEIGHTS_NAMES = ['vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5', 'vgg19-7.onnx', 'vgg19.onnx', 'vgg19-tfjs'] as const;

export interface WeightsQuery {
  /** A path given on the command line, and how to name it in messages ("--weights"). */
  readonly argument?: { readonly path: string; readonly label: string } | null;
  /** Defaults to process.env (NST_WEIGHTS). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** A path saved in the studio's settings. */
  readonly settingsPath?: string | null;
  /** A folder where a weights file may have been dropped by hand (the studio's <userData>/weights). */
  readonly dropFolder?: string | null;
  /** The data folder of the installed weights; default dataDir(). */
  readonly storeRoot?: string;
  /** The built-in weights folder; default resources/weights found beside the app (null: none). */
  readonly builtIn?: string | null;
}

/** The folder of the weights shipped with the app, or null when this install has none. */
export function builtInWeightsFolder(): string | null {
  return resourceFolder('weights', INDEX_FILE);
}

export const WEIGHTS_HOW_TO =
  'Run `nst weights fetch` to download the full-precision VGG19 (about 80 MB, once), or `nst weights import PATH` to install ' +
  'a VGG19 file you have (a Keras vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5, an ONNX model-zoo vgg19 .onnx, or a ' +
  'TF.js model folder); or pass --weights PATH, or set NST_WEIGHTS to that path.';

/**
 * The first source that is set wins; a path that is set but leads nowhere is reported as such (the user asked for
 * it) instead of silently falling through to other weights.
 */
export async function locateWeights(query: WeightsQuery = {}): Promise<WeightsLocation> {
  const env = query.env ?? process.env;
  const given: { value: string | null | undefined; origin: WeightsOrigin; label: string }[] = [
    { value: query.argument?.path, origin: 'argument', label: query.argument?.label ?? '--weights' },
    { value: env[WEIGHTS_ENV], origin: 'environment', label: WEIGHTS_ENV },
    { value: query.settingsPath, origin: 'settings', label: 'the weights path in the settings' },
  ];
  for (const { value, origin, label } of given) {
    if (!value) continue;
    const absolute = path.resolve(value);
    if (await pathExists(absolute)) return { path: absolute, origin, source: `${absolute} (from ${label})` };
    return { path: null, help: `${label} points to ${absolute}, which does not exist. ${WEIGHTS_HOW_TO}` };
  }
  if (query.dropFolder) {
    for (const name of DROPPED_WEIGHTS_NAMES) {
      const candidate = path.join(query.dropFolder, name);
      if (await pathExists(candidate)) return { path: candidate, origin: 'folder', source: candidate };
    }
  }
  const root = query.storeRoot ?? dataDir();
  const installed = await readWeightsIndex(root);
  if (installed) return { path: storePaths(root).weights, origin: 'installed', source: `${storePaths(root).weights} (installed)` };
  const builtIn = query.builtIn === undefined ? builtInWeightsFolder() : query.builtIn;
  if (builtIn) return { path: builtIn, origin: 'builtin', source: `${builtIn} (built in: uint8-quantized ImageNet VGG19)` };
  return { path: null, help: `No VGG19 weights found (this install has no built-in weights). ${WEIGHTS_HOW_TO}` };
}
