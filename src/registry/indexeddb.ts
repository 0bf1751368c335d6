import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import type { FeatureGroupDefinition } from '../definitions/feature-group.ts';
import { nameKey } from '../definitions/names.ts';
import { QuotaExceededError, StorageError } from '../errors.ts';
import type { FeatureViewDefinition } from '../definitions/feature-view.ts';
import type { CommitRecord, FeatureGroupStatistics, Registry, TrainingDatasetRecord } from './types.ts';

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
}

export const REGISTRY_DB_VERSION = 2;

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
  private constructor(private readonly db: IDBPDatabase<RegistrySchema>) {}

  static async open(storeName: string): Promise<IndexedDbRegistry> {
    try {
      const db = await openDB<RegistrySchema>(registryDbName(storeName), REGISTRY_DB_VERSION, {
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
        },
      });
      return new IndexedDbRegistry(db);
    } catch (error) {
      return wrap(error, 'opening the registry');
    }
  }

  async putFeatureGroup(definition: FeatureGroupDefinition): Promise<void> {
    try {
      const tx = this.db.transaction('featureGroups', 'readwrite', { durability: 'strict' });
      await Promise.all([tx.store.put({ nameKey: nameKey(definition.name), version: definition.version, definition }), tx.done]);
    } catch (error) {
      wrap(error, `saving feature group ${definition.name} v${definition.version}`);
    }
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
    try {
      const tx = this.db.transaction('featureViews', 'readwrite', { durability: 'strict' });
      await Promise.all([tx.store.put({ nameKey: nameKey(definition.name), version: definition.version, definition }), tx.done]);
    } catch (error) {
      wrap(error, `saving feature view ${definition.name} v${definition.version}`);
    }
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
    try {
      const tx = this.db.transaction('trainingDatasets', 'readwrite', { durability: 'strict' });
      await Promise.all([tx.store.put({ ...record, viewKey: nameKey(record.view) }), tx.done]);
    } catch (error) {
      wrap(error, `saving training dataset ${record.view} v${record.viewVersion} #${record.version}`);
    }
  }

  async listTrainingDatasets(view: string, viewVersion: number): Promise<TrainingDatasetRecord[]> {
    const key = nameKey(view);
    const rows = await this.db.getAll('trainingDatasets', IDBKeyRange.bound([key, viewVersion, 0], [key, viewVersion, Number.MAX_SAFE_INTEGER]));
    return rows.map(({ viewKey: _viewKey, ...record }) => record);
  }

  close(): void {
    this.db.close();
  }
}
