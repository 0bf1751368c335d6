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
import { connectedStore } from './feature-store.ts';
import { executeRun, type FeaturePipeline, type PipelineWorkerApi, type RunHooks, type RunRequest } from './pipelines/feature-pipeline.ts';
import type { StoreWorkerApi } from './rpc/store-api.ts';

export { defineOnDemand, type OnDemandFeature, type OnDemandInputs } from './transforms/on-demand.ts';
export type { StoreServiceOptions };
export type {
  FeaturePipeline, PipelineContext, PipelineLogger, PipelineRows, PipelineProgress, PipelineLogEntry,
} from './pipelines/feature-pipeline.ts';

/** Serves a store from this worker, with the given on-demand features. Call once, at the top of the worker module. */
export function serveStore(options: StoreServiceOptions = {}): void {
  installErrorTransfer();
  Comlink.expose(new StoreService(options));
}

/**
 * Serves a feature pipeline from this worker: the module given to `store.pipelines.register({ module })`. Call once,
 * at the top of the worker module. `run` is called for each chunk of a window; `onBatch` for each micro-batch of a
 * stream; rows given to `ctx.write` are committed when the call returns.
 *
 * @example
 * ```ts
 * // daily-weather.pipeline.ts
 * import { servePipeline } from 'larder/worker';
 * servePipeline({
 *   async run(ctx) {
 *     const raw = await (await ctx.store.getFeatureGroup('weather_raw', 1)).read({ start: ctx.window.start ?? undefined, end: ctx.window.end ?? undefined });
 *     ctx.write('weather_daily', dailyFeatures(raw));
 *   },
 * });
 * ```
 */
export function servePipeline<P = Record<string, unknown>>(pipeline: FeaturePipeline<P>): void {
  installErrorTransfer();
  let controller = new AbortController();
  const api: PipelineWorkerApi = {
    async execute(request: RunRequest, storePort: MessagePort, hooks: RunHooks) {
      controller = new AbortController();
      const store = connectedStore(request.store.name, request.store.persistent, Comlink.wrap<StoreWorkerApi>(storePort));
      try {
        return await executeRun(pipeline as FeaturePipeline, request, store, hooks, controller.signal);
      } finally {
        await store.close();
        storePort.close();
      }
    },
    abort(reason: string) {
      controller.abort(new Error(reason));
    },
  };
  Comlink.expose(api);
}
