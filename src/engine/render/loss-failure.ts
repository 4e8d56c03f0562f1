// A loss that is not a finite number, blamed on what made it: the network's weights, the loss weights or the step.

import type { LossBreakdown } from '../model/objective.js';
import { NstError } from '../errors.js';

/**
 * At the start image no step has been taken, so the learning rate is not at fault: a term that is itself not finite
 * means the network's values overflow float32 (BAD_WEIGHTS, naming the layer); finite terms whose weighted sum is not
 * mean the loss weights are too large (BAD_ARGUMENT). After steps, the step size took the image somewhere it should
 * not go (RUNTIME_FAILURE).
 */
export function nonFiniteLoss(loss: LossBreakdown, iteration: number, atStartImage: boolean): NstError {
  if (!atStartImage) {
    return new NstError('RUNTIME_FAILURE', `The loss became ${loss.total} at iteration ${iteration}: lower the learning rate or the weights.`);
  }
  const terms: [string, number][] = [
    ...Object.entries(loss.style).map(([layer, value]): [string, number] => [`the style term of ${layer}`, value]),
    ...Object.entries(loss.content).map(([layer, value]): [string, number] => [`the content term of ${layer}`, value]),
    ['the TV term', loss.tv],
    ...(loss.temporal !== undefined ? [['the temporal term', loss.temporal] as [string, number]] : []),
  ];
  const overflowed = terms.find(([, value]) => !Number.isFinite(value));
  if (overflowed) {
    return new NstError(
      'BAD_WEIGHTS',
      `The loss of the starting image is ${loss.total}, before any step: ${overflowed[0]} is ${overflowed[1]}, so the network's weights make values beyond float32's range. The weights file is damaged, or not a VGG19 for 0..255 images.`,
    );
  }
  return new NstError(
    'BAD_ARGUMENT',
    `The loss of the starting image is ${loss.total}, before any step, though every term is finite: the style, content, TV or layer weights are too large; lower them.`,
  );
}
