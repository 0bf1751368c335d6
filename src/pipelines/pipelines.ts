import * as Comlink from 'comlink';
import { nameKey, validateName } from '../definitions/names.ts';
import { parseDurationSeconds } from '../definitions/duration.ts';
import { InvalidArgumentError, NotFoundError, OperationAbortedError, PipelineRunError, StoreClosedError, errorSummary } from '../errors.ts';
import { instantToMillis, type Instant } from '../offline/filters.ts';
import type { GroupRef, PipelineDefinition, PipelineRunRecord, PipelineSchedule } from '../registry/types.ts';
import type { FeatureStore } from '../feature-store.ts';
import type { PipelineLogEntry, PipelineProgress, PipelineWorkerApi, RunRequest } from './feature-pipeline.ts';
import { toReadableStream, type StreamOptions, type StreamSource } from './streams.ts';
import { serviceWorkerMarkedAt, SERVICE_WORKER_MESSAGE } from './background-sync.ts';

/** Where a pipeline's code comes from: a worker module URL, or a function that creates its worker (bundlers). */
export type PipelineModule = string | URL | (() => Worker);

/** Options of {@link Pipelines.register}. */
export interface RegisterPipelineOptions {
  /** Letters, digits, underscore; case-insensitive like every name in the store. */
  name: string;
  /**
   * The pipeline's worker module (a module that calls `servePipeline`): its URL, or a function creating the worker —
   * `() => new Worker(new URL('./daily.pipeline.ts', import.meta.url), { type: 'module' })` lets Vite bundle it.
   */
  module: PipelineModule;
  /** Groups the pipeline writes (FeatureGroups, or names and versions). Each chunk commits to all of them at once. */
  outputs: readonly { name: string; version: number }[];
  /** Groups whose new commits incremental runs receive through `ctx.changes` (late rows included). */
  inputs?: readonly { name: string; version: number }[];
  /** Cut windowed runs into chunks of this length (seconds or '1d', '12h'…): each chunk commits on its own. */
  chunk?: number | string;
  /** Run by itself while the app is open: every `every` (seconds or '15m'), and when the browser comes back online. */
  schedule?: { every: number | string; onOnline?: boolean; mode?: 'window' | 'incremental'; params?: Record<string, unknown> };
}

/** Options of {@link Pipelines.run}. */
export interface RunPipelineOptions {
  /**
   * `window` (default): the given window, cut into chunks. `incremental`: from the end of the last successful run's
   * window to now, with the inputs' commits since that run.
   */
  mode?: 'window' | 'incremental';
  /** Start of the window (inclusive); default: from the beginning (window mode) or the last run's end (incremental). */
  start?: Instant;
  /** End of the window (exclusive); default now. */
  end?: Instant;
  params?: Record<string, unknown>;
  /** Chunk length for this run, overriding the registered one. */
  chunk?: number | string;
  signal?: AbortSignal;
  onProgress?: (progress: PipelineProgress) => void;
  onLog?: (entry: PipelineLogEntry) => void;
}

/** Options of {@link Pipelines.stream}. */
export interface StreamPipelineOptions extends Omit<StreamOptions, 'signal'> {
  params?: Record<string, unknown>;
  /** A micro-batch closes at this many events (default 1000)… */
  maxRows?: number;
  /** …or this many milliseconds after its first event (default 1000). Each micro-batch is one commit per output. */
  maxWaitMs?: number;
  signal?: AbortSignal;
  onProgress?: (progress: PipelineProgress) => void;
  onLog?: (entry: PipelineLogEntry) => void;
}

type Trigger = PipelineRunRecord['trigger'];

/** A planned run: everything but its id and the inputs' commit ranges. */
interface Plan {
  mode: PipelineRunRecord['mode'];
  trigger: Trigger;
  window: { start: number | null; end: number | null } | null;
  chunkMs: number | null;
  params: Record<string, unknown>;
  inputs: PipelineRunRecord['inputs'] | null;
  /** The groups written: the run's own outputs when resuming, the definition's otherwise (null). */
  outputs: GroupRef[] | null;
  resumeOf: string | null;
  stream: ReadableStream<unknown> | null;
  /** The error the stream's source failed with, as thrown here (it reaches the worker as a plain Error). */
  sourceError?: () => unknown;
  microBatch: { maxRows: number; maxWaitMs: number };
}

/** The most chunks one run may have (a window far too long for its chunk length is a mistake, not a plan). */
const MAX_CHUNKS = 100_000;
/** How long an aborted pipeline's code gets to stop by itself before its worker is terminated. */
const ABORT_GRACE_MS = 5_000;
/** How long a pipeline worker gets to load its module and answer (a module that never calls servePipeline fails). */
const READY_TIMEOUT_MS = 30_000;
/** The longest schedule interval browser timers can wait (2^31 − 1 ms, about 24.8 days). */
const MAX_INTERVAL_MS = 2 ** 31 - 1;

/** A windowed run's options, checked before it waits for its lock; the window is fixed once it holds it. */
interface WindowSpec {
  mode: 'window' | 'incremental';
  start: number | null;
  /** null: now, when the run starts. */
  end: number | null;
  /** undefined: the definition's chunk length. */
  chunkMs: number | null | undefined;
  params: Record<string, unknown>;
}

/** Cuts [start, end) into consecutive windows of `chunkMs` (the last one shorter); one window when not cut. */
export function chunkWindows(start: number | null, end: number | null, chunkMs: number | null): { start: number | null; end: number | null }[] {
  if (chunkMs === null || start === null || end === null) return [{ start, end }];
  if (end <= start) return [{ start, end }];
  const count = Math.ceil((end - start) / chunkMs);
  if (count > MAX_CHUNKS) {
    throw new InvalidArgumentError(`The window would be cut into ${count} chunks (at most ${MAX_CHUNKS}); use a longer chunk.`);
  }
  return Array.from({ length: count }, (_, i) => ({ start: start + i * chunkMs, end: Math.min(end, start + (i + 1) * chunkMs) }));
}

/**
 * The succeeded run an incremental run continues from: among incremental runs and window runs that covered all
 * history (no start), the one whose window ends last. A window run over part of history (a late backfill) does not
 * move an incremental pipeline; it saw only its window, not every commit up to its end.
 */
export function lastSuccessfulRun(runs: readonly PipelineRunRecord[]): PipelineRunRecord | null {
  let best: PipelineRunRecord | null = null;
  for (const run of runs) {
    if (run.status !== 'succeeded' || run.window === null || run.window.end === null) continue;
    if (run.mode !== 'incremental' && !(run.mode === 'window' && run.window.start === null)) continue;
    if (best === null || run.window.end > best.window!.end! || (run.window.end === best.window!.end && run.startedAt > best.startedAt)) best = run;
  }
  return best;
}

function groupRefs(groups: readonly { name: string; version: number }[] | undefined, what: string): GroupRef[] {
  if (groups === undefined) return [];
  if (!Array.isArray(groups)) throw new InvalidArgumentError(`${what} must be an array of feature groups (or { name, version }).`);
  const seen = new Set<string>();
  return groups.map((g: { name: string; version: number }) => {
    if (typeof g !== 'object' || g === null) throw new InvalidArgumentError(`${what}: each entry is a feature group or { name, version }.`);
    const group = validateName(g.name, 'feature group');
    if (!Number.isSafeInteger(g.version) || g.version < 1) throw new InvalidArgumentError(`${what}: ${group} needs a version (a positive integer).`);
    if (seen.has(nameKey(group))) throw new InvalidArgumentError(`${what}: ${group} is listed twice.`);
    seen.add(nameKey(group));
    return { group, version: g.version };
  });
}

function durationMs(value: number | string | undefined, what: string): number | null {
  return value === undefined ? null : parseDurationSeconds(value, what) * 1000;
}

function positiveInteger(value: number | undefined, fallback: number, what: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) throw new InvalidArgumentError(`${what} must be a positive integer.`);
  return value;
}

function plainParams(params: Record<string, unknown> | undefined): Record<string, unknown> {
  if (params === undefined) return {};
  if (typeof params !== 'object' || params === null || Array.isArray(params)) throw new InvalidArgumentError('params must be an object.');
  try {
    return structuredClone(params);
  } catch (error) {
    throw new InvalidArgumentError('params must be plain data (structured-cloneable): no functions or DOM objects.', { cause: error });
  }
}

/**
 * Feature pipelines of a store: register them with their worker modules, run them over windows (in chunks,
 * resumable), incrementally, or over streams in micro-batches, schedule them, and read their run history.
 * Get it from {@link FeatureStore.pipelines}.
 */
export class Pipelines {
  private readonly modules = new Map<string, PipelineModule>();
  private readonly schedules = new Map<string, () => void>();
  private readonly active = new Set<{ controller: AbortController; settled: Promise<unknown> }>();
  private readonly listeners = new Set<(run: PipelineRunRecord) => void>();
  private stopServiceWorkerListener: (() => void) | null = null;
  private readonly lockScope: string;
  private closed = false;

  /** @internal */
  constructor(private readonly store: FeatureStore) {
    // In-memory stores of the same name may be open side by side: their pipelines must not wait for each other.
    this.lockScope = store.persistent ? nameKey(store.name) : `${nameKey(store.name)}:${crypto.randomUUID()}`;
  }

  /**
   * Registers (or updates) a pipeline and, with a schedule, starts running it by itself while the store is open.
   * The definition is stored; the module is known to this page only, so register again after each page load.
   *
   * @example
   * ```ts
   * await store.pipelines.register({
   *   name: 'trip_features',
   *   module: () => new Worker(new URL('./trip-features.pipeline.ts', import.meta.url), { type: 'module' }),
   *   inputs: [trips], outputs: [tripFeatures], chunk: '7d',
   *   schedule: { every: '15m' },
   * });
   * ```
   */
  async register(options: RegisterPipelineOptions): Promise<PipelineDefinition> {
    if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('register needs { name, module, outputs }.');
    const name = validateName(options.name, 'pipeline');
    const module = options.module;
    if (typeof module !== 'string' && typeof module !== 'function' && !(module instanceof URL)) {
      throw new InvalidArgumentError(`Pipeline '${name}': module must be a worker module URL or a function that creates the worker.`);
    }
    const outputs = groupRefs(options.outputs, `Pipeline '${name}' outputs`);
    if (outputs.length === 0) throw new InvalidArgumentError(`Pipeline '${name}' needs at least one output group.`);
    const inputs = groupRefs(options.inputs, `Pipeline '${name}' inputs`);
    const api = this.store.api();
    for (const ref of [...outputs, ...inputs]) await api.getFeatureGroup(ref.group, ref.version); // NotFoundError now, not at the first run
    let schedule: PipelineSchedule | null = null;
    if (options.schedule !== undefined) {
      const s = options.schedule;
      const mode = s.mode ?? 'incremental';
      if (mode !== 'window' && mode !== 'incremental') throw new InvalidArgumentError(`Pipeline '${name}': schedule.mode must be 'window' or 'incremental'.`);
      schedule = { everyMs: durationMs(s.every, `Pipeline '${name}' schedule.every`)!, onOnline: s.onOnline ?? true, mode, params: plainParams(s.params) };
      if (schedule.everyMs > MAX_INTERVAL_MS) {
        throw new InvalidArgumentError(`Pipeline '${name}': schedule.every must be at most 24 days (the longest a browser timer waits).`);
      }
    }
    const now = Date.now();
    const existing = await api.getPipeline(name);
    const definition: PipelineDefinition = {
      name, inputs, outputs, chunkMs: durationMs(options.chunk, `Pipeline '${name}' chunk`), schedule,
      createdAt: existing?.createdAt ?? now, updatedAt: now,
    };
    await api.putPipeline(definition);
    this.modules.set(nameKey(name), module);
    this.stopSchedule(name);
    if (schedule !== null) this.startSchedule(definition);
    return definition;
  }

  /**
   * A registered pipeline's definition. Throws NotFoundError.
   *
   * @example
   * ```ts
   * const { schedule } = await store.pipelines.get('trip_features');
   * ```
   */
  async get(name: string): Promise<PipelineDefinition> {
    const definition = await this.store.api().getPipeline(name);
    if (definition === undefined) throw new NotFoundError(`No pipeline '${name}' is registered in store '${this.store.name}'.`);
    return definition;
  }

  /**
   * Every registered pipeline's definition.
   *
   * @example
   * ```ts
   * for (const p of await store.pipelines.list()) show(p.name, p.schedule?.everyMs);
   * ```
   */
  async list(): Promise<PipelineDefinition[]> {
    return this.store.api().listPipelines();
  }

  /**
   * Runs a pipeline in its worker and resolves with the run record once every chunk is committed. Waits while
   * another run of the same pipeline is in progress (a Web Lock per pipeline: runs never overlap). A failure
   * rejects with PipelineRunError (an abort with OperationAbortedError), `details.run` holding the recorded run;
   * the chunk it was in left no commit, earlier chunks stay (see {@link resume}).
   *
   * @example
   * ```ts
   * const backfill = await store.pipelines.run('trip_features', { start: '2015-01-01', end: '2016-01-01', chunk: '30d' });
   * const latest = await store.pipelines.run('trip_features', { mode: 'incremental' });
   * ```
   */
  async run(name: string, options: RunPipelineOptions = {}): Promise<PipelineRunRecord> {
    await this.get(name);
    const mode = options.mode ?? 'window';
    if (mode !== 'window' && mode !== 'incremental') throw new InvalidArgumentError(`mode must be 'window' or 'incremental', got '${String(mode)}'.`);
    const start = options.start === undefined ? null : instantToMillis(options.start, 'start');
    const end = options.end === undefined ? null : instantToMillis(options.end, 'end');
    if (mode === 'window' && start !== null && end !== null && end <= start) throw new InvalidArgumentError('end must be after start.');
    const spec: WindowSpec = {
      mode, start, end, chunkMs: options.chunk === undefined ? undefined : durationMs(options.chunk, 'chunk'), params: plainParams(options.params),
    };
    // The window and the inputs' commit ranges are fixed once the run holds its lock: a run that waited for another
    // continues where that one ended.
    return (await this.execute(name, (definition) => this.plan(definition, spec, 'manual'), options, { skipIfBusy: false, stream: false }))!;
  }

  /**
   * Continues a failed or aborted run (a tab closed in the middle of a backfill, say): the same window, chunks,
   * parameters and input commit ranges; chunks the run committed are skipped, not redone.
   *
   * @example
   * ```ts
   * const interrupted = (await store.pipelines.runs('trip_features')).find((r) => r.status === 'aborted');
   * if (interrupted) await store.pipelines.resume(interrupted.id);
   * ```
   */
  async resume(runId: string, options: Pick<RunPipelineOptions, 'signal' | 'onProgress' | 'onLog'> = {}): Promise<PipelineRunRecord> {
    const original = await this.store.api().getPipelineRun(runId);
    if (original === undefined) throw new NotFoundError(`No pipeline run '${String(runId)}' in store '${this.store.name}'.`);
    if (original.status === 'running' || original.status === 'succeeded') {
      throw new InvalidArgumentError(`Run ${runId} of '${original.pipeline}' is ${original.status}; only failed or aborted runs are resumed.`);
    }
    if (original.mode === 'stream') throw new InvalidArgumentError(`Run ${runId} consumed a stream; a stream cannot be replayed, start a new one.`);
    const plan: Plan = {
      mode: original.mode, trigger: 'resume', window: original.window, chunkMs: original.chunkMs, params: original.params,
      inputs: original.inputs, outputs: original.outputs.map(({ group, version }) => ({ group, version })),
      resumeOf: original.resumeOf ?? original.id, stream: null, microBatch: { maxRows: 1, maxWaitMs: 1 },
    };
    return (await this.execute(original.pipeline, () => Promise.resolve(plan), options, { skipIfBusy: false, stream: false }))!;
  }

  /**
   * Runs a pipeline's `onBatch` over a stream of events — an async iterable, a ReadableStream, a WebSocket or an
   * EventSource — in micro-batches, each committed to every output at once. Pull sources are read only as fast as
   * the store commits (backpressure); push sources (WebSocket, EventSource) are buffered up to `maxBuffered` events,
   * beyond which the run fails with StreamOverflowError. Resolves when the source ends.
   *
   * @example
   * ```ts
   * const run = await store.pipelines.stream('trip_features', new EventSource('/trips'), { maxRows: 500, maxWaitMs: 2000 });
   * ```
   */
  async stream(name: string, source: StreamSource, options: StreamPipelineOptions = {}): Promise<PipelineRunRecord> {
    // Everything before the source is adopted stays synchronous: a WebSocket's or EventSource's messages that arrive
    // before its listeners exist are lost.
    const microBatch = {
      maxRows: positiveInteger(options.maxRows, 1000, 'maxRows'),
      maxWaitMs: options.maxWaitMs ?? 1000,
    };
    if (!Number.isFinite(microBatch.maxWaitMs) || microBatch.maxWaitMs <= 0) throw new InvalidArgumentError('maxWaitMs must be a positive number.');
    const reader = toReadableStream(source, {
      ...(options.highWaterMark === undefined ? {} : { highWaterMark: options.highWaterMark }),
      ...(options.maxBuffered === undefined ? {} : { maxBuffered: options.maxBuffered }),
      ...(options.decode === undefined ? {} : { decode: options.decode }),
    }).getReader();
    // Read on demand only (no queue of its own), keeping the source's failure with its class for the run record.
    let sourceError: unknown;
    const stream = new ReadableStream<unknown>(
      {
        async pull(controller) {
          try {
            const next = await reader.read();
            if (next.done) controller.close();
            else controller.enqueue(next.value);
          } catch (error) {
            sourceError = error;
            controller.error(error);
          }
        },
        cancel: (reason) => reader.cancel(reason),
      },
      { highWaterMark: 0 },
    );
    try {
      await this.get(name);
      const plan: Plan = {
        mode: 'stream', trigger: 'manual', window: null, chunkMs: null, params: plainParams(options.params), inputs: null, outputs: null,
        resumeOf: null, stream, sourceError: () => sourceError, microBatch,
      };
      return (await this.execute(name, () => Promise.resolve(plan), options, { skipIfBusy: false, stream: true }))!;
    } finally {
      // Whatever happened (a run that never started, a worker that died), the source is closed: sockets, iterators.
      await reader.cancel(new Error('The stream pipeline ended.')).catch(() => undefined); // closed already: fine
    }
  }

  /**
   * The run history of a pipeline (every pipeline when no name is given), oldest first.
   *
   * @example
   * ```ts
   * for (const r of await store.pipelines.runs('trip_features')) show(r.status, r.window, r.outputs, r.error);
   * ```
   */
  async runs(name?: string): Promise<PipelineRunRecord[]> {
    return this.store.api().listPipelineRuns(name);
  }

  /**
   * Calls `listener` with the record of every run that ends (succeeded, failed or aborted), scheduled runs included.
   * Returns a function that unsubscribes.
   *
   * @example
   * ```ts
   * const stop = store.pipelines.subscribe((run) => { if (run.status === 'failed') notify(run.error); });
   * ```
   */
  subscribe(listener: (run: PipelineRunRecord) => void): () => void {
    if (typeof listener !== 'function') throw new InvalidArgumentError('subscribe takes a function.');
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Runs every scheduled pipeline registered in this page that is due (its interval has passed since its last run),
   * or all of them with `force`; a pipeline that is running already is skipped. The service-worker entry point
   * calls this through the page (see `larder/service-worker`).
   *
   * @example
   * ```ts
   * const runs = await store.pipelines.runDue({ force: true });
   * ```
   */
  async runDue(options: { force?: boolean; trigger?: Trigger } = {}): Promise<PipelineRunRecord[]> {
    const done: PipelineRunRecord[] = [];
    for (const definition of await this.list()) {
      if (definition.schedule === null || !this.modules.has(nameKey(definition.name))) continue;
      if (options.force !== true && !(await this.isDue(definition))) continue;
      const run = await this.runScheduled(definition.name, options.trigger ?? 'schedule');
      if (run !== null) done.push(run);
    }
    return done;
  }

  /** @internal Stops the schedules and aborts runs in progress, waiting until they are recorded. */
  async close(): Promise<void> {
    this.closed = true;
    for (const name of [...this.schedules.keys()]) this.stopSchedule(name);
    this.stopServiceWorkerListener?.();
    this.stopServiceWorkerListener = null;
    for (const run of this.active) run.controller.abort(new Error('The store is closing.'));
    await Promise.allSettled([...this.active].map((r) => r.settled));
  }

  private async isDue(definition: PipelineDefinition): Promise<boolean> {
    const runs = (await this.runs(definition.name)).filter((r) => r.mode !== 'stream');
    const last = runs.at(-1);
    return last === undefined || Date.now() - last.startedAt >= definition.schedule!.everyMs;
  }

  private startSchedule(definition: PipelineDefinition): void {
    const schedule = definition.schedule!;
    const tick = (trigger: Trigger): void => void this.runScheduled(definition.name, trigger);
    const timer = setInterval(() => tick('schedule'), schedule.everyMs);
    const onOnline = (): void => tick('online');
    if (schedule.onOnline) globalThis.addEventListener?.('online', onOnline);
    this.schedules.set(nameKey(definition.name), () => {
      clearInterval(timer);
      globalThis.removeEventListener?.('online', onOnline);
    });
    this.listenToServiceWorker();
    // Catch up at once when a service worker asked for a run while no page was open (a mark newer than the last
    // run), or when the interval has passed while the app was closed.
    const catchUp = async (): Promise<void> => {
      const markedAt = await serviceWorkerMarkedAt(this.store.name);
      const last = (await this.runs(definition.name)).filter((r) => r.mode !== 'stream').at(-1);
      if (markedAt !== null && (last === undefined || last.startedAt < markedAt)) tick('service-worker');
      else if (await this.isDue(definition)) tick('schedule');
    };
    catchUp().catch(() => undefined); // a closed store: the schedule stopped with it
  }

  private stopSchedule(name: string): void {
    this.schedules.get(nameKey(name))?.();
    this.schedules.delete(nameKey(name));
  }

  /** Answers the service-worker entry point's requests (periodic background sync) by running due pipelines. */
  private listenToServiceWorker(): void {
    const container = (globalThis.navigator as Navigator | undefined)?.serviceWorker;
    if (this.stopServiceWorkerListener !== null || container === undefined) return;
    const onMessage = (event: MessageEvent): void => {
      const data = event.data as { type?: unknown; store?: unknown } | null;
      if (data?.type !== SERVICE_WORKER_MESSAGE || (typeof data.store === 'string' && nameKey(data.store) !== nameKey(this.store.name))) return;
      const reply = event.ports[0];
      this.runDue({ force: true, trigger: 'service-worker' }).then(
        (runs) => reply?.postMessage({ ok: true, runs: runs.map((r) => ({ id: r.id, pipeline: r.pipeline, status: r.status })) }),
        (error: unknown) => reply?.postMessage({ ok: false, error: errorSummary(error) }),
      );
    };
    container.addEventListener('message', onMessage);
    container.startMessages(); // deliver messages that arrived before this listener
    this.stopServiceWorkerListener = () => container.removeEventListener('message', onMessage);
  }

  /** A scheduled run: skipped (null) when the pipeline is running already; failures stay in the run history. */
  private async runScheduled(name: string, trigger: Trigger): Promise<PipelineRunRecord | null> {
    if (this.closed || !this.schedules.has(nameKey(name))) return null;
    try {
      return await this.execute(
        name,
        (definition) => {
          if (definition.schedule === null) throw new InvalidArgumentError(`Pipeline '${name}' is no longer scheduled.`);
          const { mode, params } = definition.schedule;
          return this.plan(definition, { mode, start: null, end: null, chunkMs: undefined, params }, trigger);
        },
        {},
        { skipIfBusy: true, stream: false },
      );
    } catch (error) {
      const run = (error as { details?: { run?: PipelineRunRecord } }).details?.run;
      return run ?? null; // recorded in the history and passed to subscribers; nobody awaits a scheduled run
    }
  }

  /** Fixes a windowed run's window and input commit ranges (called holding the pipeline's lock). */
  private async plan(definition: PipelineDefinition, spec: WindowSpec, trigger: Trigger): Promise<Plan> {
    let start = spec.start;
    let end = spec.end ?? Date.now();
    let after: PipelineRunRecord | null = null;
    if (spec.mode === 'incremental') {
      after = lastSuccessfulRun(await this.runs(definition.name));
      // A window that ended in the future (an explicit end) continues from when that run started, not from its end.
      if (after !== null) start = Math.min(after.window!.end!, after.startedAt);
      if (start !== null && end < start) end = start; // an empty window still delivers late rows (ctx.changes)
    } else if (start !== null && end <= start) {
      throw new InvalidArgumentError('end must be after start.');
    }
    const api = this.store.api();
    const inputs = await Promise.all(
      definition.inputs.map(async (input) => ({
        ...input,
        afterCommit: after?.inputs.find((i) => nameKey(i.group) === nameKey(input.group) && i.version === input.version)?.throughCommit ?? 0,
        throughCommit: await api.latestCommitId(input.group, input.version),
      })),
    );
    return {
      mode: spec.mode, trigger, window: { start, end }, chunkMs: spec.mode === 'incremental' ? null : spec.chunkMs === undefined ? definition.chunkMs : spec.chunkMs,
      params: spec.params, inputs, outputs: null, resumeOf: null, stream: null, microBatch: { maxRows: 1, maxWaitMs: 1 },
    };
  }

  /**
   * Runs a pipeline under its Web Lock (stream runs under a lock of their own, so a long stream does not block
   * backfills); null when `skipIfBusy` and another run holds it. The definition is read and the plan made holding
   * the lock.
   */
  private async execute(
    name: string,
    makePlan: (definition: PipelineDefinition) => Promise<Plan>,
    options: Pick<RunPipelineOptions, 'signal' | 'onProgress' | 'onLog'>,
    how: { skipIfBusy: boolean; stream: boolean },
  ): Promise<PipelineRunRecord | null> {
    if (this.closed) throw new StoreClosedError(`Store '${this.store.name}' is closing; its pipelines no longer run.`);
    const signal = options.signal;
    if (signal?.aborted === true) throw new OperationAbortedError(`Pipeline '${name}' was aborted before it started.`, { cause: signal.reason });
    const controller = new AbortController();
    const forward = (): void => controller.abort(signal?.reason);
    signal?.addEventListener('abort', forward, { once: true });
    const lockName = `larder:pipeline:${this.lockScope}:${nameKey(name)}${how.stream ? ':stream' : ''}`;
    const work = navigator.locks.request(lockName, how.skipIfBusy ? { ifAvailable: true } : { signal: controller.signal }, async (lock) => {
      if (lock === null) return null;
      if (controller.signal.aborted) throw new OperationAbortedError(`Pipeline '${name}' was aborted before it started.`, { cause: controller.signal.reason });
      const definition = await this.get(name);
      const module = this.modules.get(nameKey(definition.name));
      if (module === undefined) {
        throw new InvalidArgumentError(
          `Pipeline '${definition.name}' is stored but its module is not registered in this page; call store.pipelines.register() with it first.`,
        );
      }
      return this.runLocked(definition, await makePlan(definition), module, controller.signal, options);
    });
    const entry = { controller, settled: work.then(() => undefined, () => undefined) };
    this.active.add(entry);
    try {
      return await work;
    } catch (error) {
      // A lock request aborted while waiting rejects with the signal's reason.
      if (controller.signal.aborted && (error === controller.signal.reason || (error instanceof DOMException && error.name === 'AbortError'))) {
        throw new OperationAbortedError(`Pipeline '${name}' was aborted while it waited for its previous run to end.`, { cause: controller.signal.reason });
      }
      throw error;
    } finally {
      this.active.delete(entry);
      signal?.removeEventListener('abort', forward);
    }
  }

  private async runLocked(
    definition: PipelineDefinition,
    plan: Plan,
    module: PipelineModule,
    signal: AbortSignal,
    options: Pick<RunPipelineOptions, 'onProgress' | 'onLog'>,
  ): Promise<PipelineRunRecord> {
    const api = this.store.api();
    const windows = plan.stream === null ? chunkWindows(plan.window!.start, plan.window!.end, plan.chunkMs) : [];
    const outputs = plan.outputs ?? definition.outputs;
    const startedAt = Date.now();
    const record: PipelineRunRecord = {
      id: crypto.randomUUID(), pipeline: definition.name, status: 'running', mode: plan.mode, trigger: plan.trigger, window: plan.window,
      chunkMs: plan.chunkMs, params: plan.params, inputs: plan.inputs ?? [],
      outputs: outputs.map((o) => ({ ...o, rows: 0, commitIds: [], validation: [] })),
      chunks: [], chunkCount: 0, resumeOf: plan.resumeOf, logs: [], startedAt, endedAt: null, durationMs: null, error: null,
    };
    await api.putPipelineRun(record);
    const worker = typeof module === 'function' ? module() : new Worker(module, { type: 'module', name: `larder-pipeline-${definition.name}` });
    const remote = Comlink.wrap<PipelineWorkerApi>(worker);
    const cleanups: (() => void)[] = [];
    try {
      // A worker whose module fails to load or throws outside a chunk never answers: its error event ends the run.
      // Aborted: the code gets a grace period to stop at its next check, then the worker goes.
      const crashed = new Promise<never>((_, reject) => {
        const onError = (event: ErrorEvent): void => {
          event.preventDefault();
          reject(new PipelineRunError(`Pipeline '${definition.name}': its worker failed: ${event.message || 'the module could not be loaded'}.`));
        };
        worker.addEventListener('error', onError);
        cleanups.push(() => worker.removeEventListener('error', onError));
        const onAbort = (): void => {
          void remote.abort(String(signal.reason ?? 'aborted'));
          const timer = setTimeout(() => reject(new OperationAbortedError(`Pipeline '${definition.name}' was aborted; its worker was stopped.`)), ABORT_GRACE_MS);
          cleanups.push(() => clearTimeout(timer));
        };
        if (signal.aborted) onAbort();
        else {
          signal.addEventListener('abort', onAbort, { once: true });
          cleanups.push(() => signal.removeEventListener('abort', onAbort));
        }
      });
      crashed.catch(() => undefined); // raced below; once the run has settled its rejection has nobody to tell
      // The module must load and call servePipeline: a wrong file (or an HTML fallback) would never answer.
      let readyTimer: ReturnType<typeof setTimeout> | undefined;
      const silent = new Promise<never>((_, reject) => {
        readyTimer = setTimeout(
          () => reject(new PipelineRunError(`Pipeline '${definition.name}': its worker did not answer within ${READY_TIMEOUT_MS / 1000} s; does the module call servePipeline()?`)),
          READY_TIMEOUT_MS,
        );
      });
      silent.catch(() => undefined); // raced once, below
      try {
        await Promise.race([remote.ready(), crashed, silent]);
      } finally {
        clearTimeout(readyTimer);
      }
      const channel = new MessageChannel();
      await api.connect(Comlink.transfer(channel.port1, [channel.port1]));
      const request: RunRequest = {
        store: { name: this.store.name, persistent: this.store.persistent },
        record, outputs, windows, batchNamespace: plan.resumeOf ?? record.id, stream: null, microBatch: plan.microBatch,
      };
      const transfer: Transferable[] = [channel.port2];
      if (plan.stream !== null) {
        request.stream = plan.stream;
        transfer.push(plan.stream);
      }
      const hooks = Comlink.proxy({
        progress: (p: PipelineProgress) => options.onProgress?.(p),
        log: (entry: PipelineLogEntry) => options.onLog?.(entry),
      });
      const finished = await Promise.race([remote.execute(Comlink.transfer(request, transfer), channel.port2, hooks), crashed]);
      this.notify(finished);
      return finished;
    } catch (thrown) {
      worker.terminate(); // first: nothing it still has in flight may overwrite what is recorded below
      const sourceError = plan.sourceError?.();
      const error = sourceError ?? thrown;
      const stored = (await api.getPipelineRun(record.id).catch(() => undefined)) ?? record;
      let run = stored;
      if (sourceError !== undefined && stored.status === 'failed') {
        run = { ...stored, error: errorSummary(sourceError) };
        await api.putPipelineRun(run).catch(() => undefined); // the store is closing: the worker's record stands
      } else if (stored.status === 'running') {
        // The worker died or was stopped before it could record the end: record it here.
        const endedAt = Date.now();
        const aborted = signal.aborted || error instanceof OperationAbortedError;
        run = { ...stored, status: aborted ? 'aborted' : 'failed', endedAt, durationMs: endedAt - stored.startedAt, error: errorSummary(error) };
        await api.putPipelineRun(run).catch(() => undefined); // the store is closing; the next open marks it aborted
      }
      this.notify(run);
      if (run.status === 'aborted') {
        throw new OperationAbortedError(`Pipeline '${definition.name}' run ${run.id} was aborted; the chunk in progress left no commit.`, {
          details: { run }, cause: error,
        });
      }
      const next = run.mode === 'stream' ? 'committed micro-batches stay' : `resume it with store.pipelines.resume('${run.id}')`;
      const reason = run.error?.message ?? String(error);
      throw new PipelineRunError(
        `Pipeline '${definition.name}' run ${run.id} failed: ${reason}${/[.!?]$/.test(reason) ? '' : '.'} The ${run.mode === 'stream' ? 'micro-batch' : 'chunk'} ` +
          `in progress left no commit; ${next}.`,
        { details: { run }, cause: error },
      );
    } finally {
      for (const cleanup of cleanups) cleanup();
      remote[Comlink.releaseProxy]();
      worker.terminate();
    }
  }

  private notify(run: PipelineRunRecord): void {
    for (const listener of this.listeners) {
      try {
        listener(run);
      } catch {
        // A subscriber's failure is its own; it must not change the run's outcome or stop other subscribers.
      }
    }
  }
}
