import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright';
import type * as Tf from '@tensorflow/tfjs';
import { useHarness, waitReady } from '../support/harness.ts';

// Runs in Node: drives real Chromium with a profile on disk, so OPFS and IndexedDB persist across page reloads and
// browser restarts, and two tabs of one origin can contend for the same store.

const harness = useHarness();

/** Opens the store, makes sure the group exists, optionally inserts a batch, and returns what the store holds. */
async function session(page: Page, insert: { from: number; count: number } | null) {
  return page.evaluate(async (batch) => {
    const { openFeatureStore } = window.larder;
    const store = await openFeatureStore({ name: 'persisted' });
    try {
      const fg = await store.createFeatureGroup({
        name: 'events', version: 1, primaryKey: 'id', eventTime: 'ts',
        features: { id: 'int64', ts: 'timestamp', value: 'float64', label: 'string' },
      });
      if (batch !== null) {
        const rows = Array.from({ length: batch.count }, (_, i) => ({
          id: batch.from + i, ts: (batch.from + i) * 1000, value: (batch.from + i) / 7, label: `row ${batch.from + i}`,
        }));
        await fg.insert(rows, { batchId: `batch-${batch.from}` });
      }
      const table = await fg.read();
      return {
        ids: Array.from(table.getChild('id')!.toArray() as BigInt64Array, Number),
        values: Array.from(table.getChild('value')!.toArray() as Float64Array),
        labels: table.getChild('label')!.toArray() as string[],
        commits: (await fg.commits()).map((c) => [c.commitId, c.rowCount, c.batchId]),
      };
    } finally {
      await store.close();
    }
  }, insert);
}

const expected = (n: number) => ({
  ids: Array.from({ length: n }, (_, i) => i),
  values: Array.from({ length: n }, (_, i) => i / 7),
  labels: Array.from({ length: n }, (_, i) => `row ${i}`),
});

describe('persistence in a real browser profile', () => {
  it('keeps acknowledged commits across page reloads and browser restarts', async () => {
    const page = await harness.browser.open(harness.url);
    const first = await session(page, { from: 0, count: 500 });
    expect({ ids: first.ids, values: first.values, labels: first.labels }).toEqual(expected(500));

    await page.reload();
    await waitReady(page);
    const afterReload = await session(page, { from: 500, count: 500 });
    expect({ ids: afterReload.ids, values: afterReload.values, labels: afterReload.labels }).toEqual(expected(1000));
    expect(afterReload.commits).toEqual([[1, 500, 'batch-0'], [2, 500, 'batch-500']]);

    await harness.browser.close();
    await harness.browser.launch();
    const page2 = await harness.browser.open(harness.url);
    const afterRestart = await session(page2, null);
    expect({ ids: afterRestart.ids, values: afterRestart.values, labels: afterRestart.labels }).toEqual(expected(1000));
    expect(afterRestart.commits).toEqual(afterReload.commits);
    // Re-sending an acknowledged batch after the restart is still a no-op.
    const resent = await session(page2, { from: 500, count: 500 });
    expect(resent.commits).toEqual(afterReload.commits);
    await page2.close();
  });

  it('keeps a commit acknowledged right before a reload, every time', async () => {
    const page = await harness.browser.open(harness.url);
    for (let i = 0; i < 5; i++) {
      // Reload as soon as insert() resolves, without closing the store: only the checkpoint protects the batch.
      await page.evaluate(async (n) => {
        const store = await window.larder.openFeatureStore({ name: 'reloaded' });
        const fg = await store.createFeatureGroup({ name: 'g', version: 1, primaryKey: 'id', eventTime: 'ts', features: { id: 'int64' } });
        await fg.insert([{ id: n, ts: n }]);
      }, i);
      await page.reload();
      await waitReady(page);
    }
    const count = await page.evaluate(async () => {
      const store = await window.larder.openFeatureStore({ name: 'reloaded' });
      const rows = (await (await store.getFeatureGroup('g', 1)).read()).numRows;
      await store.close();
      return rows;
    });
    expect(count).toBe(5);
    await page.close();
  });

  it('gives a second tab StoreLockedError while the first holds the store, and the store once the first closes', async () => {
    const tabA = await harness.browser.open(harness.url);
    await tabA.evaluate(async () => {
      (window as unknown as { held: unknown }).held = await window.larder.openFeatureStore({ name: 'shared' });
    });
    const tabB = await harness.browser.open(harness.url);
    const refused = await tabB.evaluate(async () => {
      try {
        await window.larder.openFeatureStore({ name: 'shared' });
        return null;
      } catch (error) {
        const e = error as InstanceType<typeof window.larder.LarderError>;
        return { isClass: e instanceof window.larder.StoreLockedError, code: e.code, message: e.message };
      }
    });
    expect(refused).toEqual({ isClass: true, code: 'STORE_LOCKED', message: expect.stringMatching(/another tab/) as unknown });
    await tabA.close();
    const opened = await tabB.evaluate(async () => {
      for (let attempt = 0; attempt < 50; attempt++) {
        try {
          const store = await window.larder.openFeatureStore({ name: 'shared' });
          await store.close();
          return true;
        } catch {
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      return false;
    });
    expect(opened).toBe(true);
    await tabB.close();
  });

  it('serves a trained model after a page reload: same version, same alias, identical predictions', async () => {
    const page = await harness.browser.open(harness.url);
    const x = [[0.5, -0.25], [-1, 1], [0, 0]];
    const before = await page.evaluate(async (inputs) => {
      const { openFeatureStore } = window.larder;
      const store = await openFeatureStore({ name: 'models' });
      const group = await store.createFeatureGroup({
        name: 'g', version: 1, primaryKey: 'id', eventTime: 'ts', features: { id: 'int64', ts: 'timestamp', a: 'float64', b: 'float64', y: 'float64' },
      });
      await group.insert(Array.from({ length: 400 }, (_, i) => ({ id: i, ts: i * 1000, a: Math.sin(i), b: Math.cos(i), y: 2 * Math.sin(i) - Math.cos(i) })));
      await store.createFeatureView({ name: 'v', version: 1, query: group.select(['a', 'b']), labels: ['y'] });
      const { model } = await store.train({
        featureView: { name: 'v', version: 1 }, model: { name: 'm', spec: { task: 'regression', layers: [{ units: 8 }] } }, fit: { epochs: 3 },
      });
      await store.models.setAlias('m', 'champion', model!.version, { reason: 'first' });
      const loaded = await store.models.load('m', 'champion');
      const { tf } = window;
      const out = tf.tidy(() => Array.from((loaded.model.predict(tf.tensor2d(inputs)) as Tf.Tensor).dataSync()));
      await store.close();
      return { version: model!.version, out };
    }, x);
    await page.reload();
    await waitReady(page);
    const after = await page.evaluate(async (inputs) => {
      const store = await window.larder.openFeatureStore({ name: 'models' });
      const loaded = await store.models.load('m', 'champion');
      const { tf } = window;
      const out = tf.tidy(() => Array.from((loaded.model.predict(tf.tensor2d(inputs)) as Tf.Tensor).dataSync()));
      const history = (await store.models.aliasHistory('m')).map((c) => [c.to, c.reason]);
      await store.close();
      return { version: loaded.record.version, out, history };
    }, x);
    expect(after.version).toBe(before.version);
    expect(after.out).toEqual(before.out);
    expect(after.history).toEqual([[before.version, 'first']]);
    await page.close();
  });
});
