import { afterEach, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import * as Comlink from 'comlink';
import {
  DeploymentRefusedError, NotFoundError, openFeatureStore, type FeatureStore, type FeatureView, type Prediction,
} from '../../src/index.ts';
import { seededRandom } from '../../src/util/random.ts';
import { onDemandA } from '../support/ondemand-a.ts';
import { uniqueStoreName } from '../support/names.ts';
import { entityShare } from '../../src/pipelines/deployment.ts';
import { textbookKs, textbookPsi } from '../support/drift-oracle.ts';

const DAY = 86_400_000;
const workerA = () => new Worker(new URL('../support/ondemand-a.worker.ts', import.meta.url), { type: 'module' });
const base = Date.UTC(2024, 0, 1);
const CITIES = ['Seattle', 'Oslo', 'Lima'];
const spec = { task: 'regression' as const, layers: [{ units: 8, activation: 'relu' as const }], optimizer: { name: 'adam' as const, learningRate: 0.02 } };

const opened: { close(): unknown }[] = [];
afterEach(async () => {
  for (const o of opened.splice(0).reverse()) await o.close();
});

/** Weather with rain = 2·humidity − 0.5·pressure + 3; view v1 scales humidity, view v2 min-max scales both. */
async function setup(options: { persist?: boolean; name?: string; online?: boolean } = {}) {
  const store = await openFeatureStore({ name: options.name ?? uniqueStoreName('deploy'), persist: options.persist ?? false });
  opened.push(store);
  const weather = await store.createFeatureGroup({
    name: 'weather', version: 1, primaryKey: 'city', eventTime: 'day', online: options.online ?? true,
    features: { city: 'string', day: 'timestamp', humidity: 'float64', pressure: 'float64', rain: 'float64' },
  });
  const random = seededRandom(7);
  const rows = [];
  for (let d = 0; d < 400; d++) {
    for (const city of CITIES) {
      const humidity = random() * 2 - 1;
      const pressure = random() * 2 - 1;
      rows.push({ city, day: base + d * DAY, humidity, pressure, rain: 2 * humidity - 0.5 * pressure + 3 });
    }
  }
  await weather.insert(rows);
  const v1 = await store.createFeatureView({
    name: 'rain', version: 1, query: weather.select(['humidity', 'pressure']), labels: ['rain'],
    transforms: [{ kind: 'standardScaler', column: 'humidity' }],
  });
  const v2 = await store.createFeatureView({
    name: 'rain', version: 2, query: weather.select(['humidity', 'pressure']), labels: ['rain'],
    transforms: [{ kind: 'minMaxScaler', column: 'humidity' }, { kind: 'minMaxScaler', column: 'pressure' }],
  });
  return { store, weather, v1, v2 };
}

async function trainOn(store: FeatureStore, view: FeatureView, epochs = 3) {
  const { dataset, persisted } = await view.trainingData({ split: { kind: 'random', test: 0.2, seed: 1 } });
  await persisted;
  const { model } = await store.train({
    featureView: view, trainingDataset: dataset.version, model: { name: 'rain', spec: { ...spec, seed: view.version } }, fit: { epochs },
  });
  return { model: model!, dataset: dataset.version };
}

/** The prediction computed without Larder's serving path: the view's transformed vector, tfjs on this thread. */
async function direct(store: FeatureStore, view: FeatureView, dataset: number, version: number, city: string): Promise<{ x: number[]; y: number }> {
  const vector = await view.getFeatureVector({ city }, { trainingDataset: dataset });
  const x = ['humidity', 'pressure'].map((n) => vector.values[vector.names.indexOf(n)] as number);
  const { model } = await store.models.load('rain', version);
  const y = tf.tidy(() => (model.predict(tf.tensor2d([x])) as tf.Tensor).dataSync()[0]!);
  model.dispose();
  return { x, y };
}

async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('deployments', () => {
  it('predicts what tfjs predicts on the same transformed vector, from the version\'s own feature view', async () => {
    const { store, weather, v1, v2 } = await setup();
    const first = await trainOn(store, v1);
    await weather.materialize();
    await store.promote('rain', 1);
    // A newer view version exists (with other transformations): the model still reads the view it was trained on.
    await trainOn(store, v2);
    const predictor = await store.deployment('rain', { alias: 'champion' });
    opened.push(predictor);
    for (const city of CITIES) {
      const served = await predictor.predict({ city }, { withFeatures: true });
      const expected = await direct(store, v1, first.dataset, 1, city);
      expect(served.model).toEqual({ name: 'rain', version: 1 });
      expect(served.featureView).toEqual({ name: 'rain', version: 1 });
      expect(served.features).toEqual({ humidity: expected.x[0], pressure: expected.x[1] });
      expect(served.prediction).toBeCloseTo(expected.y, 5);
      // With view v2's transformations the input would differ: the deployment did not take the newest view.
      const other = await v2.getFeatureVector({ city }, { transformed: true });
      expect(other.values[other.names.indexOf('humidity')]).not.toBeCloseTo(expected.x[0]!, 3);
    }
    const batch = await predictor.predictBatch(CITIES.map((city) => ({ city })));
    const single = await Promise.all(CITIES.map((city) => predictor.predict({ city })));
    expect(batch).toEqual(single);
    await expect(predictor.predict({ city: 'Atlantis' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('promote switches model and view together; rollback restores the exact previous predictions', async () => {
    const { store, weather, v1, v2 } = await setup();
    await trainOn(store, v1);
    await weather.materialize();
    await store.promote('rain', 1, { reason: 'first' });
    const predictor = await store.deployment('rain');
    opened.push(predictor);
    const before = await predictor.predictBatch(CITIES.map((city) => ({ city })));
    const second = await trainOn(store, v2);
    await store.promote('rain', 2, { reason: 'better rmse' });
    // No reload: this page's predictors have switched when promote resolves (other tabs follow the broadcast).
    expect(predictor.current().model.version).toBe(2);
    expect(predictor.current()).toEqual({ model: { name: 'rain', version: 2 }, featureView: { name: 'rain', version: 2 } });
    const after = await predictor.predictBatch(CITIES.map((city) => ({ city })));
    for (const [i, city] of CITIES.entries()) {
      expect(after[i]).toMatchObject({ model: { version: 2 }, featureView: { version: 2 } });
      expect(after[i]!.prediction).toBeCloseTo((await direct(store, v2, second.dataset, 2, city)).y, 5);
    }
    await store.rollback('rain');
    expect(predictor.current().model.version).toBe(1);
    expect(await predictor.predictBatch(CITIES.map((city) => ({ city })))).toEqual(before);
    const history = await store.models.aliasHistory('rain');
    expect(history.map((c) => [c.from, c.to, c.reason, c.kind, c.featureView])).toEqual([
      [null, 1, 'first', 'promote', { name: 'rain', version: 1 }],
      [1, 2, 'better rmse', 'promote', { name: 'rain', version: 2 }],
      [2, 1, 'rollback', 'rollback', { name: 'rain', version: 1 }],
    ]);
    // Nothing before the first promotion: the red button refuses, and nothing moves.
    await expect(store.rollback('rain')).rejects.toBeInstanceOf(DeploymentRefusedError);
    expect((await store.models.get('rain', 'champion')).version).toBe(1);
  });

  it('never mixes versions within one call while the alias moves, and frees nothing a call still uses', async () => {
    const { store, weather, v1, v2 } = await setup();
    await trainOn(store, v1);
    await trainOn(store, v2);
    await weather.materialize();
    await store.promote('rain', 1);
    const fixed = await Promise.all([store.deployment('rain', { version: 1 }), store.deployment('rain', { version: 2 })]);
    opened.push(...fixed);
    const expected = await Promise.all(fixed.map((d) => d.predictBatch(CITIES.map((city) => ({ city })))));
    const predictor = await store.deployment('rain');
    opened.push(predictor);
    const calls: Promise<Prediction[]>[] = [];
    let moves = Promise.resolve<unknown>(undefined);
    for (let i = 0; i < 30; i++) {
      calls.push(predictor.predictBatch(CITIES.map((city) => ({ city }))));
      if (i === 5) moves = store.promote('rain', 2);
      if (i === 15) moves = moves.then(() => store.rollback('rain'));
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await moves;
    const results = await Promise.all(calls); // none failed: a retired version stays loaded until its calls end
    const versions = new Set<number>();
    for (const batch of results) {
      const version = batch[0]!.model.version;
      versions.add(version);
      // Every prediction of a call is the one its version gives alone: model and vector from one version.
      expect(batch).toEqual(expected[version - 1]);
    }
    expect(versions).toEqual(new Set([1, 2]));
  });

  it('refuses to promote a version whose feature view has nothing online to serve', async () => {
    const { store, v1 } = await setup({ online: false }); // an offline-only group: nothing is ever online
    await trainOn(store, v1, 1);
    const error = await store.promote('rain', 1).catch((e: unknown) => e as DeploymentRefusedError);
    expect(error).toBeInstanceOf(DeploymentRefusedError);
    expect((error as DeploymentRefusedError).code).toBe('DEPLOYMENT_REFUSED');
    expect((error as DeploymentRefusedError).details['missing']).toEqual(['weather v1']);
    expect(await store.models.aliasHistory('rain')).toEqual([]);
  });

  it('reads a stream one event at a time: a slow consumer never makes events pile up', async () => {
    const { store, weather, v1 } = await setup();
    await trainOn(store, v1, 1);
    await weather.materialize();
    await store.promote('rain', 1);
    const predictor = await store.deployment('rain');
    opened.push(predictor);
    let produced = 0;
    async function* events() {
      for (let i = 0; i < 30; i++) {
        await Promise.resolve();
        produced++;
        yield { entity: { city: CITIES[i % 3] } };
      }
    }
    const ahead: number[] = [];
    let consumed = 0;
    const seen: number[] = [];
    for await (const p of predictor.predictStream(events())) {
      consumed++;
      ahead.push(produced - consumed);
      seen.push(p.prediction);
      await new Promise((resolve) => setTimeout(resolve, 15));
    }
    expect(consumed).toBe(30);
    expect(Math.max(...ahead)).toBeLessThanOrEqual(1);
    const expected = await predictor.predictBatch(CITIES.map((city) => ({ city })));
    expect(seen).toEqual(Array.from({ length: 30 }, (_, i) => expected[i % 3]!.prediction));
  });
});

describe('shadow, A/B and monitoring', () => {
  async function twoVersions() {
    const { store, weather, v1, v2 } = await setup();
    const first = await trainOn(store, v1);
    const second = await trainOn(store, v2);
    await weather.materialize();
    await store.promote('rain', 1);
    await store.promote('rain', 2, { alias: 'challenger' });
    return { store, weather, v1, v2, first, second };
  }

  it('shadow: predicts with both, returns the champion\'s, logs both; compareDeployments joins later labels', async () => {
    const { store, weather } = await twoVersions();
    const predictor = await store.deployment('rain', { alias: 'champion', shadow: 'challenger' });
    opened.push(predictor);
    const champion = await store.deployment('rain', { version: 1 });
    const challenger = await store.deployment('rain', { version: 2 });
    opened.push(champion, challenger);
    const served = await predictor.predictBatch(CITIES.map((city) => ({ city })));
    const one = await champion.predictBatch(CITIES.map((city) => ({ city })));
    const two = await challenger.predictBatch(CITIES.map((city) => ({ city })));
    expect(served.map((p) => [p.arm, p.model.version, p.prediction])).toEqual(one.map((p) => ['champion', 1, p.prediction]));
    await predictor.flush();
    const log = await store.getFeatureGroup('rain_prediction_log', 1);
    const rows = await log.read();
    expect(rows.numRows).toBe(6);
    const logged = Array.from({ length: 6 }, (_, i) => [rows.getChild('city')!.get(i), rows.getChild('arm')!.get(i), rows.getChild('served')!.get(i), rows.getChild('model_version')!.get(i), rows.getChild('prediction')!.get(i)] as [string, string, boolean, number, number]);
    for (const [i, city] of CITIES.entries()) {
      expect(logged).toContainEqual([city, 'champion', true, 1, one[i]!.prediction]);
      expect(logged).toContainEqual([city, 'challenger', false, 2, two[i]!.prediction]);
    }
    // Labels arrive later: the next day's rain of each city.
    const labelDay = Date.now() + DAY;
    const truth = [3.5, 1.25, 4];
    await weather.insert(CITIES.map((city, i) => ({ city, day: labelDay, humidity: 0, pressure: 0, rain: truth[i] })));
    const report = await store.compareDeployments('rain', { labels: { group: 'weather', column: 'rain' } });
    const rmse = (p: Prediction[]) => Math.sqrt(p.reduce((sum, q, i) => sum + (q.prediction - truth[i]!) ** 2, 0) / p.length);
    const arm = (name: string) => report.arms.find((a) => a.arm === name)!;
    expect(arm('champion')).toMatchObject({ served: true, predictions: 3, labelled: 3, versions: [1] });
    expect(arm('challenger')).toMatchObject({ served: false, predictions: 3, labelled: 3, versions: [2] });
    expect((arm('champion').metrics as { rmse: number }).rmse).toBeCloseTo(rmse(one), 5);
    expect((arm('challenger').metrics as { rmse: number }).rmse).toBeCloseTo(rmse(two), 5);
    expect(report.agreement.pairs).toBe(3);
    expect(report.agreement.meanAbsoluteDifference).toBeCloseTo(one.reduce((s, p, i) => s + Math.abs(p.prediction - two[i]!.prediction), 0) / 3, 5);
  });

  it('reports what it cannot throw: failed shadow predictions, and an alias it can no longer follow (it keeps serving)', async () => {
    const { store } = await twoVersions();
    const predictor = await store.deployment('rain', { alias: 'champion', shadow: 'challenger' });
    opened.push(predictor);
    const arm = (name: string) => predictor.armsNow().find((a) => a.arm === name)!;
    expect(predictor.armsNow().map((a) => [a.arm, a.failures, a.lastError])).toEqual([['champion', 0, null], ['challenger', 0, null]]);
    // An unknown city: the served arm's failure is thrown, the shadow's (off the caller's path) is counted.
    await expect(predictor.predict({ city: 'Atlantis' })).rejects.toBeInstanceOf(NotFoundError);
    await expect.poll(() => arm('challenger').failures).toBe(1);
    expect(arm('challenger').lastError).toMatchObject({ name: 'NotFoundError', code: 'NOT_FOUND' });
    expect(arm('champion')).toMatchObject({ failures: 0, lastError: null });
    const before = await predictor.predict({ city: CITIES[0] });
    expect(arm('challenger').failures).toBe(1);

    // The challenger alias is removed: following it fails, the arm keeps its version and says why; the champion is untouched.
    await store.models.setAlias('rain', 'challenger', null);
    await expect(predictor.refresh()).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(arm('challenger')).toMatchObject({ model: { version: 2 }, lastError: { code: 'NOT_FOUND' } });
    expect(arm('champion')).toMatchObject({ model: { version: 1 }, lastError: null });
    expect((await predictor.predict({ city: CITIES[0] })).prediction).toBe(before.prediction);
    // Pointed at a version again, the arm follows it and its error is cleared.
    await store.models.setAlias('rain', 'challenger', 1);
    await predictor.refresh();
    expect(arm('challenger')).toMatchObject({ model: { version: 1 }, lastError: null });
  });

  it('serves each deployment on the backend it asked for, in one store (a worker per backend)', async () => {
    const { store } = await twoVersions();
    const onWasm = await store.deployment('rain', { version: 1 });
    const onCpu = await store.deployment('rain', { version: 1, backend: 'cpu' });
    opened.push(onWasm, onCpu);
    expect(onWasm.armsNow().map((a) => a.backend)).toEqual(['wasm']);
    expect(onCpu.armsNow().map((a) => a.backend)).toEqual(['cpu']);
    const a = await onWasm.predictBatch(CITIES.map((city) => ({ city })));
    const b = await onCpu.predictBatch(CITIES.map((city) => ({ city })));
    b.forEach((p, i) => expect(p.prediction).toBeCloseTo(a[i]!.prediction, 4));
  });

  it('A/B: each entity always gets the same arm, chosen from a hash of its key, logged with the prediction', async () => {
    const { store } = await twoVersions();
    const split = { champion: 0.5, challenger: 0.5 };
    const first = await store.deployment('rain', { split });
    const second = await store.deployment('rain', { split });
    opened.push(first, second);
    const a = await first.predictBatch(CITIES.map((city) => ({ city })));
    const b = await second.predictBatch(CITIES.map((city) => ({ city })));
    expect(b).toEqual(a);
    const expectedArm = (city: string) => (entityShare(['city'], { city }) < 0.5 ? 'champion' : 'challenger');
    expect(new Set(CITIES.map(expectedArm)).size).toBe(2); // both arms serve some of these cities
    expect(a.map((p) => p.arm)).toEqual(CITIES.map(expectedArm));
    expect(a.map((p) => p.model.version)).toEqual(CITIES.map((c) => (expectedArm(c) === 'champion' ? 1 : 2)));
    await first.flush();
    const log = await (await store.getFeatureGroup('rain_prediction_log', 1)).read();
    expect(Array.from({ length: log.numRows }, (_, i) => [log.getChild('city')!.get(i) as string, log.getChild('arm')!.get(i) as string]).sort()).toEqual(
      CITIES.map((c) => [c, expectedArm(c)]).sort(),
    );
    await expect(store.deployment('rain', { split: { champion: 0.7, challenger: 0.2 } })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('monitor: PSI and KS of the served features against the training dataset, as computed independently', async () => {
    const { store, first } = await twoVersions();
    const predictor = await store.deployment('rain', { log: true });
    opened.push(predictor);
    for (let i = 0; i < 4; i++) await predictor.predictBatch(CITIES.map((city) => ({ city })));
    await predictor.flush();
    const report = await store.monitor('rain', { thresholds: { psi: 0.5 } }).report();
    expect(report).toMatchObject({ model: { name: 'rain', version: 1 }, trainingDataset: first.dataset, thresholds: { psi: 0.5, ks: 0.1 } });
    const { train } = await (await store.getFeatureView('rain', 1)).getTrainingDataset(first.dataset);
    const vectors = await Promise.all(CITIES.map(async (city) => (await store.getFeatureView('rain', 1)).getFeatureVector({ city }, { trainingDataset: first.dataset })));
    for (const feature of ['humidity', 'pressure']) {
      const training = Array.from({ length: train.numRows }, (_, i) => train.getChild(feature)!.get(i) as number);
      const served = Array.from({ length: 4 }, () => vectors.map((v) => v.values[v.names.indexOf(feature)] as number)).flat();
      const found = report.features.find((f) => f.feature === feature)!;
      expect(found.served).toBe(12);
      expect(found.training).toBe(training.length);
      expect(found.psi).toBeCloseTo(textbookPsi(training, served), 9);
      expect(found.ks).toBeCloseTo(textbookKs(training, served), 12);
      expect(found.drifted).toBe(found.psi > 0.5 || found.ks > 0.1);
    }
    expect(report.drifted).toEqual(report.features.filter((f) => f.drifted).map((f) => f.feature));
  });
});

describe('deployments with on-demand features', () => {
  it('computes on-demand features with request data like training did, and writes a stream\'s events on the way', async () => {
    const store = await openFeatureStore({ name: uniqueStoreName('deploy_od'), persist: false, createWorker: workerA, onDemand: onDemandA });
    opened.push(store);
    const sensor = await store.createFeatureGroup({
      name: 'sensor', version: 1, primaryKey: 'device', eventTime: 'ts', online: true,
      features: { device: 'string', ts: 'timestamp', temp: 'float64', setpoint: 'float64', label: 'float64' },
    });
    const random = seededRandom(3);
    const rows = [];
    for (let i = 0; i < 600; i++) {
      const temp = random() * 30;
      const setpoint = random() * 30;
      rows.push({ device: ['a', 'b', 'c'][i % 3], ts: base + i * 60_000, temp, setpoint, label: 0.5 * temp - 0.2 * (temp - setpoint) });
    }
    await sensor.insert(rows);
    const view = await store.createFeatureView({
      name: 'od', version: 1, query: sensor.select(['temp']), labels: ['label'], onDemand: ['temp_f', 'over_setpoint'],
      transforms: [{ kind: 'standardScaler', column: 'temp_f' }],
    });
    const { dataset, persisted } = await view.trainingData({ split: { kind: 'random', test: 0.2, seed: 2 } });
    await persisted;
    const { model } = await store.train({ featureView: view, trainingDataset: dataset.version, model: { name: 'od', spec: { ...spec, seed: 3 } }, fit: { epochs: 2 } });
    expect(model!.signature.inputs.map((i) => i.name)).toEqual(['temp', 'temp_f', 'over_setpoint']);
    await store.promote('od', 1);
    const predictor = await store.deployment('od');
    opened.push(predictor);
    const served = await predictor.predict({ device: 'b' }, { requestData: { setpoint: 21.5 }, withFeatures: true });
    const vector = await view.getFeatureVector({ device: 'b' }, { requestData: { setpoint: 21.5 }, trainingDataset: dataset.version });
    const x = ['temp', 'temp_f', 'over_setpoint'].map((n) => vector.values[vector.names.indexOf(n)] as number);
    expect(served.features).toEqual({ temp: x[0], temp_f: x[1], over_setpoint: x[2] });
    const { model: loaded } = await store.models.load('od', 1);
    expect(served.prediction).toBeCloseTo(tf.tidy(() => (loaded.predict(tf.tensor2d([x])) as tf.Tensor).dataSync()[0]!), 5);
    loaded.dispose();
    // A different setpoint changes only the on-demand input that reads it.
    const other = await predictor.predict({ device: 'b' }, { requestData: { setpoint: 0 }, withFeatures: true });
    expect(other.features!['temp']).toBe(x[0]);
    expect(other.features!['over_setpoint']).not.toBe(x[2]);
    await expect(predictor.predict({ device: 'b' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/setpoint/) as unknown });

    // A stream of new readings: predicted one by one and written to the group on the way, in micro-batches.
    const later = base + 1000 * 60_000;
    const events = Array.from({ length: 12 }, (_, i) => ({
      entity: { device: ['a', 'b', 'c'][i % 3]! }, requestData: { setpoint: 20 },
      row: { device: ['a', 'b', 'c'][i % 3], ts: later + i * 60_000, temp: 10 + i, setpoint: 20, label: 0 },
    }));
    const before = (await sensor.commits()).length;
    const predictions: number[] = [];
    const stream = new ReadableStream({ start: (c) => { events.forEach((e) => c.enqueue(e)); c.close(); } });
    for await (const p of predictor.predictStream(stream, { writeTo: sensor, maxRows: 5 })) predictions.push(p.prediction);
    expect(predictions).toHaveLength(12);
    const commits = (await sensor.commits()).slice(before);
    expect(commits.map((c) => c.rowCount)).toEqual([5, 5, 2]);
    const written = await sensor.read({ start: later });
    expect(Array.from({ length: written.numRows }, (_, i) => written.getChild('temp')!.get(i) as number)).toEqual(Array.from({ length: 12 }, (_, i) => 10 + i));
  });
});

describe('batch inference', () => {
  it('writes one prediction per entity to a predictions group, equal to tfjs on the batch data', async () => {
    const { store, v1 } = await setup();
    const { dataset } = await trainOn(store, v1);
    await store.promote('rain', 1);
    const end = base + 400 * DAY;
    const phases: string[] = [];
    const result = await store.batchPredict({ model: 'rain', start: base + 390 * DAY, end, chunkRows: 2, onProgress: (p) => phases.push(p.phase) });
    expect(result).toMatchObject({ model: { name: 'rain', version: 1 }, featureView: { name: 'rain', version: 1 }, output: { name: 'rain_predictions', version: 1 }, rows: 3 });
    expect(phases).toEqual(['reading', 'predicting', 'predicting', 'writing', 'done']);
    const group = await store.getFeatureGroup('rain_predictions', 1);
    expect(group.definition.primaryKey).toEqual(['city']);
    const written = await group.read();
    expect(written.numRows).toBe(3);
    expect(await group.commits()).toEqual([expect.objectContaining({ commitId: result.commit.commitId, rowCount: 3 })]);
    // Independently: the batch data as the view gives it, predicted by tfjs on this thread.
    const batch = await v1.getBatchData({ start: base + 390 * DAY, end, trainingDataset: dataset });
    const { model } = await store.models.load('rain', 1);
    const x = Array.from({ length: batch.numRows }, (_, i) => ['humidity', 'pressure'].map((n) => batch.getChild(n)!.get(i) as number));
    const y = tf.tidy(() => Array.from((model.predict(tf.tensor2d(x)) as tf.Tensor).dataSync()));
    model.dispose();
    const expected = new Map(Array.from({ length: batch.numRows }, (_, i) => [batch.getChild('city')!.get(i) as string, y[i]!]));
    for (let i = 0; i < written.numRows; i++) {
      const city = written.getChild('city')!.get(i) as string;
      expect(written.getChild('prediction')!.get(i)).toBeCloseTo(expected.get(city)!, 5);
      expect(written.getChild('model')!.get(i)).toBe('rain');
      expect(written.getChild('model_version')!.get(i)).toBe(1);
      expect(written.getChild('day')!.get(i)).toBe(end);
    }
  });
});

describe('deployments in another thread', () => {
  it('a predictor in another context (an online reader in a worker) switches when the owning tab promotes', async () => {
    const name = uniqueStoreName('deploy_tab');
    const { store, weather, v1, v2 } = await setup({ persist: true, name });
    await trainOn(store, v1);
    await trainOn(store, v2);
    await weather.materialize();
    await store.promote('rain', 1);
    const worker = new Worker(new URL('../support/deployment-reader.worker.ts', import.meta.url), { type: 'module' });
    const remote = Comlink.wrap<{ open(store: string): Promise<void>; predict(city: string): Promise<Prediction>; close(): void }>(worker);
    opened.push({ close: () => worker.terminate() });
    await remote.open(name);
    const mine = await store.deployment('rain');
    opened.push(mine);
    expect(await remote.predict('Oslo')).toEqual(await mine.predict({ city: 'Oslo' }));
    await store.promote('rain', 2);
    let theirs: Prediction | null = null;
    const deadline = Date.now() + 10_000;
    while ((theirs = await remote.predict('Oslo')).model.version !== 2) {
      if (Date.now() > deadline) throw new Error('the other context did not switch');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(theirs.featureView).toEqual({ name: 'rain', version: 2 });
    await until('this tab\'s switch', () => mine.current().model.version === 2);
    expect(theirs.prediction).toBeCloseTo((await mine.predict({ city: 'Oslo' })).prediction, 6);
    await remote.close();
  });
});
