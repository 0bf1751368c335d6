import type { FeatureGroupDefinition } from '../definitions/feature-group.ts';
import { nameKey } from '../definitions/names.ts';
import type { FeatureViewDefinition } from '../definitions/feature-view.ts';
import type { CommitRecord, FeatureGroupStatistics, Registry, TrainingDatasetRecord } from './types.ts';

const groupId = (name: string, version: number): string => `${nameKey(name)}\u0000${version}`;

/** The registry in memory, for `persist: false` stores. Values are cloned in and out like IndexedDB does. */
export class MemoryRegistry implements Registry {
  private readonly groups = new Map<string, FeatureGroupDefinition>();
  private readonly commits = new Map<number, CommitRecord>();
  private readonly statistics = new Map<string, FeatureGroupStatistics>();
  private readonly views = new Map<string, FeatureViewDefinition>();
  private readonly datasets = new Map<string, TrainingDatasetRecord>();

  putFeatureGroup(definition: FeatureGroupDefinition): Promise<void> {
    this.groups.set(groupId(definition.name, definition.version), structuredClone(definition));
    return Promise.resolve();
  }

  getFeatureGroup(name: string, version?: number): Promise<FeatureGroupDefinition | undefined> {
    if (version !== undefined) return Promise.resolve(clone(this.groups.get(groupId(name, version))));
    const versions = [...this.groups.values()].filter((g) => nameKey(g.name) === nameKey(name));
    versions.sort((a, b) => b.version - a.version);
    return Promise.resolve(clone(versions[0]));
  }

  listFeatureGroups(): Promise<FeatureGroupDefinition[]> {
    const all = [...this.groups.values()].sort((a, b) =>
      nameKey(a.name) === nameKey(b.name) ? a.version - b.version : nameKey(a.name) < nameKey(b.name) ? -1 : 1,
    );
    return Promise.resolve(all.map((g) => structuredClone(g)));
  }

  deleteFeatureGroup(name: string, version: number): Promise<void> {
    this.groups.delete(groupId(name, version));
    for (const [id, commit] of this.commits) {
      if (nameKey(commit.group) === nameKey(name) && commit.version === version) this.commits.delete(id);
    }
    for (const [id, stats] of this.statistics) {
      if (nameKey(stats.group) === nameKey(name) && stats.version === version) this.statistics.delete(id);
    }
    return Promise.resolve();
  }

  putCommits(commits: readonly CommitRecord[]): Promise<void> {
    for (const commit of commits) this.commits.set(commit.commitId, structuredClone(commit));
    return Promise.resolve();
  }

  listCommits(name: string, version: number): Promise<CommitRecord[]> {
    const list = [...this.commits.values()]
      .filter((c) => nameKey(c.group) === nameKey(name) && c.version === version)
      .sort((a, b) => a.commitId - b.commitId);
    return Promise.resolve(list.map((c) => structuredClone(c)));
  }

  putStatistics(statistics: FeatureGroupStatistics): Promise<void> {
    this.statistics.set(`${groupId(statistics.group, statistics.version)}\u0000${statistics.commitId}`, structuredClone(statistics));
    return Promise.resolve();
  }

  getStatistics(name: string, version: number, commitId: number): Promise<FeatureGroupStatistics | undefined> {
    return Promise.resolve(clone(this.statistics.get(`${groupId(name, version)}\u0000${commitId}`)));
  }

  putFeatureView(definition: FeatureViewDefinition): Promise<void> {
    this.views.set(groupId(definition.name, definition.version), structuredClone(definition));
    return Promise.resolve();
  }

  getFeatureView(name: string, version?: number): Promise<FeatureViewDefinition | undefined> {
    if (version !== undefined) return Promise.resolve(clone(this.views.get(groupId(name, version))));
    const versions = [...this.views.values()].filter((v) => nameKey(v.name) === nameKey(name)).sort((a, b) => b.version - a.version);
    return Promise.resolve(clone(versions[0]));
  }

  listFeatureViews(): Promise<FeatureViewDefinition[]> {
    const all = [...this.views.values()].sort((a, b) =>
      nameKey(a.name) === nameKey(b.name) ? a.version - b.version : nameKey(a.name) < nameKey(b.name) ? -1 : 1,
    );
    return Promise.resolve(all.map((v) => structuredClone(v)));
  }

  deleteFeatureView(name: string, version: number): Promise<void> {
    this.views.delete(groupId(name, version));
    for (const [id, d] of this.datasets) if (nameKey(d.view) === nameKey(name) && d.viewVersion === version) this.datasets.delete(id);
    return Promise.resolve();
  }

  putTrainingDataset(record: TrainingDatasetRecord): Promise<void> {
    this.datasets.set(`${groupId(record.view, record.viewVersion)}\u0000${record.version}`, structuredClone(record));
    return Promise.resolve();
  }

  listTrainingDatasets(view: string, viewVersion: number): Promise<TrainingDatasetRecord[]> {
    const list = [...this.datasets.values()]
      .filter((d) => nameKey(d.view) === nameKey(view) && d.viewVersion === viewVersion)
      .sort((a, b) => a.version - b.version);
    return Promise.resolve(list.map((d) => structuredClone(d)));
  }

  close(): void {
    this.views.clear();
    this.datasets.clear();
    this.groups.clear();
    this.commits.clear();
    this.statistics.clear();
  }
}

function clone<T>(value: T | undefined): T | undefined {
  return value === undefined ? undefined : structuredClone(value);
}
