import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { tableFromArrays, tableFromIPC, tableToIPC } from 'apache-arrow';
import { runTrainingJob } from '../../src/models/trainer.ts';
import type { TrainProgress, TrainRequest } from '../../src/service/train-service.ts';
import type { ClassificationMetrics, RegressionMetrics } from '../../src/models/metrics.ts';
import { InvalidArgumentError, OperationAbortedError } from '../../src/index.ts';
import { seededRandom } from '../../src/util/random.ts';

/** Rows with a known relation: y = 3a − 2b + 1 (+ small noise); cls = a + b > 0. */
function rows(n: number, seed: number): Uint8Array {
  const random = seededRandom(seed);
  const a = new Float64Array(n);
  const b = new Float64Array(n);
  const y = new Float64Array(n);
  const cls = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    a[i] = random() * 4 - 2;
    b[i] = random() * 4 - 2;
    y[i] = 3 * a[i]! - 2 * b[i]! + 1 + (random() - 0.5) * 0.05;
    cls[i] = a[i]! + b[i]! > 0 ? 1 : 0;
  }
  return tableToIPC(tableFromArrays({ a, b, y, cls }), 'stream');
}

const request = (overrides: Partial<TrainRequest> = {}): TrainRequest => ({
  spec: { task: 'regression', layers: [{ units: 16, activation: 'relu' }], optimizer: { name: 'adam', learningRate: 0.02 } },
  backend: 'wasm',
  features: ['a', 'b'],
  label: 'y',
  train: rows(3000, 1),
  test: rows(500, 2),
  fit: { epochs: 25, batchSize: 64, shuffle: true },
  ...overrides,
});

describe('training jobs in a worker', () => {
  it('trains a regression model to the known relation, reports progress, leaks no tensors, hands over loadable artifacts', async () => {
    const progress: TrainProgress[] = [];
    const result = await runTrainingJob(request(), { onProgress: (p) => progress.push(p) });
    expect(result.backend).toBe('wasm');
    expect(result.fellBack).toBeNull();
    const metrics = result.metrics as RegressionMetrics;
    expect(metrics.count).toBe(500);
    expect(metrics.mae).toBeLessThan(0.3);
    expect(metrics.r2).toBeGreaterThan(0.99);
    expect(result.history.map((h) => h.epoch)).toEqual(Array.from({ length: 25 }, (_, i) => i));
    expect(result.history.at(-1)!.loss).toBeLessThan(result.history[0]!.loss);
    const ends = progress.filter((p) => p.epochEnd);
    expect(ends.map((p) => p.epoch)).toEqual(result.history.map((h) => h.epoch));
    expect(new Set(ends.slice(1).map((p) => p.tensors)).size).toBe(1); // stable from epoch to epoch
    expect(result.timings.samplesPerSecond).toBeGreaterThan(0);
    // The artifacts load into plain tfjs and predict what the worker predicted.
    const { artifacts } = result;
    expect(artifacts.weightSpecs.reduce((sum, w) => sum + w.shape.reduce((p, d) => p * d, 1) * 4, 0)).toBe(artifacts.weightData.byteLength);
    const model = await tf.loadLayersModel(tf.io.fromMemory({
      modelTopology: artifacts.modelTopology as tf.io.ModelJSON['modelTopology'],
      weightSpecs: artifacts.weightSpecs as tf.io.WeightsManifestEntry[],
      weightData: artifacts.weightData,
    }));
    const test = tf.tidy(() => Array.from((model.predict(tf.tensor2d(featuresOf(rows(500, 2)), [500, 2])) as tf.Tensor).dataSync()));
    test.forEach((v, i) => expect(v).toBeCloseTo(result.testPredictions[i]!, 4));
    model.dispose();
  });

  it('trains a binary classifier with metrics from our own code', async () => {
    const result = await runTrainingJob(request({
      spec: { task: 'binary', layers: [{ units: 8 }], optimizer: { name: 'adam', learningRate: 0.05 } }, label: 'cls', backend: 'cpu', fit: { epochs: 15, batchSize: 64, shuffle: true },
    }));
    expect(result.backend).toBe('cpu');
    const metrics = result.metrics as ClassificationMetrics;
    expect(metrics.accuracy).toBeGreaterThan(0.95);
    expect(metrics.rocAuc).toBeGreaterThan(0.99);
    expect(metrics.confusionMatrix.flat().reduce((a, b) => a + b, 0)).toBe(500);
  });

  it('trains on webgl when the browser can, and otherwise falls back to cpu with the reason', async () => {
    const result = await runTrainingJob(request({ backend: 'webgl', fit: { epochs: 3, batchSize: 64, shuffle: false } }));
    expect(['webgl', 'cpu']).toContain(result.backend);
    if (result.backend === 'cpu') expect(result.fellBack).toMatch(/^webgl: /);
    else expect(result.fellBack).toBeNull();
    expect((result.metrics as RegressionMetrics).count).toBe(500);
  });

  it('stops at once on abort, and reports bad input as typed errors across the worker boundary', async () => {
    const controller = new AbortController();
    const started = performance.now();
    const job = runTrainingJob(request({ fit: { epochs: 10_000, batchSize: 32, shuffle: true } }), {
      signal: controller.signal,
      onProgress: () => controller.abort(new Error('enough')),
    });
    await expect(job).rejects.toBeInstanceOf(OperationAbortedError);
    expect(performance.now() - started).toBeLessThan(30_000);
    await expect(runTrainingJob(request({ label: 'missing' }))).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(runTrainingJob(request({ spec: { task: 'regression', layers: [{ units: 0 }] } }))).rejects.toThrow(/units/);
    const done = new AbortController();
    done.abort();
    await expect(runTrainingJob(request(), { signal: done.signal })).rejects.toBeInstanceOf(OperationAbortedError);
  });
});

/** The a and b columns of an IPC table as one row-major array. */
function featuresOf(ipc: Uint8Array): Float32Array {
  const t = tableFromIPC(ipc);
  const a = t.getChild('a')!.toArray() as Float64Array;
  const b = t.getChild('b')!.toArray() as Float64Array;
  const out = new Float32Array(a.length * 2);
  for (let i = 0; i < a.length; i++) {
    out[2 * i] = a[i]!;
    out[2 * i + 1] = b[i]!;
  }
  return out;
}

