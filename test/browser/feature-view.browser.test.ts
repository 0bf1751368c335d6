import { describe, expect, it } from 'vitest';
import { tableFromArrays, type Table } from 'apache-arrow';
import { StoreService } from '../../src/service/store-service.ts';
import type { DuckDbOfflineStore } from '../../src/offline/duckdb/offline-store.ts';
import { openFeatureStore, NotFoundError, SchemaConflictError, InvalidArgumentError, OperationAbortedError } from '../../src/index.ts';
import { naivePointInTime } from '../support/pit-oracle.ts';
import { seededRandom } from '../../src/util/random.ts';
import { uniqueStoreName } from '../support/names.ts';
import { allTypesRows, allTypesSpec, toArrow } from '../support/data-all-types.ts';
import { tableColumns } from '../support/data-helpers.ts';

const US = 1000; // µs per ms
const base = Date.UTC(2024, 0, 1);

interface SiteRow { device: string; ts: number; hum: number; commit: number; committedAt: number; supersededAt: number }

const column = (table: Table, name: string): unknown[] => {
  const v = table.getChild(name)!;
  return Array.from({ length: v.length }, (_, i) => v.get(i) as unknown);
};

async function setup(options: { name?: string; persist?: boolean } = {}) {
  const store = await openFeatureStore({ name: options.name ?? uniqueStoreName('fv'), persist: options.persist ?? false });
  const sensor = await store.createFeatureGroup({
    name: 'sensor', version: 1, primaryKey: 'device', eventTime: 'ts',
    features: { device: 'string', ts: 'timestamp', temp: 'float64', label: 'float64' },
  });
  const site = await store.createFeatureGroup({
    name: 'site', version: 1, primaryKey: 'device', eventTime: 'ts', ttl: 60,
    features: { device: 'string', ts: 'timestamp', hum: 'float64' },
  });
  // Site rows in three commits: exact ties on (device, ts) across commits, and an upsert that supersedes a row.
  const site1 = [
    { device: 'a', ts: base, hum: 1 }, { device: 'a', ts: base + 30_000, hum: 2 }, { device: 'b', ts: base + 10_000, hum: 3 },
  ];
  const site2 = [{ device: 'a', ts: base + 30_000, hum: 20 }, { device: 'b', ts: base + 70_000, hum: 4 }];
  const site3 = [{ device: 'a', ts: base, hum: 10 }];
  const rows: SiteRow[] = [];
  for (const [batch, mode] of [[site1, 'append'], [site2, 'append'], [site3, 'upsert']] as const) {
    const c = await site.insert(batch, { mode });
    if (mode === 'upsert') {
      for (const r of rows) {
        if (batch.some((b) => b.device === r.device && b.ts === r.ts) && Number.isNaN(r.supersededAt)) r.supersededAt = c.committedAt * US;
      }
    }
    for (const r of batch) rows.push({ ...r, commit: c.commitId, committedAt: c.committedAt, supersededAt: Number.NaN });
  }
  await sensor.insert([
    { device: 'a', ts: base + 5_000, temp: 10, label: 1 }, { device: 'a', ts: base + 40_000, temp: 12, label: 0 },
    { device: 'b', ts: base + 80_000, temp: 14, label: 1 }, { device: 'c', ts: base + 90_000, temp: 16, label: 0 },
  ]);
  return { store, sensor, site, siteRows: rows };
}

function expectedHum(spine: { device: string; ts: number }[], siteRows: SiteRow[], asOfKnown: boolean): (number | null)[] {
  const indices = naivePointInTime(
    { keys: [spine.map((s) => s.device)], time: Float64Array.from(spine, (s) => s.ts * US) },
    {
      keys: [siteRows.map((r) => r.device)],
      time: Float64Array.from(siteRows, (r) => r.ts * US),
      commitId: Float64Array.from(siteRows, (r) => r.commit),
      committedAt: Float64Array.from(siteRows, (r) => r.committedAt * US),
      supersededAt: Float64Array.from(siteRows, (r) => r.supersededAt),
    },
    { ttl: 60 * 1e6, asOfKnown },
  );
  return indices.map((i) => (i < 0 ? null : siteRows[i]!.hum));
}

describe('feature views and training data', () => {
  it('joins point-in-time: ties to the latest commit, TTL bounds inclusive, upserts, no match → null, spine order', async () => {
    const { store, sensor, site, siteRows } = await setup();
    const view = await store.createFeatureView({
      name: 'v', version: 1, query: sensor.select(['temp']).join(site.select(['hum']), { prefix: 'site_' }), labels: ['label'],
    });
    expect(view.definition.features.map((f) => f.name)).toEqual(['temp', 'site_hum']);
    const spine = [
      { device: 'a', ts: base + 30_000, label: 1 },       // tie at 30s: commit 2 wins (20)
      { device: 'a', ts: base + 29_999, label: 1 },       // before the tie: the upserted row at base (10)
      { device: 'a', ts: base - 1, label: 0 },            // before all history
      { device: 'b', ts: base + 70_000, label: 0 },       // equal time, inclusive (4)
      { device: 'b', ts: base + 69_999, label: 0 },       // 3 at 10s is 59.999 s old: inside the TTL
      { device: 'b', ts: base + 70_000 - 1, label: 0 },   // duplicate spine row
      { device: 'a', ts: base + 90_000, label: 1 },       // 20 at 30s is exactly 60 s old: inclusive
      { device: 'a', ts: base + 90_001, label: 1 },       // 1 ms beyond the TTL: null
      { device: 'z', ts: base + 50_000, label: 1 },       // no history
    ];
    const { train, test, dataset } = await view.trainingData({ spine, split: { kind: 'random', test: 0, seed: 7 } });
    expect(test.numRows).toBe(0);
    expect(column(train, 'device')).toEqual(spine.map((s) => s.device));
    expect(column(train, 'ts')).toEqual(spine.map((s) => s.ts));
    expect(column(train, 'label')).toEqual(spine.map((s) => s.label));
    const hum = expectedHum(spine, siteRows, false);
    expect(hum).toEqual([20, 10, null, 4, 3, 3, 20, null, null]); // the oracle agrees with the hand-computed answer
    expect(column(train, 'site_hum')).toEqual(hum);
    expect(column(train, 'temp')).toEqual([10, 10, null, null, null, null, 12, 12, null]);
    expect(dataset.version).toBe(1);
    expect(dataset.params.spine).toBe('explicit');
    // The dataset is persisted: the same rows come back.
    const again = await view.getTrainingDataset(1);
    expect(column(again.train, 'site_hum')).toEqual(hum);
    expect((await view.listTrainingDatasets()).map((d) => d.version)).toEqual([1]);
    await store.close();
  });

  it('never leaks: features planted after each spine row do not appear; asOfKnown hides late commits', async () => {
    const { store, sensor, site, siteRows } = await setup();
    const view = await store.createFeatureView({ name: 'v', version: 1, query: sensor.select(['temp']).join(site.select(['hum'])) });
    // A late commit: rows dated in the past, committed now.
    const now = Date.now();
    const early = await site.insert([{ device: 'q', ts: now - 30_000, hum: 100 }]);
    await new Promise((r) => setTimeout(r, 30));
    const late = await site.insert([{ device: 'q', ts: now - 20_000, hum: 200 }]);
    siteRows.push(
      { device: 'q', ts: now - 30_000, hum: 100, commit: early.commitId, committedAt: early.committedAt, supersededAt: Number.NaN },
      { device: 'q', ts: now - 20_000, hum: 200, commit: late.commitId, committedAt: late.committedAt, supersededAt: Number.NaN },
    );
    const between = Math.floor((early.committedAt + late.committedAt) / 2);
    const spine = [{ device: 'q', ts: between }, { device: 'a', ts: base + 31_000 }];
    const plain = await view.trainingData({ spine, split: { kind: 'random', test: 0 } });
    const known = await view.trainingData({ spine, split: { kind: 'random', test: 0 }, asOfKnown: true });
    expect(column(plain.train, 'hum')).toEqual(expectedHum(spine, siteRows, false));
    expect(column(known.train, 'hum')).toEqual(expectedHum(spine, siteRows, true));
    expect(column(plain.train, 'hum')[0]).toBe(200);
    expect(column(known.train, 'hum')[0]).toBe(100);
    // Plant a value dated after every spine row: nothing changes.
    await site.insert([{ device: 'a', ts: base + 31_000 + 1, hum: 999 }, { device: 'q', ts: between + 1, hum: 999 }]);
    const after = await view.trainingData({ spine, split: { kind: 'random', test: 0 } });
    expect(column(after.train, 'hum')).toEqual(column(plain.train, 'hum'));
    await store.close();
  });

  it('uses the left group as spine, splits by time, fits transformations on the train split only', async () => {
    const { store, sensor, site } = await setup();
    const view = await store.createFeatureView({
      name: 'scaled', version: 1, query: sensor.select(['temp']).join(site.select(['hum'])), labels: ['label'],
      transforms: [{ kind: 'standardScaler', column: 'temp' }],
    });
    const cut = base + 50_000;
    const { train, test, dataset: info, persisted } = await view.trainingData({ split: { kind: 'time', trainEnd: cut, testStart: cut } });
    const dataset = await persisted;
    expect(dataset).toEqual({ ...info, statistics: dataset.statistics });
    // Left-group rows by event time: temps 10 and 12 before the cut, 14 and 16 after.
    expect(column(train, 'ts')).toEqual([base + 5_000, base + 40_000]);
    expect(column(test, 'ts')).toEqual([base + 80_000, base + 90_000]);
    const mean = 11;
    const std = 1; // population std of [10, 12]
    expect(dataset.transforms?.transforms[0]).toEqual({ kind: 'standardScaler', column: 'temp', mean, std });
    expect(column(train, 'temp')).toEqual([(10 - mean) / std, (12 - mean) / std]);
    expect(column(test, 'temp')).toEqual([(14 - mean) / std, (16 - mean) / std]);
    expect(column(test, 'label')).toEqual([1, 0]);
    expect(dataset.rowCounts).toEqual({ train: 2, test: 2, validation: 0 });
    // Statistics of the train split, before transformations: temps 10 and 12; hum as the join saw it.
    expect(dataset.statistics.rowCount).toBe(2);
    expect(dataset.statistics.columns['temp']).toMatchObject({ count: 2, nulls: 0, min: 10, max: 12, mean: 11 });
    expect(dataset.statistics.columns['temp']?.std).toBeCloseTo(Math.SQRT2, 12); // sample std of [10, 12]
    expect(dataset.statistics.columns['label']).toMatchObject({ count: 2, min: 0, max: 1 });
    expect(Object.keys(dataset.statistics.columns)).toEqual(['temp', 'hum', 'label']);
    const stored = await view.getTrainingDataset(dataset.version);
    expect(column(stored.test, 'temp')).toEqual(column(test, 'temp'));
    await store.close();
  });

  it('serves batch data: entities active in a range with their latest values before the end', async () => {
    const { store, sensor, site, siteRows } = await setup();
    const view = await store.createFeatureView({
      name: 'b', version: 1, query: sensor.select(['temp']).join(site.select(['hum'])), labels: ['label'],
      transforms: [{ kind: 'minMaxScaler', column: 'temp' }],
    });
    const end = base + 85_000;
    const batch = await view.getBatchData({ start: base, end });
    // Sensor entities with rows in [base, end): a (5 s, 40 s) and b (80 s); c's row is at 90 s.
    expect(column(batch, 'device')).toEqual(['a', 'b']);
    expect(column(batch, 'ts')).toEqual([end - 0.001, end - 0.001]);
    expect(column(batch, 'temp')).toEqual([12, 14]);
    const spine = [{ device: 'a', ts: end - 0.001 }, { device: 'b', ts: end - 0.001 }];
    expect(column(batch, 'hum')).toEqual(expectedHum(spine, siteRows, false));
    expect(batch.getChild('label')).toBeNull();
    // With a training dataset's transformations: scaled with its train statistics, not refitted.
    const { dataset } = await view.trainingData({ split: { kind: 'time', trainEnd: base + 50_000, testStart: base + 50_000 } });
    const scaled = await view.getBatchData({ start: base, end, trainingDataset: dataset.version });
    expect(dataset.transforms?.transforms[0]).toEqual({ kind: 'minMaxScaler', column: 'temp', min: 10, max: 12 });
    expect(column(scaled, 'temp')).toEqual([(12 - 10) / 2, (14 - 10) / 2]);
    await store.close();
  });

  it('batch data is each entity\'s latest current row before end, as a scan of the whole history says (ties, upserts, deletes, TTL)', async () => {
    const store = await openFeatureStore({ name: uniqueStoreName('fvbatch'), persist: false });
    const features = { id: 'int64', ts: 'timestamp', x: 'float64', tag: 'string' } as const;
    const plain = await store.createFeatureGroup({ name: 'plain', version: 1, primaryKey: 'id', eventTime: 'ts', features });
    const ttl = await store.createFeatureGroup({ name: 'aging', version: 1, primaryKey: 'id', eventTime: 'ts', ttl: 5, features });
    // The oracle's history: every row ever written, in order, and whether it is current (not replaced by an upsert).
    interface Written { id: number; ts: number; x: number; tag: string; commit: number; current: boolean }
    const history: Written[] = [];
    const random = seededRandom(21);
    const pick = (n: number) => Math.floor(random() * n);
    let commit = 0;
    for (let step = 0; step < 12; step++) {
      commit++;
      const kind = step === 7 || step === 10 ? 'delete' : step % 3 === 2 ? 'upsert' : 'append';
      if (kind === 'delete') {
        const id = pick(20);
        for (const g of [plain, ttl]) await g.deleteRows([{ id }]);
        history.splice(0, history.length, ...history.filter((r) => r.id !== id));
        continue;
      }
      // Few distinct times, so rows tie on (id, ts) within a commit (append) and across commits.
      const batch = Array.from({ length: 40 }, () => ({ id: pick(20), ts: base + pick(12) * 1000, x: random(), tag: `t${pick(1000)}` }));
      // An append also writes two rows of one entity at the latest time: the later of the two is the one seen.
      if (kind === 'append') batch.push({ id: step, ts: base + 11_000, x: random(), tag: 'first' }, { id: step, ts: base + 11_000, x: random(), tag: 'second' });
      const rows = kind === 'upsert' ? [...new Map(batch.map((r) => [`${r.id}@${r.ts}`, r])).values()] : batch;
      for (const g of [plain, ttl]) await g.insert(rows, { mode: kind });
      if (kind === 'upsert') {
        for (const r of rows) for (const old of history) if (old.current && old.id === r.id && old.ts === r.ts) old.current = false;
      }
      history.push(...rows.map((r) => ({ ...r, commit, current: true })));
    }
    const expected = (start: number | undefined, end: number, ttlSeconds: number | null) => {
      const latest = new Map<number, Written>();
      history.forEach((r) => {
        if (!r.current || r.ts >= end) return;
        const best = latest.get(r.id);
        // Greatest event time, then the latest commit, then the later row (history is in write order).
        if (best === undefined || r.ts > best.ts || (r.ts === best.ts && r.commit >= best.commit)) latest.set(r.id, r);
      });
      const entities = [...latest.values()].filter((r) => start === undefined || r.ts >= start).sort((a, b) => a.id - b.id);
      const visible = (r: Written) => ttlSeconds === null || r.ts * US >= end * US - 1 - ttlSeconds * 1e6;
      return { id: entities.map((r) => r.id), x: entities.map((r) => (visible(r) ? r.x : null)), tag: entities.map((r) => (visible(r) ? r.tag : null)) };
    };
    const views = [
      { view: await store.createFeatureView({ name: 'plain_view', version: 1, query: plain.select(['x', 'tag']) }), ttlSeconds: null },
      { view: await store.createFeatureView({ name: 'aging_view', version: 1, query: ttl.select(['x', 'tag']) }), ttlSeconds: 5 },
    ];
    let compared = 0;
    for (const { view, ttlSeconds } of views) {
      for (const [start, end] of [[undefined, base + 12_000], [undefined, base + 6_000], [base + 3_000, base + 9_000], [base + 8_000, base + 8_001], [base + 9_000, base + 16_000], [undefined, base + 20_000]] as const) {
        const batch = await view.getBatchData({ ...(start === undefined ? {} : { start }), end });
        const want = expected(start, end, ttlSeconds);
        const got = { id: column(batch, 'id').map(Number), x: column(batch, 'x'), tag: column(batch, 'tag') };
        expect(got, `${view.name} [${start ?? '-'}, ${end})`).toEqual(want);
        compared += want.id.length;
      }
    }
    // The history exercised what it is meant to: superseded rows, removed entities, and TTL nulls among the answers.
    expect(history.some((r) => !r.current)).toBe(true);
    expect(compared).toBeGreaterThan(50);
    expect(expected(undefined, base + 12_000, null).tag).toContain('second');
    const aging = expected(base + 9_000, base + 16_000, 5).x;
    expect([aging.some((v) => v === null), aging.some((v) => v !== null)]).toEqual([true, true]);
    await store.close();
  });

  it('carries every feature type through the join exactly (the spine sees its own rows)', async () => {
    const store = await openFeatureStore({ name: uniqueStoreName('fvtypes'), persist: false });
    const group = await store.createFeatureGroup(allTypesSpec('all'));
    const rows = allTypesRows(5000); // more than one 2048-row DuckDB batch
    await group.insert(toArrow(rows));
    const view = await store.createFeatureView({
      name: 'all', version: 1, query: group.select(['i32', 'i64', 'f32', 'f64', 'b', 's', 't', 'd', 'emb']),
    });
    const { train } = await view.trainingData({ split: { kind: 'random', test: 0 } });
    const stored = tableColumns(await group.read());
    const got = tableColumns(train);
    for (const name of ['id', 'ts', 'i32', 'i64', 'f32', 'f64', 'b', 's', 't', 'd', 'emb']) expect(got[name], name).toEqual(stored[name]);
    await store.close();
  });

  it('joins one group twice on different spine keys (each join keeps its own rows), in training and batch data', async () => {
    const store = await openFeatureStore({ name: uniqueStoreName('fv2'), persist: false });
    const trips = await store.createFeatureGroup({
      name: 'trips', version: 1, primaryKey: 'trip', eventTime: 'ts',
      features: { trip: 'int64', ts: 'timestamp', home: 'string', work: 'string' },
    });
    const city = await store.createFeatureGroup({
      name: 'city', version: 1, primaryKey: 'city', eventTime: 'ts', features: { city: 'string', ts: 'timestamp', pop: 'float64' },
    });
    await city.insert([{ city: 'x', ts: 0, pop: 1 }, { city: 'y', ts: 0, pop: 2 }]);
    await trips.insert([{ trip: 1, ts: 1000, home: 'x', work: 'y' }, { trip: 2, ts: 2000, home: 'y', work: 'x' }]);
    const view = await store.createFeatureView({
      name: 'commute', version: 1,
      query: trips.select(['home']).join(city.select(['pop']), { on: ['home'], prefix: 'home_' }).join(city.select(['pop']), { on: ['work'], prefix: 'work_' }),
    });
    const { train } = await view.trainingData({ split: { kind: 'random', test: 0 } });
    expect(column(train, 'home_pop')).toEqual([1, 2]);
    expect(column(train, 'work_pop')).toEqual([2, 1]);
    // Batch data joins on the left group's non-key columns as each entity's latest left row has them before `end`.
    await trips.insert([{ trip: 1, ts: 3000, home: 'y', work: 'x' }]);
    const before = await view.getBatchData({ end: 2500 });
    expect([column(before, 'trip').map(Number), column(before, 'home_pop'), column(before, 'work_pop')]).toEqual([[1, 2], [1, 2], [2, 1]]);
    const after = await view.getBatchData({ end: 5000 });
    expect([column(after, 'trip').map(Number), column(after, 'home_pop'), column(after, 'work_pop')]).toEqual([[1, 2], [2, 2], [1, 1]]);
    expect(after.schema.fields.map((f) => f.name)).toEqual(['trip', 'ts', 'home', 'home_pop', 'work_pop']);
    expect(column(after, 'home')).toEqual(['y', 'y']);
    await store.close();
  });

  it('pins versions: views are immutable, validated, listed and deleted', async () => {
    const { store, sensor, site } = await setup();
    const spec = { name: 'v', version: 1, query: sensor.select(['temp']).join(site.select(['hum'])) };
    const v1 = await store.createFeatureView(spec);
    expect((await store.createFeatureView(spec)).definition).toEqual(v1.definition);
    await expect(store.createFeatureView({ ...spec, query: sensor.select(['label']) })).rejects.toBeInstanceOf(SchemaConflictError);
    await expect(store.createFeatureView({ ...spec, version: 2, query: sensor.select(['nope']) })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(store.createFeatureView({ ...spec, version: 2, query: sensor.select(['temp']).join(sensor.select(['temp'])) })).rejects.toThrow(/appears twice/);
    await v1.trainingData();
    expect((await store.listFeatureViews()).map((v) => v.version)).toEqual([1]);
    await store.deleteFeatureView('v', 1);
    await expect(store.getFeatureView('v')).rejects.toBeInstanceOf(NotFoundError);
    await store.close();
  });

  it('persists training datasets behind the returned rows: distinct versions, readers wait, close waits', async () => {
    const name = uniqueStoreName('fvbg');
    const { store, sensor, site } = await setup({ name, persist: true });
    const view = await store.createFeatureView({ name: 'v', version: 1, query: sensor.select(['temp']).join(site.select(['hum'])), labels: ['label'] });
    // Concurrent requests reserve different versions.
    const [a, b] = await Promise.all([view.trainingData(), view.trainingData({ split: { kind: 'random', test: 0.5, seed: 3 } })]);
    expect([a.dataset.version, b.dataset.version].sort()).toEqual([1, 2]);
    // Readers in the same store see both at once, complete, without awaiting `persisted`.
    const listed = await view.listTrainingDatasets();
    expect(listed.map((d) => d.version)).toEqual([1, 2]);
    expect(listed.every((d) => d.statistics.rowCount === d.rowCounts.train)).toBe(true);
    expect(await a.persisted).toEqual(listed.find((d) => d.version === a.dataset.version));
    // A third one, then close at once: close waits for the write, so it is there after reopening.
    const c = await view.trainingData({ split: { kind: 'random', test: 0.25, seed: 9 } });
    await store.close();
    const reopened = await openFeatureStore({ name });
    const again = await (await reopened.getFeatureView('v', 1)).getTrainingDataset(c.dataset.version);
    expect(again.dataset).toEqual(await c.persisted);
    expect(column(again.train, 'temp')).toEqual(column(c.train, 'temp'));
    expect(column(again.test, 'temp')).toEqual(column(c.test, 'temp'));
    await reopened.close();
  });

  it('drops a training dataset table whose record was never stored (a tab closed mid-write) when the store opens', async () => {
    const name = uniqueStoreName('fvorphan');
    const service = new StoreService();
    await service.open({ name, persist: true, assets: null });
    const offline = (service as unknown as { state: { offline: DuckDbOfflineStore } }).state.offline;
    await offline.writeTable('td_v_v1_7', tableFromArrays({ x: Float64Array.of(1, 2) }));
    expect(await offline.tableNames()).toContain('td_v_v1_7');
    await service.close();
    const reopened = new StoreService();
    await reopened.open({ name, persist: true, assets: null });
    expect(await (reopened as unknown as { state: { offline: DuckDbOfflineStore } }).state.offline.tableNames()).not.toContain('td_v_v1_7');
    await reopened.close();
  });

  it('reports each phase as it starts, and stops on abort with nothing stored', async () => {
    const { store, sensor, site } = await setup();
    const view = await store.createFeatureView({ name: 'v', version: 1, query: sensor.select(['temp']).join(site.select(['hum'])), labels: ['label'] });
    const phases: string[] = [];
    await view.trainingData({ onProgress: (p) => phases.push(p.group === undefined ? p.phase : `${p.phase} ${p.group}`) });
    expect(phases).toEqual(['reading', 'joining sensor', 'joining site', 'splitting', 'transforming', 'done']);
    // An abort made inside the callback of any phase before 'done' is always honoured — however fast the worker is.
    for (const phase of phases.slice(0, -1)) {
      const controller = new AbortController();
      const aborted = view.trainingData({
        signal: controller.signal,
        onProgress: (p) => {
          if ((p.group === undefined ? p.phase : `${p.phase} ${p.group}`) === phase) controller.abort(new Error('changed my mind'));
        },
      });
      await expect(aborted, phase).rejects.toBeInstanceOf(OperationAbortedError);
      expect((await view.listTrainingDatasets()).map((d) => d.version)).toEqual([1]);
    }
    const controller = new AbortController();
    controller.abort();
    await expect(view.trainingData({ signal: controller.signal })).rejects.toBeInstanceOf(OperationAbortedError);
    expect((await view.trainingData()).dataset.version).toBe(2);
    await store.close();
  });
});
