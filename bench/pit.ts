// The page side of the point-in-time join benchmark (bench/pit-run.mjs drives it through window.pit*): generates
// one shape's data (bench/pit-data.mjs, seeded), loads it into an in-memory DuckDB-WASM (outside every timed
// region), then times either
// - raw: the hand-written ASOF query (ties deduplicated first) plus fetching its result into JS as Arrow, or
// - ts: Larder's pointInTimeIndices per group plus gathering the feature columns into an Arrow table,
// from columns in hand (Arrow tables in the page) to the Arrow table in hand.
import * as duckdb from '@duckdb/duckdb-wasm';
import ehWasmUrl from '@duckdb/duckdb-wasm/dist/duckdb-eh.wasm?url';
import ehWorkerUrl from '@duckdb/duckdb-wasm/dist/duckdb-browser-eh.worker.js?url';
import { Float64, Int32, Int64, Table, TimestampMicrosecond, makeData, makeVector, tableToIPC, type Vector } from 'apache-arrow';
import type { FeatureGroupDefinition } from '../src/definitions/feature-group.ts';
import type { FeatureViewDefinition } from '../src/definitions/feature-view.ts';
import { nameKey } from '../src/definitions/names.ts';
import { COMMIT_COLUMN, SUPERSEDED_COLUMN } from '../src/ingest/conform.ts';
import { pointInTimeIndices } from '../src/offline/pit/join.ts';
import { joinFeatures, microsOf, pitGroupOf } from '../src/pipelines/training-data.ts';
import { FEATURES, arrowBytes, asofSql, checksumColumns, makeShape, type PitBenchData } from './pit-data.mjs';
import { startCpu, type CpuUse } from './cpu.ts';

/**
 * raw: DuckDB-WASM ASOF query + fetch; ts: pointInTimeIndices + a plain gather (the brief's TS path); larder:
 * Larder's own in-memory join of training data, joinFeatures (src/pipelines/training-data.ts), over stored-row
 * shaped tables (Timestamp(µs) times, int64 _larder_commit / _larder_superseded columns).
 */
export type PitEngine = 'raw' | 'ts' | 'larder';

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
  sql: string;
}

export interface PitRunResult {
  engine: PitEngine;
  seconds: number;
  phases: [string, number][];
  rows: number;
  checksum: number[];
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
  state = { data, spine, groups, db, conn, sql, larder: larderInput(data, groups), last: {} };
  return {
    shape,
    spineRows: spine.numRows,
    groupRows: groups.map((t) => t.numRows),
    arrowIpcBytes: ipcBytes,
    columnBytes: arrowBytes(data),
    generateSeconds,
    loadSeconds: (performance.now() - started) / 1000,
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
  (window as unknown as { gc?: () => void }).gc?.();
  const marks: [string, number][] = [];
  const mark = (name: string): void => {
    marks.push([name, performance.now()]);
  };
  const cpu = await startCpu();
  mark('start');
  let result: Table;
  if (engine === 'raw') {
    result = await s.conn.query(s.sql);
    mark('query+fetch');
  } else if (engine === 'ts') {
    result = tsJoin(s, mark);
  } else {
    const { view, spine, groups, commitTimesMs } = s.larder;
    result = joinFeatures(view, spine, groups, commitTimesMs, false);
    mark('joinFeatures');
  }
  const seconds = (marks[marks.length - 1]![1] - marks[0]![1]) / 1000;
  const cpuUse = (await cpu?.stop()) ?? null;
  const heap = jsHeap();
  const phases = marks.slice(1).map(([name, at], i): [string, number] => [name, (at - marks[i]![1]) / 1000]);
  const names = outputNames(s.data);
  const flat = names.map((name) => flatten(result.getChild(name), result.numRows));
  s.last[engine] = flat;
  const outputBytes = newBufferBytes(result, engine === 'larder' ? s.larder.spine : s.spine);
  return { engine, seconds, phases, rows: result.numRows, checksum: checksumColumns(flat), outputBytes, cpu: cpuUse, jsHeapBytes: heap };
}

/** Cell-for-cell comparison of the last `engine` result with the last raw one (NaN = null on both sides). */
function pitCompare(engine: PitEngine = 'ts'): { cells: number; nulls: number; mismatches: number; first: string | null } {
  if (state === null) throw new Error('Call pitPrepare(shape, scale) first.');
  const raw = state.last.raw;
  const ts = state.last[engine];
  if (raw === undefined || ts === undefined) throw new Error(`Run raw and ${engine} first.`);
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
        first ??= `${names[c]!} row ${i}: raw ${x} vs ${engine} ${y}`;
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

async function pitClose(): Promise<void> {
  if (state === null) return;
  const s = state;
  state = null;
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
    pitReady: boolean;
  }
}

window.pitPrepare = pitPrepare;
window.pitRun = pitRun;
window.pitCompare = pitCompare;
window.pitClose = pitClose;
window.pitDiagnose = pitDiagnose;
window.pitReady = true;
