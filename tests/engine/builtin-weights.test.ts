// The built-in weights (resources/weights): the uint8 ImageNet VGG19 in the engine's own folder form, packed by
// scripts/make-builtin-weights.ts. They must load as exactly the numbers the TF.js model they came from gives.

import { readFile, mkdtemp, writeFile, cp, rm } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadWeights } from '../../src/engine/weights/load.js';
import { weightsFingerprint } from '../../src/engine/weights/fingerprint.js';
import { builtInWeightsFolder } from '../../src/engine/weights/locate.js';
import { VGG19_LAYER_NAMES } from '../../src/engine/model/vgg19.js';
import { hasShared, sharedPath } from '../helpers/shared-data.js';

const folder = builtInWeightsFolder()!;

describe('the built-in weights', () => {
  it('hold all 16 conv layers, and their blob is the one their index names (SHA-256)', async () => {
    const index = JSON.parse(await readFile(path.join(folder, 'vgg19.json'), 'utf8')) as { version: number; blob: { sha256: string; bytes: number }; provenance: { kind: string; source: string } };
    expect(index.version).toBe(2);
    expect(index.provenance.kind).toBe('builtin');
    expect(index.provenance.source).toMatch(/Oxford Visual Geometry Group, CC BY 4\.0/);
    const blob = await readFile(path.join(folder, 'vgg19.bin'));
    expect(blob.length).toBe(index.blob.bytes);
    expect(createHash('sha256').update(blob).digest('hex')).toBe(index.blob.sha256);
    const weights = await loadWeights(folder);
    expect([...weights.layers.keys()]).toEqual(VGG19_LAYER_NAMES);
  });

  it('keep their kernels as uint8 bytes (a quarter of float32), dequantized afresh on each read', async () => {
    const weights = await loadWeights(folder);
    let held = 0;
    for (const [name, layer] of weights.layers) {
      const q = layer.quantized!;
      expect(q.bytes.length, name).toBe(layer.outChannels * layer.inChannels * 9);
      held += q.bytes.byteLength;
      const first = layer.kernel;
      const second = layer.kernel;
      expect(second !== first && Buffer.from(second.buffer).equals(Buffer.from(first.buffer)), name).toBe(true);
      expect(first[7], name).toBeCloseTo(q.bytes[7]! * q.scale + q.min, 6);
    }
    // VGG19's 20,024,384 parameters less the float32 biases.
    expect(held).toBe(20_018_880);
  });

  it.skipIf(!hasShared('data', 'vgg19-imagenet-uint8'))('load as exactly the numbers of the TF.js model they were packed from', async () => {
    const builtIn = await loadWeights(folder);
    const tfjs = await loadWeights(sharedPath('data', 'vgg19-imagenet-uint8'));
    for (const [name, layer] of tfjs.layers) {
      const mine = builtIn.layers.get(name)!;
      expect([mine.inChannels, mine.outChannels], name).toEqual([layer.inChannels, layer.outChannels]);
      expect(Buffer.from(mine.kernel.buffer, mine.kernel.byteOffset, mine.kernel.byteLength).equals(Buffer.from(layer.kernel.buffer, layer.kernel.byteOffset, layer.kernel.byteLength)), `${name} kernel`).toBe(true);
      expect(Buffer.from(mine.bias.buffer, mine.bias.byteOffset, mine.bias.byteLength).equals(Buffer.from(layer.bias.buffer, layer.bias.byteOffset, layer.bias.byteLength)), `${name} bias`).toBe(true);
    }
    // So a checkpoint made with either resumes with the other.
    expect(weightsFingerprint(builtIn).sha256).toBe(weightsFingerprint(tfjs).sha256);
  });

  it('a quantized array whose range leaves the blob, or that lacks its scale, is refused by name', async () => {
    const copy = await mkdtemp(path.join(os.tmpdir(), 'nst-builtin-'));
    try {
      await cp(folder, copy, { recursive: true });
      const indexPath = path.join(copy, 'vgg19.json');
      const index = JSON.parse(await readFile(indexPath, 'utf8')) as { layers: { name: string; kernel: Record<string, unknown> }[] };
      delete index.layers[3]!.kernel.scale;
      await writeFile(indexPath, JSON.stringify(index));
      await expect(loadWeights(copy)).rejects.toMatchObject({ code: 'BAD_WEIGHTS', message: expect.stringContaining(`layer ${index.layers[3]!.name}'s byte range, shape or quantization is inconsistent`) });
    } finally {
      await rm(copy, { recursive: true, force: true });
    }
  });
});
