/// <reference lib="webworker" />
/**
 * The service-worker side of pipeline schedules: an entry point for Periodic Background Sync.
 *
 * A service worker cannot run a store itself — DuckDB-WASM's OPFS file needs a dedicated worker, and a service worker
 * can create none — so on a sync event this entry point asks an open page of the app to run its due pipelines (and
 * waits for them, keeping the event alive), or, when no page is open, leaves a mark that makes the next page that
 * opens the store run them at once.
 *
 * @example
 * ```ts
 * // sw.ts
 * import { handlePeriodicSync } from 'larder/service-worker';
 * self.addEventListener('periodicsync', (event) => handlePeriodicSync(event));
 *
 * // app.ts, after registering the service worker and the scheduled pipelines
 * import { registerPeriodicSync } from 'larder';
 * await registerPeriodicSync(await navigator.serviceWorker.ready, { minInterval: 12 * 3600_000 });
 * ```
 * @packageDocumentation
 */
import { markServiceWorkerDue, PIPELINE_SYNC_TAG, SERVICE_WORKER_MESSAGE } from './pipelines/background-sync.ts';

export { PIPELINE_SYNC_TAG };

/** What {@link runPipelinesFromServiceWorker} did: asked an open page (and what it ran), or left a mark for later. */
export type ServiceWorkerRunResult =
  | { outcome: 'ran'; runs: { id: string; pipeline: string; status: string }[] }
  | { outcome: 'failed'; error: { name: string; code: string | null; message: string } }
  | { outcome: 'deferred' };

interface PageAnswer {
  ok: boolean;
  runs?: { id: string; pipeline: string; status: string }[];
  error?: { name: string; code: string | null; message: string };
}

interface PeriodicSyncEventLike extends ExtendableEvent {
  tag: string;
}

declare const self: ServiceWorkerGlobalScope;

/**
 * Asks an open page of the app to run the due pipelines of a store (every store when none is named) and waits for
 * its answer; with no page open, marks them due for the next page that opens the store.
 *
 * @example
 * ```ts
 * self.addEventListener('message', (event) => { if (event.data === 'refresh') event.waitUntil(runPipelinesFromServiceWorker()); });
 * ```
 */
export async function runPipelinesFromServiceWorker(options: { store?: string; timeoutMs?: number } = {}): Promise<ServiceWorkerRunResult> {
  const pages = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  let result: ServiceWorkerRunResult = { outcome: 'deferred' };
  if (pages.length > 0) {
    // Every page of the origin is asked; only pages with the store open (and pipelines scheduled) answer, and the
    // first answer counts.
    result = await new Promise<ServiceWorkerRunResult>((resolve) => {
      const channels = pages.map(() => new MessageChannel());
      const settle = (outcome: ServiceWorkerRunResult): void => {
        clearTimeout(timer);
        for (const channel of channels) channel.port1.close();
        resolve(outcome);
      };
      const timer = setTimeout(() => settle({ outcome: 'deferred' }), options.timeoutMs ?? 5 * 60_000);
      const message = { type: SERVICE_WORKER_MESSAGE, ...(options.store === undefined ? {} : { store: options.store }) };
      pages.forEach((page, i) => {
        const channel = channels[i]!;
        channel.port1.onmessage = ({ data }: MessageEvent<PageAnswer>) =>
          settle(data.ok ? { outcome: 'ran', runs: data.runs ?? [] } : { outcome: 'failed', error: data.error ?? { name: 'Error', code: null, message: 'unknown' } });
        page.postMessage(message, [channel.port2]);
      });
    });
  }
  // No page open, or none answered in time: the next page that opens the store runs them.
  if (result.outcome === 'deferred') await markServiceWorkerDue(options.store);
  return result;
}

/**
 * Answers a `periodicsync` event with Larder's tag (or the given one): runs the due pipelines through an open page,
 * or defers them to the next page load. Returns false, doing nothing, for other tags.
 *
 * @example
 * ```ts
 * self.addEventListener('periodicsync', (event) => handlePeriodicSync(event, { store: 'weather' }));
 * ```
 */
export function handlePeriodicSync(event: Event, options: { tag?: string; store?: string; timeoutMs?: number } = {}): boolean {
  const sync = event as PeriodicSyncEventLike;
  if (sync.tag !== (options.tag ?? PIPELINE_SYNC_TAG)) return false;
  sync.waitUntil(runPipelinesFromServiceWorker(options));
  return true;
}
