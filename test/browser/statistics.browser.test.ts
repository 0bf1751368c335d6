import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  NotFoundError, openFeatureStore, type ColumnStatistics, type FeatureGroup, type FeatureGroupStatistics,
  type FeatureStore,
} from '../../src/index.ts';
import { microsToIso, random } from '../support/data-all-types.ts';
import { compareUtf8, expectClose, rejectionOf } from '../support/data-helpers.ts';
import { uniqueStoreName } from '../support/names.ts';

const SPEC = {
  name: 'stats',
  version: 1,
  primaryKey: 'id',
  eventTime: 'ts',
  features: {
    id: 'int32', ts: 'timestamp', i32: 'int32', i64: 'int64', f32: 'float32', f64: 'float64', s: 'string', b: 'bool',
    d: 'date', t: 'timestamp', emb: 'list<float32>',
  },
} as const;

type Column = keyof typeof SPEC.features;

/** One row in plain form: int64 as bigint, timestamps in epoch µs (bigint), dates in epoch days. */
interface Row {
  id: number;
  ts: bigint;
  i32: number | null;
  i64: bigint | null;
  f32: number | null;
  f64: number | null;
  s: string | null;
  b: boolean | null;
  d: number | null;
  t: bigint | null;
  emb: number[] | null;
}

function rows(n: number, seed: number, firstId: number): Row[] {
  const next = random(seed);
  const int = (lo: number, hi: number): number => lo + Math.floor(next() * (hi - lo + 1));
  const maybe = <T>(p: number, value: () => T): T | null => (next() < p ? null : value());
  return Array.from({ length: n }, (_, i) => ({
    id: firstId + i,
    ts: 1_700_000_000_000_000n + BigInt(int(0, 1e9)) * 1000n + BigInt(int(0, 999)),
    i32: maybe(0.1, () => int(-1000, 1000)),
    i64: maybe(0.05, () => BigInt(int(-5e8, 5e8)) * 1000n),
    f32: maybe(0.2, () => Math.fround((next() - 0.3) * 1e4)),
    f64: maybe(0.1, () => Math.exp(next() * 10) * (next() < 0.5 ? -1 : 1)),
    s: maybe(0.1, () => `${['alpha', 'Beta', 'gamma', 'délta', 'Zed', 'épsilon', '日本'][int(0, 6)]}${int(0, 30)}`),
    b: maybe(0.1, () => next() < 0.3),
    d: maybe(0.1, () => int(-3650, 20_000)),
    t: maybe(0.3, () => BigInt(int(-2e9, 2e9)) * 1_000_003n + BigInt(int(0, 999))),
    emb: maybe(0.1, () => Array.from({ length: int(0, 5) }, () => Math.fround(next()))),
  }));
}

const asInsert = (list: Row[]): Record<string, unknown>[] =>
  list.map((r) => ({ ...r, ts: microsToIso(r.ts), t: r.t === null ? null : microsToIso(r.t), d: r.d === null ? null : r.d * 86_400_000 }));

/** The values statistics are computed on: numbers, or epoch ms for instants; strings; booleans. */
function values(list: Row[], column: Column): (number | string | boolean | number[])[] {
  const out: (number | string | boolean | number[])[] = [];
  for (const r of list) {
    const v = r[column];
    if (v === null) continue;
    if (column === 'ts' || column === 't') out.push(Number(v) / 1000);
    else if (column === 'd') out.push((v as number) * 86_400_000);
    else if (typeof v === 'bigint') out.push(Number(v));
    else out.push(v);
  }
  return out;
}

/** numpy's default (linear) quantile of sorted values. */
function quantile(sorted: number[], p: number): number {
  const h = (sorted.length - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

function numericExpectation(xs: number[]) {
  const sorted = [...xs].sort((a, b) => a - b);
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const std = Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1));
  const min = sorted[0]!;
  const max = sorted[n - 1]!;
  const width = (max - min) / 20;
  const counts = new Array<number>(20).fill(0);
  for (const x of xs) counts[Math.min(Math.floor((x - min) / width), 19)]!++;
  const edges = Array.from({ length: 21 }, (_, i) => (i === 20 ? max : min + i * width));
  const quantiles = { p05: quantile(sorted, 0.05), p25: quantile(sorted, 0.25), p50: quantile(sorted, 0.5), p75: quantile(sorted, 0.75), p95: quantile(sorted, 0.95) };
  return { min, max, mean, std, quantiles, histogram: { edges, counts } };
}

/** Compares one column's statistics with values computed here from the rows. */
function expectColumn(actual: ColumnStatistics | undefined, list: Row[], column: Column): void {
  const xs = values(list, column);
  const what = column;
  expect(actual, what).toBeDefined();
  const stats = actual!;
  expect(stats.type, what).toBe(SPEC.features[column]);
  expect(stats.count, what).toBe(xs.length);
  expect(stats.nulls, what).toBe(list.length - xs.length);
  expect(stats.distinct, what).toBe(new Set(xs.map((x) => JSON.stringify(x))).size);
  if (column === 's') {
    const sorted = (xs as string[]).sort(compareUtf8);
    expect([stats.min, stats.max], what).toEqual([sorted[0], sorted.at(-1)]);
    expect([stats.mean, stats.std, stats.quantiles, stats.histogram], what).toEqual([null, null, null, null]);
    return;
  }
  if (column === 'b') {
    const bools = xs as boolean[];
    expect([stats.min, stats.max], what).toEqual([bools.every(Boolean), bools.some(Boolean)]);
    const ones = bools.map(Number);
    const mean = ones.reduce((a, b) => a + b, 0) / ones.length;
    expectClose(stats.mean, mean, 1e-12, `${what} mean`);
    expectClose(stats.std, Math.sqrt(ones.reduce((a, x) => a + (x - mean) ** 2, 0) / (ones.length - 1)), 1e-9, `${what} std`);
    expect([stats.quantiles, stats.histogram], what).toEqual([null, null]);
    return;
  }
  if (column === 'emb') {
    // Lists: statistics of their lengths.
    const lengths = (xs as number[][]).map((l) => l.length);
    expect([stats.min, stats.max], what).toEqual([Math.min(...lengths), Math.max(...lengths)]);
    expectClose(stats.mean, lengths.reduce((a, b) => a + b, 0) / lengths.length, 1e-12, `${what} mean`);
    return;
  }
  const want = numericExpectation(xs as number[]);
  expect(stats.min, `${what} min`).toBe(want.min);
  expect(stats.max, `${what} max`).toBe(want.max);
  expectClose(stats.mean, want.mean, 1e-9, `${what} mean`);
  expectClose(stats.std, want.std, 1e-9, `${what} std`);
  expect(stats.quantiles, what).not.toBeNull();
  for (const key of ['p05', 'p25', 'p50', 'p75', 'p95'] as const) {
    expectClose(stats.quantiles![key], want.quantiles[key], 1e-12, `${what} ${key}`);
  }
  expect(stats.histogram, what).not.toBeNull();
  expect(stats.histogram!.counts, `${what} histogram`).toEqual(want.histogram.counts);
  expect(stats.histogram!.counts.reduce((a, b) => a + b, 0), what).toBe(xs.length);
  expect(stats.histogram!.edges).toHaveLength(21);
  stats.histogram!.edges.forEach((edge, i) => expectClose(edge, want.histogram.edges[i]!, 1e-12, `${what} edge ${i}`));
  expect(stats.histogram!.edges[0]).toBe(want.min);
  expect(stats.histogram!.edges[20]).toBe(want.max);
}

function expectStatistics(stats: FeatureGroupStatistics, list: Row[], commitId: number): void {
  expect(stats.group).toBe('stats');
  expect(stats.version).toBe(1);
  expect(stats.commitId).toBe(commitId);
  expect(stats.rowCount).toBe(list.length);
  expect(Object.keys(stats.columns).sort()).toEqual(Object.keys(SPEC.features).sort());
  for (const column of Object.keys(SPEC.features) as Column[]) expectColumn(stats.columns[column], list, column);
}

describe('statistics', () => {
  let store: FeatureStore;
  let fg: FeatureGroup;

  beforeAll(async () => {
    store = await openFeatureStore({ name: uniqueStoreName('statistics'), persist: false });
    fg = await store.createFeatureGroup(SPEC);
  });
  afterAll(async () => {
    await store.close();
  });

  it('of an empty group: counts of zero and no values', async () => {
    const stats = await fg.statistics();
    expect(stats.commitId).toBe(0);
    expect(stats.rowCount).toBe(0);
    for (const column of Object.values(stats.columns)) {
      expect(column).toMatchObject({ count: 0, nulls: 0, distinct: 0, min: null, max: null, mean: null, std: null, quantiles: null, histogram: null });
    }
  });

  it('per column, stored per commit, and as of an older commit', async () => {
    const first = rows(1500, 1, 1);
    const c1 = await fg.insert(asInsert(first));
    const s1 = await fg.statistics();
    expectStatistics(s1, first, c1.commitId);

    // Stored with the commit: the same object, computed once.
    const again = await fg.statistics();
    expect(again).toEqual(s1);
    expect(again.computedAt).toBe(s1.computedAt);

    // An upsert replaces some rows; statistics follow the current rows only.
    const replaced = rows(200, 2, 1).map((r, i) => ({ ...r, ts: first[i]!.ts }));
    const c2 = await fg.insert(asInsert(replaced), { mode: 'upsert' });
    const afterUpsert = [...replaced, ...first.slice(200)];
    const more = rows(700, 3, 5000);
    const c3 = await fg.insert(asInsert(more));
    const s3 = await fg.statistics();
    expect(s3.commitId).toBe(c3.commitId);
    expectStatistics(s3, [...afterUpsert, ...more], c3.commitId);
    expect(s3.columns['f64']!.mean).not.toBe(s1.columns['f64']!.mean);

    // Older commits: the stored numbers, and numbers never asked for before, as of then.
    expect(await fg.statistics({ commitId: c1.commitId })).toEqual(s1);
    expectStatistics(await fg.statistics({ commitId: c2.commitId }), afterUpsert, c2.commitId);
  });

  it('of an unknown commit is NotFoundError', async () => {
    const error = await rejectionOf(fg.statistics({ commitId: 987_654 }));
    expect(error).toBeInstanceOf(NotFoundError);
    expect((error as NotFoundError).code).toBe('NOT_FOUND');
  });

  it('keeps strings that read like booleans as strings', async () => {
    const words = await store.createFeatureGroup({
      name: 'words', version: 1, primaryKey: 'id', eventTime: 'ts', features: { id: 'int32', ts: 'timestamp', w: 'string' },
    });
    const list = ['true', 'maybe', 'false', 'no'];
    await words.insert(list.map((w, id) => ({ id, ts: 0, w })));
    const stats = (await words.statistics()).columns['w']!;
    const sorted = [...list].sort(compareUtf8);
    expect([stats.min, stats.max]).toEqual([sorted[0], sorted.at(-1)]);
  });

  it('leaves NaN and infinities out of numeric statistics, and huge values do not overflow', async () => {
    const extremes = await store.createFeatureGroup({
      name: 'extremes', version: 1, primaryKey: 'id', eventTime: 'ts',
      features: { id: 'int32', ts: 'timestamp', x: { type: 'float64', allowNaN: true } },
    });
    const xs = [1e308, -5e307, 3, Infinity, -Infinity, NaN, null, 1e308];
    await extremes.insert(xs.map((x, id) => ({ id, ts: 0, x })));
    const stats = (await extremes.statistics()).columns['x']!;
    const finite = xs.filter((x): x is number => x !== null && Number.isFinite(x));
    expect(stats).toMatchObject({ count: 7, nulls: 1, distinct: 6, min: -5e307, max: 1e308 });
    // Mean and std of the finite values, computed on values divided by their largest magnitude to stay in range.
    const big = Math.max(...finite.map(Math.abs));
    const scaled = finite.map((x) => x / big);
    const mean = scaled.reduce((a, b) => a + b, 0) / scaled.length;
    expectClose(stats.mean! / big, mean, 1e-12, 'mean');
    expectClose(stats.std! / big, Math.sqrt(scaled.reduce((a, x) => a + (x - mean) ** 2, 0) / (scaled.length - 1)), 1e-12, 'std');
    const sorted = [...finite].sort((a, b) => a - b);
    expectClose(stats.quantiles!.p50 / big, quantile(sorted, 0.5) / big, 1e-12, 'p50');
    const width = (1e308 - -5e307) / 20;
    const counts = new Array<number>(20).fill(0);
    for (const x of finite) counts[Math.min(Math.floor((x - -5e307) / width), 19)]!++;
    expect(stats.histogram!.counts).toEqual(counts);
  });
});
