import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  InvalidArgumentError, openFeatureStore, type FeatureGroup, type FeatureStore, type ReadOptions,
} from '../../src/index.ts';
import { daysToIso, microsToIso, random } from '../support/data-all-types.ts';
import { compareUtf8, rejectionOf, tableColumns, tableRows } from '../support/data-helpers.ts';
import { uniqueStoreName } from '../support/names.ts';

const SPEC = {
  name: 'readings',
  version: 1,
  primaryKey: ['loc', 'shop'] as string[],
  eventTime: 'ts',
  features: {
    loc: 'string', shop: 'int32', ts: 'timestamp', temp: 'float64', cond: 'string', ok: 'bool', day: 'date', n: 'int64',
  },
} as const;

const COLUMNS = Object.keys(SPEC.features);

/** A stored row in plain form (timestamps in epoch µs, dates in epoch days) with the commit that wrote it. */
interface Stored {
  loc: string;
  shop: number;
  ts: bigint;
  temp: number | null;
  cond: string | null;
  ok: boolean | null;
  day: number | null;
  n: bigint;
  commit: number;
}

type Row = Omit<Stored, 'commit'>;

const BASE = 1_704_067_200_000_000n; // 2024-01-01

function generate(count: number, seed: number): Row[] {
  const next = random(seed);
  const int = (lo: number, hi: number): number => lo + Math.floor(next() * (hi - lo + 1));
  const pick = <T>(list: readonly T[]): T => list[int(0, list.length - 1)]!;
  return Array.from({ length: count }, () => ({
    loc: pick(['north', 'south', 'east', 'west', "o'hare"]),
    shop: int(1, 5),
    // A few hundred distinct instants with µs fractions, so ties on event time happen.
    ts: BASE + BigInt(int(0, 400)) * 3_600_000_123n,
    temp: next() < 0.15 ? null : Math.round((next() * 40 - 5) * 100) / 100,
    cond: next() < 0.2 ? null : pick(['sun', 'rain', 'fog']),
    ok: next() < 0.2 ? null : next() < 0.5,
    day: next() < 0.2 ? null : 19_723 + int(0, 30),
    n: BigInt(int(-1000, 1000)) * 1_000_000_007n,
  }));
}

/** Keeps the first row of each (loc, shop, ts): appends in this suite never repeat an identity. */
function distinct(rows: Row[], taken = new Set<string>()): Row[] {
  return rows.filter((r) => {
    const id = identity(r);
    if (taken.has(id)) return false;
    taken.add(id);
    return true;
  });
}

const identity = (r: Row): string => `${r.loc}\u0000${r.shop}\u0000${r.ts}`;

function order(a: Stored, b: Stored): number {
  return (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0) || compareUtf8(a.loc, b.loc) || a.shop - b.shop || a.commit - b.commit;
}

const toInsert = (rows: Row[]): Record<string, unknown>[] =>
  rows.map((r) => ({ ...r, ts: microsToIso(r.ts), day: r.day === null ? null : daysToIso(r.day) }));

/** The rows as read returns them (`columns` picked in order, `_larder_commit` when asked). */
function asRead(rows: Stored[], options: { columns?: string[]; withCommitIds?: boolean; limit?: number } = {}): Record<string, unknown>[] {
  const sorted = [...rows].sort(order).slice(0, options.limit ?? Infinity);
  return sorted.map((r) => {
    const out: Record<string, unknown> = {};
    for (const c of options.columns ?? COLUMNS) out[c] = r[c as keyof Row];
    if (options.withCommitIds === true) out['_larder_commit'] = BigInt(r.commit);
    return out;
  });
}

describe('reads', () => {
  let store: FeatureStore;
  let fg: FeatureGroup;
  /** Every row version with its commit, and which one superseded it. */
  const versions: (Stored & { supersededBy: number | null })[] = [];
  const commits: number[] = [];

  /** The current rows as of a commit (default: now), computed here. */
  const current = (asOf = Infinity): Stored[] =>
    versions.filter((v) => v.commit <= asOf && (v.supersededBy === null || v.supersededBy > asOf)).map(({ supersededBy: _s, ...r }) => r);

  beforeAll(async () => {
    store = await openFeatureStore({ name: uniqueStoreName('reads'), persist: false });
    fg = await store.createFeatureGroup(SPEC);
    const taken = new Set<string>();
    for (const seed of [1, 2, 3]) {
      const rows = distinct(generate(200, seed), taken);
      const { commitId } = await fg.insert(toInsert(rows));
      commits.push(commitId);
      versions.push(...rows.map((r) => ({ ...r, commit: commitId, supersededBy: null })));
    }
    // An upsert: replaces 40 stored rows and adds new ones.
    const replacing = versions.slice(10, 50).map((v) => ({ ...generate(1, 100 + v.shop)[0]!, loc: v.loc, shop: v.shop, ts: v.ts }));
    const added = distinct(generate(30, 4), taken);
    const { commitId } = await fg.insert(toInsert([...replacing, ...added]), { mode: 'upsert' });
    commits.push(commitId);
    const replaced = new Set(replacing.map(identity));
    for (const v of versions) if (replaced.has(identity(v))) v.supersededBy = commitId;
    versions.push(...[...replacing, ...added].map((r) => ({ ...r, commit: commitId, supersededBy: null })));
  });
  afterAll(async () => {
    await store.close();
  });

  const read = async (options: ReadOptions): Promise<Record<string, unknown>[]> => tableRows(await fg.read(options));

  it('everything, in event-time then key order', async () => {
    expect(await read({})).toEqual(asRead(current()));
    expect((await fg.read()).schema.fields.map((f) => f.name)).toEqual(COLUMNS);
  });

  it('start is inclusive and end exclusive, given as ISO strings, Dates or epoch ms', async () => {
    const instants = [...new Set(current().map((r) => r.ts))].sort((a, b) => (a < b ? -1 : 1));
    const start = instants[40]!;
    const end = instants[90]!;
    const want = asRead(current().filter((r) => r.ts >= start && r.ts < end));
    expect(want.length).toBeGreaterThan(0);
    expect(await read({ start: microsToIso(start), end: microsToIso(end) })).toEqual(want);
    // Whole-millisecond bounds through Date and epoch ms.
    const msStart = (start / 1000n) * 1000n;
    const msEnd = (end / 1000n + 1n) * 1000n;
    const wantMs = asRead(current().filter((r) => r.ts >= msStart && r.ts < msEnd));
    expect(await read({ start: new Date(Number(msStart / 1000n)), end: Number(msEnd / 1000n) })).toEqual(wantMs);
    expect(await read({ start: microsToIso(end), end: microsToIso(end) })).toEqual([]);
  });

  it('where: equality, ranges, in, isNull, ne', async () => {
    const cases: [ReadOptions['where'], (r: Stored) => boolean][] = [
      [{ loc: 'north' }, (r) => r.loc === 'north'],
      [{ loc: "o'hare", shop: 2 }, (r) => r.loc === "o'hare" && r.shop === 2],
      [{ temp: { gte: 10, lt: 20.5 } }, (r) => r.temp !== null && r.temp >= 10 && r.temp < 20.5],
      [{ temp: { gt: -1.25, lte: 3.5 } }, (r) => r.temp !== null && r.temp > -1.25 && r.temp <= 3.5],
      [{ shop: { in: [1, 3, 5] } }, (r) => [1, 3, 5].includes(r.shop)],
      [{ cond: { in: ['fog', 'sun'] } }, (r) => r.cond === 'fog' || r.cond === 'sun'],
      [{ temp: { isNull: true } }, (r) => r.temp === null],
      [{ cond: { isNull: false }, ok: true }, (r) => r.cond !== null && r.ok === true],
      [{ cond: { ne: 'rain' } }, (r) => r.cond !== 'rain'],
      [{ ok: { ne: true } }, (r) => r.ok !== true],
      [{ cond: null }, (r) => r.cond === null],
      [{ cond: { eq: null } }, (r) => r.cond === null],
      [{ temp: { ne: null } }, (r) => r.temp !== null],
      [{ n: { gt: 5_000_000_035n } }, (r) => r.n > 5_000_000_035n],
      [{ n: { lte: -3_000_000_021 } }, (r) => r.n <= -3_000_000_021n],
      [{ day: daysToIso(19_730) }, (r) => r.day === 19_730],
      [{ day: { gte: new Date(19_725 * 86_400_000), lt: '2024-01-20' } }, (r) => r.day !== null && r.day >= 19_725 && r.day < 19_742],
      [{ ts: { gte: microsToIso(BASE + 7_200_000_246n) } }, (r) => r.ts >= BASE + 7_200_000_246n],
      [{ ts: { lt: new Date(Number(BASE / 1000n) + 3_600_001) } }, (r) => r.ts < BASE + 3_600_001_000n],
      [{ loc: undefined, cond: { eq: 'sun', ne: undefined } }, (r) => r.cond === 'sun'],
    ];
    for (const [where, keep] of cases) {
      const want = asRead(current().filter(keep));
      expect(await read({ where }), JSON.stringify(where, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))).toEqual(want);
    }
  });

  it('columns (in the order asked), limit and commit ids', async () => {
    const columns = ['temp', 'loc', 'ts'];
    const table = await fg.read({ columns });
    expect(table.schema.fields.map((f) => f.name)).toEqual(columns);
    expect(tableRows(table)).toEqual(asRead(current(), { columns }));
    expect(await read({ limit: 7 })).toEqual(asRead(current(), { limit: 7 }));
    expect(await read({ limit: 0 })).toEqual([]);
    expect(await read({ withCommitIds: true })).toEqual(asRead(current(), { withCommitIds: true }));
    expect(Object.keys(tableColumns(await fg.read({ columns: ['LOC'] })))).toEqual(['loc']);
  });

  it('all options together, now and as of an older commit', async () => {
    const options = {
      start: microsToIso(BASE + 20n * 3_600_000_123n),
      end: microsToIso(BASE + 300n * 3_600_000_123n),
      where: { cond: { ne: 'fog' }, shop: { in: [2, 3, 4] } },
      columns: ['shop', 'cond', 'ts'],
      withCommitIds: true,
      limit: 25,
    } satisfies ReadOptions;
    const keep = (r: Stored): boolean =>
      r.ts >= BASE + 20n * 3_600_000_123n && r.ts < BASE + 300n * 3_600_000_123n && r.cond !== 'fog' && [2, 3, 4].includes(r.shop);
    expect(await read(options)).toEqual(asRead(current().filter(keep), options));
    const asOf = commits[1]!;
    expect(await read({ ...options, asOfCommit: asOf })).toEqual(asRead(current(asOf).filter(keep), options));
    expect(await read({ asOfCommit: commits[2]! })).toEqual(asRead(current(commits[2])));
  });

  it('refuses filters that cannot apply to the column', async () => {
    const bad: ReadOptions[] = [
      { where: { temp: 'hot' } },
      { where: { loc: 5 } },
      { where: { ok: { eq: 1 } } },
      { where: { shop: { in: [] } } },
      { where: { shop: { between: 3 } as never } },
      { where: { ts: 'yesterday' } },
      { where: { nothere: 1 } },
      { columns: ['nothere'] },
      { columns: [] },
      { columns: ['loc', 'LOC'] },
    ];
    for (const options of bad) {
      const error = await rejectionOf(fg.read(options));
      expect(error, JSON.stringify(options)).toBeInstanceOf(InvalidArgumentError);
      expect((error as InvalidArgumentError).code).toBe('INVALID_ARGUMENT');
    }
  });
});
