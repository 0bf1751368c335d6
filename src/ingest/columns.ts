import {
  Bool, DataType, DateDay, Field, Float32, Float64, Int32, Int64, List, TimeUnit, TimestampMicrosecond, Utf8,
  makeData, makeVector, vectorFromArray, type Vector,
} from 'apache-arrow';
import type { FeatureType } from '../definitions/types.ts';
import { microsToDays, millisToMicros, parseIsoToMicros } from '../util/time.ts';
import type { ValidationProblem } from '../errors.ts';

/** The Arrow type each feature type is stored and returned as. */
export function arrowTypeOf(type: FeatureType): DataType {
  switch (type) {
    case 'int32': return new Int32();
    case 'int64': return new Int64();
    case 'float32': return new Float32();
    case 'float64': return new Float64();
    case 'bool': return new Bool();
    case 'string': return new Utf8();
    case 'timestamp': return new TimestampMicrosecond();
    case 'date': return new DateDay();
    case 'list<float32>': return new List(new Field('item', new Float32(), true));
  }
}

type Failure = { kind: ValidationProblem['kind']; message: string };
const wrongType = (type: FeatureType, value: unknown): Failure => ({
  kind: 'wrong_type',
  message: `expected ${type}, got ${describe(value)}`,
});

function describe(value: unknown): string {
  if (typeof value === 'string') return `string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)}`;
  if (typeof value === 'object' && value !== null) return Array.isArray(value) ? 'an array' : value instanceof Date ? 'an invalid Date' : 'an object';
  return `${typeof value} ${String(value)}`;
}

/**
 * An instant already known in epoch microseconds, taken exactly. Arrow's `get()` turns timestamps into float
 * milliseconds, which cannot hold every microsecond (nor any microsecond after the year 2255).
 */
export class EpochMicros {
  constructor(readonly micros: bigint) {}
}

const DAY_MICROS = 86_400_000_000n;

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

/**
 * For an Arrow timestamp (any unit or time zone) or date column, each row's instant read exactly from the
 * stored integers; null for other column types. Nanoseconds are floored to microseconds.
 */
export function arrowInstants(vector: Vector): ((row: number) => EpochMicros | null) | null {
  const type = vector.type as DataType;
  let toMicros: (raw: bigint | number) => bigint;
  if (DataType.isTimestamp(type)) {
    const unit = type.unit;
    toMicros = (raw) => {
      const value = BigInt(raw);
      if (unit === TimeUnit.SECOND) return value * 1_000_000n;
      if (unit === TimeUnit.MILLISECOND) return value * 1000n;
      if (unit === TimeUnit.NANOSECOND) return floorDiv(value, 1000n);
      return value;
    };
  } else if (DataType.isDate(type)) {
    toMicros = (raw) => (typeof raw === 'bigint' ? raw * 1000n : BigInt(raw) * DAY_MICROS); // date64 is ms, date32 days
  } else {
    return null;
  }
  const values: (EpochMicros | null)[] = [];
  for (const data of vector.data) {
    const raw = data.values as BigInt64Array | Int32Array;
    for (let i = 0; i < data.length; i++) values.push(data.getValid(i) ? new EpochMicros(toMicros(raw[data.offset + i]!)) : null);
  }
  return (row) => values[row] ?? null;
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function toMicros(value: unknown): bigint | Failure {
  if (value instanceof EpochMicros) return value.micros;
  if (value instanceof Date) {
    const t = value.getTime();
    return Number.isNaN(t) ? { kind: 'unparseable_timestamp', message: 'an invalid Date' } : millisToMicros(t);
  }
  if (typeof value === 'number') {
    return Number.isFinite(value) ? millisToMicros(value) : { kind: 'unparseable_timestamp', message: `the number ${value}` };
  }
  if (typeof value === 'bigint') return value * 1000n;
  if (typeof value === 'string') {
    const micros = parseIsoToMicros(value);
    return micros ?? { kind: 'unparseable_timestamp', message: `${describe(value)} is not an ISO-8601 date or time` };
  }
  return wrongType('timestamp', value);
}

/**
 * Converts column values of any accepted JavaScript form into one Arrow vector of the feature type. Collects
 * per-row failures instead of throwing, so a whole batch is reported at once.
 *
 * Accepted forms: numbers and bigints for integers (exact, in range), numbers for floats, booleans, strings;
 * timestamps as Date, epoch milliseconds, or ISO-8601 strings (UTC unless an offset is given); dates the same,
 * at midnight UTC; embeddings as arrays or typed arrays of numbers.
 */
export function buildVector(
  type: FeatureType,
  length: number,
  valueAt: (row: number) => unknown,
  fail: (row: number, failure: Failure) => void,
): Vector {
  const validity = new Uint8Array((length + 7) >> 3);
  let nullCount = 0;
  const present = (row: number): void => {
    validity[row >> 3]! |= 1 << (row & 7);
  };
  const each = (store: (row: number, value: unknown) => boolean): void => {
    for (let row = 0; row < length; row++) {
      const value = valueAt(row);
      if (value === null || value === undefined) {
        nullCount++;
        continue;
      }
      if (store(row, value)) present(row);
      else nullCount++;
    }
  };
  const data = <T extends DataType>(t: T, values: ArrayBufferView | undefined, extra: Record<string, unknown> = {}): Vector =>
    makeVector(makeData({ type: t, length, nullCount, nullBitmap: nullCount === 0 ? null : validity, data: values, ...extra } as never));

  switch (type) {
    case 'int32': {
      const out = new Int32Array(length);
      each((row, v) => {
        const n = typeof v === 'bigint' && v >= INT32_MIN && v <= INT32_MAX ? Number(v) : v;
        if (typeof n === 'number' && Number.isInteger(n) && n >= INT32_MIN && n <= INT32_MAX) {
          out[row] = n;
          return true;
        }
        const integral = typeof n === 'bigint' || Number.isInteger(n);
        fail(row, integral ? { kind: 'out_of_range', message: `${String(v)} is out of the int32 range` } : wrongType(type, v));
        return false;
      });
      return data(new Int32(), out);
    }
    case 'int64': {
      const out = new BigInt64Array(length);
      each((row, v) => {
        let b: bigint | null = null;
        if (typeof v === 'bigint') b = v;
        else if (typeof v === 'number' && Number.isSafeInteger(v)) b = BigInt(v);
        else if (typeof v === 'string' && /^[+-]?\d+$/.test(v)) b = BigInt(v);
        if (b !== null && b >= INT64_MIN && b <= INT64_MAX) {
          out[row] = b;
          return true;
        }
        if (b !== null) fail(row, { kind: 'out_of_range', message: `${String(v)} is out of the int64 range` });
        else if (Number.isInteger(v)) {
          fail(row, { kind: 'out_of_range', message: `${String(v)} is beyond 2^53, where numbers are not exact; pass a bigint or a decimal string` });
        } else fail(row, wrongType(type, v));
        return false;
      });
      return data(new Int64(), out);
    }
    case 'float32':
    case 'float64': {
      const out = type === 'float32' ? new Float32Array(length) : new Float64Array(length);
      each((row, v) => {
        if (typeof v === 'number') out[row] = v;
        else if (typeof v === 'bigint') out[row] = Number(v);
        else {
          fail(row, wrongType(type, v));
          return false;
        }
        return true;
      });
      return data(type === 'float32' ? new Float32() : new Float64(), out);
    }
    case 'bool': {
      const out = new Uint8Array((length + 7) >> 3);
      each((row, v) => {
        if (typeof v !== 'boolean') {
          fail(row, wrongType(type, v));
          return false;
        }
        if (v) out[row >> 3]! |= 1 << (row & 7);
        return true;
      });
      return data(new Bool(), out);
    }
    case 'string': {
      const out: (string | null)[] = new Array<string | null>(length);
      for (let row = 0; row < length; row++) {
        const v = valueAt(row);
        if (v === null || v === undefined) out[row] = null;
        else if (typeof v === 'string') out[row] = v;
        else {
          out[row] = null;
          fail(row, wrongType(type, v));
        }
      }
      return vectorFromArray(out, new Utf8());
    }
    case 'timestamp': {
      const out = new BigInt64Array(length);
      each((row, v) => {
        const micros = toMicros(v);
        if (typeof micros === 'bigint') {
          out[row] = micros;
          return true;
        }
        fail(row, micros);
        return false;
      });
      return data(new TimestampMicrosecond(), out);
    }
    case 'date': {
      const out = new Int32Array(length);
      each((row, v) => {
        const micros = toMicros(v);
        if (typeof micros !== 'bigint') {
          fail(row, micros);
          return false;
        }
        const days = microsToDays(micros);
        if (days === null) {
          fail(row, { kind: 'wrong_type', message: `${describe(v)} is not a date at midnight UTC` });
          return false;
        }
        out[row] = days;
        return true;
      });
      return data(new DateDay(), out);
    }
    case 'list<float32>': {
      const offsets = new Int32Array(length + 1);
      const items: number[] = [];
      each((row, v) => {
        const list = toNumberList(v);
        if (list === null) {
          offsets[row + 1] = items.length;
          fail(row, wrongType(type, v));
          return false;
        }
        for (let i = 0; i < list.length; i++) items.push(list[i]!);
        offsets[row + 1] = items.length;
        return true;
      });
      // Rows skipped by `each` (nulls) still need their offset carried forward.
      for (let row = 0; row < length; row++) if (offsets[row + 1]! < offsets[row]!) offsets[row + 1] = offsets[row]!;
      const child = makeData({ type: new Float32(), length: items.length, data: Float32Array.from(items) });
      return data(arrowTypeOf('list<float32>'), undefined, { valueOffsets: offsets, child });
    }
  }
}

function toNumberList(value: unknown): ArrayLike<number> | null {
  if (value instanceof Float32Array || value instanceof Float64Array) return value;
  const arr = Array.isArray(value)
    ? (value as unknown[])
    : typeof value === 'object' && value !== null && typeof (value as { toArray?: unknown }).toArray === 'function'
      ? Array.from((value as { toArray(): ArrayLike<unknown> }).toArray())
      : null;
  if (arr === null || !arr.every((x) => typeof x === 'number')) return null;
  return arr;
}
