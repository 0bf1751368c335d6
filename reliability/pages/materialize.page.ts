// In-page half of the materialize-kill drill (reliability/materialize-kill.reliability.ts), loaded by the harness
// page through the Vite dev server. Batch b gives every key k the row (id k, ts day b, value b·1e6 + k, tag 'b<b>k<k>'),
// so any online or offline row tells which batch wrote it, and a row mixing two batches shows.
import type * as Larder from '../../src/index.ts';

interface DrillWindow {
  drillStore?: Larder.FeatureStore;
}

const DAY = 86_400_000;
const BASE = Date.UTC(2024, 0, 1);

function store(): Larder.FeatureStore {
  const s = (window as DrillWindow).drillStore;
  if (s === undefined) throw new Error('the drill store is not open');
  return s;
}

/** Creates the drill's group in the open store (the store is not closed and reopened: see the drill's findings). */
export async function setup(): Promise<void> {
  const s = store();
  await s.createFeatureGroup({
    name: 'users', version: 1, primaryKey: 'id', eventTime: 'ts', online: true,
    features: { id: 'int64', ts: 'timestamp', value: 'float64', tag: 'string' },
  });
}

/** Inserts batch `batch` for keys 0 … keys − 1 (written through to the online store before it resolves). */
export async function insertBatch({ batch, keys }: { batch: number; keys: number }): Promise<{ commitId: number; onlineError: boolean }> {
  const group = await store().getFeatureGroup('users', 1);
  const rows = Array.from({ length: keys }, (_, k) => ({ id: k, ts: BASE + batch * DAY, value: batch * 1e6 + k, tag: `b${batch}k${k}` }));
  const result = await group.insert(rows, { batchId: `batch-${batch}` });
  return { commitId: result.commitId, onlineError: (result as { onlineError?: unknown }).onlineError !== undefined };
}

/**
 * Empties the online rows (as if the online store had been evicted), then rebuilds them from the offline store with
 * `materialize()`. The drill kills the store during the rebuild: each key then has its new row or none.
 */
export async function emptyOnline({ name }: { name: string }): Promise<void> {
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    const opening = indexedDB.open(`larder:${name.toLowerCase()}:online`);
    opening.onsuccess = () => resolve(opening.result);
    opening.onerror = () => reject(opening.error ?? new Error('cannot open the online database'));
  });
  try {
    await new Promise<void>((resolve, reject) => {
      const tx = db.transaction('rows', 'readwrite');
      tx.objectStore('rows').clear();
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error ?? new Error('cannot clear the online rows'));
    });
  } finally {
    db.close();
  }
}

export async function rebuild(): Promise<void> {
  const group = await store().getFeatureGroup('users', 1);
  await group.materialize();
}

export async function catchUp(): Promise<{ rows: number; watermark: number | null }> {
  const group = await store().getFeatureGroup('users', 1);
  const r = await group.materializeIncremental();
  return { rows: r.rows, watermark: r.watermark };
}

export interface OnlineCensus {
  /** Batch number → keys whose online row is exactly that batch's row. */
  byBatch: Record<number, number>;
  absent: number;
  /** Keys whose row matches no single batch (values of two batches, or foreign values). */
  torn: number;
  examples: string[];
}

/** Sorts every key's online row into the batch that wrote it. */
export async function onlineCensus({ keys }: { keys: number }): Promise<OnlineCensus> {
  const group = await store().getFeatureGroup('users', 1);
  const rows = await group.getOnline(Array.from({ length: keys }, (_, k) => ({ id: k })));
  const census: OnlineCensus = { byBatch: {}, absent: 0, torn: 0, examples: [] };
  rows.forEach((row, k) => {
    if (row.status === 'not_found') {
      census.absent++;
      return;
    }
    const v = row.values ?? {};
    const value = Number(v['value']);
    const batch = Math.round((value - k) / 1e6);
    const ok =
      row.status === 'present' && value === batch * 1e6 + k && v['tag'] === `b${batch}k${k}` && Number(v['id']) === k &&
      row.eventTime === BASE + batch * DAY;
    if (ok) census.byBatch[batch] = (census.byBatch[batch] ?? 0) + 1;
    else {
      census.torn++;
      if (census.examples.length < 3) census.examples.push(`key ${k}: ${row.status} ${JSON.stringify(v, (_, x: unknown) => (typeof x === 'bigint' ? String(x) : x))} at ${row.eventTime}`);
    }
  });
  return census;
}

/** The ledger's batch ids, and the offline latest row of every key sorted into the batch that wrote it. */
export async function offlineCensus({ keys, latestBatch }: { keys: number; latestBatch: number }) {
  const group = await store().getFeatureGroup('users', 1);
  const ledger = (await group.commits()).map((c) => ({ commitId: c.commitId, batchId: c.batchId, rowCount: c.rowCount, kind: c.kind }));
  // The latest row of every key is at the greatest event time, which the last committed batch wrote for every key.
  const table = await group.read({ start: BASE + latestBatch * DAY, columns: ['id', 'ts', 'value', 'tag'] });
  const seen = new Uint8Array(keys);
  let wrong = 0;
  const ids = table.getChild('id')!.toArray() as BigInt64Array;
  const values = table.getChild('value')!.toArray() as Float64Array;
  const tags = table.getChild('tag')!.toArray() as string[];
  for (let i = 0; i < table.numRows; i++) {
    const k = Number(ids[i]);
    if (k < 0 || k >= keys || seen[k] === 1 || values[i] !== latestBatch * 1e6 + k || tags[i] !== `b${latestBatch}k${k}`) wrong++;
    else seen[k] = 1;
  }
  return { ledger, latestRows: table.numRows, wrong, missing: seen.reduce((n, s) => n + (s === 0 ? 1 : 0), 0) };
}
