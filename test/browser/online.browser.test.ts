import { describe, expect, it } from 'vitest';
import { openFeatureStore, InvalidArgumentError, OperationAbortedError, type FeatureStore } from '../../src/index.ts';
import { onlineGroupKey } from '../../src/online/materialize.ts';
import { uniqueStoreName } from '../support/names.ts';
import { onDemandA } from '../support/ondemand-a.ts';

const MINUTE = 60_000;

async function sensorStore(options: { ttl?: number; persist?: boolean; name?: string } = {}) {
  const store = await openFeatureStore({ name: options.name ?? uniqueStoreName('online'), persist: options.persist ?? false });
  const sensor = await store.createFeatureGroup({
    name: 'sensor', version: 1, primaryKey: 'device', eventTime: 'ts', online: true,
    ...(options.ttl === undefined ? {} : { ttl: options.ttl }),
    features: { device: 'string', ts: 'timestamp', temp: 'float64', note: 'string', count: 'int64' },
  });
  return { store, sensor };
}

const onlineOf = (store: FeatureStore) => store.online();

describe('online store', () => {
  it('writes through on insert: the latest row per key, older events never overwrite newer ones', async () => {
    const { store, sensor } = await sensorStore();
    const now = Date.now();
    await sensor.insert([
      { device: 'a', ts: now - 5 * MINUTE, temp: 1, note: 'x', count: 1n },
      { device: 'a', ts: now - 2 * MINUTE, temp: 2, note: null, count: 2n },
      { device: 'b', ts: now - 3 * MINUTE, temp: 3, note: 'y', count: 3n },
    ]);
    const first = await sensor.getOnline([{ device: 'a' }, { device: 'b' }, { device: 'z' }]);
    let [a, b] = first;
    const z = first[2];
    expect(a).toMatchObject({ status: 'present', eventTime: now - 2 * MINUTE, values: { device: 'a', temp: 2, note: null, count: 2n } });
    expect(b).toMatchObject({ status: 'present', values: { temp: 3 } });
    expect(z).toEqual({ status: 'not_found', values: null, eventTime: null, commitId: null });
    // A late, older event for a: the offline store has it, the online row stays the newer one.
    const late = await sensor.insert([{ device: 'a', ts: now - 10 * MINUTE, temp: 99, note: 'old', count: 9n }]);
    [a] = await sensor.getOnline([{ device: 'a' }]);
    expect(a!.values?.['temp']).toBe(2);
    // An upsert at the same event time replaces it (a later commit wins a tie).
    const upsert = await sensor.insert([{ device: 'a', ts: now - 2 * MINUTE, temp: 20, note: 'fixed', count: 2n }], { mode: 'upsert' });
    [a] = await sensor.getOnline([{ device: 'a' }]);
    expect(a).toMatchObject({ values: { temp: 20, note: 'fixed' }, commitId: upsert.commitId });
    // Everything is applied: an incremental run has nothing to do, and a rebuild changes nothing.
    expect(await sensor.materializeIncremental()).toMatchObject({ rows: 0, commits: 0, watermark: upsert.commitId });
    expect(late.commitId).toBeLessThan(upsert.commitId);
    await sensor.materialize();
    [a, b] = await sensor.getOnline([{ device: 'a' }, { device: 'b' }]);
    expect(a!.values?.['temp']).toBe(20);
    expect(b!.values?.['temp']).toBe(3);
    await store.close();
  });

  it('removes deleted keys, also when a rebuild has to find them', async () => {
    const { store, sensor } = await sensorStore();
    const now = Date.now();
    await sensor.insert([
      { device: 'a', ts: now - MINUTE, temp: 1, note: null, count: 1n },
      { device: 'b', ts: now - MINUTE, temp: 2, note: null, count: 2n },
      { device: 'c', ts: now - MINUTE, temp: 3, note: null, count: 3n },
    ]);
    await sensor.deleteRows([{ device: 'a' }]);
    expect((await sensor.getOnline([{ device: 'a' }, { device: 'b' }])).map((r) => r.status)).toEqual(['not_found', 'present']);
    // Key columns match ignoring case, offline and online alike; the call succeeds and the key leaves both.
    const deleted = await sensor.deleteRows([{ DEVICE: 'c' }]);
    expect(deleted.rowCount).toBe(1);
    expect((await sensor.getOnline([{ device: 'c' }]))[0]!.status).toBe('not_found');
    await sensor.insert([{ device: 'c', ts: now - MINUTE, temp: 3, note: null, count: 3n }]);
    // Lose the online rows (as a cleared site would), delete offline, insert an older row for a deleted key:
    // the next incremental run sees a delete it did not apply and rebuilds from the current rows.
    const online = await onlineOf(store);
    await online.clear(onlineGroupKey(sensor.definition));
    await sensor.deleteRows([{ device: 'b' }]);
    await sensor.insert([{ device: 'b', ts: now - 10 * MINUTE, temp: 22, note: null, count: 2n }]);
    const rows = await sensor.getOnline([{ device: 'a' }, { device: 'b' }, { device: 'c' }]);
    expect(rows.map((r) => r.status)).toEqual(['not_found', 'present', 'present']);
    expect(rows[1]!.values?.['temp']).toBe(22);
    await store.close();
  });

  it('stores list values as compact copies, not views on a whole batch buffer', async () => {
    const store = await openFeatureStore({ name: uniqueStoreName('onlinel'), persist: false });
    const emb = await store.createFeatureGroup({
      name: 'emb', version: 1, primaryKey: 'id', eventTime: 'ts', online: true, features: { id: 'int64', ts: 'timestamp', v: 'list<float32>' },
    });
    await emb.insert(Array.from({ length: 500 }, (_, i) => ({ id: i, ts: Date.now() - MINUTE, v: [i, i + 0.5, -i] })));
    const [row] = await emb.getOnline([{ id: 7 }]);
    const v = row!.values?.['v'] as Float32Array;
    expect(Array.from(v)).toEqual([7, 7.5, -7]);
    expect(v.buffer.byteLength).toBe(12); // 3 float32s, not the 500-row batch
    await store.close();
  });

  it('marks rows older than the TTL expired and never returns their values', async () => {
    const { store, sensor } = await sensorStore({ ttl: 600 });
    const now = Date.now();
    await sensor.insert([
      { device: 'old', ts: now - 20 * MINUTE, temp: 1, note: null, count: 1n },
      { device: 'new', ts: now - 5 * MINUTE, temp: 2, note: null, count: 2n },
    ]);
    const [old, fresh] = await sensor.getOnline([{ device: 'old' }, { device: 'new' }]);
    expect(old).toMatchObject({ status: 'expired', values: null, eventTime: now - 20 * MINUTE });
    expect(fresh).toMatchObject({ status: 'present', values: { temp: 2 } });
    await store.close();
  });

  it('materializes incrementally by commit, resumes after an abort, and windows by event time', async () => {
    const { store, sensor } = await sensorStore();
    const now = Date.now();
    const batch = (commit: number, n: number) =>
      Array.from({ length: n }, (_, i) => ({ device: `d${i}`, ts: now - (10 - commit) * MINUTE, temp: commit * 1000 + i, note: null, count: BigInt(commit) }));
    const commits = [];
    for (let c = 1; c <= 3; c++) commits.push(await sensor.insert(batch(c, 20_000)));
    const online = await onlineOf(store);
    await online.clear(onlineGroupKey(sensor.definition));
    expect((await sensor.getOnline([{ device: 'd7' }]))[0]!.status).toBe('not_found');

    // Abort once the first commit's rows are written: its watermark is recorded, the rest is not.
    const controller = new AbortController();
    const first = sensor.materializeIncremental({
      signal: controller.signal,
      onProgress: (p) => {
        if (p.phase === 'writing' && (p.rows ?? 0) >= 20_000) controller.abort(new Error('tab closing'));
      },
    });
    await expect(first).rejects.toBeInstanceOf(OperationAbortedError);
    const watermark = await online.watermark(onlineGroupKey(sensor.definition));
    expect(watermark).toBeGreaterThanOrEqual(commits[0]!.commitId);
    expect(watermark).toBeLessThan(commits[2]!.commitId);
    const resumed = await sensor.materializeIncremental();
    expect(resumed.watermark).toBe(commits[2]!.commitId);
    expect(resumed.commits).toBe(commits.filter((c) => c.commitId > watermark).length);
    const [d7] = await sensor.getOnline([{ device: 'd7' }]);
    expect(d7!.values?.['temp']).toBe(3007);

    // A window applies only rows in range, and never older ones over newer.
    await online.clear(onlineGroupKey(sensor.definition));
    const windowed = await sensor.materialize({ start: now - 10 * MINUTE, end: now - 8 * MINUTE });
    expect(windowed.rows).toBe(20_000); // commit 1's rows at now − 9 min
    expect((await sensor.getOnline([{ device: 'd7' }]))[0]!.values?.['temp']).toBe(1007);
    await sensor.materialize({ start: now - 10 * MINUTE });
    expect((await sensor.getOnline([{ device: 'd7' }]))[0]!.values?.['temp']).toBe(3007);
    await sensor.materialize({ start: now - 10 * MINUTE, end: now - 8 * MINUTE });
    expect((await sensor.getOnline([{ device: 'd7' }]))[0]!.values?.['temp']).toBe(3007);
    await store.close();
  });

  it('refuses to materialize an offline-only group and rejects bad keys', async () => {
    const store = await openFeatureStore({ name: uniqueStoreName('online'), persist: false });
    const plain = await store.createFeatureGroup({ name: 'p', version: 1, primaryKey: 'id', eventTime: 'ts', features: { id: 'int64', ts: 'timestamp', x: 'float64' } });
    await expect(plain.materialize()).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(plain.getOnline([{ id: 'seven' }])).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(plain.getOnline([{ other: 1 }])).rejects.toThrow(/no 'id'/);
    expect(await plain.getOnline([{ id: 7 }, { id: 7n }])).toEqual([
      { status: 'not_found', values: null, eventTime: null, commitId: null },
      { status: 'not_found', values: null, eventTime: null, commitId: null },
    ]);
    await store.close();
  });
});

describe('online reads from other threads', () => {
  it('gives a worker of the app the same vectors and rows as the page, and the page sees writes at once', async () => {
    const name = uniqueStoreName('onlinew');
    const store = await openFeatureStore({ name, onDemand: onDemandA, createWorker: () => new Worker(new URL('../support/ondemand-a.worker.ts', import.meta.url), { type: 'module' }) });
    const sensor = await store.createFeatureGroup({
      name: 'sensor', version: 1, primaryKey: 'device', eventTime: 'ts', online: true,
      features: { device: 'string', ts: 'timestamp', temp: 'float64' },
    });
    const now = Date.now();
    await sensor.insert([{ device: 'a', ts: now - MINUTE, temp: 10 }, { device: 'b', ts: now - 2 * MINUTE, temp: 20 }]);
    const view = await store.createFeatureView({
      name: 'v', version: 1, query: sensor.select(['temp']), onDemand: ['temp_f', 'over_setpoint'], transforms: [{ kind: 'minMaxScaler', column: 'temp' }],
    });
    await (await view.trainingData({ spine: [{ device: 'a', ts: now, setpoint: 1 }, { device: 'b', ts: now, setpoint: 2 }], split: { kind: 'random', test: 0 } })).persisted;
    const entities = [{ device: 'a' }, { device: 'b' }, { device: 'zz' }];
    const requestData = { setpoint: 5 };
    const inPage = await view.getFeatureVectors(entities, { requestData, transformed: true });
    expect(inPage.map((v) => v.values)).toEqual([[0, 50, 5], [1, 68, 15], [null, null, null]]);
    const worker = new Worker(new URL('../support/online-reader.worker.ts', import.meta.url), { type: 'module' });
    const fromWorker = await new Promise<{ vectors?: unknown; rows?: unknown; error?: string }>((resolve) => {
      worker.onmessage = (event: MessageEvent<{ vectors?: unknown; rows?: unknown; error?: string }>) => resolve(event.data);
      worker.postMessage({ store: name, entities, requestData });
    });
    worker.terminate();
    expect(fromWorker.error).toBeUndefined();
    expect(fromWorker.vectors).toEqual(inPage);
    expect(fromWorker.rows).toEqual(await sensor.getOnline(entities));
    // A write is visible to the next read: no cache stands in the way.
    await sensor.insert([{ device: 'a', ts: now, temp: 15 }]);
    expect((await view.getFeatureVector({ device: 'a' }, { requestData })).values).toEqual([15, 59, 10]);
    await store.close();
  });
});

describe('online store persistence', () => {
  it('keeps online rows and the watermark across close and reopen, and deletes a non-persistent store\'s database on close', async () => {
    const name = uniqueStoreName('onlinep');
    const { store, sensor } = await sensorStore({ name, persist: true });
    const now = Date.now();
    const commit = await sensor.insert([{ device: 'a', ts: now - MINUTE, temp: 1, note: 'x', count: 1n }]);
    await store.close();
    const again = await openFeatureStore({ name });
    const group = await again.getFeatureGroup('sensor', 1);
    expect((await group.getOnline([{ device: 'a' }]))[0]).toMatchObject({ status: 'present', values: { temp: 1 }, commitId: commit.commitId });
    expect(await group.materializeIncremental()).toMatchObject({ commits: 0, watermark: commit.commitId });
    await again.close();

    const temporary = await sensorStore();
    const dbName = (await temporary.store.online()).dbName;
    expect((await indexedDB.databases()).some((d) => d.name === dbName)).toBe(true);
    await temporary.store.close();
    expect((await indexedDB.databases()).some((d) => d.name === dbName)).toBe(false);
  });

  it('deletes temporary online databases a dead tab left behind, and never one a live store holds', async () => {
    const name = uniqueStoreName('onlinet');
    const live = await openFeatureStore({ name, persist: false });
    const liveDb = (await live.online()).dbName;
    // What a killed tab leaves: a temporary database nobody holds.
    const abandoned = `${liveDb.slice(0, liveDb.lastIndexOf(':'))}:abandoned`;
    await new Promise<void>((resolve, reject) => {
      const open = indexedDB.open(abandoned, 1);
      open.onsuccess = () => {
        open.result.close();
        resolve();
      };
      open.onerror = () => reject(open.error ?? new Error('open failed'));
    });
    const names = async () => (await indexedDB.databases()).map((d) => d.name);
    expect(await names()).toContain(abandoned);
    const second = await openFeatureStore({ name, persist: false });
    expect(await names()).not.toContain(abandoned);
    expect(await names()).toContain(liveDb);
    await second.close();
    await live.close();
    expect(await names()).not.toContain(liveDb);
  });
});
