import { openDB, type DBSchema, type IDBPDatabase, type StoreNames, type StoreValue } from 'idb';
import type { FeatureGroupDefinition } from '../definitions/feature-group.ts';
import { nameKey } from '../definitions/names.ts';
import { NotFoundError, QuotaExceededError, StorageError, StoreClosedError } from '../errors.ts';
import type { FeatureViewDefinition } from '../definitions/feature-view.ts';
import type {
  AliasChange, AliasMoveKind, AliasRecord, CommitRecord, FeatureGroupStatistics, ModelVersionRecord, PipelineDefinition, PipelineRunRecord, Registry, RunRecord,
  RegistryDump, TrainingDatasetRecord,
} from './types.ts';
import { weightsKey } from './types.ts';
import { reconnecting } from '../util/idb-reconnect.ts';
import { assertUnaliased, byStart, joinChunks, lineageView, validateAlias, weightChunks } from './models.ts';

interface StoredFeatureGroup {
  nameKey: string;
  version: number;
  definition: FeatureGroupDefinition;
}

interface StoredCommit extends CommitRecord {
  groupKey: string;
}

interface StoredStatistics extends FeatureGroupStatistics {
  groupKey: string;
}

/** The whole IndexedDB schema of a store's registry. Later issues add stores through the upgrade ladder below. */
interface RegistrySchema extends DBSchema {
  featureGroups: { key: [string, number]; value: StoredFeatureGroup; indexes: { byName: string } };
  commits: { key: number; value: StoredCommit; indexes: { byGroup: [string, number, number] } };
  statistics: { key: [string, number, number]; value: StoredStatistics };
  featureViews: { key: [string, number]; value: { nameKey: string; version: number; definition: FeatureViewDefinition } };
  trainingDatasets: { key: [string, number, number]; value: TrainingDatasetRecord & { viewKey: string } };
  runs: { key: string; value: RunRecord & { modelKey: string }; indexes: { byModel: string } };
  models: { key: [string, number]; value: ModelVersionRecord & { nameKey: string } };
  /** The highest version ever registered per model name (versions are never reused). */
  modelNames: { key: string; value: { nameKey: string; lastVersion: number } };
  modelChunks: { key: [string, number, number]; value: ArrayBuffer };
  aliases: { key: [string, string]; value: AliasRecord & { nameKey: string; aliasKey: string } };
  aliasHistory: { key: number; value: AliasChange & { nameKey: string }; indexes: { byModel: string } };
  pipelines: { key: string; value: PipelineDefinition & { nameKey: string } };
  pipelineRuns: { key: string; value: PipelineRunRecord & { pipelineKey: string }; indexes: { byPipeline: string } };
}

export const REGISTRY_DB_VERSION = 4;

/** The IndexedDB database name of a store's registry. */
export function registryDbName(storeName: string): string {
  return `larder:${nameKey(storeName)}:registry`;
}

function wrap(error: unknown, what: string): never {
  if (error instanceof DOMException && error.name === 'QuotaExceededError') {
    throw new QuotaExceededError(`The storage quota is exhausted while ${what}; free space or call navigator.storage.persist().`, { cause: error });
  }
  throw new StorageError(`IndexedDB failed while ${what}: ${String(error)}`, { cause: error });
}

/** The registry on IndexedDB (idb). Pointer-like writes use strict durability. */
export class IndexedDbRegistry implements Registry {
  private constructor(private db: IDBPDatabase<RegistrySchema>, private readonly storeName: string) {}

  /**
   * Opens the registry. The connection steps aside when another tab upgrades the database (it is closed, never left
   * to block the upgrade), and a call that finds it closed underneath — by that, or by the browser — reopens it and
   * is made once more.
   */
  static async open(storeName: string): Promise<IndexedDbRegistry> {
    const registry = new IndexedDbRegistry(await IndexedDbRegistry.connect(storeName), storeName);
    return reconnecting(registry, async () => {
      registry.db = await IndexedDbRegistry.connect(storeName);
    });
  }

  private static async connect(storeName: string): Promise<IDBPDatabase<RegistrySchema>> {
    try {
      const db: IDBPDatabase<RegistrySchema> = await openDB<RegistrySchema>(registryDbName(storeName), REGISTRY_DB_VERSION, {
        blocking() {
          db.close();
        },
        upgrade(database, oldVersion) {
          if (oldVersion < 1) {
            const groups = database.createObjectStore('featureGroups', { keyPath: ['nameKey', 'version'] });
            groups.createIndex('byName', 'nameKey');
            const commits = database.createObjectStore('commits', { keyPath: 'commitId' });
            commits.createIndex('byGroup', ['groupKey', 'version', 'commitId']);
            database.createObjectStore('statistics', { keyPath: ['groupKey', 'version', 'commitId'] });
          }
          if (oldVersion < 2) {
            database.createObjectStore('featureViews', { keyPath: ['nameKey', 'version'] });
            database.createObjectStore('trainingDatasets', { keyPath: ['viewKey', 'viewVersion', 'version'] });
          }
          if (oldVersion < 3) {
            database.createObjectStore('runs', { keyPath: 'id' }).createIndex('byModel', 'modelKey');
            database.createObjectStore('models', { keyPath: ['nameKey', 'version'] });
            database.createObjectStore('modelNames', { keyPath: 'nameKey' });
            database.createObjectStore('modelChunks');
            database.createObjectStore('aliases', { keyPath: ['nameKey', 'aliasKey'] });
            database.createObjectStore('aliasHistory', { autoIncrement: true }).createIndex('byModel', 'nameKey');
          }
          if (oldVersion < 4) {
            database.createObjectStore('pipelines', { keyPath: 'nameKey' });
            database.createObjectStore('pipelineRuns', { keyPath: 'id' }).createIndex('byPipeline', 'pipelineKey');
          }
        },
      });
      return db;
    } catch (error) {
      if (error instanceof DOMException && error.name === 'VersionError') {
        throw new StoreClosedError(
          `The registry of store '${storeName}' was upgraded by a newer version of the app in another tab; reload this page.`,
          { cause: error },
        );
      }
      return wrap(error, 'opening the registry');
    }
  }

  /** Puts one record, strictly durably: resolved once it is on disk. */
  private async putDurably<N extends StoreNames<RegistrySchema>>(store: N, value: StoreValue<RegistrySchema, N>, what: string): Promise<void> {
    try {
      const tx = this.db.transaction(store, 'readwrite', { durability: 'strict' });
      await Promise.all([tx.store.put(value), tx.done]);
    } catch (error) {
      wrap(error, `saving ${what}`);
    }
  }

  async putFeatureGroup(definition: FeatureGroupDefinition): Promise<void> {
    const value = { nameKey: nameKey(definition.name), version: definition.version, definition };
    await this.putDurably('featureGroups', value, `feature group ${definition.name} v${definition.version}`);
  }

  async getFeatureGroup(name: string, version?: number): Promise<FeatureGroupDefinition | undefined> {
    const key = nameKey(name);
    if (version !== undefined) return (await this.db.get('featureGroups', [key, version]))?.definition;
    const cursor = await this.db
      .transaction('featureGroups')
      .store.openCursor(IDBKeyRange.bound([key, 0], [key, Number.MAX_SAFE_INTEGER]), 'prev');
    return cursor?.value.definition;
  }

  async listFeatureGroups(): Promise<FeatureGroupDefinition[]> {
    return (await this.db.getAll('featureGroups')).map((g) => g.definition);
  }

  async deleteFeatureGroup(name: string, version: number): Promise<void> {
    const key = nameKey(name);
    try {
      const tx = this.db.transaction(['featureGroups', 'commits', 'statistics'], 'readwrite', { durability: 'strict' });
      const range = IDBKeyRange.bound([key, version, 0], [key, version, Number.MAX_SAFE_INTEGER]);
      const commitKeys = await tx.objectStore('commits').index('byGroup').getAllKeys(range);
      await Promise.all([
        tx.objectStore('featureGroups').delete([key, version]),
        ...commitKeys.map((k) => tx.objectStore('commits').delete(k)),
        tx.objectStore('statistics').delete(range),
        tx.done,
      ]);
    } catch (error) {
      wrap(error, `deleting feature group ${name} v${version}`);
    }
  }

  async putCommits(commits: readonly CommitRecord[]): Promise<void> {
    if (commits.length === 0) return;
    try {
      const tx = this.db.transaction('commits', 'readwrite', { durability: 'strict' });
      await Promise.all([...commits.map((c) => tx.store.put({ ...c, groupKey: nameKey(c.group) })), tx.done]);
    } catch (error) {
      wrap(error, 'recording commits');
    }
  }

  async listCommits(name: string, version: number): Promise<CommitRecord[]> {
    const key = nameKey(name);
    const rows = await this.db.getAllFromIndex(
      'commits',
      'byGroup',
      IDBKeyRange.bound([key, version, 0], [key, version, Number.MAX_SAFE_INTEGER]),
    );
    return rows.map(({ groupKey: _groupKey, ...commit }) => commit);
  }

  async putStatistics(statistics: FeatureGroupStatistics): Promise<void> {
    try {
      await this.db.put('statistics', { ...statistics, groupKey: nameKey(statistics.group) });
    } catch (error) {
      wrap(error, 'saving statistics');
    }
  }

  async getStatistics(name: string, version: number, commitId: number): Promise<FeatureGroupStatistics | undefined> {
    const stored = await this.db.get('statistics', [nameKey(name), version, commitId]);
    if (stored === undefined) return undefined;
    const { groupKey: _groupKey, ...statistics } = stored;
    return statistics;
  }

  async putFeatureView(definition: FeatureViewDefinition): Promise<void> {
    const value = { nameKey: nameKey(definition.name), version: definition.version, definition };
    await this.putDurably('featureViews', value, `feature view ${definition.name} v${definition.version}`);
  }

  async getFeatureView(name: string, version?: number): Promise<FeatureViewDefinition | undefined> {
    const key = nameKey(name);
    if (version !== undefined) return (await this.db.get('featureViews', [key, version]))?.definition;
    const cursor = await this.db
      .transaction('featureViews')
      .store.openCursor(IDBKeyRange.bound([key, 0], [key, Number.MAX_SAFE_INTEGER]), 'prev');
    return cursor?.value.definition;
  }

  async listFeatureViews(): Promise<FeatureViewDefinition[]> {
    return (await this.db.getAll('featureViews')).map((v) => v.definition);
  }

  async deleteFeatureView(name: string, version: number): Promise<void> {
    const key = nameKey(name);
    try {
      const tx = this.db.transaction(['featureViews', 'trainingDatasets'], 'readwrite', { durability: 'strict' });
      await Promise.all([
        tx.objectStore('featureViews').delete([key, version]),
        tx.objectStore('trainingDatasets').delete(IDBKeyRange.bound([key, version, 0], [key, version, Number.MAX_SAFE_INTEGER])),
        tx.done,
      ]);
    } catch (error) {
      wrap(error, `deleting feature view ${name} v${version}`);
    }
  }

  async putTrainingDataset(record: TrainingDatasetRecord): Promise<void> {
    await this.putDurably('trainingDatasets', { ...record, viewKey: nameKey(record.view) }, `training dataset ${record.view} v${record.viewVersion} #${record.version}`);
  }

  async listTrainingDatasets(view: string, viewVersion: number): Promise<TrainingDatasetRecord[]> {
    const key = nameKey(view);
    const rows = await this.db.getAll('trainingDatasets', IDBKeyRange.bound([key, viewVersion, 0], [key, viewVersion, Number.MAX_SAFE_INTEGER]));
    return rows.map(({ viewKey: _viewKey, ...record }) => record);
  }

  async putRun(run: RunRecord): Promise<void> {
    await this.putDurably('runs', { ...run, modelKey: nameKey(run.model) }, `run ${run.id}`);
  }

  async getRun(id: string): Promise<RunRecord | undefined> {
    const stored = await this.db.get('runs', id);
    if (stored === undefined) return undefined;
    const { modelKey: _modelKey, ...run } = stored;
    return run;
  }

  async listRuns(model?: string): Promise<RunRecord[]> {
    const rows = model === undefined ? await this.db.getAll('runs') : await this.db.getAllFromIndex('runs', 'byModel', nameKey(model));
    return rows.map(({ modelKey: _modelKey, ...run }) => run).sort(byStart);
  }

  async registerModel(
    record: Omit<ModelVersionRecord, 'version' | 'artifact'> & { artifact: Omit<ModelVersionRecord['artifact'], 'chunks' | 'bytes'> },
    weightData: ArrayBuffer,
  ): Promise<ModelVersionRecord> {
    const key = nameKey(record.name);
    const chunks = weightChunks(weightData);
    try {
      const tx = this.db.transaction(['models', 'modelNames', 'modelChunks'], 'readwrite', { durability: 'strict' });
      const names = tx.objectStore('modelNames');
      const version = ((await names.get(key))?.lastVersion ?? 0) + 1;
      const stored: ModelVersionRecord = { ...record, version, artifact: { ...record.artifact, bytes: weightData.byteLength, chunks: chunks.length } };
      await Promise.all([
        names.put({ nameKey: key, lastVersion: version }),
        tx.objectStore('models').put({ ...stored, nameKey: key }),
        ...chunks.map((c, i) => tx.objectStore('modelChunks').put(c, [key, version, i])),
        tx.done,
      ]);
      return stored;
    } catch (error) {
      return wrap(error, `registering model ${record.name}`);
    }
  }

  async getModel(name: string, version?: number): Promise<ModelVersionRecord | undefined> {
    const key = nameKey(name);
    const stored = version !== undefined
      ? await this.db.get('models', [key, version])
      : (await this.db.transaction('models').store.openCursor(IDBKeyRange.bound([key, 0], [key, Number.MAX_SAFE_INTEGER]), 'prev'))?.value;
    if (stored === undefined) return undefined;
    const { nameKey: _nameKey, ...record } = stored;
    return record;
  }

  async listModels(name?: string): Promise<ModelVersionRecord[]> {
    const range = name === undefined ? undefined : IDBKeyRange.bound([nameKey(name), 0], [nameKey(name), Number.MAX_SAFE_INTEGER]);
    return (await this.db.getAll('models', range)).map(({ nameKey: _nameKey, ...record }) => record);
  }

  async readWeights(name: string, version: number): Promise<ArrayBuffer> {
    const key = nameKey(name);
    const tx = this.db.transaction(['models', 'modelChunks']);
    const [stored, chunks] = await Promise.all([
      tx.objectStore('models').get([key, version]),
      tx.objectStore('modelChunks').getAll(IDBKeyRange.bound([key, version, 0], [key, version, Number.MAX_SAFE_INTEGER])),
    ]);
    if (stored === undefined) throw new NotFoundError(`Model ${name} has no version ${version}.`);
    return joinChunks(chunks, stored);
  }

  async deleteModel(name: string, version: number): Promise<void> {
    const key = nameKey(name);
    const tx = this.db.transaction(['models', 'modelChunks', 'aliases'], 'readwrite', { durability: 'strict' });
    const aliases = await tx.objectStore('aliases').getAll(IDBKeyRange.bound([key, ''], [key, '\uffff']));
    try {
      assertUnaliased(name, version, aliases);
    } catch (error) {
      tx.abort();
      await tx.done.catch(() => undefined);
      throw error;
    }
    try {
      await Promise.all([
        tx.objectStore('models').delete([key, version]),
        tx.objectStore('modelChunks').delete(IDBKeyRange.bound([key, version, 0], [key, version, Number.MAX_SAFE_INTEGER])),
        tx.done,
      ]);
    } catch (error) {
      wrap(error, `deleting model ${name} v${version}`);
    }
  }

  async setAlias(name: string, alias: string, version: number | null, reason: string, kind: AliasMoveKind = 'set'): Promise<AliasChange> {
    const key = nameKey(name);
    const aliasKey = nameKey(validateAlias(alias));
    try {
      const tx = this.db.transaction(['models', 'aliases', 'aliasHistory'], 'readwrite', { durability: 'strict' });
      const target = version === null ? undefined : await tx.objectStore('models').get([key, version]);
      if (version !== null && target === undefined) {
        tx.abort();
        await tx.done.catch(() => undefined);
        throw new NotFoundError(`Model ${name} has no version ${version}.`);
      }
      const previous = await tx.objectStore('aliases').get([key, aliasKey]);
      const change: AliasChange = { name, alias, at: Date.now(), from: previous?.version ?? null, to: version, reason, featureView: lineageView(target), kind };
      await Promise.all([
        version === null
          ? tx.objectStore('aliases').delete([key, aliasKey])
          : tx.objectStore('aliases').put({ name, alias, version, updatedAt: change.at, nameKey: key, aliasKey }),
        tx.objectStore('aliasHistory').add({ ...change, nameKey: key }),
        tx.done,
      ]);
      return change;
    } catch (error) {
      if (error instanceof NotFoundError) throw error;
      return wrap(error, `moving alias ${alias} of ${name}`);
    }
  }

  async getAlias(name: string, alias: string): Promise<AliasRecord | undefined> {
    const stored = await this.db.get('aliases', [nameKey(name), nameKey(alias)]);
    if (stored === undefined) return undefined;
    const { nameKey: _n, aliasKey: _a, ...record } = stored;
    return record;
  }

  async listAliases(name: string): Promise<AliasRecord[]> {
    const key = nameKey(name);
    return (await this.db.getAll('aliases', IDBKeyRange.bound([key, ''], [key, '\uffff']))).map(({ nameKey: _n, aliasKey: _a, ...record }) => record);
  }

  async aliasHistory(name: string): Promise<AliasChange[]> {
    return (await this.db.getAllFromIndex('aliasHistory', 'byModel', nameKey(name))).map(({ nameKey: _n, ...change }) => change);
  }

  async putPipeline(definition: PipelineDefinition): Promise<void> {
    await this.putDurably('pipelines', { ...definition, nameKey: nameKey(definition.name) }, `pipeline ${definition.name}`);
  }

  async getPipeline(name: string): Promise<PipelineDefinition | undefined> {
    const stored = await this.db.get('pipelines', nameKey(name));
    if (stored === undefined) return undefined;
    const { nameKey: _key, ...definition } = stored;
    return definition;
  }

  async listPipelines(): Promise<PipelineDefinition[]> {
    return (await this.db.getAll('pipelines')).map(({ nameKey: _key, ...definition }) => definition);
  }

  async putPipelineRun(run: PipelineRunRecord): Promise<void> {
    await this.putDurably('pipelineRuns', { ...run, pipelineKey: nameKey(run.pipeline) }, `pipeline run ${run.id}`);
  }

  async getPipelineRun(id: string): Promise<PipelineRunRecord | undefined> {
    const stored = await this.db.get('pipelineRuns', id);
    if (stored === undefined) return undefined;
    const { pipelineKey: _key, ...run } = stored;
    return run;
  }

  async listPipelineRuns(pipeline?: string): Promise<PipelineRunRecord[]> {
    const rows = pipeline === undefined
      ? await this.db.getAll('pipelineRuns')
      : await this.db.getAllFromIndex('pipelineRuns', 'byPipeline', nameKey(pipeline));
    return rows.map(({ pipelineKey: _key, ...run }) => run).sort(byStart);
  }

  async dump(): Promise<RegistryDump> {
    const tx = this.db.transaction(DUMPED_STORES);
    const all = <N extends (typeof DUMPED_STORES)[number]>(name: N) => tx.objectStore(name).getAll();
    const [groups, commits, statistics, views, datasets, runs, models, names, aliases, history, pipelines, pipelineRuns] = await Promise.all([
      all('featureGroups'), all('commits'), all('statistics'), all('featureViews'), all('trainingDatasets'), all('runs'), all('models'),
      all('modelNames'), all('aliases'), all('aliasHistory'), all('pipelines'), all('pipelineRuns'),
    ]);
    await tx.done;
    return {
      featureGroups: groups.map((g) => g.definition),
      commits: commits.map(({ groupKey: _k, ...c }) => c),
      statistics: statistics.map(({ groupKey: _k, ...c }) => c),
      featureViews: views.map((v) => v.definition),
      trainingDatasets: datasets.map(({ viewKey: _k, ...d }) => d),
      runs: runs.map(({ modelKey: _k, ...r }) => r),
      models: models.map(({ nameKey: _k, ...m }) => m),
      modelNames: names.map((n) => ({ name: n.nameKey, lastVersion: n.lastVersion })),
      aliases: aliases.map(({ nameKey: _k, aliasKey: _a, ...a }) => a),
      aliasHistory: history.map(({ nameKey: _k, ...h }) => h),
      pipelines: pipelines.map(({ nameKey: _k, ...p }) => p),
      pipelineRuns: pipelineRuns.map(({ pipelineKey: _k, ...r }) => r),
    };
  }

  async restore(dump: RegistryDump, weights: ReadonlyMap<string, ArrayBuffer>): Promise<void> {
    // Checked before the transaction starts: one that fails half-way must be aborted, not left to commit what it did.
    for (const m of dump.models) {
      if (!weights.has(weightsKey(m.name, m.version))) throw new NotFoundError(`The weights of model ${m.name} v${m.version} are missing.`);
    }
    try {
      const tx = this.db.transaction([...DUMPED_STORES, 'modelChunks'], 'readwrite', { durability: 'strict' });
      const store = <N extends (typeof DUMPED_STORES)[number] | 'modelChunks'>(name: N) => tx.objectStore(name);
      const writes: Promise<unknown>[] = [...DUMPED_STORES, 'modelChunks' as const].map((name) => store(name).clear());
      for (const definition of dump.featureGroups) {
        writes.push(store('featureGroups').put({ nameKey: nameKey(definition.name), version: definition.version, definition }));
      }
      for (const c of dump.commits) writes.push(store('commits').put({ ...c, groupKey: nameKey(c.group) }));
      for (const c of dump.statistics) writes.push(store('statistics').put({ ...c, groupKey: nameKey(c.group) }));
      for (const definition of dump.featureViews) {
        writes.push(store('featureViews').put({ nameKey: nameKey(definition.name), version: definition.version, definition }));
      }
      for (const d of dump.trainingDatasets) writes.push(store('trainingDatasets').put({ ...d, viewKey: nameKey(d.view) }));
      for (const r of dump.runs) writes.push(store('runs').put({ ...r, modelKey: nameKey(r.model) }));
      for (const m of dump.models) {
        const key = nameKey(m.name);
        writes.push(store('models').put({ ...m, nameKey: key }));
        weightChunks(weights.get(weightsKey(m.name, m.version))!).forEach((chunk, i) => writes.push(store('modelChunks').put(chunk, [key, m.version, i])));
      }
      for (const n of dump.modelNames) writes.push(store('modelNames').put({ nameKey: nameKey(n.name), lastVersion: n.lastVersion }));
      for (const a of dump.aliases) writes.push(store('aliases').put({ ...a, nameKey: nameKey(a.name), aliasKey: nameKey(a.alias) }));
      for (const h of dump.aliasHistory) writes.push(store('aliasHistory').add({ ...h, nameKey: nameKey(h.name) }));
      for (const p of dump.pipelines) writes.push(store('pipelines').put({ ...p, nameKey: nameKey(p.name) }));
      for (const r of dump.pipelineRuns) writes.push(store('pipelineRuns').put({ ...r, pipelineKey: nameKey(r.pipeline) }));
      await Promise.all([...writes, tx.done]);
    } catch (error) {
      wrap(error, 'replacing the registry with a snapshot');
    }
  }

  close(): void {
    this.db.close();
  }
}

/** The object stores a dump reads (weights travel apart from the records). */
const DUMPED_STORES = [
  'featureGroups', 'commits', 'statistics', 'featureViews', 'trainingDatasets', 'runs', 'models', 'modelNames', 'aliases', 'aliasHistory',
  'pipelines', 'pipelineRuns',
] as const;
