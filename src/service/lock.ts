import { StoreLockedError } from '../errors.ts';

/**
 * Takes the Web Lock that makes this thread the only owner of a store in the origin, without waiting. Resolves
 * with a release function, or rejects with StoreLockedError when another tab, worker or open call holds it. The
 * lock goes away by itself when the holding worker or tab dies.
 */
export function acquireStoreLock(storeName: string): Promise<() => void> {
  return new Promise((resolve, reject) => {
    navigator.locks
      .request(`larder:store:${storeName.toLowerCase()}`, { ifAvailable: true }, (lock) => {
        if (lock === null) {
          reject(
            new StoreLockedError(
              `Store '${storeName}' is already open in another tab, worker or openFeatureStore() call of this origin. ` +
                'Close it there with store.close() (or close that tab) and open it again, or use another store name. ' +
                'In-memory stores (persist: false) have no such limit.',
              { details: { store: storeName } },
            ),
          );
          return undefined;
        }
        return new Promise<void>((release) => resolve(release));
      })
      .catch(reject);
  });
}

/**
 * Takes a Web Lock by name if nobody holds it, without waiting: resolves with its release function, or null when it
 * is held. Like every Web Lock it goes away with the thread that holds it.
 */
export function tryLock(name: string): Promise<(() => void) | null> {
  return new Promise((resolve, reject) => {
    navigator.locks
      .request(name, { ifAvailable: true }, (lock) => {
        if (lock === null) {
          resolve(null);
          return undefined;
        }
        return new Promise<void>((release) => resolve(release));
      })
      .catch(reject);
  });
}
