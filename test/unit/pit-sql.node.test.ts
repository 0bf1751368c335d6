import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createRequire } from 'node:module';
import { DuckDBInstance } from '@duckdb/node-api';
import { NODE_RUNTIME, VoidLogger, createDuckDB } from '@duckdb/duckdb-wasm/blocking';
import { DEFAULT_LEDGER, pointInTimeSql, type PitSqlGroup, type PitSqlRequest } from '../../src/offline/pit/sql.ts';
import { pointInTimeIndices, type KeyValue, type PitGroup } from '../../src/offline/pit/join.ts';
import { ident, join, literal, raw, sql, type Sql } from '../../src/sql/index.ts';
import { InvalidArgumentError } from '../../src/errors.ts';
import { naivePointInTime } from '../support/pit-oracle.ts';

const weather: PitSqlGroup = {
  table: 'fg_weather_v1',
  keys: [{ spine: 'city', group: 'city' }],
  eventTime: 'day',
  features: [{ column: 'temp_max', as: 'temp_max' }],
  ttl: null,
};
const spine = { table: 'spine', rowNumber: 'rn', time: 'ts', columns: ['rn', 'city', 'ts', 'label'] };

describe('pointInTimeSql: text', () => {
  it('uses a deduplicated ASOF join without asOfKnown, and the TTL on the match', () => {
    const text = pointInTimeSql({ spine, groups: [{ ...weather, ttl: 86_400_000_000 }], asOfKnown: false });
    expect(text).toContain('ASOF LEFT JOIN');
    expect(text).toContain('"_larder_superseded" IS NULL');
    expect(text).toContain('QUALIFY row_number() OVER (PARTITION BY g."city", g."day" ORDER BY g."_larder_commit" DESC, g.rowid DESC) = 1');
    expect(text).toContain('ON s."city" = "g0"."_k0" AND s."ts" >= "g0"."_t"');
    expect(text).toContain('CASE WHEN "g0"."_t" >= s."ts" - to_microseconds(86400000000) THEN "g0"."_f0" END AS "temp_max"');
    expect(text).toMatch(/ORDER BY s\."rn"$/);
    expect(text).not.toContain('_larder_commits');
  });

  it('uses an inequality join on the ledger with asOfKnown', () => {
    const text = pointInTimeSql({ spine, groups: [weather], asOfKnown: true });
    expect(text).not.toContain('ASOF');
    expect(text).toContain('JOIN "_larder_commits" AS lc ON lc."commit_id" = g."_larder_commit"');
    expect(text).toContain('LEFT JOIN "_larder_commits" AS ls ON ls."commit_id" = g."_larder_superseded"');
    expect(text).toContain('c."_known" <= epoch_us(s."ts")');
    expect(text).toContain('(c."_current" OR c."_replaced" > epoch_us(s."ts"))');
    expect(text).toContain('PARTITION BY s."rn" ORDER BY c."_t" DESC, c."_c" DESC, c."_o" DESC');
    expect(text).toContain('LEFT JOIN (');
    expect(text).toContain('AS "g0" ON "g0"."_rn" = s."rn"');
  });

  it('quotes hostile names everywhere', () => {
    const evil = 'x"; DROP TABLE t; --';
    const text = pointInTimeSql({
      spine: { table: evil, rowNumber: `rn${evil}`, time: `ts${evil}`, columns: [`c${evil}`] },
      groups: [
        {
          table: `g${evil}`,
          keys: [{ spine: `k${evil}`, group: `gk${evil}` }],
          eventTime: `t${evil}`,
          features: [{ column: `f${evil}`, as: `o${evil}` }],
          ttl: 5,
          commitColumn: `c${evil}2`,
          supersededColumn: `s${evil}`,
          rowOrder: `r${evil}`,
        },
      ],
      asOfKnown: true,
      ledger: { table: `l${evil}`, commitId: `i${evil}`, committedAt: `a${evil}` },
    });
    const q = (name: string) => `"${name.replaceAll('"', '""')}"`;
    for (const name of [evil, `rn${evil}`, `ts${evil}`, `c${evil}`, `g${evil}`, `k${evil}`, `gk${evil}`, `t${evil}`, `f${evil}`, `o${evil}`, `c${evil}2`, `s${evil}`, `r${evil}`, `l${evil}`, `i${evil}`, `a${evil}`]) {
      expect(text).toContain(q(name));
    }
    // Every double quote belongs to a quoted identifier: removing them leaves no stray quote.
    expect(text.replace(/"(?:[^"]|"")*"/g, '')).not.toContain('"');
    expect(text).not.toContain(`${evil} `.replace('"', ''));
  });

  it('rejects duplicate output names (case-insensitive), bad TTLs and empty names', () => {
    expect(() => pointInTimeSql({ spine, groups: [{ ...weather, features: [{ column: 'temp_max', as: 'LABEL' }] }], asOfKnown: false })).toThrow(
      InvalidArgumentError,
    );
    for (const ttl of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => pointInTimeSql({ spine, groups: [{ ...weather, ttl }], asOfKnown: false })).toThrow(/TTL/);
    }
    expect(() => pointInTimeSql({ spine: { ...spine, table: '' }, groups: [weather], asOfKnown: false })).toThrow(InvalidArgumentError);
  });

  it('defaults to the offline store ledger', () => {
    expect(DEFAULT_LEDGER).toEqual({ table: '_larder_commits', commitId: 'commit_id', committedAt: 'committed_at' });
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The generated SQL on native DuckDB, against pointInTimeIndices and the oracle.

/** One DuckDB to run statements on: native (@duckdb/node-api) or DuckDB-WASM (its Node build, same as the browser's). */
interface Engine {
  run(text: Sql): Promise<void>;
  /** Rows as arrays of plain values (BIGINT as number). */
  rows(text: Sql): Promise<unknown[][]>;
  close(): void;
}

const plainValue = (v: unknown): unknown => (typeof v === 'bigint' ? Number(v) : v);

async function nativeEngine(): Promise<Engine> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  return {
    run: async (text) => {
      await connection.run(text);
    },
    rows: async (text) => (await connection.runAndReadAll(text)).getRowsJS().map((r) => r.map(plainValue)),
    close: () => {
      connection.closeSync();
      instance.closeSync();
    },
  };
}

async function wasmEngine(): Promise<Engine> {
  const resolve = createRequire(import.meta.url).resolve;
  const bundles = {
    mvp: { mainModule: resolve('@duckdb/duckdb-wasm/dist/duckdb-mvp.wasm'), mainWorker: '' },
    eh: { mainModule: resolve('@duckdb/duckdb-wasm/dist/duckdb-eh.wasm'), mainWorker: '' },
  };
  const db = await createDuckDB(bundles, new VoidLogger(), NODE_RUNTIME);
  await db.instantiate();
  const connection = db.connect();
  // No network: DuckDB-WASM would try to download extensions otherwise (see TOOLCHAIN.md).
  connection.query('SET autoinstall_known_extensions=false; SET autoload_known_extensions=false;');
  return {
    run: (text) => {
      connection.query(text);
      return Promise.resolve();
    },
    rows: (text) => {
      const table = connection.query(text);
      const columns = table.schema.fields.map((_, k) => table.getChildAt(k)!);
      return Promise.resolve(Array.from({ length: table.numRows }, (_, i) => columns.map((c) => plainValue(c.get(i)))));
    },
    close: () => {
      connection.close();
      db.reset();
    },
  };
}

let engines: Engine[] = [];

beforeAll(async () => {
  engines = [await nativeEngine(), await wasmEngine()];
});

afterAll(() => {
  for (const engine of engines) engine.close();
});

/** Runs a statement on every engine. */
async function run(text: Sql): Promise<void> {
  for (const engine of engines) await engine.run(text);
}

const BASE_US = 1_700_000_000_000_000; // a realistic instant, in µs
const BASE_MS = BASE_US / 1000;
const STEP = 1000; // one time step is 1 ms, so ledger times (ms) line up with event times (µs)

type KeyType = 'INTEGER' | 'BIGINT' | 'VARCHAR';

interface KeySpec {
  spineType: KeyType;
  groupType: KeyType;
}

interface SqlGroupRow {
  keys: KeyValue[];
  /** event time in µs */
  t: number;
  commit: number;
  /** commit id that replaced the row, or null */
  superseded: number | null;
  value: number | null;
}

interface SqlWorkload {
  keys: KeySpec[];
  names: Names;
  /** committed_at (epoch ms) of commits 1..n, index 0 unused */
  ledger: number[];
  groups: { rows: SqlGroupRow[]; ttl: number | null }[];
  spine: { keys: KeyValue[]; ts: number | null }[];
  /** insertion order of the spine rows (the row number decides the output order) */
  insertOrder: number[];
  asOfKnown: boolean;
}

interface Names {
  spine: string;
  rn: string;
  ts: string;
  key: (k: number, side: 'spine' | 'group') => string;
  group: (g: number) => string;
  eventTime: string;
  id: string;
  value: string;
  order: string | null;
  output: (g: number, what: 'id' | 'value') => string;
  ledger: string;
}

const plainNames: Names = {
  spine: 'spine',
  rn: 'rn',
  ts: 'ts',
  key: (k, side) => `${side}_k${k}`,
  group: (g) => `group_${g}`,
  eventTime: 'event_time',
  id: 'id',
  value: 'value',
  order: null,
  output: (g, what) => `g${g}_${what}`,
  ledger: '_larder_commits',
};

const hostileNames: Names = {
  spine: 'spine "table"; --',
  rn: 'Row Number',
  ts: 'select',
  key: (k, side) => `${side} key "${k}"`,
  group: (g) => `fg "${g}"'; DROP TABLE x; --`,
  eventTime: 'from',
  id: 'ROWID', // a real column named rowid hides DuckDB's pseudo-column: the row order is passed explicitly
  value: 'g0',
  order: 'order "col"',
  output: (g, what) => `out"${g}"${what}`,
  ledger: 'the "ledger"',
};

function keyLiteral(value: KeyValue, type: KeyType): Sql {
  if (value === null) return literal(null);
  return type === 'VARCHAR' ? literal(String(value)) : sql`${literal(typeof value === 'bigint' ? value : BigInt(value))}::${raw(type)}`;
}

function timestamp(us: number | null): Sql {
  return us === null ? literal(null) : sql`make_timestamp(${literal(BigInt(us))})`;
}

async function insert(table: string, rows: Sql[][]): Promise<void> {
  if (rows.length === 0) return;
  await run(sql`INSERT INTO ${ident(table)} VALUES ${join(rows.map((r) => sql`(${join(r)})`))}`);
}

/** Loads the workload into each engine, runs the generated SQL, checks the engines agree, returns per group the ids and values. */
async function runInDuckDb(w: SqlWorkload): Promise<{ rn: number[]; ids: (number | null)[][]; values: (number | null)[][] }> {
  const N = w.names;
  const keyColumns = (side: 'spine' | 'group') =>
    w.keys.map((k, i) => sql`${ident(N.key(i, side))} ${raw(side === 'spine' ? k.spineType : k.groupType)}`);
  await run(sql`CREATE OR REPLACE TABLE ${ident(N.ledger)} (commit_id BIGINT, committed_at DOUBLE)`);
  await insert(N.ledger, w.ledger.slice(1).map((at, i) => [literal(i + 1), literal(at)]));
  await run(
    sql`CREATE OR REPLACE TABLE ${ident(N.spine)} (${join([sql`${ident(N.rn)} BIGINT`, ...keyColumns('spine'), sql`${ident(N.ts)} TIMESTAMP`])})`,
  );
  await insert(
    N.spine,
    w.insertOrder.map((i) => {
      const row = w.spine[i]!;
      return [literal(i), ...row.keys.map((v, k) => keyLiteral(v, w.keys[k]!.spineType)), timestamp(row.ts)];
    }),
  );
  for (const [g, group] of w.groups.entries()) {
    const order = N.order === null ? [] : [sql`${ident(N.order)} INTEGER`];
    await run(
      sql`CREATE OR REPLACE TABLE ${ident(N.group(g))} (${join([
        ...keyColumns('group'),
        sql`${ident(N.eventTime)} TIMESTAMP`,
        sql`${ident(N.id)} INTEGER`,
        sql`${ident(N.value)} DOUBLE`,
        ...order,
        sql`"_larder_commit" BIGINT NOT NULL`,
        sql`"_larder_superseded" BIGINT`,
      ])})`,
    );
    // Rows go in in index order, so the rowid (or the explicit order column) is the row index.
    await insert(
      N.group(g),
      group.rows.map((r, j) => [
        ...r.keys.map((v, k) => keyLiteral(v, w.keys[k]!.groupType)),
        timestamp(r.t),
        literal(j),
        literal(r.value),
        ...(N.order === null ? [] : [literal(j)]),
        literal(r.commit),
        literal(r.superseded),
      ]),
    );
  }
  const request: PitSqlRequest = {
    spine: { table: N.spine, rowNumber: N.rn, time: N.ts, columns: [N.rn] },
    groups: w.groups.map((group, g) => ({
      table: N.group(g),
      keys: w.keys.map((_, k) => ({ spine: N.key(k, 'spine'), group: N.key(k, 'group') })),
      eventTime: N.eventTime,
      features: [
        { column: N.id, as: N.output(g, 'id') },
        { column: N.value, as: N.output(g, 'value') },
      ],
      ttl: group.ttl,
      ...(N.order === null ? {} : { rowOrder: N.order }),
    })),
    asOfKnown: w.asOfKnown,
    ledger: { ...DEFAULT_LEDGER, table: N.ledger },
  };
  const text = pointInTimeSql(request);
  const [rows, ...others] = await Promise.all(engines.map((engine) => engine.rows(text)));
  // DuckDB-WASM (the browser's engine) and native DuckDB give identical results.
  for (const other of others) expect(other).toEqual(rows);
  if (rows === undefined) throw new Error('no engine');
  return {
    rn: rows.map((r) => Number(r[0])),
    ids: w.groups.map((_, g) => rows.map((r) => (r[1 + 2 * g] === null ? null : Number(r[1 + 2 * g])))),
    values: w.groups.map((_, g) => rows.map((r) => r[2 + 2 * g] as number | null)),
  };
}

/** The same workload as columns for pointInTimeIndices and the oracle. */
function columnsOf(w: SqlWorkload, g: number): { spine: Parameters<typeof pointInTimeIndices>[0]; group: PitGroup } {
  const rows = w.groups[g]!.rows;
  const committedUs = (commit: number | null) => (commit === null ? Number.NaN : w.ledger[commit]! * 1000);
  return {
    spine: {
      keys: w.keys.map((_, k) => w.spine.map((r) => r.keys[k]!)),
      time: Float64Array.from(w.spine, (r) => r.ts ?? Number.NaN),
    },
    group: {
      keys: w.keys.map((_, k) => rows.map((r) => r.keys[k]!)),
      time: Float64Array.from(rows, (r) => r.t),
      commitId: Float64Array.from(rows, (r) => r.commit),
      committedAt: Float64Array.from(rows, (r) => committedUs(r.commit)),
      supersededAt: Float64Array.from(rows, (r) => committedUs(r.superseded)),
    },
  };
}

async function checkWorkload(w: SqlWorkload): Promise<void> {
  const result = await runInDuckDb(w);
  expect(result.rn).toEqual(w.spine.map((_, i) => i));
  w.groups.forEach((group, g) => {
    const { spine: s, group: columns } = columnsOf(w, g);
    const options = { ttl: group.ttl, asOfKnown: w.asOfKnown };
    const fast = Array.from(pointInTimeIndices(s, columns, options));
    expect(fast).toEqual(naivePointInTime(s, columns, options));
    expect(result.ids[g]).toEqual(fast.map((j) => (j < 0 ? null : j)));
    expect(result.values[g]).toEqual(fast.map((j) => (j < 0 ? null : group.rows[j]!.value)));
  });
}

const keySpec: fc.Arbitrary<KeySpec> = fc.oneof(
  fc.constant<KeySpec>({ spineType: 'VARCHAR', groupType: 'VARCHAR' }),
  fc.record({ spineType: fc.constantFrom<KeyType>('INTEGER', 'BIGINT'), groupType: fc.constantFrom<KeyType>('INTEGER', 'BIGINT') }),
);

function keyValueFor(type: KeyType, domain: number): fc.Arbitrary<KeyValue> {
  const value: fc.Arbitrary<KeyValue> =
    type === 'VARCHAR'
      ? fc.constantFrom(...['a', "b'c", 'ü"x'].slice(0, domain))
      : type === 'BIGINT'
        ? fc.bigInt({ min: 0n, max: BigInt(domain - 1) })
        : fc.integer({ min: 0, max: domain - 1 });
  return fc.option(value, { freq: 15, nil: null });
}

const sqlWorkload = (names: Names): fc.Arbitrary<SqlWorkload> =>
  fc
    .record({
      keys: fc.array(keySpec, { maxLength: 2 }),
      domain: fc.integer({ min: 1, max: 3 }),
      times: fc.integer({ min: 1, max: 8 }),
      commits: fc.integer({ min: 1, max: 5 }),
      groupCount: fc.integer({ min: 1, max: 2 }),
    })
    .chain(({ keys, domain, times, commits, groupCount }) => {
      const keyValues = (side: 'spine' | 'group') => fc.tuple(...keys.map((k) => keyValueFor(side === 'spine' ? k.spineType : k.groupType, domain)));
      // Commit times (ms) sit on the same grid as event times, so "committed at ts" happens often.
      const ledger = fc.array(fc.integer({ min: 0, max: times + 2 }), { minLength: commits + 1, maxLength: commits + 1 });
      const groupRow = fc
        .record({
          keys: keyValues('group'),
          t: fc.integer({ min: 0, max: times }),
          commit: fc.integer({ min: 1, max: commits }),
          supersededBy: fc.option(fc.integer({ min: 1, max: commits }), { freq: 3, nil: null }),
          value: fc.option(fc.double({ noNaN: true, noDefaultInfinity: true }), { freq: 6, nil: null }),
        })
        .map(
          (r): SqlGroupRow => ({
            keys: r.keys,
            t: BASE_US + r.t * STEP,
            commit: r.commit,
            // An upsert is always a later commit than the row it replaces.
            superseded: r.supersededBy !== null && r.supersededBy > r.commit ? r.supersededBy : null,
            value: r.value === null ? null : Object.is(r.value, -0) ? 0 : r.value,
          }),
        );
      const ttl = fc.option(
        fc.tuple(fc.integer({ min: 0, max: times }), fc.integer({ min: -1, max: 1 })).map(([k, d]) => Math.max(0, k * STEP + d)),
        { freq: 2, nil: null },
      );
      const spineRow = fc.record({
        keys: keyValues('spine'),
        // On the grid, or 1 µs either side of it: exercises every inclusive bound.
        ts: fc.option(
          fc.tuple(fc.integer({ min: -1, max: times + 1 }), fc.integer({ min: -1, max: 1 })).map(([t, d]) => BASE_US + t * STEP + d),
          { freq: 15, nil: null },
        ),
      });
      return fc
        .record({
          ledger,
          groups: fc.array(fc.record({ rows: fc.array(groupRow, { maxLength: 25 }), ttl }), { minLength: groupCount, maxLength: groupCount }),
          spine: fc.array(spineRow, { maxLength: 20 }),
          asOfKnown: fc.boolean(),
          seed: fc.integer(),
        })
        .map(({ ledger: at, groups, spine: spineRows, asOfKnown, seed }): SqlWorkload => {
          const insertOrder = spineRows.map((_, i) => i);
          let s = seed;
          for (let i = insertOrder.length - 1; i > 0; i--) {
            s = (Math.imul(s, 1103515245) + 12345) | 0;
            const j = (s >>> 0) % (i + 1);
            [insertOrder[i], insertOrder[j]] = [insertOrder[j]!, insertOrder[i]!];
          }
          return { keys, names, ledger: at.map((ms) => BASE_MS + ms), groups, spine: spineRows, insertOrder, asOfKnown };
        });
    });

describe('pointInTimeSql on native DuckDB and DuckDB-WASM', () => {
  it('answers hand-made ties, TTL bounds and late commits like pointInTimeIndices', async () => {
    const keys: KeySpec[] = [{ spineType: 'VARCHAR', groupType: 'VARCHAR' }];
    const t = (steps: number, us = 0) => BASE_US + steps * STEP + us;
    const rows: SqlGroupRow[] = [
      { keys: ['a'], t: t(1), commit: 1, superseded: 3, value: 1 }, // replaced at commit 3 (ms 7)
      { keys: ['a'], t: t(1), commit: 3, superseded: null, value: 2 },
      { keys: ['a'], t: t(2), commit: 2, superseded: null, value: 3 },
      { keys: ['a'], t: t(2), commit: 2, superseded: null, value: 4 }, // same commit: the later row wins
      { keys: ['a'], t: t(4), commit: 4, superseded: null, value: 5 }, // committed late (ms 20)
      { keys: ['b'], t: t(0), commit: 1, superseded: null, value: 6 },
    ];
    const spineRows = [
      { keys: ['a'], ts: t(1) },
      { keys: ['a'], ts: t(1, -1) },
      { keys: ['a'], ts: t(2) },
      { keys: ['a'], ts: t(3) },
      { keys: ['a'], ts: t(5) },
      { keys: ['a'], ts: t(7) },
      { keys: ['a'], ts: t(20) },
      { keys: ['b'], ts: t(3) },
      { keys: ['b'], ts: t(3, 1) },
      { keys: ['c'], ts: t(3) },
      { keys: [null], ts: t(3) },
      { keys: ['a'], ts: null },
    ];
    const ledger = [0, 1, 2, 7, 20].map((ms) => BASE_MS + ms);
    for (const asOfKnown of [false, true]) {
      for (const ttl of [null, 3 * STEP]) {
        await checkWorkload({
          keys,
          names: plainNames,
          ledger,
          groups: [{ rows, ttl }],
          spine: spineRows,
          insertOrder: spineRows.map((_, i) => spineRows.length - 1 - i),
          asOfKnown,
        });
      }
    }
    // Spot checks of the expected answers themselves.
    const { spine: s, group } = columnsOf({ keys, names: plainNames, ledger, groups: [{ rows, ttl: null }], spine: spineRows, insertOrder: [], asOfKnown: true }, 0);
    expect(Array.from(pointInTimeIndices(s, group, { ttl: null, asOfKnown: false }))).toEqual([1, -1, 3, 3, 4, 4, 4, 5, 5, -1, -1, -1]);
    expect(Array.from(pointInTimeIndices(s, group, { ttl: null, asOfKnown: true }))).toEqual([0, -1, 3, 3, 3, 3, 4, 5, 5, -1, -1, -1]);
    expect(Array.from(pointInTimeIndices(s, group, { ttl: 3 * STEP, asOfKnown: false }))).toEqual([1, -1, 3, 3, 4, 4, -1, 5, -1, -1, -1, -1]);
  });

  it('equals pointInTimeIndices and the oracle cell for cell on random workloads', async () => {
    await fc.assert(fc.asyncProperty(sqlWorkload(plainNames), checkWorkload), { numRuns: 200 });
  });

  it('equals them with hostile table and column names', async () => {
    await fc.assert(fc.asyncProperty(sqlWorkload(hostileNames), checkWorkload), { numRuns: 40 });
  });
});
