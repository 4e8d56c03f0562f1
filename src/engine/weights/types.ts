// The one in-memory form every weights loader produces.

/** One conv layer's parameters: kernel in ONNX OIHW layout [out, in, 3, 3], bias [out]. */
export interface ConvWeights {
  /**
   * May be computed on each read: quantized weights are held as their bytes (a quarter of the memory, for the
   * whole run) and dequantized when a graph is built. Read it once per use.
   */
  readonly kernel: Float32Array;
  /** The kernel as stored, where it is held quantized: read through kernelValues to check or hash it without a copy. */
  readonly quantized?: QuantizedKernel;
  readonly bias: Float32Array;
  readonly outChannels: number;
  readonly inChannels: number;
}

/** A uint8 kernel as TF.js quantizes it: value = byte · scale + min. */
export interface QuantizedKernel {
  readonly bytes: Uint8Array;
  readonly scale: number;
  readonly min: number;
}

export interface Vgg19Weights {
  /** Keyed by canonical Keras layer name; a file may hold only the first few layers. */
  readonly layers: ReadonlyMap<string, ConvWeights>;
  /** Where they came from, for error messages and provenance ("tfjs:/path/model.json", "random:seed=1"). */
  readonly source: string;
}
