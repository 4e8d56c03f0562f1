// A real run on real weights and images: the optimizers compared, and the run's controls (stop, pause, weights).

import { describe, expect, it } from 'vitest';
import { RunController, runStyleTransfer, type RunSettings, type RenderEvent } from '../../src/engine/render/run.js';
import { DEFAULT_RUN_SETTINGS } from '../../src/engine/settings.js';
import { decodeImage } from '../../src/engine/io/image.js';
import { loadWeights } from '../../src/engine/weights/load.js';
import type { Vgg19Weights } from '../../src/engine/weights/types.js';
import type { OptimizerName } from '../../src/engine/optim/types.js';
import { hasShared, sharedPath } from '../helpers/shared-data.js';

const present = hasShared('data', 'vgg19-imagenet-uint8') && hasShared('data', 'images', 'content_tubingen_64.png');

async function realInputs(): Promise<{ weights: Vgg19Weights; content: Awaited<ReturnType<typeof decodeImage>>; styles: Awaited<ReturnType<typeof decodeImage>>[] }> {
  return {
    weights: await loadWeights(sharedPath('data', 'vgg19-imagenet-uint8')),
    content: await decodeImage(sharedPath('data', 'images', 'content_tubingen_64.png')),
    styles: [await decodeImage(sharedPath('data', 'images', 'style_starry_night_64.png'))],
  };
}

const settings = (optimizer: OptimizerName, iterations: number): RunSettings => ({
  ...DEFAULT_RUN_SETTINGS,
  optimizer,
  iterations,
  device: 'cpu',
  threads: 2,
});

describe.skipIf(!present)('style-transfer runs on the real uint8 VGG19 and a real 64-px pair', () => {
  it('100 L-BFGS iterations reach a lower total loss than 100 of Adam and of the seed\'s GD', async () => {
    const inputs = await realInputs();
    const final: Record<string, number> = {};
    for (const optimizer of ['lbfgs', 'adam', 'gd'] as const) {
      const result = await runStyleTransfer(inputs, settings(optimizer, 100));
      expect(result.iterations).toBe(100);
      expect(result.finalLoss.total).toBeLessThan(result.initialLoss.total);
      final[optimizer] = result.finalLoss.total;
    }
    console.log('[run] final total loss after 100 iterations:', final);
    expect(final.lbfgs!).toBeLessThan(final.adam!);
    expect(final.lbfgs!).toBeLessThan(final.gd!);
  });

  it('stop ends the run after the current iteration and returns the image so far', async () => {
    const inputs = await realInputs();
    const controller = new RunController();
    const events: RenderEvent[] = [];
    const result = await runStyleTransfer(inputs, settings('adam', 50), {
      controller,
      onEvent: (e) => {
        events.push(e);
        if (e.type === 'progress' && e.iteration === 3) controller.stop();
      },
    });
    expect(result.stopped).toBe(true);
    expect(result.iterations).toBe(3);
    expect(events[0]!.type).toBe('started');
    expect(result.image.data.some((v, i) => v !== inputs.content.data[i])).toBe(true);

    // A stop that arrives with the last iteration finds the run finished: its cap, not a stop.
    const late = new RunController();
    const finished = await runStyleTransfer(inputs, settings('adam', 3), {
      controller: late,
      onEvent: (e) => void (e.type === 'progress' && e.iteration === 3 && late.stop()),
    });
    expect(finished).toMatchObject({ stopped: false, iterations: 3, stop: { kind: 'cap', iteration: 3, cap: 3 } });
  });

  it('pause holds the loop until resume; weights set mid-run apply from the next iteration', async () => {
    const inputs = await realInputs();
    const controller = new RunController();
    const order: string[] = [];
    const styleOnly = { ...DEFAULT_RUN_SETTINGS, contentWeight: 0, tvWeight: 0 };
    await runStyleTransfer(inputs, { ...settings('adam', 6), contentWeight: 1 }, {
      controller,
      onEvent: (e) => {
        if (e.type === 'progress') {
          order.push(`it${e.iteration}:content=${e.loss.content.block4_conv2! > 0 ? 'on' : 'zero'}`);
          if (e.iteration === 2) {
            controller.pause();
            setTimeout(() => {
              order.push('resume');
              controller.resume();
            }, 50);
          }
          if (e.iteration === 4) controller.setWeights(styleOnly);
        } else if (e.type === 'paused' || e.type === 'resumed') order.push(e.type);
      },
    });
    expect(order.slice(0, 6)).toEqual(['it1:content=zero', 'it2:content=on', 'paused', 'resume', 'resumed', 'it3:content=on']);
    expect(order.length).toBe(9);
  });
});

