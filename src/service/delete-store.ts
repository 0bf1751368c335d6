import { validateName } from '../definitions/names.ts';
import { StorageError, StoreLockedError } from '../errors.ts';
import { onlineDbName } from '../online/indexeddb.ts';
import { registryDbName } from '../registry/indexeddb.ts';
import { storeLockName, tryLock } from './lock.ts';
import { databaseFile, storageProbe } from './store-files.ts';

function deleteDatabase(name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.deleteDatabase(name);
    // 'blocked' is only a pause: readers in other tabs close their connections when told (see OnlineStore.open).
    request.onsuccess = () => resolve();
    request.onerror = () => reject(new StorageError(`Could not delete the IndexedDB database ${name}: ${String(request.error)}`, { cause: request.error }));
  });
}

/**
 * Deletes a persistent store and everything it keeps in this origin: its DuckDB file and write-ahead log in OPFS, its
 * registry (definitions, commits, datasets, runs, models) and its online store in IndexedDB. Rejects with
 * StoreLockedError, deleting nothing, while the store is open anywhere in the origin; holds the store's lock while it
 * deletes, so no tab opens the store half-deleted. Deleting a store that does not exist does nothing.
 *
 * @example
 * ```ts
 * await store.close();
 * await deleteFeatureStore('shop');
 * ```
 */
export async function deleteFeatureStore(name: string): Promise<void> {
  validateName(name, 'store');
  const release = await tryLock(storeLockName(name));
  if (release === null) {
    throw new StoreLockedError(`Store '${name}' is open in a tab, worker or openFeatureStore() call of this origin: close it before deleting it.`, {
      details: { store: name },
    });
  }
  try {
    await deleteDatabase(registryDbName(name));
    await deleteDatabase(onlineDbName(name));
    const root = await navigator.storage.getDirectory();
    const file = databaseFile(name);
    const names: string[] = [];
    for await (const entry of (root as unknown as { keys(): AsyncIterable<string> }).keys()) names.push(entry);
    for (const entry of names) {
      // The database file, its log and DuckDB's temporary files next to them, and a leftover space probe.
      if (entry === file || entry.startsWith(`${file}.`) || entry === storageProbe(name)) {
        await root.removeEntry(entry, { recursive: true });
      }
    }
  } finally {
    release();
  }
}
