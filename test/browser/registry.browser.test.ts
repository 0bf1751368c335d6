import { afterEach, describe, expect, it } from 'vitest';
import { deleteDB } from 'idb';
import { IndexedDbRegistry, registryDbName } from '../../src/registry/indexeddb.ts';
import { MemoryRegistry } from '../../src/registry/memory.ts';
import type { CommitRecord, Registry } from '../../src/registry/types.ts';
import { normalizeFeatureGroup } from '../../src/definitions/feature-group.ts';
import { uniqueStoreName } from '../support/names.ts';

const group = (name: string, version: number) =>
  normalizeFeatureGroup({ name, version, primaryKey: 'id', eventTime: 'ts', features: { id: 'int64', x: 'float64' } }, 1000 + version);

const commit = (commitId: number, groupName: string, version: number): CommitRecord => ({
  commitId, group: groupName, version, kind: 'append', committedAt: commitId * 10, rowCount: commitId, batchId: null, validation: null,
});

/** The registry contract: every implementation must pass it. */
function registryContract(label: string, open: () => Promise<{ registry: Registry; reopen?: () => Promise<Registry> }>): void {
  describe(`registry contract: ${label}`, () => {
    const opened: Registry[] = [];
    afterEach(() => opened.splice(0).forEach((r) => r.close()));
    const make = async () => {
      const made = await open();
      opened.push(made.registry);
      return made;
    };

    it('stores definitions by case-insensitive name and version; latest when no version', async () => {
      const { registry } = await make();
      await registry.putFeatureGroup(group('Weather', 1));
      await registry.putFeatureGroup(group('Weather', 3));
      await registry.putFeatureGroup(group('Air', 2));
      expect((await registry.getFeatureGroup('weather', 1))?.version).toBe(1);
      expect((await registry.getFeatureGroup('WEATHER'))?.version).toBe(3);
      expect(await registry.getFeatureGroup('weather', 2)).toBeUndefined();
      expect(await registry.getFeatureGroup('nothing')).toBeUndefined();
      expect((await registry.listFeatureGroups()).map((g) => `${g.name}:${g.version}`)).toEqual(['Air:2', 'Weather:1', 'Weather:3']);
      expect(await registry.getFeatureGroup('Weather', 1)).toEqual(group('Weather', 1));
    });

    it('keeps commits per group version in commit order, and statistics per commit', async () => {
      const { registry } = await make();
      await registry.putFeatureGroup(group('a', 1));
      await registry.putFeatureGroup(group('a', 2));
      await registry.putCommits([commit(3, 'a', 1), commit(1, 'a', 1), commit(2, 'a', 2)]);
      await registry.putCommits([commit(3, 'a', 1)]);
      expect((await registry.listCommits('A', 1)).map((c) => c.commitId)).toEqual([1, 3]);
      expect(await registry.listCommits('a', 2)).toEqual([commit(2, 'a', 2)]);
      const stats = { group: 'a', version: 1, commitId: 3, computedAt: 5, rowCount: 4, columns: {} };
      await registry.putStatistics(stats);
      expect(await registry.getStatistics('a', 1, 3)).toEqual(stats);
      expect(await registry.getStatistics('a', 1, 1)).toBeUndefined();
    });

    it('deletes a version with its commits and statistics, leaving other versions', async () => {
      const { registry } = await make();
      await registry.putFeatureGroup(group('a', 1));
      await registry.putFeatureGroup(group('a', 2));
      await registry.putCommits([commit(1, 'a', 1), commit(2, 'a', 2)]);
      await registry.putStatistics({ group: 'a', version: 1, commitId: 1, computedAt: 5, rowCount: 1, columns: {} });
      await registry.deleteFeatureGroup('a', 1);
      expect(await registry.getFeatureGroup('a', 1)).toBeUndefined();
      expect(await registry.listCommits('a', 1)).toEqual([]);
      expect(await registry.getStatistics('a', 1, 1)).toBeUndefined();
      expect((await registry.listCommits('a', 2)).length).toBe(1);
      expect((await registry.getFeatureGroup('a'))?.version).toBe(2);
    });

    it('returns copies: changing a result does not change the registry', async () => {
      const { registry } = await make();
      await registry.putCommits([commit(1, 'a', 1)]);
      const [first] = await registry.listCommits('a', 1);
      first!.rowCount = 999;
      expect((await registry.listCommits('a', 1))[0]?.rowCount).toBe(1);
    });
  });
}

registryContract('memory', () => Promise.resolve({ registry: new MemoryRegistry() }));

registryContract('IndexedDB', async () => {
  const name = uniqueStoreName('reg');
  await deleteDB(registryDbName(name));
  return { registry: await IndexedDbRegistry.open(name) };
});

describe('IndexedDB registry persistence', () => {
  it('keeps definitions and commits across close and reopen', async () => {
    const name = uniqueStoreName('regp');
    const first = await IndexedDbRegistry.open(name);
    await first.putFeatureGroup(group('a', 1));
    await first.putCommits([commit(7, 'a', 1)]);
    first.close();
    const second = await IndexedDbRegistry.open(name);
    expect(await second.getFeatureGroup('a', 1)).toEqual(group('a', 1));
    expect(await second.listCommits('a', 1)).toEqual([commit(7, 'a', 1)]);
    second.close();
  });
});
