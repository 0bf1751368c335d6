// The page side of the ingest benchmark (bench/run.mjs drives it): generates the data once, then loads it either
// through Larder (openFeatureStore → FeatureGroup.insert) or straight into DuckDB-WASM, and times the load.
import { tableToIPC } from 'apache-arrow';
import { readParquet } from 'parquet-wasm/esm';
import ehWasmUrl from '@duckdb/duckdb-wasm/dist/duckdb-eh.wasm?url';
import ehWorkerUrl from '@duckdb/duckdb-wasm/dist/duckdb-browser-eh.worker.js?url';
import { openFeatureStore, type Progress } from '../src/index.ts';
import { FEATURES, RAW_COLUMNS, RAW_CSV_TYPES, loadParquet, makeCsv, makeParquet, makeTable, type Data } from './data.ts';
import { startCpu, type CpuUse } from './cpu.ts';
import { diagnose } from './diagnose.ts';
import { startRawDuckDb } from './raw-duckdb.ts';

export type Format = 'arrow' | 'csv' | 'parquet';
export type Engine = 'raw' | 'larder';

export interface BenchOptions {
  format: Format;
  engine: Engine;
  /** Unique per measurement: names the OPFS file / store, so every run starts on a fresh one. */
  runId: string;
  /** How Parquet reaches Larder: the bytes (copied to the store worker) or a Blob (read there). */
  parquetInput?: 'bytes' | 'blob';
  /** How CSV reaches Larder. */
  csvInput?: 'bytes' | 'blob';
  /** Larder only: run DuckDB-WASM behind bench/public/duckdb-trace.worker.js and return its calls. */
  trace?: boolean;
}

/** One request Larder's DuckDB worker served during the insert, as the tracing worker timed it. */
export interface TraceEntry {
  type: string;
  text: string;
  /** Epoch milliseconds (performance.timeOrigin-based, comparable across the page and workers). */
  startedAt: number;
  seconds: number;
  ok: boolean;
}

export interface BenchResult {
  format: Format;
  engine: Engine;
  rows: number;
  seconds: number;
  /** Time between consecutive marks, in seconds, in the order they happened. */
  phases: [string, number][];
  /** Rows the engine reports as written (checked against the input). */
  writtenRows: number;
  /** Bytes of all OPFS files after the load (the database on disk). */
  opfsBytes: number;
  /** `performance.memory.usedJSHeapSize` of the page right after the load, when Chromium exposes it. */
  jsHeapBytes: number | null;
  /** CPU time of the timed region and the share of the machine other processes took meanwhile (run.mjs only). */
  cpu: CpuUse | null;
  /** With `trace`: the DuckDB requests of the timed insert, in order. */
  trace?: TraceEntry[];
}

export interface PreparedData {
  rows: number;
  arrowIpcBytes: number;
  csvBytes: number;
  parquetBytes: number;
  seconds: number;
}

const RAW_TABLE = 'bench';

let data: Data | null = null;

/** Generates the data set once (outside every timed region) and returns its sizes. */
async function prepareData(rows: number): Promise<PreparedData> {
  const started = performance.now();
  const table = makeTable(rows);
  data = { table, csv: makeCsv(table), parquet: await makeParquet(table) };
  return {
    rows,
    arrowIpcBytes: tableToIPC(table, 'stream').byteLength,
    csvBytes: data.csv.byteLength,
    parquetBytes: data.parquet.byteLength,
    seconds: (performance.now() - started) / 1000,
  };
}

/** Records the time of named points; `phases()` gives the durations between them. */
class Marks {
  private readonly marks: [string, number][] = [];
  mark(name: string): void {
    this.marks.push([name, performance.now()]);
  }
  phases(): [string, number][] {
    return this.marks.slice(1).map(([name, at], i) => [`${this.marks[i]![0]}→${name}`, (at - this.marks[i]![1]) / 1000]);
  }
  seconds(): number {
    return (this.marks[this.marks.length - 1]![1] - this.marks[0]![1]) / 1000;
  }
}

async function opfsBytes(): Promise<number> {
  const root = await navigator.storage.getDirectory();
  let total = 0;
  for await (const [, handle] of (root as unknown as { entries(): AsyncIterable<[string, FileSystemHandle]> }).entries()) {
    if (handle.kind === 'file') total += (await (handle as FileSystemFileHandle).getFile()).size;
  }
  return total;
}

function jsHeap(): number | null {
  return (performance as unknown as { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize ?? null;
}

/** Raw DuckDB-WASM: its own worker on the page, an OPFS file, the same column types, no Larder code. */
async function runRaw(options: BenchOptions, input: Data): Promise<BenchResult> {
  const raw = await startRawDuckDb(`bench-raw-${options.runId}.duckdb`);
  try {
    const { db, conn } = raw;
    await conn.query(`CREATE TABLE ${RAW_TABLE} (${RAW_COLUMNS}); CHECKPOINT;`);
    // Copies made before the clock starts: registerFileBuffer transfers (detaches) the buffer it is given.
    const csv = options.format === 'csv' ? input.csv.slice() : null;
    const parquet = options.format === 'parquet' ? input.parquet.slice() : null;
    if (parquet !== null) await loadParquet();
    const cpu = await startCpu();
    const marks = new Marks();
    marks.mark('start');
    if (options.format === 'arrow') {
      const ipc = tableToIPC(input.table, 'stream');
      marks.mark('encoded');
      await conn.insertArrowFromIPCStream(ipc, { name: RAW_TABLE, create: false });
    } else if (options.format === 'csv') {
      await db.registerFileBuffer('bench.csv', csv!);
      marks.mark('registered');
      await conn.query(`INSERT INTO ${RAW_TABLE} SELECT * FROM read_csv('bench.csv', header = true, types = ${RAW_CSV_TYPES})`);
    } else {
      const ipc = readParquet(parquet!, { batchSize: 1 << 20 }).intoIPCStream();
      marks.mark('decoded');
      await conn.insertArrowFromIPCStream(ipc, { name: RAW_TABLE, create: false });
    }
    marks.mark('inserted');
    await conn.query('CHECKPOINT');
    marks.mark('checkpointed');
    const cpuUse = (await cpu?.stop()) ?? null;
    const heap = jsHeap();
    const writtenRows = await raw.scalar(`SELECT count(*) FROM ${RAW_TABLE}`);
    return {
      format: options.format,
      engine: 'raw',
      rows: input.table.numRows,
      seconds: marks.seconds(),
      phases: marks.phases(),
      writtenRows,
      opfsBytes: await opfsBytes(),
      jsHeapBytes: heap,
      cpu: cpuUse,
    };
  } finally {
    await raw.close();
  }
}

/** Larder: a fresh persistent store, one feature group, and the timed `insert` (durable when it resolves). */
async function runLarder(options: BenchOptions, input: Data): Promise<BenchResult> {
  const trace = options.trace === true ? new BroadcastChannel('larder-bench-trace') : null;
  const entries: TraceEntry[] = [];
  if (trace !== null) trace.onmessage = (event: MessageEvent<TraceEntry>) => entries.push(event.data);
  const now = (): number => performance.timeOrigin + performance.now();
  const real = new URL(ehWorkerUrl, location.href).href;
  const store = await openFeatureStore({
    name: `bench_${options.format}_${options.runId}`,
    ...(trace === null ? {} : { duckdb: { wasmUrl: ehWasmUrl, workerUrl: `/duckdb-trace.worker.js?real=${encodeURIComponent(real)}` } }),
  });
  try {
    const group = await store.createFeatureGroup({ name: 'bench', version: 1, primaryKey: 'id', eventTime: 'ts', features: FEATURES });
    const csvKind = options.csvInput ?? 'blob';
    const parquetKind = options.parquetInput ?? 'bytes';
    const batch =
      options.format === 'arrow'
        ? input.table
        : options.format === 'csv'
          ? csvKind === 'blob' ? new Blob([input.csv as BlobPart], { type: 'text/csv' }) : input.csv.slice()
          : parquetKind === 'blob' ? new Blob([input.parquet as BlobPart]) : input.parquet.slice();
    const marks = new Marks();
    const onProgress = (progress: Progress): void => marks.mark(progress.phase);
    const cpu = await startCpu();
    const from = now();
    marks.mark('call');
    // Like the raw side (registerFileBuffer), byte buffers copied before the clock are moved, not copied.
    const result = await group.insert(batch, { format: options.format === 'arrow' ? undefined : options.format, transfer: true, onProgress });
    marks.mark('resolved');
    const to = now();
    const cpuUse = (await cpu?.stop()) ?? null;
    if (trace !== null) await sleep(100); // trace records travel on their own channel: let the last ones arrive
    const heap = jsHeap();
    return {
      format: options.format,
      engine: 'larder',
      rows: input.table.numRows,
      seconds: marks.seconds(),
      phases: marks.phases(),
      writtenRows: result.rowCount,
      opfsBytes: await opfsBytes(),
      jsHeapBytes: heap,
      cpu: cpuUse,
      ...(trace === null ? {} : { trace: entries.filter((e) => e.startedAt >= from && e.startedAt <= to).sort((a, b) => a.startedAt - b.startedAt) }),
    };
  } finally {
    trace?.close();
    await store.close();
  }
}

async function runBench(options: BenchOptions): Promise<BenchResult> {
  if (data === null) throw new Error('Call prepareData(rows) first.');
  return options.engine === 'raw' ? runRaw(options, data) : runLarder(options, data);
}

async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Removes every OPFS entry and IndexedDB database of the origin, so disk use stays bounded. A database file whose
 * DuckDB worker was just terminated can keep its access handle for a moment: retry a few times.
 */
async function cleanStorage(): Promise<{ removed: number; left: string[] }> {
  const root = await navigator.storage.getDirectory();
  let removed = 0;
  let left: string[] = [];
  for (let attempt = 0; attempt < 20; attempt++) {
    left = [];
    for await (const name of (root as unknown as { keys(): AsyncIterable<string> }).keys()) {
      try {
        await root.removeEntry(name, { recursive: true });
        removed++;
      } catch {
        left.push(name); // still locked by a worker that is shutting down: the next attempt gets it
      }
    }
    if (left.length === 0) break;
    await sleep(100);
  }
  for (const db of await indexedDB.databases()) {
    if (db.name === undefined) continue;
    await new Promise<void>((resolve, reject) => {
      const request = indexedDB.deleteDatabase(db.name!);
      request.onsuccess = () => resolve();
      request.onerror = () => reject(request.error ?? new Error(`could not delete IndexedDB ${db.name!}`));
      request.onblocked = () => resolve(); // a closing store still holds it; it goes once that connection closes
    });
  }
  return { removed, left };
}

declare global {
  interface Window {
    prepareData: typeof prepareData;
    runBench: typeof runBench;
    cleanStorage: typeof cleanStorage;
    diagnose: () => ReturnType<typeof diagnose>;
    benchReady: boolean;
  }
}

window.prepareData = prepareData;
window.runBench = runBench;
window.cleanStorage = cleanStorage;
window.diagnose = () => {
  if (data === null) throw new Error('Call prepareData(rows) first.');
  return diagnose(data);
};
window.benchReady = true;
