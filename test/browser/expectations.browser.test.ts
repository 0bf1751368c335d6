import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ExpectationFailedError, InvalidArgumentError, expect as larder, openFeatureStore, type Expectation, type ExpectationSuite,
  type FeatureStore, type ValidationReport,
} from '../../src/index.ts';
import { random } from '../support/data-all-types.ts';
import { rejectionOf, snapshot } from '../support/data-helpers.ts';
import { uniqueStoreName } from '../support/names.ts';

type Row = {
  id: string;
  ts: number;
  x: number | null;
  cat: string | null;
  code: string | null;
  n: number;
  r: number | null;
};

const CATEGORIES = ['a', 'b', 'c'];
const PATTERN = '^[A-Z]{3}-[0-9]+$';

const EXPECTATIONS: Expectation[] = [
  larder.notNull('x'),
  larder.between('x', 0, 100),
  larder.inSet('cat', CATEGORIES),
  larder.matches('code', PATTERN),
  larder.unique(),
  larder.rowCount(5, 400),
  larder.inSet('n', [1, 2, 3]),
  larder.between('r', 0, 1),
  larder.between('r', 0),
  larder.between('r', undefined, 1),
];

function spec(name: string, policy: ExpectationSuite['policy'], expectations: Expectation[] = EXPECTATIONS) {
  return {
    name,
    version: 1,
    primaryKey: 'id',
    eventTime: 'ts',
    features: {
      id: 'string', ts: 'timestamp', x: 'float64', cat: 'string', code: 'string', n: 'int32',
      r: { type: 'float64', allowNaN: true },
    },
    expectations: { policy, expectations },
  } as const;
}

/** A batch breaking every expectation now and then (seeded), ids prefixed so batches can be told apart. */
function batch(size: number, seed: number, prefix: string): Row[] {
  const next = random(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)]!;
  const rows: Row[] = [];
  for (let i = 0; i < size; i++) {
    const u = next();
    rows.push({
      id: `${prefix}${i}`,
      ts: Date.UTC(2024, 0, 1 + (i % 20)),
      x: u < 0.08 ? null : u < 0.16 ? pick([-0.5, 100.25, 1e6, -1e-9]) : pick([0, 100, 50.5, 1e-9, 99.999]),
      cat: next() < 0.1 ? null : next() < 0.12 ? pick(['A', 'd', '', 'ab']) : pick(CATEGORIES),
      code: next() < 0.05 ? null : next() < 0.1 ? pick(['abc-1', 'ABC1', 'ABCD-1', 'XY-12', 'ABC-']) : `${pick(['ABC', 'XYZ'])}-${i}`,
      n: next() < 0.1 ? pick([0, 4, -1]) : pick([1, 2, 3]),
      r: next() < 0.05 ? NaN : next() < 0.1 ? null : next() < 0.1 ? pick([-0.1, 1.5]) : next(),
    });
  }
  // Repeat a few (id, event time) pairs within the batch: 3 pairs, one of them three times.
  rows.push({ ...rows[3]!, x: 1 }, { ...rows[7]!, x: 2 }, { ...rows[7]!, x: 3 }, { ...rows[11]!, x: 4 });
  return rows;
}

const re = new RegExp(PATTERN);

/** Rows breaking each row-wise expectation, computed here; `unique` and `rowCount` are counted separately. */
function offending(expectation: Expectation, rows: readonly Row[]): unknown[] {
  switch (expectation.kind) {
    case 'notNull':
      return rows.filter((r) => r[expectation.column as keyof Row] === null).map(() => null);
    case 'between': {
      const { min, max } = expectation;
      const values = rows.map((r) => r[expectation.column as keyof Row] as number | null).filter((v) => v !== null);
      return values.filter((v) => !((min === undefined || v >= min) && (max === undefined || v <= max)));
    }
    case 'inSet': {
      const values = rows.map((r) => r[expectation.column as keyof Row]).filter((v) => v !== null);
      return values.filter((v) => !expectation.values.includes(v));
    }
    case 'matches':
      return rows.map((r) => r.code).filter((v): v is string => v !== null && !re.test(v));
    default:
      throw new Error(`not row-wise: ${expectation.kind}`);
  }
}

/** (id, event time) groups with more than one current row that involve the batch. */
function duplicateGroups(existing: readonly Row[], rows: readonly Row[]): number {
  const counts = new Map<string, { n: number; inBatch: boolean }>();
  const add = (r: Row, inBatch: boolean): void => {
    const key = `${r.id}\u0000${r.ts}`;
    const entry = counts.get(key) ?? { n: 0, inBatch: false };
    counts.set(key, { n: entry.n + 1, inBatch: entry.inBatch || inBatch });
  };
  existing.forEach((r) => add(r, false));
  rows.forEach((r) => add(r, true));
  return [...counts.values()].filter((e) => e.n > 1 && e.inBatch).length;
}

function expectReport(report: ValidationReport | null | undefined, policy: string, rows: readonly Row[], existing: readonly Row[] = []): void {
  expect(report).toBeTruthy();
  expect(report!.policy).toBe(policy);
  expect(report!.rowCount).toBe(rows.length);
  expect(report!.results.map((r) => r.expectation)).toEqual(EXPECTATIONS);
  for (const result of report!.results) {
    const e = result.expectation;
    const what = JSON.stringify(e);
    if (e.kind === 'unique') {
      expect(result.unexpectedCount, what).toBe(duplicateGroups(existing, rows));
    } else if (e.kind === 'rowCount') {
      expect(result.unexpectedCount, what).toBe(rows.length >= e.min! && rows.length <= e.max! ? 0 : 1);
      expect(result.sample, what).toEqual([rows.length]);
    } else {
      const bad = offending(e, rows);
      expect(result.unexpectedCount, what).toBe(bad.length);
      expect(result.sample, what).toHaveLength(Math.min(10, bad.length));
      for (const value of result.sample) expect(bad, what).toContainEqual(value);
    }
    expect(result.success, what).toBe(result.unexpectedCount === 0);
  }
  expect(report!.success).toBe(report!.results.every((r) => r.success));
}

describe('expectation suites', () => {
  let store: FeatureStore;

  beforeAll(async () => {
    store = await openFeatureStore({ name: uniqueStoreName('expectations'), persist: false });
  });
  afterAll(async () => {
    await store.close();
  });

  /** A clean batch: passes every expectation. */
  const clean = (prefix: string, size = 20): Row[] =>
    Array.from({ length: size }, (_, i) => ({
      id: `${prefix}${i}`, ts: Date.UTC(2024, 1, 1 + i), x: i, cat: CATEGORIES[i % 3]!, code: `ABC-${i}`, n: 1 + (i % 3), r: i / size,
    }));

  it('a clean batch passes and the report is attached to the commit', async () => {
    const fg = await store.createFeatureGroup(spec('clean', 'strict'));
    const rows = clean('k');
    const commit = await fg.insert(rows);
    expectReport(commit.validation, 'strict', rows);
    expect(commit.validation!.success).toBe(true);
    expect((await fg.commits())[0]!.validation).toEqual(commit.validation);
  });

  it("strict: a failing batch is rejected whole with ExpectationFailedError and the report", async () => {
    const fg = await store.createFeatureGroup(spec('strict', 'strict'));
    const existing = clean('k');
    await fg.insert(existing);
    const before = await snapshot(fg);
    // Also repeat an (id, event time) that is already stored.
    const rows = [...batch(300, 1, 'k'), { ...existing[5]!, x: 7 }];
    const error = await rejectionOf(fg.insert(rows));
    expect(error).toBeInstanceOf(ExpectationFailedError);
    expect((error as ExpectationFailedError).code).toBe('EXPECTATION_FAILED');
    const report = (error as ExpectationFailedError).details['report'] as ValidationReport;
    expectReport(report, 'strict', rows, existing);
    expect(report.success).toBe(false);
    expect(await snapshot(fg)).toEqual(before);
  });

  it('strict: each expectation alone rejects its kind of bad batch', async () => {
    const cases: [Expectation, (rows: Row[]) => void][] = [
      [larder.notNull('x'), (rows) => (rows[2]!.x = null)],
      [larder.between('x', 0, 100), (rows) => (rows[4]!.x = 100.5)],
      [larder.inSet('cat', CATEGORIES), (rows) => (rows[1]!.cat = 'z')],
      [larder.matches('code', PATTERN), (rows) => (rows[0]!.code = 'nope')],
      [larder.unique(), (rows) => rows.push({ ...rows[3]! })],
      [larder.rowCount(1, 10), (rows) => rows.push(...clean('extra'))],
    ];
    for (const [i, [expectation, breakIt]] of cases.entries()) {
      const fg = await store.createFeatureGroup(spec(`alone_${i}`, 'strict', [expectation]));
      const rows = clean('k', 8);
      await fg.insert(rows);
      const before = await snapshot(fg);
      const bad = clean('m', 8);
      breakIt(bad);
      const error = await rejectionOf(fg.insert(bad));
      expect(error, expectation.kind).toBeInstanceOf(ExpectationFailedError);
      const report = (error as ExpectationFailedError).details['report'] as ValidationReport;
      expect(report.results.map((r) => [r.expectation.kind, r.unexpectedCount]), expectation.kind).toEqual([[expectation.kind, 1]]);
      expect(error.message).toContain(expectation.kind);
      expect(await snapshot(fg)).toEqual(before);
    }
  });

  it('unique compares with stored rows, and an upsert of the same key and time is not a duplicate', async () => {
    const fg = await store.createFeatureGroup(spec('unique_existing', 'strict', [larder.unique()]));
    const first = clean('k', 10);
    await fg.insert(first);
    const repeat = [{ ...first[2]!, x: 50 }, { ...first[6]!, x: 60 }, ...clean('new', 3)];
    const error = await rejectionOf(fg.insert(repeat));
    expect(error).toBeInstanceOf(ExpectationFailedError);
    const report = (error as ExpectationFailedError).details['report'] as ValidationReport;
    expect(report.results[0]!.unexpectedCount).toBe(2);
    const keys = (report.results[0]!.sample as { id: string }[]).map((s) => s.id).sort();
    expect(keys).toEqual(['k2', 'k6']);
    const upsert = await fg.insert(repeat, { mode: 'upsert' });
    expect(upsert.validation!.success).toBe(true);
  });

  it('warn: a failing batch is written and the report is stored with its commit', async () => {
    const fg = await store.createFeatureGroup(spec('warn', 'warn'));
    const existing = clean('k');
    await fg.insert(existing);
    const rows = [...batch(250, 2, 'k'), { ...existing[0]!, x: 8 }];
    const commit = await fg.insert(rows);
    expect(commit.rowCount).toBe(rows.length);
    expectReport(commit.validation, 'warn', rows, existing);
    expect(commit.validation!.success).toBe(false);
    const commits = await fg.commits();
    expect(commits).toHaveLength(2);
    expect(commits[1]!.validation).toEqual(commit.validation);
    expect((await fg.read()).numRows).toBe(existing.length + rows.length);
    // A later clean batch is judged on its own rows.
    const later = clean('z', 10);
    const next = await fg.insert(later);
    expectReport(next.validation, 'warn', later, [...existing, ...rows]);
    expect(next.validation!.results.find((r) => r.expectation.kind === 'rowCount')!.success).toBe(true);
  });

  it('rowCount counts the batch, not the table', async () => {
    const fg = await store.createFeatureGroup(spec('row_count', 'strict', [larder.rowCount(2, 3)]));
    for (const size of [2, 3, 3]) await fg.insert(clean(`b${size}_${Math.random().toString(36).slice(2)}`, size));
    for (const size of [1, 4]) {
      const error = await rejectionOf(fg.insert(clean('c', size)));
      const report = (error as ExpectationFailedError).details['report'] as ValidationReport;
      expect(report.results[0]).toMatchObject({ success: false, unexpectedCount: 1, sample: [size] });
    }
    expect((await fg.read()).numRows).toBe(8);
  });

  it('an expectation that does not suit its column is rejected when the group is created', async () => {
    const misfits: Expectation[] = [
      larder.between('cat', 0, 1),
      larder.matches('n', '^1$'),
      larder.inSet('cat', [1, 2]),
      larder.inSet('n', ['1']),
      larder.inSet('ts', ['2024-01-01']),
      larder.notNull('missing'),
    ];
    for (const [i, misfit] of misfits.entries()) {
      const error = await rejectionOf(store.createFeatureGroup(spec(`misfit_${i}`, 'strict', [misfit])));
      expect(error, JSON.stringify(misfit)).toBeInstanceOf(InvalidArgumentError);
      expect((error as InvalidArgumentError).code).toBe('INVALID_ARGUMENT');
    }
    expect((await store.listFeatureGroups()).filter((g) => g.name.startsWith('misfit'))).toEqual([]);
  });
});
