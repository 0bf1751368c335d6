import * as Comlink from 'comlink';
import {
  normalizeFeatureGroup, sameDefinition, describeDifferences, validateVersion,
  type FeatureGroupDefinition, type FeatureGroupSpec,
} from '../definitions/feature-group.ts';
import { nameKey, validateName } from '../definitions/names.ts';
import {
  DeploymentRefusedError, InvalidArgumentError, InvalidNameError, NotFoundError, SchemaConflictError, StoreClosedError, StoreLockedError, errorSummary, throwIfAborted,
} from '../errors.ts';
import { DuckDbOfflineStore, tableNameOf, type ErasedRows, type ErasureTarget } from '../offline/duckdb/offline-store.ts';
import { defaultDuckDbAssets, instantiateDuckDb, startDuckDb, type DuckDbAssets } from '../offline/duckdb/engine.ts';
import type { CommitResult, ErasureReport, IngestRequest, IngestSource, OperationControl, Progress, ReadRequest, TrainingDataProgress } from '../offline/types.ts';
import { IndexedDbRegistry } from '../registry/indexeddb.ts';
import { MemoryRegistry } from '../registry/memory.ts';
import type {
  AliasChange, AliasMoveKind, AliasRecord, CommitRecord, FeatureGroupStatistics, ModelVersionRecord, PipelineDefinition, PipelineRunRecord, Registry, RunRecord,
} from '../registry/types.ts';
import type { BatchRequest, OpenRequest, StoreWorkerApi, TrainingDataRequest, TrainingDataResult } from '../rpc/store-api.ts';
import { normalizeFeatureView, sameView, type FeatureViewDefinition, type FeatureViewSpec } from '../definitions/feature-view.ts';
import type { TrainingDatasetInfo, TrainingDatasetRecord } from '../registry/types.ts';
import type { FeatureType } from '../definitions/types.ts';
import { PendingDatasets } from './pending-datasets.ts';
import { Mutex } from '../util/mutex.ts';
import { OnlineStore, onlineDbName } from '../online/indexeddb.ts';
import { encodeEntityKey } from '../online/keys.ts';
import { materialize, onlineGroupKey, type MaterializeRequest, type MaterializeResult } from '../online/materialize.ts';
import { tableFromIPC, tableToIPC, Table, type Vector } from 'apache-arrow';
import { ProblemCollector, columnsFromRows, conformTable, matchColumns } from '../ingest/conform.ts';
import {
  FeatureJoin, gather, SPLIT_CODES, SPLIT_COLUMN, addOnDemandColumns, groupId, type GroupRows, splitsOf, applyViewTransforms, assignSplits, constantTimestamps, fitViewTransforms, microsOf, normalizeSplit, splitVector,
  takeSplit, viewColumnTypes, type SplitName,
} from '../pipelines/training-data.ts';
import { acquireStoreLock, tryLock } from './lock.ts';
import { ensureStorageSpace, removeStorageProbe } from '../util/storage-space.ts';
import { databaseFile, storageProbe } from './store-files.ts';
import { loadParquetWasm } from '../ingest/parquet.ts';
import { OnDemandRegistry, type OnDemandFeature } from '../transforms/on-demand.ts';
import { aliasChannelName, rollbackTarget, type AliasMoved } from '../pipelines/deployment.ts';
import { manifestObjects, type Manifest } from '../sync/manifest.ts';
import {
  applySnapshot, exportSnapshot, fingerprint, metadataBytes, neededObjects, parseSyncState, snapshotMetadata,
  type ManifestDraft, type NewObject, type SnapshotInclude, type SnapshotToApply, type SyncState,
} from '../sync/snapshot.ts';
import type { SyncStatus } from '../rpc/store-api.ts';

interface OpenState {
  name: string;
  registry: Registry;
  offline: DuckDbOfflineStore;
  online: OnlineStore;
  /** Delete the online database on close (a store opened with persist: false). */
  temporaryOnline: boolean;
  release: () => void;
}

/**
 * The store as it runs in its worker: the registry (definitions, commit mirror, statistics) and the offline store
 * (DuckDB), kept consistent. The registry is the source of truth for definitions; DuckDB for rows and the ledger.
 */
/** What a store worker is built with: the on-demand features it can compute. */
export interface StoreServiceOptions {
  onDemand?: readonly OnDemandFeature[];
}

export class StoreService implements StoreWorkerApi {
  private state: OpenState | null = null;
  private readonly onDemand: OnDemandRegistry;

  constructor(options: StoreServiceOptions = {}) {
    this.onDemand = new OnDemandRegistry(options.onDemand ?? []);
  }

  private readonly operations = new Map<number, AbortController>();
  private readonly datasets = new PendingDatasets<TrainingDatasetRecord>();
  private closing = false;
  /** Alias moves one at a time (a rollback reads the history it moves from). */
  private readonly aliasMoves = new Mutex();
  /** One materialization at a time per group (write-through and explicit calls alike). */
  private readonly onlineLocks = new Map<string, Mutex>();

  /** DuckDB-WASM loaded ahead of `open` by `prepare`, taken by the next open. */
  private prepared: ReturnType<typeof instantiateDuckDb> | null = null;

  async prepare(assets: DuckDbAssets | null): Promise<void> {
    if (this.state !== null) return;
    if (this.prepared === null) {
      // Set before anything is awaited, so an open starting meanwhile takes this instance instead of making another.
      const prepared = (async () => instantiateDuckDb(assets ?? (await defaultDuckDbAssets())))();
      this.prepared = prepared;
      // A failed preparation is forgotten; open then starts DuckDB itself and reports what goes wrong.
      prepared.catch(() => {
        if (this.prepared === prepared) this.prepared = null;
      });
    }
    loadParquetWasm().catch(() => undefined);
    await this.prepared?.catch(() => undefined);
  }

  /** Terminates a DuckDB instance loaded by `prepare` that no open took. */
  private dropPrepared(): void {
    const prepared = this.prepared;
    this.prepared = null;
    prepared?.then((db) => db.terminate()).catch(() => undefined);
  }

  async open(request: OpenRequest): Promise<void> {
    if (this.state !== null) throw new InvalidArgumentError('This store worker is already open.');
    const name = validateName(request.name, 'store');
    const release = request.persist ? await acquireStoreLock(name) : () => undefined;
    let registry: Registry | undefined;
    let instance: ReturnType<typeof instantiateDuckDb> | undefined;
    try {
      registry = request.persist ? await IndexedDbRegistry.open(name) : new MemoryRegistry();
      instance = this.prepared ?? undefined;
      this.prepared = null;
      const engine = await startDuckDb({
        path: request.persist ? `opfs://${databaseFile(name)}` : null,
        assets: request.assets ?? (await defaultDuckDbAssets()),
        ...(instance === undefined ? {} : { instance }),
      });
      const offline = await DuckDbOfflineStore.open(engine);
      // Warm the Parquet decoder in the background; a load failure surfaces at the first Parquet insert.
      loadParquetWasm().catch(() => undefined);
      // A store that does not persist still serves online reads from other threads: from a database of its own,
      // deleted when it closes.
      let releaseOnline = (): void => undefined;
      let onlineName = onlineDbName(name);
      if (!request.persist) {
        // Each temporary online database is held by a Web Lock named after it, for as long as its store is open:
        // databases whose lock is free were left by a tab that died, and are deleted.
        await deleteAbandonedOnlineDbs(onlineName);
        onlineName = `${onlineName}:${crypto.randomUUID()}`;
        releaseOnline = (await tryLock(temporaryOnlineLock(onlineName))) ?? releaseOnline;
      }
      const online = await OnlineStore.open(onlineName);
      const releaseAll = (): void => {
        releaseOnline();
        release();
      };
      this.state = { name, registry, offline, online, temporaryOnline: !request.persist, release: releaseAll };
      if (request.persist) await removeStorageProbe(storageProbe(name));
      await this.reconcile();
    } catch (error) {
      registry?.close();
      await this.state?.offline.close().catch(() => undefined); // the open error is the one to report
      this.state = null;
      release();
      // The previous owner's database file was still held: the caller waiting to take over tries again soon, with
      // DuckDB loaded again meanwhile (the instance this attempt took is gone with its failed open).
      if (error instanceof StoreLockedError && instance !== undefined) this.prepare(request.assets).catch(() => undefined);
      throw error;
    }
  }

  /** Repairs what a killed tab can leave between the registry and DuckDB: missing tables and unmirrored commits. */
  private async reconcile(): Promise<void> {
    const { registry, offline } = this.open_();
    // A training or pipeline run still 'running' belonged to a tab that died with it (this worker holds the store's
    // lock now).
    const interrupted = { name: 'OperationAbortedError', code: 'ABORTED', message: 'Interrupted: the tab or worker running it closed before it ended.' };
    for (const run of await registry.listRuns()) {
      if (run.status === 'running') await registry.putRun({ ...run, status: 'aborted', endedAt: Date.now(), error: interrupted });
    }
    for (const run of await registry.listPipelineRuns()) {
      if (run.status !== 'running') continue;
      const endedAt = Date.now();
      await registry.putPipelineRun({ ...run, status: 'aborted', endedAt, durationMs: endedAt - run.startedAt, error: interrupted });
    }
    const definitions = await registry.listFeatureGroups();
    const tables = new Set(await offline.tableNames());
    for (const definition of definitions) {
      if (!tables.has(tableNameOf(definition))) await offline.createTable(definition);
      const mirrored = new Set((await registry.listCommits(definition.name, definition.version)).map((c) => c.commitId));
      const missing = (await offline.ledger(definition)).filter((c) => !mirrored.has(c.commitId));
      await registry.putCommits(missing);
    }
    // A training dataset's table written by a tab that was closed before its record was stored.
    const recorded = new Set<string>();
    for (const view of await registry.listFeatureViews()) {
      for (const d of await registry.listTrainingDatasets(view.name, view.version)) recorded.add(d.table);
    }
    const orphans = [...tables].filter((t) => t.startsWith(DATASET_TABLE_PREFIX) && !recorded.has(t));
    if (orphans.length > 0) await offline.dropTables(orphans);
  }

  private open_(): OpenState {
    if (this.state === null) throw new StoreClosedError('The store is closed; open it again with openFeatureStore().');
    return this.state;
  }

  private async definition(name: string, version?: number): Promise<FeatureGroupDefinition> {
    validateName(name, 'feature group');
    if (version !== undefined) validateVersion(version);
    const found = await this.open_().registry.getFeatureGroup(name, version);
    if (found === undefined) {
      throw new NotFoundError(
        version === undefined ? `Feature group '${name}' does not exist.` : `Feature group '${name}' has no version ${version}.`,
        { details: { name, version } },
      );
    }
    return found;
  }

  async createFeatureGroup(spec: FeatureGroupSpec): Promise<FeatureGroupDefinition> {
    const { registry, offline } = this.open_();
    const definition = normalizeFeatureGroup(spec, Date.now());
    const existing = await registry.getFeatureGroup(definition.name, definition.version);
    if (existing !== undefined) {
      if (sameDefinition(existing, definition)) return existing;
      throw new SchemaConflictError(
        `Feature group ${existing.name} v${existing.version} already exists with a different definition ` +
          `(${describeDifferences(existing, definition).join(', ')} differ). A version is immutable: create version ` +
          `${definition.version + 1} for the new schema.`,
        { details: { name: definition.name, version: definition.version, differences: describeDifferences(existing, definition) } },
      );
    }
    const latest = await registry.getFeatureGroup(definition.name);
    if (latest !== undefined && latest.name !== definition.name) {
      throw new InvalidNameError(
        `Feature group '${definition.name}' differs only by case from the existing '${latest.name}'; names are case-insensitive. Use '${latest.name}'.`,
      );
    }
    // A table (or online rows) left by an interrupted delete must not come back to life under a new definition.
    await offline.dropTable(definition);
    await this.onlineLock(definition).run(() => this.open_().online.clear(onlineGroupKey(definition)));
    await registry.putFeatureGroup(definition);
    await offline.createTable(definition);
    return definition;
  }

  getFeatureGroup(name: string, version?: number): Promise<FeatureGroupDefinition> {
    return this.definition(name, version);
  }

  listFeatureGroups(): Promise<FeatureGroupDefinition[]> {
    return this.open_().registry.listFeatureGroups();
  }

  async deleteFeatureGroup(name: string, version: number): Promise<void> {
    const definition = await this.definition(name, validateVersion(version));
    const { registry, offline, online } = this.open_();
    await registry.deleteFeatureGroup(definition.name, definition.version);
    await offline.dropTable(definition);
    await this.onlineLock(definition).run(() => online.clear(onlineGroupKey(definition)));
  }

  private onlineLock(definition: FeatureGroupDefinition): Mutex {
    const key = onlineGroupKey(definition);
    let lock = this.onlineLocks.get(key);
    if (lock === undefined) {
      lock = new Mutex();
      this.onlineLocks.set(key, lock);
    }
    return lock;
  }

  private materializeOnline(definition: FeatureGroupDefinition, request: MaterializeRequest, control: OperationControl): Promise<MaterializeResult> {
    const { online, offline } = this.open_();
    return this.onlineLock(definition).run(() => materialize(online, offline, definition, request, control));
  }

  /** Removes deleted keys from the online store; when earlier commits are still unapplied, catches up instead. */
  private async deleteOnline(definition: FeatureGroupDefinition, keys: IngestSource, commitId: number): Promise<void> {
    const { online, offline } = this.open_();
    await this.onlineLock(definition).run(async () => {
      const group = onlineGroupKey(definition);
      const previous = (await offline.ledger(definition)).filter((c) => c.commitId < commitId).at(-1)?.commitId ?? 0;
      if ((await online.watermark(group)) !== previous) return;
      const columns = definition.primaryKey.map((k) => ({ name: k, type: definition.features.find((f) => f.name === k)!.type }));
      const given = keys.format === 'rows' ? keys.rows : keys.format === 'arrow' ? tableFromIPC(keys.ipc).toArray().map((r: { toJSON(): Record<string, unknown> }) => r.toJSON()) : [];
      // Key columns are matched as the offline delete matches them (exact name first, then ignoring case).
      const rows = given.map((r) => {
        const found = matchColumns(definition.primaryKey, Object.keys(r));
        return Object.fromEntries(definition.primaryKey.map((k) => [k, r[found.get(k) ?? k]]));
      });
      await online.delete(group, rows.map((r) => encodeEntityKey(r, columns)), commitId);
    });
    // Not caught up (or keys in another form): the next materialization rebuilds the group (a delete is pending).
    if ((await online.watermark(onlineGroupKey(definition))) < commitId) await this.materializeOnline(definition, { kind: 'incremental' }, silentControl());
  }

  // Experiment tracking, the model registry and pipeline records: the registry's own operations, served as they are.

  async putPipeline(definition: PipelineDefinition): Promise<void> {
    validateName(definition.name, 'pipeline');
    await this.open_().registry.putPipeline(definition);
  }

  getPipeline(name: string): Promise<PipelineDefinition | undefined> {
    return this.open_().registry.getPipeline(name);
  }

  listPipelines(): Promise<PipelineDefinition[]> {
    return this.open_().registry.listPipelines();
  }

  async putPipelineRun(run: PipelineRunRecord): Promise<void> {
    const { registry } = this.open_();
    // A late update from a worker that was stopped must not reopen a run already recorded as ended.
    if (run.status === 'running' && ((await registry.getPipelineRun(run.id))?.status ?? 'running') !== 'running') return;
    await registry.putPipelineRun(run);
  }

  getPipelineRun(id: string): Promise<PipelineRunRecord | undefined> {
    return this.open_().registry.getPipelineRun(id);
  }

  listPipelineRuns(pipeline?: string): Promise<PipelineRunRecord[]> {
    return this.open_().registry.listPipelineRuns(pipeline);
  }

  async putRun(run: RunRecord): Promise<void> {
    await this.open_().registry.putRun(run);
  }

  getRun(id: string): Promise<RunRecord | undefined> {
    return this.open_().registry.getRun(id);
  }

  listRuns(model?: string): Promise<RunRecord[]> {
    return this.open_().registry.listRuns(model);
  }

  registerModel(record: Parameters<Registry['registerModel']>[0], weightData: ArrayBuffer): Promise<ModelVersionRecord> {
    validateName(record.name, 'model');
    return this.open_().registry.registerModel(record, weightData);
  }

  getModel(name: string, version?: number): Promise<ModelVersionRecord | undefined> {
    return this.open_().registry.getModel(name, version);
  }

  listModels(name?: string): Promise<ModelVersionRecord[]> {
    return this.open_().registry.listModels(name);
  }

  async readWeights(name: string, version: number): Promise<ArrayBuffer> {
    const weights = await this.open_().registry.readWeights(name, version);
    return Comlink.transfer(weights, [weights]);
  }

  deleteModel(name: string, version: number): Promise<void> {
    return this.open_().registry.deleteModel(name, version);
  }

  setAlias(name: string, alias: string, version: number | null, reason: string, kind: AliasMoveKind = 'set'): Promise<AliasChange> {
    return this.aliasMoves.run(() => this.moveAlias(name, alias, version, reason, kind));
  }

  /**
   * The red button, in this worker so that it reads the history and moves the alias as one step: two rollbacks
   * never read the same history.
   */
  rollbackAlias(name: string, alias: string, reason: string): Promise<AliasChange> {
    return this.aliasMoves.run(async () => {
      const target = rollbackTarget(await this.open_().registry.aliasHistory(name), alias);
      if (target === null) throw new DeploymentRefusedError(`Alias '${alias}' of model '${name}' has no earlier promotion to roll back to.`);
      return this.moveAlias(name, alias, target, reason, 'rollback');
    });
  }

  private async moveAlias(name: string, alias: string, version: number | null, reason: string, kind: AliasMoveKind): Promise<AliasChange> {
    const state = this.open_();
    const change = await state.registry.setAlias(name, alias, version, reason, kind);
    // Durable now: every deployment following this alias, in any tab or worker of the origin, switches.
    const channel = new BroadcastChannel(aliasChannelName(state.name));
    channel.postMessage({ model: change.name, alias: change.alias, version: change.to } satisfies AliasMoved);
    channel.close();
    return change;
  }

  getAlias(name: string, alias: string): Promise<AliasRecord | undefined> {
    return this.open_().registry.getAlias(name, alias);
  }

  listAliases(name: string): Promise<AliasRecord[]> {
    return this.open_().registry.listAliases(name);
  }

  aliasHistory(name: string): Promise<AliasChange[]> {
    return this.open_().registry.aliasHistory(name);
  }

  /** The name of the store's online database, for readers on other threads. */
  onlineDbName(): string {
    return this.open_().online.dbName;
  }

  async materialize(
    name: string,
    version: number,
    request: MaterializeRequest,
    operationId: number,
    onProgress: ((progress: Progress) => void) | null,
  ): Promise<MaterializeResult> {
    const control = this.control(operationId, onProgress);
    try {
      const definition = await this.definition(name, version);
      if (!definition.online) {
        throw new InvalidArgumentError(`Feature group ${definition.name} v${definition.version} is not online; create it with online: true.`);
      }
      return await this.materializeOnline(definition, request, control);
    } finally {
      await control.done();
    }
  }

  private control<P = Progress>(
    operationId: number,
    onProgress: ((progress: P) => unknown) | null,
  ): OperationControl<P> & { delivered(): Promise<void>; done(): Promise<void> } {
    const controller = new AbortController();
    this.operations.set(operationId, controller);
    const delivered: Promise<unknown>[] = [];
    return {
      signal: controller.signal,
      progress: (progress) => {
        if (onProgress === null) return;
        // The caller's answer is true when its signal is aborted (relayProgress), e.g. from inside this callback.
        // Progress is advisory: a failing callback on the caller's side must not fail the write.
        const answer = Promise.resolve(onProgress(progress)).then((aborted) => {
          if (aborted === true) controller.abort(new Error('aborted during a progress report'));
        });
        delivered.push(answer.catch(() => undefined));
      },
      delivered: async () => {
        await Promise.all(delivered);
      },
      done: async () => {
        // Every progress report reaches the caller before the operation's result does.
        await Promise.all(delivered);
        this.operations.delete(operationId);
        (onProgress as Partial<Comlink.ProxyMethods> | null)?.[Comlink.releaseProxy]?.();
      },
    };
  }

  private async view(name: string, version?: number): Promise<FeatureViewDefinition> {
    validateName(name, 'feature view');
    if (version !== undefined) validateVersion(version);
    const stored = await this.open_().registry.getFeatureView(name, version);
    // Views stored before request fields existed have none.
    const found = stored === undefined ? undefined : { ...stored, request: stored.request ?? [] };
    if (found === undefined) {
      throw new NotFoundError(
        version === undefined ? `Feature view '${name}' does not exist.` : `Feature view '${name}' has no version ${version}.`,
        { details: { name, version } },
      );
    }
    return found;
  }

  async createFeatureView(spec: FeatureViewSpec): Promise<FeatureViewDefinition> {
    const { registry } = this.open_();
    const groups = await registry.listFeatureGroups();
    if (spec.onDemand !== undefined && !Array.isArray(spec.onDemand)) throw new InvalidArgumentError('onDemand must be an array of names.');
    const definition = normalizeFeatureView(
      spec,
      (name, version) => groups.find((g) => nameKey(g.name) === nameKey(name) && g.version === version),
      Date.now(),
      await this.onDemand.references(spec.onDemand ?? []),
    );
    const existing = await registry.getFeatureView(definition.name, definition.version);
    if (existing !== undefined) {
      if (sameView(existing, definition)) return existing;
      throw new SchemaConflictError(
        `Feature view ${existing.name} v${existing.version} already exists with a different definition. A view version is immutable: create version ${definition.version + 1}.`,
        { details: { name: definition.name, version: definition.version } },
      );
    }
    await registry.putFeatureView(definition);
    return definition;
  }

  getFeatureView(name: string, version?: number): Promise<FeatureViewDefinition> {
    return this.view(name, version);
  }

  listFeatureViews(): Promise<FeatureViewDefinition[]> {
    return this.open_().registry.listFeatureViews();
  }

  async deleteFeatureView(name: string, version: number): Promise<void> {
    const view = await this.view(name, validateVersion(version));
    const { registry, offline } = this.open_();
    await this.datasets.settled(viewKey(view));
    const datasets = await registry.listTrainingDatasets(view.name, view.version);
    await registry.deleteFeatureView(view.name, view.version);
    await offline.dropTables(datasets.map((d) => d.table));
  }

  /**
   * The spine: an explicit one conformed to the left group's key, event-time and label columns and to the view's
   * request fields, or the left group's rows (request fields read from its columns of those names).
   */
  private async spine(view: FeatureViewDefinition, request: TrainingDataRequest): Promise<Table> {
    const left = await this.definition(view.spine.group, view.spine.version);
    // Keys, event time, the spine columns joins match on, labels, request fields.
    const names = [...new Set([
      ...view.spine.keys, view.spine.eventTime, ...view.joins.flatMap((j) => j.spineKeys), ...view.labels.map((l) => l.name), ...view.request.map((r) => r.name),
    ])];
    if (request.spine !== null) {
      const requested = (n: string) => view.request.find((r) => r.name === n);
      const spineDefinition = {
        ...left,
        features: names.map((n) => {
          const field = requested(n);
          return field === undefined ? left.features.find((f) => f.name === n)! : { name: n, type: field.type, description: '', nullable: true, allowNaN: true };
        }),
      };
      const problems = new ProblemCollector();
      let columns: Vector[];
      if (request.spine.format === 'arrow') columns = conformTable(spineDefinition, tableFromIPC(request.spine.ipc), problems);
      else if (request.spine.format === 'rows') columns = columnsFromRows(spineDefinition, request.spine.rows, problems);
      else throw new InvalidArgumentError('A spine is an Arrow table or an array of row objects.');
      if (!problems.empty) {
        throw new InvalidArgumentError(`The spine does not match ${left.name} v${left.version}: ${problems.list.map((p) => p.message).join('; ')}.`, {
          details: { problems: problems.list },
        });
      }
      return new Table(Object.fromEntries(names.map((n, i) => [n, columns[i]!])));
    }
    requestColumnsOfLeft(view, left);
    const ipc = await this.open_().offline.read(left, {
      start: request.start, end: request.end, where: null, columns: names, asOfCommit: null, afterCommit: null, withCommitIds: false, limit: null,
    });
    return tableFromIPC(ipc);
  }

  /**
   * Joins a spine with the view's groups. Every group's rows are requested from DuckDB at once, and each group is
   * joined as soon as its rows arrive, so joining one overlaps reading the next (DuckDB runs in its own worker).
   */
  /**
   * The view's features for the spine, point in time. `first`, when given, is the first join already resolved: its
   * rows and, per spine row, the row it sees (−1: none); that group's rows are then read only if another join needs them.
   */
  private async joinView(
    view: FeatureViewDefinition,
    spine: Table,
    asOfKnown: boolean,
    onGroup: (group: string) => void = () => undefined,
    first: { rows: Table; indices: Int32Array } | null = null,
  ): Promise<Table> {
    const { offline } = this.open_();
    await this.onDemand.verify(view.onDemand, `feature view ${view.name} v${view.version}`);
    const reads = new Map<string, Promise<GroupRows>>();
    for (const j of view.joins.slice(first === null ? 0 : 1)) {
      const id = groupId(j.group, j.version);
      if (reads.has(id)) continue;
      const read = this.definition(j.group, j.version).then(async (definition) => ({ definition, rows: await offline.rowsForJoin(definition) }));
      read.catch(() => undefined); // awaited below, in order; a later failure must not go unhandled meanwhile
      reads.set(id, read);
    }
    const join = new FeatureJoin(view, spine, await offline.commitTimes(), asOfKnown);
    for (const [i, j] of view.joins.entries()) {
      if (i === 0 && first !== null) {
        onGroup(j.group);
        join.addChosen(first.rows, first.indices);
        continue;
      }
      const rows = await reads.get(groupId(j.group, j.version))!;
      onGroup(j.group);
      join.add(rows);
    }
    return addOnDemandColumns(view, join.result(), this.onDemand, spine);
  }

  private splitResult<D extends TrainingDatasetInfo>(view: FeatureViewDefinition, dataset: D, splits: Record<SplitName, Table>): TrainingDataResult<D> {
    const ipc = (table: Table): Uint8Array => tableToIPC(applyViewTransforms(view, dataset.transforms, table), 'stream');
    const result: TrainingDataResult<D> = {
      dataset,
      train: ipc(splits.train),
      test: ipc(splits.test),
      validation: dataset.rowCounts.validation > 0 ? ipc(splits.validation) : null,
    };
    const buffers = [result.train.buffer, result.test.buffer, ...(result.validation === null ? [] : [result.validation.buffer])];
    return Comlink.transfer(result, buffers);
  }

  async trainingData(
    name: string,
    version: number,
    request: TrainingDataRequest,
    operationId: number,
    onProgress: ((progress: TrainingDataProgress) => void) | null,
  ): Promise<TrainingDataResult> {
    const control = this.control<TrainingDataProgress>(operationId, onProgress);
    try {
      return await this.buildTrainingData(name, version, request, control);
    } finally {
      await control.done();
    }
  }

  private async buildTrainingData(
    name: string,
    version: number,
    request: TrainingDataRequest,
    control: OperationControl<TrainingDataProgress> & { delivered(): Promise<void> },
  ): Promise<TrainingDataResult> {
    const what = 'Building training data';
    if (this.closing) throw new StoreClosedError('The store is closing.');
    const view = await this.view(name, version);
    const { registry } = this.open_();
    const left = await this.definition(view.spine.group, view.spine.version);
    control.progress({ phase: 'reading' });
    const spine = await this.spine(view, request);
    // Each phase runs without a break; between phases the worker takes its messages, an abort among them, and
    // waits for the caller's progress callbacks, so an abort made inside one is always seen here.
    const between = async (): Promise<void> => {
      await new Promise((resolve) => setTimeout(resolve, 0));
      await control.delivered();
      throwIfAborted(control.signal, what);
    };
    await between();
    const joined = await this.joinView(view, spine, request.asOfKnown, (group) => {
      throwIfAborted(control.signal, what);
      control.progress({ phase: 'joining', group, rows: spine.numRows });
    });
    await between();
    control.progress({ phase: 'splitting', rows: joined.numRows });
    const times = microsOf(joined.getChild(view.spine.eventTime)!);
    const split = normalizeSplit(request.split, times);
    const assigned = assignSplits(split, times);
    const types = viewColumnTypes(view, left);
    const splits = {
      train: takeSplit(joined, assigned, 'train', types),
      test: takeSplit(joined, assigned, 'test', types),
      validation: takeSplit(joined, assigned, 'validation', types),
    };
    await between();
    control.progress({ phase: 'transforming', rows: joined.numRows });
    // Fit before anything is written, so a failing fit leaves nothing behind.
    const transforms = fitViewTransforms(view, splits.train);
    await between();
    const createdAt = Date.now();
    const info = (datasetVersion: number): TrainingDatasetInfo => ({
      view: view.name,
      viewVersion: view.version,
      version: datasetVersion,
      createdAt,
      params: { start: request.start, end: request.end, asOfKnown: request.asOfKnown, spine: request.spine === null ? 'left-group' : 'explicit', split },
      rowCounts: { train: splits.train.numRows, test: splits.test.numRows, validation: splits.validation.numRows },
      transforms,
      table: `${DATASET_TABLE_PREFIX}${nameKey(view.name)}_v${view.version}_${datasetVersion}`,
      onDemand: [...view.onDemand],
    });
    const stored = new Table({ ...Object.fromEntries(joined.schema.fields.map((f) => [f.name, joined.getChild(f.name)!])), [SPLIT_COLUMN]: splitVector(assigned) });
    const statisticsOf = [...types].filter(([n]) => !view.spine.keys.includes(n) && n !== view.spine.eventTime);
    // The rows are returned now; writing them and computing their statistics continue in the background (see
    // trainingDatasetRecord). The record is stored last, so a dataset is either complete or absent.
    const datasetVersion = await this.datasets.start(
      viewKey(view),
      async () => (await registry.listTrainingDatasets(view.name, view.version)).map((d) => d.version),
      (v) => this.persistDataset(info(v), stored, statisticsOf),
    );
    const result = this.splitResult(view, info(datasetVersion), splits);
    control.progress({ phase: 'done', rows: joined.numRows });
    return result;
  }

  private async persistDataset(info: TrainingDatasetInfo, stored: Table, columns: readonly [string, FeatureType][]): Promise<TrainingDatasetRecord> {
    const { registry, offline } = this.open_();
    await offline.writeTable(info.table, stored);
    const statistics = await offline.tableStatistics(
      info.table,
      columns.map(([name, type]) => ({ name, type, description: '', nullable: true, allowNaN: true })),
      { column: SPLIT_COLUMN, value: SPLIT_CODES.indexOf('train') },
    );
    const record: TrainingDatasetRecord = { ...info, statistics };
    await registry.putTrainingDataset(record);
    return record;
  }

  /** A stored training dataset, after any background write of the view has ended. */
  private async dataset(view: FeatureViewDefinition, datasetVersion: number): Promise<TrainingDatasetRecord> {
    const pending = this.datasets.get(viewKey(view), datasetVersion);
    if (pending !== undefined) return pending;
    await this.datasets.settled(viewKey(view));
    const dataset = (await this.open_().registry.listTrainingDatasets(view.name, view.version)).find((d) => d.version === datasetVersion);
    if (dataset === undefined) throw new NotFoundError(`Feature view ${view.name} v${view.version} has no training dataset ${datasetVersion}.`);
    return dataset;
  }

  async trainingDatasetRecord(name: string, version: number, datasetVersion: number): Promise<TrainingDatasetRecord> {
    return this.dataset(await this.view(name, version), datasetVersion);
  }

  async getTrainingDataset(name: string, version: number, datasetVersion: number): Promise<TrainingDataResult<TrainingDatasetRecord>> {
    const view = await this.view(name, version);
    const { offline } = this.open_();
    const dataset = await this.dataset(view, datasetVersion);
    await this.onDemand.verify(dataset.onDemand, `training dataset ${datasetVersion} of ${view.name} v${view.version}`);
    const left = await this.definition(view.spine.group, view.spine.version);
    const stored = await offline.readTable(dataset.table);
    const assigned = splitsOf(stored.getChild(SPLIT_COLUMN)!);
    const types = viewColumnTypes(view, left);
    const rows = new Table(Object.fromEntries(stored.schema.fields.filter((f) => f.name !== SPLIT_COLUMN).map((f) => [f.name, stored.getChild(f.name)!])));
    return this.splitResult(view, dataset, {
      train: takeSplit(rows, assigned, 'train', types),
      test: takeSplit(rows, assigned, 'test', types),
      validation: takeSplit(rows, assigned, 'validation', types),
    });
  }

  async batchData(name: string, version: number, request: { start: number | null; end: number; datasetVersion: number | null }): Promise<Uint8Array> {
    const view = await this.view(name, version);
    const { offline } = this.open_();
    const left = await this.definition(view.spine.group, view.spine.version);
    // The entities are those with a current row of the left group in [start, end); each sees its latest current
    // row before `end` — which is then that row in the window. DuckDB finds them in one query (what the point-in-time
    // join would choose for a spine at `end`: greatest event time, then commit, then the later row), ordered by key.
    const latest = await offline.latestRows(left, { afterCommit: 0, throughCommit: null, start: request.start, end: request.end });
    // The latest values as of just before `end` (exclusive, like every range in Larder).
    const at = BigInt(Math.round(request.end * 1000)) - 1n;
    const chosen = withinTtl(latest.getChild(left.eventTime)!, left.ttlSeconds, at);
    let spine = new Table({
      ...Object.fromEntries(view.spine.keys.map((k) => [k, latest.getChild(k)!])),
      [view.spine.eventTime]: constantTimestamps(latest.numRows, at),
    });
    // Other groups may join on any column of the left group, not only its key: those columns come from each
    // entity's latest left row (null past the group's TTL) and join the spine.
    const spineColumns = new Set([...view.spine.keys, view.spine.eventTime]);
    const joinColumns = [...new Set(view.joins.slice(1).flatMap((j) => j.spineKeys))].filter((k) => !spineColumns.has(k));
    if (joinColumns.length > 0) {
      const typeOf = (name: string): FeatureType => left.features.find((f) => f.name === name)!.type;
      spine = new Table({
        ...Object.fromEntries([...spineColumns].map((name) => [name, spine.getChild(name)!])),
        ...Object.fromEntries(joinColumns.map((name) => [name, gather(latest.getChild(name)!, typeOf(name), chosen)])),
      });
    }
    // Request fields come from each entity's latest row of the left group, joined like features, then dropped.
    const requestFeatures = requestColumnsOfLeft(view, left).map((c) => ({ name: c.name, type: c.type, group: left.name, version: left.version, column: c.name, join: 0 }));
    const withRequest = await this.joinView({ ...view, features: [...view.features, ...requestFeatures] }, spine, false, undefined, { rows: latest, indices: chosen });
    const joined = requestFeatures.length === 0
      ? withRequest
      : withRequest.select(withRequest.schema.fields.map((f) => f.name).filter((n) => !requestFeatures.some((r) => r.name === n)));
    const fitted = request.datasetVersion === null ? null : (await this.dataset(view, request.datasetVersion)).transforms;
    const bytes = tableToIPC(applyViewTransforms(view, fitted, joined), 'stream');
    return Comlink.transfer(bytes, [bytes.buffer]);
  }

  async listTrainingDatasets(name: string, version: number): Promise<TrainingDatasetRecord[]> {
    const view = await this.view(name, version);
    await this.datasets.settled(viewKey(view));
    return this.open_().registry.listTrainingDatasets(view.name, view.version);
  }

  abort(operationId: number, reason: string): void {
    this.operations.get(operationId)?.abort(new Error(reason));
  }

  async insert(
    name: string,
    version: number,
    source: IngestSource,
    request: IngestRequest,
    operationId: number,
    onProgress: ((progress: Progress) => void) | null,
  ): Promise<CommitResult> {
    const [result] = await this.insertBatches([{ name, version, source, ...request }], operationId, onProgress);
    return result!;
  }

  async insertBatches(
    batches: readonly BatchRequest[],
    operationId: number,
    onProgress: ((progress: Progress) => void) | null,
  ): Promise<CommitResult[]> {
    const control = this.control(operationId, onProgress);
    try {
      const items = await Promise.all(
        batches.map(async (b) => ({ definition: await this.definition(b.name, b.version), source: b.source, request: { mode: b.mode, batchId: b.batchId } })),
      );
      const { registry, offline } = this.open_();
      const results = await offline.ingestAll(items, control);
      const fresh = results.filter((r) => !r.reused).map((r) => r.commit);
      if (fresh.length > 0) await registry.putCommits(fresh);
      // Write-through: the commits (and any commit a killed tab left unapplied) reach the online store before the
      // call resolves. They are durable already, so an abort no longer applies.
      return await Promise.all(
        results.map(async (result, i) => {
          const { definition } = items[i]!;
          if (!definition.online) return result;
          try {
            await this.materializeOnline(definition, { kind: 'incremental' }, silentControl());
            return result;
          } catch (error) {
            return { ...result, onlineError: errorSummary(error) };
          }
        }),
      );
    } finally {
      await control.done();
    }
  }

  async findBatch(name: string, version: number, batchId: string): Promise<CommitRecord | null> {
    const definition = await this.definition(name, version);
    return (await this.open_().offline.committedBatch(definition, batchId)) ?? null;
  }

  async latestCommitId(name: string, version: number): Promise<number> {
    return this.open_().offline.latestCommitId(await this.definition(name, version));
  }

  /** Serves this store on another port too: a pipeline worker talks to the store through it. */
  connect(port: MessagePort): void {
    Comlink.expose(this, port);
  }

  async read(name: string, version: number, request: ReadRequest): Promise<Uint8Array> {
    const definition = await this.definition(name, version);
    const bytes = await this.open_().offline.read(definition, request);
    return Comlink.transfer(bytes, [bytes.buffer]);
  }

  async commits(name: string, version: number): Promise<CommitRecord[]> {
    const definition = await this.definition(name, version);
    return this.open_().registry.listCommits(definition.name, definition.version);
  }

  async statistics(name: string, version: number, commitId: number | null): Promise<FeatureGroupStatistics> {
    const definition = await this.definition(name, version);
    const { registry, offline } = this.open_();
    const at = commitId ?? (await offline.latestCommitId(definition));
    if (commitId !== null) {
      const known = (await registry.listCommits(definition.name, definition.version)).some((c) => c.commitId === commitId);
      if (!known) throw new NotFoundError(`${definition.name} v${definition.version} has no commit ${commitId}.`);
    }
    const cached = await registry.getStatistics(definition.name, definition.version, at);
    if (cached !== undefined) return cached;
    const statistics = await offline.statistics(definition, at);
    await registry.putStatistics(statistics);
    return statistics;
  }

  /**
   * Deletes every row of the keys from a group and from the training datasets of views that read the group, records
   * which datasets lost rows and lists the model versions trained on them (see {@link ErasureReport}).
   */
  async deleteRows(name: string, version: number, keys: IngestSource, operationId: number): Promise<CommitResult> {
    const control = this.control(operationId, null);
    try {
      const definition = await this.definition(name, version);
      const { registry, offline } = this.open_();
      // Datasets being written now are erased too: wait for them.
      await this.datasets.drain();
      const candidates = await this.erasureTargets(definition);
      const matched = candidates.filter((c) => c.target !== null);
      const { targets: erased, ...result } = await offline.deleteRows(definition, keys, control, matched.map((c) => c.target!));
      await registry.putCommits([result.commit]);
      const erasure = await this.recordErasure(definition, candidates, new Map(matched.map((c, i) => [c, erased[i]!])));
      if (definition.online) {
        try {
          await this.deleteOnline(definition, keys, result.commit.commitId);
        } catch (error) {
          return { ...result, erasure, onlineError: errorSummary(error) };
        }
      }
      return { ...result, erasure };
    } finally {
      await control.done();
    }
  }

  /**
   * The training datasets of every view joining a group, each with how its rows of erased keys are found: by the
   * columns holding the join's spine keys, when the dataset table keeps them (always for the view's left group).
   */
  private async erasureTargets(definition: FeatureGroupDefinition): Promise<ErasureCandidate[]> {
    const { registry } = this.open_();
    const candidates: ErasureCandidate[] = [];
    for (const view of await registry.listFeatureViews()) {
      const joins = view.joins.filter((j) => nameKey(j.group) === nameKey(definition.name) && j.version === definition.version);
      if (joins.length === 0) continue;
      // Spine columns a dataset table keeps under their own name: keys, left-group features not renamed, labels.
      const kept = new Set([...view.spine.keys, ...view.features.filter((f) => f.join === 0 && f.name === f.column).map((f) => f.name), ...view.labels.map((l) => l.name)]);
      const columns = joins.map((j) => j.spineKeys).find((c) => c.every((k) => kept.has(k))) ?? null;
      for (const record of await registry.listTrainingDatasets(view.name, view.version)) {
        const renameTo = `${DATASET_TABLE_PREFIX}${nameKey(view.name)}_v${view.version}_${record.version}_e${crypto.randomUUID().replaceAll('-', '').slice(0, 12)}`;
        candidates.push({ view, record, target: columns === null ? null : { table: record.table, columns, countBy: SPLIT_COLUMN, renameTo } });
      }
    }
    return candidates;
  }

  /**
   * After an erasure: the records of datasets that lost rows follow their tables (new name, row counts, statistics),
   * the group's stored statistics are computed again (a minimum or maximum may have been an erased value), and the
   * report lists those datasets, the ones that could not be matched, and the models trained on either.
   */
  private async recordErasure(
    definition: FeatureGroupDefinition,
    candidates: readonly ErasureCandidate[],
    erased: ReadonlyMap<ErasureCandidate, ErasedRows>,
  ): Promise<ErasureReport> {
    const { registry, offline } = this.open_();
    const touched: { candidate: ErasureCandidate; rows: number | null }[] = [];
    for (const candidate of candidates) {
      const rows = erased.get(candidate);
      if (rows === undefined) {
        touched.push({ candidate, rows: null });
        continue;
      }
      if (rows.rows === 0) continue;
      touched.push({ candidate, rows: rows.rows });
      const { view, record } = candidate;
      const left = await this.definition(view.spine.group, view.spine.version);
      const minus = (split: SplitName): number => record.rowCounts[split] - (rows.byGroup.get(SPLIT_CODES.indexOf(split)) ?? 0);
      const columns = [...viewColumnTypes(view, left)].filter(([n]) => !view.spine.keys.includes(n) && n !== view.spine.eventTime);
      const statistics = await offline.tableStatistics(
        rows.table,
        columns.map(([name, type]) => ({ name, type, description: '', nullable: true, allowNaN: true })),
        { column: SPLIT_COLUMN, value: SPLIT_CODES.indexOf('train') },
      );
      await registry.putTrainingDataset({
        ...record,
        table: rows.table,
        rowCounts: { train: minus('train'), test: minus('test'), validation: minus('validation') },
        statistics,
      });
    }
    const stored = (await registry.dump()).statistics.filter((s) => nameKey(s.group) === nameKey(definition.name) && s.version === definition.version);
    for (const old of stored) await registry.putStatistics(await offline.statistics(definition, old.commitId));
    const trainedOn = (model: ModelVersionRecord, { view, record }: ErasureCandidate): boolean =>
      model.lineage !== null && nameKey(model.lineage.featureView) === nameKey(view.name) &&
      model.lineage.featureViewVersion === view.version && model.lineage.trainingDataset === record.version;
    const models = (await registry.listModels()).filter((m) => touched.some((t) => trainedOn(m, t.candidate)));
    return {
      datasets: touched.map(({ candidate: { view, record }, rows }) => ({ view: view.name, viewVersion: view.version, version: record.version, rows })),
      models: models.map((m) => ({ name: m.name, version: m.version, view: m.lineage!.featureView, viewVersion: m.lineage!.featureViewVersion, trainingDataset: m.lineage!.trainingDataset! })),
    };
  }

  // Sync: the worker's half (src/sync/snapshot.ts); the network half runs on the caller's thread (src/sync/sync.ts).

  async syncStatus(target: string, include: Manifest['include']): Promise<SyncStatus> {
    const { registry, offline } = this.open_();
    await this.datasets.drain();
    const state = parseSyncState(await offline.syncState(target));
    const dump = await registry.dump();
    const empty = dump.featureGroups.length === 0 && dump.featureViews.length === 0 && dump.models.length === 0 && dump.runs.length === 0 && dump.pipelines.length === 0;
    const local = await fingerprint(dump);
    const metadataSha = (await metadataBytes(snapshotMetadata(dump, include))).sha256;
    let localChanges = state.base === null ? !empty : state.base.localSha !== local;
    if (state.base !== null && !state.base.complete && localChanges) {
      // A pull cut short between its DuckDB and registry writes: the registry holds what it held before the pull
      // (nothing, for a store that had never synced) or what the pull wrote — neither is a change of the user's.
      const untouched = state.base.localSha === null && empty;
      const applied = metadataSha === state.base.manifest.metadata.sha256;
      if (untouched || applied) localChanges = false;
    }
    return {
      base: state.base === null ? null : { key: state.base.key, manifest: state.base.manifest, complete: state.base.complete },
      pending: state.pending === null ? null : { key: state.pending.key, manifest: state.pending.manifest },
      localChanges,
      empty,
      metadataSha,
    };
  }

  async syncExport(request: { store: string; include: SnapshotInclude | null; parent: Manifest | null }): Promise<{ draft: ManifestDraft; objects: NewObject[]; localSha: string }> {
    const { registry, offline } = this.open_();
    await this.datasets.drain();
    const result = await exportSnapshot(offline, registry, request);
    return Comlink.transfer(result, result.objects.map((o) => o.bytes.buffer as ArrayBuffer));
  }

  /** Records a push about to move HEAD (before the compare-and-swap), or — `pending: false` — one that did. */
  async syncRecord(target: string, key: string, manifest: Manifest, localSha: string | null, pending: boolean): Promise<void> {
    const { registry, offline } = this.open_();
    const state = parseSyncState(await offline.syncState(target));
    // A base taken over without a push (see Sync.adopt) is fingerprinted now.
    const sha = localSha ?? (await fingerprint(await registry.dump()));
    const next: SyncState = pending
      ? { base: state.base, pending: { key, manifest, localSha: sha } }
      : { base: { key, manifest, complete: true, localSha: sha }, pending: null };
    await offline.writeSyncState(target, JSON.stringify(next));
  }

  /** The pending push recorded for a target, with the fingerprint the store had when it was made. */
  async syncPendingPush(target: string): Promise<{ key: string; manifest: Manifest; localSha: string } | null> {
    return parseSyncState(await this.open_().offline.syncState(target)).pending;
  }

  async syncNeeds(base: Manifest | null, manifest: Manifest, metadata: Uint8Array): Promise<string[]> {
    const state = this.open_();
    const needed = await neededObjects(state.registry, base, manifest, metadata);
    // A persistent store without room for at least the objects it would download refuses before downloading them.
    if (!state.temporaryOnline) {
      const sizes = new Map(manifestObjects(manifest).map((o) => [o.key, o.size]));
      await ensureStorageSpace(needed.reduce((sum, key) => sum + (sizes.get(key) ?? 0), 0), 'Pulling the snapshot', storageProbe(state.name));
    }
    return needed;
  }

  async syncApply(snapshot: SnapshotToApply): Promise<void> {
    const state = this.open_();
    await this.datasets.drain();
    const sync = parseSyncState(await state.offline.syncState(snapshot.target));
    // A persistent store checks the origin has room for the decoded snapshot first: a full disk then refuses the pull
    // at once, before DuckDB or IndexedDB write anything.
    const reserve = (bytes: number) => (state.temporaryOnline ? Promise.resolve() : ensureStorageSpace(bytes, 'Applying the snapshot', storageProbe(state.name)));
    const { before, after } = await applySnapshot(state.offline, state.registry, snapshot, sync, reserve);
    const held = await state.registry.dump();
    const localSha = await fingerprint(held);
    const done: SyncState = { base: { key: snapshot.manifestKey, manifest: snapshot.manifest, complete: true, localSha }, pending: null };
    await state.offline.writeSyncState(snapshot.target, JSON.stringify(done));
    // The online store is derived: the online rows of groups whose rows changed are rebuilt from the offline rows.
    for (const definition of [...before, ...after]) {
      await this.onlineLock(definition).run(() => state.online.clear(onlineGroupKey(definition)));
    }
    for (const definition of after) {
      if (definition.online) await this.materializeOnline(definition, { kind: 'window', start: null, end: null }, silentControl());
    }
    const channel = new BroadcastChannel(aliasChannelName(state.name));
    for (const alias of held.aliases) {
      channel.postMessage({ model: alias.name, alias: alias.alias, version: alias.version } satisfies AliasMoved);
    }
    channel.close();
  }

  async close(): Promise<void> {
    const state = this.state;
    if (state === null || this.closing) return;
    this.closing = true; // no new training dataset starts while those being written finish
    try {
      await this.datasets.drain();
    } finally {
      this.closing = false;
    }
    this.state = null;
    this.dropPrepared();
    for (const controller of this.operations.values()) controller.abort(new Error('store closed'));
    try {
      await Promise.all([...this.onlineLocks.values()].map((m) => m.run(() => Promise.resolve())));
      await state.offline.close();
    } finally {
      state.registry.close();
      state.online.close();
      if (state.temporaryOnline) await OnlineStore.destroy(state.online.dbName).catch(() => undefined);
      state.release();
    }
  }
}

/** A training dataset an erasure reaches, and how its rows are found (null: its table keeps no key columns). */
interface ErasureCandidate {
  view: FeatureViewDefinition;
  record: TrainingDatasetRecord;
  target: ErasureTarget | null;
}

/** Offline tables of training datasets start with this; feature-group tables never do (see tableNameOf). */
const DATASET_TABLE_PREFIX = 'td_';

/** The key of a feature view version in PendingDatasets. */
function viewKey(view: FeatureViewDefinition): string {
  return `${nameKey(view.name)}@${view.version}`;
}

/** The left group's columns that supply a view's request fields; InvalidArgumentError when one is missing or differs in type. */
function requestColumnsOfLeft(view: FeatureViewDefinition, left: FeatureGroupDefinition): FeatureGroupDefinition['features'] {
  return view.request.map((field) => {
    const column = left.features.find((f) => f.name === field.name);
    if (column === undefined || column.type !== field.type) {
      throw new InvalidArgumentError(
        `Feature view ${view.name} v${view.version} needs request field '${field.name}' (${field.type}) for its on-demand features, and ` +
          `${left.name} v${left.version} has no ${field.type} column of that name to take it from: pass a spine with a '${field.name}' column.`,
        { details: { field: field.name, type: field.type } },
      );
    }
    return column;
  });
}

/** An operation control nobody watches: for work that must finish once started (write-through after a commit). */
function silentControl(): OperationControl {
  return { signal: new AbortController().signal, progress: () => undefined };
}

/** The Web Lock that marks a temporary online database as in use. */
function temporaryOnlineLock(dbName: string): string {
  return `larder:lock:${dbName}`;
}

/** Deletes temporary online databases of a store name (`<prefix>:<uuid>`) that no open store holds. */
async function deleteAbandonedOnlineDbs(prefix: string): Promise<void> {
  const databases = await indexedDB.databases().catch(() => []);
  for (const { name } of databases) {
    if (name === undefined || !name.startsWith(`${prefix}:`)) continue;
    const release = await tryLock(temporaryOnlineLock(name));
    if (release === null) continue; // a live store owns it
    try {
      await OnlineStore.destroy(name).catch(() => undefined);
    } finally {
      release();
    }
  }
}

/**
 * Per row, its own index when its event time (a Timestamp column) is within `ttlSeconds` of `at` (µs, inclusive,
 * as the point-in-time join counts it), else −1; with no TTL every row is itself.
 */
function withinTtl(times: Vector, ttlSeconds: number | null, at: bigint): Int32Array {
  const indices = Int32Array.from({ length: times.length }, (_, i) => i);
  if (ttlSeconds === null) return indices;
  const oldest = Number(at) - ttlSeconds * 1e6;
  microsOf(times).forEach((time, i) => {
    if (!(time >= oldest)) indices[i] = -1;
  });
  return indices;
}
