import { openDB, type DBSchema } from 'idb';
import { nameKey } from '../definitions/names.ts';

/** The periodic sync tag Larder registers and answers by default. */
export const PIPELINE_SYNC_TAG = 'larder-pipelines';

/** The message the service-worker entry point posts to open pages, asking them to run their due pipelines. */
export const SERVICE_WORKER_MESSAGE = 'larder:run-pipelines';

/** Marks for "a periodic sync fired while no page was open": the time, per store. */
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

/**
 * When a service worker last asked for a store's pipelines (or every store's) with no page open to run them, or
 * null. A scheduled pipeline whose last run started before that runs as soon as it is registered.
 */
export async function serviceWorkerMarkedAt(store: string): Promise<number | null> {
  const db = await openMarks();
  try {
    const marks = (await Promise.all([db.get('due', nameKey(store)), db.get('due', ANY_STORE)])).filter((m) => m !== undefined);
    return marks.length === 0 ? null : Math.max(...marks);
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
