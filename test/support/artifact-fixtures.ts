/**
 * Hand-built, valid tfjs layers-model artifacts for tests of src/models/artifacts.ts. Built from the documented
 * format (Keras-style topology, weight specs in byte order, float32 weights concatenated), not by tfjs, which these
 * tests must not need. Every call returns fresh objects, so a test may mutate what it gets.
 */
import { seededRandom } from '../../src/util/random.ts';

/** An artifact as a tfjs save handler would receive it; deliberately loose so tests can corrupt it. */
export interface ArtifactFixture {
  modelTopology: Record<string, unknown>;
  weightSpecs: { name: string; shape: number[]; dtype: string }[];
  weightData: ArrayBuffer;
  trainingConfig?: Record<string, unknown>;
}

/** The import form: model.json's object and text, plus the shards its manifest names. */
export interface ModelJsonFixture {
  json: {
    modelTopology: Record<string, unknown>;
    format: string;
    generatedBy: string;
    convertedBy: null;
    weightsManifest: { paths: string[]; weights: { name: string; shape: number[]; dtype: string }[] }[];
    trainingConfig?: Record<string, unknown>;
  };
  text: string;
  shards: ArrayBuffer[];
  weightBytes: number;
}

const KERAS_VERSION = 'tfjs-layers 4.22.0';

function denseConfig(name: string, units: number, activation: string, inputShape?: (number | null)[]): Record<string, unknown> {
  return {
    units,
    activation,
    use_bias: true,
    kernel_initializer: { class_name: 'VarianceScaling', config: { scale: 1, mode: 'fan_avg', distribution: 'normal', seed: null } },
    bias_initializer: { class_name: 'Zeros', config: {} },
    kernel_regularizer: null,
    bias_regularizer: null,
    activity_regularizer: null,
    kernel_constraint: null,
    bias_constraint: null,
    name,
    trainable: true,
    ...(inputShape === undefined ? {} : { batch_input_shape: inputShape }),
    dtype: 'float32',
  };
}

function randomFloats(count: number, seed: number): ArrayBuffer {
  const random = seededRandom(seed);
  const values = new Float32Array(count);
  for (let i = 0; i < count; i++) values[i] = random() * 2 - 1;
  return values.buffer;
}

function elements(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Sequential: Dense 20→8 relu, Dense 8→1 linear; 177 float32 weights, 708 bytes. */
export function denseArtifacts(seed = 1): ArtifactFixture {
  const weightSpecs = [
    { name: 'dense_Dense1/kernel', shape: [20, 8], dtype: 'float32' },
    { name: 'dense_Dense1/bias', shape: [8], dtype: 'float32' },
    { name: 'dense_Dense2/kernel', shape: [8, 1], dtype: 'float32' },
    { name: 'dense_Dense2/bias', shape: [1], dtype: 'float32' },
  ];
  const count = weightSpecs.reduce((sum, spec) => sum + elements(spec.shape), 0);
  return {
    modelTopology: {
      class_name: 'Sequential',
      config: {
        name: 'sequential_1',
        layers: [
          { class_name: 'Dense', config: denseConfig('dense_Dense1', 8, 'relu', [null, 20]) },
          { class_name: 'Dense', config: denseConfig('dense_Dense2', 1, 'linear') },
        ],
      },
      keras_version: KERAS_VERSION,
      backend: 'tensor_flow.js',
    },
    weightSpecs,
    weightData: randomFloats(count, seed),
  };
}

/** The same model with a training config (Adam, mean squared error), as LayersModel.save writes it after compile. */
export function denseArtifactsWithTraining(seed = 1): ArtifactFixture {
  return {
    ...denseArtifacts(seed),
    trainingConfig: {
      loss: 'meanSquaredError',
      metrics: ['mse'],
      optimizer_config: { class_name: 'Adam', config: { learningRate: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 } },
    },
  };
}

/**
 * Functional: input(20) → two Dense(8) branches → Concatenate → Dense(1); layers refer to each other by name
 * through `inbound_nodes`.
 */
export function functionalArtifacts(seed = 2): ArtifactFixture {
  const node = (...names: string[]): unknown[][][] => [names.map((n) => [n, 0, 0, {}])];
  const weightSpecs = [
    { name: 'branch_a/kernel', shape: [20, 8], dtype: 'float32' },
    { name: 'branch_a/bias', shape: [8], dtype: 'float32' },
    { name: 'branch_b/kernel', shape: [20, 8], dtype: 'float32' },
    { name: 'branch_b/bias', shape: [8], dtype: 'float32' },
    { name: 'head/kernel', shape: [16, 1], dtype: 'float32' },
    { name: 'head/bias', shape: [1], dtype: 'float32' },
  ];
  const count = weightSpecs.reduce((sum, spec) => sum + elements(spec.shape), 0);
  return {
    modelTopology: {
      class_name: 'Model',
      config: {
        name: 'two_branch',
        layers: [
          {
            name: 'features',
            class_name: 'InputLayer',
            config: { batch_input_shape: [null, 20], dtype: 'float32', sparse: false, name: 'features' },
            inbound_nodes: [],
          },
          { name: 'branch_a', class_name: 'Dense', config: denseConfig('branch_a', 8, 'relu'), inbound_nodes: node('features') },
          { name: 'branch_b', class_name: 'Dense', config: denseConfig('branch_b', 8, 'tanh'), inbound_nodes: node('features') },
          { name: 'joined', class_name: 'Concatenate', config: { axis: -1, name: 'joined', trainable: true }, inbound_nodes: node('branch_a', 'branch_b') },
          { name: 'head', class_name: 'Dense', config: denseConfig('head', 1, 'sigmoid'), inbound_nodes: node('joined') },
        ],
        input_layers: [['features', 0, 0]],
        output_layers: [['head', 0, 0]],
      },
      keras_version: KERAS_VERSION,
      backend: 'tensor_flow.js',
    },
    weightSpecs,
    weightData: randomFloats(count, seed),
  };
}

/** {@link denseArtifacts} as an imported model.json with its weights in one shard, `weights.bin`. */
export function denseModelJson(seed = 1): ModelJsonFixture {
  const artifacts = denseArtifacts(seed);
  const json: ModelJsonFixture['json'] = {
    modelTopology: artifacts.modelTopology,
    format: 'layers-model',
    generatedBy: 'TensorFlow.js tfjs-layers v4.22.0',
    convertedBy: null,
    weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
  };
  return { json, text: JSON.stringify(json), shards: [artifacts.weightData], weightBytes: artifacts.weightData.byteLength };
}
