// StyleObjectives of one size and one set of weights on the CPU (one thread), disposed when the file's tests are done.

import { afterAll } from 'vitest';
import { StyleObjective, type ObjectiveSpec } from '../../src/engine/model/objective.js';
import { objectiveShape, resolveExecution } from '../../src/engine/render/execution.js';
import type { ConvAlgorithm } from '../../src/engine/settings.js';
import type { MaxPoolGrad } from '../../src/engine/model/graph/vgg-graph.js';
import type { PlanarImage } from '../../src/engine/io/image.js';
import type { Vgg19Weights } from '../../src/engine/weights/types.js';

export interface FixedParts {
  readonly weights: Vgg19Weights;
  readonly width: number;
  readonly height: number;
  readonly contentImage?: PlanarImage;
}

export interface OpenOptions {
  readonly convAlgorithm?: Exclude<ConvAlgorithm, 'auto'>;
  readonly maxPoolGrad?: MaxPoolGrad;
  readonly winogradMinTiles?: number;
}

export type ObjectiveParts = Omit<ObjectiveSpec, 'weights' | 'width' | 'height' | 'execution' | 'contentImage'> & Partial<Pick<ObjectiveSpec, 'contentImage'>>;

export interface TestObjectives {
  /** An objective with the fixed parts and `spec`. */
  open(spec: ObjectiveParts, options?: OpenOptions): Promise<StyleObjective>;
  /** One made elsewhere (createRunObjective), disposed with the rest. */
  keep(objective: StyleObjective): void;
}

/** Call at a file's top level: objectives with `fixed`'s weights, size and content image. */
export function useTestObjectives(fixed: FixedParts): TestObjectives {
  const opened: StyleObjective[] = [];
  afterAll(async () => {
    await Promise.all(opened.map((o) => o.dispose()));
  });
  const keep = (objective: StyleObjective): void => void opened.push(objective);
  const open = async (spec: ObjectiveParts, options: OpenOptions = {}): Promise<StyleObjective> => {
    const contentImage = spec.contentImage ?? fixed.contentImage;
    const execution = resolveExecution({ device: 'cpu', threads: 1, convAlgorithm: options.convAlgorithm ?? 'direct' }, objectiveShape(contentImage ?? fixed, spec, spec.styleImages));
    const created = await StyleObjective.create({
      ...spec,
      weights: fixed.weights,
      width: fixed.width,
      height: fixed.height,
      ...(contentImage ? { contentImage } : {}),
      execution: options.maxPoolGrad ? { ...execution, maxPoolGrad: options.maxPoolGrad } : execution,
      ...(options.winogradMinTiles !== undefined ? { winogradMinTiles: options.winogradMinTiles } : {}),
    });
    keep(created);
    return created;
  };
  return { open, keep };
}
