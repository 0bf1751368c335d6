import { describe, expect, it } from 'vitest';
import {
  openFeatureStore, InvalidNameError, LarderError, NotFoundError, SchemaConflictError, StoreClosedError, StoreLockedError,
  ValidationError, type FeatureGroupSpec,
} from '../../src/index.ts';
import { uniqueStoreName } from '../support/names.ts';

const spec: FeatureGroupSpec = {
  name: 'weather',
  version: 1,
  primaryKey: 'location',
  eventTime: 'date',
  features: { location: 'string', date: 'timestamp', temp_max: 'float64' },
};

describe('store lifecycle', () => {
  it('refuses a second open of the same persistent store with StoreLockedError, and reopens after close', async () => {
    const name = uniqueStoreName('lock');
    const first = await openFeatureStore({ name });
    await first.createFeatureGroup(spec);
    const second = await openFeatureStore({ name }).then(
      () => null,
      (error: unknown) => error,
    );
    expect(second).toBeInstanceOf(StoreLockedError);
    expect((second as StoreLockedError).code).toBe('STORE_LOCKED');
    expect((second as Error).message).toMatch(/close\(\)/);
    // The failed open changed nothing: the first store still works.
    const fg = await first.getFeatureGroup('weather');
    await fg.insert([{ location: 'a', date: '2024-01-01', temp_max: 1 }]);
    await first.close();
    const again = await openFeatureStore({ name });
    expect((await (await again.getFeatureGroup('weather', 1)).read()).numRows).toBe(1);
    await again.close();
  });

  it('lets in-memory stores share a name and forget everything on close', async () => {
    const name = uniqueStoreName('mem');
    const a = await openFeatureStore({ name, persist: false });
    const b = await openFeatureStore({ name, persist: false });
    await a.createFeatureGroup(spec);
    expect(await b.listFeatureGroups()).toEqual([]);
    await a.close();
    await b.close();
    const c = await openFeatureStore({ name, persist: false });
    expect(await c.listFeatureGroups()).toEqual([]);
    await c.close();
  });

  it('throws StoreClosedError after close, and close is idempotent', async () => {
    const store = await openFeatureStore({ name: uniqueStoreName('closed'), persist: false });
    const fg = await store.createFeatureGroup(spec);
    await store.close();
    await store.close();
    await expect(store.listFeatureGroups()).rejects.toBeInstanceOf(StoreClosedError);
    await expect(fg.read()).rejects.toBeInstanceOf(StoreClosedError);
  });

  it('rejects invalid store names before starting anything', async () => {
    await expect(openFeatureStore({ name: 'bad name' })).rejects.toBeInstanceOf(InvalidNameError);
    await expect(openFeatureStore({ name: "x'; DROP" })).rejects.toBeInstanceOf(InvalidNameError);
  });
});

describe('feature group definitions through the store', () => {
  for (const persist of [false, true]) {
    it(`creates, gets (latest), lists and deletes versions (persist: ${String(persist)})`, async () => {
      const store = await openFeatureStore({ name: uniqueStoreName('defs'), persist });
      const v1 = await store.createFeatureGroup(spec);
      expect(v1.definition.features.map((f) => f.name)).toEqual(['location', 'date', 'temp_max']);
      // Same definition again: the existing group, with its original creation time.
      const again = await store.createFeatureGroup(spec);
      expect(again.definition).toEqual(v1.definition);
      const v2 = await store.createFeatureGroup({ ...spec, version: 2, features: { ...(spec.features as object), wind: 'float64' } });
      expect((await store.getFeatureGroup('weather')).version).toBe(2);
      expect((await store.getFeatureGroup('WEATHER', 1)).definition).toEqual(v1.definition);
      expect((await store.listFeatureGroups()).map((d) => d.version)).toEqual([1, 2]);
      await v2.insert([{ location: 'a', date: '2024-01-01', temp_max: 1, wind: 2 }]);
      await store.deleteFeatureGroup('weather', 2);
      await expect(store.getFeatureGroup('weather', 2)).rejects.toBeInstanceOf(NotFoundError);
      expect((await store.getFeatureGroup('weather')).version).toBe(1);
      // Re-creating a deleted version starts empty: erased rows never come back.
      const v2b = await store.createFeatureGroup({ ...spec, version: 2, features: { ...(spec.features as object), wind: 'float64' } });
      expect((await v2b.read()).numRows).toBe(0);
      expect(await v2b.commits()).toEqual([]);
      await store.close();
    });
  }

  it('refuses a different definition under an existing version with SchemaConflictError', async () => {
    const store = await openFeatureStore({ name: uniqueStoreName('conflict'), persist: false });
    await store.createFeatureGroup(spec);
    const error = await store.createFeatureGroup({ ...spec, features: { location: 'string', date: 'timestamp', temp_max: 'float32' } }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SchemaConflictError);
    expect((error as SchemaConflictError).code).toBe('SCHEMA_CONFLICT');
    expect((error as SchemaConflictError).details['differences']).toEqual(['features']);
    expect((error as Error).message).toMatch(/version 2/);
    await expect(store.createFeatureGroup({ ...spec, name: 'Weather' })).rejects.toBeInstanceOf(SchemaConflictError);
    await expect(store.createFeatureGroup({ ...spec, name: 'WEATHER', version: 2 })).rejects.toBeInstanceOf(InvalidNameError);
    await expect(store.getFeatureGroup('nothing')).rejects.toBeInstanceOf(NotFoundError);
    await store.close();
  });

  it('keeps class, code and details of worker errors on the main thread', async () => {
    const store = await openFeatureStore({ name: uniqueStoreName('errors'), persist: false });
    const fg = await store.createFeatureGroup(spec);
    const error = await fg.insert([{ location: 'a', date: '2024-01-01', temp_max: 'hot' }]).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toBeInstanceOf(LarderError);
    const e = error as ValidationError;
    expect(e.name).toBe('ValidationError');
    expect(e.code).toBe('VALIDATION_FAILED');
    expect(e.details.problems).toEqual([
      expect.objectContaining({ column: 'temp_max', kind: 'wrong_type', rows: [0], count: 1 }),
    ]);
    expect(e.message).toMatch(/temp_max/);
    await store.close();
  });
});
