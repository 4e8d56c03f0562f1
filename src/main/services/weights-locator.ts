// Finds the VGG19 weights for the studio: --weights, NST_WEIGHTS, the settings' path, or the app-data folder.

import path from 'node:path';
import { pathExists } from '../../engine/index.js';
import type { AppInfo } from '../../shared/api.js';

export const WEIGHTS_ENV = 'NST_WEIGHTS';

/** What the app-data weights folder may hold, in the order tried: Keras .h5, ONNX zoo, TF.js folder. */
export const DEFAULT_WEIGHTS_NAMES = ['vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5', 'vgg19-7.onnx', 'vgg19.onnx', 'vgg19-tfjs'] as const;

export type WeightsOrigin = 'argument' | 'environment' | 'settings' | 'app-data';

export type WeightsLocation =
  | { path: string; origin: WeightsOrigin; /** For display: the path and where it came from. */ source: string }
  | { path: null; help: string };

export interface WeightsQuery {
  /** An explicit path (the browser host's --weights); wins over everything. */
  argument?: string | null;
  /** Defaults to process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /** A path saved in the studio's settings (chosen by the user). */
  settingsPath?: string | null;
  /** The app's data folder: weights may sit in its `weights/` subfolder. */
  dataDir: string;
}

export function defaultWeightsDir(dataDir: string): string {
  return path.join(dataDir, 'weights');
}

const HOW_TO_GET =
  'The studio needs the VGG19 ImageNet weights: the Keras vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5 (about 80 MB), ' +
  'an ONNX model-zoo vgg19-7.onnx, or a TF.js model folder.';

/**
 * The first source that is set wins; a source that is set but leads nowhere is reported as such (the user
 * asked for it) instead of silently falling through to another file.
 */
export async function locateWeights(query: WeightsQuery): Promise<WeightsLocation> {
  const env = query.env ?? process.env;
  const folder = defaultWeightsDir(query.dataDir);
  const candidates: { value: string | null | undefined; origin: WeightsOrigin; label: string }[] = [
    { value: query.argument, origin: 'argument', label: '--weights' },
    { value: env[WEIGHTS_ENV], origin: 'environment', label: WEIGHTS_ENV },
    { value: query.settingsPath, origin: 'settings', label: 'the weights path in the settings' },
  ];
  for (const { value, origin, label } of candidates) {
    if (!value) continue;
    const absolute = path.resolve(value);
    if (await pathExists(absolute)) return { path: absolute, origin, source: `${absolute} (from ${label})` };
    return { path: null, help: `${label} points to ${absolute}, which does not exist. ${HOW_TO_GET} Put one there, or in ${folder}.` };
  }
  for (const name of DEFAULT_WEIGHTS_NAMES) {
    const candidate = path.join(folder, name);
    if (await pathExists(candidate)) return { path: candidate, origin: 'app-data', source: candidate };
  }
  return {
    path: null,
    help: `No VGG19 weights found. ${HOW_TO_GET} Put it in ${folder} (as ${DEFAULT_WEIGHTS_NAMES.join(', ')}), or set ${WEIGHTS_ENV} to its path.`,
  };
}

/** The AppInfo form: where the weights come from, or how to get them. */
export function appInfoWeights(location: WeightsLocation): AppInfo['weights'] {
  return location.path === null ? { source: null, help: location.help } : { source: location.source };
}
