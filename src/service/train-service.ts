import * as tf from '@tensorflow/tfjs';
import { tableFromIPC } from 'apache-arrow';
import * as Comlink from 'comlink';
import { InvalidArgumentError } from '../errors.ts';
import { probeTrainingStep, useBackend, type BackendName } from '../models/backend.ts';
import type { ClassificationMetrics, RegressionMetrics } from '../models/metrics.ts';
import { evaluate } from '../models/evaluate.ts';
import { trainingMatrix } from '../models/matrix.ts';
import { buildModel, normalizeModelSpec, outputUnits, type NormalizedModelSpec } from '../models/spec.ts';

/** How to fit: epochs, batch size, shuffling (seeded by the spec's seed). */
export interface FitOptions {
  epochs: number;
  batchSize: number;
  shuffle: boolean;
}

/** A training job for the training worker: the model, the data as Arrow IPC (transferred), what to fit. */
export interface TrainRequest {
  spec: unknown;
  backend: BackendName;
  /** Feature columns, in the order the model reads them. */
  features: string[];
  label: string;
  train: Uint8Array;
  test: Uint8Array;
  fit: FitOptions;
}

/** Progress of a training job: after every epoch, and every few batches in between. */
export interface TrainProgress {
  epoch: number;
  epochs: number;
  /** Batches done in this epoch, and their number. */
  batch: number;
  batches: number;
  /** Mean loss over the batches of this epoch so far. */
  loss: number;
  /** At an epoch's end: the spec's training metrics over that epoch (tfjs's running values). */
  metrics: Record<string, number>;
  /** Tensors alive in the training worker (stable from epoch to epoch when nothing leaks). */
  tensors: number;
  /** Whether this report closes an epoch. */
  epochEnd: boolean;
}

/** The serialisable parts of a trained tfjs model (tfjs io.ModelArtifacts with the weights in one buffer). */
export interface TrainedArtifacts {
  modelTopology: unknown;
  weightSpecs: { name: string; shape: number[]; dtype: string }[];
  weightData: ArrayBuffer;
}

export interface TrainResult {
  backend: BackendName;
  /** Why the preferred backend was not used, if it was not. */
  fellBack: string | null;
  spec: NormalizedModelSpec;
  /** Loss per epoch. */
  history: { epoch: number; loss: number }[];
  /** Metrics on the test split (null when it is empty). */
  metrics: RegressionMetrics | ClassificationMetrics | null;
  /** Model outputs on the test rows, row-major (n × outputs), for per-slice metrics. */
  testPredictions: Float32Array;
  artifacts: TrainedArtifacts;
  timings: { toFirstBatchMs: number; fitMs: number; samplesPerSecond: number };
}

function validateFit(fit: FitOptions): void {
  if (!Number.isSafeInteger(fit.epochs) || fit.epochs < 1 || fit.epochs > 100_000) throw new InvalidArgumentError('fit.epochs must be an integer from 1 to 100,000.');
  if (!Number.isSafeInteger(fit.batchSize) || fit.batchSize < 1 || fit.batchSize > 1_000_000) throw new InvalidArgumentError('fit.batchSize must be an integer from 1 to 1,000,000.');
}

/**
 * Trains one model, in the training worker: Arrow IPC → typed arrays → tensors (no row objects), a one-step probe
 * of the backend (falling back to cpu when a kernel is missing), `fit` with progress, evaluation on the test split,
 * and the artifacts captured with a save handler. Aborting is the caller's job: it terminates the worker.
 */
export async function trainModel(request: TrainRequest, onProgress: ((progress: TrainProgress) => void) | null): Promise<TrainResult> {
  const started = performance.now();
  const spec = normalizeModelSpec(request.spec);
  validateFit(request.fit);
  const train = trainingMatrix(tableFromIPC(request.train), request.features, request.label, spec);
  const test = trainingMatrix(tableFromIPC(request.test), request.features, request.label, spec);
  if (train.rows === 0) throw new InvalidArgumentError('The train split is empty.');
  const inputs = request.features.length;
  const outputs = outputUnits(spec);
  let { backend, fellBack } = await useBackend(request.backend);
  try {
    await probeTrainingStep(() => buildModel(tf, spec, inputs), inputs, outputs);
  } catch (error) {
    if (backend === 'cpu') throw error;
    fellBack = `${backend}: ${(error as Error).message}`;
    ({ backend } = await useBackend('cpu'));
  }
  const model = buildModel(tf, spec, inputs);
  const xs = tf.tensor2d(train.x, [train.rows, inputs]);
  const ys = tf.tensor2d(train.y, [train.rows, outputs]);
  const batches = Math.ceil(train.rows / request.fit.batchSize);
  const history: { epoch: number; loss: number }[] = [];
  let epochLoss = 0;
  let firstBatchAt: number | null = null;
  let lastReport = 0;
  const fitStarted = performance.now();
  try {
    await model.fit(xs, ys, {
      epochs: request.fit.epochs,
      batchSize: request.fit.batchSize,
      shuffle: request.fit.shuffle,
      verbose: 0,
      callbacks: {
        onEpochBegin: () => {
          epochLoss = 0;
        },
        onBatchEnd: (batch, logs) => {
          firstBatchAt ??= performance.now();
          epochLoss += logs?.['loss'] ?? 0;
          const now = performance.now();
          // The first batch is always reported (the caller times it), then at most one report per 250 ms.
          if (onProgress !== null && (lastReport === 0 || now - lastReport > 250)) {
            lastReport = now;
            const epoch = history.length;
            onProgress({ epoch, epochs: request.fit.epochs, batch: batch + 1, batches, loss: epochLoss / (batch + 1), metrics: {}, tensors: tf.memory().numTensors, epochEnd: false });
          }
        },
        onEpochEnd: (epoch, logs) => {
          const loss = logs?.['loss'] ?? epochLoss / batches;
          history.push({ epoch, loss });
          const metrics = Object.fromEntries(spec.metrics.flatMap((m) => (typeof logs?.[m] === 'number' ? [[m, logs[m]]] : [])));
          onProgress?.({ epoch, epochs: request.fit.epochs, batch: batches, batches, loss, metrics, tensors: tf.memory().numTensors, epochEnd: true });
        },
      },
    });
    const fitMs = performance.now() - fitStarted;
    const testPredictions = test.rows === 0
      ? new Float32Array(0)
      : tf.tidy(() => (model.predict(tf.tensor2d(test.x, [test.rows, inputs])) as tf.Tensor).dataSync() as Float32Array).slice();
    const metrics = evaluate(spec, test.labels, testPredictions);
    let captured: TrainedArtifacts | null = null;
    await model.save(
      tf.io.withSaveHandler((artifacts) => {
        const data = artifacts.weightData;
        if (data === undefined || Array.isArray(data)) throw new Error('tfjs returned weights in an unexpected form.');
        captured = { modelTopology: artifacts.modelTopology, weightSpecs: (artifacts.weightSpecs ?? []).map((w) => ({ name: w.name, shape: [...w.shape], dtype: w.dtype })), weightData: data };
        return Promise.resolve({ modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } });
      }),
    );
    if (captured === null) throw new Error('tfjs did not hand over the model artifacts.');
    const artifacts: TrainedArtifacts = captured;
    const result: TrainResult = {
      backend,
      fellBack,
      spec,
      history,
      metrics,
      testPredictions,
      artifacts,
      timings: {
        toFirstBatchMs: (firstBatchAt ?? performance.now()) - started,
        fitMs,
        samplesPerSecond: (train.rows * request.fit.epochs) / (fitMs / 1000),
      },
    };
    return Comlink.transfer(result, [artifacts.weightData, testPredictions.buffer]);
  } finally {
    tf.dispose([xs, ys]);
    model.optimizer.dispose();
    model.dispose();
  }
}
