// Online store benchmark page (issue 4, "Benchmark"), driven by bench/online-run.mjs.
//
// Three online groups of ENTITIES entities (int64 key, timestamp, 5 float64 features) joined in one view; a fourth
// online group of MATERIALIZE_ROWS rows (10 events per entity) for materialization. Larder's reads
// (FeatureView.getFeatureVector(s), on the page's thread, from IndexedDB) against raw IndexedDB reads of the same
// records in Larder's own database (one readonly transaction, one get per group and entity); Larder's
// materialization against raw bulk puts of the same record shape into a database of the bench's own.
import { openFeatureStore, type FeatureGroup, type FeatureStore, type FeatureView } from '../src/index.ts';
import { onlineGroupKey } from '../src/online/materialize.ts';
import { seededRandom } from '../src/util/random.ts';

declare global {
  interface Window {
    onlineReady: boolean;
    onlinePrepare(entities: number, materializeRows: number): Promise<Prepared>;
    onlineReads(batch: number, lookups: number, warmup: number): Promise<Latencies>;
    onlineMaterialize(engine: 'larder' | 'raw' | 'raw-array', incremental: boolean): Promise<{ rows: number; records: number; seconds: number }>;
    onlineClose(): Promise<void>;
  }
}

interface Prepared {
  writeThroughSeconds: number[];
  writeThroughRows: number[];
  materializeInsertSeconds: number;
}

interface Latencies {
  /** Milliseconds per call (a vector or a batch), per engine. */
  larder: number[];
  raw: number[];
  /** Whether Larder's values equal the raw records' (checked on the first 100 calls). */
  checked: number;
}

const GROUPS = 3;
const FEATURES = 5;
const MINUTE = 60_000;

let store: FeatureStore | null = null;
let view: FeatureView | null = null;
let groups: FeatureGroup[] = [];
let big: FeatureGroup | null = null;
let entities = 0;
let rawOnline: IDBDatabase | null = null;

const features = Object.fromEntries(Array.from({ length: FEATURES }, (_, i) => [`f${i}`, 'float64' as const]));

function columns(rows: number, entityOf: (row: number) => number, timeOf: (row: number) => number, random: () => number) {
  const out = new Array<Record<string, unknown>>(rows);
  for (let r = 0; r < rows; r++) {
    const row: Record<string, unknown> = { id: BigInt(entityOf(r)), ts: timeOf(r) };
    for (let f = 0; f < FEATURES; f++) row[`f${f}`] = random();
    out[r] = row;
  }
  return out;
}

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error ?? new Error('IndexedDB request failed'));
  });
}

window.onlinePrepare = async (entityCount, materializeRows) => {
  entities = entityCount;
  const random = seededRandom(7);
  const now = Date.now();
  store = await openFeatureStore({ name: `bench_online_${Date.now()}` });
  const writeThroughSeconds: number[] = [];
  const writeThroughRows: number[] = [];
  groups = [];
  for (let g = 0; g < GROUPS; g++) {
    const group = await store.createFeatureGroup({ name: `g${g}`, version: 1, primaryKey: 'id', eventTime: 'ts', online: true, features: { id: 'int64', ts: 'timestamp', ...features } });
    const rows = columns(entityCount, (r) => r, () => now - Math.floor(random() * 60) * MINUTE, random);
    const started = performance.now();
    await group.insert(rows); // the offline commit, then write-through to the online store
    writeThroughSeconds.push((performance.now() - started) / 1000);
    writeThroughRows.push(rows.length);
    groups.push(group);
  }
  const [first, ...rest] = groups;
  view = await store.createFeatureView({
    name: 'v', version: 1,
    query: rest.reduce((q, g, i) => q.join(g.select(Object.keys(features)), { prefix: `g${i + 1}_` }), first!.select(Object.keys(features))),
  });
  big = await store.createFeatureGroup({ name: 'm', version: 1, primaryKey: 'id', eventTime: 'ts', online: true, features: { id: 'int64', ts: 'timestamp', ...features } });
  const perEntity = Math.max(1, Math.round(materializeRows / entityCount));
  const started = performance.now();
  await big.insert(columns(materializeRows, (r) => Math.floor(r / perEntity), (r) => now - (r % perEntity) * MINUTE, random));
  const materializeInsertSeconds = (performance.now() - started) / 1000;
  rawOnline = await request(indexedDB.open(`larder:${store.name.toLowerCase()}:online`));
  return { writeThroughSeconds, writeThroughRows, materializeInsertSeconds };
};

window.onlineReads = async (batch, lookups, warmup) => {
  const random = seededRandom(11 + batch);
  const larder: number[] = [];
  const raw: number[] = [];
  let checked = 0;
  // Calls alternate engines (which goes first alternates too), so both see the same background work of the
  // browser and the disk; the warm-up calls are not recorded.
  for (let call = 0; call < warmup + lookups; call++) {
    const ids = Array.from({ length: batch }, () => Math.floor(random() * entities));
    const order = call % 2 === 0 ? (['larder', 'raw'] as const) : (['raw', 'larder'] as const);
    for (const engine of order) {
      const started = performance.now();
      if (engine === 'larder') {
        const vectors = batch === 1 ? [await view!.getFeatureVector({ id: ids[0]! })] : await view!.getFeatureVectors(ids.map((id) => ({ id })));
        const ms = performance.now() - started;
        if (call >= warmup) larder.push(ms);
        if (call < 100) {
          // Check against the raw records (outside the timing).
          const records = await rawRead(ids);
          vectors.forEach((v, e) => {
            // Records hold the group's columns in order: id, ts, f0..f4.
            const expected = records[e]!.flatMap((r) => (r as { v: unknown[] }).v.slice(2));
            if (JSON.stringify(v.values) !== JSON.stringify(expected)) throw new Error(`Larder's vector for ${ids[e]} differs from the raw records.`);
            checked++;
          });
        }
      } else {
        await rawRead(ids);
        const ms = performance.now() - started;
        if (call >= warmup) raw.push(ms);
      }
    }
  }
  return { larder, raw, checked };
};

/** The raw baseline: one readonly transaction, a get per group and entity, resolved when the last get succeeded. */
function rawRead(ids: readonly number[]): Promise<unknown[][]> {
  return new Promise((resolve, reject) => {
    const tx = rawOnline!.transaction('rows', 'readonly');
    const os = tx.objectStore('rows');
    const out = ids.map(() => new Array<unknown>(GROUPS));
    let pending = ids.length * GROUPS;
    ids.forEach((id, e) => {
      for (let g = 0; g < GROUPS; g++) {
        const r = os.get([`g${g}@1`, id]);
        r.onsuccess = () => {
          out[e]![g] = r.result as unknown;
          if (--pending === 0) resolve(out);
        };
      }
    });
    tx.onerror = () => reject(tx.error ?? new Error('IndexedDB transaction failed'));
  });
}

window.onlineMaterialize = async (engine, incremental) => {
  if (engine === 'larder') {
    const online = await store!.online();
    await online.clear(onlineGroupKey(big!.definition));
    const started = performance.now();
    const result = incremental ? await big!.materializeIncremental() : await big!.materialize();
    const seconds = (performance.now() - started) / 1000;
    return { rows: (await big!.read()).numRows, records: result.rows, seconds };
  }
  // Raw: one record per entity put in transactions of 5,000 into a database of the bench's own, the records built
  // before the clock starts: 'raw' as a plain object per row (column names in every record), 'raw-array' in
  // Larder's own shape (values in column order).
  const name = `bench-raw-online-${Date.now()}`;
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    const open = indexedDB.open(name, 1);
    open.onupgradeneeded = () => open.result.createObjectStore('rows');
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error ?? new Error('open failed'));
  });
  const random = seededRandom(3);
  const records = Array.from({ length: entities }, (_, id) => {
    const values = Object.keys(features).map(() => random());
    const v = engine === 'raw-array'
      ? [BigInt(id), Date.now(), ...values]
      : { id: BigInt(id), ts: Date.now(), ...Object.fromEntries(Object.keys(features).map((f, i) => [f, values[i]])) };
    return { key: ['m@1', id], value: { t: Date.now() * 1000, c: 1, v } };
  });
  const started = performance.now();
  for (let start = 0; start < records.length; start += 5_000) {
    const tx = db.transaction('rows', 'readwrite', { durability: 'relaxed' });
    const os = tx.objectStore('rows');
    for (const r of records.slice(start, start + 5_000)) os.put(r.value, r.key);
    await new Promise<void>((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error ?? new Error('transaction failed'));
    });
  }
  const seconds = (performance.now() - started) / 1000;
  db.close();
  await request(indexedDB.deleteDatabase(name) as IDBRequest<unknown>);
  return { rows: records.length, records: records.length, seconds };
};

window.onlineClose = async () => {
  rawOnline?.close();
  rawOnline = null;
  await store?.close();
  store = null;
};

window.onlineReady = true;
