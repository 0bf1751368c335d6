/// <reference lib="webworker" />
// The raw baseline of the training benchmark: plain tfjs, the same MLP and backend as Larder's training worker.
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../src/models/backend.ts';

self.onmessage = async (event: MessageEvent<{ x: Float32Array; y: Float32Array; n: number; features: number; epochs: number; batchSize: number }>) => {
  try {
    const { x, y, n, features, epochs, batchSize } = event.data;
    const { backend } = await useBackend('wasm');
    const model = tf.sequential({
      layers: [
        tf.layers.dense({ units: 64, activation: 'relu', inputShape: [features] }),
        tf.layers.dense({ units: 32, activation: 'relu' }),
        tf.layers.dense({ units: 1 }),
      ],
    });
    model.compile({ optimizer: tf.train.adam(0.001), loss: 'meanSquaredError' });
    const xs = tf.tensor2d(x, [n, features]);
    const ys = tf.tensor2d(y, [n, 1]);
    const started = performance.now();
    await model.fit(xs, ys, { epochs, batchSize, shuffle: true, verbose: 0 });
    const fitSeconds = (performance.now() - started) / 1000;
    tf.dispose([xs, ys]);
    model.dispose();
    self.postMessage({ fitSeconds, samplesPerSecond: (n * epochs) / fitSeconds, backend });
  } catch (error) {
    self.postMessage({ error: String(error) });
  }
};
