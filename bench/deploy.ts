// Deployment benchmark page (issue 7, "Benchmark"), driven by bench/deploy-run.mjs.
//
// - online predict: `store.deployment('bench_model', { alias: 'champion' }).predict(entity, { requestData })` over a
//   view of 3 online groups (ENTITIES entities, 5 float64 features each), an on-demand feature with a request field
//   (registered in the bench's store worker, deploy-store.worker.ts, and on this page), standardScaler
//   transformations and an MLP, against the raw parts of the same request in the same run: a readonly IndexedDB
//   transaction with one get per group in Larder's own online database, a worker round trip of a small
//   Float32Array to a bare worker (deploy-echo.worker.ts), and a tfjs predict of one row with the same model on this
//   page (wasm, like Larder's inference worker).
// - batch inference: `store.batchPredict` over BATCH_ROWS entities of a second, simpler store, against plain tfjs
//   predicting a matrix of the same shape in a worker of the bench's own (deploy-raw.worker.ts), in tfjs calls of
//   BENCH_DEPLOY_CHUNK_ROWS rows (default 512, the slice size Larder's inference worker uses: tfjs-wasm's fastest).
import * as tf from '@tensorflow/tfjs';
import { Float64, Int64, Table, TimestampMicrosecond, makeData, makeVector, type Vector } from 'apache-arrow';
import { openFeatureStore, type FeatureStore, type FeatureView } from '../src/index.ts';
import { useBackend } from '../src/models/backend.ts';
import type { Deployment } from '../src/pipelines/deployment.ts';
import { seededRandom } from '../src/util/random.ts';
import { deployOnDemand } from './deploy-features.ts';

declare global {
  interface Window {
    deployReady: boolean;
    deployPrepare(entities: number, trainRows: number): Promise<Prepared>;
    deployServe(storeName: string, entities: number): Promise<Served>;
    deployPredict(requests: number, warmup: number): Promise<Latencies>;
    deployClose(): Promise<void>;
    deployBatch(rows: number, chunkRows: number, trainRows: number): Promise<BatchResult>;
  }
}

interface Prepared {
  insertSeconds: number[];
  trainingDataSeconds: number;
  trainingRows: number;
  trainSeconds: number;
  /** The store's name, for the page that serves it (see deployServe). */
  storeName: string;
}

interface Served {
  deploymentSeconds: number;
  inputs: string[];
  pageBackend: string;
}

interface Latencies {
  /** Milliseconds per call, per part. */
  larder: number[];
  idb: number[];
  roundTrip: number[];
  tfjs: number[];
  /** Diagnostic: the whole request from raw parts in sequence (see rawChain). */
  chain: number[];
  /** Diagnostic: Larder's transformed feature vector alone (view.getFeatureVector), no prediction. */
  vector: number[];
  /** Larder predictions checked against the raw model on the same features, and stored values against raw records. */
  checked: number;
}

interface BatchResult {
  rows: number;
  insertSeconds: number;
  prepareSeconds: number;
  seconds: number;
  phases: Record<string, number>;
  raw: { seconds: number; rowsPerSecond: number; backend: string };
}

const FEATURES = ['f0', 'f1', 'f2', 'f3', 'f4'];
const SECOND = 1000;
const spec = { task: 'regression' as const, layers: [{ units: 64, activation: 'relu' as const }, { units: 32, activation: 'relu' as const }], seed: 1 };

let store: FeatureStore | null = null;
let predictor: Deployment | null = null;
let model: tf.LayersModel | null = null;
let rawOnline: IDBDatabase | null = null;
let echo: Worker | null = null;
let chain: Worker | null = null;
let view: FeatureView | null = null;
let dataset = 0;
let entities = 0;
let width = 0;

const createStoreWorker = () => new Worker(new URL('./deploy-store.worker.ts', import.meta.url), { type: 'module' });

function float64(values: Float64Array): Vector {
  return makeVector(makeData({ type: new Float64(), length: values.length, data: values }));
}

/** A group's rows as an Arrow table in the types Larder stores: int64 id, Timestamp(µs) ts, float64 columns. */
function groupTable(rows: number, timeOf: (row: number) => number, random: () => number, extra: Record<string, (row: number, values: number[]) => number> = {}): Table {
  const ids = new BigInt64Array(rows);
  const times = new BigInt64Array(rows);
  const columns = FEATURES.map(() => new Float64Array(rows));
  const extras = Object.keys(extra).map(() => new Float64Array(rows));
  const values = new Array<number>(FEATURES.length);
  for (let r = 0; r < rows; r++) {
    ids[r] = BigInt(r);
    times[r] = BigInt(timeOf(r)) * 1000n;
    for (let f = 0; f < FEATURES.length; f++) columns[f]![r] = values[f] = random();
    Object.values(extra).forEach((fn, e) => (extras[e]![r] = fn(r, values)));
  }
  return new Table({
    id: makeVector(makeData({ type: new Int64(), length: rows, data: ids })),
    ts: makeVector(makeData({ type: new TimestampMicrosecond(), length: rows, data: times })),
    ...Object.fromEntries(FEATURES.map((f, i) => [f, float64(columns[i]!)])),
    ...Object.fromEntries(Object.keys(extra).map((name, e) => [name, float64(extras[e]!)])),
  });
}

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error ?? new Error('IndexedDB request failed'));
  });
}

const float = Object.fromEntries(FEATURES.map((f) => [f, 'float64' as const]));

window.deployPrepare = async (entityCount, trainRows) => {
  const random = seededRandom(7);
  // One row per entity and group; the left group's entity r at base + r s, the joined groups' a minute earlier, so
  // the point-in-time join of the training rows finds them.
  const base = Date.now() - (entityCount + 120) * SECOND;
  store = await openFeatureStore({ name: `bench_deploy_${Date.now()}`, createWorker: createStoreWorker, onDemand: deployOnDemand });
  const insertSeconds: number[] = [];
  const groups = [];
  for (const [g, name] of ['g1', 'g2', 'g3'].entries()) {
    const left = g === 0;
    const group = await store.createFeatureGroup({
      name, version: 1, primaryKey: 'id', eventTime: 'ts', online: true,
      features: { id: 'int64', ts: 'timestamp', ...float, ...(left ? { bias: 'float64', y: 'float64' } : {}) },
    });
    const table = groupTable(entityCount, (r) => base + r * SECOND - (left ? 0 : 60 * SECOND), random, left
      ? { bias: () => random() - 0.5, y: (_, v) => v[0]! - 2 * v[1]! + 0.5 * v[2]! }
      : {});
    const started = performance.now();
    await group.insert(table); // the offline commit, then write-through to the online store
    insertSeconds.push((performance.now() - started) / 1000);
    groups.push(group);
  }
  const [g1, g2, g3] = groups as [typeof groups[0], typeof groups[0], typeof groups[0]];
  const view = await store.createFeatureView({
    name: 'deploy_view', version: 1,
    query: g1.select(FEATURES).join(g2.select(FEATURES), { prefix: 'b_' }).join(g3.select(FEATURES), { prefix: 'c_' }),
    labels: ['y'],
    transforms: ['f0', 'b_f0', 'c_f0', 'od_sum'].map((column) => ({ kind: 'standardScaler' as const, column })),
    onDemand: ['od_sum'],
  });
  let started = performance.now();
  const made = await view.trainingData({ start: base, end: base + Math.min(trainRows, entityCount) * SECOND, split: { kind: 'random', test: 0.1, seed: 1 } });
  await made.persisted;
  const trainingDataSeconds = (performance.now() - started) / 1000;
  started = performance.now();
  const outcome = await store.train({ featureView: view, trainingDataset: made.dataset.version, model: { name: 'bench_model', spec }, fit: { epochs: 1 } });
  if (outcome.model === null) throw new Error('The bench model was not registered.');
  await store.promote('bench_model', outcome.model.version);
  const trainSeconds = (performance.now() - started) / 1000;
  const storeName = store.name;
  await store.close();
  store = null;
  return { insertSeconds, trainingDataSeconds, trainingRows: made.train.numRows + made.test.numRows, trainSeconds, storeName };
};

/**
 * Opens the store deployPrepare built, in a page of its own (as an app serving predictions would: not the page that
 * just generated and loaded the data and trained the model), its deployment, and the raw parts: the same model in tfjs
 * on this page (wasm, as in Larder's inference worker), Larder's own online database, a bare worker.
 */
window.deployServe = async (storeName, entityCount) => {
  entities = entityCount;
  store = await openFeatureStore({ name: storeName, createWorker: createStoreWorker, onDemand: deployOnDemand });
  const started = performance.now();
  predictor = await store.deployment('bench_model', { alias: 'champion' });
  const deploymentSeconds = (performance.now() - started) / 1000;
  const { backend } = await useBackend('wasm');
  const champion = await store.models.get('bench_model', 'champion');
  const version = champion.version;
  view = await store.getFeatureView(champion.lineage!.featureView, champion.lineage!.featureViewVersion);
  dataset = champion.lineage!.trainingDataset!;
  const loaded = await store.models.load('bench_model', version);
  model = loaded.model;
  width = loaded.record.signature.inputs.length;
  tf.tidy(() => model!.predict(tf.zeros([1, width])));
  rawOnline = await request(indexedDB.open(`larder:${store.name.toLowerCase()}:online`));
  echo = new Worker(new URL('./deploy-echo.worker.ts', import.meta.url), { type: 'module' });
  chain = new Worker(new URL('./deploy-chain.worker.ts', import.meta.url), { type: 'module' });
  const { modelJson, weights } = await store.models.exportModel('bench_model', version);
  await new Promise((resolve) => {
    chain!.onmessage = resolve;
    chain!.postMessage({ kind: 'load', modelJson, weights }, [weights]);
  });
  return { deploymentSeconds, inputs: loaded.record.signature.inputs.map((i) => i.name), pageBackend: backend };
};

/** Raw IndexedDB: one readonly transaction, one get per group, resolved when the last get succeeded. */
function rawRead(id: number): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const tx = rawOnline!.transaction('rows', 'readonly');
    const os = tx.objectStore('rows');
    const out = new Array<unknown>(3);
    let pending = 3;
    ['g1@1', 'g2@1', 'g3@1'].forEach((group, g) => {
      const r = os.get([group, id]);
      r.onsuccess = () => {
        out[g] = r.result as unknown;
        if (--pending === 0) resolve(out);
      };
    });
    tx.onerror = () => reject(tx.error ?? new Error('IndexedDB transaction failed'));
  });
}

/** A plain worker round trip: a small Float32Array to the bare worker (transferred) and back. */
function roundTrip(x: Float32Array): Promise<Float32Array> {
  return new Promise((resolve) => {
    echo!.onmessage = (event: MessageEvent<Float32Array>) => resolve(event.data);
    echo!.postMessage(x, [x.buffer]);
  });
}

/**
 * The whole request from raw parts in sequence, no Larder code: the raw IndexedDB read, the 16 inputs taken from the
 * records (scaled by fixed numbers: the arithmetic of the view's transformations), one row to a bare tfjs worker.
 */
async function rawChain(id: number, bias: number): Promise<number> {
  const records = (await rawRead(id)) as { v: number[] }[];
  const row = new Float32Array(width);
  let k = 0;
  for (const record of records) for (let f = 0; f < FEATURES.length && k < width - 1; f++) row[k++] = (record.v[2 + f]! - 0.5) * 3.4;
  row[width - 1] = bias + row[0]!;
  return new Promise((resolve) => {
    chain!.onmessage = (event: MessageEvent<Float32Array>) => resolve(event.data[0]!);
    chain!.postMessage({ kind: 'predict', row }, [row.buffer]);
  });
}

function rawPredict(row: Float32Array): number {
  return tf.tidy(() => (model!.predict(tf.tensor2d(row, [1, width])) as tf.Tensor).dataSync()[0]!);
}

window.deployPredict = async (requests, warmup) => {
  const random = seededRandom(11);
  const inputs = (await store!.models.get('bench_model', 'champion')).signature.inputs.map((i) => i.name);
  const out: Latencies = { larder: [], idb: [], roundTrip: [], tfjs: [], chain: [], vector: [], checked: 0 };
  const rows: Float32Array[] = [];
  const parts = ['larder', 'idb', 'roundTrip', 'tfjs', 'chain', 'vector'] as const;
  // Each call times the four parts (and the raw chain) on the same entity, the part that goes first rotating, so all see the same
  // background work of the browser and the disk; warm-up calls are not recorded.
  for (let call = 0; call < warmup + requests; call++) {
    const id = Math.floor(random() * entities);
    const bias = random() - 0.5;
    if (call < 100) {
      // Checks, outside the timings: Larder's prediction equals the raw model's on the features Larder read, and
      // the stored values it read are the raw records'.
      const p = await predictor!.predict({ id }, { requestData: { bias }, withFeatures: true });
      const row = Float32Array.from(inputs, (name) => p.features![name]!);
      const expected = rawPredict(row);
      if (Math.abs(expected - p.prediction) > 1e-4 * Math.max(1, Math.abs(expected))) throw new Error(`Larder predicted ${p.prediction} for ${id}, raw tfjs ${expected}.`);
      const records = (await rawRead(id)) as { v: unknown[] }[];
      // Group records hold the columns in order: id, ts, f0..f4 (and bias, y in g1); f1 and b_f2 are not scaled.
      if (p.features!['f1'] !== records[0]!.v[3] || p.features!['b_f2'] !== records[1]!.v[4]) throw new Error(`Larder's features for ${id} differ from the raw records.`);
      rows.push(row);
      out.checked++;
    }
    const row = rows[call % rows.length]!;
    for (let k = 0; k < parts.length; k++) {
      const part = parts[(call + k) % parts.length]!;
      const started = performance.now();
      if (part === 'larder') await predictor!.predict({ id }, { requestData: { bias } });
      else if (part === 'idb') await rawRead(id);
      else if (part === 'roundTrip') await roundTrip(new Float32Array(width));
      else if (part === 'tfjs') rawPredict(row);
      else if (part === 'chain') await rawChain(id, bias);
      else await view!.getFeatureVector({ id }, { requestData: { bias }, trainingDataset: dataset });
      const ms = performance.now() - started;
      if (call >= warmup) out[part].push(ms);
    }
  }
  return out;
};

window.deployClose = async () => {
  rawOnline?.close();
  rawOnline = null;
  echo?.terminate();
  echo = null;
  chain?.terminate();
  chain = null;
  model?.dispose();
  model = null;
  await predictor?.close();
  predictor = null;
  await store?.close();
  store = null;
};

window.deployBatch = async (rows, chunkRows, trainRows) => {
  const random = seededRandom(5);
  const base = Date.now() - (rows + 120) * SECOND;
  const batchStore = await openFeatureStore({ name: `bench_deploy_batch_${Date.now()}` });
  try {
    const group = await batchStore.createFeatureGroup({ name: 'bg', version: 1, primaryKey: 'id', eventTime: 'ts', features: { id: 'int64', ts: 'timestamp', ...float, y: 'float64' } });
    const table = groupTable(rows, (r) => base + r * SECOND, random, { y: (_, v) => v[0]! - 2 * v[1]! + 0.5 * v[2]! });
    let started = performance.now();
    await group.insert(table);
    const insertSeconds = (performance.now() - started) / 1000;
    started = performance.now();
    const view = await batchStore.createFeatureView({
      name: 'bv', version: 1, query: group.select(FEATURES), labels: ['y'],
      transforms: [{ kind: 'standardScaler', column: 'f0' }, { kind: 'standardScaler', column: 'f1' }],
    });
    const made = await view.trainingData({ start: base, end: base + Math.min(trainRows, rows) * SECOND, split: { kind: 'random', test: 0.1, seed: 1 } });
    await made.persisted;
    const outcome = await batchStore.train({ featureView: view, trainingDataset: made.dataset.version, model: { name: 'batch_model', spec }, fit: { epochs: 1 } });
    if (outcome.model === null) throw new Error('The batch model was not registered.');
    const prepareSeconds = (performance.now() - started) / 1000;

    const phases: Record<string, number> = {};
    let phase = 'start';
    let phaseStarted = performance.now();
    started = performance.now();
    const result = await batchStore.batchPredict({
      model: 'batch_model', version: outcome.model.version, end: base + rows * SECOND, // the library's own chunking
      onProgress: (p) => {
        if (p.phase === phase) return;
        const now = performance.now();
        phases[phase] = (phases[phase] ?? 0) + (now - phaseStarted) / 1000;
        phase = p.phase;
        phaseStarted = now;
      },
    });
    const seconds = (performance.now() - started) / 1000;
    phases[phase] = (phases[phase] ?? 0) + (performance.now() - phaseStarted) / 1000;
    if (result.rows !== rows) throw new Error(`batchPredict scored ${result.rows} rows, not ${rows}.`);

    // Raw: the same model's tfjs files and a float32 matrix of the same shape (the same feature values), predicted
    // in the same chunks by plain tfjs in a worker; the worker times its predict loop.
    const { modelJson, weights } = await batchStore.models.exportModel('batch_model', outcome.model.version);
    const x = new Float32Array(rows * FEATURES.length);
    FEATURES.forEach((f, j) => {
      const column = table.getChild(f)!.toArray() as Float64Array;
      for (let i = 0; i < rows; i++) x[i * FEATURES.length + j] = column[i]!;
    });
    const worker = new Worker(new URL('./deploy-raw.worker.ts', import.meta.url), { type: 'module' });
    try {
      const raw = await new Promise<BatchResult['raw']>((resolve, reject) => {
        worker.onmessage = (event: MessageEvent<BatchResult['raw'] | { error: string }>) =>
          'error' in event.data ? reject(new Error(event.data.error)) : resolve(event.data);
        worker.postMessage({ modelJson, weights, x, rows, features: FEATURES.length, chunkRows }, [x.buffer, weights]);
      });
      return { rows, insertSeconds, prepareSeconds, seconds, phases, raw };
    } finally {
      worker.terminate();
    }
  } finally {
    await batchStore.close();
  }
};

window.deployReady = true;
