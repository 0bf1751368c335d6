import * as Comlink from 'comlink';
import {
  normalizeFeatureGroup, sameDefinition, describeDifferences, validateVersion,
  type FeatureGroupDefinition, type FeatureGroupSpec,
} from '../definitions/feature-group.ts';
import { nameKey, validateName } from '../definitions/names.ts';
import { InvalidArgumentError, InvalidNameError, NotFoundError, SchemaConflictError, StoreClosedError } from '../errors.ts';
import { DuckDbOfflineStore, tableNameOf } from '../offline/duckdb/offline-store.ts';
import { defaultDuckDbAssets, startDuckDb } from '../offline/duckdb/engine.ts';
import type { CommitResult, IngestRequest, IngestSource, OperationControl, Progress, ReadRequest } from '../offline/types.ts';
import { IndexedDbRegistry } from '../registry/indexeddb.ts';
import { MemoryRegistry } from '../registry/memory.ts';
import type { CommitRecord, FeatureGroupStatistics, Registry } from '../registry/types.ts';
import type { OpenRequest, StoreWorkerApi } from '../rpc/store-api.ts';
import { acquireStoreLock } from './lock.ts';
import { loadParquetWasm } from '../ingest/parquet.ts';

interface OpenState {
  name: string;
  registry: Registry;
  offline: DuckDbOfflineStore;
  release: () => void;
}

/**
 * The store as it runs in its worker: the registry (definitions, commit mirror, statistics) and the offline store
 * (DuckDB), kept consistent. The registry is the source of truth for definitions; DuckDB for rows and the ledger.
 */
export class StoreService implements StoreWorkerApi {
  private state: OpenState | null = null;
  private readonly operations = new Map<number, AbortController>();

  async open(request: OpenRequest): Promise<void> {
    if (this.state !== null) throw new InvalidArgumentError('This store worker is already open.');
    const name = validateName(request.name, 'store');
    const release = request.persist ? await acquireStoreLock(name) : () => undefined;
    let registry: Registry | undefined;
    try {
      registry = request.persist ? await IndexedDbRegistry.open(name) : new MemoryRegistry();
      const engine = await startDuckDb({
        path: request.persist ? `opfs://larder-${nameKey(name)}.duckdb` : null,
        assets: request.assets ?? (await defaultDuckDbAssets()),
      });
      const offline = await DuckDbOfflineStore.open(engine);
      // Warm the Parquet decoder in the background; a load failure surfaces at the first Parquet insert.
      loadParquetWasm().catch(() => undefined);
      this.state = { name, registry, offline, release };
      await this.reconcile();
    } catch (error) {
      registry?.close();
      await this.state?.offline.close().catch(() => undefined); // the open error is the one to report
      this.state = null;
      release();
      throw error;
    }
  }

  /** Repairs what a killed tab can leave between the registry and DuckDB: missing tables and unmirrored commits. */
  private async reconcile(): Promise<void> {
    const { registry, offline } = this.open_();
    const definitions = await registry.listFeatureGroups();
    const tables = new Set(await offline.tableNames());
    for (const definition of definitions) {
      if (!tables.has(tableNameOf(definition))) await offline.createTable(definition);
      const mirrored = new Set((await registry.listCommits(definition.name, definition.version)).map((c) => c.commitId));
      const missing = (await offline.ledger(definition)).filter((c) => !mirrored.has(c.commitId));
      await registry.putCommits(missing);
    }
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
    // A table left by an interrupted delete must not come back to life under a new definition.
    await offline.dropTable(definition);
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
    const { registry, offline } = this.open_();
    await registry.deleteFeatureGroup(definition.name, definition.version);
    await offline.dropTable(definition);
  }

  private control(operationId: number, onProgress: ((progress: Progress) => void) | null): OperationControl & { done(): Promise<void> } {
    const controller = new AbortController();
    this.operations.set(operationId, controller);
    const delivered: Promise<unknown>[] = [];
    return {
      signal: controller.signal,
      progress: (progress) => {
        // Progress is advisory: a failing callback on the caller's side must not fail the write.
        if (onProgress !== null) delivered.push(Promise.resolve(onProgress(progress)).catch(() => undefined));
      },
      done: async () => {
        // Every progress report reaches the caller before the operation's result does.
        await Promise.all(delivered);
        this.operations.delete(operationId);
        (onProgress as Partial<Comlink.ProxyMethods> | null)?.[Comlink.releaseProxy]?.();
      },
    };
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
    const control = this.control(operationId, onProgress);
    try {
      const definition = await this.definition(name, version);
      const { registry, offline } = this.open_();
      const result = await offline.ingest(definition, source, request, control);
      if (!result.reused) await registry.putCommits([result.commit]);
      return result;
    } finally {
      await control.done();
    }
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

  async deleteRows(name: string, version: number, keys: IngestSource, operationId: number): Promise<CommitResult> {
    const control = this.control(operationId, null);
    try {
      const definition = await this.definition(name, version);
      const { registry, offline } = this.open_();
      const result = await offline.deleteRows(definition, keys, control);
      await registry.putCommits([result.commit]);
      return result;
    } finally {
      await control.done();
    }
  }

  async close(): Promise<void> {
    const state = this.state;
    if (state === null) return;
    this.state = null;
    for (const controller of this.operations.values()) controller.abort(new Error('store closed'));
    try {
      await state.offline.close();
    } finally {
      state.registry.close();
      state.release();
    }
  }
}
