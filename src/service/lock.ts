import { OperationAbortedError, StoreLockedError } from '../errors.ts';

/** The Web Lock whose holder owns a persistent store in this origin. */
export function storeLockName(storeName: string): string {
  return `larder:store:${storeName.toLowerCase()}`;
}

/**
 * Takes the Web Lock that makes this thread the only owner of a store in the origin, without waiting. Resolves
 * with a release function, or rejects with StoreLockedError when another tab, worker or open call holds it. The
 * lock goes away by itself when the holding worker or tab dies.
 */
export function acquireStoreLock(storeName: string): Promise<() => void> {
  return new Promise((resolve, reject) => {
    navigator.locks
      .request(storeLockName(storeName), { ifAvailable: true }, (lock) => {
        if (lock === null) {
          reject(
            new StoreLockedError(
              `Store '${storeName}' is already open in another tab, worker or openFeatureStore() call of this origin. ` +
                'Close it there with store.close() (or close that tab) and open it again, open with { whenLocked: \'wait\' } to ' +
                'take over when it closes, or use another store name. ' +
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

/**
 * Waits in the lock's queue until the owner of a store lets go of it (closes, or its tab or worker dies), then lets go
 * at once: the caller's open then races the other waiters for the lock, and a loser waits again. Rejects with
 * OperationAbortedError when `signal` aborts.
 */
export async function waitForStoreRelease(storeName: string, signal?: AbortSignal): Promise<void> {
  try {
    await navigator.locks.request(storeLockName(storeName), signal === undefined ? {} : { signal }, () => undefined);
  } catch (error) {
    if (signal?.aborted === true) {
      throw new OperationAbortedError(`Waiting for store '${storeName}' was aborted; it was not opened.`, { cause: signal.reason });
    }
    throw error;
  }
}
