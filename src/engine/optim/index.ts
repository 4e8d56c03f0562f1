// Builds an optimizer by name: the one place that maps a settings string to a class and its options.

import { NstError } from '../errors.js';
import { Adam, type AdamOptions } from './adam.js';
import { GradientDescent, type GdOptions } from './gd.js';
import { Lbfgs, type LbfgsOptions } from './lbfgs.js';
import type { Optimizer, OptimizerName } from './types.js';

export { Adam, ADAM_DEFAULTS, type AdamOptions } from './adam.js';
export { GradientDescent, GD_DEFAULTS, type GdOptions } from './gd.js';
export { Lbfgs, LBFGS_DEFAULTS, type LbfgsOptions, type LineSearch } from './lbfgs.js';
export type { Bounds, Objective, Optimizer, OptimizerName, OptimizerState, StepResult } from './types.js';

export interface OptimizerOptionsByName {
  gd: GdOptions;
  adam: AdamOptions;
  lbfgs: LbfgsOptions;
}

export const OPTIMIZER_NAMES: readonly OptimizerName[] = ['gd', 'adam', 'lbfgs'];

/**
 * A fresh optimizer for arrays of `size` values (for an image, 3 · height · width). `name` may come from
 * user input (CLI flag, settings file), so it is checked at run time too.
 */
export function createOptimizer<N extends OptimizerName>(
  name: N,
  size: number,
  options: OptimizerOptionsByName[N] = {},
): Optimizer {
  switch (name) {
    case 'gd':
      return new GradientDescent(size, options);
    case 'adam':
      return new Adam(size, options);
    case 'lbfgs':
      return new Lbfgs(size, options);
    default:
      throw new NstError(
        'BAD_ARGUMENT',
        `Unknown optimizer "${String(name)}": expected one of ${OPTIMIZER_NAMES.join(', ')}.`,
      );
  }
}
