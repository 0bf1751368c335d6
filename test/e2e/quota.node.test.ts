import { describe, expect, it } from 'vitest';
import type { CDPSession, Page } from 'playwright';
import type * as Larder from '../../src/index.ts';
import { useHarness } from '../support/harness.ts';

// Runs in Node: drives real Chromium with a profile on disk and lowers the origin's storage quota through the Chrome
// DevTools Protocol to what the origin already uses plus 1 MB. Ingest, model registration and pull must each end in
// QuotaExceededError within 5 s, leave what was stored before untouched and the store answering, and succeed once
// the quota is lifted.
//
// The quota is lowered right after a browser restart, before the page touches IndexedDB: Chromium's IndexedDB keeps
// the space it last heard was free for about 30 s and does not see a lower quota until then (measured with Chromium
// 156: a 4 MB put still committed 20 s after the override, and was refused at 35 s). OPFS sees the override at once.

const harness = useHarness();

const MB = 1024 * 1024;
/** How long a refused write may take to be refused. */
const BOUND_MS = 5_000;
/** How long the page waits before calling an operation pending: well past the bound, well inside the test timeout. */
const PENDING_MS = 30_000;
const FIRST_BATCH = 2_000;
/** Rows of the batch ingested against the full disk: about 7 MB in DuckDB (random values and labels). */
const BIG_BATCH = 150_000;
/** Rows another device adds to the snapshot the store pulls. */
const ELSEWHERE_BATCH = 100_000;

/** What the page keeps between steps. */
interface QuotaPage {
  store: Larder.FeatureStore;
  target: Larder.ObjectStore;
}

declare global {
  interface Window {
    quota: QuotaPage;
  }
}

type Step = 'ingest' | 'register' | 'pull';

/** How one operation ended, seen from the page; `ms` counts only the operation, not building its input. */
interface Outcome {
  kind: 'resolved' | 'rejected' | 'pending';
  name?: string;
  code?: string;
  cause?: string;
  ms: number;
}

/** What the quota-limited store holds: its row count, the first batch's rows, the group's commits, the models. */
interface Held {
  rows: number;
  firstBatch: [number, number, string][];
  commits: [number, string, number, string | null][];
  models: [string, number, string][];
}

/** Builds the step's input, then runs the step on the page's store, timed, without waiting for it forever. */
async function attempt(page: Page, step: Step): Promise<Outcome> {
  return page.evaluate(
    async ({ step, bigBatch, pendingMs }) => {
      const { store, target } = window.quota;
      const { tf } = window;
      let run: () => Promise<unknown>;
      if (step === 'ingest') {
        // Random values and hex labels, so that DuckDB cannot compress the batch into the headroom.
        const hex = () => Array.from(crypto.getRandomValues(new Uint8Array(24)), (b) => b.toString(16).padStart(2, '0')).join('');
        const rows = Array.from({ length: bigBatch }, (_, i) => ({ id: 1_000_000 + i, ts: (1_000_000 + i) * 1000, value: Math.random(), label: hex() }));
        const fg = await store.getFeatureGroup('events', 1);
        run = () => fg.insert(rows, { batchId: 'big' });
      } else if (step === 'register') {
        // One dense layer of 1,000 × 1,000 random float32 weights: 4 MB.
        const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [1000], units: 1000 })] });
        let artifacts: Parameters<typeof store.models.register>[1] | null = null;
        await model.save(tf.io.withSaveHandler(async (a) => {
          artifacts = { modelTopology: a.modelTopology, weightSpecs: a.weightSpecs, weightData: a.weightData as ArrayBuffer };
          return Promise.resolve({ modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' as const } });
        }));
        model.dispose();
        run = () => store.models.register('big', artifacts!);
      } else {
        // Over the small group 'side' written meanwhile (see the test): the pull replaces it.
        run = () => store.sync.pull({ target, prefix: 'shared', overwrite: true });
      }
      const started = performance.now();
      const ended = await Promise.race([
        run().then(
          () => ({ kind: 'resolved' as const }),
          (error: unknown) => {
            const e = error as { name?: string; code?: string; cause?: { name?: string; message?: string } };
            return { kind: 'rejected' as const, name: e.name, code: e.code, cause: e.cause === undefined ? undefined : `${e.cause.name}: ${e.cause.message}` };
          },
        ),
        new Promise<{ kind: 'pending' }>((resolve) => setTimeout(() => resolve({ kind: 'pending' }), pendingMs)),
      ]);
      return { ...ended, ms: Math.round(performance.now() - started) };
    },
    { step, bigBatch: BIG_BATCH, pendingMs: PENDING_MS },
  );
}

/** What the page's store holds now: a small read, which must be answered whatever failed before. */
async function held(page: Page): Promise<Held> {
  return page.evaluate(async (first) => {
    const { store } = window.quota;
    const fg = await store.getFeatureGroup('events', 1);
    const table = await fg.read();
    const ids = Array.from(table.getChild('id')!.toArray() as BigInt64Array, Number);
    const values = table.getChild('value')!.toArray() as Float64Array;
    const labels = table.getChild('label')!.toArray() as string[];
    const firstBatch: [number, number, string][] = [];
    for (let i = 0; i < ids.length; i++) if (ids[i]! < first) firstBatch.push([ids[i]!, values[i]!, labels[i]!]);
    firstBatch.sort((a, b) => a[0] - b[0]);
    return {
      rows: table.numRows,
      firstBatch,
      commits: (await fg.commits()).map((c): [number, string, number, string | null] => [c.commitId, c.kind, c.rowCount, c.batchId]),
      models: (await store.models.list()).map((m): [string, number, string] => [m.name, m.version, m.artifact.sha256]),
    };
  }, FIRST_BATCH);
}

/** Sets the origin's quota, or gives back the browser's own with `null`. */
async function setQuota(cdp: CDPSession, origin: string, bytes: number | null): Promise<void> {
  await cdp.send('Storage.overrideQuotaForOrigin', bytes === null ? { origin } : { origin, quotaSize: bytes });
}

/**
 * The earlier data: a first batch and a small model in the persistent store 'quota', pushed to an in-memory target;
 * then an in-memory store (another device, as far as the snapshot goes) pulls that, adds a few MB of rows and pushes.
 * Returns the target's objects (base64), to be put back in a target after the browser restart.
 */
async function prepare(page: Page): Promise<[string, string][]> {
  return page.evaluate(async ({ first, elsewhere }) => {
    const { openFeatureStore, MemoryObjectStore } = window.larder;
    const { tf } = window;
    const target = new MemoryObjectStore();
    const store = await openFeatureStore({ name: 'quota' });
    try {
      const fg = await store.createFeatureGroup({
        name: 'events', version: 1, primaryKey: 'id', eventTime: 'ts',
        features: { id: 'int64', ts: 'timestamp', value: 'float64', label: 'string' },
      });
      await fg.insert(Array.from({ length: first }, (_, i) => ({ id: i, ts: i * 1000, value: i / 7, label: `row ${i}` })), { batchId: 'first' });
      const small = tf.sequential({ layers: [tf.layers.dense({ inputShape: [2], units: 1 })] });
      await small.save(tf.io.withSaveHandler(async (a) => {
        await store.models.register('small', { modelTopology: a.modelTopology, weightSpecs: a.weightSpecs, weightData: a.weightData as ArrayBuffer });
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' as const } };
      }));
      small.dispose();
      await store.sync.push({ target, prefix: 'shared' });
    } finally {
      await store.close();
    }

    const other = await openFeatureStore({ name: 'quota_elsewhere', persist: false });
    try {
      await other.sync.pull({ target, prefix: 'shared' });
      const hex = () => Array.from(crypto.getRandomValues(new Uint8Array(24)), (b) => b.toString(16).padStart(2, '0')).join('');
      const rows = Array.from({ length: elsewhere }, (_, i) => ({ id: 2_000_000 + i, ts: i * 1000, value: Math.random(), label: hex() }));
      await (await other.getFeatureGroup('events', 1)).insert(rows, { batchId: 'elsewhere' });
      await other.sync.push({ target, prefix: 'shared' });
    } finally {
      await other.close();
    }

    const objects: [string, string][] = [];
    for (const { key } of await target.list('')) {
      let binary = '';
      for (const b of (await target.get(key))!.body) binary += String.fromCharCode(b);
      objects.push([key, btoa(binary)]);
    }
    return objects;
  }, { first: FIRST_BATCH, elsewhere: ELSEWHERE_BATCH });
}

/** Puts the snapshot back in an in-memory target of the (restarted) page and opens the store. */
async function reopen(page: Page, objects: [string, string][]): Promise<void> {
  await page.evaluate(async (objects) => {
    const { openFeatureStore, MemoryObjectStore } = window.larder;
    const target = new MemoryObjectStore();
    for (const [key, base64] of objects) await target.put(key, Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)));
    window.quota = { store: await openFeatureStore({ name: 'quota' }), target };
  }, objects);
}

describe('a full disk (the origin quota lowered through the DevTools protocol)', () => {
  it('refuses ingest and model registration with QuotaExceededError within 5 s, a pull without applying it, and keeps the earlier data', async () => {
    const origin = new URL(harness.url).origin;
    const objects = await prepare(await harness.browser.open(harness.url));
    await harness.browser.close();
    await harness.browser.launch();
    const page = await harness.browser.open(harness.url);
    const cdp = await page.context().newCDPSession(page);
    const used = await page.evaluate(async () => (await navigator.storage.estimate()).usage ?? 0);
    expect(used).toBeGreaterThan(0);
    await setQuota(cdp, origin, used + MB);
    await reopen(page, objects);

    const before = await held(page);
    expect(before.rows).toBe(FIRST_BATCH);
    expect(before.firstBatch).toEqual(Array.from({ length: FIRST_BATCH }, (_, i) => [i, i / 7, `row ${i}`]));
    expect(before.commits).toEqual([[1, 'append', FIRST_BATCH, 'first']]);
    expect(before.models.map(([name, version]) => [name, version])).toEqual([['small', 1]]);

    const refused: Partial<Record<Step, Outcome>> = {};
    for (const step of ['ingest', 'register'] as const) {
      const outcome = await attempt(page, step);
      refused[step] = outcome;
      expect({ step, kind: outcome.kind, name: outcome.name, code: outcome.code }).toEqual({ step, kind: 'rejected', name: 'QuotaExceededError', code: 'QUOTA_EXCEEDED' });
      expect(outcome.ms).toBeLessThan(BOUND_MS);
      // Nothing of the refused operation is visible, and the store still answers.
      expect(await held(page)).toEqual(before);
    }
    // The disk has room again. The next write lands where it is sent and nowhere else: a refused batch must not come
    // back with it (duckdb-wasm left the failed insert's state on the connection; see engine.insertArrow).
    await setQuota(cdp, origin, null);
    const side = await page.evaluate(async () => {
      const { store } = window.quota;
      const fg = await store.createFeatureGroup({ name: 'side', version: 1, primaryKey: 'id', eventTime: 'ts', features: { id: 'int64', ts: 'timestamp' } });
      await fg.insert([{ id: 1, ts: 1000 }, { id: 2, ts: 2000 }], { batchId: 'side' });
      return {
        ids: Array.from((await fg.read()).getChild('id')!.toArray() as BigInt64Array, Number),
        commits: (await fg.commits()).map((c) => [c.kind, c.rowCount, c.batchId]),
      };
    });
    expect(side).toEqual({ ids: [1, 2], commits: [['append', 2, 'side']] });
    expect(await held(page)).toEqual(before);

    // A pull that would fill the disk is refused before it downloads or writes anything: the store reserves the bytes
    // it would download in a probe file for a moment (navigator.storage.estimate() does not show a quota lowered
    // through the DevTools protocol; growing an OPFS file meets it at once). DuckDB never fails inside its COMMIT.
    const usedNow = await page.evaluate(async () => (await navigator.storage.estimate()).usage ?? 0);
    await setQuota(cdp, origin, usedNow + MB);
    const pull = await attempt(page, 'pull');
    refused.pull = pull;
    expect({ kind: pull.kind, name: pull.name, code: pull.code }).toEqual({ kind: 'rejected', name: 'QuotaExceededError', code: 'QUOTA_EXCEEDED' });
    expect(pull.ms).toBeLessThan(BOUND_MS);
    expect(await held(page)).toEqual(before);
    console.info('refused under the lowered quota:', JSON.stringify(refused));
    // Nothing is left pending: with room again, the same open store pulls, ingests and registers.
    await setQuota(cdp, origin, null);
    const lifted: Partial<Record<Step, Outcome>> = {};
    for (const step of ['pull', 'ingest', 'register'] as const) {
      lifted[step] = await attempt(page, step);
      expect({ step, kind: lifted[step].kind, outcome: lifted[step].kind === 'resolved' ? null : lifted[step] }).toEqual({ step, kind: 'resolved', outcome: null });
    }
    const after = await held(page);
    expect(after.rows).toBe(FIRST_BATCH + ELSEWHERE_BATCH + BIG_BATCH);
    expect(after.firstBatch).toEqual(before.firstBatch);
    expect(after.commits.slice(0, 1)).toEqual(before.commits);
    expect(after.commits.slice(1).map(([, kind, rows, batchId]) => [kind, rows, batchId])).toEqual([
      ['append', ELSEWHERE_BATCH, 'elsewhere'],
      ['append', BIG_BATCH, 'big'],
    ]);
    expect(after.models.map(([name, version]) => [name, version])).toEqual([['big', 1], ['small', 1]]);
    expect(after.models.find(([name]) => name === 'small')).toEqual(before.models[0]);

    // And all of it survives closing and opening the store again.
    await page.evaluate(() => window.quota.store.close());
    await reopen(page, objects);
    expect(await held(page)).toEqual(after);
    await page.evaluate(() => window.quota.store.close());
    await page.close();
  });
});
