// In-page half of the register-kill drill (reliability/register-kill.reliability.ts). Attempt a registers a dense
// model whose every weight is a known function of a, tagged `attempt: a`; the drill knows the SHA-256 of the weights
// and the prediction for a fixed input of every attempt, so a version found after a kill can be checked completely.
import type * as Larder from '../../src/index.ts';
import type * as Tf from '@tensorflow/tfjs';

interface DrillWindow {
  drillStore?: Larder.FeatureStore;
  drillArtifacts?: { modelTopology: unknown; weightSpecs: unknown; weightData: ArrayBuffer };
}

const MODEL = 'drillmodel';

function store(): Larder.FeatureStore {
  const s = (window as DrillWindow).drillStore;
  if (s === undefined) throw new Error('the drill store is not open');
  return s;
}

async function hex(bytes: ArrayBuffer): Promise<string> {
  return [...new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))].map((b) => b.toString(16).padStart(2, '0')).join('');
}

function probe(tf: typeof Tf, inputs: number): Tf.Tensor {
  return tf.tensor2d(Array.from({ length: inputs }, (_, i) => ((i % 7) - 3) / 10), [1, inputs]);
}

async function predict(model: Tf.LayersModel, inputs: number): Promise<number> {
  const tf = window.tf;
  const input = probe(tf, inputs);
  const output = model.predict(input) as Tf.Tensor;
  const [value] = await output.data();
  input.dispose();
  output.dispose();
  return value!;
}

/** Builds attempt `attempt`'s artifacts (kept in the page for {@link registerPrepared}); returns what identifies them. */
export async function prepare({ attempt, inputs, units }: { attempt: number; inputs: number; units: number }): Promise<{ sha256: string; prediction: number; bytes: number }> {
  const tf = window.tf;
  await tf.setBackend('cpu');
  const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [inputs], units, activation: 'relu' }), tf.layers.dense({ units: 1 })] });
  let captured: Tf.io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler((artifacts) => {
    captured = artifacts;
    return Promise.resolve({ modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } });
  }));
  model.dispose();
  const weightData = captured!.weightData as ArrayBuffer;
  const values = new Float32Array(weightData);
  for (let i = 0; i < values.length; i++) values[i] = ((((i + 1) * 2654435761 + attempt * 40503) >>> 0) % 2001 - 1000) / 40000;
  const artifacts = { modelTopology: captured!.modelTopology, weightSpecs: captured!.weightSpecs!, weightData };
  const copy = await tf.loadLayersModel(tf.io.fromMemory({ ...artifacts, weightData: weightData.slice(0) }));
  const prediction = await predict(copy, inputs);
  copy.dispose();
  (window as DrillWindow).drillArtifacts = artifacts;
  return { sha256: await hex(weightData), prediction, bytes: weightData.byteLength };
}

export async function registerPrepared({ attempt }: { attempt: number }): Promise<number> {
  const artifacts = (window as DrillWindow).drillArtifacts;
  if (artifacts === undefined) throw new Error('prepare first');
  delete (window as DrillWindow).drillArtifacts;
  const record = await store().models.register(MODEL, artifacts, { tags: { attempt: String(attempt) }, description: `attempt ${attempt}` });
  return record.version;
}

export async function setChampion({ version }: { version: number }): Promise<void> {
  await store().models.setAlias(MODEL, 'champion', version, { reason: `drill moves champion to ${version}` });
}

export interface VersionCheck {
  version: number;
  attempt: string | undefined;
  sha256: string | null;
  recordSha256: string;
  prediction: number | null;
  error: string | null;
}

/** Every listed version, loaded, predicted with and exported; the champion alias and its history. */
export async function inspect({ inputs }: { inputs: number }) {
  const models = store().models;
  const listed = await models.list(MODEL).catch(() => []);
  const versions: VersionCheck[] = [];
  for (const record of listed) {
    const check: VersionCheck = { version: record.version, attempt: record.tags['attempt'], sha256: null, recordSha256: record.artifact.sha256, prediction: null, error: null };
    try {
      const { model } = await models.load(MODEL, record.version);
      check.prediction = await predict(model, inputs);
      model.dispose();
      const exported = await models.exportModel(MODEL, record.version);
      check.sha256 = await hex(exported.weights);
    } catch (error) {
      const e = error as { code?: string; message?: string };
      check.error = `${e.code ?? 'no code'}: ${String(e.message ?? error).slice(0, 200)}`;
    }
    versions.push(check);
  }
  let champion: number | null = null;
  try {
    champion = (await models.get(MODEL, 'champion')).version;
  } catch {
    champion = null;
  }
  const history = (await models.aliasHistory(MODEL)).filter((h) => h.alias === 'champion').map((h) => h.to);
  return { versions, champion, history };
}
