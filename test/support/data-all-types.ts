/**
 * A feature group with a column of every feature type, rows of known values (edge cases first, then seeded random
 * values, nulls in every nullable column), and the same rows written in every input format Larder accepts.
 * Expected values are in the plain form of data-helpers' `columnValues`.
 */
import {
  Bool, DateDay, DateMillisecond, Dictionary, Field, Float32, Float64, Int32, Int64, List, Table, TimestampMicrosecond,
  TimestampMillisecond, TimestampNanosecond, Utf8, makeData, makeVector, tableToIPC, vectorFromArray, type DataType,
  type Vector,
} from 'apache-arrow';
import initParquet, { Table as WasmTable, writeParquet } from 'parquet-wasm/esm';
import parquetWasmUrl from 'parquet-wasm/esm/parquet_wasm_bg.wasm?url';
import type { FeatureGroupSpec } from '../../src/index.ts';
import { seededRandom } from '../../src/util/random.ts';

/** One row in plain form: int64 and instants as bigint (timestamps in epoch µs), dates as epoch days. */
export interface AllTypesRow {
  id: bigint;
  ts: bigint;
  i32: number | null;
  i64: bigint | null;
  f32: number | null;
  f64: number | null;
  b: boolean | null;
  s: string | null;
  t: bigint | null;
  d: number | null;
  emb: number[] | null;
}

export const ALL_TYPES_COLUMNS = ['id', 'ts', 'i32', 'i64', 'f32', 'f64', 'b', 's', 't', 'd', 'emb'] as const;

export function allTypesSpec(name: string): FeatureGroupSpec {
  return {
    name,
    version: 1,
    primaryKey: 'id',
    eventTime: 'ts',
    features: {
      id: 'int64', ts: 'timestamp', i32: 'int32', i64: 'int64', f32: 'float32', f64: 'float64', b: 'bool', s: 'string',
      t: 'timestamp', d: 'date', emb: 'list<float32>',
    },
  };
}

/** Mulberry32: a small seeded PRNG, so every run tests the same values. */
export const random = seededRandom;

const BASE_TS = 1_704_067_200_000_000n; // 2024-01-01T00:00:00Z

const EDGE_I32 = [-2147483648, 2147483647, 0, -1];
const EDGE_I64 = [-(2n ** 63n), 2n ** 63n - 1n, 9007199254740993n, 0n];
const EDGE_F32 = [Math.fround(3.4028234663852886e38), Math.fround(1.401298464324817e-45), Math.fround(0.1), -Math.fround(1e-10)];
const EDGE_F64 = [Number.MAX_VALUE, Number.MIN_VALUE, 0.1 + 0.2, -1e300, 123456789.12345678];
export const EDGE_STRINGS = [
  '', 'héllo wörld', '日本語テキスト', '😀👍🏽', 'comma, inside', 'quote " inside', 'line\nbreak', "apostrophe ' s",
  'semi;colon|pipe', 'tab\tinside', '  spaced  ', 'NULL', 'back\\slash', "'; DROP TABLE x; --",
];
const EDGE_T = [0n, -1n, 1n, 253402300799999999n, -2208988800000000n, 1709210096789012n];
/** Instants that nanosecond timestamps can hold (up to 2262-04-11). */
const EDGE_T_NARROW = [0n, -1000n, 1000n, 9223372036854000n, -2208988800000000n, 1709210096789000n];
const EDGE_D = [0, -1, 2932896, -25567, 19782];
const EDGE_EMB = [[], [0], [Math.fround(0.1), -2.5, Math.fround(3.4e38)], [1, 2, 3, 4, 5, 6, 7, 8]];

export interface AllTypesOptions {
  /** Whole-millisecond timestamps and int64 values within int32 range (for lossy-but-exact input types). */
  narrow?: boolean;
  seed?: number;
}

/** n rows with unique ids in event-time order; edge values first, then random values; nulls in every nullable column. */
export function allTypesRows(n: number, options: AllTypesOptions = {}): AllTypesRow[] {
  const next = random(options.seed ?? 1);
  const int = (lo: number, hi: number): number => lo + Math.floor(next() * (hi - lo + 1));
  const narrow = options.narrow ?? false;
  const micros = (value: bigint): bigint => (narrow ? (value / 1000n) * 1000n : value);
  const rows: AllTypesRow[] = [];
  let ts = BASE_TS;
  for (let i = 0; i < n; i++) {
    ts += BigInt(int(1, 5_000_000_000));
    const isNull = (column: number): boolean => i >= 16 && (i + column) % 6 === 5; // edge values first
    const edge = <T>(list: readonly T[], fallback: () => T): T => (i < list.length ? list[i]! : fallback());
    const randomI64 = (): bigint => (BigInt(int(-(2 ** 30), 2 ** 30)) << 33n) + BigInt(int(0, 2 ** 32));
    rows.push({
      id: BigInt(i + 1),
      ts: micros(ts),
      i32: isNull(0) ? null : edge(EDGE_I32, () => int(-(2 ** 31), 2 ** 31 - 1)),
      i64: isNull(1) ? null : narrow ? BigInt(int(-(2 ** 31), 2 ** 31 - 1)) : edge(EDGE_I64, randomI64),
      f32: isNull(2) ? null : edge(EDGE_F32, () => Math.fround((next() - 0.5) * 10 ** int(-6, 6))),
      f64: isNull(3) ? null : edge(EDGE_F64, () => (next() - 0.5) * 10 ** int(-12, 12)),
      b: isNull(4) ? null : next() < 0.5,
      s: isNull(5) ? null : edge(EDGE_STRINGS, () => `s${int(0, 1e6)}-${'é'.repeat(int(0, 3))}`),
      t: isNull(6) ? null : micros(edge(narrow ? EDGE_T_NARROW : EDGE_T, () => BASE_TS + BigInt(int(-1e9, 1e9)) * 1_000_003n)),
      d: isNull(7) ? null : edge(EDGE_D, () => int(-10_000, 30_000)),
      emb: isNull(8) ? null : edge(EDGE_EMB, () => Array.from({ length: int(0, 4) }, () => Math.fround(next() * 2 - 1))),
    });
  }
  return rows;
}

/** The rows as columns of plain values, for comparing with data-helpers' `tableColumns`. */
export function expectedColumns(rows: readonly AllTypesRow[]): Record<string, unknown[]> {
  return Object.fromEntries(ALL_TYPES_COLUMNS.map((c) => [c, rows.map((r) => r[c])]));
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

/** Epoch microseconds as ISO-8601 with six fraction digits and a Z. */
export function microsToIso(us: bigint): string {
  const ms = floorDiv(us, 1000n);
  const iso = new Date(Number(ms)).toISOString();
  return `${iso.slice(0, -1)}${String(us - ms * 1000n).padStart(3, '0')}Z`;
}

/** Epoch days as YYYY-MM-DD. */
export function daysToIso(days: number): string {
  return new Date(days * 86_400_000).toISOString().slice(0, 10);
}

/** A vector of a fixed-width type from raw storage values (nulls as null). */
function rawVector<T extends DataType>(type: T, values: readonly unknown[], store: ArrayLike<unknown> & { [i: number]: unknown }): Vector {
  const length = values.length;
  const validity = new Uint8Array((length + 7) >> 3);
  let nullCount = 0;
  values.forEach((v, i) => {
    if (v === null) nullCount++;
    else {
      validity[i >> 3]! |= 1 << (i & 7);
      store[i] = v;
    }
  });
  return makeVector(makeData({ type, length, nullCount, nullBitmap: validity, data: store } as never));
}

const float32List = (): List => new List(new Field('item', new Float32(), true));

/** The rows as an Arrow table of the canonical column types. */
export function toArrow(rows: readonly AllTypesRow[]): Table {
  const n = rows.length;
  const col = <K extends keyof AllTypesRow>(k: K): AllTypesRow[K][] => rows.map((r) => r[k]);
  return new Table({
    id: rawVector(new Int64(), col('id'), new BigInt64Array(n)),
    ts: rawVector(new TimestampMicrosecond(), col('ts'), new BigInt64Array(n)),
    i32: rawVector(new Int32(), col('i32'), new Int32Array(n)),
    i64: rawVector(new Int64(), col('i64'), new BigInt64Array(n)),
    f32: rawVector(new Float32(), col('f32'), new Float32Array(n)),
    f64: rawVector(new Float64(), col('f64'), new Float64Array(n)),
    b: vectorFromArray(col('b'), new Bool()),
    s: vectorFromArray(col('s'), new Utf8()),
    t: rawVector(new TimestampMicrosecond(), col('t'), new BigInt64Array(n)),
    d: rawVector(new DateDay(), col('d'), new Int32Array(n)),
    emb: vectorFromArray(col('emb'), float32List()),
  });
}

/**
 * The rows as an Arrow table of other compatible types (needs `narrow` rows): int32 as Int64, int64 as Int32,
 * event time as TimestampMillisecond, timestamp as TimestampNanosecond, date as DateMillisecond, float32 as
 * Float64, strings as a dictionary, embeddings as Float64 lists; two record batches.
 */
export function toArrowVariant(rows: readonly AllTypesRow[]): Table {
  const half = Math.ceil(rows.length / 2);
  const part = (slice: readonly AllTypesRow[]): Table => {
    const n = slice.length;
    const col = <K extends keyof AllTypesRow>(k: K): AllTypesRow[K][] => slice.map((r) => r[k]);
    return new Table({
      id: rawVector(new Int64(), col('id'), new BigInt64Array(n)),
      ts: rawVector(new TimestampMillisecond(), col('ts').map((v) => v / 1000n), new BigInt64Array(n)),
      i32: rawVector(new Int64(), col('i32').map((v) => (v === null ? null : BigInt(v))), new BigInt64Array(n)),
      i64: rawVector(new Int32(), col('i64').map((v) => (v === null ? null : Number(v))), new Int32Array(n)),
      f32: rawVector(new Float64(), col('f32'), new Float64Array(n)),
      f64: rawVector(new Float64(), col('f64'), new Float64Array(n)),
      b: vectorFromArray(col('b'), new Bool()),
      s: vectorFromArray(col('s'), new Dictionary(new Utf8(), new Int32())),
      t: rawVector(new TimestampNanosecond(), col('t').map((v) => (v === null ? null : v * 1000n)), new BigInt64Array(n)),
      d: rawVector(new DateMillisecond(), col('d').map((v) => (v === null ? null : BigInt(v) * 86_400_000n)), new BigInt64Array(n)),
      emb: vectorFromArray(col('emb'), new List(new Field('item', new Float64(), true))),
    });
  };
  return part(rows.slice(0, half)).concat(part(rows.slice(half)));
}

/** Plain row objects: bigints, ISO strings with µs, Date objects where ms suffice, arrays and Float32Arrays. */
export function toObjects(rows: readonly AllTypesRow[]): Record<string, unknown>[] {
  return rows.map((r, i) => {
    const out: Record<string, unknown> = {
      id: i % 2 === 0 ? r.id : Number(r.id),
      ts: r.ts % 1000n === 0n && i % 3 === 0 ? new Date(Number(r.ts / 1000n)) : microsToIso(r.ts),
      i32: r.i32,
      i64: r.i64,
      f32: r.f32,
      f64: r.f64,
      b: r.b,
      s: r.s,
      t: r.t === null ? null : microsToIso(r.t),
      d: r.d === null ? null : i % 2 === 0 ? daysToIso(r.d) : new Date(r.d * 86_400_000),
      emb: r.emb === null ? null : i % 2 === 0 ? r.emb : Float32Array.from(r.emb),
    };
    // Leave out some null values entirely rather than sending null.
    for (const [k, v] of Object.entries(out)) if (v === null && i % 2 === 1) delete out[k];
    return out;
  });
}

/** JSON-ready row objects: int64 as decimal strings, instants as ISO strings, lists as arrays. */
function jsonRows(rows: readonly AllTypesRow[]): Record<string, unknown>[] {
  return rows.map((r) => ({
    id: Number(r.id),
    ts: microsToIso(r.ts),
    i32: r.i32,
    i64: r.i64 === null ? null : r.i64.toString(),
    f32: r.f32,
    f64: r.f64,
    b: r.b,
    s: r.s,
    t: r.t === null ? null : microsToIso(r.t),
    d: r.d === null ? null : daysToIso(r.d),
    emb: r.emb,
  }));
}

export function toJson(rows: readonly AllTypesRow[]): string {
  return JSON.stringify(jsonRows(rows), null, 1);
}

export function toNdjson(rows: readonly AllTypesRow[]): string {
  return jsonRows(rows).map((r) => JSON.stringify(r)).join('\n') + '\n';
}

/** A CSV field: strings always quoted (quotes doubled), nulls as empty unquoted fields. */
function csvField(value: string | null, quote: boolean): string {
  if (value === null) return '';
  return quote ? `"${value.replaceAll('"', '""')}"` : value;
}

export function toCsv(rows: readonly AllTypesRow[], lineEnd = '\n'): string {
  const lines = [ALL_TYPES_COLUMNS.join(',')];
  for (const r of rows) {
    lines.push(
      [
        csvField(r.id.toString(), false),
        csvField(microsToIso(r.ts), false),
        csvField(r.i32 === null ? null : String(r.i32), false),
        csvField(r.i64 === null ? null : r.i64.toString(), false),
        csvField(r.f32 === null ? null : String(r.f32), false),
        csvField(r.f64 === null ? null : String(r.f64), false),
        csvField(r.b === null ? null : String(r.b), false),
        csvField(r.s, true),
        csvField(r.t === null ? null : microsToIso(r.t), false),
        csvField(r.d === null ? null : daysToIso(r.d), false),
        csvField(r.emb === null ? null : `[${r.emb.map(String).join(', ')}]`, true),
      ].join(','),
    );
  }
  return lines.join(lineEnd) + lineEnd;
}

let parquetReady: Promise<unknown> | undefined;

/** Parquet bytes of an Arrow table, written by parquet-wasm. */
export async function toParquet(table: Table): Promise<Uint8Array<ArrayBuffer>> {
  parquetReady ??= initParquet({ module_or_path: parquetWasmUrl });
  await parquetReady;
  return new Uint8Array(writeParquet(WasmTable.fromIPCStream(tableToIPC(table, 'stream'))));
}
