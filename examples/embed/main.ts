// Larder inside someone else's Vite app, through its public API only: a feature group of sensor readings, a feature
// view with its training data, a model trained in Larder's training worker, and an online prediction from a
// deployment. Nothing here knows where Larder's workers or wasm files live: the app's Vite build finds them.
import { openFeatureStore, LarderError } from 'larder';

const SENSORS = ['s1', 's2', 's3'];
const HOURS = 240;
const START = Date.UTC(2025, 0, 1);

/** The quantity the model learns; the page's readers can check the prediction against it. */
function output(temperature: number, humidity: number): number {
  return 3 * temperature - 20 * humidity + 10;
}

/** A small deterministic generator, so every visit ingests the same readings. */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

function readings(): Record<string, unknown>[] {
  const next = generator(2025);
  const rows: Record<string, unknown>[] = [];
  for (let hour = 0; hour < HOURS; hour++) {
    for (const sensor of SENSORS) {
      const temperature = 10 + 20 * next();
      const humidity = next();
      rows.push({ sensor, ts: START + hour * 3_600_000, temperature, humidity, output: output(temperature, humidity) });
    }
  }
  return rows;
}

function show(field: string, text: string): void {
  const element = document.querySelector<HTMLElement>(`[data-testid="${field}"]`);
  if (element !== null) element.textContent = text;
}

function status(state: 'busy' | 'done' | 'error', text: string): void {
  const element = document.getElementById('status')!;
  element.dataset['state'] = state;
  element.textContent = text;
}

async function main(): Promise<void> {
  status('busy', 'opening the store');
  const store = await openFeatureStore({ name: 'embed_example' });
  addEventListener('pagehide', () => void store.close());

  status('busy', 'ingesting');
  const group = await store.createFeatureGroup({
    name: 'readings', version: 1, primaryKey: 'sensor', eventTime: 'ts', online: true,
    features: { sensor: 'string', ts: 'timestamp', temperature: 'float64', humidity: 'float64', output: 'float64' },
  });
  // The batch id makes the ingest idempotent: a reload finds the commit and writes nothing twice.
  const commit = await group.insert(readings(), { batchId: 'readings-2025-01' });
  show('group', `${group.name} v${group.version}`);
  show('rows', String(commit.rowCount));

  status('busy', 'building training data');
  const view = await store.createFeatureView({
    name: 'output', version: 1,
    query: group.select(['temperature', 'humidity']),
    labels: ['output'],
    transforms: [{ kind: 'standardScaler', column: 'temperature' }, { kind: 'standardScaler', column: 'humidity' }],
  });
  const { dataset, persisted } = await view.trainingData({ split: { kind: 'random', test: 0.2, seed: 7 } });
  await persisted;
  show('view', `${view.name} v${view.version}`);
  show('dataset', `v${dataset.version}: ${dataset.rowCounts.train} train rows, ${dataset.rowCounts.test} test rows`);

  status('busy', 'training');
  const { run, model } = await store.train({
    featureView: view,
    trainingDataset: dataset.version,
    model: { name: 'output', spec: { task: 'regression', layers: [], optimizer: { name: 'adam', learningRate: 0.5 }, seed: 1 } },
    fit: { epochs: 60, batchSize: 32 },
    onProgress: (p) => status('busy', `training: epoch ${p.epoch + 1} of ${p.epochs}`),
  });
  if (model === null) throw new Error(`training registered no model: ${JSON.stringify(run.gates)}`);
  show('model', `${model.name} v${model.version}`);
  show('rmse', String(run.metrics['rmse']));

  status('busy', 'predicting');
  await store.promote(model.name, model.version, { reason: 'first model of the embedded example' });
  const deployment = await store.deployment(model.name, { alias: 'champion' });
  const [latest] = await group.getOnline([{ sensor: 's2' }]);
  const values = latest?.values;
  if (values === null || values === undefined) throw new Error('sensor s2 has no online row');
  show('reading', JSON.stringify({ temperature: values['temperature'], humidity: values['humidity'] }));
  const prediction = await deployment.predict({ sensor: 's2' });
  show('prediction', String(prediction.prediction));
  show('served-by', `model ${prediction.model.name} v${prediction.model.version}, feature view ${prediction.featureView.name} v${prediction.featureView.version}`);
  status('done', 'done');
}

main().catch((error: unknown) => {
  status('error', error instanceof LarderError ? `${error.name} (${error.code}): ${error.message}` : String(error));
});
