// Where Larder's ingest time goes, next to the per-request trace of its DuckDB worker (bench/run.mjs prints both):
// the store worker's JavaScript steps, run here on the page with Larder's own src/ingest code, and raw DuckDB-WASM
// measurements of what Larder adds (two hidden columns, the checkValues query) and of cheaper alternatives.
// Each step runs `repeats` times on fresh inputs / fresh database files; the least wall and CPU time are reported.
import { Table, Type, tableFromIPC, tableToIPC, util, type DataType, type Vector } from 'apache-arrow';
import { readParquet } from 'parquet-wasm/esm';
import { normalizeFeatureGroup, type FeatureGroupDefinition } from '../src/definitions/feature-group.ts';
import { arrowTypeOf } from '../src/ingest/columns.ts';
import { ProblemCollector, conformTable, storedTable } from '../src/ingest/conform.ts';
import { FEATURES, RAW_COLUMNS, RAW_CSV_TYPES, loadParquet, type Data } from './data.ts';
import { startCpu } from './cpu.ts';
import { startRawDuckDb, type RawDuckDb } from './raw-duckdb.ts';

export interface Diagnostic {
  area: string;
  step: string;
  /** Fastest wall time of the repeats. */
  seconds: number;
  /** Least CPU time of the repeats (all of this Chromium's processes), when run.mjs provides it. */
  cpuSeconds: number | null;
  note: string;
}

const TABLE = '"fg_bench_v1"';
const LARDER_COLUMNS = `${RAW_COLUMNS}, "_larder_commit" BIGINT NOT NULL, "_larder_superseded" BIGINT`;
// checkValues for this group: keys and event time not null, floats not NaN (allowNaN defaults to false).
const VALIDATION = `SELECT count(*) FILTER (WHERE "id" IS NULL) AS "c0", count(*) FILTER (WHERE "ts" IS NULL) AS "c1",
  count(*) FILTER (WHERE isnan("f1")) AS "c2", count(*) FILTER (WHERE isnan("f2")) AS "c3", count(*) FILTER (WHERE isnan("f3")) AS "c4",
  count(*) FILTER (WHERE isnan("f4")) AS "c5", count(*) FILTER (WHERE isnan("f5")) AS "c6" FROM ${TABLE} WHERE "_larder_commit" = 1`;

// The CSV read as text in a fixed dialect, as src/offline/duckdb/csv-sql.ts reads it, and conversions of that text.
const CSV_TEXT = `read_csv('b.csv', header = true, all_varchar = true, delim = ',', quote = '"', escape = '"', allow_quoted_nulls = false)`;
const INTEGER_TEXT = `'\\s*[+-]?[0-9]+\\s*'`;
const FLOAT_NAMES = ['f1', 'f2', 'f3', 'f4', 'f5'];

// Typed where the CSV reader is exact (floats, instants with offsets); integers as text, since the reader rounds
// '7.5' to 8 for an integer column; fail-fast, so a bad file errors and can fall back to a precise, slower path.
const CSV_MIXED = `read_csv('b.csv', header = true, delim = ',', quote = '"', escape = '"', allow_quoted_nulls = false,
  types = {'id': 'VARCHAR', 'ts': 'TIMESTAMPTZ', 'f1': 'DOUBLE', 'f2': 'DOUBLE', 'f3': 'DOUBLE', 'f4': 'DOUBLE', 'f5': 'DOUBLE'},
  store_rejects = true, rejects_table = '_r', rejects_scan = '_s')`;
const CSV_MIXED_CONVERSIONS = [
  `CASE WHEN "id" IS NULL THEN NULL WHEN regexp_full_match("id", ${INTEGER_TEXT}) THEN CAST("id" AS BIGINT) ELSE error('not an integer') END`,
  'CAST("ts" AS TIMESTAMP)',
  ...FLOAT_NAMES.map((f) => `"${f}"`),
].join(', ');

/** Runs `fn`; returns its value, wall seconds and (with run.mjs) CPU seconds. */
async function timed<T>(fn: () => T | Promise<T>): Promise<[T, Measured]> {
  const cpu = await startCpu();
  const started = performance.now();
  const value = await fn();
  const seconds = (performance.now() - started) / 1000;
  return [value, { seconds, cpuSeconds: cpu === null ? null : (await cpu.stop()).seconds }];
}

interface Measured {
  seconds: number;
  cpuSeconds: number | null;
}

/** The proposed conformTable check: same type id and unit, timezone null and undefined alike (both: none). */
export function sameStorageType(given: DataType, target: DataType): boolean {
  if (given.typeId === Type.Timestamp && target.typeId === Type.Timestamp) {
    const a = given as DataType & { unit: number; timezone?: string | null };
    const b = target as DataType & { unit: number; timezone?: string | null };
    return a.unit === b.unit && (a.timezone ?? null) === (b.timezone ?? null);
  }
  return util.compareTypes(given, target);
}

function conformProposed(definition: FeatureGroupDefinition, input: Table, problems: ProblemCollector): Vector[] {
  const reused = definition.features.map((f) => {
    const column = input.getChild(f.name);
    return column !== null && sameStorageType(column.type as DataType, arrowTypeOf(f.type)) ? column : null;
  });
  if (reused.every((c) => c !== null)) return reused;
  return conformTable(definition, input, problems);
}

/** Columns conformTable built anew instead of reusing the input's buffers (getChild returns a new Vector each call). */
function rebuiltColumns(definition: FeatureGroupDefinition, input: Table, columns: Vector[]): string[] {
  return definition.features.filter((f, i) => columns[i]?.data[0] !== input.getChild(f.name)?.data[0]).map((f) => f.name);
}

function describeType(type: DataType): string {
  return JSON.stringify(type, (_key, value: unknown) => (value === undefined ? 'undefined' : value));
}

class Collector {
  readonly out: Diagnostic[] = [];
  constructor(private readonly repeats: number) {}

  /** Runs `once` `repeats` times and keeps the least wall and CPU time of each named step it reports. */
  async measure(
    area: string,
    once: (record: (step: string, measured: Measured, note?: string) => void) => Promise<void>,
    repeats = this.repeats,
  ): Promise<void> {
    const best = new Map<string, Diagnostic>();
    for (let i = 0; i < repeats; i++) {
      await once((step, { seconds, cpuSeconds }, note = '') => {
        const known = best.get(step);
        if (known === undefined) {
          best.set(step, { area, step, seconds, cpuSeconds, note });
          return;
        }
        if (seconds < known.seconds) Object.assign(known, { seconds, note });
        if (cpuSeconds !== null && (known.cpuSeconds === null || cpuSeconds < known.cpuSeconds)) known.cpuSeconds = cpuSeconds;
      });
    }
    this.out.push(...best.values());
  }
}

/** A fresh module worker's first Parquet decode, as in a new store worker: load parquet-wasm, decode the bytes. */
async function parquetInFreshWorker(bytes: Uint8Array): Promise<{ loadSeconds: number; decodeSeconds: number }> {
  const worker = new Worker(new URL('./parquet-init.worker.ts', import.meta.url), { type: 'module' });
  try {
    return await new Promise((resolve, reject) => {
      worker.onmessage = (event: MessageEvent<{ loadSeconds: number; decodeSeconds: number }>) => resolve(event.data);
      worker.onerror = (event) => reject(new Error(event.message));
      const copy = bytes.slice();
      worker.postMessage(copy, [copy.buffer]);
    });
  } finally {
    worker.terminate();
  }
}

/** The proposed Arrow-side checkValues: null counts from Arrow metadata, NaN by a scan of the float buffers. */
function checkInJs(columns: Vector[], floatColumns: number[]): number {
  let problems = 0;
  for (const column of columns) problems += column.nullCount > 0 ? 1 : 0;
  for (const index of floatColumns) {
    for (const data of columns[index]!.data) {
      const values = data.values as Float64Array;
      for (let i = data.offset; i < data.offset + data.length; i++) {
        if (Number.isNaN(values[i])) {
          problems++;
          break;
        }
      }
    }
  }
  return problems;
}

let fileCounter = 0;

async function withDuckDb(fn: (raw: RawDuckDb) => Promise<void>): Promise<void> {
  const raw = await startRawDuckDb(`bench-diagnose-${++fileCounter}.duckdb`);
  try {
    await raw.conn.query('SELECT 1');
    await fn(raw);
  } finally {
    await raw.close();
  }
}

/** Runs every diagnostic on the benchmark's data; `repeats` runs per step, fastest kept. */
export async function diagnose(data: Data, repeats = 2): Promise<Diagnostic[]> {
  const definition = normalizeFeatureGroup({ name: 'bench', version: 1, primaryKey: 'id', eventTime: 'ts', features: FEATURES }, Date.now());
  const c = new Collector(repeats);
  await loadParquet();

  await c.measure('arrow, JS (as in the store worker)', async (record) => {
    const [ipc, encode] = await timed(() => tableToIPC(data.table, 'stream'));
    record('tableToIPC of the caller\'s table (FeatureGroup.insert → toSource)', encode);
    const [decoded, decode] = await timed(() => tableFromIPC(ipc));
    record('tableFromIPC (prepare)', decode);
    const [columns, conform] = await timed(() => conformTable(definition, decoded, new ProblemCollector()));
    const rebuilt = rebuiltColumns(definition, decoded, columns);
    const tsType = describeType(decoded.getChild('ts')!.type as DataType);
    record('conformTable (prepare)', conform, rebuilt.length === 0 ? 'no column rebuilt' :
      `rebuilt row by row: ${rebuilt.join(', ')} (decoded ts type ${tsType} vs target ${describeType(arrowTypeOf('timestamp'))})`);
    const [proposed, fixed] = await timed(() => conformProposed(definition, decoded, new ProblemCollector()));
    record('conformTable with timezone null ≡ undefined (proposed)', fixed, `rebuilt: ${rebuiltColumns(definition, decoded, proposed).join(', ') || 'none'}`);
    const [, reencode] = await timed(() => tableToIPC(storedTable(definition, columns, 1n), 'stream'));
    record('storedTable + tableToIPC, 9 columns (prepare.insert)', reencode);
    const floats = definition.features.flatMap((f, i) => (f.type === 'float64' ? [i] : []));
    const [found, jsCheck] = await timed(() => checkInJs(columns, floats));
    record('proposed: checkValues in JS on the Arrow columns (nullCount + NaN scan)', jsCheck, `${found} problems`);
  });

  await c.measure('parquet, JS (as in the store worker)', async (record) => {
    const fresh = await parquetInFreshWorker(data.parquet);
    record('fresh worker: load parquet-wasm (the store worker does it on its first Parquet insert)', { seconds: fresh.loadSeconds, cpuSeconds: null });
    record('fresh worker: first readParquet → IPC stream (cold wasm heap)', { seconds: fresh.decodeSeconds, cpuSeconds: null });
    const [copy, clone] = await timed(() => structuredClone(data.parquet));
    record(`structured clone of the Parquet bytes (a Uint8Array is posted to the worker, not transferred)`, clone, `${(copy.byteLength / 2 ** 20).toFixed(0)} MB`);
    const [ipc, decodeParquet] = await timed(() => readParquet(data.parquet, { batchSize: 1 << 20 }).intoIPCStream());
    record('warm instance (the raw baseline\'s): readParquet → IPC stream', decodeParquet);
    const decoded = tableFromIPC(ipc);
    const [columns, conform] = await timed(() => conformTable(definition, decoded, new ProblemCollector()));
    const rebuilt = rebuiltColumns(definition, decoded, columns);
    record('tableFromIPC + conformTable', conform, rebuilt.length === 0 ? 'no column rebuilt' : `rebuilt row by row: ${rebuilt.join(', ')}`);
  });

  await c.measure('csv, JS (as in the store worker)', async (record) => {
    const blob = new Blob([data.csv as BlobPart], { type: 'text/csv' });
    const [, read] = await timed(async () => new Uint8Array(await blob.arrayBuffer()));
    record('Blob.arrayBuffer() of the CSV (bytesOf)', read, `${(blob.size / 2 ** 20).toFixed(0)} MB`);
    const [, clone] = await timed(() => structuredClone(data.csv));
    record('structured clone of the CSV bytes (a Uint8Array is posted to the worker, not transferred)', clone);
  });

  const arrowIpc = (): Uint8Array => tableToIPC(data.table, 'stream');
  const storedIpc = (): Uint8Array => {
    const columns = conformProposed(definition, tableFromIPC(arrowIpc()), new ProblemCollector());
    return tableToIPC(storedTable(definition, columns, 1n), 'stream');
  };
  /** The feature columns and the commit id, without the superseded column. */
  const commitOnlyIpc = (): Uint8Array => {
    const stored = tableFromIPC(storedIpc());
    const columns: Record<string, Vector> = {};
    for (const field of stored.schema.fields) {
      if (field.name !== '_larder_superseded') columns[field.name] = stored.getChild(field.name)!;
    }
    return tableToIPC(new Table(columns), 'stream');
  };

  await c.measure('arrow, raw DuckDB-WASM (best of 3)', async (record) => {
    await withDuckDb(async ({ conn }) => {
      await conn.query(`CREATE TABLE t (${RAW_COLUMNS}); CHECKPOINT;`);
      const ipc = arrowIpc();
      record('insert 7 columns (the baseline)', (await timed(() => conn.insertArrowFromIPCStream(ipc, { name: 't', create: false })))[1]);
      record('CHECKPOINT after it', (await timed(() => conn.query('CHECKPOINT')))[1]);
    });
    await withDuckDb(async ({ conn }) => {
      await conn.query(`CREATE TABLE ${TABLE} (${LARDER_COLUMNS}); CHECKPOINT;`);
      const ipc = storedIpc();
      record('insert Larder\'s 9 columns (+ commit id, superseded)', (await timed(() => conn.insertArrowFromIPCStream(ipc, { name: 'fg_bench_v1', create: false })))[1]);
      record('Larder\'s checkValues query on them (7 counts)', (await timed(() => conn.query(VALIDATION)))[1]);
    });
    await withDuckDb(async ({ conn }) => {
      await conn.query(`CREATE TABLE ${TABLE} (${RAW_COLUMNS}, "_larder_commit" BIGINT NOT NULL); CHECKPOINT;`);
      const ipc = commitOnlyIpc();
      record('8 columns: commit id only, no superseded column', (await timed(() => conn.insertArrowFromIPCStream(ipc, { name: 'fg_bench_v1', create: false })))[1]);
    });
  }, repeats + 1); // the hidden columns cost ~10 %, about the noise of one run: one more repeat

  await c.measure('csv, raw DuckDB-WASM (Larder\'s 9-column table, inside a transaction)', async (record) => {
    const run = async (step: string, statement: string): Promise<void> => {
      await withDuckDb(async ({ db, conn }) => {
        await conn.query(`CREATE TABLE ${TABLE} (${LARDER_COLUMNS}); CHECKPOINT;`);
        await db.registerFileBuffer('b.csv', data.csv.slice());
        await conn.query('BEGIN TRANSACTION');
        record(step, (await timed(() => conn.query(statement)))[1]);
        await conn.query('COMMIT');
      });
    };
    await withDuckDb(async ({ db, conn }) => {
      await db.registerFileBuffer('b.csv', data.csv.slice());
      record('DESCRIBE over the text read, fixed dialect (how Larder gets the header)', (await timed(() => conn.query(`DESCRIBE SELECT * FROM ${CSV_TEXT}`)))[1]);
      record('the same DESCRIBE with sample_size = 2048', (await timed(() => conn.query(`DESCRIBE SELECT * FROM ${CSV_TEXT.replace(/\)$/, ', sample_size = 2048)')}`)))[1]);
    });
    await run('typed read_csv straight into the table (the baseline\'s statement)',
      `INSERT INTO ${TABLE} SELECT *, 1, NULL FROM read_csv('b.csv', header = true, types = ${RAW_CSV_TYPES})`);
    await run('typed read but integers as text + regexp guard, fail-fast',
      `INSERT INTO ${TABLE} SELECT ${CSV_MIXED_CONVERSIONS}, 1, NULL FROM ${CSV_MIXED}`);
    await withDuckDb(async ({ conn }) => {
      await conn.query(`CREATE TABLE ids AS SELECT CAST(range AS VARCHAR) AS id FROM range(${data.table.numRows}); CHECKPOINT;`);
      const guard = (expression: string): string => `SELECT count(*) FILTER (WHERE ${expression}) FROM ids`;
      record('integer guard alone: regexp_full_match(id, \'\\s*[+-]?[0-9]+\\s*\') over the ids as text',
        (await timed(() => conn.query(guard(`regexp_full_match(id, ${INTEGER_TEXT})`))))[1]);
      record('integer guard alone: NOT regexp_matches(id, \'[.eExX_]\') (rejects what CAST would round or reinterpret)',
        (await timed(() => conn.query(guard(`NOT regexp_matches(id, '[.eExX_]')`))))[1]);
      record('integer guard alone: none (CAST only, the floor)', (await timed(() => conn.query(guard('CAST(id AS BIGINT) IS NOT NULL'))))[1]);
    });
  });
  return c.out;
}
