/**
 * Test helpers for the offline-store suites: plain values out of Arrow tables (computed from the raw buffers, not
 * from the library's own conversions), table digests, store snapshots and error capture.
 */
import { DataType, TimeUnit, type Table, type Vector } from 'apache-arrow';
import { expect } from 'vitest';
import type { FeatureGroup } from '../../src/index.ts';

/** Epoch microseconds per unit of an Arrow timestamp. */
const MICROS_PER_UNIT: Record<number, [multiply: bigint, divide: bigint]> = {
  [TimeUnit.SECOND]: [1_000_000n, 1n],
  [TimeUnit.MILLISECOND]: [1_000n, 1n],
  [TimeUnit.MICROSECOND]: [1n, 1n],
  [TimeUnit.NANOSECOND]: [1n, 1_000n],
};

/**
 * The values of a column in a comparable plain form: integers as numbers (int64 as bigint), timestamps as epoch
 * microseconds (bigint, read from the raw buffer so no precision is lost), dates as epoch days, lists as number
 * arrays, nulls as null.
 */
export function columnValues(vector: Vector): unknown[] {
  const type = vector.type as DataType;
  const out: unknown[] = [];
  for (const data of vector.data) {
    for (let i = 0; i < data.length; i++) {
      if (!data.getValid(i)) {
        out.push(null);
        continue;
      }
      if (DataType.isTimestamp(type)) {
        const [multiply, divide] = MICROS_PER_UNIT[type.unit]!;
        out.push(((data.values as BigInt64Array)[data.offset + i]! * multiply) / divide);
      } else if (DataType.isDate(type)) {
        const raw = (data.values as Int32Array | BigInt64Array)[data.offset + i]!;
        out.push(typeof raw === 'bigint' ? Number(raw / 86_400_000n) : raw);
      } else {
        out.push(plainValue(vector.get(out.length)));
      }
    }
  }
  return out;
}

function plainValue(value: unknown): unknown {
  if (typeof value === 'object' && value !== null && typeof (value as { toArray?: unknown }).toArray === 'function') {
    return Array.from((value as { toArray(): ArrayLike<unknown> }).toArray());
  }
  return value;
}

/** Every column of a table as plain values, by name. */
export function tableColumns(table: Table): Record<string, unknown[]> {
  return Object.fromEntries(table.schema.fields.map((f) => [f.name, columnValues(table.getChild(f.name)!)]));
}

/** The rows of a table as plain objects (see {@link columnValues}). */
export function tableRows(table: Table): Record<string, unknown>[] {
  const columns = tableColumns(table);
  const names = Object.keys(columns);
  return Array.from({ length: table.numRows }, (_, row) => Object.fromEntries(names.map((n) => [n, columns[n]![row]])));
}

/** JSON that keeps bigints (as "123n") and non-finite numbers distinguishable. */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'bigint') return `${v}n`;
    if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
    return v;
  });
}

/** SHA-256 (hex) of the JSON of every row of the table, schema included. */
export async function tableDigest(table: Table): Promise<string> {
  const text = stableJson({ schema: table.schema.fields.map((f) => `${f.name}:${String(f.type)}`), rows: tableRows(table) });
  const hash = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return Array.from(new Uint8Array(hash), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** What a feature group holds: current rows (with commit ids), a digest of the rows as of every commit, the ledger. */
export interface GroupSnapshot {
  rowCount: number;
  digest: string;
  history: string[];
  commits: unknown[];
}

/** Snapshot of a feature group, to show that a failed operation changed nothing (superseded rows included). */
export async function snapshot(fg: FeatureGroup): Promise<GroupSnapshot> {
  const current = await fg.read({ withCommitIds: true });
  const commits = await fg.commits();
  const history: string[] = [];
  for (const commit of commits) history.push(await tableDigest(await fg.read({ asOfCommit: commit.commitId, withCommitIds: true })));
  return { rowCount: current.numRows, digest: await tableDigest(current), history, commits };
}

/** The rejection of a promise (fails the test when it resolves). */
export async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('Expected the operation to fail, but it succeeded.');
}

/** Asserts |actual − expected| ≤ tolerance × max(1, |expected|). */
export function expectClose(actual: number | null | undefined, expected: number, tolerance = 1e-9, what = ''): void {
  expect(actual, what).toBeTypeOf('number');
  const scale = Math.max(1, Math.abs(expected));
  expect(Math.abs((actual as number) - expected) / scale, `${what}: ${String(actual)} vs ${expected}`).toBeLessThanOrEqual(tolerance);
}

/** The first index where two arrays differ (deep equality per element, Object.is for numbers), or null. */
export function firstDifference(actual: readonly unknown[], expected: readonly unknown[]): { index: number; actual: unknown; expected: unknown } | null {
  const length = Math.max(actual.length, expected.length);
  for (let i = 0; i < length; i++) {
    if (!sameValue(actual[i], expected[i])) return { index: i, actual: actual[i], expected: expected[i] };
  }
  return null;
}

function sameValue(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => sameValue(x, b[i]));
  return Object.is(a, b);
}

/** Compares strings as DuckDB orders VARCHAR: by UTF-8 bytes. */
export function compareUtf8(a: string, b: string): number {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}
