/// <reference lib="webworker" />
// The raw baseline of batch inference: plain tfjs (wasm, like Larder's inference worker) predicting a row-major
// float32 matrix in chunks, the model loaded from the same tfjs files Larder's registry exports.
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../src/models/backend.ts';

interface Request {
  modelJson: string;
  weights: ArrayBuffer;
  x: Float32Array;
  rows: number;
  features: number;
  chunkRows: number;
}

self.onmessage = async (event: MessageEvent<Request>) => {
  try {
    const { modelJson, weights, x, rows, features, chunkRows } = event.data;
    const { backend } = await useBackend('wasm');
    const json = JSON.parse(modelJson) as tf.io.ModelJSON;
    const model = await tf.loadLayersModel(tf.io.fromMemory({
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest.flatMap((m) => m.weights),
      weightData: weights,
    }));
    tf.tidy(() => model.predict(tf.zeros([1, features]))); // kernel set-up, as Larder's inference worker does on load
    const predictions = new Float64Array(rows);
    const started = performance.now();
    for (let start = 0; start < rows; start += chunkRows) {
      const count = Math.min(chunkRows, rows - start);
      const out = tf.tidy(() => (model.predict(tf.tensor2d(x.subarray(start * features, (start + count) * features), [count, features])) as tf.Tensor).dataSync());
      for (let i = 0; i < count; i++) predictions[start + i] = out[i]!;
    }
    const seconds = (performance.now() - started) / 1000;
    model.dispose();
    self.postMessage({ seconds, rowsPerSecond: rows / seconds, backend, first: predictions[0] });
  } catch (error) {
    self.postMessage({ error: String(error) });
  }
};
