import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  InvalidArgumentError, InvalidNameError, StoreLockedError, ValidationError, expect as larder, openFeatureStore, type FeatureGroup,
  type FeatureGroupSpec, type FeatureStore,
} from '../../src/index.ts';
import { compareUtf8, rejectionOf, snapshot, tableColumns, type GroupSnapshot } from '../support/data-helpers.ts';
import { uniqueStoreName } from '../support/names.ts';

/** Names that break the allowlist: each must be refused with InvalidNameError wherever a name is given. */
const HOSTILE_NAMES = [
  "it's", 'say "hi"', 'a;b', 'semi;', 'nul\u0000byte', 'ünïcödé', 'emoji😀', 'x'.repeat(10_240), 'two words', ' lead',
  'trail ', 'a--b', '--', '/*', 'a/*b*/', '1abc', '9', '', '_hidden', 'a.b', 'a-b', 'line\nbreak', 'tab\t',
  "x'; DROP TABLE fg_canary_v1; --", 'x"; DROP TABLE "fg_canary_v1"; --', 'fg_canary_v1 --', 'select;', 'drop table',
  'x'.repeat(65),
];

/** SQL keywords that are valid names: they must work everywhere. */
const KEYWORDS = ['select', 'from', 'where', 'table', 'drop', 'order', 'group', 'limit', 'union', 'null', 'true', 'insert'];

/** String values, filters and batch ids that must round-trip as data, never run as SQL. */
const HOSTILE_VALUES = [
  "it's", 'say "hi"', "'); DROP TABLE fg_canary_v1; --", '"; DROP TABLE _larder_commits; --', 'nul\u0000byte', '\u0000',
  'ünïcödé', 'emoji😀👨‍👩‍👧', 'x'.repeat(10_240), '--', '/* comment */', '\\', "\\'", 'line\nbreak', '', ' ', 'NULL', 'chr(0)',
  "' || chr(0) || '",
];

const canarySpec: FeatureGroupSpec = {
  name: 'canary',
  version: 1,
  primaryKey: 'id',
  eventTime: 'ts',
  features: { id: 'string', ts: 'timestamp', v: 'float64' },
};

function expectInvalidName(error: Error, what: string): void {
  expect(error, `${what}: ${error.message}`).toBeInstanceOf(InvalidNameError);
  expect((error as InvalidNameError).code, what).toBe('INVALID_NAME');
}

const show = (name: string): string => JSON.stringify(name.length > 30 ? `${name.slice(0, 30)}…` : name);

describe.each([
  { label: 'in memory', persist: false },
  { label: 'persistent', persist: true },
])('hostile names and values ($label)', ({ persist }) => {
  let store: FeatureStore;
  let canary: FeatureGroup;
  let canaryBefore: GroupSnapshot;

  beforeAll(async () => {
    store = await openFeatureStore({ name: uniqueStoreName(persist ? 'names_opfs' : 'names_mem'), persist });
    canary = await store.createFeatureGroup(canarySpec);
    await canary.insert([
      { id: 'a', ts: '2024-01-01', v: 1 },
      { id: 'b', ts: '2024-01-02', v: 2 },
    ]);
    await canary.insert([{ id: 'a', ts: '2024-01-01', v: 10 }], { mode: 'upsert', batchId: 'canary-2' });
    canaryBefore = await snapshot(canary);
  });
  afterAll(async () => {
    await store.close();
  });

  it('refuses hostile feature group, feature, key and event-time names', async () => {
    for (const name of HOSTILE_NAMES) {
      const base = { name: 'ok', version: 1, primaryKey: 'id', eventTime: 'ts', features: { id: 'string', ts: 'timestamp' } } as const;
      const attempts: [string, FeatureGroupSpec][] = [
        ['group', { ...base, name }],
        ['feature', { ...base, features: { ...base.features, [name]: 'float64' } }],
        ['primary key', { ...base, primaryKey: name, features: { [name]: 'string', ts: 'timestamp' } }],
        ['event time', { ...base, eventTime: name, features: { id: 'string', [name]: 'timestamp' } }],
        ['undeclared event time', { ...base, eventTime: name, features: { id: 'string' } }],
      ];
      for (const [what, spec] of attempts) {
        expectInvalidName(await rejectionOf(store.createFeatureGroup(spec)), `${what} ${show(name)}`);
      }
      expectInvalidName(await rejectionOf(store.getFeatureGroup(name)), `getFeatureGroup ${show(name)}`);
      expectInvalidName(await rejectionOf(store.deleteFeatureGroup(name, 1)), `deleteFeatureGroup ${show(name)}`);
      expectInvalidName(await rejectionOf(canary.read({ columns: ['id', name] })), `read columns ${show(name)}`);
      expectInvalidName(await rejectionOf(canary.read({ where: { [name]: 'a' } })), `where ${show(name)}`);
    }
    expect((await store.listFeatureGroups()).map((g) => g.name)).toEqual(['canary']);
  });

  it('refuses hostile store names', async () => {
    for (const name of HOSTILE_NAMES) {
      expectInvalidName(await rejectionOf(openFeatureStore({ name, persist })), `store ${show(name)}`);
    }
  });

  it('refuses names that differ only by case', async () => {
    const features = { id: 'string', ts: 'timestamp', Value: 'float64', value: 'int32' } as const;
    expectInvalidName(
      await rejectionOf(store.createFeatureGroup({ name: 'cased', version: 1, primaryKey: 'id', eventTime: 'ts', features })),
      'features differing by case',
    );
    await store.createFeatureGroup({ ...canarySpec, name: 'MixedCase' });
    expectInvalidName(await rejectionOf(store.createFeatureGroup({ ...canarySpec, name: 'mixedcase', version: 2 })), 'group differing by case');
    expect((await store.getFeatureGroup('MIXEDCASE')).name).toBe('MixedCase');
    await store.deleteFeatureGroup('MixedCase', 1);
  });

  it('SQL keywords as group, key, event-time and feature names round-trip everywhere', async () => {
    const features: Record<string, 'string' | 'timestamp' | 'float64' | 'int32'> = { from: 'string', order: 'timestamp' };
    for (const keyword of KEYWORDS.filter((k) => k !== 'from' && k !== 'order')) features[keyword] = 'float64';
    features['rowid'] = 'int32';
    const fg = await store.createFeatureGroup({
      name: 'select',
      version: 1,
      primaryKey: 'from',
      eventTime: 'order',
      features,
      expectations: { policy: 'warn', expectations: [larder.between('where', 0, 10), larder.unique(), larder.notNull('table')] },
    });
    const row = (key: string, day: number, value: number): Record<string, unknown> => ({
      ...Object.fromEntries(KEYWORDS.map((k) => [k, value])),
      from: key,
      order: Date.UTC(2024, 0, day),
      rowid: 100 - day,
    });
    await fg.insert([row('a', 1, 1), row('b', 1, 2), row('a', 2, 3)]);
    const upsert = await fg.insert([row('a', 1, 20)], { mode: 'upsert' });
    expect(upsert.validation!.results.map((r) => r.unexpectedCount)).toEqual([1, 0, 0]);
    const read = tableColumns(await fg.read({ where: { table: { gte: 2 }, select: { ne: 3 } }, columns: ['from', 'where', 'rowid'] }));
    // Ordered by event time, then key.
    expect(read).toEqual({ from: ['a', 'b'], where: [20, 2], rowid: [99, 99] });
    const stats = await fg.statistics();
    expect(stats.columns['limit']).toMatchObject({ count: 3, min: 2, max: 20 });
    expect(stats.columns['rowid']).toMatchObject({ count: 3, min: 98, max: 99 });
    const deleted = await fg.deleteRows([{ from: 'b' }]);
    expect(deleted.rowCount).toBe(1);
    expect(tableColumns(await fg.read({ columns: ['from'] }))).toEqual({ from: ['a', 'a'] });
    expect((await store.getFeatureGroup('SELECT')).definition.primaryKey).toEqual(['from']);
  });

  it('a feature named rowid does not disturb the row numbers of validation problems', async () => {
    const fg = await store.createFeatureGroup({
      name: 'rowids',
      version: 1,
      primaryKey: 'id',
      eventTime: 'ts',
      features: { id: 'int32', ts: 'timestamp', rowid: 'int32', must: { type: 'float64', nullable: false } },
    });
    const rows = Array.from({ length: 6 }, (_, i) => ({ id: i, ts: 0, rowid: 50 - i, must: i === 4 ? null : i }));
    const error = await rejectionOf(fg.insert(rows));
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).details.problems).toMatchObject([{ column: 'must', kind: 'null_value', rows: [4], count: 1 }]);
  });

  it('hostile string values, filters and batch ids round-trip as data', async () => {
    const fg = await store.createFeatureGroup({
      name: 'values',
      version: 1,
      primaryKey: 'k',
      eventTime: 'ts',
      features: { k: 'string', ts: 'timestamp', s: 'string' },
      expectations: { policy: 'warn', expectations: [larder.inSet('s', HOSTILE_VALUES.slice(0, 5)), larder.matches('s', "^'")] },
    });
    const rows = HOSTILE_VALUES.map((value, i) => ({ k: value, ts: Date.UTC(2024, 0, 1, 0, 0, i), s: value }));
    const commit = await fg.insert(rows);
    const [inSet, matches] = commit.validation!.results;
    expect(inSet!.unexpectedCount).toBe(HOSTILE_VALUES.length - 5);
    expect(matches!.unexpectedCount).toBe(HOSTILE_VALUES.filter((v) => !v.startsWith("'")).length);
    expect(tableColumns(await fg.read())).toEqual({
      k: HOSTILE_VALUES,
      ts: HOSTILE_VALUES.map((_, i) => BigInt(Date.UTC(2024, 0, 1, 0, 0, i)) * 1000n),
      s: HOSTILE_VALUES,
    });
    for (const value of HOSTILE_VALUES) {
      expect(tableColumns(await fg.read({ where: { s: value } }))['k'], show(value)).toEqual([value]);
      expect((await fg.read({ where: { k: { ne: value } } })).numRows, show(value)).toBe(HOSTILE_VALUES.length - 1);
    }
    expect((await fg.read({ where: { s: { in: HOSTILE_VALUES } } })).numRows).toBe(HOSTILE_VALUES.length);
    expect((await fg.read({ where: { s: { gte: "'" } } })).numRows).toBe(HOSTILE_VALUES.filter((v) => compareUtf8(v, "'") >= 0).length);

    const batchIds = HOSTILE_VALUES.filter((v) => v.length > 0 && v.length <= 256);
    for (const [i, batchId] of batchIds.entries()) {
      const first = await fg.insert([{ k: `batch ${i}`, ts: 0, s: 'x' }], { batchId });
      expect(first.batchId).toBe(batchId);
      const again = await fg.insert([{ k: `other ${i}`, ts: 0, s: 'y' }], { batchId });
      expect(again.reused, show(batchId)).toBe(true);
      expect(again.commitId).toBe(first.commitId);
    }
    const ledger = await fg.commits();
    expect(ledger.map((c) => c.batchId)).toEqual([null, ...batchIds]);
    expect(await rejectionOf(fg.insert(rows, { batchId: 'x'.repeat(10_240) }))).toBeInstanceOf(InvalidArgumentError);

    await fg.deleteRows(HOSTILE_VALUES.slice(0, 6).map((k) => ({ k })));
    expect(tableColumns(await fg.read({ columns: ['k'], where: { ts: { gte: '2024-01-01' } } }))['k']).toEqual(HOSTILE_VALUES.slice(6));
  });

  it('the canary group is untouched by every attempt', async () => {
    expect(await snapshot(canary)).toEqual(canaryBefore);
    expect(tableColumns(await canary.read())).toEqual({ id: ['a', 'b'], ts: [1704067200000000n, 1704153600000000n], v: [10, 2] });
  });
});

describe('store names', () => {
  it('an SQL keyword is a store name like any other (persistent), and store names ignore case', async () => {
    const store = await openFeatureStore({ name: 'drop', persist: true });
    try {
      const fg = await store.createFeatureGroup({ ...canarySpec, name: 'table' });
      await fg.insert([{ id: 'x', ts: 0, v: 1.5 }]);
      expect(tableColumns(await fg.read())).toEqual({ id: ['x'], ts: [0n], v: [1.5] });
      expect(await rejectionOf(openFeatureStore({ name: 'DROP', persist: true }))).toBeInstanceOf(StoreLockedError);
    } finally {
      await store.close();
    }
  });
});
