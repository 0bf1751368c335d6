import { describe, expect, it } from 'vitest';
import { deleteFeatureStore, openFeatureStore, InvalidNameError, StoreLockedError } from '../../src/index.ts';
import { uniqueStoreName } from '../support/names.ts';

// deleteFeatureStore: everything a persistent store keeps in the origin goes, and nothing while it is open anywhere.

async function opfsNames(): Promise<string[]> {
  const root = await navigator.storage.getDirectory();
  const names: string[] = [];
  for await (const name of (root as unknown as { keys(): AsyncIterable<string> }).keys()) names.push(name);
  return names;
}

async function traces(name: string): Promise<string[]> {
  const databases = (await indexedDB.databases()).map((d) => d.name ?? '').filter((n) => n.startsWith(`larder:${name}:`));
  return [...databases, ...(await opfsNames()).filter((n) => n.startsWith(`larder-${name}.`))].sort();
}

async function makeStore(name: string): Promise<void> {
  const store = await openFeatureStore({ name });
  const fg = await store.createFeatureGroup({
    name: 'g', version: 1, primaryKey: 'id', eventTime: 'ts', online: true, features: { id: 'int64', ts: 'timestamp', v: 'float64' },
  });
  await fg.insert([{ id: 1, ts: 1000, v: 1.5 }, { id: 2, ts: 2000, v: 2.5 }]);
  await store.close();
}

describe('deleteFeatureStore', () => {
  it('deletes the DuckDB file, the registry and the online store; the name then opens empty', async () => {
    const name = uniqueStoreName('delete_me');
    const neighbour = uniqueStoreName('delete_me_not');
    await makeStore(name);
    await makeStore(neighbour);
    expect(await traces(name)).toEqual(expect.arrayContaining([`larder-${name}.duckdb`, `larder:${name}:online`, `larder:${name}:registry`]));
    const neighbourBefore = await traces(neighbour);

    await deleteFeatureStore(name);
    expect(await traces(name)).toEqual([]);
    expect(await traces(neighbour)).toEqual(neighbourBefore);

    const reopened = await openFeatureStore({ name });
    expect(await reopened.listFeatureGroups()).toEqual([]);
    await reopened.close();
    await deleteFeatureStore(name);
    await deleteFeatureStore(name); // nothing left: a no-op
    expect(await traces(name)).toEqual([]);
    await deleteFeatureStore(neighbour);
  });

  it('refuses while the store is open, deleting nothing', async () => {
    const name = uniqueStoreName('delete_open');
    await makeStore(name);
    const store = await openFeatureStore({ name });
    const before = await traces(name);
    await expect(deleteFeatureStore(name)).rejects.toBeInstanceOf(StoreLockedError);
    expect(await traces(name)).toEqual(before);
    const fg = await store.getFeatureGroup('g', 1);
    expect((await fg.read()).numRows).toBe(2);
    await store.close();
    await deleteFeatureStore(name);
    await expect(deleteFeatureStore('../etc')).rejects.toBeInstanceOf(InvalidNameError);
  });
});
