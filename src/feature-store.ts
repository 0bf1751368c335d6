import { Sync } from './sync/sync.ts';
import * as Comlink from 'comlink';
import { Table, tableFromIPC, tableToIPC } from 'apache-arrow';
import type { FeatureGroupDefinition, FeatureGroupSpec } from './definitions/feature-group.ts';
import { validateName } from './definitions/names.ts';
import {
  DeploymentRefusedError, InvalidArgumentError, NotFoundError, OperationAbortedError, StoreClosedError, StoreLockedError, throwIfAborted,
} from './errors.ts';
import { waitForStoreRelease } from './service/lock.ts';
import { OnlineStore } from './online/indexeddb.ts';
import type { MaterializeRequest, MaterializeResult } from './online/materialize.ts';
import { readGroupRows, type FeatureVector, type OnlineRow } from './online/reader.ts';
import { OnlineViewReader, type FeatureVectorOptions } from './online/view-reader.ts';
import { OnDemandRegistry, type OnDemandFeature } from './transforms/on-demand.ts';
import { ModelRegistry, Runs } from './models/model-registry.ts';
import { train, type TrainOptions, type TrainOutcome } from './pipelines/train.ts';
import { instantToMillis, type Instant, type Where } from './offline/filters.ts';
import type { DuckDbAssets } from './offline/duckdb/engine.ts';
import type { ErasureReport, IngestSource, Progress, TrainingDataProgress } from './offline/types.ts';
import type { CommitRecord, FeatureGroupStatistics } from './registry/types.ts';
import type { OpenRequest, StoreWorkerApi, TrainingDataResult } from './rpc/store-api.ts';
import { Query, type FeatureViewDefinition, type FeatureViewSpec } from './definitions/feature-view.ts';
import type { SplitSpec, TrainingDatasetInfo, TrainingDatasetRecord } from './registry/types.ts';
import { installErrorTransfer } from './rpc/transfer.ts';
import { Pipelines } from './pipelines/pipelines.ts';
import {
  BufferedLog, Deployment, ROLLBACK_REASON, predictionLogSpec, viewServes, type DeploymentOptions, type DeploymentSource,
} from './pipelines/deployment.ts';
import { InferenceClients } from './pipelines/inference-client.ts';
import { batchPredict, type BatchPredictOptions, type BatchPredictResult } from './pipelines/batch-inference.ts';
import { compareDeployments, driftReport, type CompareOptions, type DeploymentComparison, type DriftReport } from './pipelines/monitoring.ts';
import type { AliasChange } from './registry/types.ts';

/** Options of {@link openFeatureStore}. */
export interface OpenFeatureStoreOptions {
  /** The store's name: letters, digits, underscore. One DuckDB file in OPFS and one registry per name. */
  name: string;
  /** false: everything in memory, gone on close (same API). Default true: OPFS + IndexedDB. */
  persist?: boolean;
  /** Where DuckDB-WASM's wasm and worker files are served from, if not from the bundled copies (Vite `?url`). */
  duckdb?: DuckDbAssets;
  /** Creates the store worker, if the default module worker URL does not suit the bundler. */
  createWorker?: () => Worker;
  /**
   * On-demand features for online vectors read on this thread: the same definitions the store worker serves
   * (import one module in both). A view whose functions are missing here, or differ from the ones it was created
   * with, refuses to compute vectors (TransformationMismatchError).
   */
  onDemand?: readonly OnDemandFeature[];
  /**
   * What to do when the store is already open in another tab, worker or call of this origin (persistent stores only;
   * one owner at a time, elected with the Web Locks API): `'fail'` (default) rejects with StoreLockedError;
   * `'wait'` queues for ownership and opens the store as soon as the owner closes it or its tab goes — the takeover.
   * Other tabs never reach a store they do not own; they can read the online store with {@link openOnlineReader}.
   */
  whenLocked?: 'fail' | 'wait';
  /** Stops waiting for ownership (`whenLocked: 'wait'`): the call rejects with OperationAbortedError. */
  signal?: AbortSignal;
  /** Called once, when `whenLocked: 'wait'` finds the store owned elsewhere and starts to wait. */
  onWaiting?: () => void;
}

/** Input formats {@link FeatureGroup.insert} understands in files and buffers. */
export type FileFormat = 'csv' | 'json' | 'parquet';

/** What {@link FeatureGroup.insert} accepts. */
export type InsertData = Table | readonly Record<string, unknown>[] | Blob | ArrayBuffer | Uint8Array;

/** Options of {@link FeatureGroup.insert}. */
export interface InsertOptions {
  /** `append` (default) adds rows; `upsert` replaces current rows with the same primary key and event time. */
  mode?: 'append' | 'upsert';
  /** Idempotency key: re-sending a batchId returns the original commit and writes nothing. */
  batchId?: string;
  /** Format of a Blob/ArrayBuffer; detected from the file name, MIME type or content when omitted. */
  format?: FileFormat;
  /**
   * Move an ArrayBuffer/Uint8Array to the store worker instead of copying it (faster for large files). The
   * caller's buffer is detached (length 0) afterwards.
   */
  transfer?: boolean;
  signal?: AbortSignal;
  /** Progress reports; all of them arrive before `insert` resolves. */
  onProgress?: (progress: Progress) => void;
}

/** The commit an insert made, or found (`reused`) for a re-sent batchId. */
export interface InsertResult extends CommitRecord {
  reused: boolean;
  /** The commit is durable but the online store could not be written (see Online serving); it catches up later. */
  onlineError?: { name: string; code: string | null; message: string };
}

/** Options of {@link FeatureGroup.read}. */
export interface ReadOptions {
  /** Rows with event time >= start (inclusive). */
  start?: Instant;
  /** Rows with event time < end (exclusive). */
  end?: Instant;
  where?: Where;
  /** Columns to return, in this order; default all columns of the group. */
  columns?: string[];
  /** Read the group as it was right after this commit. */
  asOfCommit?: number;
  /**
   * Only rows written by commits after this one (and still current): what arrived since a watermark, whatever the
   * rows' event times — late rows included.
   */
  afterCommit?: number;
  /** Add the `_larder_commit` column (the commit id of each row). */
  withCommitIds?: boolean;
  limit?: number;
}

// Operation ids tell a store worker's concurrent operations apart; it serves several threads (the page and pipeline
// workers), each with its own counter, so each counter starts at a random point.
let nextOperationId = Math.floor(Math.random() * 2 ** 40);

/** @internal Whether a value is an Arrow table (also one made by another copy of apache-arrow). */
export function isArrowTable(data: unknown): data is Table {
  return data instanceof Table || (typeof data === 'object' && data !== null && 'schema' in data && 'batches' in data);
}

async function detectFormat(data: Blob | Uint8Array, given: FileFormat | undefined): Promise<FileFormat> {
  if (given !== undefined) {
    if (!['csv', 'json', 'parquet'].includes(given)) throw new InvalidArgumentError(`Unknown format '${String(given)}'; use csv, json or parquet.`);
    return given;
  }
  if (typeof File !== 'undefined' && data instanceof File) {
    const extension = /\.([a-z0-9]+)$/i.exec(data.name)?.[1]?.toLowerCase();
    if (extension === 'csv' || extension === 'tsv') return 'csv';
    if (extension === 'json' || extension === 'ndjson' || extension === 'jsonl') return 'json';
    if (extension === 'parquet' || extension === 'pq') return 'parquet';
  }
  if (data instanceof Blob && data.type !== '') {
    if (data.type.includes('csv')) return 'csv';
    if (data.type.includes('json')) return 'json';
    if (data.type.includes('parquet')) return 'parquet';
  }
  const head = data instanceof Blob ? new Uint8Array(await data.slice(0, 64).arrayBuffer()) : data.subarray(0, 64);
  if (head[0] === 0x50 && head[1] === 0x41 && head[2] === 0x52 && head[3] === 0x31) return 'parquet';
  const text = new TextDecoder().decode(head).replace(/^\uFEFF/, '').trimStart();
  return text.startsWith('[') || text.startsWith('{') ? 'json' : 'csv';
}

async function toSource(
  data: InsertData,
  format: FileFormat | undefined,
  transfer: boolean,
): Promise<{ source: IngestSource; transfer: Transferable[] }> {
  if (isArrowTable(data)) {
    const ipc = tableToIPC(data, 'stream');
    return { source: { format: 'arrow', ipc }, transfer: [ipc.buffer] };
  }
  if (Array.isArray(data)) return { source: { format: 'rows', rows: data as Record<string, unknown>[] }, transfer: [] };
  if (data instanceof ArrayBuffer) data = new Uint8Array(data);
  if (data instanceof Blob || data instanceof Uint8Array) {
    const moved = transfer && data instanceof Uint8Array ? [data.buffer] : [];
    return { source: { format: await detectFormat(data, format), data }, transfer: moved };
  }
  throw new InvalidArgumentError(
    'insert() takes an Arrow Table, an array of row objects, or a File/Blob/ArrayBuffer/Uint8Array of CSV, JSON or Parquet.',
  );
}

/**
 * One version of a feature group: write batches, read rows, see commits and statistics, erase entities.
 * Get one from {@link FeatureStore.createFeatureGroup} or {@link FeatureStore.getFeatureGroup}.
 */
export class FeatureGroup {
  /** The frozen definition of this version. */
  readonly definition: FeatureGroupDefinition;

  /** @internal */
  constructor(
    private readonly store: FeatureStore,
    definition: FeatureGroupDefinition,
  ) {
    this.definition = definition;
  }

  get name(): string {
    return this.definition.name;
  }

  get version(): number {
    return this.definition.version;
  }

  /**
   * Starts a feature view query: these features of this group version (its rows are the default spine).
   *
   * @example
   * ```ts
   * const query = weather.select(['temp_max', 'precipitation']).join(air.select(['pm25']), { on: ['city'], prefix: 'air_' });
   * ```
   */
  select(features: string[]): Query {
    if (!Array.isArray(features) || features.some((f) => typeof f !== 'string')) {
      throw new InvalidArgumentError('select() takes an array of feature names.');
    }
    return new Query({ left: { group: this.name, version: this.version, features: [...features] }, joins: [] });
  }

  /**
   * Validates a batch against the schema and writes it as one commit. Resolves once the commit is durable
   * (checkpointed in OPFS). Nothing is written when validation, an expectation suite (strict) or the signal fails.
   *
   * @example
   * ```ts
   * await weather.insert([{ location: 'Seattle', date: '2012-01-01', temp_max: 12.8 }]);
   * await weather.insert(csvFile, { batchId: 'import-2012', onProgress: (p) => showPhase(p.phase) });
   * await weather.insert(arrowTable, { mode: 'upsert' });
   * ```
   */
  async insert(data: InsertData, options: InsertOptions = {}): Promise<InsertResult> {
    const mode = options.mode ?? 'append';
    if (mode !== 'append' && mode !== 'upsert') throw new InvalidArgumentError(`mode must be 'append' or 'upsert', got '${String(mode)}'.`);
    if (options.batchId !== undefined && (typeof options.batchId !== 'string' || options.batchId.length === 0 || options.batchId.length > 256)) {
      throw new InvalidArgumentError('batchId must be a non-empty string of at most 256 characters.');
    }
    const { source, transfer } = await toSource(data, options.format, options.transfer ?? false);
    const onProgress = relayProgress(options.onProgress, options.signal);
    const result = await this.store.withOperation(options.signal, 'The insert', (api, operationId) =>
      api.insert(
        this.name,
        this.version,
        Comlink.transfer(source, transfer),
        { mode, batchId: options.batchId ?? null },
        operationId,
        onProgress,
      ),
    );
    return { ...result.commit, reused: result.reused, ...(result.onlineError === undefined ? {} : { onlineError: result.onlineError }) };
  }

  /**
   * Reads current rows as an Arrow table, ordered by event time then keys.
   *
   * @example
   * ```ts
   * const table = await weather.read({ start: '2014-01-01', end: '2015-01-01', where: { location: 'Seattle' } });
   * const earlier = await weather.read({ asOfCommit: 3 });
   * ```
   */
  async read(options: ReadOptions = {}): Promise<Table> {
    const limit = options.limit ?? null;
    if (limit !== null && (!Number.isSafeInteger(limit) || limit < 0)) throw new InvalidArgumentError('limit must be a non-negative integer.');
    const asOfCommit = options.asOfCommit ?? null;
    if (asOfCommit !== null && (!Number.isSafeInteger(asOfCommit) || asOfCommit < 0)) throw new InvalidArgumentError('asOfCommit must be a commit id.');
    const afterCommit = options.afterCommit ?? null;
    if (afterCommit !== null && (!Number.isSafeInteger(afterCommit) || afterCommit < 0)) throw new InvalidArgumentError('afterCommit must be a commit id.');
    const bytes = await this.store.api().read(this.name, this.version, {
      start: options.start === undefined ? null : instantToMillis(options.start, 'start'),
      end: options.end === undefined ? null : instantToMillis(options.end, 'end'),
      where: options.where ?? null,
      columns: options.columns ?? null,
      asOfCommit,
      afterCommit,
      withCommitIds: options.withCommitIds ?? false,
      limit,
    });
    return tableFromIPC(bytes);
  }

  /**
   * The commit ledger of this group, oldest first.
   *
   * @example
   * ```ts
   * for (const c of await weather.commits()) show(c.commitId, c.kind, c.rowCount, c.validation?.success);
   * ```
   */
  async commits(): Promise<CommitRecord[]> {
    return this.store.api().commits(this.name, this.version);
  }

  /**
   * Per-column statistics (count, nulls, distinct, min, max, mean, std, quantiles, histogram) of the current rows
   * as of a commit (default: the latest), computed by DuckDB once and stored with that commit.
   *
   * @example
   * ```ts
   * const stats = await weather.statistics();
   * show(stats.columns.temp_max.mean, stats.columns.temp_max.histogram);
   * ```
   */
  async statistics(options: { commitId?: number } = {}): Promise<FeatureGroupStatistics> {
    return this.store.api().statistics(this.name, this.version, options.commitId ?? null);
  }

  /**
   * Removes every row (all event times, all commits) of the given entities: the right to erasure. Recorded in the
   * ledger as a `delete` commit, which it returns. The rows also leave the online store and the training datasets of
   * views reading this group; {@link FeatureGroup.erase} does the same and also says which datasets lost rows and
   * which model versions were trained on them.
   *
   * @example
   * ```ts
   * await weather.deleteRows([{ location: 'Seattle' }]);
   * ```
   */
  async deleteRows(keys: Table | readonly Record<string, unknown>[], options: { signal?: AbortSignal } = {}): Promise<CommitRecord> {
    return (await this.erase(keys, options)).commit;
  }

  /**
   * {@link FeatureGroup.deleteRows}, reporting what the erasure reached. The entities' rows leave this group (its
   * history included), the online store and every training dataset of a view reading this group whose table keeps
   * the key columns (a dataset renames its table and updates its row counts and statistics; the next push uploads
   * it anew). Datasets whose tables do not keep the key columns are listed with `rows: null`: rebuild them. `models`
   * lists the model versions whose lineage names a listed dataset: trained on the erased data, to be retrained.
   *
   * What stays: pushed snapshots until `store.sync.purge`; model weights and fitted transformation state (learnt from
   * the rows, not the rows). The offline store's OPFS file is overwritten where the rows were (free blocks are
   * filled with noise); IndexedDB removes the online values through its own API, and the browser compacts its files
   * later.
   *
   * @example
   * ```ts
   * const { commit, datasets, models } = await weather.erase([{ location: 'Seattle' }]);
   * for (const m of models) await retrain(m.name, m.view, m.viewVersion);
   * ```
   */
  async erase(keys: Table | readonly Record<string, unknown>[], options: { signal?: AbortSignal } = {}): Promise<ErasureReport & { commit: CommitRecord }> {
    let source: IngestSource;
    if (isArrowTable(keys)) source = { format: 'arrow', ipc: tableToIPC(keys, 'stream') };
    else if (Array.isArray(keys)) source = { format: 'rows', rows: keys as Record<string, unknown>[] };
    else throw new InvalidArgumentError('deleteRows takes an array of key objects or an Arrow table of key columns.');
    const result = await this.store.withOperation(options.signal, 'The delete', (api, operationId) =>
      api.deleteRows(this.name, this.version, source, operationId),
    );
    return { commit: result.commit, datasets: result.erasure?.datasets ?? [], models: result.erasure?.models ?? [] };
  }

  /**
   * Writes the latest row per key with event time in [start, end) to the online store (only rows newer than the
   * stored ones replace them). Without start and end, rebuilds the group's online rows from its current rows.
   *
   * @example
   * ```ts
   * await weather.materialize({ start: '2015-01-01', onProgress: (p) => show(p.rows, p.totalRows) });
   * ```
   */
  async materialize(options: { start?: Instant; end?: Instant; signal?: AbortSignal; onProgress?: (progress: Progress) => void } = {}): Promise<MaterializeResult> {
    const request: MaterializeRequest = {
      kind: 'window',
      start: options.start === undefined ? null : instantToMillis(options.start, 'start'),
      end: options.end === undefined ? null : instantToMillis(options.end, 'end'),
    };
    const onProgress = relayProgress(options.onProgress, options.signal);
    return this.store.withOperation(options.signal, 'Materializing', (api, operationId) => api.materialize(this.name, this.version, request, operationId, onProgress));
  }

  /**
   * Applies every commit since the last materialized one to the online store — driven by commit ids, so rows that
   * arrive late are never missed. Resumable: after a closed tab, the next call continues from the last commit applied.
   *
   * @example
   * ```ts
   * const { commits, watermark } = await weather.materializeIncremental();
   * ```
   */
  async materializeIncremental(options: { signal?: AbortSignal; onProgress?: (progress: Progress) => void } = {}): Promise<MaterializeResult> {
    const onProgress = relayProgress(options.onProgress, options.signal);
    return this.store.withOperation(options.signal, 'Materializing', (api, operationId) =>
      api.materialize(this.name, this.version, { kind: 'incremental' }, operationId, onProgress),
    );
  }

  /**
   * The online rows of entities (objects with the primary-key columns), read on this thread in one IndexedDB
   * transaction. A row older than the group's TTL comes back `expired`, without values.
   *
   * @example
   * ```ts
   * const [seattle] = await weather.getOnline([{ location: 'Seattle' }]);
   * if (seattle.status === 'present') show(seattle.values.temp_max);
   * ```
   */
  async getOnline(entities: readonly Record<string, unknown>[]): Promise<OnlineRow[]> {
    if (!Array.isArray(entities)) throw new InvalidArgumentError('getOnline takes an array of key objects.');
    return readGroupRows(await this.store.online(), this.definition, entities, Date.now());
  }
}

/** Options of {@link FeatureView.trainingData}. */
export interface TrainingDataOptions {
  /** Rows (keys, event time, labels) to build training data for; default: the left group's rows. */
  spine?: Table | readonly Record<string, unknown>[];
  /** Event-time range of the left group's rows used as spine (start inclusive, end exclusive). */
  start?: Instant;
  end?: Instant;
  /** Only feature rows committed at or before each spine time, as they were known then. */
  asOfKnown?: boolean;
  /**
   * `{ kind: 'time', trainEnd, testStart, validationStart? }` (instants) or `{ kind: 'random', test, validation?, seed? }`.
   * Default: a time split at the 80th percentile of spine times.
   */
  split?: { kind: 'time'; trainEnd: Instant; testStart: Instant; validationStart?: Instant } | { kind: 'random'; test: number; validation?: number; seed?: number };
  /** Stops the work between phases; the call then rejects with OperationAbortedError and nothing is stored. */
  signal?: AbortSignal;
  /** Called as each phase starts: reading, joining (once per group), splitting, transforming, done. */
  onProgress?: (progress: TrainingDataProgress) => void;
}

/** Training rows of a feature view, split, with the training dataset version they are. */
export interface TrainingData {
  train: Table;
  test: Table;
  validation?: Table;
  /** The dataset's version, parameters, split sizes and fitted transformations (its statistics are in `persisted`). */
  dataset: TrainingDatasetInfo;
  /**
   * Resolves with the complete record (statistics included) once the rows are durably stored; rejects, with the
   * store untouched, if they could not be (a full disk, for example). Until then the version is not durable: a tab
   * closed in between leaves no trace of it. Later calls on the same store (getTrainingDataset, listTrainingDatasets,
   * close) wait for it.
   */
  persisted: Promise<TrainingDatasetRecord>;
}

function trainingResult(result: TrainingDataResult, persisted: Promise<TrainingDatasetRecord>): TrainingData {
  // Observed here so that a caller who never looks at it gets no unhandled rejection; awaiting it still throws.
  persisted.catch(() => undefined);
  return {
    train: tableFromIPC(result.train),
    test: tableFromIPC(result.test),
    ...(result.validation === null ? {} : { validation: tableFromIPC(result.validation) }),
    dataset: result.dataset,
    persisted,
  };
}

/**
 * One version of a feature view: point-in-time-correct training data from pinned feature-group versions.
 * Get one from {@link FeatureStore.createFeatureView} or {@link FeatureStore.getFeatureView}.
 */
export class FeatureView {
  readonly definition: FeatureViewDefinition;

  /** @internal */
  constructor(
    private readonly store: FeatureStore,
    definition: FeatureViewDefinition,
  ) {
    this.definition = definition;
  }

  get name(): string {
    return this.definition.name;
  }

  get version(): number {
    return this.definition.version;
  }

  /**
   * Builds training data: for each spine row and each group, the feature row with the same keys and the greatest
   * event time at or before the spine time (within the group's TTL; ties → latest commit), then splits it, fits the
   * view's transformations on the train split, applies them to every split, and persists a training dataset version.
   *
   * @example
   * ```ts
   * const { train, test, dataset } = await view.trainingData({ split: { kind: 'time', trainEnd: '2015-01-01', testStart: '2015-01-01' } });
   * ```
   */
  async trainingData(options: TrainingDataOptions = {}): Promise<TrainingData> {
    let spine: IngestSource | null = null;
    if (options.spine !== undefined) {
      if (isArrowTable(options.spine)) spine = { format: 'arrow', ipc: tableToIPC(options.spine, 'stream') };
      else if (Array.isArray(options.spine)) spine = { format: 'rows', rows: options.spine as Record<string, unknown>[] };
      else throw new InvalidArgumentError('spine must be an Arrow table or an array of row objects.');
    }
    let split: SplitSpec | undefined;
    const given = options.split;
    if (given?.kind === 'time') {
      split = {
        kind: 'time',
        trainEnd: instantToMillis(given.trainEnd, 'split.trainEnd'),
        testStart: instantToMillis(given.testStart, 'split.testStart'),
        ...(given.validationStart === undefined ? {} : { validationStart: instantToMillis(given.validationStart, 'split.validationStart') }),
      };
    } else if (given !== undefined) {
      split = given as SplitSpec;
    }
    const request = {
      spine,
      start: options.start === undefined ? null : instantToMillis(options.start, 'start'),
      end: options.end === undefined ? null : instantToMillis(options.end, 'end'),
      asOfKnown: options.asOfKnown ?? false,
      split,
    };
    const onProgress = relayProgress(options.onProgress, options.signal);
    const result = await this.store.withOperation(options.signal, 'Building training data', (api, operationId) =>
      api.trainingData(this.name, this.version, request, operationId, onProgress),
    );
    return trainingResult(result, this.store.api().trainingDatasetRecord(this.name, this.version, result.dataset.version));
  }

  /**
   * A persisted training dataset version: the same rows and split, with its stored (not refitted) transformations.
   *
   * @example
   * ```ts
   * const { train } = await view.getTrainingDataset(1);
   * ```
   */
  async getTrainingDataset(version: number): Promise<TrainingData> {
    const result = await this.store.api().getTrainingDataset(this.name, this.version, version);
    return trainingResult(result, Promise.resolve(result.dataset));
  }

  /**
   * Batch data for scoring: every entity of the left group with a row in [start, end), with its latest feature values
   * as of just before `end` (point-in-time, TTLs applied), optionally transformed with a training dataset's fitted
   * transformations.
   *
   * @example
   * ```ts
   * const batch = await view.getBatchData({ start: '2015-12-01', end: '2016-01-01', trainingDataset: 1 });
   * ```
   */
  async getBatchData(options: { start?: Instant; end: Instant; trainingDataset?: number }): Promise<Table> {
    const bytes = await this.store.api().batchData(this.name, this.version, {
      start: options.start === undefined ? null : instantToMillis(options.start, 'start'),
      end: instantToMillis(options.end, 'end'),
      datasetVersion: options.trainingDataset ?? null,
    });
    return tableFromIPC(bytes);
  }

  /**
   * Records of every training dataset version of this view, oldest first.
   *
   * @example
   * ```ts
   * for (const d of await view.listTrainingDatasets()) show(d.version, d.rowCounts);
   * ```
   */
  async listTrainingDatasets(): Promise<TrainingDatasetRecord[]> {
    return this.store.api().listTrainingDatasets(this.name, this.version);
  }

  /**
   * The online feature vector of one entity: the view's features in view order, then its on-demand features, each
   * with a status (present, null, not_found, expired, passed). Read on this thread from IndexedDB; the same values
   * the training-data path gives a spine row at "now".
   *
   * @example
   * ```ts
   * const v = await view.getFeatureVector({ location: 'Seattle' }, { requestData: { hour: 9 }, transformed: true });
   * model.predict(v.values);
   * ```
   */
  async getFeatureVector(entity: Record<string, unknown>, options: FeatureVectorOptions = {}): Promise<FeatureVector> {
    const [vector] = await this.getFeatureVectors([entity], options);
    return vector!;
  }

  /** Feature vectors of many entities, all groups read in one IndexedDB transaction. See {@link getFeatureVector}. */
  async getFeatureVectors(entities: readonly Record<string, unknown>[], options: FeatureVectorOptions = {}): Promise<FeatureVector[]> {
    this.reader ??= new OnlineViewReader(
      this.definition,
      {
        group: (name, version) => this.store.api().getFeatureGroup(name, version),
        datasets: (name, version) => this.store.api().listTrainingDatasets(name, version),
      },
      () => this.store.online(),
      this.store.onDemand,
    );
    return this.reader.vectors(entities, options);
  }

  private reader: OnlineViewReader | null = null;
}


/**
 * A feature store: feature groups in an offline store (DuckDB-WASM in a worker, persisted in OPFS) with their
 * definitions, commits and statistics in IndexedDB. Open it with {@link openFeatureStore}.
 */
export class FeatureStore {
  private remote: Comlink.Remote<StoreWorkerApi> | null;

  private onlineStore: Promise<OnlineStore> | null = null;

  /** @internal */
  constructor(
    readonly name: string,
    readonly persistent: boolean,
    /** The store worker, when this instance owns it; null for a store reached through another thread's worker. */
    private readonly worker: Worker | null,
    remote: Comlink.Remote<StoreWorkerApi>,
    /** @internal On-demand functions for vectors read on this thread. */
    readonly onDemand: OnDemandRegistry,
  ) {
    this.remote = remote;
  }

  /** @internal This thread's connection to the online store. */
  online(): Promise<OnlineStore> {
    this.onlineStore ??= this.api().onlineDbName().then((name) => OnlineStore.open(name));
    this.onlineStore.catch(() => (this.onlineStore = null));
    return this.onlineStore;
  }

  /** @internal */
  api(): Comlink.Remote<StoreWorkerApi> {
    if (this.remote === null) throw new StoreClosedError(`Store '${this.name}' is closed; open it again with openFeatureStore().`);
    return this.remote;
  }

  /** @internal Runs a cancellable worker call: the signal aborts it in the worker before it commits. */
  async withOperation<T>(
    signal: AbortSignal | undefined,
    what: string,
    call: (api: Comlink.Remote<StoreWorkerApi>, operationId: number) => Promise<T>,
  ): Promise<T> {
    const api = this.api();
    if (signal?.aborted === true) throw new OperationAbortedError(`${what} was aborted before it started; nothing was written.`, { cause: signal.reason });
    const operationId = nextOperationId++;
    const onAbort = (): void => {
      void api.abort(operationId, String(signal?.reason ?? 'aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await call(api, operationId);
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Creates a feature group version, or returns it when the same definition exists. A different definition under
   * an existing name and version throws SchemaConflictError.
   *
   * @example
   * ```ts
   * const weather = await store.createFeatureGroup({
   *   name: 'weather', version: 1, primaryKey: 'location', eventTime: 'date',
   *   features: { location: 'string', date: 'timestamp', temp_max: 'float64', weather: 'string' },
   *   expectations: { policy: 'strict', expectations: [expect.between('temp_max', -60, 60)] },
   * });
   * ```
   */
  async createFeatureGroup(spec: FeatureGroupSpec): Promise<FeatureGroup> {
    return new FeatureGroup(this, await this.api().createFeatureGroup(spec));
  }

  /**
   * A feature group version; the latest version when `version` is omitted. Throws NotFoundError.
   *
   * @example
   * ```ts
   * const latest = await store.getFeatureGroup('weather');
   * const v1 = await store.getFeatureGroup('weather', 1);
   * ```
   */
  async getFeatureGroup(name: string, version?: number): Promise<FeatureGroup> {
    return new FeatureGroup(this, await this.api().getFeatureGroup(name, version));
  }

  /**
   * Definitions of every feature group version, by name then version.
   *
   * @example
   * ```ts
   * for (const g of await store.listFeatureGroups()) show(g.name, g.version, g.features.length);
   * ```
   */
  async listFeatureGroups(): Promise<FeatureGroupDefinition[]> {
    return this.api().listFeatureGroups();
  }

  /**
   * Deletes a feature group version: its definition, rows, commits and statistics.
   *
   * @example
   * ```ts
   * await store.deleteFeatureGroup('weather', 1);
   * ```
   */
  async deleteFeatureGroup(name: string, version: number): Promise<void> {
    return this.api().deleteFeatureGroup(name, version);
  }

  /**
   * Creates a feature view version (or returns it when the same definition exists; a different one under the same
   * name and version throws SchemaConflictError).
   *
   * @example
   * ```ts
   * const view = await store.createFeatureView({
   *   name: 'rain', version: 1, query: weather.select(['temp_max', 'wind']), labels: ['precipitation'],
   *   transforms: [{ kind: 'standardScaler', column: 'temp_max' }],
   * });
   * ```
   */
  async createFeatureView(spec: FeatureViewSpec): Promise<FeatureView> {
    const plain = { ...spec, query: spec.query instanceof Query ? spec.query.spec : spec.query };
    return new FeatureView(this, await this.api().createFeatureView(plain));
  }

  /**
   * A feature view version; the latest when `version` is omitted. Throws NotFoundError.
   *
   * @example
   * ```ts
   * const view = await store.getFeatureView('rain');
   * ```
   */
  async getFeatureView(name: string, version?: number): Promise<FeatureView> {
    return new FeatureView(this, await this.api().getFeatureView(name, version));
  }

  /**
   * Definitions of every feature view version.
   *
   * @example
   * ```ts
   * for (const v of await store.listFeatureViews()) show(v.name, v.version);
   * ```
   */
  async listFeatureViews(): Promise<FeatureViewDefinition[]> {
    return this.api().listFeatureViews();
  }

  /**
   * Deletes a feature view version and its training datasets.
   *
   * @example
   * ```ts
   * await store.deleteFeatureView('rain', 1);
   * ```
   */
  async deleteFeatureView(name: string, version: number): Promise<void> {
    return this.api().deleteFeatureView(name, version);
  }

  /**
   * Closes the store: finishes pending writes, releases DuckDB, the OPFS file, IndexedDB and the worker.
   * Idempotent.
   *
   * @example
   * ```ts
   * await store.close();
   * ```
   */
  /**
   * Trains a model on a feature view's training rows in a training worker, records the run, checks the gates and
   * registers the model version (linked to the view, the training dataset and the run) when every gate passes.
   *
   * @example
   * ```ts
   * const { run, model } = await store.train({
   *   featureView: view, trainingDataset: 1,
   *   model: { name: 'rain', spec: { task: 'regression', layers: [{ units: 64 }, { units: 32 }] } },
   *   fit: { epochs: 20 }, gates: [{ metric: 'rmse', max: 2.5 }],
   *   onProgress: (p) => chart.add(p.epoch, p.loss),
   * });
   * ```
   */
  async train(options: TrainOptions): Promise<TrainOutcome> {
    if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('train needs options.');
    const { name, version } = options.featureView;
    const view = await this.api().getFeatureView(name, version);
    return train(this.api(), view, options);
  }

  /** The model registry: versions, aliases with history, load, export and import. */
  get models(): ModelRegistry {
    this.modelRegistry ??= new ModelRegistry(() => this.api());
    return this.modelRegistry;
  }

  /** Feature pipelines: register, run (windows, backfills, incremental), stream, schedule, run history. */
  get pipelines(): Pipelines {
    this.pipelinesApi ??= new Pipelines(this);
    return this.pipelinesApi;
  }

  /**
   * Sync: push snapshots of the store to an S3-compatible object store (or presigned URLs, or memory) and pull them
   * back, on this device or another; read-only pulls from any static host.
   *
   * @example
   * ```ts
   * const target = new S3ObjectStore({ endpoint: 'https://s3.eu-west-1.amazonaws.com', bucket: 'ml', region: 'eu-west-1', accessKeyId, secretAccessKey });
   * await store.sync.push({ target, prefix: 'weather' });
   * // on another device
   * await other.sync.pull({ target, prefix: 'weather' });
   * ```
   */
  get sync(): Sync {
    this.syncApi ??= new Sync(() => this.api(), this.name);
    return this.syncApi;
  }

  /**
   * A deployment of a model: online predictions from the version an alias points at (following it when it moves,
   * in this tab or another) or from a fixed version, with features read from that version's own feature view
   * version and transformed with its training dataset's transformations; the model stays warm in a worker.
   *
   * @example
   * ```ts
   * const predictor = await store.deployment('rain', { alias: 'champion' });
   * const { prediction, model, featureView } = await predictor.predict({ location: 'Seattle' });
   * ```
   */
  async deployment(name: string, options: DeploymentOptions = {}): Promise<Deployment> {
    if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('deployment options must be an object.');
    const deployment = await Deployment.open(this.deploymentSource(), name, options, async (view) => {
      const left = await this.api().getFeatureGroup(view.spine.group, view.spine.version);
      const log = await this.createFeatureGroup(predictionLogSpec(left, name));
      return new BufferedLog((rows) => log.insert(rows));
    });
    this.deployments.add(deployment);
    deployment.onClose = () => this.deployments.delete(deployment);
    // A page being hidden may never come back: prediction logs are written then (best effort, nobody waits).
    if (this.onPageHide === null && typeof globalThis.addEventListener === 'function') {
      this.onPageHide = () => {
        for (const d of this.deployments) d.flush().catch(() => undefined);
      };
      globalThis.addEventListener('pagehide', this.onPageHide);
    }
    return deployment;
  }

  /**
   * The green button: points an alias at a model version — and so at the feature view version it reads — in one
   * strictly durable registry transaction, recorded in the alias history; deployments following the alias switch.
   * Refused (DeploymentRefusedError) when a group of the version's feature view has nothing online to serve.
   *
   * @example
   * ```ts
   * await store.promote('rain', 2, { alias: 'champion', reason: 'rmse 1.9 < 2.3' });
   * ```
   */
  async promote(name: string, version: number, options: { alias?: string; reason?: string } = {}): Promise<AliasChange> {
    const api = this.api();
    const record = await api.getModel(name, version);
    if (record === undefined) throw new NotFoundError(`Model '${name}' has no version ${String(version)}.`);
    if (record.lineage === null) {
      throw new DeploymentRefusedError(`Model ${record.name} v${record.version} has no feature view in its lineage, so it cannot be served.`);
    }
    const view = await api.getFeatureView(record.lineage.featureView, record.lineage.featureViewVersion);
    const missing = await viewServes(view, this.deploymentSource().definitions, await this.online());
    if (missing.length > 0) {
      throw new DeploymentRefusedError(
        `Model ${record.name} v${record.version} reads feature view ${view.name} v${view.version}, but ${missing.join(', ')} has nothing in the ` +
          'online store to serve; materialize it (fg.materialize()) and promote again.',
        { details: { model: record.name, version: record.version, featureView: { name: view.name, version: view.version }, missing } },
      );
    }
    const change = await api.setAlias(record.name, options.alias ?? 'champion', record.version, options.reason ?? 'promote', 'promote');
    await this.switchDeployments();
    return change;
  }

  /** This page's deployments switch before promote and rollback resolve (other tabs follow the broadcast). */
  private async switchDeployments(): Promise<void> {
    await Promise.all([...this.deployments].map((d) => d.refresh().catch(() => undefined))); // a failed switch keeps serving; see predictor.current()
  }

  /**
   * The red button: moves an alias back to the version it pointed at before its latest promotion (successive
   * rollbacks walk further back), strictly durably and recorded in the alias history.
   *
   * @example
   * ```ts
   * await store.rollback('rain', { alias: 'champion' });
   * ```
   */
  async rollback(name: string, options: { alias?: string; reason?: string } = {}): Promise<AliasChange> {
    const change = await this.api().rollbackAlias(name, options.alias ?? 'champion', options.reason === undefined ? ROLLBACK_REASON : `${ROLLBACK_REASON}: ${options.reason}`);
    await this.switchDeployments();
    return change;
  }

  /**
   * Batch inference: scores every entity of a model version's feature view with a row in [start, end), with its
   * features as of just before `end` (point-in-time, transformed like its training data), in chunks in the
   * inference worker, and writes the predictions as one commit to a predictions group — readable like any group.
   *
   * @example
   * ```ts
   * const { output, rows } = await store.batchPredict({ model: 'rain', alias: 'champion', start: '2015-12-01', end: '2016-01-01' });
   * const predictions = await (await store.getFeatureGroup(output.name, output.version)).read();
   * ```
   */
  async batchPredict(options: BatchPredictOptions): Promise<BatchPredictResult> {
    return batchPredict(this, this.deploymentSource(), options);
  }

  /**
   * Compares the arms of a model's shadow or split deployments: its prediction log joined with labels that arrived
   * later (each prediction with its entity's first label at or after it), each arm's metrics, and how far shadow
   * and served predictions of the same requests were apart.
   *
   * @example
   * ```ts
   * const { arms, agreement } = await store.compareDeployments('rain', { labels: { group: 'weather', column: 'precipitation' } });
   * ```
   */
  async compareDeployments(name: string, options: CompareOptions): Promise<DeploymentComparison> {
    return compareDeployments(this, name, options);
  }

  /**
   * Drift monitoring of a model version (the champion by default): the features it was served with, from its
   * prediction log (deploy with `log: true`, a shadow or a split), against its training dataset, per input: PSI and
   * Kolmogorov–Smirnov with thresholds (default 0.2 and 0.1).
   *
   * @example
   * ```ts
   * const report = await store.monitor('rain', { thresholds: { psi: 0.25 } }).report({ start: lastWeek });
   * if (report.drifted.length > 0) alert(report.drifted);
   * ```
   */
  monitor(name: string, options: { alias?: string; version?: number; thresholds?: { psi?: number; ks?: number } } = {}): { report(period?: { start?: Instant; end?: Instant; bins?: number }): Promise<DriftReport> } {
    const ref = options.version ?? options.alias ?? 'champion';
    return {
      report: (period = {}) => driftReport(this, name, { ref, ...(options.thresholds === undefined ? {} : { thresholds: options.thresholds }), ...period }),
    };
  }

  /** @internal Models and definitions for deployments, through the store worker. */
  private deploymentSource(): DeploymentSource {
    this.source ??= {
      storeName: this.name,
      getAlias: (model, alias) => this.api().getAlias(model, alias),
      getModel: (model, version) => this.api().getModel(model, version),
      readWeights: (model, version) => this.api().readWeights(model, version),
      getFeatureView: (view, version) => this.api().getFeatureView(view, version),
      definitions: {
        group: (group, version) => this.api().getFeatureGroup(group, version),
        datasets: (view, version) => this.api().listTrainingDatasets(view, version),
      },
      online: () => this.online(),
      onDemand: this.onDemand,
      inference: (backend) => {
        if (this.remote === null) throw new StoreClosedError(`Store '${this.name}' is closed.`);
        this.inference ??= new InferenceClients(`larder-inference-${this.name}`);
        return this.inference.get(backend);
      },
    };
    return this.source;
  }

  private source: DeploymentSource | null = null;
  private readonly deployments = new Set<Deployment>();
  private onPageHide: (() => void) | null = null;
  private inference: InferenceClients | null = null;

  /** The experiment tracker: training runs. */
  get runs(): Runs {
    this.runsApi ??= new Runs(() => this.api());
    return this.runsApi;
  }

  private modelRegistry: ModelRegistry | null = null;
  private runsApi: Runs | null = null;
  private pipelinesApi: Pipelines | null = null;
  private syncApi: Sync | null = null;

  async close(): Promise<void> {
    const remote = this.remote;
    if (remote === null) return;
    // Deployments write their prediction logs, and scheduled and running pipelines stop (their runs recorded as
    // aborted), while the store still serves.
    for (const deployment of [...this.deployments]) await deployment.close();
    if (this.onPageHide !== null) globalThis.removeEventListener('pagehide', this.onPageHide);
    await this.pipelinesApi?.close();
    this.remote = null;
    this.inference?.terminate();
    this.inference = null;
    const online = this.onlineStore;
    this.onlineStore = null;
    await online?.then((o) => o.close(), () => undefined);
    try {
      if (this.worker !== null) await remote.close();
    } finally {
      remote[Comlink.releaseProxy]();
      this.worker?.terminate();
    }
  }
}

/**
 * Opens (or creates) a feature store. The store worker owns DuckDB-WASM; a persistent store keeps its offline
 * tables in one OPFS file and its registry in IndexedDB, and may be open in only one place per origin at a time
 * (StoreLockedError otherwise).
 *
 * @example
 * ```ts
 * const store = await openFeatureStore({ name: 'demo' });
 * const scratch = await openFeatureStore({ name: 'scratch', persist: false });
 * ```
 */
export async function openFeatureStore(options: OpenFeatureStoreOptions): Promise<FeatureStore> {
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('openFeatureStore needs { name }.');
  const name = validateName(options.name, 'store');
  const persist = options.persist ?? true;
  const onDemand = new OnDemandRegistry(options.onDemand ?? []);
  installErrorTransfer();
  const worker =
    options.createWorker?.() ??
    new Worker(new URL('../workers/store.worker.ts', import.meta.url), { type: 'module', name: `larder-store-${name}` });
  const remote = Comlink.wrap<StoreWorkerApi>(worker);
  try {
    await openOwned(remote, { name, persist, assets: options.duckdb ?? null }, options);
  } catch (error) {
    remote[Comlink.releaseProxy]();
    worker.terminate();
    throw error;
  }
  return new FeatureStore(name, persist, worker, remote, onDemand);
}

/** After a refusal the lock turned out free (the old owner's database file was still closing): wait this long. */
const TAKEOVER_RETRY_MS = 50;

/**
 * Opens the store in its worker; with `whenLocked: 'wait'`, a refusal because another thread owns it waits in the
 * store lock's queue and tries again, until it opens, fails otherwise, or `signal` aborts.
 */
async function openOwned(remote: Comlink.Remote<StoreWorkerApi>, request: OpenRequest, options: OpenFeatureStoreOptions): Promise<void> {
  if (options.whenLocked !== undefined && options.whenLocked !== 'fail' && options.whenLocked !== 'wait') {
    throw new InvalidArgumentError(`whenLocked must be 'fail' or 'wait', got ${JSON.stringify(options.whenLocked)}.`);
  }
  const waits = options.whenLocked === 'wait' && request.persist;
  let waiting = false;
  for (;;) {
    throwIfAborted(options.signal, `Opening store '${request.name}'`);
    try {
      await remote.open(request);
    } catch (error) {
      if (!waits || !(error instanceof StoreLockedError)) throw error;
      if (!waiting) {
        waiting = true;
        options.onWaiting?.();
        // Load DuckDB while waiting, so the takeover only has to open the files.
        remote.prepare(request.assets).catch(() => undefined); // a failure shows again when the open starts DuckDB
      }
      const started = performance.now();
      await waitForStoreRelease(request.name, options.signal);
      // A lock granted at once means the owner was gone and only its database file was still held.
      if (performance.now() - started < TAKEOVER_RETRY_MS) await new Promise((resolve) => setTimeout(resolve, TAKEOVER_RETRY_MS));
      continue;
    }
    if (options.signal?.aborted === true) {
      // Aborted while the store was opening: let it go again, so no tab is kept out by an open nobody waits for.
      await remote.close().catch(() => undefined);
      throwIfAborted(options.signal, `Opening store '${request.name}'`);
    }
    return;
  }
}

/** @internal A store served by another thread's worker, reached through a port (pipeline workers use it). */
export function connectedStore(name: string, persistent: boolean, remote: Comlink.Remote<StoreWorkerApi>): FeatureStore {
  return new FeatureStore(name, persistent, null, remote, new OnDemandRegistry());
}

/**
 * The caller's progress callback as the worker calls it. Its answer says whether the caller's signal is aborted, so
 * an abort made inside the callback reaches the worker with that answer — the worker need not wait for the separate
 * abort message to be sure it sees it at its next check.
 */
function relayProgress<P>(onProgress: ((progress: P) => void) | undefined, signal: AbortSignal | undefined): ((progress: P) => boolean) | null {
  if (onProgress === undefined) return null;
  return Comlink.proxy((progress: P) => {
    try {
      onProgress(progress);
    } catch {
      // Progress is advisory: a failing callback does not fail the operation (an abort it made still counts).
    }
    return signal?.aborted === true;
  });
}
