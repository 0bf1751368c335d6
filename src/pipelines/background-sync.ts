import { openDB, type DBSchema } from 'idb';
import { nameKey } from '../definitions/names.ts';

/** The periodic sync tag Larder registers and answers by default. */
export const PIPELINE_SYNC_TAG = 'larder-pipelines';

/** The message the service-worker entry point posts to open pages, asking them to run their due pipelines. */
export const SERVICE_WORKER_MESSAGE = 'larder:run-pipelines';

/** Marks for "a periodic sync fired while no page was open", kept until a page of the store runs its pipelines. */
const MARKS_DB = 'larder:service-worker';
const ANY_STORE = '*';

interface MarksSchema extends DBSchema {
  /** When the mark was left, by store name key ('*': every store). */
  due: { key: string; value: number };
}

function openMarks() {
  return openDB<MarksSchema>(MARKS_DB, 1, {
    upgrade(database) {
      database.createObjectStore('due');
    },
  });
}

/** Records that pipelines of a store (every store when none is named) should run as soon as a page opens it. */
export async function markServiceWorkerDue(store: string | undefined): Promise<void> {
  const db = await openMarks();
  try {
    await db.put('due', Date.now(), store === undefined ? ANY_STORE : nameKey(store));
  } finally {
    db.close();
  }
}

/** Takes (and clears) the mark of a store, or the mark left for every store: true when there was one. */
export async function takeServiceWorkerMark(store: string): Promise<boolean> {
  const db = await openMarks();
  try {
    const tx = db.transaction('due', 'readwrite');
    const [own, any] = await Promise.all([tx.store.get(nameKey(store)), tx.store.get(ANY_STORE)]);
    await Promise.all([tx.store.delete(nameKey(store)), tx.store.delete(ANY_STORE), tx.done]);
    return own !== undefined || any !== undefined;
  } finally {
    db.close();
  }
}

/**
 * Registers Periodic Background Sync for pipelines from a page, where the browser has it and grants it (Chromium,
 * for an installed app). Resolves false — and the in-page schedule keeps working — otherwise.
 *
 * @example
 * ```ts
 * const registered = await registerPeriodicSync(await navigator.serviceWorker.ready, { minInterval: 24 * 3600_000 });
 * ```
 */
export async function registerPeriodicSync(registration: ServiceWorkerRegistration, options: { tag?: string; minInterval: number }): Promise<boolean> {
  const periodic = (registration as ServiceWorkerRegistration & { periodicSync?: { register(tag: string, o: { minInterval: number }): Promise<void> } }).periodicSync;
  if (periodic === undefined) return false;
  try {
    const status = await navigator.permissions.query({ name: 'periodic-background-sync' as PermissionName });
    if (status.state !== 'granted') return false;
    await periodic.register(options.tag ?? PIPELINE_SYNC_TAG, { minInterval: options.minInterval });
    return true;
  } catch {
    return false; // not supported or refused: the in-page schedule still runs while the app is open
  }
}
