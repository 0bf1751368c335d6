import { describe, expect, it } from 'vitest';
import { openDB } from 'idb';
import { StorageError, StoreClosedError } from '../../src/index.ts';
import { ONLINE_DB_VERSION, OnlineStore } from '../../src/online/indexeddb.ts';
import { uniqueStoreName } from '../support/names.ts';

// The online store's IndexedDB connection, closed underneath (by the browser, or stepping aside for another tab's
// upgrade or delete): the next call opens it again and is made once more; an upgrade by a newer app asks for a reload;
// a database deleted underneath is not brought back empty.

const row = (id: number, t: number) => ({ key: [id], record: { t, c: 1, v: [id, t] } });
const readOne = (store: OnlineStore, group: string, id: number) => store.read([() => [[group, [id]]]]).then((found) => found[0]?.[0]);

describe('online store: connections closed underneath', () => {
  it('reopens a connection closed underneath and makes the call once more', async () => {
    const name = uniqueStoreName('online_reopen');
    const store = await OnlineStore.open(name);
    try {
      await store.apply('g', [row(1, 10)], 1);
      (store as unknown as { db: IDBDatabase }).db.close();
      expect(await readOne(store, 'g', 1)).toEqual(row(1, 10).record);
      (store as unknown as { db: IDBDatabase }).db.close();
      await store.apply('g', [row(2, 20)], 2);
      expect(await store.watermark('g')).toBe(2);
      expect(await readOne(store, 'g', 2)).toEqual(row(2, 20).record);
    } finally {
      store.close();
      await OnlineStore.destroy(name);
    }
  });

  it('does not reopen a connection its owner closed: calls after close() fail with StoreClosedError', async () => {
    const name = uniqueStoreName('online_closed');
    const store = await OnlineStore.open(name);
    await store.apply('g', [row(1, 10)], 1);
    store.close();
    await expect(readOne(store, 'g', 1)).rejects.toBeInstanceOf(StoreClosedError);
    await expect(store.apply('g', [row(2, 20)], 2)).rejects.toBeInstanceOf(StoreClosedError);
    await OnlineStore.destroy(name);
  });

  it('never blocks an upgrade from another tab; afterwards this one is told to reload', async () => {
    const name = uniqueStoreName('online_upgrade');
    const store = await OnlineStore.open(name);
    await store.apply('g', [row(1, 10)], 1);
    const newer = await openDB(name, ONLINE_DB_VERSION + 1, {
      upgrade(database) {
        database.createObjectStore('fromTheFuture');
      },
    });
    expect(newer.objectStoreNames.contains('fromTheFuture')).toBe(true);
    newer.close();
    await expect(readOne(store, 'g', 1)).rejects.toBeInstanceOf(StoreClosedError);
    store.close();
    await OnlineStore.destroy(name);
  });

  it('does not bring back a database deleted underneath', async () => {
    const name = uniqueStoreName('online_deleted');
    const store = await OnlineStore.open(name);
    await store.apply('g', [row(1, 10)], 1);
    await OnlineStore.destroy(name); // the connection steps aside for the delete
    await expect(readOne(store, 'g', 1)).rejects.toBeInstanceOf(StorageError);
    expect((await indexedDB.databases()).map((d) => d.name)).not.toContain(name);
    store.close();
  });
});
