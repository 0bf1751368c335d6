import { afterEach, describe, expect, inject, it } from 'vitest';
import {
  HttpObjectStore, LarderError, PresignedObjectStore, S3ObjectStore, SnapshotIntegrityError, UnsafeTargetError, openFeatureStore,
  type FeatureStore, type ObjectStore,
} from '../../src/index.ts';
import { parseHead } from '../../src/sync/manifest.ts';
import { seededRandom } from '../../src/util/random.ts';
import { uniqueStoreName } from '../support/names.ts';
import { testSigner } from '../support/presign.ts';
import { rejectionOf, tableDigest } from '../support/data-helpers.ts';

// Sync against the real S3-compatible server of the global setup (s3rver behind the gateway that adds conditional
// writes and injects faults). Each test works under its own prefix and limits faults to it.

const gateway = inject('s3GatewayEndpoint');
const direct = inject('s3Endpoint');
const bucket = inject('s3Bucket');
const credentials = { accessKeyId: inject('s3AccessKeyId'), secretAccessKey: inject('s3SecretAccessKey') };
const DAY = 86_400_000;

const opened: { close(): unknown }[] = [];
afterEach(async () => {
  await setFaults(null);
  for (const o of opened.splice(0).reverse()) await o.close();
});

async function setFaults(config: { seed: number; rate: number; kinds: string[]; pathContains: string } | null): Promise<void> {
  const response = await fetch(`${gateway}/__larder/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(config) });
  expect(response.ok).toBe(true);
}

async function faultCount(): Promise<number> {
  const stats = (await (await fetch(`${gateway}/__larder/stats`)).json()) as { faults: Record<string, number> };
  return Object.values(stats.faults).reduce((a, b) => a + b, 0);
}

async function open(): Promise<FeatureStore> {
  const store = await openFeatureStore({ name: uniqueStoreName('syncf'), persist: true });
  opened.push(store);
  return store;
}

function rows(from: number, days: number) {
  return Array.from({ length: days * 3 }, (_, i) => ({
    city: ['Seattle', 'Oslo', 'Lima'][i % 3]!, day: Date.UTC(2024, 0, 1) + (from + Math.floor(i / 3)) * DAY, humidity: ((from * 31 + i) % 97) / 97,
  }));
}

async function groupDigest(store: FeatureStore): Promise<string[]> {
  const out = [];
  for (const d of await store.listFeatureGroups()) {
    const group = await store.getFeatureGroup(d.name, d.version);
    out.push(`${d.name}@${d.version}:${await tableDigest(await group.read({ withCommitIds: true }))}`);
  }
  return out;
}

const ALL_FAULTS = ['reset', '500', '503', '429', 'truncate', 'drop-after'];

/** The small group most of these tests push: a humidity per city and day. */
const CITY_DAYS = { name: 'w', version: 1, primaryKey: 'city', eventTime: 'day', features: { city: 'string', day: 'timestamp', humidity: 'float64' } } as const;

describe('sync through a faulty network to a real S3-compatible server', () => {
  it('ends every push with either the new HEAD whole and valid or the old HEAD unchanged, over many seeds', async () => {
    const prefix = `faults-${crypto.randomUUID()}`;
    const target = new S3ObjectStore({ endpoint: gateway, bucket, ...credentials, prefix });
    const a = await open();
    const weather = await a.createFeatureGroup({
      name: 'weather', version: 1, primaryKey: 'city', eventTime: 'day', online: true,
      features: { city: 'string', day: 'timestamp', humidity: 'float64' },
    });
    await weather.insert(rows(0, 50));
    let head = (await a.sync.push({ target, prefix: '' })).manifest;
    const random = seededRandom(99);
    const outcomes = { moved: 0, unchanged: 0, faults: 0 };
    for (let seed = 1; seed <= 12; seed++) {
      if (seed % 4 === 0) await weather.deleteRows([{ city: 'Lima' }]);
      else await weather.insert(rows(50 + seed, 2));
      await setFaults({ seed, rate: 0.3, kinds: ALL_FAULTS, pathContains: prefix });
      let error: unknown = null;
      try {
        await a.sync.push({ target, prefix: '', retry: { retries: 1, baseDelayMs: 1, maxDelayMs: 4, random } });
      } catch (caught) {
        error = caught;
      }
      await setFaults(null);
      outcomes.faults += await faultCount();
      if (error !== null) expect(error).toBeInstanceOf(LarderError);
      const now = parseHead((await target.get('HEAD'))!.body).manifest;
      if (now === head) {
        outcomes.unchanged++;
        expect(error).not.toBeNull();
      } else {
        outcomes.moved++;
        // The new HEAD is whole: a fresh store pulls it and holds exactly A's rows.
        const b = await open();
        await b.sync.pull({ target, prefix: '' });
        expect(await groupDigest(b)).toEqual(await groupDigest(a));
        head = now;
      }
      // Failed or not, the next push (no faults) completes: a lost answer is recognised, not reported as a conflict.
      head = (await a.sync.push({ target, prefix: '' })).manifest;
    }
    expect(outcomes.faults).toBeGreaterThan(12);
    expect(outcomes.moved + outcomes.unchanged).toBe(12);
    // The seeds do break some pushes, and let others through.
    expect(outcomes.unchanged).toBeGreaterThan(0);
    expect(outcomes.moved).toBeGreaterThan(0);
  }, 300_000);

  it('ends every pull with the snapshot applied whole or the store unchanged, over many seeds', async () => {
    const prefix = `pullfaults-${crypto.randomUUID()}`;
    const target = new S3ObjectStore({ endpoint: gateway, bucket, ...credentials, prefix });
    const a = await open();
    const weather = await a.createFeatureGroup({
      name: 'weather', version: 1, primaryKey: 'city', eventTime: 'day', features: { city: 'string', day: 'timestamp', humidity: 'float64' },
    });
    await weather.insert(rows(0, 40));
    await a.sync.push({ target, prefix: '' });
    const random = seededRandom(5);
    let applied = 0;
    for (let seed = 100; seed < 112; seed++) {
      const b = await open();
      const before = await groupDigest(b);
      await setFaults({ seed, rate: 0.4, kinds: ALL_FAULTS, pathContains: prefix });
      let ok = true;
      try {
        await b.sync.pull({ target, prefix: '', retry: { retries: 1, baseDelayMs: 1, maxDelayMs: 4, random } });
      } catch (error) {
        ok = false;
        expect(error).toBeInstanceOf(LarderError);
      }
      await setFaults(null);
      if (ok) applied++;
      expect(await groupDigest(b)).toEqual(ok ? await groupDigest(a) : before);
    }
    expect(applied).toBeGreaterThan(0);
    expect(applied).toBeLessThan(12);
  });

  it('detects a flipped bit in any object stored in the bucket', async () => {
    const prefix = `bits-${crypto.randomUUID()}`;
    const target = new S3ObjectStore({ endpoint: gateway, bucket, ...credentials, prefix });
    const a = await open();
    const weather = await a.createFeatureGroup(CITY_DAYS);
    await weather.insert(rows(0, 30));
    await a.sync.push({ target, prefix: '' });
    const keys = (await target.list('objects/')).map((o) => o.key);
    expect(keys.length).toBeGreaterThanOrEqual(2);
    const b = await open();
    const random = seededRandom(17);
    for (const key of keys) {
      const original = (await target.get(key))!.body;
      const flipped = original.slice();
      const at = Math.floor(random() * flipped.length);
      flipped[at] = flipped[at]! ^ (1 << Math.floor(random() * 8));
      await target.put(key, flipped);
      expect(await rejectionOf(b.sync.pull({ target, prefix: '' }))).toBeInstanceOf(SnapshotIntegrityError);
      await target.put(key, original);
    }
    expect(await b.listFeatureGroups()).toEqual([]);
    await b.sync.pull({ target, prefix: '' });
    expect(await groupDigest(b)).toEqual(await groupDigest(a));
  });

  it('pushes through presigned URLs (no secret in the store) and pulls from a plain read-only HTTP URL', async () => {
    const prefix = `presigned-${crypto.randomUUID()}`;
    // The app's server signs each request with the secret the page never sees.
    const sign = testSigner({ bucketUrl: `${gateway}/${bucket}`, prefix, ...credentials });
    const target: ObjectStore = new PresignedObjectStore({ sign, prefix, description: `presigned:${prefix}` });
    const a = await open();
    const weather = await a.createFeatureGroup(CITY_DAYS);
    await weather.insert(rows(0, 20));
    const pushed = await a.sync.push({ target, prefix: 'snap' });
    expect(pushed.pushed).toBe(true);
    // A static site: anyone may GET the objects; no credentials, no list.
    const published = new HttpObjectStore({ baseUrl: `${gateway}/${bucket}/${prefix}/` });
    const b = await open();
    expect((await b.sync.pull({ target: published, prefix: 'snap' })).applied).toBe(true);
    expect(await groupDigest(b)).toEqual(await groupDigest(a));
    expect((await rejectionOf(b.sync.push({ target: published, prefix: 'snap' }))).message).toMatch(/read-only/);
  });

  it('lets exactly one of two stores move HEAD when both push on it at once', async () => {
    const prefix = `race-${crypto.randomUUID()}`;
    const target = new S3ObjectStore({ endpoint: gateway, bucket, ...credentials, prefix });
    const a = await open();
    const weather = await a.createFeatureGroup(CITY_DAYS);
    await weather.insert(rows(0, 10));
    await a.sync.push({ target, prefix: '' });
    const b = await open();
    await b.sync.pull({ target, prefix: '' });
    for (let round = 0; round < 5; round++) {
      await weather.insert(rows(20 + round, 1));
      await (await b.getFeatureGroup('w', 1)).insert(rows(40 + round, 1));
      const results = await Promise.allSettled([a.sync.push({ target, prefix: '' }), b.sync.push({ target, prefix: '' })]);
      const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
      expect(won.length).toBe(1);
      const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')!;
      expect((rejected.reason as LarderError).code).toBe('SYNC_CONFLICT');
      const [winner, loser] = won[0] === 0 ? [a, b] : [b, a];
      const head = parseHead((await target.get('HEAD'))!.body).manifest;
      expect((await winner.sync.status({ target, prefix: '' })).base?.key).toBe(head);
      await loser.sync.pull({ target, prefix: '', overwrite: true });
      expect(await groupDigest(loser)).toEqual(await groupDigest(winner));
    }
  });

  it('narrows a snapshot to some groups and models with include', async () => {
    const prefix = `include-${crypto.randomUUID()}`;
    const target = new S3ObjectStore({ endpoint: gateway, bucket, ...credentials, prefix });
    const a = await open();
    const kept = await a.createFeatureGroup({ ...CITY_DAYS, name: 'kept' });
    const left = await a.createFeatureGroup({ ...CITY_DAYS, name: 'left' });
    await kept.insert(rows(0, 10));
    await left.insert(rows(0, 10));
    await a.createFeatureView({ name: 'onkept', version: 1, query: kept.select(['humidity']) });
    await a.createFeatureView({ name: 'onleft', version: 1, query: left.select(['humidity']) });
    await a.sync.push({ target, prefix: '', include: { featureGroups: ['KEPT'] } });
    const b = await open();
    await b.sync.pull({ target, prefix: '' });
    expect((await b.listFeatureGroups()).map((g) => g.name)).toEqual(['kept']);
    expect((await b.listFeatureViews()).map((v) => v.name)).toEqual(['onkept']);
    expect(await groupDigest(b)).toEqual([(await groupDigest(a)).find((d) => d.startsWith('kept@'))]);
    // The pusher's own unpushed groups are not "changes" to a snapshot narrowed to others.
    expect((await a.sync.status({ target, prefix: '' })).localChanges).toBe(false);
  });

  it('refuses plain s3rver, which ignores conditional writes, unless told there is a single writer', async () => {
    const prefix = `direct-${crypto.randomUUID()}`;
    const target = new S3ObjectStore({ endpoint: direct, bucket, ...credentials, prefix });
    const a = await open();
    const weather = await a.createFeatureGroup(CITY_DAYS);
    await weather.insert(rows(0, 5));
    expect(await rejectionOf(a.sync.push({ target, prefix: '' }))).toBeInstanceOf(UnsafeTargetError);
    expect((await a.sync.push({ target, prefix: '', singleWriter: true })).pushed).toBe(true);
  });
});
