// Training benchmark page (issue 5, "Benchmark"), driven by bench/train-run.mjs.
//
// - fit: an MLP 20 → 64 → 32 → 1 on ROWS rows for 3 epochs through store.train (a training worker, wasm), against
//   a raw tfjs `fit` of the same model on the same tensors, in a worker of the bench's own on the same backend.
// - first batch: time from store.train to its first batch on a FIRST_BATCH_ROWS-row training dataset.
// - registry: save (import) and load of a ~5 MB model, against raw IndexedDB put/get of the same bytes.
import { tableFromIPC, tableToIPC, type Table } from 'apache-arrow';
import { openFeatureStore, type FeatureStore } from '../src/index.ts';
import { seededRandom } from '../src/util/random.ts';

declare global {
  interface Window {
    trainReady: boolean;
    trainPrepare(rows: number): Promise<{ seconds: number }>;
    trainLarder(epochs: number): Promise<{ seconds: number; fitSeconds: number; samplesPerSecond: number; toFirstBatchMs: number | null; backend: string | null }>;
    trainRaw(epochs: number): Promise<{ fitSeconds: number; samplesPerSecond: number; backend: string }>;
    trainFirstBatch(rows: number): Promise<{ toFirstBatchMs: number; datasetSeconds: number }>;
    trainRegistry(): Promise<{ bytes: number; saveMs: number; loadMs: number; rawPutMs: number; rawGetMs: number }>;
    trainClose(): Promise<void>;
  }
}

const FEATURES = 20;
const features = Object.fromEntries(Array.from({ length: FEATURES }, (_, i) => [`x${i}`, 'float64' as const]));
const spec = { task: 'regression' as const, layers: [{ units: 64, activation: 'relu' as const }, { units: 32, activation: 'relu' as const }], seed: 1 };
const BATCH = 256;

let store: FeatureStore | null = null;
let dataset = 0;
let trainIpc: Uint8Array | null = null;

async function fill(s: FeatureStore, name: string, rows: number): Promise<number> {
  const random = seededRandom(rows);
  const group = await s.createFeatureGroup({ name, version: 1, primaryKey: 'id', eventTime: 'ts', features: { id: 'int64', ts: 'timestamp', ...features, y: 'float64' } });
  const columns = new Array<Record<string, unknown>>(rows);
  for (let r = 0; r < rows; r++) {
    const row: Record<string, unknown> = { id: BigInt(r), ts: 1_700_000_000_000 + r };
    let y = 0;
    for (let f = 0; f < FEATURES; f++) {
      const v = random() * 2 - 1;
      row[`x${f}`] = v;
      y += v * ((f % 5) - 2);
    }
    row['y'] = y;
    columns[r] = row;
  }
  await group.insert(columns);
  const view = await s.createFeatureView({ name, version: 1, query: group.select(Object.keys(features)), labels: ['y'] });
  const made = await view.trainingData({ split: { kind: 'random', test: 0.1, seed: 1 } });
  await made.persisted;
  trainIpc = tableToIPC(made.train, 'stream');
  return made.dataset.version;
}

window.trainPrepare = async (rows) => {
  const started = performance.now();
  store = await openFeatureStore({ name: `bench_train_${Date.now()}` });
  dataset = await fill(store, 'mlp', rows);
  return { seconds: (performance.now() - started) / 1000 };
};

window.trainLarder = async (epochs) => {
  const started = performance.now();
  const { run } = await store!.train({ featureView: { name: 'mlp', version: 1 }, trainingDataset: dataset, model: { name: 'mlp', spec }, fit: { epochs, batchSize: BATCH, shuffle: true } });
  return {
    seconds: (performance.now() - started) / 1000,
    fitSeconds: (run.timings.fitMs ?? 0) / 1000,
    samplesPerSecond: run.timings.samplesPerSecond ?? 0,
    toFirstBatchMs: run.timings.toFirstBatchMs,
    backend: run.environment.backend,
  };
};

window.trainRaw = async (epochs) => {
  // The same rows as plain tensors, fitted by plain tfjs in a worker of the bench's own (same backend, same model).
  const table: Table = tableFromIPC(trainIpc);
  const n = table.numRows;
  const x = new Float32Array(n * FEATURES);
  for (let f = 0; f < FEATURES; f++) {
    const column = table.getChild(`x${f}`)!.toArray() as Float64Array;
    for (let i = 0; i < n; i++) x[i * FEATURES + f] = column[i]!;
  }
  const y = Float32Array.from(table.getChild('y')!.toArray() as Float64Array);
  const worker = new Worker(new URL('./train-raw.worker.ts', import.meta.url), { type: 'module' });
  try {
    return await new Promise((resolve, reject) => {
      worker.onmessage = (event: MessageEvent<{ fitSeconds: number; samplesPerSecond: number; backend: string } | { error: string }>) =>
        'error' in event.data ? reject(new Error(event.data.error)) : resolve(event.data);
      worker.postMessage({ x, y, n, features: FEATURES, epochs, batchSize: BATCH }, [x.buffer, y.buffer]);
    });
  } finally {
    worker.terminate();
  }
};

window.trainFirstBatch = async (rows) => {
  const s = await openFeatureStore({ name: `bench_train_big_${Date.now()}` });
  try {
    const started = performance.now();
    const version = await fill(s, 'big', rows);
    const datasetSeconds = (performance.now() - started) / 1000;
    const controller = new AbortController();
    let first: number | null = null;
    const called = performance.now();
    await s.train({
      featureView: { name: 'big', version: 1 }, trainingDataset: version, model: { name: 'big', spec }, fit: { epochs: 1, batchSize: BATCH },
      signal: controller.signal,
      onProgress: () => {
        first ??= performance.now() - called;
        controller.abort(new Error('first batch seen'));
      },
    }).catch(() => undefined); // aborted on purpose
    if (first === null) throw new Error('No batch was reported.');
    return { toFirstBatchMs: first, datasetSeconds };
  } finally {
    await s.close();
  }
};

window.trainRegistry = async () => {
  // A ~5 MB model: dense 1,150 → 1,150 (1.32M float32 weights), imported as plain tfjs files.
  const units = 1150;
  const weightSpecs = [{ name: 'dense/kernel', shape: [units, units], dtype: 'float32' }, { name: 'dense/bias', shape: [units], dtype: 'float32' }];
  const weights = new Float32Array(units * units + units).map((_, i) => Math.sin(i));
  const modelJson = JSON.stringify({
    format: 'layers-model', generatedBy: 'bench', convertedBy: null,
    modelTopology: { class_name: 'Sequential', config: { name: 'big', layers: [{ class_name: 'Dense', config: { name: 'dense', units, activation: 'linear', use_bias: true, batch_input_shape: [null, units], dtype: 'float32' } }] }, keras_version: 'tfjs-layers 4.22.0', backend: 'tensor_flow.js' },
    weightsManifest: [{ paths: ['weights.bin'], weights: weightSpecs }],
  });
  let started = performance.now();
  const record = await store!.models.importModel('big', { modelJson, shards: [weights.buffer.slice(0)] });
  const saveMs = performance.now() - started;
  started = performance.now();
  const loaded = await store!.models.load('big', record.version);
  const loadMs = performance.now() - started;
  loaded.model.dispose();
  // Raw: put and get the same bytes in IndexedDB (one record), strict durability like the registry.
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    const open = indexedDB.open(`bench-raw-models-${Date.now()}`, 1);
    open.onupgradeneeded = () => open.result.createObjectStore('chunks');
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error ?? new Error('open failed'));
  });
  const done = (tx: IDBTransaction) => new Promise<void>((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error ?? new Error('failed'));
  });
  started = performance.now();
  const put = db.transaction('chunks', 'readwrite', { durability: 'strict' });
  put.objectStore('chunks').put(weights.buffer.slice(0), 1);
  await done(put);
  const rawPutMs = performance.now() - started;
  started = performance.now();
  const get = db.transaction('chunks', 'readonly');
  const request = get.objectStore('chunks').get(1);
  await done(get);
  if (!(request.result instanceof ArrayBuffer)) throw new Error('raw get failed');
  const rawGetMs = performance.now() - started;
  db.close();
  return { bytes: weights.byteLength, saveMs, loadMs, rawPutMs, rawGetMs };
};

window.trainClose = async () => {
  await store?.close();
  store = null;
};

window.trainReady = true;
