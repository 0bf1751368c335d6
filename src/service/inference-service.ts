import * as tf from '@tensorflow/tfjs';
import { InvalidArgumentError, NotFoundError, serializeError, type SerializedError } from '../errors.ts';
import { loadValidatedArtifacts, validateArtifacts, verifySha256 } from '../models/artifacts.ts';
import { useBackend, type BackendName } from '../models/backend.ts';

/**
 * Rows per tfjs call: on the wasm backend a model predicts several times faster per row on slices of a few hundred
 * rows than on matrices of tens of thousands (measured by `node bench/run.mjs deploy`: 512 → 396k rows/s, 4,096 →
 * 246k, 65,536 → 16k for a 16 → 64 → 32 → 1 MLP).
 */
export const TFJS_ROWS = 512;

/** A predict request on an inference worker's port (see {@link InferenceService.attach}). */
export interface PredictRequest {
  id: number;
  key: string;
  x: Float32Array;
  rows: number;
}

/** The answer to a {@link PredictRequest}: the outputs, or the error predict threw. */
export type PredictAnswer = { id: number; outputs: Float32Array } | { id: number; error: SerializedError };

/** A model version's artifacts as the registry holds them, sent to the inference worker to be loaded. */
export interface InferenceArtifacts {
  modelTopology: unknown;
  weightSpecs: unknown;
  weightData: ArrayBuffer;
  sha256: string;
}

/**
 * The inference worker's core: model versions kept loaded ("warm") by key, predicting on row-major float32
 * matrices. Artifacts are checked (hash, shapes, layer classes) before tfjs sees them.
 */
export class InferenceService {
  private readonly models = new Map<string, { model: tf.LayersModel; inputs: number; outputs: number; users: number }>();
  private backend: Promise<BackendName> | null = null;

  /**
   * Loads a model version under `key`, or counts one more user of it when it is loaded already (each load is
   * matched by an unload); resolves with the backend in use.
   */
  async load(key: string, artifacts: InferenceArtifacts, backend: BackendName = 'wasm'): Promise<BackendName> {
    this.backend ??= useBackend(backend).then((b) => b.backend);
    const active = await this.backend;
    const loaded = this.models.get(key);
    if (loaded !== undefined) {
      loaded.users++;
      return active;
    }
    await verifySha256(artifacts.weightData, artifacts.sha256, `the weights of ${key}`);
    const checked = validateArtifacts({ modelTopology: artifacts.modelTopology, weightSpecs: artifacts.weightSpecs, weightData: artifacts.weightData });
    const model = await loadValidatedArtifacts(tf, checked, key);
    const inputs = model.inputs[0]?.shape.at(-1);
    const outputs = model.outputs[0]?.shape.at(-1);
    if (typeof inputs !== 'number' || typeof outputs !== 'number') {
      model.dispose();
      throw new InvalidArgumentError(`Model ${key} does not take a matrix of features (its input shape is not [rows, features]).`);
    }
    const raced = this.models.get(key); // loaded by another caller while this one was checking the artifacts
    if (raced !== undefined) {
      model.dispose();
      raced.users++;
      return active;
    }
    this.models.set(key, { model, inputs, outputs, users: 1 });
    // One prediction now, so that the first request does not pay for kernel set-up.
    tf.tidy(() => model.predict(tf.zeros([1, inputs])));
    return active;
  }

  /**
   * Predictions of `rows` rows (row-major, `inputs` values each): `rows × outputs` values, row-major. Large inputs
   * go through tfjs in slices of {@link TFJS_ROWS} rows, where its wasm kernels are fastest.
   */
  predict(key: string, x: Float32Array, rows: number): Float32Array {
    const loaded = this.models.get(key);
    if (loaded === undefined) throw new NotFoundError(`Model ${key} is not loaded in this inference worker.`);
    if (x.length !== rows * loaded.inputs) {
      throw new InvalidArgumentError(`Model ${key} reads ${loaded.inputs} features per row; got ${x.length} values for ${rows} rows.`);
    }
    const { model, inputs, outputs } = loaded;
    if (rows <= TFJS_ROWS) return tf.tidy(() => (model.predict(tf.tensor2d(x, [rows, inputs])) as tf.Tensor).dataSync() as Float32Array);
    const out = new Float32Array(rows * outputs);
    for (let start = 0; start < rows; start += TFJS_ROWS) {
      const count = Math.min(TFJS_ROWS, rows - start);
      const slice = x.subarray(start * inputs, (start + count) * inputs);
      out.set(tf.tidy(() => (model.predict(tf.tensor2d(slice, [count, inputs])) as tf.Tensor).dataSync() as Float32Array), start * outputs);
    }
    return out;
  }

  /**
   * Serves {@link predict} on a port of its own: one message in, one out, no comlink wrapping on either side — the
   * path an online prediction takes, where every tenth of a millisecond shows.
   */
  attach(port: MessagePort): void {
    port.onmessage = (event: MessageEvent<PredictRequest>) => {
      const { id, key, x, rows } = event.data;
      let answer: PredictAnswer;
      try {
        answer = { id, outputs: this.predict(key, x, rows) };
      } catch (error) {
        answer = { id, error: serializeError(error) };
      }
      port.postMessage(answer);
    };
  }

  /** One user less of a loaded version; the last one frees it. */
  unload(key: string): void {
    const loaded = this.models.get(key);
    if (loaded === undefined || --loaded.users > 0) return;
    loaded.model.dispose();
    this.models.delete(key);
  }
}
