// The weights travel beside the protobuf (GraphBuilder.toModel, sessions' externalData): the model keeps only small
// initializers inline, its large ones point at in-memory files, and a session from it computes what a session from
// the whole protobuf computes, on the native CPU provider, onnxruntime-web's wasm, and in a measuring child.

import { describe, expect, it } from 'vitest';
import onnxProto from 'onnx-proto';
import { buildFeatureGraph, io } from '../../src/engine/model/graph/vgg-graph.js';
import { GraphBuilder, type OnnxModel } from '../../src/engine/model/graph/builder.js';
import { onnxruntime } from '../../src/engine/model/runtime/onnxruntime.js';
import { runInOrtChild } from '../../src/engine/model/runtime/ort-child.js';
import type { RuntimeBackend } from '../../src/engine/model/runtime/runtime.js';
import { randomVgg19Weights } from '../../src/engine/weights/random.js';

const { onnx } = onnxProto;

// block1_conv2 at full width: a 147 kB kernel, outside the protobuf; its 256-byte bias and conv1_1's 7 kB stay in.
const graph = (): ReturnType<typeof buildFeatureGraph> =>
  buildFeatureGraph({ height: 8, width: 6, styleLayers: ['block1_conv2'], contentLayers: [], pool: 'max', weights: randomVgg19Weights({ seed: 5, channelScale: 1, depth: 2 }) });
const image = new Float32Array(3 * 8 * 6).map((_, i) => (i * 37) % 255);

async function gramOn(backend: RuntimeBackend, model: OnnxModel): Promise<Float32Array> {
  const session = await onnxruntime(backend).create(model, { devices: [backend === 'web' ? 'wasm' : 'cpu'], skipped: [], quietFallback: false, threads: 1, optimization: 'all' });
  try {
    const out = await session.run({ [io.image]: session.tensor(image, [1, 3, 8, 6]) });
    return Float32Array.from(out[io.gram('block1_conv2')]!.data as Float32Array);
  } finally {
    await session.dispose();
  }
}

describe('weights outside the protobuf', () => {
  it('keeps small initializers inline and points large ones at in-memory files, without copying them', () => {
    const g = new GraphBuilder('t');
    const x = g.input('x', [1, 16384]);
    const big = new Float32Array(16384).fill(2);
    const small = new Float32Array(4).fill(3);
    const y = g.node('Mul', [x, g.floatInitializer('big', big, [1, 16384])], {}, { shape: [1, 16384] });
    g.output(g.node('Add', [y, g.floatInitializer('small', small, [4, 1, 1])], {}, { shape: [4, 1, 16384] }), 'y');
    const model = g.toModel();
    expect(model.external).toHaveLength(1);
    expect(model.external[0]!.data.buffer).toBe(big.buffer); // a view, not a copy
    const decoded = onnx.ModelProto.decode(model.bytes);
    const byName = new Map((decoded.graph?.initializer ?? []).map((t) => [t.name, t]));
    const bigTensor = byName.get('big')!;
    expect(bigTensor.dataLocation).toBe(onnx.TensorProto.DataLocation.EXTERNAL);
    expect(bigTensor.rawData?.length ?? 0).toBe(0);
    expect(Object.fromEntries((bigTensor.externalData ?? []).map((e) => [e.key, e.value]))).toEqual({ location: model.external[0]!.path, offset: '0', length: String(16384 * 4) });
    expect(byName.get('small')!.rawData?.length).toBe(16);
    expect(g.toBytes().length).toBeGreaterThan(16384 * 4);
    expect(model.bytes.length).toBeLessThan(1024);
  });

  it('a session from the model computes what one from the whole protobuf does, and no longer reads the arrays', async () => {
    const built = graph();
    expect(built.model.external.length).toBeGreaterThan(0);
    const whole = await gramOn('node', { bytes: wholeBytes(graph().model), external: [] });
    const split = await gramOn('node', built.model);
    expect(Array.from(split)).toEqual(Array.from(whole));
    expect(split.some((v) => v !== 0)).toBe(true);
    // onnxruntime copied the weights while creating the session: the arrays may go (or change) after it.
    for (const e of built.model.external) e.data.fill(0);
    expect(Array.from(await gramOn('node', graph().model))).toEqual(Array.from(whole));
  });

  it('onnxruntime-web (wasm) and a measuring child take the same model', async () => {
    const model = graph().model;
    const native = await gramOn('node', model);
    const wasm = await gramOn('web', model);
    for (let i = 0; i < native.length; i++) expect(Math.abs(wasm[i]! - native[i]!)).toBeLessThanOrEqual(1e-5 * Math.abs(native[i]!) + 1e-3);
    const child = await runInOrtChild(model, { device: 'cpu', feeds: [{ name: io.image, dims: [1, 3, 8, 6], value: 'pixels' }], warmups: 0, runs: 1, threads: 1 });
    expect(child).toMatchObject({ ok: true });
  });
});

/** The same model with its external initializers put back inline: what toBytes gives. */
function wholeBytes(model: OnnxModel): Uint8Array {
  const decoded = onnx.ModelProto.decode(model.bytes);
  const files = new Map(model.external.map((e) => [e.path, e.data]));
  for (const t of decoded.graph?.initializer ?? []) {
    if (t.dataLocation !== onnx.TensorProto.DataLocation.EXTERNAL) continue;
    const location = (t.externalData ?? []).find((e) => e.key === 'location')!.value!;
    t.rawData = Uint8Array.from(files.get(location)!);
    t.externalData = [];
    t.dataLocation = onnx.TensorProto.DataLocation.DEFAULT;
  }
  return onnx.ModelProto.encode(decoded).finish();
}
