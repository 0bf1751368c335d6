import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright';
import type * as Larder from '../../src/index.ts';
import { useHarness, waitReady } from '../support/harness.ts';
import { HOUR, expectedFeatures, featuresSpec, makeReadings, readingsSpec } from '../support/pipelines/sensors.ts';

// Feature and inference pipelines in a real browser profile: a backfill killed in the middle (the page reloads while
// its worker commits chunks) and resumed after reopening, a real periodicsync event, and a deployment in a second tab
// following the first tab's promotion.

const harness = useHarness();

const FROM = Date.UTC(2024, 0, 1);
const DAYS = 4;
const readings = makeReadings({ sensors: 4, perSensor: 200, from: FROM, spanMs: DAYS * 24 * HOUR, seed: 21 });
const MODULE = '/test/support/pipelines/rolling.pipeline.ts';
const CHUNKS = DAYS * 4; // 6-hour chunks

/** Opens the store in the page and registers the pipeline (its module is known per page load). */
async function openAndRegister(page: Page): Promise<void> {
  await page.evaluate(
    async ({ module, specs }) => {
      const store = await window.larder.openFeatureStore({ name: 'pipes' });
      (window as unknown as { store: Larder.FeatureStore }).store = store;
      await store.createFeatureGroup(specs.readings);
      await store.createFeatureGroup(specs.features);
      await store.pipelines.register({
        name: 'rolling', module, chunk: '6h',
        inputs: [{ name: 'readings', version: 1 }], outputs: [{ name: 'sensor_features', version: 1 }],
      });
    },
    { module: MODULE, specs: { readings: readingsSpec(), features: featuresSpec() } },
  );
}

describe('pipelines in a real browser profile', () => {
  it('resumes a backfill killed by a page reload: committed chunks are skipped, the result equals one full run', async () => {
    const page = await harness.browser.open(harness.url);
    await openAndRegister(page);
    await page.evaluate(async (rows) => {
      const store = (window as unknown as { store: Larder.FeatureStore }).store;
      await (await store.getFeatureGroup('readings', 1)).insert(rows);
      // Not awaited: the page is reloaded while it runs. Appending makes a chunk written twice visible as duplicates.
      void store.pipelines
        .run('rolling', { start: '2024-01-01', end: '2024-01-05', params: { delayMs: 150, writeMode: 'append' } })
        .catch(() => undefined);
    }, readings);
    // Wait until a few chunks are committed, then kill the page in the middle of the backfill.
    const committed = () =>
      page.evaluate(async () => {
        const store = (window as unknown as { store: Larder.FeatureStore }).store;
        return (await (await store.getFeatureGroup('sensor_features', 1)).commits()).length;
      });
    const deadline = Date.now() + 60_000;
    while ((await committed()) < 3) {
      if (Date.now() > deadline) throw new Error('the backfill committed fewer than 3 chunks in 60 s');
      await new Promise((resolve) => setTimeout(resolve, 30));
    }
    await page.reload();
    await waitReady(page);

    await openAndRegister(page);
    const outcome = await page.evaluate(async (chunks) => {
      const store = (window as unknown as { store: Larder.FeatureStore }).store;
      const features = await store.getFeatureGroup('sensor_features', 1);
      const [killed] = await store.pipelines.runs('rolling');
      const before = (await features.commits()).map((c) => [c.commitId, c.batchId]);
      const resumed = await store.pipelines.resume(killed!.id, { onProgress: () => undefined });
      const commits = await features.commits();
      const table = await features.read();
      const rows = Array.from({ length: table.numRows }, (_, i) => ({
        sensor: table.getChild('sensor')!.get(i) as string,
        ts: table.getChild('ts')!.get(i) as number,
        count_1h: table.getChild('count_1h')!.get(i) as number,
        max_1h: table.getChild('max_1h')!.get(i) as number,
        sum_1h: table.getChild('sum_1h')!.get(i) as number,
      }));
      await store.close();
      return {
        killed: { status: killed!.status, error: killed!.error, chunks: killed!.chunks.length },
        before,
        resumed: { status: resumed.status, resumeOf: resumed.resumeOf, chunks: resumed.chunks.map((c) => [c.index, c.status, c.commitIds[0]]) },
        commits: commits.map((c) => [c.commitId, c.batchId, c.kind]),
        rows,
        expectedChunks: chunks,
      };
    }, CHUNKS);

    // The killed run was found running by the next open and recorded as aborted.
    expect(outcome.killed.status).toBe('aborted');
    expect(outcome.killed.error?.message).toMatch(/Interrupted/);
    const done = outcome.before.length;
    expect(done).toBeGreaterThanOrEqual(3);
    expect(done).toBeLessThan(CHUNKS);
    // Resumed: the chunks committed before the kill are skipped (same commits), the rest committed once each.
    expect(outcome.resumed.status).toBe('succeeded');
    expect(outcome.resumed.chunks.map(([index, status]) => [index, status])).toEqual(
      Array.from({ length: CHUNKS }, (_, i) => [i, i < done ? 'skipped' : 'committed']),
    );
    expect(outcome.resumed.chunks.slice(0, done).map((c) => c[2])).toEqual(outcome.before.map((c) => c[0]));
    expect(outcome.commits).toHaveLength(CHUNKS);
    expect(new Set(outcome.commits.map((c) => c[1])).size).toBe(CHUNKS);
    expect(outcome.commits.every((c) => c[2] === 'append')).toBe(true);
    // Same rows as an uninterrupted run: every reading once (appends would show a redone chunk twice).
    const expected = expectedFeatures(readings);
    expect(outcome.rows.map((r) => [r.sensor, r.ts, r.count_1h, r.max_1h])).toEqual(expected.map((r) => [r.sensor, r.ts, r.count_1h, r.max_1h]));
    outcome.rows.forEach((r, i) => expect(r.sum_1h).toBeCloseTo(expected[i]!.sum_1h, 9));
    await page.close();
  });
});

describe('scheduled pipelines in a real browser profile', () => {
  it('runs a scheduled pipeline when the service worker gets a real periodicsync event', async () => {
    const page = await harness.browser.open(harness.url);
    await page.evaluate(async (module) => {
      const store = await window.larder.openFeatureStore({ name: 'scheduled', persist: false });
      (window as unknown as { store: Larder.FeatureStore }).store = store;
      const readings = await store.createFeatureGroup({ name: 'readings', version: 1, primaryKey: 'sensor', eventTime: 'ts', features: { sensor: 'string', ts: 'timestamp', value: 'float64' } });
      await store.createFeatureGroup({
        name: 'sensor_features', version: 1, primaryKey: 'sensor', eventTime: 'ts',
        features: { sensor: 'string', ts: 'timestamp', sum_1h: 'float64', count_1h: 'int32', max_1h: 'float64' },
      });
      await readings.insert([{ sensor: 's0', ts: 0, value: 1 }]);
      const options = { name: 'rolling', module, inputs: [readings], outputs: [{ name: 'sensor_features', version: 1 }] };
      await store.pipelines.register(options);
      await store.pipelines.run('rolling', { mode: 'incremental' });
      await store.pipelines.register({ ...options, schedule: { every: '1h' } }); // not due: only the sync event runs it
      const registration = await navigator.serviceWorker.register('/test/support/pipelines/test-sw.ts', { type: 'module', scope: '/test/support/pipelines/' });
      const worker = registration.installing ?? registration.waiting ?? registration.active!;
      if (worker.state !== 'activated') {
        await new Promise<void>((resolve) => worker.addEventListener('statechange', () => worker.state === 'activated' && resolve()));
      }
    }, MODULE);
    const session = await page.context().newCDPSession(page);
    const registrationId = new Promise<string>((resolve) => {
      session.on('ServiceWorker.workerRegistrationUpdated', (event) => {
        const found = event.registrations.find((r) => r.scopeURL.endsWith('/test/support/pipelines/') && !r.isDeleted);
        if (found !== undefined) resolve(found.registrationId);
      });
    });
    await session.send('ServiceWorker.enable');
    const origin = new URL(harness.url).origin;
    await session.send('ServiceWorker.dispatchPeriodicSyncEvent', { origin, registrationId: await registrationId, tag: 'larder-pipelines' });
    const runs = await page.evaluate(async () => {
      const store = (window as unknown as { store: Larder.FeatureStore }).store;
      const ended = async () => (await store.pipelines.runs('rolling')).filter((r) => r.status !== 'running').length;
      for (let i = 0; i < 400 && (await ended()) < 2; i++) await new Promise((r) => setTimeout(r, 50));
      const all = await store.pipelines.runs('rolling');
      await store.close();
      return all.map((r) => [r.trigger, r.status]);
    });
    expect(runs).toEqual([['manual', 'succeeded'], ['service-worker', 'succeeded']]);
    await page.close();
  });
});

describe('deployments across tabs', () => {
  it('a predictor in a second tab switches when the first tab promotes, without a reload', async () => {
    const owner = await harness.browser.open(harness.url);
    await owner.evaluate(async () => {
      const store = await window.larder.openFeatureStore({ name: 'tabs' });
      (window as unknown as { store: Larder.FeatureStore }).store = store;
      const weather = await store.createFeatureGroup({
        name: 'weather', version: 1, primaryKey: 'city', eventTime: 'day', online: true,
        features: { city: 'string', day: 'timestamp', humidity: 'float64', rain: 'float64' },
      });
      await weather.insert(Array.from({ length: 300 }, (_, i) => ({ city: ['Oslo', 'Lima'][i % 2], day: i * 86_400_000, humidity: (i % 17) / 17, rain: (i % 17) / 8 })));
      const view = await store.createFeatureView({ name: 'rain', version: 1, query: weather.select(['humidity']), labels: ['rain'] });
      const { dataset, persisted } = await view.trainingData({ split: { kind: 'random', test: 0.2, seed: 1 } });
      await persisted;
      for (const seed of [1, 2]) {
        await store.train({
          featureView: view, trainingDataset: dataset.version, fit: { epochs: seed },
          model: { name: 'rain', spec: { task: 'regression', layers: [{ units: 4, activation: 'relu' }], seed } },
        });
      }
      await store.promote('rain', 1);
    });
    const second = await harness.browser.open(harness.url);
    const predict = () =>
      second.evaluate(async () => {
        const w = window as unknown as { predictor?: Larder.Deployment };
        if (w.predictor === undefined) {
          const reader = await window.larder.openOnlineReader({ name: 'tabs' });
          w.predictor = await reader.deployment('rain');
        }
        const p = await w.predictor.predict({ city: 'Oslo' });
        return { version: p.model.version, prediction: p.prediction };
      });
    expect((await predict()).version).toBe(1);
    await owner.evaluate(async () => {
      await (window as unknown as { store: Larder.FeatureStore }).store.promote('rain', 2);
    });
    const deadline = Date.now() + 15_000;
    let seen = await predict();
    while (seen.version !== 2 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      seen = await predict();
    }
    expect(seen.version).toBe(2);
    const ownerView = await owner.evaluate(async () => {
      const store = (window as unknown as { store: Larder.FeatureStore }).store;
      const predictor = await store.deployment('rain');
      const p = await predictor.predict({ city: 'Oslo' });
      await store.close();
      return { version: p.model.version, prediction: p.prediction };
    });
    expect(seen.version).toBe(ownerView.version);
    expect(seen.prediction).toBeCloseTo(ownerView.prediction, 6);
    await second.close();
    await owner.close();
  });
});
