import { QuotaExceededError, StorageError, StoreClosedError } from '../errors.ts';
import { reconnecting } from '../util/idb-reconnect.ts';

/**
 * The online store: the latest row per primary key of every online feature group version, in one IndexedDB
 * database per store, readable from any thread. Written only by the store worker.
 *
 * Layout: object store `rows`, key `[group, ...entityKey]` (group = `name@version`, lower-cased name), value
 * {@link OnlineRecord}; object store `watermarks`, key group, value the last commit id whose rows are all applied.
 * One object store for every group means creating a group never needs a schema upgrade (which other tabs' open
 * readers would block).
 */

/** One entity's latest row of one group. */
export interface OnlineRecord {
  /** Event time, µs since the epoch. */
  t: number;
  /** The commit the row came from. */
  c: number;
  /**
   * The row's values in the group's column order (keys and event time included): an array, so each stored record
   * carries no column names (smaller to clone and to store than an object per row).
   */
  v: unknown[];
}

/** An entity's key values in primary-key order: strings and numbers (int64 keys as numbers). */
export type EntityKey = readonly (string | number)[];

/** A row to apply: the entity key and the record it should become if it is newer than the stored one. */
export interface OnlineRow {
  key: EntityKey;
  record: OnlineRecord;
}

export const ONLINE_DB_VERSION = 1;

/** Batches up to this size check stored records with one get per entity; bigger ones read their key range once. */
const PER_KEY_READS = 256;

/** The IndexedDB database name of a store's online store. */
export function onlineDbName(storeName: string): string {
  return `larder:${storeName.toLowerCase()}:online`;
}
const ROWS = 'rows';
const WATERMARKS = 'watermarks';

/** Whether `candidate` replaces `stored`: a later event time, or the same event time from a later (or the same) commit. */
export function isNewer(candidate: OnlineRecord, stored: OnlineRecord | undefined): boolean {
  if (stored === undefined) return true;
  return candidate.t > stored.t || (candidate.t === stored.t && candidate.c >= stored.c);
}

function storageError(error: unknown, what: string): Error {
  const name = (error as { name?: string } | null)?.name;
  if (name === 'QuotaExceededError') {
    return new QuotaExceededError(`The storage quota is exhausted while ${what}; free space or call navigator.storage.persist().`, { cause: error });
  }
  return new StorageError(`IndexedDB failed while ${what}: ${String((error as Error | null)?.message ?? error)}`, { cause: error });
}

function done(tx: IDBTransaction, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(storageError(tx.error, what));
    tx.onabort = () => reject(storageError(tx.error ?? new DOMException('aborted', 'AbortError'), what));
  });
}

function request<T>(r: IDBRequest<T>, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(storageError(r.error, what));
  });
}

/** A map key for a stored key `[group, ...entityKey]`: the value itself for one key column (one type per column). */
function entityId(key: readonly unknown[]): unknown {
  return key.length === 2 ? key[1] : JSON.stringify(key);
}

/** The key range holding every record of one group. */
function groupRange(group: string): IDBKeyRange {
  // Arrays sort after every number, string, date and binary key, so [group, []] is above every [group, ...key].
  return IDBKeyRange.bound([group], [group, []]);
}

export class OnlineStore {
  private constructor(
    readonly dbName: string,
    private db: IDBDatabase,
  ) {}

  /**
   * Opens (creating if needed) the online database `dbName`. The connection steps aside when another tab upgrades or
   * deletes the database (it is closed, never left to block that), and a call that finds it closed underneath — by
   * that, or by the browser — opens it again and is made once more.
   */
  static async open(dbName: string): Promise<OnlineStore> {
    const store = new OnlineStore(dbName, await OnlineStore.connect(dbName));
    return reconnecting(store, async () => {
      // A database deleted underneath (a temporary store's, when it closed) is not brought back empty.
      if (!(await indexedDB.databases()).some((d) => d.name === dbName)) {
        throw new StorageError(`The online store ${dbName} was deleted (its store was closed).`);
      }
      store.db = await OnlineStore.connect(dbName);
    });
  }

  private static async connect(dbName: string): Promise<IDBDatabase> {
    const opening = indexedDB.open(dbName, ONLINE_DB_VERSION);
    opening.onupgradeneeded = (event) => {
      const db = opening.result;
      if (event.oldVersion < 1) {
        db.createObjectStore(ROWS);
        db.createObjectStore(WATERMARKS);
      }
    };
    try {
      const db = await request(opening, `opening the online store ${dbName}`);
      db.onversionchange = () => db.close();
      return db;
    } catch (error) {
      const cause = error instanceof StorageError ? error.cause : error;
      if (cause instanceof DOMException && cause.name === 'VersionError') {
        throw new StoreClosedError(`The online store ${dbName} was upgraded by a newer version of the app in another tab; reload this page.`, { cause });
      }
      throw error instanceof Error && 'code' in error ? error : storageError(error, `opening the online store ${dbName}`);
    }
  }

  /**
   * Applies rows of one group, one per entity, in one transaction: each replaces the stored record of its entity
   * only if it is newer (see {@link isNewer}), so applying a commit twice, or an older event after a newer one,
   * changes nothing.
   * With `watermark`, records that commit id as applied for the group in the same transaction.
   * Rows are best sorted by key: the stored records of the chunk's key range are read in one request. With mode
   * `replace` (a rebuild from the offline store's current rows) each row is written whatever is stored.
   */
  async apply(group: string, rows: readonly OnlineRow[], watermark: number | null, mode: 'newer' | 'replace' = 'newer'): Promise<{ written: number }> {
    const what = `writing ${rows.length} online rows of ${group}`;
    const keys = rows.map((r) => [group, ...r.key]);
    let written = 0;
    let tx: IDBTransaction;
    try {
      tx = this.db.transaction([ROWS, WATERMARKS], 'readwrite', { durability: 'relaxed' });
    } catch (error) {
      throw storageError(error, what);
    }
    const finished = done(tx, what);
    const store = tx.objectStore(ROWS);
    if (rows.length > 0 && mode === 'replace') {
      // A rebuild replaces whatever is stored: nothing to read first.
      rows.forEach((row, i) => store.put(row.record, keys[i]));
      written = rows.length;
    } else if (rows.length > 0 && rows.length <= PER_KEY_READS) {
      // A small batch (a write-through of a few rows): one get per entity, however sparse its keys are.
      rows.forEach((row, i) => {
        const r = store.get(keys[i]!);
        r.onsuccess = () => {
          if (isNewer(row.record, r.result as OnlineRecord | undefined)) {
            store.put(row.record, keys[i]);
            written++;
          }
        };
      });
    } else if (rows.length > 0) {
      // The lowest and highest key of the chunk bound one read of everything stored between them (chunks come
      // sorted by key, so the range holds little else).
      let low = keys[0]!;
      let high = keys[0]!;
      for (const k of keys) {
        if (indexedDB.cmp(k, low) < 0) low = k;
        if (indexedDB.cmp(k, high) > 0) high = k;
      }
      const range = IDBKeyRange.bound(low, high);
      const storedKeys = store.getAllKeys(range);
      const storedValues = store.getAll(range);
      storedValues.onsuccess = () => {
        const values = storedValues.result as OnlineRecord[];
        const stored = new Map((storedKeys.result).map((k, i) => [entityId(k as unknown[]), values[i]!]));
        rows.forEach((row, i) => {
          if (isNewer(row.record, stored.get(entityId(keys[i]!)))) {
            store.put(row.record, keys[i]);
            written++;
          }
        });
      };
    }
    if (watermark !== null) tx.objectStore(WATERMARKS).put(watermark, group);
    await finished;
    return { written };
  }

  /** Deletes entities of one group, optionally recording a watermark, in one transaction. */
  async delete(group: string, keys: readonly EntityKey[], watermark: number | null): Promise<void> {
    const what = `deleting ${keys.length} online rows of ${group}`;
    const tx = this.db.transaction([ROWS, WATERMARKS], 'readwrite', { durability: 'relaxed' });
    const finished = done(tx, what);
    const store = tx.objectStore(ROWS);
    for (const key of keys) store.delete([group, ...key]);
    if (watermark !== null) tx.objectStore(WATERMARKS).put(watermark, group);
    await finished;
  }

  /** Removes every record and the watermark of one group. */
  async clear(group: string): Promise<void> {
    const tx = this.db.transaction([ROWS, WATERMARKS], 'readwrite', { durability: 'relaxed' });
    const finished = done(tx, `clearing the online rows of ${group}`);
    tx.objectStore(ROWS).delete(groupRange(group));
    tx.objectStore(WATERMARKS).delete(group);
    await finished;
  }

  /** The last commit id fully applied to a group (0: none). */
  async watermark(group: string): Promise<number> {
    const tx = this.db.transaction(WATERMARKS, 'readonly');
    const value: unknown = await request(tx.objectStore(WATERMARKS).get(group), `reading the online watermark of ${group}`);
    return typeof value === 'number' ? value : 0;
  }

  /** Every entity key stored for a group. */
  async keys(group: string): Promise<EntityKey[]> {
    const tx = this.db.transaction(ROWS, 'readonly');
    const keys = await request(tx.objectStore(ROWS).getAllKeys(groupRange(group)), `listing the online keys of ${group}`);
    return keys.map((k) => (k as (string | number)[]).slice(1));
  }

  /**
   * Reads records in one transaction, in stages: each stage maps the records found so far to the `[group, key]`
   * pairs to read next (null: nothing to read for that slot), so a joined group keyed by a column of the left
   * group's record is read in the same transaction right after it. Resolves with one array per stage.
   */
  read(stages: readonly ((found: readonly (OnlineRecord | undefined)[][]) => readonly (readonly [string, EntityKey] | null)[])[]): Promise<(OnlineRecord | undefined)[][]> {
    const what = 'reading online rows';
    return new Promise((resolve, reject) => {
      let tx: IDBTransaction;
      try {
        tx = this.db.transaction(ROWS, 'readonly');
      } catch (error) {
        reject(storageError(error, what));
        return;
      }
      const store = tx.objectStore(ROWS);
      const found: (OnlineRecord | undefined)[][] = [];
      const run = (stage: number): void => {
        // A readonly transaction's results are final once its last get succeeded: no need to wait for 'complete'
        // (one more hop through the browser's storage thread, ≈ 0.1 ms at the median and more in the tail).
        if (stage === stages.length) {
          resolve(found);
          return;
        }
        let targets: readonly (readonly [string, EntityKey] | null)[];
        try {
          targets = stages[stage]!(found);
        } catch (error) {
          reject(error instanceof Error ? error : new StorageError(String(error)));
          tx.abort();
          return;
        }
        const results = new Array<OnlineRecord | undefined>(targets.length);
        found.push(results);
        let pending = 0;
        targets.forEach((target, i) => {
          if (target === null) return;
          pending++;
          const r = store.get([target[0], ...target[1]]);
          r.onsuccess = () => {
            results[i] = r.result as OnlineRecord | undefined;
            if (--pending === 0) run(stage + 1);
          };
        });
        if (pending === 0) run(stage + 1);
      };
      run(0);
      tx.onerror = () => reject(storageError(tx.error, what));
      tx.onabort = () => reject(storageError(tx.error ?? new DOMException('aborted', 'AbortError'), what));
    });
  }

  close(): void {
    this.db.close();
  }

  /** Deletes a whole online database (a store opened with persist: false, when it closes). */
  static async destroy(dbName: string): Promise<void> {
    await request(indexedDB.deleteDatabase(dbName) as IDBRequest<unknown>, `deleting the online store ${dbName}`);
  }
}
