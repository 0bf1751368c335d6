import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DuckDBInstance } from '@duckdb/node-api';
import type { Page } from 'playwright';
import { useHarness } from '../support/harness.ts';
import { useSyncDevices } from '../support/sync-devices.ts';

// Runs in Node: two Chromium profiles on disk (two devices) push and pull through a real S3-compatible server
// (s3rver, which checks SigV4 signatures, behind a gateway adding conditional writes); then native DuckDB reads the
// pushed snapshot straight from the server's storage directory, as a data engineer's tools would.

const harness = useHarness();
const devices = useSyncDevices();

interface Target {
  endpoint: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
}

/** Opens the store on the page and runs one of the scripted steps there; returns what the store then holds. */
async function onPage(page: Page, step: 'populate' | 'pull' | 'insert' | 'push' | 'state' | 'wrong-secret', target: Target) {
  return page.evaluate(async ({ step, target }) => {
    const { openFeatureStore, S3ObjectStore } = window.larder;
    const store = await openFeatureStore({ name: 'weather' });
    const s3 = new S3ObjectStore({ ...target, prefix: 'teams/e2e' });
    const DAY = 86_400_000;
    const rows = (from: number, days: number, factor: number) =>
      Array.from({ length: days * 3 }, (_, i) => {
        const city = ['Seattle', 'Oslo', 'Lima'][i % 3]!;
        const day = from + Math.floor(i / 3);
        return { city, day: Date.UTC(2024, 0, 1) + day * DAY, humidity: ((day * 37 + i) % 100) / 100, rain: factor * day + (i % 3) };
      });
    try {
      let result: unknown = null;
      if (step === 'populate') {
        const weather = await store.createFeatureGroup({
          name: 'weather', version: 1, primaryKey: 'city', eventTime: 'day', online: true,
          features: { city: 'string', day: 'timestamp', humidity: 'float64', rain: 'float64' },
        });
        await weather.insert(rows(0, 300, 1));
        await weather.insert(rows(100, 20, 2), { mode: 'upsert' });
        await weather.deleteRows([{ city: 'Lima' }]);
        const view = await store.createFeatureView({ name: 'rain', version: 1, query: weather.select(['humidity']), labels: ['rain'] });
        const { dataset, persisted } = await view.trainingData({ split: { kind: 'random', test: 0.2, seed: 1 } });
        await persisted;
        const { model } = await store.train({
          featureView: view, trainingDataset: dataset.version, fit: { epochs: 2 },
          model: { name: 'rain', spec: { task: 'regression', layers: [{ units: 4, activation: 'relu' }], seed: 1 } },
        });
        await store.promote('rain', model!.version, { alias: 'champion' });
        result = await store.sync.push({ target: s3, prefix: '' });
      } else if (step === 'push') {
        result = await store.sync.push({ target: s3, prefix: '' });
      } else if (step === 'pull') {
        result = await store.sync.pull({ target: s3, prefix: '' });
      } else if (step === 'insert') {
        await (await store.getFeatureGroup('weather', 1)).insert(rows(300, 3, 1));
      } else if (step === 'wrong-secret') {
        const wrong = new S3ObjectStore({ ...target, secretAccessKey: 'not-the-secret', prefix: 'teams/e2e' });
        try {
          await store.sync.push({ target: wrong, prefix: 'other' });
          result = 'pushed';
        } catch (error) {
          result = { name: (error as Error).name, code: (error as { code?: string }).code };
        }
      }
      const weather = await store.getFeatureGroup('weather', 1);
      const table = await weather.read({ withCommitIds: true });
      const history = [];
      for (const c of await weather.commits()) history.push((await weather.read({ asOfCommit: c.commitId })).numRows);
      const deployment = await store.deployment('rain', { alias: 'champion' });
      const prediction = (await deployment.predict({ city: 'Oslo' })).prediction;
      await deployment.close();
      return {
        result,
        rows: table.toArray().map((r: { toJSON(): Record<string, unknown> }) => {
          const o = r.toJSON();
          return [o['city'], Number(o['day']), o['humidity'], o['rain'], Number(o['_larder_commit'])];
        }),
        commits: (await weather.commits()).map((c) => [c.commitId, c.kind, c.rowCount]),
        history,
        models: (await store.models.list()).map((m) => [m.name, m.version, m.artifact.sha256]),
        aliases: (await store.models.aliasHistory('rain')).map((h) => [h.alias, h.from, h.to, h.kind]),
        runs: (await store.runs.list()).map((r) => [r.id, r.status, r.metrics]),
        datasets: (await (await store.getFeatureView('rain', 1)).listTrainingDatasets()).map((d) => [d.version, d.rowCounts]),
        prediction,
      };
    } finally {
      await store.close();
    }
  }, { step, target });
}

describe('sync between two browser profiles through a real S3-compatible server', () => {
  it('pulls on the second device what the first pushed; native DuckDB reads the same rows from the bucket', async () => {
    const target: Target = { endpoint: devices.stack.gateway.endpoint, bucket: devices.stack.s3.bucket, accessKeyId: devices.stack.s3.accessKeyId, secretAccessKey: devices.stack.s3.secretAccessKey };
    const deviceA = await harness.browser.open(harness.url);
    const deviceB = await devices.second.open(harness.url);
    const a = await onPage(deviceA, 'populate', target);
    expect(a.result).toMatchObject({ pushed: true, parent: null });
    const b = await onPage(deviceB, 'pull', target);
    expect(b.result).toMatchObject({ applied: true });
    const { result: _a, ...stateA } = a;
    const { result: _b, ...stateB } = b;
    expect(stateB).toEqual(stateA);
    expect(stateA.rows.length).toBe(600);

    // The second device adds rows and pushes; the first pulls them.
    await onPage(deviceB, 'insert', target);
    expect((await onPage(deviceB, 'push', target)).result).toMatchObject({ pushed: true });
    const again = await onPage(deviceA, 'pull', target);
    expect(again.result).toMatchObject({ applied: true });
    const latestB = await onPage(deviceB, 'state', target);
    expect(again.rows).toEqual(latestB.rows);
    expect(again.rows.length).toBe(609); // three more days of three cities (Lima again too)

    // Wrong credentials: a typed error, nothing written.
    expect((await onPage(deviceA, 'wrong-secret', target)).result).toEqual({ name: 'SyncAuthError', code: 'SYNC_AUTH_FAILED' });

    // Native DuckDB on the server's files: HEAD → manifest → parts, with the README's query for current rows.
    const root = join(devices.stack.s3.directory, devices.stack.s3.bucket, 'teams', 'e2e');
    const file = (key: string) => {
      const parts = key.split('/');
      return join(root, ...parts.slice(0, -1), `${parts.at(-1)!}._S3rver_object`);
    };
    const head = JSON.parse(await readFile(file('HEAD'), 'utf8')) as { manifest: string };
    const manifest = JSON.parse(await readFile(file(head.manifest), 'utf8')) as {
      groups: { name: string; parts: { key: string }[]; commits: { commitId: number; kind: string }[] }[];
    };
    const group = manifest.groups.find((g) => g.name === 'weather')!;
    const parts = `[${group.parts.map((p) => `'${file(p.key)}'`).join(', ')}]`;
    const upserts = group.commits.filter((c) => c.kind === 'upsert').map((c) => c.commitId);
    const duck = await DuckDBInstance.create(':memory:');
    const connection = await duck.connect();
    const reader = await connection.runAndReadAll(`
      SELECT city, epoch_ms(day) AS day, humidity, rain, _larder_commit FROM read_parquet(${parts}) AS r
      WHERE NOT EXISTS (
        SELECT 1 FROM read_parquet(${parts}) AS u
        WHERE u._larder_commit IN (${upserts.join(', ') || 'NULL'}) AND u._larder_commit > r._larder_commit
          AND u.city = r.city AND u.day = r.day)
      ORDER BY day, city, _larder_commit`);
    const native = reader.getRows().map((r) => [r[0], Number(r[1]), r[2], r[3], Number(r[4])]);
    connection.closeSync();
    duck.closeSync();
    expect(native).toEqual(latestB.rows);
  });

  it('resumes a push and a pull whose tab was closed half-way: nothing torn, uploaded objects not sent again', async () => {
    const target: Target = { endpoint: devices.stack.gateway.endpoint, bucket: devices.stack.s3.bucket, accessKeyId: devices.stack.s3.accessKeyId, secretAccessKey: devices.stack.s3.secretAccessKey };
    const root = join(devices.stack.s3.directory, devices.stack.s3.bucket, 'kill');
    const objectsOnDisk = async () => (await readdir(join(root, 'objects')).catch(() => [])).filter((f) => f.endsWith('._S3rver_object')).length;
    // Eight groups of 20k rows: nine objects or more, uploaded one at a time.
    const script = async (page: Page, step: 'fill' | 'push' | 'pull' | 'digest', name = 'killed') =>
      page.evaluate(async ({ step, target, name }) => {
        const { openFeatureStore, S3ObjectStore } = window.larder;
        const store = await openFeatureStore({ name });
        const s3 = new S3ObjectStore({ ...target, prefix: 'kill' });
        try {
          if (step === 'fill') {
            for (let g = 0; g < 8; g++) {
              const group = await store.createFeatureGroup({ name: `g${g}`, version: 1, primaryKey: 'id', eventTime: 'ts', features: { id: 'int64', ts: 'timestamp', x: 'float64' } });
              await group.insert(Array.from({ length: 20_000 }, (_, i) => ({ id: i, ts: i * 1000, x: Math.sin(i + g) })));
            }
          }
          if (step === 'push') return await store.sync.push({ target: s3, prefix: '', concurrency: 1 });
          if (step === 'pull') return await store.sync.pull({ target: s3, prefix: '' });
          const out: string[] = [];
          for (const d of await store.listFeatureGroups()) {
            const t = await (await store.getFeatureGroup(d.name, d.version)).read({ withCommitIds: true });
            out.push(`${d.name}:${t.numRows}:${Array.from(t.getChild('x')!.toArray() as Float64Array).reduce((a, b) => a + b, 0)}`);
          }
          return out;
        } finally {
          await store.close();
        }
      }, { step, target, name });

    const pusher = await harness.browser.open(harness.url);
    await script(pusher, 'fill');
    const expected = await script(pusher, 'digest');
    // Close the tab once a few objects are up; then push again from a new tab.
    void script(pusher, 'push').catch(() => undefined);
    while ((await objectsOnDisk()) < 3) await new Promise((r) => setTimeout(r, 20));
    await pusher.close();
    const uploadedBefore = await objectsOnDisk();
    expect(await readFile(join(root, 'HEAD._S3rver_object')).catch(() => null)).toBeNull(); // HEAD only moves at the end
    const again = await harness.browser.open(harness.url);
    const resumed = (await script(again, 'push')) as { reused: { objects: number }; pushed: boolean };
    expect(resumed.pushed).toBe(true);
    expect(resumed.reused.objects).toBeGreaterThanOrEqual(uploadedBefore - 1); // the one in flight may be partial
    await again.close();

    // Pull on the second profile (a new store each time), closing its tab at a chosen moment; reopened, the store
    // holds all of the snapshot or none of it, and pulling again completes it.
    const outcomes: number[] = [];
    for (const delay of [150, 1000, 1900, 2600]) {
      const name = `killed${delay}`;
      const puller = await devices.second.open(harness.url);
      void script(puller, 'pull', name).catch(() => undefined);
      await new Promise((r) => setTimeout(r, delay));
      await puller.close();
      const reopened = await devices.second.open(harness.url);
      const seen = (await script(reopened, 'digest', name)) as string[];
      expect([[], expected]).toContainEqual(seen);
      outcomes.push(seen.length);
      expect(await script(reopened, 'pull', name)).toBeDefined();
      expect(await script(reopened, 'digest', name)).toEqual(expected);
      await reopened.close();
    }
    console.log(`pulls killed at 150…2600 ms: groups seen on reopening ${outcomes.join(', ')}`);
  });
});
