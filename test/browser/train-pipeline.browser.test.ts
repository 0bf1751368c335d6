import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { openFeatureStore, ModelArtifactError, NotFoundError, OperationAbortedError, type FeatureStore } from '../../src/index.ts';
import { seededRandom } from '../../src/util/random.ts';
import { uniqueStoreName } from '../support/names.ts';
import { IndexedDbRegistry } from '../../src/registry/indexeddb.ts';

const DAY = 86_400_000;
const base = Date.UTC(2024, 0, 1);

/** Readings with a known relation: rain = 2·humidity − 0.5·pressure + 3 (+ noise); two cities. */
async function setup(persist = false, name = uniqueStoreName('train')) {
  const store = await openFeatureStore({ name, persist });
  const weather = await store.createFeatureGroup({
    name: 'weather', version: 1, primaryKey: 'city', eventTime: 'day',
    features: { city: 'string', day: 'timestamp', humidity: 'float64', pressure: 'float64', rain: 'float64' },
  });
  const random = seededRandom(5);
  const rows = [];
  for (let d = 0; d < 1500; d++) {
    for (const city of ['Seattle', 'Oslo']) {
      const humidity = random() * 2 - 1;
      const pressure = random() * 2 - 1;
      rows.push({ city, day: base + d * DAY, humidity, pressure, rain: 2 * humidity - 0.5 * pressure + 3 + (random() - 0.5) * 0.02 });
    }
  }
  await weather.insert(rows);
  const view = await store.createFeatureView({
    name: 'rain', version: 1, query: weather.select(['humidity', 'pressure']), labels: ['rain'],
    transforms: [{ kind: 'standardScaler', column: 'humidity' }],
  });
  const { dataset, persisted } = await view.trainingData({ split: { kind: 'random', test: 0.2, seed: 1 } });
  await persisted;
  return { store, view, dataset: dataset.version };
}

const spec = { task: 'regression' as const, layers: [{ units: 16, activation: 'relu' as const }], optimizer: { name: 'adam' as const, learningRate: 0.02 } };

async function predictions(store: FeatureStore, ref: number | string, x: number[][]): Promise<number[]> {
  const { model } = await store.models.load('rain', ref);
  const out = tf.tidy(() => Array.from((model.predict(tf.tensor2d(x)) as tf.Tensor).dataSync()));
  model.dispose();
  return out;
}

describe('training pipeline, experiment tracking and model registry', () => {
  it('trains, records the run, registers a version with lineage and signature; gates decide registration', async () => {
    const { store, dataset } = await setup();
    const progress: number[] = [];
    const { run, model, gates } = await store.train({
      featureView: { name: 'rain', version: 1 }, trainingDataset: dataset,
      model: { name: 'rain', spec: { ...spec, metrics: ['mae'] }, description: 'first' }, fit: { epochs: 15, batchSize: 64 },
      gates: [{ metric: 'rmse', max: 0.3 }, { sliceBy: 'city', metric: 'mae', maxGap: 0.2 }],
      params: { note: 'baseline' }, onProgress: (p) => p.epochEnd && progress.push(p.epoch),
    });
    expect(progress).toEqual(Array.from({ length: 15 }, (_, i) => i));
    expect(gates?.passed).toBe(true);
    expect(run).toMatchObject({ status: 'finished', model: 'rain', modelVersion: 1, trainingDataset: dataset, featureView: { name: 'rain', version: 1 } });
    expect(run.series['loss']).toHaveLength(15);
    expect(run.series['mae']).toHaveLength(15); // the spec's training metric, per epoch
    expect(run.series['mae']!.at(-1)!.value).toBeLessThan(run.series['mae']![0]!.value);
    expect(run.timings.toFirstBatchMs).toBeGreaterThan(0);
    expect(run.timings.samplesPerSecond).toBeGreaterThan(0);
    expect(run.environment.backend).toBe('wasm');
    expect(run.evaluation).toMatchObject({ count: run.metrics['count'], rmse: run.metrics['rmse'] });
    expect(run.metrics['rmse']).toBeLessThan(0.3);
    expect(run.metrics['r2']).toBeGreaterThan(0.97);
    expect(model).toMatchObject({ name: 'rain', version: 1, runId: run.id, description: 'first' });
    expect(model!.signature).toEqual({ inputs: [{ name: 'humidity', type: 'float64' }, { name: 'pressure', type: 'float64' }], output: { name: 'rain', task: 'regression', classes: 1 } });
    expect(model!.lineage).toMatchObject({ featureView: 'rain', featureViewVersion: 1, trainingDataset: dataset });
    expect(model!.lineage!.transforms?.transforms[0]).toMatchObject({ kind: 'standardScaler', column: 'humidity' });

    // A gate it cannot pass: the run is kept with the reason, nothing is registered.
    const strict = await store.train({
      featureView: { name: 'rain', version: 1 }, trainingDataset: dataset, model: { name: 'rain', spec }, fit: { epochs: 2 }, gates: [{ metric: 'rmse', max: 0.0001 }],
    });
    expect(strict.model).toBeNull();
    expect(strict.run.status).toBe('finished');
    expect(strict.run.gates?.passed).toBe(false);
    expect(strict.run.gates?.results[0]?.reason).toMatch(/rmse .* > max 0.0001/);
    expect((await store.models.list('rain')).map((m) => m.version)).toEqual([1]);
    expect((await store.runs.list('rain')).map((r) => r.status)).toEqual(['finished', 'finished']);
    const compared = await store.runs.compare([run.id, strict.run.id]);
    expect(compared.metrics).toContain('rmse');
    expect(compared.rows.map((r) => r.id)).toEqual([run.id, strict.run.id]);
    await store.close();
  });

  it('builds a new training dataset when none is given, and names it in the run and the lineage', async () => {
    const { store, dataset } = await setup();
    const { run, model } = await store.train({
      featureView: { name: 'rain', version: 1 }, model: { name: 'rain', spec }, fit: { epochs: 3 },
      trainingData: { start: base, end: base + 1000 * DAY, split: { kind: 'time', trainEnd: base + 800 * DAY, testStart: base + 800 * DAY } },
    });
    expect(run.trainingDataset).toBe(dataset + 1);
    expect(model!.lineage?.trainingDataset).toBe(dataset + 1);
    const stored = (await (await store.getFeatureView('rain', 1)).listTrainingDatasets()).find((d) => d.version === dataset + 1)!;
    expect(stored.rowCounts).toEqual({ train: 1600, test: 400, validation: 0 }); // 1000 days × 2 cities, cut at day 800
    expect(run.metrics['count']).toBe(400);
    await store.close();
  });

  it('records a failed run with the error, and registers artifacts given directly after checking them', async () => {
    const { store } = await setup();
    const obs = await store.createFeatureGroup({
      name: 'obs', version: 1, primaryKey: 'city', eventTime: 'day', features: { city: 'string', day: 'timestamp', sky: 'string', humidity: 'float64', rain: 'float64' },
    });
    await obs.insert(Array.from({ length: 50 }, (_, i) => ({ city: `c${i % 3}`, day: base + i * DAY, sky: i % 2 === 0 ? 'clear' : 'cloudy', humidity: i / 50, rain: i / 10 })));
    const labelled = await store.createFeatureView({ name: 'by_city', version: 1, query: obs.select(['humidity', 'sky']), labels: ['rain'] });
    await (await labelled.trainingData({ split: { kind: 'random', test: 0.2 } })).persisted;
    // `sky` is a string the view does not encode: training stops, the run says why.
    await expect(store.train({ featureView: { name: 'by_city', version: 1 }, trainingDataset: 1, model: { name: 'city', spec } })).rejects.toThrow(/labelEncoder or oneHotEncoder/);
    const [failed] = await store.runs.list('city');
    expect(failed).toMatchObject({ status: 'failed', modelVersion: null, error: { name: 'InvalidArgumentError', code: 'INVALID_ARGUMENT' } });
    expect(await store.models.list('city')).toEqual([]);

    const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [2] })] });
    let registered: Awaited<ReturnType<FeatureStore['models']['register']>> | null = null;
    await model.save(tf.io.withSaveHandler(async (a) => {
      registered = await store.models.register('direct', { modelTopology: a.modelTopology, weightSpecs: a.weightSpecs, weightData: a.weightData as ArrayBuffer });
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }));
    expect(registered!.version).toBe(1);
    const [expected] = tf.tidy(() => Array.from((model.predict(tf.tensor2d([[1, 2]])) as tf.Tensor).dataSync()));
    const loaded = await store.models.load('direct');
    expect(tf.tidy(() => Array.from((loaded.model.predict(tf.tensor2d([[1, 2]])) as tf.Tensor).dataSync()))[0]).toBeCloseTo(expected!, 6);
    await expect(store.models.register('direct', { modelTopology: { class_name: 'Lambda' }, weightSpecs: [], weightData: new ArrayBuffer(0) })).rejects.toBeInstanceOf(ModelArtifactError);
    // Artifacts that pass the structural checks but that tfjs would not load (a regularizer class it does not know, a
    // weight the topology does not name) are refused at registration, as ModelArtifactError, not at the first load.
    const saved = await new Promise<tf.io.ModelArtifacts>((resolve) => {
      void model.save(tf.io.withSaveHandler(async (a) => {
        resolve(a);
        return Promise.resolve({ modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } });
      }));
    });
    const topology = JSON.parse(JSON.stringify(saved.modelTopology)) as { config: { layers: { config: Record<string, unknown> }[] } };
    topology.config.layers[0]!.config['bias_regularizer'] = 'eval';
    const unknownClass = store.models.register('direct', { modelTopology: topology, weightSpecs: saved.weightSpecs, weightData: saved.weightData as ArrayBuffer });
    await expect(unknownClass).rejects.toBeInstanceOf(ModelArtifactError);
    await expect(unknownClass).rejects.toMatchObject({ details: { reason: 'unloadable' } });
    const renamed = saved.weightSpecs!.map((w, i) => (i === 0 ? { ...w, name: '../x' } : w));
    await expect(store.models.register('direct', { modelTopology: saved.modelTopology, weightSpecs: renamed, weightData: saved.weightData as ArrayBuffer }))
      .rejects.toBeInstanceOf(ModelArtifactError);
    expect((await store.models.list('direct')).map((m) => m.version)).toEqual([1]);
    model.dispose();
    loaded.model.dispose();
    await store.close();
  });

  it('marks a run left running by a closed tab as aborted when the store next opens', async () => {
    const name = uniqueStoreName('trainr');
    const registry = await IndexedDbRegistry.open(name);
    await registry.putRun({
      id: 'orphan', model: 'rain', status: 'running', startedAt: 1, endedAt: null, params: {}, tags: {}, series: {}, metrics: {}, evaluation: null,
      timings: { toFirstBatchMs: null, fitMs: null, samplesPerSecond: null }, environment: { backend: 'wasm', userAgent: 'x' },
      featureView: null, trainingDataset: null, gates: null, modelVersion: null, error: null,
    });
    registry.close();
    const store = await openFeatureStore({ name });
    expect(await store.runs.get('orphan')).toMatchObject({ status: 'aborted', error: { code: 'ABORTED' } });
    await store.close();
  });

  it('records an aborted run and registers nothing', async () => {
    const { store, dataset } = await setup();
    const controller = new AbortController();
    const job = store.train({
      featureView: { name: 'rain', version: 1 }, trainingDataset: dataset, model: { name: 'rain', spec }, fit: { epochs: 5_000, batchSize: 16 },
      signal: controller.signal, onProgress: () => controller.abort(new Error('stop')),
    });
    await expect(job).rejects.toBeInstanceOf(OperationAbortedError);
    const [run] = await store.runs.list('rain');
    expect(run).toMatchObject({ status: 'aborted', modelVersion: null, error: { code: 'ABORTED' } });
    expect(await store.models.list('rain')).toEqual([]);
    await store.close();
  });

  it('round-trips through the registry across a reopen, moves aliases with history, exports to and imports from plain tfjs', async () => {
    const name = uniqueStoreName('trainp');
    const first = await setup(true, name);
    const trained = await first.store.train({ featureView: { name: 'rain', version: 1 }, trainingDataset: first.dataset, model: { name: 'rain', spec }, fit: { epochs: 5 } });
    const x = [[0.1, -0.2], [1, 1], [-1, 0.5]];
    const before = await predictions(first.store, 1, x);
    await first.store.models.setAlias('rain', 'champion', 1, { reason: 'first' });
    await first.store.close();

    const store = await openFeatureStore({ name });
    expect(await predictions(store, 'champion', x)).toEqual(before); // identical after a reopen
    expect((await store.models.get('rain', 'champion')).runId).toBe(trained.run.id);
    await expect(store.models.delete('rain', 1)).rejects.toThrow(/champion/);
    const exported = await store.models.exportModel('rain', 'champion');
    // Plain tfjs loads the exported files.
    const plain = await tf.loadLayersModel(tf.io.fromMemory({
      ...(JSON.parse(exported.modelJson) as { modelTopology: tf.io.ModelJSON['modelTopology'] }),
      weightSpecs: (JSON.parse(exported.modelJson) as { weightsManifest: { weights: tf.io.WeightsManifestEntry[] }[] }).weightsManifest[0]!.weights,
      weightData: exported.weights,
    }));
    expect(tf.tidy(() => Array.from((plain.predict(tf.tensor2d(x)) as tf.Tensor).dataSync()))).toEqual(before);
    plain.dispose();
    const imported = await store.models.importModel('rain', { modelJson: exported.modelJson, shards: [exported.weights] }, { description: 'imported' });
    expect(imported.version).toBe(2);
    expect(await predictions(store, 2, x)).toEqual(before);
    await store.models.setAlias('rain', 'champion', 2, { reason: 'green button' });
    await store.models.setAlias('rain', 'champion', 1, { reason: 'red button' });
    expect((await store.models.aliasHistory('rain')).map((c) => [c.from, c.to, c.reason])).toEqual([[null, 1, 'first'], [1, 2, 'green button'], [2, 1, 'red button']]);
    expect((await store.models.best('rain', 'rmse', 'min')).version).toBe(1); // the imported one has no metrics
    await expect(store.models.get('rain', 'nope')).rejects.toBeInstanceOf(NotFoundError);
    // A corrupted import changes nothing.
    const broken = exported.modelJson.replace('"float32"', '"complex64"');
    await expect(store.models.importModel('rain', { modelJson: broken, shards: [exported.weights] })).rejects.toBeInstanceOf(ModelArtifactError);
    await expect(store.models.importModel('rain', { modelJson: exported.modelJson, shards: [exported.weights.slice(4)] })).rejects.toBeInstanceOf(ModelArtifactError);
    expect((await store.models.list('rain')).map((m) => m.version)).toEqual([1, 2]);
    await store.close();
  });
});
