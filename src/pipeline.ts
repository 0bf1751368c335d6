/// <reference lib="webworker" />
/**
 * The entry point of feature pipeline workers: a pipeline's module calls {@link servePipeline} with its code, and the
 * store runs it in that worker (see `store.pipelines.register`). It loads only what a pipeline needs (no DuckDB, no
 * tfjs): the store is reached through a port to the store worker.
 * @packageDocumentation
 */
import * as Comlink from 'comlink';
import { installErrorTransfer } from './rpc/transfer.ts';
import { connectedStore } from './feature-store.ts';
import { executeRun, type FeaturePipeline, type PipelineWorkerApi, type RunHooks, type RunRequest } from './pipelines/feature-pipeline.ts';
import type { StoreWorkerApi } from './rpc/store-api.ts';

export type {
  FeaturePipeline, PipelineContext, PipelineLogger, PipelineRows, PipelineProgress, PipelineLogEntry,
} from './pipelines/feature-pipeline.ts';

/**
 * Serves a feature pipeline from this worker: the module given to `store.pipelines.register({ module })`. Call once,
 * at the top of the worker module. `run` is called for each chunk of a window; `onBatch` for each micro-batch of a
 * stream; rows given to `ctx.write` are committed when the call returns.
 *
 * @example
 * ```ts
 * // daily-weather.pipeline.ts
 * import { servePipeline } from 'larder/pipeline';
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
  // One run per worker: an abort that arrives before execute() still stops it.
  const controller = new AbortController();
  const api: PipelineWorkerApi = {
    ready: () => true,
    async execute(request: RunRequest, storePort: MessagePort, hooks: RunHooks) {
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
