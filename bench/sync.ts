// Sync benchmark page (issue 8, "Benchmark"), driven by bench/sync-run.mjs.
//
// Store A holds a feature group of ROWS rows (ROWS / 10 entities × 10 days: int64 id, timestamp ts, 6 float64
// features, a string) and a model of about MODEL_MB MB (one Dense layer, imported as plain tfjs files). The bench:
//
// - pushes A to an S3-compatible server (s3rver behind the test gateway, see test/support/s3-servers.ts) through
//   `store.sync.push` with an `S3ObjectStore`, timed from the call to its answer;
// - moves the very objects that push uploaded with raw SigV4-signed requests (aws4fetch's `AwsClient.fetch`, no
//   Larder code): a GET of each (timed, and the bytes for the next step), then a PUT of each under another prefix
//   (timed). Same parallelism as Larder's default (4), same UNSIGNED-PAYLOAD signing;
// - pulls the snapshot into a new store B through `store.sync.pull`, timed, and checks B against A (row count, a
//   column sum, the model's weights);
// - inserts 1 % new rows into A, pushes again (the bytes it uploads against the full push's) and pulls again on B.
//
// Both stores run DuckDB-WASM behind bench/public/duckdb-trace.worker.js, and the S3 target is given a fetch that
// times each request, so every operation also reports its DuckDB requests and its HTTP requests (where time goes).
import ehWasmUrl from '@duckdb/duckdb-wasm/dist/duckdb-eh.wasm?url';
import ehWorkerUrl from '@duckdb/duckdb-wasm/dist/duckdb-browser-eh.worker.js?url';
import { AwsClient } from 'aws4fetch';
import { Float64, Int64, Table, TimestampMicrosecond, Utf8, makeData, makeVector, tableFromIPC, tableToIPC, vectorFromArray, type Vector } from 'apache-arrow';
import { Compression, Table as WasmTable, WriterPropertiesBuilder, readParquet, writeParquet } from 'parquet-wasm/esm';
import { S3ObjectStore, openFeatureStore, type FeatureGroup, type FeatureStore, type SyncProgress } from '../src/index.ts';
import { seededRandom } from '../src/util/random.ts';
import { loadParquet } from './data.ts';
import { startRawDuckDb } from './raw-duckdb.ts';
import type { TraceEntry } from './ingest.ts';

/** Where the S3 server is and how to sign for it (the test stack's bucket and credentials). */
export interface S3Settings {
  endpoint: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
}

interface Prepared {
  rows: number;
  entities: number;
  insertSeconds: number;
  modelBytes: number;
  modelSeconds: number;
}

/** Seconds per phase, in the order the phases came, from the operation's onProgress reports. */
type Phases = [string, number][];

/** HTTP requests of one operation, by method and kind of key: how many, their bytes, their summed seconds. */
interface HttpGroup {
  request: string;
  count: number;
  bytes: number;
  seconds: number;
}

/** DuckDB requests of one operation: the longest ones, and the rest summed. */
interface DuckDbSummary {
  seconds: number;
  count: number;
  longest: { type: string; text: string; seconds: number }[];
}

interface Traced {
  http: HttpGroup[];
  duckdb: DuckDbSummary;
}

interface PushRun extends Traced {
  seconds: number;
  uploaded: { objects: number; bytes: number };
  reused: { objects: number; bytes: number };
  phases: Phases;
  manifest: string;
}

interface RawRun {
  objects: number;
  bytes: number;
  /** Sizes of the objects, largest first. */
  sizes: number[];
  getSeconds: number;
  putSeconds: number;
  /** Each request: method, kind of key, bytes, seconds from the call to the answer read. */
  requests: { method: string; kind: string; bytes: number; seconds: number }[];
}

interface PullRun extends Traced {
  seconds: number;
  applied: boolean;
  downloaded: { objects: number; bytes: number };
  phases: Phases;
  /** Rows in B's group after the pull, and in A's. */
  rows: number;
  expectedRows: number;
}

/** Seconds of the JS steps of a snapshot's group part, replayed on this page on A's rows (see syncDiagnose). */
interface Diagnosis {
  rows: number;
  parquetBytes: number;
  steps: [string, number][];
}

interface IncrementalRun {
  newRows: number;
  insertSeconds: number;
  push: PushRun;
  pull: PullRun;
}

declare global {
  interface Window {
    syncReady: boolean;
    syncPrepare(settings: S3Settings, rows: number, modelMb: number): Promise<Prepared>;
    syncPush(prefix: string): Promise<PushRun>;
    syncRaw(prefix: string, rawPrefix: string, concurrency: number): Promise<RawRun>;
    syncPull(prefix: string, storeName: string): Promise<PullRun>;
    syncIncremental(prefix: string, newRows: number): Promise<IncrementalRun>;
    syncDiagnose(): Promise<Diagnosis>;
    syncClose(): Promise<void>;
  }
}

const DAYS = 10;
const DAY_MICROS = 86_400_000_000n;
const START_MICROS = BigInt(Date.UTC(2024, 0, 1)) * 1000n;
const REGIONS = Array.from({ length: 40 }, (_, i) => `region-${String(i).padStart(2, '0')}`);
const FLOATS = ['f0', 'f1', 'f2', 'f3', 'f4', 'f5'];
const MODEL = 'bench_model';

let settings: S3Settings | null = null;
let storeA: FeatureStore | null = null;
let groupA: FeatureGroup | null = null;
let storeB: FeatureStore | null = null;
let entityCount = 0;
let nextDay = DAYS;
let modelSha = '';

function float64(values: Float64Array): Vector {
  return makeVector(makeData({ type: new Float64(), length: values.length, data: values }));
}

function int64(type: Int64 | TimestampMicrosecond, values: BigInt64Array): Vector {
  return makeVector(makeData({ type, length: values.length, data: values } as never));
}

/**
 * Rows of `entities` entities (ids from 0) on `days` consecutive days from `firstDay`, entity-major. Feature values
 * of several kinds, so that the Parquet parts are neither trivially small nor pure noise: f0–f2 uniform doubles,
 * f3 a reading to one decimal, f4 a small count, f5 a 0/1 flag, and one of 40 region names.
 */
function makeRows(entities: number, firstDay: number, days: number, random: () => number): Table {
  const rows = entities * days;
  const id = new BigInt64Array(rows);
  const ts = new BigInt64Array(rows);
  const floats = FLOATS.map(() => new Float64Array(rows));
  const region = new Array<string>(rows);
  let r = 0;
  for (let e = 0; e < entities; e++) {
    for (let d = firstDay; d < firstDay + days; d++, r++) {
      id[r] = BigInt(e);
      ts[r] = START_MICROS + BigInt(d) * DAY_MICROS;
      floats[0]![r] = random();
      floats[1]![r] = random() * 1000 - 500;
      floats[2]![r] = Math.exp(random() * 5);
      floats[3]![r] = Math.round((15 + 10 * Math.sin(e + d) + 3 * random()) * 10) / 10;
      floats[4]![r] = Math.floor(random() * 20);
      floats[5]![r] = random() < 0.1 ? 1 : 0;
      region[r] = REGIONS[e % REGIONS.length]!;
    }
  }
  return new Table({
    id: int64(new Int64(), id),
    ts: int64(new TimestampMicrosecond(), ts),
    ...Object.fromEntries(FLOATS.map((name, i) => [name, float64(floats[i]!)])),
    region: vectorFromArray(region, new Utf8()),
  });
}

async function sha256Hex(bytes: ArrayBuffer): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

interface HttpEntry {
  method: string;
  kind: string;
  /** The answer's status, or 'failed' when the request got none. */
  status: number | 'failed';
  bytes: number;
  /** Epoch milliseconds, like the DuckDB trace's. */
  startedAt: number;
  seconds: number;
}

const httpTrace: HttpEntry[] = [];
const duckdbTrace: TraceEntry[] = [];
new BroadcastChannel('larder-bench-trace').onmessage = (event: MessageEvent<TraceEntry>) => duckdbTrace.push(event.data);
const now = (): number => performance.timeOrigin + performance.now();

/** What a key is, for the HTTP breakdown: snapshot objects by extension, manifests, HEAD, the write probe, lists. */
function keyKind(url: string): string {
  const { pathname, search } = new URL(url);
  if (search.includes('list-type')) return 'list';
  const object = /\/objects\/[0-9a-f]+\.(\w+)$/.exec(pathname);
  if (object !== null) return `object .${object[1]}`;
  if (pathname.includes('/manifests/')) return 'manifest';
  if (pathname.includes('/probes/')) return 'probe';
  return pathname.endsWith('/HEAD') ? 'HEAD pointer' : 'other';
}

/**
 * The fetch given to the S3 target: the global fetch, each request timed from the call to the last byte of its
 * answer (the body is passed on chunk by chunk as the caller reads it, not read ahead).
 */
function tracedFetch(input: string, init: RequestInit): Promise<Response> {
  const startedAt = now();
  const method = init.method ?? 'GET';
  const sent = init.body instanceof Uint8Array ? init.body.byteLength : 0;
  let recorded = false; // a read in flight when the caller cancels ends too: count the request once
  const record = (status: number | 'failed', received: number) => {
    if (recorded) return;
    recorded = true;
    httpTrace.push({ method, kind: keyKind(input), status, bytes: sent + received, startedAt, seconds: (now() - startedAt) / 1000 });
  };
  return fetch(input, init).then((response) => {
    if (response.body === null || [204, 205, 304].includes(response.status)) {
      record(response.status, 0);
      return response;
    }
    let received = 0;
    let cancelled = false;
    const reader = response.body.getReader();
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const { done, value } = await reader.read();
        if (done) {
          record(response.status, received);
          if (!cancelled) controller.close();
        } else if (!cancelled) {
          received += value.byteLength;
          controller.enqueue(value);
        }
      },
      cancel(reason) {
        cancelled = true;
        record(response.status, received); // Larder cancels the bodies it does not need (PUT answers, 412s)
        return reader.cancel(reason);
      },
    });
    return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  }, (error: unknown) => {
    record('failed', 0);
    throw error;
  });
}

let s3Target: S3ObjectStore | null = null;

/**
 * The S3 target, made once and used by every push and pull, as an app would keep it: sync probes a target's
 * conditional writes once per target object and prefix, so the first push to a prefix pays for the probe.
 */
function target(): S3ObjectStore {
  const s = settings!;
  s3Target ??= new S3ObjectStore({ endpoint: s.endpoint, bucket: s.bucket, accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey, fetch: tracedFetch });
  return s3Target;
}

/** The traced HTTP and DuckDB requests that started within [from, to] (epoch ms). */
async function traced(from: number, to: number): Promise<Traced> {
  await new Promise((resolve) => setTimeout(resolve, 100)); // DuckDB's records travel on their own channel
  const groups = new Map<string, HttpGroup>();
  for (const e of httpTrace.filter((h) => h.startedAt >= from && h.startedAt <= to)) {
    const request = `${e.method} ${e.kind}${e.status === 200 ? '' : ` (${e.status})`}`;
    const group = groups.get(request) ?? { request, count: 0, bytes: 0, seconds: 0 };
    group.count++;
    group.bytes += e.bytes;
    group.seconds += e.seconds;
    groups.set(request, group);
  }
  const calls = duckdbTrace.filter((e) => e.startedAt >= from && e.startedAt <= to).sort((a, b) => b.seconds - a.seconds);
  return {
    http: [...groups.values()].sort((a, b) => b.seconds - a.seconds),
    duckdb: {
      seconds: calls.reduce((sum, e) => sum + e.seconds, 0),
      count: calls.length,
      longest: calls.slice(0, 4).map((e) => ({ type: e.type, text: e.text.replace(/\s+/g, ' ').trim().slice(0, 140), seconds: e.seconds })),
    },
  };
}

/** A persistent store whose DuckDB-WASM runs behind the tracing worker (nothing else changes). */
function openTracedStore(name: string): Promise<FeatureStore> {
  const real = new URL(ehWorkerUrl, location.href).href;
  return openFeatureStore({ name, persist: true, duckdb: { wasmUrl: ehWasmUrl, workerUrl: `/duckdb-trace.worker.js?real=${encodeURIComponent(real)}` } });
}

/** Collects onProgress reports into seconds per phase (a phase lasts until the next report of another phase). */
function phaseClock(): { onProgress: (p: SyncProgress) => void; finish: () => Phases } {
  const phases: Phases = [];
  let current = 'start';
  let since = performance.now();
  const close = (now: number) => {
    const found = phases.find(([name]) => name === current);
    if (found !== undefined) found[1] += (now - since) / 1000;
    else phases.push([current, (now - since) / 1000]);
    since = now;
  };
  return {
    onProgress: (p) => {
      // The last upload report comes when every object is up; what follows (manifest, HEAD, the local record) is
      // the commit of the push.
      const phase = p.phase === 'uploading' && p.objects !== undefined && p.objects === p.totalObjects && p.objects > 0 ? 'uploading, then manifest + HEAD' : p.phase;
      if (phase === current) return;
      close(performance.now());
      current = phase;
    },
    finish: () => {
      close(performance.now());
      return phases.filter(([name]) => name !== 'done');
    },
  };
}

/** Rows of the bench group in a store, and the sum of f1 (a checksum of sorts). */
async function census(group: FeatureGroup): Promise<{ rows: number; sum: number }> {
  const table = await group.read({ columns: ['f1'] });
  const values = table.getChild('f1')!.toArray() as Float64Array;
  let sum = 0;
  for (const v of values) sum += v;
  return { rows: table.numRows, sum };
}

window.syncPrepare = async (s3, rows, modelMb) => {
  settings = s3;
  entityCount = Math.max(1, Math.floor(rows / DAYS));
  const table = makeRows(entityCount, 0, DAYS, seededRandom(17));
  storeA = await openTracedStore(`bench_sync_a_${Date.now()}`);
  groupA = await storeA.createFeatureGroup({
    name: 'activity', version: 1, primaryKey: 'id', eventTime: 'ts',
    features: { id: 'int64', ts: 'timestamp', ...Object.fromEntries(FLOATS.map((f) => [f, 'float64' as const])), region: 'string' },
  });
  let started = performance.now();
  await groupA.insert(table);
  const insertSeconds = (performance.now() - started) / 1000;

  // A model of about modelMb MB: one Dense layer inputs → 1,024 (float32 kernel and bias), imported as tfjs files.
  const units = 1024;
  const inputs = Math.max(1, Math.round((modelMb * 1024 * 1024) / 4 / units));
  const weights = new Float32Array(inputs * units + units).map((_, i) => Math.sin(i) * 0.01);
  const weightSpecs = [{ name: 'dense/kernel', shape: [inputs, units], dtype: 'float32' }, { name: 'dense/bias', shape: [units], dtype: 'float32' }];
  const modelJson = JSON.stringify({
    format: 'layers-model', generatedBy: 'bench', convertedBy: null,
    modelTopology: {
      class_name: 'Sequential', keras_version: 'tfjs-layers 4.22.0', backend: 'tensor_flow.js',
      config: { name: 'big', layers: [{ class_name: 'Dense', config: { name: 'dense', units, activation: 'linear', use_bias: true, batch_input_shape: [null, inputs], dtype: 'float32' } }] },
    },
    weightsManifest: [{ paths: ['weights.bin'], weights: weightSpecs }],
  });
  started = performance.now();
  await storeA.models.importModel(MODEL, { modelJson, shards: [weights.buffer.slice(0)] });
  const modelSeconds = (performance.now() - started) / 1000;
  modelSha = await sha256Hex(weights.buffer);
  return { rows: table.numRows, entities: entityCount, insertSeconds, modelBytes: weights.byteLength, modelSeconds };
};

async function push(prefix: string): Promise<PushRun> {
  const clock = phaseClock();
  const from = now();
  const started = performance.now();
  const result = await storeA!.sync.push({ target: target(), prefix, onProgress: clock.onProgress });
  const seconds = (performance.now() - started) / 1000;
  const phases = clock.finish();
  if (!result.pushed) throw new Error(`The push to ${prefix} wrote nothing.`);
  return { seconds, uploaded: result.uploaded, reused: result.reused, phases, manifest: result.manifest, ...(await traced(from, now())) };
}

window.syncPush = (prefix) => push(prefix);

/** Runs tasks with at most `limit` at once (the raw side's own pool, so that no Larder code is involved). */
async function pool<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await task(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}

window.syncRaw = async (prefix, rawPrefix, concurrency) => {
  const s = settings!;
  // Which objects the push uploaded: the snapshot's objects and manifests under its prefix (listed outside the timing).
  const listed = (await target().list(`${prefix}/`)).filter((o) => /\/(objects|manifests)\//.test(o.key));
  const aws = new AwsClient({ accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey, service: 's3', region: 'us-east-1' });
  const url = (key: string) => `${s.endpoint}/${s.bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
  // Signed like Larder's S3ObjectStore signs: the payload is not hashed into the signature.
  const headers = { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' };
  const bodies = new Map<string, Uint8Array>();
  const requests: RawRun['requests'] = [];
  const timed = async (method: string, key: string, send: () => Promise<number>) => {
    const started = performance.now();
    const bytes = await send();
    requests.push({ method, kind: keyKind(url(key)), bytes, seconds: (performance.now() - started) / 1000 });
  };

  let started = performance.now();
  await pool(listed, concurrency, (o) => timed('GET', o.key, async () => {
    const response = await aws.fetch(url(o.key), { method: 'GET', headers, cache: 'no-store' });
    if (response.status !== 200) throw new Error(`raw GET ${o.key}: HTTP ${response.status}`);
    const body = new Uint8Array(await response.arrayBuffer());
    bodies.set(o.key, body);
    return body.byteLength;
  }));
  const getSeconds = (performance.now() - started) / 1000;

  started = performance.now();
  await pool(listed, concurrency, (o) => timed('PUT', o.key, async () => {
    const body = bodies.get(o.key)!;
    const response = await aws.fetch(url(`${rawPrefix}/${o.key}`), { method: 'PUT', headers, body: body as Uint8Array<ArrayBuffer> });
    if (response.status !== 200) throw new Error(`raw PUT ${o.key}: HTTP ${response.status}`);
    await response.arrayBuffer();
    return body.byteLength;
  }));
  const putSeconds = (performance.now() - started) / 1000;

  const sizes = [...bodies.values()].map((b) => b.byteLength).sort((a, b) => b - a);
  return { objects: listed.length, bytes: sizes.reduce((a, b) => a + b, 0), sizes, getSeconds, putSeconds, requests };
};

async function pull(prefix: string): Promise<PullRun> {
  const clock = phaseClock();
  const from = now();
  const started = performance.now();
  const result = await storeB!.sync.pull({ target: target(), prefix, onProgress: clock.onProgress });
  const seconds = (performance.now() - started) / 1000;
  const phases = clock.finish();
  const trace = await traced(from, now());
  // Checks, outside the timing: B holds A's rows (count and a column sum) and A's model weights, byte for byte.
  const [a, b] = [await census(groupA!), await census(await storeB!.getFeatureGroup('activity', 1))];
  if (a.rows !== b.rows || Math.abs(a.sum - b.sum) > 1e-6 * Math.max(1, Math.abs(a.sum))) {
    throw new Error(`After the pull B holds ${b.rows} rows (f1 sum ${b.sum}), A ${a.rows} (f1 sum ${a.sum}).`);
  }
  const { weights } = await storeB!.models.exportModel(MODEL);
  if ((await sha256Hex(weights)) !== modelSha) throw new Error('The pulled model weights differ from the pushed ones.');
  return { seconds, applied: result.applied, downloaded: result.downloaded, phases, rows: b.rows, expectedRows: a.rows, ...trace };
}

window.syncPull = async (prefix, storeName) => {
  await storeB?.close();
  storeB = await openTracedStore(storeName);
  return pull(prefix);
};

window.syncIncremental = async (prefix, newRows) => {
  // 1 % new rows: the next day for the first newRows entities (new event times, so appended rows).
  const table = makeRows(Math.max(1, Math.min(newRows, entityCount)), nextDay++, 1, seededRandom(nextDay));
  const started = performance.now();
  await groupA!.insert(table);
  const insertSeconds = (performance.now() - started) / 1000;
  return { newRows: table.numRows, insertSeconds, push: await push(prefix), pull: await pull(prefix) };
};

/**
 * Replays, on this page and once, the JavaScript steps src/sync/snapshot.ts takes for a group part in the store worker
 * (push) and the decode a pull makes, on A's current rows with their commit ids: the IPC written again, the Parquet
 * write (Snappy), the SHA-256 of the part (in the worker) and the second SHA-256 push takes of it (base64, for the
 * checksum header), then the pull's SHA-256 check and Parquet → IPC decode; and the part's export query on raw
 * DuckDB-WASM holding the same rows, with and without its ORDER BY ALL. Outside every timing.
 */
window.syncDiagnose = async () => {
  await loadParquet();
  const rows = await groupA!.read({ withCommitIds: true });
  const ipc = tableToIPC(rows, 'stream');
  const steps: [string, number][] = [];
  const step = async <T>(name: string, fn: () => T | Promise<T>): Promise<T> => {
    const started = performance.now();
    const value = await fn();
    steps.push([name, (performance.now() - started) / 1000]);
    return value;
  };
  const stream = await step('push: IPC read and written again (tableFromIPC + tableToIPC)', () => tableToIPC(tableFromIPC(ipc), 'stream'));
  const parquet = await step('push: Parquet write, Snappy (parquet-wasm)', () => {
    const properties = new WriterPropertiesBuilder().setCompression(Compression.SNAPPY).setCreatedBy('larder').build();
    return writeParquet(WasmTable.fromIPCStream(stream), properties);
  });
  const digest = (bytes: Uint8Array) => crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  await step('push: SHA-256 of the part (object key)', () => digest(parquet));
  await step('push: SHA-256 again (checksum header)', () => digest(parquet));
  await step('pull: SHA-256 check', () => digest(parquet));
  await step('pull: Parquet → IPC (readParquet, batchSize 2^20)', () => readParquet(parquet, { batchSize: 1 << 20 }).intoIPCStream());

  // The export query of a part (DuckDbOfflineStore.exportRows) on raw DuckDB-WASM holding the same rows: as Larder
  // runs it (ORDER BY ALL, for deterministic bytes), ordered by key, event time and commit only, and unordered.
  const file = `bench-sync-raw-${Date.now()}.duckdb`;
  const raw = await startRawDuckDb(file);
  try {
    await raw.conn.insertArrowFromIPCStream(ipc.slice(), { name: 'fg', create: true }); // the copy is transferred away
    await raw.conn.query('CHECKPOINT');
    const columns = [...FLOATS, 'region'].map((c) => `"${c}"`).join(', ');
    const select = `SELECT "id", "ts", ${columns}, "_larder_commit" FROM fg WHERE "_larder_commit" BETWEEN 0 AND 1000000`;
    const best = async (name: string, text: string) => {
      const times: number[] = [];
      for (let i = 0; i < 2; i++) {
        const started = performance.now();
        await raw.conn.query(text);
        times.push((performance.now() - started) / 1000);
      }
      steps.push([name, Math.min(...times)]);
    };
    await best('raw DuckDB: export query ORDER BY ALL (as Larder)', `${select} ORDER BY ALL`);
    await best('raw DuckDB: ORDER BY id, ts, _larder_commit', `${select} ORDER BY "id", "ts", "_larder_commit"`);
    await best('raw DuckDB: unordered', select);
  } finally {
    await raw.close();
    const root = await navigator.storage.getDirectory();
    for (const name of [file, `${file}.wal`]) await root.removeEntry(name).catch(() => undefined); // absent when never written
  }
  return { rows: rows.numRows, parquetBytes: parquet.byteLength, steps };
};

window.syncClose = async () => {
  await storeB?.close();
  storeB = null;
  await storeA?.close();
  storeA = null;
  groupA = null;
};

window.syncReady = true;
