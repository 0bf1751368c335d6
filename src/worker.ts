/// <reference lib="webworker" />
/**
 * The store worker's entry point, for apps that register on-demand features. Write a worker module that imports the
 * same functions your app uses and serves the store with them, and pass it to `openFeatureStore({ createWorker })`.
 *
 * @example
 * ```ts
 * // my-store.worker.ts
 * import { serveStore } from 'larder/worker';
 * import { tempRange } from './features.ts';
 * serveStore({ onDemand: [tempRange] });
 *
 * // app.ts
 * const store = await openFeatureStore({
 *   name: 'app',
 *   createWorker: () => new Worker(new URL('./my-store.worker.ts', import.meta.url), { type: 'module' }),
 * });
 * ```
 * @packageDocumentation
 */
import * as Comlink from 'comlink';
import { installErrorTransfer } from './rpc/transfer.ts';
import { StoreService, type StoreServiceOptions } from './service/store-service.ts';

export { defineOnDemand, type OnDemandFeature, type OnDemandInputs } from './transforms/on-demand.ts';
export type { StoreServiceOptions };


/** Serves a store from this worker, with the given on-demand features. Call once, at the top of the worker module. */
export function serveStore(options: StoreServiceOptions = {}): void {
  installErrorTransfer();
  Comlink.expose(new StoreService(options));
}
