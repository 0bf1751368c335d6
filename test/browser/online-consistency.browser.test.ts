import { describe, expect, it } from 'vitest';
import type { Table } from 'apache-arrow';
import { openFeatureStore, TransformationMismatchError, type FeatureStore } from '../../src/index.ts';
import { seededRandom } from '../../src/util/random.ts';
import { uniqueStoreName } from '../support/names.ts';
import { onDemandA } from '../support/ondemand-a.ts';

const workerA = () => new Worker(new URL('../support/ondemand-a.worker.ts', import.meta.url), { type: 'module' });
const MINUTE = 60_000;

/** The view's vector columns of each training row: features, then on-demand features (view order). */
function rowsOf(table: Table, names: readonly string[]): unknown[][] {
  return Array.from({ length: table.numRows }, (_, i) => names.map((n) => (table.getChild(n)!.get(i) as unknown) ?? null));
}

async function build(seed: number, store: FeatureStore, now: number) {
  const random = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const devices = ['a', 'b', 'c', 'd', 'e', 'f'];
  const sites = ['s1', 's2', 's3'];
  const sensor = await store.createFeatureGroup({
    name: 'sensor', version: 1, primaryKey: 'device', eventTime: 'ts', online: true,
    features: { device: 'string', ts: 'timestamp', temp: 'float64', site: 'string', mode: 'string' },
  });
  const site = await store.createFeatureGroup({
    name: 'site', version: 1, primaryKey: 'site', eventTime: 'ts', online: true, ttl: '30m',
    features: { site: 'string', ts: 'timestamp', hum: 'float64' },
  });
  // Times are whole minutes plus 20 s in the past, so no row sits within seconds of a TTL bound while the test runs.
  const when = () => now - (1 + Math.floor(random() * 90)) * MINUTE - 20_000;
  for (let op = 0; op < 40; op++) {
    const kind = random();
    if (kind < 0.45) {
      const rows = Array.from({ length: 1 + Math.floor(random() * 4) }, () => ({
        device: pick(devices), ts: when(), temp: random() < 0.15 ? null : Math.round(random() * 400) / 10, site: pick(sites), mode: pick(['eco', 'boost', null]),
      }));
      await sensor.insert(rows, { mode: random() < 0.3 ? 'upsert' : 'append' });
    } else if (kind < 0.85) {
      await site.insert(Array.from({ length: 1 + Math.floor(random() * 2) }, () => ({ site: pick(sites), ts: when(), hum: random() < 0.1 ? null : Math.round(random() * 1000) / 10 })));
    } else if (kind < 0.95) {
      await sensor.deleteRows([{ device: pick(devices) }]);
    } else {
      await site.deleteRows([{ site: pick(sites) }]);
    }
  }
  return { sensor, site, devices };
}

describe('online/offline consistency', () => {
  it('a vector at now equals the training row of a spine row at now: features, on-demand, transformed', async () => {
    const seen = new Set<string>();
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const store = await openFeatureStore({ name: uniqueStoreName(`cons${seed}`), persist: false, createWorker: workerA, onDemand: onDemandA });
      const now = Date.now();
      const { sensor, site, devices } = await build(seed, store, now);
      const view = await store.createFeatureView({
        name: 'v', version: 1,
        query: sensor.select(['temp', 'mode']).join(site.select(['hum']), { on: ['site'], prefix: 'site_' }),
        onDemand: ['temp_f', 'over_setpoint'],
        transforms: [{ kind: 'standardScaler', column: 'temp' }, { kind: 'oneHotEncoder', column: 'mode' }, { kind: 'imputer', column: 'site_hum', strategy: 'mean' }],
      });
      // Online, the join column `site` comes from the sensor's latest row (the entity gives only the device). The
      // offline spine carries it explicitly: each device's site as of now, by the offline point-in-time path.
      const siteView = await store.createFeatureView({ name: 'site_of', version: 1, query: sensor.select(['site']) });
      const sitesNow = (await siteView.trainingData({ spine: devices.map((device) => ({ device, ts: now })), split: { kind: 'random', test: 0 } })).train.getChild('site')!;
      const siteAt = (i: number) => (sitesNow.get(i) as string | null) ?? null;
      const setpoints = devices.map((_, i) => 18 + i);
      const spine = devices.map((device, i) => ({ device, ts: now, site: siteAt(i), setpoint: setpoints[i]! }));
      const { train, dataset } = await view.trainingData({ spine, split: { kind: 'random', test: 0 } });
      const raw = await view.getFeatureVectors(devices.map((device) => ({ device })), { requestData: { setpoint: 0 } });
      // Untransformed: compare against the stored dataset's rows before transformation (read back raw through a
      // view without transforms over the same groups).
      const plainView = await store.createFeatureView({
        name: 'plain', version: 1, query: sensor.select(['temp', 'mode']).join(site.select(['hum']), { on: ['site'], prefix: 'site_' }),
        onDemand: ['temp_f', 'over_setpoint'],
      });
      const plainSpine = devices.map((device, i) => ({ device, ts: now, site: siteAt(i), setpoint: 0 }));
      const plainRows = (await plainView.trainingData({ spine: plainSpine, split: { kind: 'random', test: 0 } })).train;
      const names = raw[0]!.names;
      expect(names).toEqual(['temp', 'mode', 'site_hum', 'temp_f', 'over_setpoint']);
      const plainVectors = await plainView.getFeatureVectors(devices.map((device) => ({ device })), { requestData: { setpoint: 0 } });
      expect(plainVectors.map((v) => v.values), `seed ${seed}`).toEqual(rowsOf(plainRows, names));
      expect(raw.map((v) => v.values), `seed ${seed}`).toEqual(rowsOf(plainRows, names));
      // Statuses agree with the values: nothing expired is returned as present.
      for (const v of raw) {
        v.statuses.forEach((s, i) => {
          seen.add(s);
          if (s === 'present') expect(v.values[i]).not.toBeNull();
          else expect(v.values[i]).toBeNull();
        });
      }
      // Transformed with the dataset's fitted state, request data per entity as in the spine.
      const transformed = await Promise.all(
        devices.map((device, i) => view.getFeatureVector({ device }, { requestData: { setpoint: setpoints[i] }, trainingDataset: dataset.version })),
      );
      const transformedNames = transformed[0]!.names;
      expect(transformedNames).toEqual(train.schema.fields.map((f) => f.name).filter((n) => !['device', 'ts'].includes(n)));
      expect(transformed.map((v) => v.values), `seed ${seed}`).toEqual(rowsOf(train, transformedNames));
      await store.close();
    }
    // The generated histories reach every status: expired (site TTL), not found (deletes), null and present.
    expect([...seen].sort()).toEqual(['expired', 'not_found', 'null', 'present']);
  });

  it('refuses vectors when this thread lacks the on-demand functions, or has different ones', async () => {
    const store = await openFeatureStore({ name: uniqueStoreName('consod'), persist: false, createWorker: workerA });
    const sensor = await store.createFeatureGroup({
      name: 'sensor', version: 1, primaryKey: 'device', eventTime: 'ts', online: true, features: { device: 'string', ts: 'timestamp', temp: 'float64' },
    });
    await sensor.insert([{ device: 'a', ts: Date.now() - MINUTE, temp: 10 }]);
    const view = await store.createFeatureView({ name: 'v', version: 1, query: sensor.select(['temp']), onDemand: ['temp_f'] });
    await expect(view.getFeatureVector({ device: 'a' })).rejects.toBeInstanceOf(TransformationMismatchError);
    await store.close();
    const changed = onDemandA.map((f) => (f.name === 'temp_f' ? { ...f, fn: ({ temp }: Record<string, unknown>) => (temp as number) * 2 } : f));
    const other = await openFeatureStore({ name: uniqueStoreName('consod2'), persist: false, createWorker: workerA, onDemand: changed });
    const s2 = await other.createFeatureGroup({
      name: 'sensor', version: 1, primaryKey: 'device', eventTime: 'ts', online: true, features: { device: 'string', ts: 'timestamp', temp: 'float64' },
    });
    await s2.insert([{ device: 'a', ts: Date.now() - MINUTE, temp: 10 }]);
    const v2 = await other.createFeatureView({ name: 'v', version: 1, query: s2.select(['temp']), onDemand: ['temp_f'] });
    await expect(v2.getFeatureVector({ device: 'a' })).rejects.toBeInstanceOf(TransformationMismatchError);
    const ok = await v2.getFeatureVector({ device: 'a' }, { passed: { temp_f: 50 } }).catch((e: unknown) => e);
    expect(ok).toBeInstanceOf(TransformationMismatchError); // a passed value does not excuse a mismatched function
    await other.close();
  });
});
