import { describe, expect, it } from 'vitest';
import type { Table } from 'apache-arrow';
import { openFeatureStore, TransformationMismatchError, type FeatureStore } from '../../src/index.ts';
import { uniqueStoreName } from '../support/names.ts';

const workerA = () => new Worker(new URL('../support/ondemand-a.worker.ts', import.meta.url), { type: 'module' });
const workerB = () => new Worker(new URL('../support/ondemand-b.worker.ts', import.meta.url), { type: 'module' });

const column = (table: Table, name: string): unknown[] => {
  const v = table.getChild(name)!;
  return Array.from({ length: v.length }, (_, i) => v.get(i) as unknown);
};

async function fill(store: FeatureStore) {
  const sensor = await store.createFeatureGroup({
    name: 'sensor', version: 1, primaryKey: 'device', eventTime: 'ts',
    features: { device: 'string', ts: 'timestamp', temp: 'float64' },
  });
  await sensor.insert([
    { device: 'a', ts: 1000, temp: 10 }, { device: 'b', ts: 2000, temp: null }, { device: 'a', ts: 3000, temp: -40 },
  ]);
  return sensor;
}

describe('on-demand features', () => {
  it('computes registered functions per row, in training data and batch data, and can transform them', async () => {
    const store = await openFeatureStore({ name: uniqueStoreName('od'), persist: false, createWorker: workerA });
    const sensor = await fill(store);
    const view = await store.createFeatureView({
      name: 'v', version: 1, query: sensor.select(['temp']), onDemand: ['temp_f', 'is_a'],
      transforms: [{ kind: 'minMaxScaler', column: 'temp_f' }],
    });
    expect(view.definition.onDemand.map((o) => [o.name, o.type, o.sourceHash.length])).toEqual([['temp_f', 'float64', 64], ['is_a', 'bool', 64]]);
    const { train } = await view.trainingData({ split: { kind: 'random', test: 0 } });
    // 10 °C = 50 °F, null stays null, -40 °C = -40 °F; min-max scaled with the train split's -40 and 50.
    expect(column(train, 'temp_f')).toEqual([1, null, 0]);
    expect(column(train, 'is_a')).toEqual([true, false, true]);
    const raw = await (await store.createFeatureView({ name: 'raw', version: 1, query: sensor.select(['temp']), onDemand: ['temp_f'] })).getBatchData({ end: 10_000 });
    expect(column(raw, 'temp_f')).toEqual([-40, null]);
    await expect(store.createFeatureView({ name: 'bad', version: 1, query: sensor.select(['temp']), onDemand: ['nope'] })).rejects.toBeInstanceOf(TransformationMismatchError);
    await store.close();
  });

  it('refuses to serve a dataset with a different function than it was built with', async () => {
    const name = uniqueStoreName('odp');
    const first = await openFeatureStore({ name, createWorker: workerA });
    const sensor = await fill(first);
    const view = await first.createFeatureView({ name: 'v', version: 1, query: sensor.select(['temp']), onDemand: ['temp_f'] });
    await view.trainingData({ split: { kind: 'random', test: 0 } });
    await first.close();

    const other = await openFeatureStore({ name, createWorker: workerB });
    const again = await other.getFeatureView('v', 1);
    const error = await again.getTrainingDataset(1).then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(TransformationMismatchError);
    expect((error as TransformationMismatchError).code).toBe('TRANSFORMATION_MISMATCH');
    await expect(again.trainingData()).rejects.toBeInstanceOf(TransformationMismatchError);
    await other.close();

    const plain = await openFeatureStore({ name });
    await expect((await plain.getFeatureView('v', 1)).getTrainingDataset(1)).rejects.toThrow(/not registered/);
    await plain.close();

    const original = await openFeatureStore({ name, createWorker: workerA });
    const { train } = await (await original.getFeatureView('v', 1)).getTrainingDataset(1);
    expect(column(train, 'temp_f')).toEqual([50, null, -40]);
    await original.close();
  });
});
