import type { FeatureGroupDefinition } from '../definitions/feature-group.ts';
import { nameKey } from '../definitions/names.ts';
import type { CommitRecord, FeatureGroupStatistics, Registry } from './types.ts';

const groupId = (name: string, version: number): string => `${nameKey(name)}\u0000${version}`;

/** The registry in memory, for `persist: false` stores. Values are cloned in and out like IndexedDB does. */
export class MemoryRegistry implements Registry {
  private readonly groups = new Map<string, FeatureGroupDefinition>();
  private readonly commits = new Map<number, CommitRecord>();
  private readonly statistics = new Map<string, FeatureGroupStatistics>();

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

  close(): void {
    this.groups.clear();
    this.commits.clear();
    this.statistics.clear();
  }
}

function clone<T>(value: T | undefined): T | undefined {
  return value === undefined ? undefined : structuredClone(value);
}
