import type * as tf from '@tensorflow/tfjs';
import { InvalidArgumentError } from '../errors.ts';

/**
 * A model described as data, so it crosses a worker boundary (a function or a tfjs model object cannot): dense
 * networks for regression, binary and multi-class classification. The training worker builds the tfjs model from it.
 */
export interface ModelSpec {
  task: 'regression' | 'binary' | 'multiclass';
  /** Hidden layers, input side first. The output layer follows from the task (and `classes`). */
  layers: DenseLayerSpec[];
  /** Number of classes of a multiclass task (labels 0 … classes − 1). */
  classes?: number;
  optimizer?: { name: 'adam' | 'sgd' | 'rmsprop'; learningRate?: number };
  /** Default: mse (regression), binaryCrossentropy, categoricalCrossentropy (sparse labels are one-hot encoded). */
  loss?: 'meanSquaredError' | 'meanAbsoluteError' | 'huberLoss' | 'binaryCrossentropy' | 'categoricalCrossentropy';
  /** Metrics tfjs reports per epoch during training (the final evaluation is Larder's own, whatever this says). */
  metrics?: TrainingMetric[];
  /** Seed of the weight initializers (reproducible runs). Default 42. */
  seed?: number;
}

export const TRAINING_METRICS = ['mae', 'mse', 'accuracy'] as const;
export type TrainingMetric = (typeof TRAINING_METRICS)[number];

export interface DenseLayerSpec {
  units: number;
  activation?: Activation;
  /** Dropout rate after the layer, in [0, 1). */
  dropout?: number;
  /** L2 regularization factor of the kernel. */
  l2?: number;
}

export const ACTIVATIONS = ['linear', 'relu', 'sigmoid', 'tanh', 'elu', 'selu', 'softplus', 'swish'] as const;
export type Activation = (typeof ACTIVATIONS)[number];

const LOSSES = ['meanSquaredError', 'meanAbsoluteError', 'huberLoss', 'binaryCrossentropy', 'categoricalCrossentropy'] as const;
const OPTIMIZERS = ['adam', 'sgd', 'rmsprop'] as const;

/** A validated spec with every default filled in. */
export interface NormalizedModelSpec {
  task: ModelSpec['task'];
  layers: Required<DenseLayerSpec>[];
  /** 1 for regression, 2 for binary, the class count for multiclass. */
  classes: number;
  optimizer: { name: 'adam' | 'sgd' | 'rmsprop'; learningRate: number };
  loss: NonNullable<ModelSpec['loss']>;
  metrics: TrainingMetric[];
  seed: number;
}

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * Validates a model spec and fills in its defaults. Pure.
 *
 * @example
 * ```ts
 * normalizeModelSpec({ task: 'regression', layers: [{ units: 64, activation: 'relu' }, { units: 32, activation: 'relu' }] });
 * ```
 */
export function normalizeModelSpec(spec: unknown): NormalizedModelSpec {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) throw new InvalidArgumentError('A model spec is an object: { task, layers, ... }.');
  const s = spec as Record<string, unknown>;
  for (const key of Object.keys(s)) {
    if (!['task', 'layers', 'classes', 'optimizer', 'loss', 'metrics', 'seed'].includes(key)) throw new InvalidArgumentError(`Unknown model spec field '${key}'.`);
  }
  const task = s['task'];
  if (task !== 'regression' && task !== 'binary' && task !== 'multiclass') {
    throw new InvalidArgumentError("task must be 'regression', 'binary' or 'multiclass'.");
  }
  const given = s['classes'];
  const classes = task === 'multiclass' ? given : task === 'binary' ? 2 : 1;
  if (typeof classes !== 'number' || !Number.isSafeInteger(classes) || (task === 'multiclass' && (classes < 3 || classes > 10_000))) {
    throw new InvalidArgumentError('A multiclass model needs classes: an integer from 3 to 10,000 (use task: binary for two).');
  }
  if (task !== 'multiclass' && given !== undefined && given !== classes) {
    throw new InvalidArgumentError('classes applies to multiclass models only.');
  }
  if (!Array.isArray(s['layers']) || s['layers'].length > 64) throw new InvalidArgumentError('layers must be an array of at most 64 dense layers.');
  const layers = (s['layers'] as unknown[]).map((layer, i): Required<DenseLayerSpec> => {
    if (typeof layer !== 'object' || layer === null) throw new InvalidArgumentError(`layers[${i}] must be { units, activation? }.`);
    const l = layer as Record<string, unknown>;
    for (const key of Object.keys(l)) {
      if (!['units', 'activation', 'dropout', 'l2'].includes(key)) throw new InvalidArgumentError(`Unknown field '${key}' in layers[${i}].`);
    }
    const units = l['units'];
    if (!Number.isSafeInteger(units) || (units as number) < 1 || (units as number) > 65_536) throw new InvalidArgumentError(`layers[${i}].units must be an integer from 1 to 65,536.`);
    const activation = l['activation'] ?? 'relu';
    if (!ACTIVATIONS.includes(activation as Activation)) throw new InvalidArgumentError(`layers[${i}].activation must be one of ${ACTIVATIONS.join(', ')}.`);
    const dropout = l['dropout'] ?? 0;
    if (!finite(dropout) || dropout < 0 || dropout >= 1) throw new InvalidArgumentError(`layers[${i}].dropout must be in [0, 1).`);
    const l2 = l['l2'] ?? 0;
    if (!finite(l2) || l2 < 0) throw new InvalidArgumentError(`layers[${i}].l2 must be a non-negative number.`);
    return { units: units as number, activation: activation as Activation, dropout, l2 };
  });
  const optimizerSpec = (s['optimizer'] ?? { name: 'adam' }) as Record<string, unknown>;
  if (typeof optimizerSpec !== 'object' || optimizerSpec === null || !OPTIMIZERS.includes(optimizerSpec['name'] as 'adam')) {
    throw new InvalidArgumentError(`optimizer must be { name: ${OPTIMIZERS.map((o) => `'${o}'`).join(' | ')}, learningRate? }.`);
  }
  const learningRate = optimizerSpec['learningRate'] ?? (optimizerSpec['name'] === 'sgd' ? 0.01 : 0.001);
  if (!finite(learningRate) || learningRate <= 0 || learningRate > 10) throw new InvalidArgumentError('optimizer.learningRate must be in (0, 10].');
  const defaultLoss = task === 'regression' ? 'meanSquaredError' : task === 'binary' ? 'binaryCrossentropy' : 'categoricalCrossentropy';
  const loss = s['loss'] ?? defaultLoss;
  if (typeof loss !== 'string' || !LOSSES.includes(loss as 'huberLoss')) throw new InvalidArgumentError(`loss must be one of ${LOSSES.join(', ')}.`);
  const fitsTask = task === 'regression' ? !loss.endsWith('Crossentropy') : loss === defaultLoss;
  if (!fitsTask) throw new InvalidArgumentError(`loss ${loss} does not fit a ${task} model.`);
  const metrics = s['metrics'] ?? [];
  if (!Array.isArray(metrics) || metrics.some((m) => !TRAINING_METRICS.includes(m as TrainingMetric))) {
    throw new InvalidArgumentError(`metrics must be a list of ${TRAINING_METRICS.join(', ')}.`);
  }
  if (task === 'regression' && metrics.includes('accuracy')) throw new InvalidArgumentError('accuracy is a classification metric.');
  const seed = s['seed'] ?? 42;
  if (!Number.isSafeInteger(seed)) throw new InvalidArgumentError('seed must be an integer.');
  return {
    task,
    layers,
    classes,
    optimizer: { name: optimizerSpec['name'] as 'adam', learningRate },
    loss: loss as NormalizedModelSpec['loss'],
    metrics: [...new Set(metrics as TrainingMetric[])],
    seed: seed as number,
  };
}

/** Units of the output layer: 1 for regression and binary, `classes` for multiclass. */
export function outputUnits(spec: NormalizedModelSpec): number {
  return spec.task === 'multiclass' ? spec.classes : 1;
}

/**
 * Builds and compiles the tfjs model of a spec for `inputs` features: the hidden layers, then the output layer
 * (linear for regression, sigmoid for binary, softmax for multiclass), with seeded initializers.
 */
export function buildModel(tfjs: typeof tf, spec: NormalizedModelSpec, inputs: number): tf.Sequential {
  if (!Number.isSafeInteger(inputs) || inputs < 1) throw new InvalidArgumentError('A model needs at least one input feature.');
  const model = tfjs.sequential();
  let seed = spec.seed;
  spec.layers.forEach((layer, i) => {
    model.add(
      tfjs.layers.dense({
        units: layer.units,
        activation: layer.activation,
        ...(i === 0 ? { inputShape: [inputs] } : {}),
        kernelInitializer: tfjs.initializers.glorotUniform({ seed: seed++ }),
        ...(layer.l2 > 0 ? { kernelRegularizer: tfjs.regularizers.l2({ l2: layer.l2 }) } : {}),
      }),
    );
    if (layer.dropout > 0) model.add(tfjs.layers.dropout({ rate: layer.dropout, seed: seed++ }));
  });
  model.add(
    tfjs.layers.dense({
      units: outputUnits(spec),
      activation: spec.task === 'regression' ? 'linear' : spec.task === 'binary' ? 'sigmoid' : 'softmax',
      ...(spec.layers.length === 0 ? { inputShape: [inputs] } : {}),
      kernelInitializer: tfjs.initializers.glorotUniform({ seed: seed++ }),
    }),
  );
  const optimizer = spec.optimizer.name === 'adam'
    ? tfjs.train.adam(spec.optimizer.learningRate)
    : spec.optimizer.name === 'sgd' ? tfjs.train.sgd(spec.optimizer.learningRate) : tfjs.train.rmsprop(spec.optimizer.learningRate);
  model.compile({ optimizer, loss: spec.loss, metrics: spec.metrics });
  return model;
}
