/// <reference lib="webworker" />
// The deployment benchmark's raw chain: plain tfjs (wasm, as in Larder's inference worker) holding the bench model
// and predicting one row per message — the worker half of an online prediction made of raw parts only.
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../src/models/backend.ts';

type Message = { kind: 'load'; modelJson: string; weights: ArrayBuffer } | { kind: 'predict'; row: Float32Array };

let model: tf.LayersModel | null = null;

self.onmessage = async (event: MessageEvent<Message>) => {
  const message = event.data;
  if (message.kind === 'predict') {
    const row = message.row;
    const out = tf.tidy(() => (model!.predict(tf.tensor2d(row, [1, row.length])) as tf.Tensor).dataSync() as Float32Array);
    self.postMessage(out, [out.buffer]);
    return;
  }
  await useBackend('wasm');
  const json = JSON.parse(message.modelJson) as tf.io.ModelJSON;
  model = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest.flatMap((m) => m.weights), weightData: message.weights }));
  const width = (model.inputs[0]!.shape.at(-1) as number);
  tf.tidy(() => model!.predict(tf.zeros([1, width]))); // kernel set-up, as Larder's inference worker does on load
  self.postMessage('loaded');
};
