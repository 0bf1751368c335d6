import { afterEach, describe, expect, it } from 'vitest';
import { deleteDB, openDB } from 'idb';
import { IndexedDbRegistry, REGISTRY_DB_VERSION, registryDbName } from '../../src/registry/indexeddb.ts';
import { MemoryRegistry } from '../../src/registry/memory.ts';
import { weightsKey, type CommitRecord, type PipelineDefinition, type PipelineRunRecord, type Registry, type RunRecord, type TrainingDatasetRecord } from '../../src/registry/types.ts';
import { InvalidNameError, NotFoundError, StoreClosedError } from '../../src/errors.ts';
import { normalizeFeatureGroup } from '../../src/definitions/feature-group.ts';
import { normalizeFeatureView, type FeatureViewDefinition } from '../../src/definitions/feature-view.ts';
import { uniqueStoreName } from '../support/names.ts';

const group = (name: string, version: number) =>
  normalizeFeatureGroup({ name, version, primaryKey: 'id', eventTime: 'ts', features: { id: 'int64', x: 'float64' } }, 1000 + version);

const commit = (commitId: number, groupName: string, version: number): CommitRecord => ({
  commitId, group: groupName, version, kind: 'append', committedAt: commitId * 10, rowCount: commitId, batchId: null, validation: null,
});

const view = (name: string, version: number, description = ''): FeatureViewDefinition =>
  normalizeFeatureView(
    {
      name, version, description, labels: ['x'],
      query: { left: { group: 'a', version: 1, features: ['y'] }, joins: [{ select: { group: 'b', version: 1, features: ['x'] }, on: null, prefix: 'b_' }] },
      transforms: [{ kind: 'standardScaler', column: 'y' }],
    },
    (g, v) => normalizeFeatureGroup({ name: g, version: v, primaryKey: 'id', eventTime: 'ts', features: { id: 'int64', x: 'float64', y: 'float64' } }, 1),
    2000 + version,
  );

const dataset = (viewName: string, viewVersion: number, version: number): TrainingDatasetRecord => ({
  view: viewName, viewVersion, version, createdAt: 3000 + version,
  params: { start: null, end: 5, asOfKnown: false, spine: 'left-group', split: { kind: 'random', test: 0.2, validation: 0.1, seed: version } },
  rowCounts: { train: 7, test: 2, validation: 1 },
  transforms: null,
  table: `td_${viewName.toLowerCase()}_v${viewVersion}_${version}`,
  onDemand: [], statistics: { rowCount: 0, columns: {} },
});

const pipeline = (name: string, updatedAt: number): PipelineDefinition => ({
  name, inputs: [{ group: 'raw', version: 1 }], outputs: [{ group: 'daily', version: 2 }], chunkMs: 86_400_000,
  schedule: { everyMs: 60_000, onOnline: true, mode: 'incremental', params: { city: 'Seattle' } }, createdAt: 1, updatedAt,
});

const pipelineRun = (id: string, name: string, startedAt: number): PipelineRunRecord => ({
  id, pipeline: name, status: 'running', mode: 'window', trigger: 'manual', window: { start: null, end: startedAt }, chunkMs: null,
  params: { n: 1 }, inputs: [], outputs: [{ group: 'daily', version: 2, rows: 0, commitIds: [], validation: [] }], chunks: [], chunkCount: 0,
  resumeOf: null, logs: [], startedAt, endedAt: null, durationMs: null, error: null,
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

    it('stores feature views by case-insensitive name and version; latest when no version; listed by name then version', async () => {
      const { registry } = await make();
      await registry.putFeatureView(view('Churn', 1));
      await registry.putFeatureView(view('Churn', 3));
      await registry.putFeatureView(view('alpha', 2));
      await registry.putFeatureView(view('Zeta', 1));
      expect(await registry.getFeatureView('churn', 1)).toEqual(view('Churn', 1));
      expect((await registry.getFeatureView('CHURN'))?.version).toBe(3);
      expect(await registry.getFeatureView('churn', 2)).toBeUndefined();
      expect(await registry.getFeatureView('nothing')).toBeUndefined();
      expect(await registry.getFeatureView('nothing', 1)).toBeUndefined();
      expect((await registry.listFeatureViews()).map((v) => `${v.name}:${v.version}`)).toEqual(['alpha:2', 'Churn:1', 'Churn:3', 'Zeta:1']);
      // Views and groups are separate namespaces.
      expect(await registry.getFeatureGroup('churn')).toBeUndefined();
      // Putting the same version again replaces it.
      await registry.putFeatureView(view('Churn', 3, 'replaced'));
      expect((await registry.getFeatureView('churn', 3))?.description).toBe('replaced');
      expect((await registry.listFeatureViews()).length).toBe(4);
    });

    it('keeps training datasets per view version in dataset-version order', async () => {
      const { registry } = await make();
      await registry.putFeatureView(view('v', 1));
      await registry.putFeatureView(view('v', 2));
      await registry.putTrainingDataset(dataset('v', 1, 3));
      await registry.putTrainingDataset(dataset('V', 1, 1));
      await registry.putTrainingDataset(dataset('v', 1, 2));
      await registry.putTrainingDataset(dataset('v', 2, 1));
      await registry.putTrainingDataset(dataset('other', 1, 1));
      expect((await registry.listTrainingDatasets('V', 1)).map((d) => d.version)).toEqual([1, 2, 3]);
      expect(await registry.listTrainingDatasets('v', 1).then((l) => l[1])).toEqual(dataset('v', 1, 2));
      expect(await registry.listTrainingDatasets('v', 2)).toEqual([dataset('v', 2, 1)]);
      expect(await registry.listTrainingDatasets('v', 3)).toEqual([]);
      expect(await registry.listTrainingDatasets('nothing', 1)).toEqual([]);
      // Same (view, version, dataset version) replaces.
      await registry.putTrainingDataset({ ...dataset('v', 1, 2), rowCounts: { train: 1, test: 1, validation: 0 } });
      const list = await registry.listTrainingDatasets('v', 1);
      expect(list.length).toBe(3);
      expect(list[1]?.rowCounts).toEqual({ train: 1, test: 1, validation: 0 });
    });

    it('deletes a view version with its training datasets, leaving other versions and views', async () => {
      const { registry } = await make();
      await registry.putFeatureView(view('v', 1));
      await registry.putFeatureView(view('v', 2));
      await registry.putFeatureView(view('w', 1));
      await registry.putTrainingDataset(dataset('v', 1, 1));
      await registry.putTrainingDataset(dataset('v', 1, 2));
      await registry.putTrainingDataset(dataset('v', 2, 1));
      await registry.putTrainingDataset(dataset('w', 1, 1));
      await registry.deleteFeatureView('V', 1);
      expect(await registry.getFeatureView('v', 1)).toBeUndefined();
      expect(await registry.listTrainingDatasets('v', 1)).toEqual([]);
      expect((await registry.getFeatureView('v'))?.version).toBe(2);
      expect(await registry.listTrainingDatasets('v', 2)).toEqual([dataset('v', 2, 1)]);
      expect(await registry.listTrainingDatasets('w', 1)).toEqual([dataset('w', 1, 1)]);
      expect((await registry.listFeatureViews()).map((v) => `${v.name}:${v.version}`)).toEqual(['v:2', 'w:1']);
      // Deleting what is not there is a no-op.
      await registry.deleteFeatureView('v', 9);
      await registry.deleteFeatureView('v', 2);
      await registry.deleteFeatureView('v', 2);
      expect(await registry.getFeatureView('v')).toBeUndefined();
      expect(await registry.listTrainingDatasets('v', 2)).toEqual([]);
    });

    it('returns copies of views and datasets, and is unaffected by later changes to what was put', async () => {
      const { registry } = await make();
      await registry.putFeatureView(view('v', 1));
      const got = (await registry.getFeatureView('v', 1)) as unknown as { description: string; features: { name: string }[] };
      got.description = 'changed';
      got.features[0]!.name = 'changed';
      const [listed] = (await registry.listFeatureViews()) as { description: string }[];
      listed!.description = 'changed';
      expect(await registry.getFeatureView('v', 1)).toEqual(view('v', 1));
      expect(await registry.getFeatureView('v')).toEqual(view('v', 1));

      const record = dataset('v', 1, 1);
      await registry.putTrainingDataset(record);
      record.rowCounts.train = 999;
      const [first] = await registry.listTrainingDatasets('v', 1);
      expect(first?.rowCounts.train).toBe(7);
      first!.rowCounts.train = 555;
      (first!.params.split as { seed: number }).seed = 555;
      expect(await registry.listTrainingDatasets('v', 1)).toEqual([dataset('v', 1, 1)]);
      // No storage-internal fields leak into results.
      expect(Object.keys(first!).sort()).toEqual(Object.keys(dataset('v', 1, 1)).sort());
    });

    it('returns copies: changing a result does not change the registry', async () => {
      const { registry } = await make();
      await registry.putCommits([commit(1, 'a', 1)]);
      const [first] = await registry.listCommits('a', 1);
      first!.rowCount = 999;
      expect((await registry.listCommits('a', 1))[0]?.rowCount).toBe(1);
    });

    it('records runs, updates them in place and lists them per model in start order', async () => {
      const { registry } = await make();
      await registry.putRun(run('r2', 'Rain', 20));
      await registry.putRun(run('r1', 'rain', 10));
      await registry.putRun(run('r3', 'wind', 5));
      await registry.putRun({ ...run('r1', 'rain', 10), status: 'finished', endedAt: 15, metrics: { rmse: 1.5 } });
      expect((await registry.getRun('r1'))).toEqual({ ...run('r1', 'rain', 10), status: 'finished', endedAt: 15, metrics: { rmse: 1.5 } });
      expect(await registry.getRun('nope')).toBeUndefined();
      expect((await registry.listRuns('RAIN')).map((r) => r.id)).toEqual(['r1', 'r2']);
      expect((await registry.listRuns()).map((r) => r.id)).toEqual(['r3', 'r1', 'r2']);
    });

    it('keeps pipeline definitions by case-insensitive name and their runs per pipeline in start order', async () => {
      const { registry } = await make();
      await registry.putPipeline(pipeline('Daily', 1));
      await registry.putPipeline(pipeline('daily', 2));
      await registry.putPipeline(pipeline('hourly', 3));
      expect(await registry.getPipeline('DAILY')).toEqual(pipeline('daily', 2));
      expect(await registry.getPipeline('none')).toBeUndefined();
      expect((await registry.listPipelines()).map((p) => [p.name, p.updatedAt]).sort()).toEqual([['daily', 2], ['hourly', 3]]);
      await registry.putPipelineRun(pipelineRun('b', 'daily', 20));
      await registry.putPipelineRun(pipelineRun('a', 'Daily', 10));
      await registry.putPipelineRun(pipelineRun('c', 'hourly', 5));
      const done = { ...pipelineRun('a', 'Daily', 10), status: 'succeeded' as const, endedAt: 30, durationMs: 20 };
      await registry.putPipelineRun(done);
      expect(await registry.getPipelineRun('a')).toEqual(done);
      expect(await registry.getPipelineRun('zzz')).toBeUndefined();
      expect((await registry.listPipelineRuns('DAILY')).map((r) => r.id)).toEqual(['a', 'b']);
      expect((await registry.listPipelineRuns()).map((r) => r.id)).toEqual(['c', 'a', 'b']);
    });

    it('registers model versions with chunked weights; versions are never reused; deletes are refused while aliased', async () => {
      const { registry } = await make();
      // 9 MiB + 3 bytes: three chunks.
      const weights = new Uint8Array(9 * 1024 * 1024 + 3);
      for (let i = 0; i < weights.length; i++) weights[i] = (i * 7) % 251;
      const same = (a: ArrayBuffer, b: Uint8Array) => a.byteLength === b.length && new Uint8Array(a).every((x, i) => x === b[i]);
      const v1 = await registry.registerModel(modelRecord('Rain'), weights.buffer);
      const v2 = await registry.registerModel(modelRecord('rain'), new Uint8Array([1, 2, 3]).buffer);
      expect([v1.version, v1.artifact.chunks, v2.version, v2.artifact.chunks]).toEqual([1, 3, 2, 1]);
      expect(same(await registry.readWeights('rain', 1), weights)).toBe(true);
      expect(new Uint8Array(await registry.readWeights('RAIN', 2))).toEqual(new Uint8Array([1, 2, 3]));
      expect((await registry.getModel('rain'))?.version).toBe(2);
      expect(await registry.getModel('rain', 1)).toEqual(v1);
      expect((await registry.listModels('rain')).map((m) => m.version)).toEqual([1, 2]);
      await expect(registry.readWeights('rain', 9)).rejects.toBeInstanceOf(NotFoundError);

      const first = await registry.setAlias('rain', 'champion', 1, 'first model');
      expect(first).toMatchObject({ alias: 'champion', from: null, to: 1, reason: 'first model' });
      await expect(registry.deleteModel('rain', 1)).rejects.toThrow(/alias champion points at it/);
      expect(await registry.getModel('rain', 1)).toEqual(v1); // nothing changed
      await registry.setAlias('rain', 'champion', 2, 'green button');
      await registry.setAlias('rain', 'challenger', 1, 'shadow');
      await registry.setAlias('rain', 'challenger', null, 'done');
      await expect(registry.setAlias('rain', 'champion', 7, 'no such version')).rejects.toBeInstanceOf(NotFoundError);
      await expect(registry.setAlias('rain', 'bad alias', 1, 'x')).rejects.toBeInstanceOf(InvalidNameError);
      expect(await registry.getAlias('rain', 'CHAMPION')).toMatchObject({ alias: 'champion', version: 2 });
      expect((await registry.listAliases('rain')).map((a) => [a.alias, a.version])).toEqual([['champion', 2]]);
      expect((await registry.aliasHistory('rain')).map((c) => [c.alias, c.from, c.to, c.reason])).toEqual([
        ['champion', null, 1, 'first model'], ['champion', 1, 2, 'green button'], ['challenger', null, 1, 'shadow'], ['challenger', 1, null, 'done'],
      ]);
      await registry.deleteModel('rain', 1);
      expect(await registry.getModel('rain', 1)).toBeUndefined();
      await expect(registry.readWeights('rain', 1)).rejects.toBeInstanceOf(NotFoundError);
      expect((await registry.registerModel(modelRecord('rain'), new ArrayBuffer(0))).version).toBe(3); // 1 is not reused
      expect(new Uint8Array(await registry.readWeights('rain', 3))).toEqual(new Uint8Array(0));
    });

    it('dumps every record and restores a dump over other records, weights included, replacing everything', async () => {
      const { registry: source } = await make();
      await source.putFeatureGroup(group('Weather', 1));
      await source.putCommits([commit(1, 'Weather', 1), commit(2, 'Weather', 1)]);
      await source.putFeatureView(view('rain', 1));
      await source.putTrainingDataset(dataset('rain', 1, 1));
      await source.putRun(run('r1', 'rain', 5));
      const weights = new Uint8Array(5 * 1024 * 1024).map((_, i) => i % 253);
      await source.registerModel(modelRecord('rain'), weights.buffer);
      await source.registerModel(modelRecord('rain'), new Uint8Array([9]).buffer);
      await source.deleteModel('rain', 2);
      await source.setAlias('rain', 'champion', 1, 'first');
      await source.putPipeline(pipeline('daily', 3));
      await source.putPipelineRun(pipelineRun('p1', 'daily', 4));
      const dump = await source.dump();
      expect(dump.commits.map((c) => c.commitId)).toEqual([1, 2]);
      expect(dump.modelNames).toEqual([{ name: 'rain', lastVersion: 2 }]);

      const { registry: target } = await make();
      await target.putFeatureGroup(group('other', 3));
      await target.registerModel(modelRecord('old'), new Uint8Array([1]).buffer);
      const copy = JSON.parse(JSON.stringify(dump)) as typeof dump;
      await expect(target.restore(copy, new Map())).rejects.toBeInstanceOf(NotFoundError);
      expect((await target.listFeatureGroups()).map((g) => g.name)).toEqual(['other']); // refused: nothing replaced
      await target.restore(copy, new Map([[weightsKey('rain', 1), weights.buffer]]));
      expect(await target.dump()).toEqual(copy);
      const restored = new Uint8Array(await target.readWeights('rain', 1));
      expect(restored.length === weights.length && restored.every((x, i) => x === weights[i])).toBe(true);
      await expect(target.readWeights('old', 1)).rejects.toBeInstanceOf(NotFoundError);
      expect((await target.registerModel(modelRecord('rain'), new ArrayBuffer(1))).version).toBe(3); // 2 stays used
      expect((await target.aliasHistory('rain')).map((c) => c.reason)).toEqual(['first']);
      expect((await target.listPipelineRuns('daily')).map((r) => r.id)).toEqual(['p1']);
    });
  });
}

const run = (id: string, model: string, startedAt: number): RunRecord => ({
  id, model, status: 'running', startedAt, endedAt: null, params: { epochs: 3 }, tags: { team: 'a' },
  series: { loss: [{ step: 0, value: 1 }, { step: 1, value: 0.5 }] }, metrics: {}, evaluation: null,
  timings: { toFirstBatchMs: null, fitMs: null, samplesPerSecond: null }, environment: { backend: 'wasm', userAgent: 'test' },
  featureView: { name: 'v', version: 1 }, trainingDataset: 1, gates: null, modelVersion: null, error: null,
});

const modelRecord = (name: string) => ({
  name, createdAt: 5, runId: 'r1', description: '', tags: {},
  signature: { inputs: [{ name: 'temp', type: 'float64' }], output: { name: 'rain', task: 'regression', classes: 1 } },
  metrics: { rmse: 1 }, lineage: null, spec: { task: 'regression', layers: [] },
  artifact: { modelTopology: { class_name: 'Sequential' }, weightSpecs: [], sha256: '0'.repeat(64) },
});

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

describe('IndexedDB registry: feature views persistence and upgrade', () => {
  it('keeps feature views and training datasets across close and reopen', async () => {
    const name = uniqueStoreName('regv');
    const first = await IndexedDbRegistry.open(name);
    await first.putFeatureView(view('v', 1));
    await first.putFeatureView(view('v', 2));
    await first.putTrainingDataset(dataset('v', 1, 1));
    await first.putTrainingDataset(dataset('v', 1, 2));
    first.close();
    const second = await IndexedDbRegistry.open(name);
    try {
      expect(await second.getFeatureView('v', 1)).toEqual(view('v', 1));
      expect((await second.getFeatureView('v'))?.version).toBe(2);
      expect((await second.listFeatureViews()).map((v) => v.version)).toEqual([1, 2]);
      expect(await second.listTrainingDatasets('v', 1)).toEqual([dataset('v', 1, 1), dataset('v', 1, 2)]);
    } finally {
      second.close();
    }
  });

  it('upgrades a registry created at schema version 1, keeping its feature groups', async () => {
    const name = uniqueStoreName('regup');
    const dbName = registryDbName(name);
    await deleteDB(dbName);
    const old = await openDB(dbName, 1, {
      upgrade(database) {
        const groups = database.createObjectStore('featureGroups', { keyPath: ['nameKey', 'version'] });
        groups.createIndex('byName', 'nameKey');
        const commits = database.createObjectStore('commits', { keyPath: 'commitId' });
        commits.createIndex('byGroup', ['groupKey', 'version', 'commitId']);
        database.createObjectStore('statistics', { keyPath: ['groupKey', 'version', 'commitId'] });
      },
    });
    await old.put('featureGroups', { nameKey: 'a', version: 1, definition: group('A', 1) });
    await old.put('commits', { ...commit(4, 'A', 1), groupKey: 'a' });
    await old.put('statistics', { group: 'A', version: 1, commitId: 4, computedAt: 5, rowCount: 4, columns: {}, groupKey: 'a' });
    expect([...old.objectStoreNames].sort()).toEqual(['commits', 'featureGroups', 'statistics']);
    old.close();

    const registry = await IndexedDbRegistry.open(name);
    try {
      expect(await registry.getFeatureGroup('a', 1)).toEqual(group('A', 1));
      expect(await registry.getFeatureGroup('a')).toEqual(group('A', 1));
      expect(await registry.listCommits('a', 1)).toEqual([commit(4, 'A', 1)]);
      expect((await registry.getStatistics('a', 1, 4))?.rowCount).toBe(4);
      expect(await registry.listFeatureViews()).toEqual([]);
      await registry.putFeatureView(view('v', 1));
      await registry.putTrainingDataset(dataset('v', 1, 1));
      expect(await registry.getFeatureView('v')).toEqual(view('v', 1));
      expect(await registry.listTrainingDatasets('v', 1)).toEqual([dataset('v', 1, 1)]);
      await registry.deleteFeatureView('v', 1);
      expect(await registry.listTrainingDatasets('v', 1)).toEqual([]);
    } finally {
      registry.close();
    }
    const upgraded = await openDB(dbName);
    try {
      expect(upgraded.version).toBe(4);
      expect([...upgraded.objectStoreNames].sort()).toEqual([
        'aliasHistory', 'aliases', 'commits', 'featureGroups', 'featureViews', 'modelChunks', 'modelNames', 'models', 'pipelineRuns', 'pipelines',
        'runs', 'statistics', 'trainingDatasets',
      ]);
    } finally {
      upgraded.close();
    }
  });
});

describe('IndexedDB registry: connections closed underneath and upgrades from another tab', () => {
  it('reopens a connection closed underneath and makes the call once more', async () => {
    const name = uniqueStoreName('reopen');
    const registry = await IndexedDbRegistry.open(name);
    try {
      await registry.putFeatureGroup(group('a', 1));
      (registry as unknown as { db: IDBDatabase }).db.close();
      expect((await registry.listFeatureGroups()).map((g) => g.name)).toEqual(['a']);
      await registry.putFeatureGroup(group('b', 1));
      expect((await registry.listFeatureGroups()).map((g) => g.name)).toEqual(['a', 'b']);
    } finally {
      registry.close();
    }
  });

  it('never blocks an upgrade from another tab; afterwards this one is told to reload', async () => {
    const name = uniqueStoreName('upgrade');
    const registry = await IndexedDbRegistry.open(name);
    await registry.putFeatureGroup(group('a', 1));
    // Another tab, running a newer version of the app, upgrades the database while this connection is open.
    const newer = await openDB(registryDbName(name), REGISTRY_DB_VERSION + 1, {
      upgrade(database) {
        database.createObjectStore('fromTheFuture');
      },
    });
    expect(newer.objectStoreNames.contains('fromTheFuture')).toBe(true);
    newer.close();
    await expect(registry.listFeatureGroups()).rejects.toBeInstanceOf(StoreClosedError);
    registry.close();
  });
});
