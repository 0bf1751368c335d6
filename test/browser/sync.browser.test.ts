import { afterEach, describe, expect, it } from 'vitest';
import {
  MemoryObjectStore, NotFoundError, SnapshotIntegrityError, SyncConflictError, UnsafeTargetError, openFeatureStore,
  type FeatureStore, type ObjectStore, type PutOptions,
} from '../../src/index.ts';
import { parseManifest, type Manifest } from '../../src/sync/manifest.ts';
import { sha256Hex } from '../../src/sync/object-store.ts';
import { seededRandom } from '../../src/util/random.ts';
import { uniqueStoreName } from '../support/names.ts';
import { rejectionOf, snapshot, tableDigest } from '../support/data-helpers.ts';

const DAY = 86_400_000;
const base = Date.UTC(2024, 0, 1);
const CITIES = ['Seattle', 'Oslo', 'Lima', 'Perth'];
const CANARY = 'canary-7f3a9c-subject';
const spec = { task: 'regression' as const, layers: [{ units: 4, activation: 'relu' as const }], optimizer: { name: 'adam' as const, learningRate: 0.02 } };

const opened: { close(): unknown }[] = [];
afterEach(async () => {
  for (const o of opened.splice(0).reverse()) await o.close();
});

async function open(name = uniqueStoreName('sync')): Promise<FeatureStore> {
  const store = await openFeatureStore({ name, persist: true });
  opened.push(store);
  return store;
}

function weatherRows(days: number, from = 0, seed = 3) {
  const random = seededRandom(seed);
  const rows = [];
  for (let d = from; d < from + days; d++) {
    for (const city of CITIES) {
      const humidity = random();
      rows.push({ city, day: base + d * DAY, humidity, note: city === 'Perth' && d === 0 ? CANARY : `n${d}`, rain: 3 * humidity + 1 });
    }
  }
  return rows;
}

/** A store with a group (appends, an upsert, a delete), a view, a persisted training dataset, a model and an alias. */
async function populate(store: FeatureStore) {
  const weather = await store.createFeatureGroup({
    name: 'weather', version: 1, primaryKey: 'city', eventTime: 'day', online: true,
    features: { city: 'string', day: 'timestamp', humidity: 'float64', note: 'string', rain: 'float64' },
  });
  await weather.insert(weatherRows(60));
  await weather.insert(weatherRows(5, 10, 9), { mode: 'upsert' });
  await weather.deleteRows([{ city: 'Lima' }]);
  await weather.insert(weatherRows(20, 60));
  const view = await store.createFeatureView({ name: 'rain', version: 1, query: weather.select(['humidity']), labels: ['rain'] });
  const { dataset, persisted } = await view.trainingData({ split: { kind: 'random', test: 0.2, seed: 1 } });
  await persisted;
  const { model } = await store.train({
    featureView: view, trainingDataset: dataset.version, model: { name: 'rain', spec: { ...spec, seed: 1 } }, fit: { epochs: 2 },
  });
  await store.promote('rain', model!.version, { alias: 'champion' });
  return { weather, view, dataset: dataset.version, model: model!.version };
}

/** Everything a pull must reproduce, as comparable data. */
async function state(store: FeatureStore) {
  const groups = [];
  for (const definition of await store.listFeatureGroups()) {
    const group = await store.getFeatureGroup(definition.name, definition.version);
    groups.push({ definition, data: await snapshot(group) });
  }
  const views = [];
  for (const definition of await store.listFeatureViews()) {
    const view = await store.getFeatureView(definition.name, definition.version);
    const datasets = [];
    for (const record of await view.listTrainingDatasets()) {
      const data = await view.getTrainingDataset(record.version);
      datasets.push({ record, train: await tableDigest(data.train), test: await tableDigest(data.test) });
    }
    views.push({ definition, datasets });
  }
  const models = [];
  for (const record of await store.models.list()) {
    const weights = await store.api().readWeights(record.name, record.version);
    models.push({ record, weights: Array.from(new Uint8Array(weights)) });
  }
  return {
    groups, views, models,
    aliases: await store.api().listAliases('rain'),
    history: await store.models.aliasHistory('rain'),
    runs: await store.runs.list(),
  };
}

/** A target that ignores If-None-Match and If-Match, as s3rver and some S3 clones do. */
class UnconditionalStore implements ObjectStore {
  readonly writable = true;
  readonly description = 'unconditional';
  constructor(private readonly inner = new MemoryObjectStore()) {}
  get: ObjectStore['get'] = (key) => this.inner.get(key);
  head: ObjectStore['head'] = (key) => this.inner.head(key);
  list: ObjectStore['list'] = (prefix) => this.inner.list(prefix);
  delete: ObjectStore['delete'] = (key) => this.inner.delete(key);
  put(key: string, body: Uint8Array, options: PutOptions = {}): Promise<string | null> {
    return this.inner.put(key, body, { sha256: options.sha256 });
  }
}

/** A target whose puts stop working after a number of them, as when the tab pushing is closed. */
class DyingStore extends UnconditionalStore {
  private puts = 0;
  constructor(private readonly target: MemoryObjectStore, private readonly dieAfter: number) {
    super(target);
  }
  override put(key: string, body: Uint8Array, options: PutOptions = {}): Promise<string | null> {
    if (++this.puts > this.dieAfter) return Promise.reject(new Error('the tab was closed'));
    return this.target.put(key, body, options);
  }
}

async function manifestOf(target: ObjectStore, prefix: string, key: string): Promise<Manifest> {
  const found = await target.get(`${prefix}/${key}`);
  return parseManifest(key, found!.body);
}

describe('sync: push and pull', () => {
  it('pulls into another store exactly what was pushed: rows and their history, datasets, models, aliases, runs, online rows', async () => {
    const a = await open();
    await populate(a);
    const target = new MemoryObjectStore();
    const pushed = await a.sync.push({ target, prefix: 'stores/a' });
    expect(pushed.pushed).toBe(true);
    expect(pushed.parent).toBeNull();
    const b = await open();
    const pulled = await b.sync.pull({ target, prefix: 'stores/a' });
    expect(pulled).toMatchObject({ manifest: pushed.manifest, applied: true });
    const [sa, sb] = [await state(a), await state(b)];
    expect(sb).toEqual(sa);
    expect(sa.groups[0]!.data.commits.length).toBe(4);
    expect(sa.models.length).toBe(1);
    // Online rows rebuilt from the pulled offline rows.
    const vector = async (store: FeatureStore) => (await (await store.getFeatureView('rain', 1)).getFeatureVector({ city: 'Oslo' })).values;
    expect(await vector(b)).toEqual(await vector(a));
    // Predictions from the pulled champion equal the original's.
    const [pa, pb] = [await a.deployment('rain', { alias: 'champion' }), await b.deployment('rain', { alias: 'champion' })];
    opened.push(pa, pb);
    expect((await pb.predict({ city: 'Seattle' })).prediction).toEqual((await pa.predict({ city: 'Seattle' })).prediction);
    // A second pull of the same snapshot is a no-op; so is a push with nothing new.
    expect((await b.sync.pull({ target, prefix: 'stores/a' })).applied).toBe(false);
    expect((await a.sync.push({ target, prefix: 'stores/a' })).pushed).toBe(false);
  });

  it('pushes only what changed, applies deletes as tombstones, and purge removes the erased rows from the bucket', async () => {
    const a = await open();
    const { weather } = await populate(a);
    const target = new MemoryObjectStore();
    const first = await a.sync.push({ target, prefix: 'p' });
    const b = await open();
    await b.sync.pull({ target, prefix: 'p' });

    await weather.insert(weatherRows(1, 80));
    const second = await a.sync.push({ target, prefix: 'p' });
    expect(second.parent).toBe(first.manifest);
    // The new part and the metadata; parts, the dataset and the model are reused from the parent.
    const m2 = await manifestOf(target, 'p', second.manifest);
    expect(m2.groups[0]!.parts.length).toBe(2);
    expect(second.uploaded.objects).toBe(3); // part, metadata, manifest
    const pulled = await b.sync.pull({ target, prefix: 'p' });
    expect(pulled.downloaded.objects).toBe(2); // the new part and the metadata
    expect((await state(b)).groups).toEqual((await state(a)).groups);

    // Erase a subject: the part holding it is rewritten, the tombstone travels, the pull applies it.
    const canaryPart = m2.groups[0]!.parts[0]!.key;
    await weather.deleteRows([{ city: 'Perth' }]);
    const third = await a.sync.push({ target, prefix: 'p' });
    const m3 = await manifestOf(target, 'p', third.manifest);
    // Perth's 60 + 20 + 1 appended rows and its 5 upserted ones (superseded rows go with their key).
    expect(m3.groups[0]!.tombstones).toEqual([expect.objectContaining({ rows: 86, replaced: expect.arrayContaining([canaryPart]) as unknown })]);
    expect(m3.groups[0]!.parts.map((p) => p.key)).not.toContain(canaryPart);
    await b.sync.pull({ target, prefix: 'p' });
    const bWeather = await b.getFeatureGroup('weather', 1);
    const cities = new Set((await bWeather.read({ asOfCommit: 1 })).getChild('city')!.toArray() as string[]);
    expect(cities.has('Perth')).toBe(false);
    expect((await state(b)).groups).toEqual((await state(a)).groups);

    // Older snapshots still hold the canary until purged.
    const decoder = new TextDecoder('latin1');
    const holders = async () => {
      const found = [];
      for (const o of await target.list('p/')) if (decoder.decode((await target.get(o.key))!.body).includes(CANARY)) found.push(o.key);
      return found;
    };
    expect((await holders()).length).toBeGreaterThan(0);
    const purged = await a.sync.purge({ target, prefix: 'p', keep: 1, graceMs: 0 });
    expect(purged.kept).toEqual([third.manifest]);
    expect(purged.deleted.manifests).toBe(2);
    expect(await holders()).toEqual([]);
    // The kept snapshot is still whole.
    const c = await open();
    await c.sync.pull({ target, prefix: 'p' });
    expect((await state(c)).groups).toEqual((await state(a)).groups);
  });

  it('lets exactly one of two devices push on the same HEAD; the other pulls and pushes again, losing no acknowledged snapshot', async () => {
    const target = new MemoryObjectStore();
    const a = await open();
    const { weather } = await populate(a);
    await a.sync.push({ target, prefix: 'p' });
    const b = await open();
    await b.sync.pull({ target, prefix: 'p' });
    await weather.insert(weatherRows(1, 90));
    const bWeather = await b.getFeatureGroup('weather', 1);
    await bWeather.insert(weatherRows(1, 91, 5));
    const results = await Promise.allSettled([a.sync.push({ target, prefix: 'p' }), b.sync.push({ target, prefix: 'p' })]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(won.length).toBe(1);
    expect(lost.length).toBe(1);
    expect(lost[0]!.reason).toBeInstanceOf(SyncConflictError);
    const winner = results[0].status === 'fulfilled' ? a : b;
    const loser = winner === a ? b : a;
    const acknowledged = (won[0] as PromiseFulfilledResult<{ manifest: string }>).value.manifest;
    // The loser cannot pull over its unpushed commit without saying so.
    expect(await rejectionOf(loser.sync.pull({ target, prefix: 'p' }))).toBeInstanceOf(SyncConflictError);
    await loser.sync.pull({ target, prefix: 'p', overwrite: true });
    expect((await state(loser)).groups).toEqual((await state(winner)).groups);
    const loserWeather = await loser.getFeatureGroup('weather', 1);
    await loserWeather.insert(weatherRows(1, 95, 11));
    const again = await loser.sync.push({ target, prefix: 'p' });
    expect(again.parent).toBe(acknowledged);
    await winner.sync.pull({ target, prefix: 'p' });
    expect((await state(winner)).groups).toEqual((await state(loser)).groups);
  });

  it('refuses a snapshot with a missing, truncated or corrupt object and leaves the store as it was', async () => {
    const a = await open();
    await populate(a);
    const b = await open();
    const bGroup = await b.createFeatureGroup({ name: 'other', version: 1, primaryKey: 'k', eventTime: 't', features: { k: 'int64', t: 'timestamp' } });
    await bGroup.insert([{ k: 1, t: base }]);
    const target = new MemoryObjectStore();
    const { manifest } = await a.sync.push({ target, prefix: 'p' });
    const m = await manifestOf(target, 'p', manifest);
    const before = await state(b);
    const objects = [m.metadata.key, m.groups[0]!.parts[0]!.key, m.datasets[0]!.key, m.models[0]!.key];
    for (const key of objects) {
      const original = (await target.get(`p/${key}`))!.body;
      const flipped = original.slice();
      flipped[Math.floor(flipped.length / 2)]! ^= 0x10;
      for (const [damage, reason] of [[flipped, 'checksum mismatch'], [original.slice(0, -1), 'size mismatch'], [null, 'missing']] as const) {
        if (damage === null) await target.delete(`p/${key}`);
        else await target.put(`p/${key}`, damage);
        const error = await rejectionOf(b.sync.pull({ target, prefix: 'p', overwrite: true }));
        expect(error).toBeInstanceOf(SnapshotIntegrityError);
        expect((error as SnapshotIntegrityError).details).toMatchObject({ key, reason });
        await target.put(`p/${key}`, original);
      }
    }
    expect(await state(b)).toEqual(before);
    // A corrupt manifest and a corrupt HEAD are refused the same way.
    const manifestBytes = (await target.get(`p/${manifest}`))!.body;
    await target.put(`p/${manifest}`, manifestBytes.slice(0, 10));
    expect(await rejectionOf(b.sync.pull({ target, prefix: 'p', overwrite: true }))).toBeInstanceOf(SnapshotIntegrityError);
    await target.put(`p/${manifest}`, manifestBytes);
    await target.put('p/HEAD', new TextEncoder().encode('{"format":"larder-snapshot-head","manifest":"../../etc/passwd","createdAt":1}'));
    expect(await rejectionOf(b.sync.pull({ target, prefix: 'p', overwrite: true }))).toBeInstanceOf(SnapshotIntegrityError);
    expect(await state(b)).toEqual(before);
    // Intact again: the pull goes through (over b's own data, since overwrite is given).
    await target.put('p/HEAD', new TextEncoder().encode(JSON.stringify({ format: 'larder-snapshot-head', manifest, createdAt: 1 })));
    await b.sync.pull({ target, prefix: 'p', overwrite: true });
    expect((await state(b)).groups).toEqual((await state(a)).groups);
  });

  it('refuses a target that ignores conditional writes unless the pusher says it is the only writer', async () => {
    const a = await open();
    await populate(a);
    const target = new UnconditionalStore();
    expect(await rejectionOf(a.sync.push({ target, prefix: 'p' }))).toBeInstanceOf(UnsafeTargetError);
    expect(await target.list('')).toEqual([]);
    const pushed = await a.sync.push({ target, prefix: 'p', singleWriter: true });
    const b = await open();
    await b.sync.pull({ target, prefix: 'p', manifest: pushed.manifest });
    expect((await state(b)).groups).toEqual((await state(a)).groups);
  });

  it('resumes a push that was cut short: objects already uploaded are not sent again, HEAD moves only at the end', async () => {
    const a = await open();
    await populate(a);
    const target = new MemoryObjectStore();
    // The probe makes three puts; then two objects go up before the push dies.
    const dying = new DyingStore(target, 5);
    expect((await rejectionOf(a.sync.push({ target: dying, prefix: 'p', concurrency: 1 }))).message).toMatch(/closed/);
    expect(await target.get('p/HEAD')).toBeNull();
    expect((await target.list('p/objects/')).length).toBe(2);
    // Resumed: the target is described the same way, so this is the same target to the store.
    const resumed = await a.sync.push({ target: new UnconditionalStore(target), prefix: 'p', singleWriter: true, concurrency: 1 });
    expect(resumed.reused.objects).toBe(2);
    expect(resumed.uploaded.objects).toBeGreaterThan(2);
    const b = await open();
    await b.sync.pull({ target, prefix: 'p' });
    expect((await state(b)).groups).toEqual((await state(a)).groups);
  });

  it('refuses metadata that does not match its manifest or holds definitions no store would make, and changes nothing', async () => {
    const a = await open();
    await populate(a);
    const target = new MemoryObjectStore();
    const { manifest } = await a.sync.push({ target, prefix: 'p' });
    const m = await manifestOf(target, 'p', manifest);
    const metadata = JSON.parse(new TextDecoder().decode((await target.get(`p/${m.metadata.key}`))!.body)) as Record<string, unknown[]>;
    const b = await open();
    const before = await state(b);
    const variants: [RegExp, (copy: Record<string, unknown[]>) => void][] = [
      [/definition of .* is not valid/, (copy) => ((copy['featureGroups']![0] as { features: { name: string }[] }).features[3]!.name = 'note"; DROP TABLE _larder_commits; --')],
      [/model rain v99 has no weights/, (copy) => copy['models']!.push({ ...(copy['models']![0] as object), version: 99 })],
      [/td_rain_v1_7 has no rows/, (copy) => copy['trainingDatasets']!.push({ ...(copy['trainingDatasets']![0] as object), version: 7, table: 'td_rain_v1_7' })],
      [/does not hold registry records/, (copy) => delete copy['runs']],
    ];
    for (const [reason, mutate] of variants) {
      const copy = structuredClone(metadata);
      mutate(copy);
      const bytes = new TextEncoder().encode(JSON.stringify(copy));
      const sha = await sha256Hex(bytes);
      await target.put(`p/objects/${sha}.json`, bytes);
      const forged = new TextEncoder().encode(JSON.stringify({ ...m, metadata: { key: `objects/${sha}.json`, sha256: sha, size: bytes.byteLength } }));
      const forgedKey = `manifests/${await sha256Hex(forged)}.json`;
      await target.put(`p/${forgedKey}`, forged);
      const error = await rejectionOf(b.sync.pull({ target, prefix: 'p', manifest: forgedKey }));
      expect(error).toBeInstanceOf(SnapshotIntegrityError);
      expect(error.message).toMatch(reason);
    }
    expect(await state(b)).toEqual(before);
  });

  it('says clearly when there is nothing to pull, and refuses to pull over data that never synced', async () => {
    const a = await open();
    await populate(a);
    const target = new MemoryObjectStore();
    expect(await rejectionOf(a.sync.pull({ target, prefix: 'none' }))).toBeInstanceOf(NotFoundError);
    const b = await open();
    await populate(b);
    await b.sync.push({ target, prefix: 'b' });
    const error = await rejectionOf(a.sync.pull({ target, prefix: 'b' }));
    expect(error).toBeInstanceOf(SyncConflictError);
    expect((error as SyncConflictError).details['reason']).toBe('local-changes');
  });
});

/** A target whose write of HEAD lands but whose answer is lost, once. */
class LostAnswerStore extends UnconditionalStore {
  lose = true;
  constructor(private readonly target: MemoryObjectStore) {
    super(target);
  }
  override async put(key: string, body: Uint8Array, options: PutOptions = {}): Promise<string | null> {
    const written = await this.target.put(key, body, options);
    if (this.lose && key.endsWith('HEAD')) {
      this.lose = false;
      throw new Error('the connection dropped before the answer');
    }
    return written;
  }
}

describe('sync: what a store holds stays whole across pushes and pulls', () => {
  const plain = { name: 'w', version: 1, primaryKey: 'city', eventTime: 'day', features: { city: 'string', day: 'timestamp', humidity: 'float64' } } as const;

  it('a pull never drops local data outside a narrowed snapshot without asking, and a whole-store push after a narrowed one pushes', async () => {
    const target = new MemoryObjectStore();
    const a = await open();
    await populate(a);
    await a.sync.push({ target, prefix: 'p', include: { featureGroups: ['weather'] } });
    const other = await a.createFeatureGroup({ ...plain, name: 'other' });
    await other.insert(weatherRows(2).map(({ city, day, humidity }) => ({ city, day, humidity })));
    expect((await a.sync.status({ target, prefix: 'p' })).localChanges).toBe(true);
    const b = await open();
    await b.sync.pull({ target, prefix: 'p' });
    await (await b.getFeatureGroup('weather', 1)).insert(weatherRows(1, 200));
    await b.sync.push({ target, prefix: 'p', include: { featureGroups: ['weather'] } });
    const error = await rejectionOf(a.sync.pull({ target, prefix: 'p' }));
    expect((error as SyncConflictError).details['reason']).toBe('local-changes');
    expect((await a.listFeatureGroups()).map((g) => g.name).sort()).toEqual(['other', 'weather']);
    // The whole store, pushed after the narrowed snapshot: it is a different snapshot, so it goes up.
    const c = await open();
    await populate(c);
    await c.sync.push({ target, prefix: 'q', include: { featureGroups: ['weather'] } });
    expect((await c.sync.push({ target, prefix: 'q' })).pushed).toBe(true);
  });

  it('rebuilds a group deleted and made again at the same version with other columns, and a dataset made again under the same table', async () => {
    const target = new MemoryObjectStore();
    const a = await open();
    const g1 = await a.createFeatureGroup({ ...plain, features: { city: 'string', day: 'timestamp', humidity: 'int64' } });
    await g1.insert([{ city: 'Oslo', day: base, humidity: 3n }]);
    let view = await a.createFeatureView({ name: 'v', version: 1, query: g1.select(['humidity']) });
    await (await view.trainingData({ split: { kind: 'random', test: 0.5, seed: 1 } })).persisted;
    await a.sync.push({ target, prefix: 'p' });
    const b = await open();
    await b.sync.pull({ target, prefix: 'p' });

    await a.deleteFeatureView('v', 1);
    await a.deleteFeatureGroup('w', 1);
    const g2 = await a.createFeatureGroup(plain);
    await g2.insert([{ city: 'Oslo', day: base, humidity: 2.75 }, { city: 'Lima', day: base, humidity: 0.5 }]);
    view = await a.createFeatureView({ name: 'v', version: 1, query: g2.select(['humidity']) });
    await (await view.trainingData({ split: { kind: 'random', test: 0.5, seed: 1 } })).persisted;
    await a.sync.push({ target, prefix: 'p' });
    await b.sync.pull({ target, prefix: 'p' });
    expect(await state(b)).toEqual(await state(a));
    const values = (await (await b.getFeatureGroup('w', 1)).read()).getChild('humidity')!.toArray() as Float64Array;
    expect(Array.from(values).sort()).toEqual([0.5, 2.75]);
  });

  it('pulls a dataset whose bytes equal one the store already holds under another table', async () => {
    const target = new MemoryObjectStore();
    const a = await open();
    const { view } = await populate(a);
    await a.sync.push({ target, prefix: 'p' });
    const b = await open();
    await b.sync.pull({ target, prefix: 'p' });
    await (await view.trainingData({ split: { kind: 'random', test: 0.2, seed: 1 } })).persisted;
    const second = await a.sync.push({ target, prefix: 'p' });
    expect(second.uploaded.objects).toBe(2); // metadata and manifest: the new dataset's bytes are the first one's
    await b.sync.pull({ target, prefix: 'p' });
    expect(await state(b)).toEqual(await state(a));
  });

  it('knows its own push whose HEAD answer was lost, even after writing more', async () => {
    const memory = new MemoryObjectStore();
    const a = await open();
    const { weather } = await populate(a);
    const lossy = new LostAnswerStore(memory);
    expect((await rejectionOf(a.sync.push({ target: lossy, prefix: 'p', singleWriter: true, retry: { retries: 0 } }))).message).toMatch(/dropped/);
    await weather.insert(weatherRows(1, 300));
    const next = await a.sync.push({ target: lossy, prefix: 'p', singleWriter: true });
    expect(next.pushed).toBe(true);
    expect(next.parent).not.toBeNull();
    const b = await open();
    await b.sync.pull({ target: memory, prefix: 'p' });
    expect((await state(b)).groups).toEqual((await state(a)).groups);
  });

  it('keeps the order of rows with equal keys and times, so both devices serve the same online value', async () => {
    const target = new MemoryObjectStore();
    const a = await open();
    const g = await a.createFeatureGroup({ ...plain, online: true });
    await g.insert([{ city: 'Oslo', day: base, humidity: 1 }, { city: 'Oslo', day: base, humidity: 9 }]);
    await a.sync.push({ target, prefix: 'p' });
    const b = await open();
    await b.sync.pull({ target, prefix: 'p' });
    const online = async (store: FeatureStore) => (await (await store.getFeatureGroup('w', 1)).getOnline([{ city: 'Oslo' }]))[0]!.values;
    expect(await online(b)).toEqual(await online(a));
  });

  it('purges with a larger keep after a smaller one, and leaves runs in flight out of snapshots', async () => {
    const target = new MemoryObjectStore();
    const a = await open();
    const { weather } = await populate(a);
    await a.api().putRun({ ...(await a.runs.list())[0]!, id: 'in-flight', status: 'running', endedAt: null });
    for (let i = 0; i < 3; i++) {
      await weather.insert(weatherRows(1, 400 + i));
      await a.sync.push({ target, prefix: 'p' });
    }
    expect((await a.sync.purge({ target, prefix: 'p', keep: 1, graceMs: 0 })).kept.length).toBe(1);
    await weather.insert(weatherRows(1, 500));
    await a.sync.push({ target, prefix: 'p' });
    expect((await a.sync.purge({ target, prefix: 'p', keep: 3, graceMs: 0 })).kept.length).toBe(2);
    const b = await open();
    await b.sync.pull({ target, prefix: 'p' });
    expect((await b.runs.list()).map((r) => r.id)).not.toContain('in-flight');
  });
});

describe('sync: a HEAD moved back', () => {
  it('refuses a HEAD rolled back to an older snapshot, unless that manifest is asked for by name', async () => {
    const target = new MemoryObjectStore();
    const a = await open();
    const { weather } = await populate(a);
    const first = await a.sync.push({ target, prefix: 'p' });
    const headBefore = (await target.get('p/HEAD'))!.body;
    await weather.insert(weatherRows(1, 300));
    await a.sync.push({ target, prefix: 'p' });
    const b = await open();
    await b.sync.pull({ target, prefix: 'p' });
    const before = await state(b);
    await target.put('p/HEAD', headBefore); // replayed
    const error = await rejectionOf(b.sync.pull({ target, prefix: 'p' }));
    expect(error).toBeInstanceOf(SnapshotIntegrityError);
    expect((error as SnapshotIntegrityError).details['reason']).toBe('rollback');
    expect(await state(b)).toEqual(before);
    await b.sync.pull({ target, prefix: 'p', manifest: first.manifest });
    expect((await state(b)).groups[0]!.data.rowCount).toBeLessThan(before.groups[0]!.data.rowCount);
  });
});
