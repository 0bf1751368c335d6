// The benchmark's data set, generated in the page outside every timed region: the same rows as an Arrow table,
// as CSV bytes and as Parquet bytes.
import { Float64, Int64, Table, TimestampMicrosecond, makeData, makeVector, tableToIPC, type DataType, type Vector } from 'apache-arrow';
import initParquet, { Table as WasmTable, writeParquet } from 'parquet-wasm/esm';
import parquetWasmUrl from 'parquet-wasm/esm/parquet_wasm_bg.wasm?url';
import type { FeatureType } from '../src/index.ts';

/** The feature group's columns: int64 key, timestamp, five float64 features. */
export const FEATURES: Record<string, FeatureType> = {
  id: 'int64',
  ts: 'timestamp',
  f1: 'float64',
  f2: 'float64',
  f3: 'float64',
  f4: 'float64',
  f5: 'float64',
};
const FLOATS = ['f1', 'f2', 'f3', 'f4', 'f5'];

/** The same column types for raw DuckDB. */
export const RAW_COLUMNS = 'id BIGINT, ts TIMESTAMP, f1 DOUBLE, f2 DOUBLE, f3 DOUBLE, f4 DOUBLE, f5 DOUBLE';
export const RAW_CSV_TYPES = `{'id': 'BIGINT', 'ts': 'TIMESTAMP', 'f1': 'DOUBLE', 'f2': 'DOUBLE', 'f3': 'DOUBLE', 'f4': 'DOUBLE', 'f5': 'DOUBLE'}`;

export interface Data {
  table: Table;
  csv: Uint8Array;
  parquet: Uint8Array;
}

let parquetReady: Promise<unknown> | null = null;

/** Loads parquet-wasm on the page once. */
export function loadParquet(): Promise<unknown> {
  parquetReady ??= initParquet({ module_or_path: parquetWasmUrl });
  return parquetReady;
}

export { parquetWasmUrl };

function vector(type: DataType, values: BigInt64Array | Float64Array): Vector {
  return makeVector(makeData({ type, length: values.length, data: values } as never));
}

/** 1 s apart from 2024-01-01 UTC, keys 0..n-1, five uniform random floats in [-100, 100). */
export function makeTable(rows: number): Table {
  const id = new BigInt64Array(rows);
  const ts = new BigInt64Array(rows);
  const start = BigInt(Date.UTC(2024, 0, 1)) * 1000n;
  for (let i = 0; i < rows; i++) {
    id[i] = BigInt(i);
    ts[i] = start + BigInt(i) * 1_000_000n;
  }
  const columns: Record<string, Vector> = { id: vector(new Int64(), id), ts: vector(new TimestampMicrosecond(), ts) };
  for (const name of FLOATS) {
    const values = new Float64Array(rows);
    for (let i = 0; i < rows; i++) values[i] = Math.random() * 200 - 100;
    columns[name] = vector(new Float64(), values);
  }
  return new Table(columns);
}

/** The same rows as CSV with ISO-8601 UTC timestamps and shortest round-trip floats. */
export function makeCsv(table: Table): Uint8Array {
  const encoder = new TextEncoder();
  const parts: Uint8Array[] = [encoder.encode(`${Object.keys(FEATURES).join(',')}\n`)];
  const id = table.getChild('id')!.toArray() as BigInt64Array;
  const ts = table.getChild('ts')!.toArray() as BigInt64Array;
  const floats = FLOATS.map((name) => table.getChild(name)!.toArray() as Float64Array);
  const chunk = 50_000;
  for (let from = 0; from < table.numRows; from += chunk) {
    const lines: string[] = [];
    for (let i = from; i < Math.min(from + chunk, table.numRows); i++) {
      const iso = new Date(Number(ts[i]! / 1000n)).toISOString();
      lines.push(`${id[i]!},${iso},${floats[0]![i]!},${floats[1]![i]!},${floats[2]![i]!},${floats[3]![i]!},${floats[4]![i]!}\n`);
    }
    parts.push(encoder.encode(lines.join('')));
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** The same rows as Parquet, written by parquet-wasm with its default writer properties. */
export async function makeParquet(table: Table): Promise<Uint8Array> {
  await loadParquet();
  return writeParquet(WasmTable.fromIPCStream(tableToIPC(table, 'stream')));
}
