// The one in-memory form every weights loader produces.

/** One conv layer's parameters: kernel in ONNX OIHW layout [out, in, 3, 3], bias [out]. */
export interface ConvWeights {
  readonly kernel: Float32Array;
  readonly bias: Float32Array;
  readonly outChannels: number;
  readonly inChannels: number;
}

export interface Vgg19Weights {
  /** Keyed by canonical Keras layer name; a file may hold only the first few layers. */
  readonly layers: ReadonlyMap<string, ConvWeights>;
  /** Where they came from, for error messages and provenance ("tfjs:/path/model.json", "random:seed=1"). */
  readonly source: string;
}
