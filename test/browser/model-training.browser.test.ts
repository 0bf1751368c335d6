import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { buildModel, normalizeModelSpec } from '../../src/models/spec.ts';
import { probeTrainingStep, useBackend } from '../../src/models/backend.ts';
import { seededRandom } from '../../src/util/random.ts';

/** Rows with a known relation: y = 3a − 2b + 1 (+ small noise); class = a + b > 0. */
function dataset(n: number, seed: number) {
  const random = seededRandom(seed);
  const x = new Float32Array(n * 2);
  const y = new Float32Array(n);
  const cls = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const a = random() * 4 - 2;
    const b = random() * 4 - 2;
    x[2 * i] = a;
    x[2 * i + 1] = b;
    y[i] = 3 * a - 2 * b + 1 + (random() - 0.5) * 0.05;
    cls[i] = a + b > 0 ? 1 : 0;
  }
  return { x, y, cls };
}

describe('dense models from a spec, on tfjs in Chromium', () => {
  for (const backend of ['wasm', 'cpu'] as const) {
    it(`learns a known linear relation (regression) on ${backend}, without leaking tensors between epochs`, async () => {
      expect(await useBackend(backend)).toEqual({ backend, fellBack: null });
      const spec = normalizeModelSpec({ task: 'regression', layers: [{ units: 16, activation: 'relu' }], optimizer: { name: 'adam', learningRate: 0.02 } });
      const tensorsBeforeProbe = tf.memory().numTensors;
      await probeTrainingStep(() => buildModel(tf, spec, 2), 2, 1);
      expect(tf.memory().numTensors).toBe(tensorsBeforeProbe); // the probe leaves nothing behind
      const model = buildModel(tf, spec, 2);
      const train = dataset(2000, 1);
      const xs = tf.tensor2d(train.x, [2000, 2]);
      const ys = tf.tensor2d(train.y, [2000, 1]);
      const counts: number[] = [];
      await model.fit(xs, ys, {
        epochs: 30, batchSize: 64, shuffle: false, verbose: 0,
        callbacks: { onEpochEnd: () => void counts.push(tf.memory().numTensors) },
      });
      expect(new Set(counts.slice(1)).size).toBe(1); // stable from epoch to epoch
      const test = dataset(500, 2);
      const predicted = tf.tidy(() => (model.predict(tf.tensor2d(test.x, [500, 2])) as tf.Tensor).dataSync());
      let mae = 0;
      for (let i = 0; i < 500; i++) mae += Math.abs(predicted[i]! - test.y[i]!) / 500;
      expect(mae).toBeLessThan(0.25); // y spans about −11 … 13
      tf.dispose([xs, ys]);
      model.dispose();
    });
  }

  it('separates two classes (binary) with sigmoid output and cross-entropy', async () => {
    await useBackend('wasm');
    const model = buildModel(tf, normalizeModelSpec({ task: 'binary', layers: [{ units: 8 }], optimizer: { name: 'adam', learningRate: 0.05 } }), 2);
    const train = dataset(2000, 3);
    const xs = tf.tensor2d(train.x, [2000, 2]);
    const ys = tf.tensor2d(train.cls, [2000, 1]);
    await model.fit(xs, ys, { epochs: 20, batchSize: 64, verbose: 0 });
    const test = dataset(500, 4);
    const p = tf.tidy(() => (model.predict(tf.tensor2d(test.x, [500, 2])) as tf.Tensor).dataSync());
    let correct = 0;
    for (let i = 0; i < 500; i++) if ((p[i]! >= 0.5 ? 1 : 0) === test.cls[i]) correct++;
    expect(correct / 500).toBeGreaterThan(0.95);
    tf.dispose([xs, ys]);
    model.dispose();
  });

  it('builds the same initial weights from the same seed', async () => {
    await useBackend('cpu');
    const spec = normalizeModelSpec({ task: 'multiclass', classes: 3, layers: [{ units: 4 }], seed: 7 });
    const a = buildModel(tf, spec, 5);
    const b = buildModel(tf, spec, 5);
    expect(a.getWeights().map((w) => Array.from(w.dataSync()))).toEqual(b.getWeights().map((w) => Array.from(w.dataSync())));
    expect(a.outputs[0]!.shape).toEqual([null, 3]);
    a.dispose();
    b.dispose();
  });
});
