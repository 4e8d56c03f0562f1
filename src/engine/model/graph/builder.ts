// A small typed API over the ONNX protobuf: named values with static shapes, nodes, initializers, serialisation.

import onnxProto from 'onnx-proto';
import type { onnx as OnnxTypes } from 'onnx-proto';

const { onnx } = onnxProto;

/** A tensor flowing through the graph. Shapes are static: every graph here is built for one image size. */
export interface Value {
  readonly name: string;
  readonly shape: readonly number[];
  readonly type: 'float' | 'int64' | 'bool';
}

export type AttributeValue = number | readonly number[] | string | { float: number };

const ELEMENT_TYPE = {
  float: onnx.TensorProto.DataType.FLOAT,
  int64: onnx.TensorProto.DataType.INT64,
  bool: onnx.TensorProto.DataType.BOOL,
} as const;

export const OPSET_VERSION = 13;

/** One initializer's bytes kept out of the protobuf, named as the file its tensor points to. */
export interface ExternalTensorData {
  readonly path: string;
  readonly data: Uint8Array;
}

/**
 * A model as onnxruntime loads it: the graph's protobuf, with the large initializers (the weights) outside it as
 * in-memory "files" (the sessions' externalData option). Serialising 100 MB of weights into the protobuf copied
 * them once more for nothing: on this VM, where a first touch of memory is slow, 0.3 s of start-up and as much
 * memory. `bytes` alone is a whole model when `external` is empty.
 */
export interface OnnxModel {
  readonly bytes: Uint8Array;
  readonly external: readonly ExternalTensorData[];
}

/** Float initializers at least this large go outside the protobuf (toModel); small ones stay inline. */
const EXTERNAL_MIN_BYTES = 64 * 1024;

export class GraphBuilder {
  private readonly nodes: OnnxTypes.INodeProto[] = [];
  private readonly initializers: OnnxTypes.ITensorProto[] = [];
  private readonly inputs: OnnxTypes.IValueInfoProto[] = [];
  private readonly outputs: OnnxTypes.IValueInfoProto[] = [];
  private readonly usedNames = new Set<string>();
  private readonly scalarCache = new Map<string, Value>();
  private counter = 0;

  constructor(private readonly graphName: string) {}

  /** A fresh, readable value name: `hint` when free, else `hint_N`. */
  uniqueName(hint: string): string {
    let name = hint;
    while (this.usedNames.has(name)) name = `${hint}_${++this.counter}`;
    this.usedNames.add(name);
    return name;
  }

  input(name: string, shape: readonly number[], type: Value['type'] = 'float'): Value {
    if (this.usedNames.has(name)) throw new Error(`Graph input name "${name}" is already used.`);
    this.usedNames.add(name);
    this.inputs.push(valueInfo(name, shape, type));
    return { name, shape, type };
  }

  output(value: Value, name: string): Value {
    // Graph outputs need their own names, so route through Identity.
    const out = this.node('Identity', [value], {}, { name, shape: value.shape, type: value.type });
    this.outputs.push(valueInfo(out.name, out.shape, out.type));
    return out;
  }

  floatInitializer(hint: string, data: Float32Array, shape: readonly number[]): Value {
    checkCount(hint, data.length, shape);
    const name = this.uniqueName(hint);
    this.initializers.push({
      name,
      dataType: ELEMENT_TYPE.float,
      dims: [...shape],
      rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    });
    return { name, shape, type: 'float' };
  }

  int64Initializer(hint: string, data: readonly number[]): Value {
    const name = this.uniqueName(hint);
    const raw = new BigInt64Array(data.map((v) => BigInt(v)));
    this.initializers.push({
      name,
      dataType: ELEMENT_TYPE.int64,
      dims: [data.length],
      rawData: new Uint8Array(raw.buffer),
    });
    return { name, shape: [data.length], type: 'int64' };
  }

  /** A float scalar constant, shared between every node that uses the same value. */
  scalar(value: number): Value {
    const key = Object.is(value, -0) ? '-0' : String(value);
    const cached = this.scalarCache.get(key);
    if (cached) return cached;
    const name = this.uniqueName(`const_${key.replace(/[^0-9a-z]/gi, '_')}`);
    this.initializers.push({
      name,
      dataType: ELEMENT_TYPE.float,
      dims: [],
      rawData: new Uint8Array(new Float32Array([value]).buffer),
    });
    const v: Value = { name, shape: [], type: 'float' };
    this.scalarCache.set(key, v);
    return v;
  }

  /** Adds one node with one output; `out` gives the output's shape (and optionally its name and type). */
  node(
    opType: string,
    inputs: readonly (Value | null)[],
    attributes: Record<string, AttributeValue>,
    out: { shape: readonly number[]; name?: string; type?: Value['type'] },
  ): Value {
    const name = this.uniqueName(out.name ?? `${opType.toLowerCase()}`);
    this.nodes.push({
      name: `${opType}:${name}`,
      opType,
      input: inputs.map((v) => (v ? v.name : '')),
      output: [name],
      attribute: Object.entries(attributes).map(([key, value]) => attribute(key, value)),
    });
    return { name, shape: out.shape, type: out.type ?? 'float' };
  }

  /** Adds one node with several outputs, described in order (a null entry leaves that output unused). */
  nodeWithOutputs(
    opType: string,
    inputs: readonly (Value | null)[],
    attributes: Record<string, AttributeValue>,
    outs: readonly { shape: readonly number[]; name?: string; type?: Value['type'] }[],
  ): Value[] {
    const values = outs.map((out) => ({
      name: this.uniqueName(out.name ?? opType.toLowerCase()),
      shape: out.shape,
      type: out.type ?? ('float' as const),
    }));
    this.nodes.push({
      name: `${opType}:${values[0]!.name}`,
      opType,
      input: inputs.map((v) => (v ? v.name : '')),
      output: values.map((v) => v.name),
      attribute: Object.entries(attributes).map(([key, value]) => attribute(key, value)),
    });
    return values;
  }

  get nodeCount(): number {
    return this.nodes.length;
  }

  /** Serialises the whole model, weights inside (ONNX IR 8, default-domain opset OPSET_VERSION). */
  toBytes(): Uint8Array {
    return this.encode(this.initializers);
  }

  /**
   * The model with its large float initializers outside the protobuf, their bytes not copied (views of the arrays
   * given to floatInitializer, which must not change while a session is created from it).
   */
  toModel(): OnnxModel {
    const external: ExternalTensorData[] = [];
    const initializers = this.initializers.map((tensor): OnnxTypes.ITensorProto => {
      // rawData is a view of the array given to floatInitializer, not a copy.
      const data = tensor.rawData;
      if (tensor.dataType !== ELEMENT_TYPE.float || !data || data.byteLength < EXTERNAL_MIN_BYTES) return tensor;
      const path = `initializer_${external.length}.bin`;
      external.push({ path, data });
      return {
        name: tensor.name,
        dataType: tensor.dataType,
        dims: tensor.dims,
        dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
        externalData: [
          { key: 'location', value: path },
          { key: 'offset', value: '0' },
          { key: 'length', value: String(data.byteLength) },
        ],
      };
    });
    return { bytes: this.encode(initializers), external };
  }

  private encode(initializers: readonly OnnxTypes.ITensorProto[]): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: 'neural-style-studio',
      opsetImport: [{ domain: '', version: OPSET_VERSION }],
      graph: {
        name: this.graphName,
        node: this.nodes,
        initializer: [...initializers],
        input: this.inputs,
        output: this.outputs,
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

function checkCount(name: string, length: number, shape: readonly number[]): void {
  const expected = shape.reduce((a, b) => a * b, 1);
  if (expected !== length) {
    throw new RangeError(`Initializer "${name}" has ${length} values but shape [${shape.join(', ')}] needs ${expected}.`);
  }
}

function valueInfo(name: string, shape: readonly number[], type: Value['type']): OnnxTypes.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: ELEMENT_TYPE[type],
        shape: { dim: shape.map((d) => ({ dimValue: d })) },
      },
    },
  };
}

function attribute(name: string, value: AttributeValue): OnnxTypes.IAttributeProto {
  const A = onnx.AttributeProto.AttributeType;
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new TypeError(`Attribute "${name}": use { float } for non-integer ${value}.`);
    return { name, type: A.INT, i: value };
  }
  if (typeof value === 'string') return { name, type: A.STRING, s: new TextEncoder().encode(value) };
  if ('float' in value) return { name, type: A.FLOAT, f: value.float };
  return { name, type: A.INTS, ints: [...value] };
}

/** Element count of a shape. */
export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
