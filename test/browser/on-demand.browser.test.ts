import { describe, expect, it } from 'vitest';
import type { Table } from 'apache-arrow';
import { openFeatureStore, InvalidArgumentError, TransformationMismatchError, type FeatureStore } from '../../src/index.ts';
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

  it('reads request fields from an explicit spine, from the left group, and in batch data from the latest row', async () => {
    const store = await openFeatureStore({ name: uniqueStoreName('odr'), persist: false, createWorker: workerA });
    const sensor = await fill(store);
    const view = await store.createFeatureView({ name: 'v', version: 1, query: sensor.select(['temp']), onDemand: ['over_setpoint'] });
    expect(view.definition.request).toEqual([{ name: 'setpoint', type: 'float64' }]);
    // The sensor group has no setpoint: the left group cannot be the spine, and a spine must carry the field.
    await expect(view.trainingData()).rejects.toThrow(/request field 'setpoint' \(float64\)/);
    await expect(view.trainingData({ spine: [{ device: 'a', ts: 1500 }] })).rejects.toBeInstanceOf(InvalidArgumentError);
    const spine = [{ device: 'a', ts: 1500, setpoint: 4 }, { device: 'a', ts: 3500, setpoint: -50 }, { device: 'b', ts: 2500, setpoint: 1 }];
    const { train } = await view.trainingData({ spine, split: { kind: 'random', test: 0 } });
    expect(column(train, 'over_setpoint')).toEqual([10 - 4, -40 + 50, null]); // b's temp is null
    expect(train.schema.fields.map((f) => f.name)).toEqual(['device', 'ts', 'temp', 'over_setpoint']); // the field is an input, not a column

    // A group that stores the field: the left group's own rows supply it, and batch data takes each entity's latest.
    const thermostat = await store.createFeatureGroup({
      name: 'thermostat', version: 1, primaryKey: 'device', eventTime: 'ts',
      features: { device: 'string', ts: 'timestamp', temp: 'float64', setpoint: 'float64' },
    });
    await thermostat.insert([
      { device: 'a', ts: 1000, temp: 20, setpoint: 18 }, { device: 'a', ts: 2000, temp: 21, setpoint: 22 }, { device: 'b', ts: 1000, temp: 5, setpoint: null },
    ]);
    const stored = await store.createFeatureView({ name: 's', version: 1, query: thermostat.select(['temp']), onDemand: ['over_setpoint'] });
    const fromLeft = await stored.trainingData({ split: { kind: 'random', test: 0 } });
    // Spine order: event time, then keys.
    expect(column(fromLeft.train, 'over_setpoint')).toEqual([2, null, -1]);
    expect(fromLeft.train.schema.fields.map((f) => f.name)).toEqual(['device', 'ts', 'temp', 'over_setpoint']);
    const batch = await stored.getBatchData({ end: 10_000 });
    expect(column(batch, 'device')).toEqual(['a', 'b']);
    expect(column(batch, 'over_setpoint')).toEqual([-1, null]);
    expect(batch.schema.fields.map((f) => f.name)).toEqual(['device', 'ts', 'temp', 'over_setpoint']);
    await store.close();
  });
});
