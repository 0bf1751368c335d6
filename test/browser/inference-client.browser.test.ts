// The inference worker's own predict port (InferenceClient.predict): the outputs equal tfjs on the same rows on this
// page (one row, and more rows than one tfjs slice), errors keep their class across the port, and a worker stopped
// with predictions in flight fails them instead of leaving them pending.
import * as tf from '@tensorflow/tfjs';
import { afterEach, describe, expect, it } from 'vitest';
import { NotFoundError, StoreClosedError } from '../../src/errors.ts';
import { sha256Hex } from '../../src/models/artifacts.ts';
import { InferenceClient } from '../../src/pipelines/inference-client.ts';
import { TFJS_ROWS } from '../../src/service/inference-service.ts';
import { seededRandom } from '../../src/util/random.ts';

const INPUTS = 6;
const OUTPUTS = 3;

async function smallModel(): Promise<{ model: tf.LayersModel; artifacts: { modelTopology: unknown; weightSpecs: unknown; weightData: ArrayBuffer; sha256: string } }> {
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [INPUTS], units: 8, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }),
      tf.layers.dense({ units: OUTPUTS, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }) }),
    ],
  });
  const saved: tf.io.ModelArtifacts[] = [];
  await model.save(tf.io.withSaveHandler((a) => {
    saved.push(a);
    return Promise.resolve({ modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } });
  }));
  const { modelTopology, weightSpecs, weightData } = saved[0]!;
  const weights = (weightData as ArrayBuffer).slice(0);
  return { model, artifacts: { modelTopology, weightSpecs, weightData: weights, sha256: await sha256Hex(weights) } };
}

function rows(count: number, seed: number): Float32Array {
  const random = seededRandom(seed);
  return Float32Array.from({ length: count * INPUTS }, () => random() * 4 - 2);
}

const clients: InferenceClient[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.terminate();
});

describe('InferenceClient', () => {
  it('predicts what tfjs predicts on this page, for one row and for more rows than one tfjs slice', async () => {
    await tf.setBackend('cpu');
    const { model, artifacts } = await smallModel();
    const client = new InferenceClient('test-inference');
    clients.push(client);
    await client.api.load('m@1', artifacts, 'cpu');
    for (const count of [1, TFJS_ROWS * 2 + 17]) {
      const x = rows(count, count);
      const expected = tf.tidy(() => (model.predict(tf.tensor2d(x, [count, INPUTS])) as tf.Tensor).dataSync() as Float32Array);
      const outputs = await client.predict('m@1', x.slice(), count);
      expect(outputs.length).toBe(count * OUTPUTS);
      for (let i = 0; i < outputs.length; i++) expect(outputs[i]).toBeCloseTo(expected[i]!, 5);
    }
    // Requests in flight together are answered each with its own outputs.
    const inputs = [5, 9, 2].map((seed) => rows(4, seed));
    const answers = await Promise.all(inputs.map((x) => client.predict('m@1', x.slice(), 4)));
    answers.forEach((outputs, k) => {
      const expected = tf.tidy(() => (model.predict(tf.tensor2d(inputs[k]!, [4, INPUTS])) as tf.Tensor).dataSync() as Float32Array);
      expect(Array.from(outputs, (v) => v.toFixed(5))).toEqual(Array.from(expected, (v) => v.toFixed(5)));
    });
    model.dispose();
  });

  it('rejects with the worker error’s own class, and fails predictions in flight when it is terminated', async () => {
    const client = new InferenceClient('test-inference');
    clients.push(client);
    const missing = client.predict('nothing@1', new Float32Array(INPUTS), 1);
    await expect(missing).rejects.toBeInstanceOf(NotFoundError);
    await expect(missing).rejects.toMatchObject({ code: 'NOT_FOUND' });

    const inFlight = client.predict('nothing@1', new Float32Array(INPUTS), 1);
    client.terminate();
    await expect(inFlight).rejects.toBeInstanceOf(StoreClosedError);
    await expect(client.predict('nothing@1', new Float32Array(INPUTS), 1)).rejects.toBeInstanceOf(StoreClosedError);
  });
});
