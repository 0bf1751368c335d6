// The page side of the point-in-time join benchmark (bench/pit-run.mjs drives it through window.pit*): generates
// one shape's data (bench/pit-data.mjs, seeded), loads it into an in-memory DuckDB-WASM (outside every timed
// region), then times either
// - raw: the hand-written ASOF query (ties deduplicated first) plus fetching its result into JS as Arrow, or
// - ts: Larder's pointInTimeIndices per group plus gathering the feature columns into an Arrow table,
// from columns in hand (Arrow tables in the page) to the Arrow table in hand, or
// - store: Larder end to end, FeatureView.trainingData({ spine }) on an in-memory store (persist: false) holding the
//   same groups, from the call to the Arrow tables in hand.
import * as duckdb from '@duckdb/duckdb-wasm';
import ehWasmUrl from '@duckdb/duckdb-wasm/dist/duckdb-eh.wasm?url';
import ehWorkerUrl from '@duckdb/duckdb-wasm/dist/duckdb-browser-eh.worker.js?url';
import type { TraceEntry } from './ingest.ts';
import { Float64, Int32, Int64, Table, tableFromIPC, TimestampMicrosecond, makeData, makeVector, tableToIPC, type Vector } from 'apache-arrow';
import type { FeatureGroupDefinition } from '../src/definitions/feature-group.ts';
import type { FeatureViewDefinition } from '../src/definitions/feature-view.ts';
import { nameKey } from '../src/definitions/names.ts';
import { COMMIT_COLUMN, SUPERSEDED_COLUMN } from '../src/ingest/conform.ts';
import { pointInTimeIndices } from '../src/offline/pit/join.ts';
import {
  SPLIT_COLUMN, assignSplits, joinFeatures, microsOf, normalizeSplit, pitGroupOf, splitVector, takeSplit, viewColumnTypes,
} from '../src/pipelines/training-data.ts';
import { ProblemCollector, conformTable } from '../src/ingest/conform.ts';
import { FEATURES, arrowBytes, asofSql, checksumColumns, makeShape, type PitBenchData } from './pit-data.mjs';
import { startCpu, type CpuUse } from './cpu.ts';
import { openFeatureStore, type FeatureStore, type FeatureType, type FeatureView, type Query } from '../src/index.ts';

/**
 * raw: DuckDB-WASM ASOF query + fetch; ts: pointInTimeIndices + a plain gather (the brief's TS path); larder:
 * Larder's own in-memory join of training data, joinFeatures (src/pipelines/training-data.ts), over stored-row
 * shaped tables (Timestamp(µs) times, int64 _larder_commit / _larder_superseded columns).
 */
export type PitEngine = 'raw' | 'ts' | 'larder' | 'store';

/**
 * The same data in a Larder store (persist: false): one feature group per generated group (primary key named as
 * the spine column it matches, event time ts, features named as the output columns), a view joining them.
 */
interface StoreInput {
  store: FeatureStore;
  view: FeatureView;
  query: Query;
  /** The explicit spine: the left group's key, event time and the other join keys, Timestamp(µs) times. */
  spine: Table;
  /** DuckDB requests of the store's worker, from bench/public/duckdb-trace.worker.js. */
  trace: TraceEntry[];
  channel: BroadcastChannel;
  /** The last trainingData() train table, for pitDiagnoseStore. */
  lastTrain: Table | null;
}

interface LarderInput {
  view: FeatureViewDefinition;
  spine: Table;
  groups: Map<string, { definition: FeatureGroupDefinition; rows: Table }>;
  commitTimesMs: Map<number, number>;
}

export interface PitPrepared {
  shape: string;
  spineRows: number;
  groupRows: number[];
  /** Bytes of the inputs as Arrow IPC (spine and groups). */
  arrowIpcBytes: number;
  /** Bytes of the input columns (no IPC framing). */
  columnBytes: number;
  generateSeconds: number;
  loadSeconds: number;
  /** Opening the in-memory Larder store, creating its groups and view and inserting the rows (untimed). */
  storeLoadSeconds: number;
  /** Inserts (commits) per group into the store: tie rows go into later inserts so they win (see storeInput). */
  storeInserts: number[];
  sql: string;
}

export interface PitRunResult {
  engine: PitEngine;
  seconds: number;
  phases: [string, number][];
  rows: number;
  checksum: number[];
  /** store: DuckDB time inside the run by kind of request (traced in DuckDB's worker), seconds. */
  duckdb: [string, number][] | null;
  /** Bytes of the buffers the result holds that the inputs do not (spine columns passed through are shared). */
  outputBytes: number;
  cpu: CpuUse | null;
  jsHeapBytes: number | null;
}

interface State {
  data: PitBenchData;
  spine: Table;
  groups: Table[];
  db: duckdb.AsyncDuckDB;
  conn: duckdb.AsyncDuckDBConnection;
  sql: string;
  larder: LarderInput;
  store: StoreInput;
  storeInserts: number[];
  last: Partial<Record<PitEngine, Float64Array[]>>;
}

let state: State | null = null;

function int32Vector(values: Int32Array): Vector {
  return makeVector(makeData({ type: new Int32(), length: values.length, data: values }));
}

function float64Vector(values: Float64Array, nullBitmap: Uint8Array | null = null, nullCount = 0): Vector {
  return makeVector(makeData({ type: new Float64(), length: values.length, data: values, nullBitmap, nullCount }));
}

function timestampVector(micros: Float64Array): Vector {
  return makeVector(makeData({ type: new TimestampMicrosecond(), length: micros.length, data: BigInt64Array.from(micros, (v) => BigInt(v)) }));
}

function int64Vector(values: Int32Array, allNull = false): Vector {
  const data = allNull ? new BigInt64Array(values.length) : BigInt64Array.from(values, (v) => BigInt(v));
  const nullBitmap = allNull ? new Uint8Array((values.length + 7) >> 3) : null;
  return makeVector(makeData({ type: new Int64(), length: values.length, data, nullBitmap, nullCount: allNull ? values.length : 0 }));
}

/** The same data as Larder stores it (times as Timestamp(µs), hidden commit columns) and a view joining it. */
function larderInput(data: PitBenchData, groups: Table[]): LarderInput {
  const spineColumns: Record<string, Vector> = { rn: int32Vector(data.spine.rn) };
  for (const [name, values] of Object.entries(data.spine.keys)) spineColumns[name] = int32Vector(values);
  spineColumns['ts'] = timestampVector(data.spine.ts);
  const spineKeys = Object.keys(data.spine.keys);
  const byId = new Map<string, { definition: FeatureGroupDefinition; rows: Table }>();
  const commitTimesMs = new Map<number, number>();
  data.groups.forEach((g, gi) => {
    const columns: Record<string, Vector> = { key: groups[gi]!.getChild('key')!, ts: timestampVector(g.ts) };
    for (const f of FEATURES) columns[f] = groups[gi]!.getChild(f)!;
    columns[COMMIT_COLUMN] = int64Vector(g.commit);
    columns[SUPERSEDED_COLUMN] = int64Vector(g.commit, true);
    for (const c of g.commit) commitTimesMs.set(c, Date.UTC(2001, 0, 1) + c * 60_000);
    // Only the fields joinFeatures reads.
    const definition = { name: g.name, version: 1, primaryKey: ['key'], eventTime: 'ts', ttlSeconds: g.ttl === null ? null : g.ttl / 1e6 } as unknown as FeatureGroupDefinition;
    byId.set(`${nameKey(g.name)}@1`, { definition, rows: new Table(columns) });
  });
  const view = {
    spine: { group: data.groups[0]!.name, version: 1, keys: spineKeys, eventTime: 'ts' },
    joins: data.groups.map((g) => ({ group: g.name, version: 1, spineKeys: [g.spineKey] })),
    // `join`: the index of the feature's join (newer definitions carry it; older ones ignore it).
    features: data.groups.flatMap((g, gi) => FEATURES.map((f) => ({ name: `${g.name}_${f}`, type: 'float64', group: g.name, version: 1, column: f, join: gi }))),
    labels: [],
  } as unknown as FeatureViewDefinition;
  return { view, spine: new Table(spineColumns), groups: byId, commitTimesMs };
}

/** The rows of `g` at `rows` (ascending indices) as a group table for the store. */
function storeRows(data: PitBenchData, gi: number, rows: Int32Array, extraKeys: readonly string[]): Table {
  const g = data.groups[gi]!;
  const pick = <T extends Int32Array | Float64Array>(from: T, to: T): T => {
    for (let i = 0; i < rows.length; i++) to[i] = from[rows[i]!]!;
    return to;
  };
  const columns: Record<string, Vector> = { [g.spineKey]: int32Vector(pick(g.key, new Int32Array(rows.length))) };
  // The left group holds the spine's other join keys (skewed: dest) so the view can join on them; never selected.
  for (const k of extraKeys) columns[k] = int32Vector(new Int32Array(rows.length));
  columns['ts'] = timestampVector(pick(g.ts, new Float64Array(rows.length)));
  for (const f of FEATURES) columns[`${g.name}_${f}`] = float64Vector(pick(g.features[f]!, new Float64Array(rows.length)));
  return new Table(columns);
}

/**
 * Loads the generated groups into an in-memory Larder store. Larder numbers commits itself (one per insert), so
 * the generator's commit ids are mapped onto inserts: a group's rows go in "layers", layer k holding the k-th
 * occurrence of each (key, event time) in generator (= commit) order. The last occurrence, the one with the
 * highest generator commit, is then also in the latest insert and wins the tie, as in the other engines. Wide: 2 %
 * ties give a few layers; skewed: no ties, one insert per group.
 */
async function storeInput(data: PitBenchData): Promise<{ input: StoreInput; inserts: number[] }> {
  // The store's DuckDB worker is wrapped by the tracing worker (one broadcast per request) to see where time goes.
  const trace: TraceEntry[] = [];
  const channel = new BroadcastChannel('larder-bench-trace');
  channel.onmessage = (event: MessageEvent<TraceEntry>) => trace.push(event.data);
  const real = new URL(ehWorkerUrl, location.href).href;
  const store = await openFeatureStore({
    name: `pit_${data.shape}_${Date.now()}`,
    persist: false,
    duckdb: { wasmUrl: ehWasmUrl, workerUrl: `/duckdb-trace.worker.js?real=${encodeURIComponent(real)}` },
  });
  const spineKeys = Object.keys(data.spine.keys);
  const groups = [];
  const inserts: number[] = [];
  for (let gi = 0; gi < data.groups.length; gi++) {
    const g = data.groups[gi]!;
    const extraKeys = gi === 0 ? spineKeys.filter((k) => k !== g.spineKey) : [];
    const features: Record<string, FeatureType> = { [g.spineKey]: 'int32' };
    for (const k of extraKeys) features[k] = 'int32';
    features['ts'] = 'timestamp';
    for (const f of FEATURES) features[`${g.name}_${f}`] = 'float64';
    const group = await store.createFeatureGroup({
      name: g.name, version: 1, primaryKey: g.spineKey, eventTime: 'ts', features, ...(g.ttl === null ? {} : { ttl: g.ttl / 1e6 }),
    });
    // Generator rows are in commit order; seconds × 16384 + key identifies (key, event time) exactly (keys < 16384).
    const layer = new Int32Array(g.key.length);
    const seen = new Map<number, number>();
    let layers = 1;
    for (let j = 0; j < g.key.length; j++) {
      const id = (g.ts[j]! / 1e6) * 16384 + g.key[j]!;
      const k = seen.get(id) ?? 0;
      seen.set(id, k + 1);
      layer[j] = k;
      if (k + 1 > layers) layers = k + 1;
    }
    for (let k = 0; k < layers; k++) {
      const rows: number[] = [];
      for (let j = 0; j < layer.length; j++) if (layer[j] === k) rows.push(j);
      await group.insert(storeRows(data, gi, Int32Array.from(rows), extraKeys));
    }
    inserts.push(layers);
    groups.push(group);
  }
  let query = groups[0]!.select(FEATURES.map((f) => `${data.groups[0]!.name}_${f}`));
  // Each joined group's primary key is named as the left-group (spine) column it matches: the default `on`.
  for (let gi = 1; gi < groups.length; gi++) query = query.join(groups[gi]!.select(FEATURES.map((f) => `${data.groups[gi]!.name}_${f}`)));
  const view = await store.createFeatureView({ name: 'pit', version: 1, query });
  const spineColumns: Record<string, Vector> = {};
  for (const [name, values] of Object.entries(data.spine.keys)) spineColumns[name] = int32Vector(values);
  spineColumns['ts'] = timestampVector(data.spine.ts);
  return { input: { store, view, query, spine: new Table(spineColumns), trace, channel, lastTrain: null }, inserts };
}

/** Drops the training datasets earlier runs wrote (deleting the view drops their tables) and makes a new view version. */
async function resetStoreView(input: StoreInput): Promise<void> {
  const { name, version } = input.view.definition;
  if ((await input.view.listTrainingDatasets()).length === 0) return;
  await input.store.deleteFeatureView(name, version);
  input.view = await input.store.createFeatureView({ name, version: version + 1, query: input.query });
}

/** What a traced DuckDB request of trainingData() does: the step of StoreService.trainingData it belongs to. */
function duckdbKind(e: TraceEntry): string {
  const text = e.text.replace(/\s+/g, ' ').trim();
  if (/^SELECT \* FROM "fg_/i.test(text)) return 'read group rows (rowsForJoin)';
  if (e.type === 'INSERT_ARROW_FROM_IPC_STREAM' || /^(BEGIN|COMMIT|CHECKPOINT|CREATE|INSERT|DROP)/i.test(text)) return 'write dataset table';
  if (/"td_/i.test(text) || /^SELECT (count|avg|least|min|max|approx|quantile)/i.test(text)) return 'dataset statistics';
  return 'other';
}

function jsHeap(): number | null {
  return (performance as unknown as { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize ?? null;
}

/** Bytes of the distinct ArrayBuffers behind `table`'s columns, leaving out those of `shared`. */
function newBufferBytes(table: Table, shared: Table): number {
  const buffersOf = (t: Table): Set<ArrayBufferLike> => {
    const out = new Set<ArrayBufferLike>();
    for (let c = 0; c < t.numCols; c++) {
      for (const data of t.getChildAt(c)!.data) {
        if (data.values !== undefined) out.add((data.values as Uint8Array).buffer);
        if (data.nullBitmap !== undefined) out.add(data.nullBitmap.buffer);
      }
    }
    return out;
  };
  const skip = buffersOf(shared);
  let bytes = 0;
  for (const buffer of buffersOf(table)) if (!skip.has(buffer)) bytes += buffer.byteLength;
  return bytes;
}

/** A Float64 column of any chunking as one Float64Array, NaN for null. */
function flatten(vector: Vector | null, length: number): Float64Array {
  const out = new Float64Array(length).fill(NaN);
  if (vector === null) return out;
  let at = 0;
  for (const data of vector.data) {
    const values = data.values as Float64Array;
    const bitmap = data.nullBitmap;
    const offset = data.offset;
    for (let i = 0; i < data.length; i++) {
      const bit = offset + i;
      if (data.nullCount > 0 && bitmap !== undefined && bitmap.length > 0 && ((bitmap[bit >> 3]! >> (bit & 7)) & 1) === 0) continue;
      out[at + i] = values[i]!;
    }
    at += data.length;
  }
  return out;
}

function outputNames(data: PitBenchData): string[] {
  return data.groups.flatMap((g) => FEATURES.map((f) => `${g.name}_${f}`));
}

async function pitPrepare(shape: string, scale: number): Promise<PitPrepared> {
  await pitClose();
  let started = performance.now();
  const data = makeShape(shape, scale);
  const spineColumns: Record<string, Vector> = { rn: int32Vector(data.spine.rn) };
  for (const [name, values] of Object.entries(data.spine.keys)) spineColumns[name] = int32Vector(values);
  spineColumns['ts'] = float64Vector(data.spine.ts);
  const spine = new Table(spineColumns);
  const groups = data.groups.map((g) => {
    const columns: Record<string, Vector> = { key: int32Vector(g.key), ts: float64Vector(g.ts), commit: int32Vector(g.commit) };
    for (const f of FEATURES) columns[f] = float64Vector(g.features[f]!);
    return new Table(columns);
  });
  const generateSeconds = (performance.now() - started) / 1000;
  started = performance.now();
  const worker = new Worker(ehWorkerUrl);
  const db = new duckdb.AsyncDuckDB(new duckdb.VoidLogger(), worker);
  await db.instantiate(ehWasmUrl);
  await db.open({});
  const conn = await db.connect();
  await conn.query('SET autoinstall_known_extensions=false; SET autoload_known_extensions=false;');
  let ipcBytes = 0;
  const load = async (name: string, table: Table, columns: string): Promise<void> => {
    const ipc = tableToIPC(table, 'stream');
    ipcBytes += ipc.byteLength;
    await conn.insertArrowFromIPCStream(ipc, { name: `${name}_in`, create: true });
    // Times arrive as epoch µs (float64, as Larder's join takes them) and become TIMESTAMP for the ASOF join.
    await conn.query(`CREATE TABLE "${name}" AS SELECT ${columns}, make_timestamp(ts::BIGINT) AS ts FROM "${name}_in"; DROP TABLE "${name}_in";`);
  };
  await load('spine', spine, ['rn', ...Object.keys(data.spine.keys)].join(', '));
  for (let g = 0; g < groups.length; g++) await load(data.groups[g]!.name, groups[g]!, ['key', 'commit', ...FEATURES].join(', '));
  await conn.query('CHECKPOINT');
  // Warm-up: the first heavy query of a new instance is slower and noisier (TOOLCHAIN.md).
  await conn.query('SELECT count(*), sum(rn) FROM spine');
  const sql = asofSql(data);
  const loadSeconds = (performance.now() - started) / 1000;
  started = performance.now();
  const { input: store, inserts } = await storeInput(data);
  const storeLoadSeconds = (performance.now() - started) / 1000;
  state = { data, spine, groups, db, conn, sql, larder: larderInput(data, groups), store, storeInserts: inserts, last: {} };
  return {
    shape,
    spineRows: spine.numRows,
    groupRows: groups.map((t) => t.numRows),
    arrowIpcBytes: ipcBytes,
    columnBytes: arrowBytes(data),
    generateSeconds,
    loadSeconds,
    storeLoadSeconds,
    storeInserts: inserts,
    sql,
  };
}

/** Larder's TypeScript path: columns of the Arrow tables in hand → indices per group → gathered Arrow table. */
function tsJoin(s: State, mark: (name: string) => void): Table {
  const { spine, groups, data } = s;
  const n = spine.numRows;
  const spineTime = spine.getChild('ts')!.toArray() as Float64Array;
  const columns: Record<string, Vector> = {};
  for (const field of spine.schema.fields) columns[field.name] = spine.getChild(field.name)!;
  data.groups.forEach((g, gi) => {
    const table = groups[gi]!;
    const spineKey = spine.getChild(g.spineKey)!.toArray() as Int32Array;
    const key = table.getChild('key')!.toArray() as Int32Array;
    const time = table.getChild('ts')!.toArray() as Float64Array;
    const commitId = Float64Array.from(table.getChild('commit')!.toArray() as Int32Array);
    const indices = pointInTimeIndices({ keys: [spineKey], time: spineTime }, { keys: [key], time, commitId }, { ttl: g.ttl, asOfKnown: false });
    mark(`${g.name} indices`);
    let nullCount = 0;
    const validity = new Uint8Array((n + 7) >> 3);
    for (let i = 0; i < n; i++) {
      if (indices[i]! >= 0) validity[i >> 3]! |= 1 << (i & 7);
      else nullCount++;
    }
    for (const f of FEATURES) {
      const source = table.getChild(f)!.toArray() as Float64Array;
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const j = indices[i]!;
        out[i] = j < 0 ? 0 : source[j]!;
      }
      columns[`${g.name}_${f}`] = float64Vector(out, nullCount === 0 ? null : validity, nullCount);
    }
    mark(`${g.name} gather`);
  });
  const result = new Table(columns);
  mark('table');
  return result;
}

async function pitRun(engine: PitEngine): Promise<PitRunResult> {
  if (state === null) throw new Error('Call pitPrepare(shape, scale) first.');
  const s = state;
  delete s.last[engine];
  if (engine === 'store') await resetStoreView(s.store);
  (window as unknown as { gc?: () => void }).gc?.();
  const marks: [string, number][] = [];
  const mark = (name: string): void => {
    marks.push([name, performance.now()]);
  };
  const cpu = await startCpu();
  mark('start');
  const startedAt = performance.timeOrigin + performance.now();
  let result: Table;
  let headline: number | undefined; // the mark ending the timed region, when more marks follow it
  let cpuUse: Awaited<ReturnType<NonNullable<typeof cpu>['stop']>> | null | undefined;
  if (engine === 'raw') {
    result = await s.conn.query(s.sql);
    mark('query+fetch');
  } else if (engine === 'ts') {
    result = tsJoin(s, mark);
  } else if (engine === 'store') {
    // Each phase is timed from its progress report to the next one's (reports arrive as the worker posts them).
    let current = 'call (spine IPC, definitions)';
    const out = await s.store.view.trainingData({
      spine: s.store.spine,
      split: { kind: 'random', test: 0 },
      onProgress: (p) => {
        mark(current);
        current = p.phase === 'done' ? 'result IPC to the page' : p.group === undefined ? p.phase : `${p.phase} ${p.group}`;
      },
    });
    mark(current);
    headline = marks.length - 1;
    cpuUse = (await cpu?.stop()) ?? null;
    // Outside the clock: the dataset's rows and statistics are written after the tables are returned.
    await out.persisted;
    mark('persisted (after return)');
    if (out.test.numRows !== 0) throw new Error(`trainingData put ${out.test.numRows} rows in the test split.`);
    result = out.train;
    s.store.lastTrain = out.train;
  } else {
    const { view, spine, groups, commitTimesMs } = s.larder;
    result = joinFeatures(view, spine, groups, commitTimesMs, false);
    mark('joinFeatures');
  }
  const seconds = (marks[headline ?? marks.length - 1]![1] - marks[0]![1]) / 1000;
  let duckdbTime: [string, number][] | null = null;
  if (engine === 'store') {
    // Trace records arrive by broadcast, after the responses they describe.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const endedAt = performance.timeOrigin + marks[headline ?? marks.length - 1]![1];
    const byKind = new Map<string, number>();
    for (const e of s.store.trace) {
      if (e.startedAt < startedAt || e.startedAt > endedAt) continue;
      const kind = duckdbKind(e);
      byKind.set(kind, (byKind.get(kind) ?? 0) + e.seconds);
    }
    s.store.trace.length = 0;
    const inDuckdb = [...byKind.values()].reduce((sum, v) => sum + v, 0);
    duckdbTime = [...[...byKind].sort(), ['outside DuckDB', seconds - inDuckdb]];
  }
  cpuUse ??= (await cpu?.stop()) ?? null;
  const heap = jsHeap();
  const phases = marks.slice(1).map(([name, at], i): [string, number] => [name, (at - marks[i]![1]) / 1000]);
  const names = outputNames(s.data);
  const flat = names.map((name) => flatten(result.getChild(name), result.numRows));
  s.last[engine] = flat;
  const outputBytes = newBufferBytes(result, engine === 'larder' ? s.larder.spine : s.spine);
  return { engine, seconds, phases, duckdb: duckdbTime, rows: result.numRows, checksum: checksumColumns(flat), outputBytes, cpu: cpuUse, jsHeapBytes: heap };
}

/** Cell-for-cell comparison of the last `engine` result with the last `against` one (NaN = null on both sides). */
function pitCompare(engine: PitEngine = 'ts', against: PitEngine = 'raw'): { cells: number; nulls: number; mismatches: number; first: string | null } {
  if (state === null) throw new Error('Call pitPrepare(shape, scale) first.');
  const raw = state.last[against];
  const ts = state.last[engine];
  if (raw === undefined || ts === undefined) throw new Error(`Run ${against} and ${engine} first.`);
  const names = outputNames(state.data);
  let cells = 0;
  let nulls = 0;
  let mismatches = 0;
  let first: string | null = null;
  for (let c = 0; c < names.length; c++) {
    const a = raw[c]!;
    const b = ts[c]!;
    if (a.length !== b.length) {
      mismatches++;
      first ??= `${names[c]!}: ${a.length} rows vs ${b.length}`;
      continue;
    }
    for (let i = 0; i < a.length; i++) {
      cells++;
      const x = a[i]!;
      const y = b[i]!;
      if (x !== x && y !== y) {
        nulls++;
        continue;
      }
      if (x !== y) {
        mismatches++;
        first ??= `${names[c]!} row ${i}: ${against} ${x} vs ${engine} ${y}`;
      }
    }
  }
  return { cells, nulls, mismatches, first };
}

/**
 * Where joinFeatures' time goes, step by step with the functions it calls (exported by training-data.ts): spine
 * times from Timestamp(µs) to float64, each group's stored rows to the join's columns (pitGroupOf: times, commit
 * ids and commit times), pointInTimeIndices. The gather is the rest of a joinFeatures run. Untimed by the runs.
 */
function pitDiagnose(): [string, number][] {
  if (state === null) throw new Error('Call pitPrepare(shape, scale) first.');
  const { view, spine, groups, commitTimesMs } = state.larder;
  const out: [string, number][] = [];
  let at = performance.now();
  const step = (name: string): void => {
    const now = performance.now();
    out.push([name, (now - at) / 1000]);
    at = now;
  };
  const spineTime = microsOf(spine.getChild('ts')!);
  step('spine microsOf');
  for (const join of view.joins) {
    const group = groups.get(`${nameKey(join.group)}@1`)!;
    const pit = pitGroupOf(group.definition, group.rows, commitTimesMs);
    step(`${join.group} pitGroupOf`);
    const ttl = group.definition.ttlSeconds === null ? null : group.definition.ttlSeconds * 1e6;
    pointInTimeIndices({ keys: [spine.getChild(join.spineKeys[0]!)!.toArray() as Int32Array], time: spineTime }, pit, { ttl, asOfKnown: false });
    step(`${join.group} indices`);
  }
  return out;
}

/**
 * The JS steps of StoreService.trainingData outside DuckDB and outside joinFeatures (timed as the larder engine),
 * rerun here in the page with the same functions on the last trainingData() result (same columns as the joined
 * table): spine IPC and conforming, the split, takeSplit's gathers, the dataset table's split column and IPC, the
 * result's IPC both ways. Untimed by the runs; one run, page main thread rather than the store worker.
 */
async function pitDiagnoseStore(): Promise<[string, number][]> {
  if (state === null || state.store.lastTrain === null) throw new Error('Run the store engine first.');
  const input = state.store;
  const joined = input.lastTrain!;
  const view = input.view.definition;
  const left = (await input.store.listFeatureGroups()).find((g) => g.name === view.spine.group)!;
  const out: [string, number][] = [];
  let at = performance.now();
  const step = (name: string): void => {
    const now = performance.now();
    out.push([name, (now - at) / 1000]);
    at = now;
  };
  const ipc = tableToIPC(input.spine, 'stream');
  step('spine tableToIPC (page)');
  const names = [...new Set([...view.spine.keys, view.spine.eventTime, ...view.joins.flatMap((j) => j.spineKeys)])];
  const spineDefinition = { ...left, features: names.map((n) => left.features.find((f) => f.name === n)!) };
  conformTable(spineDefinition, tableFromIPC(ipc), new ProblemCollector());
  step('spine tableFromIPC + conformTable');
  const times = microsOf(joined.getChild(view.spine.eventTime)!);
  const assigned = assignSplits(normalizeSplit({ kind: 'random', test: 0 }, times), times);
  step('microsOf + assignSplits');
  const types = viewColumnTypes(view, left);
  const train = takeSplit(joined, assigned, 'train', types);
  step('takeSplit train');
  takeSplit(joined, assigned, 'test', types);
  takeSplit(joined, assigned, 'validation', types);
  step('takeSplit test + validation');
  const split = splitVector(assigned);
  step('splitVector');
  const stored = new Table({ ...Object.fromEntries(joined.schema.fields.map((f) => [f.name, joined.getChild(f.name)!])), [SPLIT_COLUMN]: split });
  tableToIPC(stored, 'stream');
  step('dataset tableToIPC');
  tableFromIPC(tableToIPC(train, 'stream'));
  step('result tableToIPC + tableFromIPC');
  return out;
}

async function pitClose(): Promise<void> {
  if (state === null) return;
  const s = state;
  state = null;
  await s.store.store.close();
  s.store.channel.close();
  await s.conn.close();
  await s.db.terminate();
}

declare global {
  interface Window {
    pitPrepare: typeof pitPrepare;
    pitRun: typeof pitRun;
    pitCompare: typeof pitCompare;
    pitClose: typeof pitClose;
    pitDiagnose: typeof pitDiagnose;
    pitDiagnoseStore: typeof pitDiagnoseStore;
    pitReady: boolean;
  }
}

window.pitPrepare = pitPrepare;
window.pitRun = pitRun;
window.pitCompare = pitCompare;
window.pitClose = pitClose;
window.pitDiagnose = pitDiagnose;
window.pitDiagnoseStore = pitDiagnoseStore;
window.pitReady = true;
