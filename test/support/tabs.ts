// The several-tabs drill, shared by test/e2e/tabs.node.test.ts and reliability/tab-failover.reliability.ts: N tabs of
// one origin open the same store with `whenLocked: 'wait'`; the owner writes batches until its tab is closed, the
// next owner takes over, re-sends what its predecessor sent without an answer, and writes on. At the end every
// acknowledged batch must be stored exactly once.
import type { BrowserContext, Page } from 'playwright';
import type { FeatureGroup, FeatureStore } from '../../src/index.ts';
import { waitReady } from './harness.ts';

/** What a tab tells the test, through a function exposed to the page. */
type TabEvent =
  | { type: 'waiting' }
  | { type: 'owner'; at: number }
  | { type: 'sending'; batch: string }
  | { type: 'acked'; batch: string; commitId: number }
  | { type: 'failed'; message: string };

export interface TabDrillOptions {
  tabs: number;
  storeName: string;
  /** Batches the owner must acknowledge before its tab is closed: a random count in [min, max]. */
  acksBeforeClose: [number, number];
  rowsPerBatch: number;
  random: () => number;
  /**
   * How long the queued tabs wait before the owner starts writing (default 3 s): a tab that has waited a moment has
   * DuckDB loaded, and its takeover only opens the files.
   */
  settleMs?: number;
  /** How long a takeover may take before it counts as failed. */
  takeoverTimeoutMs?: number;
}

export interface TabDrillResult {
  /** Milliseconds from the owner's tab being closed to the next tab holding the store, per takeover. */
  failoverMs: number[];
  failedTakeovers: number;
  acknowledged: number;
  /** Batches sent by a closed tab without an answer, re-sent by the next owner. */
  resent: number;
  /** Acknowledged batches missing at the end. */
  lostWrites: number;
  /** Batch ids stored more than once, or rows stored more than once. */
  duplicatedWrites: number;
  /** Times a tab became owner while another tab still owned the store. */
  concurrentOwners: number;
  /** Errors reported by tabs that were not closed (a closed tab's writer fails with its tab, as expected). */
  errors: string[];
}

const SPEC = {
  name: 'tab_writes',
  version: 1,
  primaryKey: 'id',
  eventTime: 'ts',
  features: { id: 'int64', ts: 'timestamp', batch: 'string' },
} as const;

interface TabWindow {
  larderTabReport(event: TabEvent): Promise<void>;
  tabStore?: FeatureStore;
  tabWriter?: Promise<void>;
  tabStop?: boolean;
}

/** Opens a tab that queues for the store; it reports 'waiting' and, once it holds the store, 'owner'. */
async function openTab(context: BrowserContext, url: string, storeName: string, onEvent: (event: TabEvent) => void): Promise<Page> {
  const page = await context.newPage();
  await page.exposeFunction('larderTabReport', (event: TabEvent) => onEvent(event));
  await page.goto(url);
  await waitReady(page);
  await page.evaluate((name) => {
    const w = window as unknown as TabWindow & Window;
    void (async () => {
      try {
        w.tabStore = await w.larder.openFeatureStore({ name, whenLocked: 'wait', onWaiting: () => void w.larderTabReport({ type: 'waiting' }) });
        await w.larderTabReport({ type: 'owner', at: Date.now() });
      } catch (error) {
        await w.larderTabReport({ type: 'failed', message: String(error) });
      }
    })();
  }, storeName);
  return page;
}

/** Starts the owner's writing loop: first the batches its predecessor left unanswered, then new ones, until closed. */
async function startWriting(page: Page, tab: number, resend: string[], rowsPerBatch: number): Promise<void> {
  await page.evaluate(
    ({ spec, tab, resend, rowsPerBatch }) => {
      const w = window as unknown as TabWindow & Window;
      const rowsOf = (batch: string) => {
        // Ids are derived from the batch id, so a batch stored twice would show as duplicate ids.
        const [t, k] = batch.slice(1).split('-').map(Number) as [number, number];
        const base = (t * 100_000 + k) * rowsPerBatch;
        return Array.from({ length: rowsPerBatch }, (_, i) => ({ id: base + i, ts: base + i, batch }));
      };
      const send = async (fg: FeatureGroup, batch: string) => {
        await w.larderTabReport({ type: 'sending', batch });
        const result = await fg.insert(rowsOf(batch), { batchId: batch });
        await w.larderTabReport({ type: 'acked', batch, commitId: result.commitId });
      };
      w.tabWriter = (async () => {
        try {
          const fg = await w.tabStore!.createFeatureGroup(spec);
          for (const batch of resend) await send(fg, batch);
          for (let k = 0; w.tabStop !== true; k++) await send(fg, `t${tab}-${k}`);
        } catch (error) {
          await w.larderTabReport({ type: 'failed', message: String(error) });
        }
      })();
    },
    { spec: SPEC, tab, resend, rowsPerBatch },
  );
}

function waitFor<T>(check: () => T | undefined, timeoutMs: number, what: string, failure?: () => string | undefined): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const poll = () => {
      const value = check();
      const failed = failure?.();
      if (value !== undefined) resolve(value);
      else if (failed !== undefined) reject(new Error(`${what}: ${failed}`));
      else if (Date.now() > deadline) reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      else setTimeout(poll, 10);
    };
    poll();
  });
}

/** Runs one round of the drill in `context` (a browser profile on disk) and returns what it measured. */
export async function runTabDrill(context: BrowserContext, url: string, options: TabDrillOptions): Promise<TabDrillResult> {
  const takeoverTimeoutMs = options.takeoverTimeoutMs ?? 20_000;
  const events: { tab: number; event: TabEvent }[] = [];
  const pages: Page[] = [];
  // Tabs open one after another, so the first one owns the store and the others queue behind it.
  for (let tab = 0; tab < options.tabs; tab++) {
    pages.push(await openTab(context, url, options.storeName, (event) => events.push({ tab, event })));
    if (tab === 0) await waitFor(() => events.find((e) => e.event.type === 'owner' || e.event.type === 'failed'), 60_000, 'the first owner');
  }
  await waitFor(() => (events.filter((e) => e.event.type === 'waiting').length === options.tabs - 1 ? true : undefined), 60_000, 'the other tabs to queue');
  await new Promise((resolve) => setTimeout(resolve, options.settleMs ?? 3000));

  const result: TabDrillResult = {
    failoverMs: [], failedTakeovers: 0, acknowledged: 0, resent: 0, lostWrites: 0, duplicatedWrites: 0, concurrentOwners: 0, errors: [],
  };
  const closed = new Set<number>();
  /** A tab that is still open and reported a failure stops the drill at once. */
  const failure = () => {
    const failed = events.find((e) => e.event.type === 'failed' && !closed.has(e.tab));
    return failed === undefined ? undefined : `tab ${failed.tab} failed: ${(failed.event as { message: string }).message}`;
  };
  let owner = events.find((e) => e.event.type === 'owner')?.tab;
  if (owner === undefined) throw new Error(`the first tab did not open the store: ${JSON.stringify(events)}`);
  let resend: string[] = [];
  for (;;) {
    const current = owner;
    const ownerEvents = () => events.filter((e) => e.tab === current);
    await startWriting(pages[current]!, current, resend, options.rowsPerBatch);
    if (closed.size === options.tabs - 1) {
      // The last tab: let it acknowledge its share, then check the store from it.
      await waitFor(() => (ownerEvents().filter((e) => e.event.type === 'acked').length >= options.acksBeforeClose[0] ? true : undefined), 60_000, 'the last owner to write', failure);
      break;
    }
    const [min, max] = options.acksBeforeClose;
    const acks = min + Math.floor(options.random() * (max - min + 1));
    await waitFor(() => (ownerEvents().filter((e) => e.event.type === 'acked').length >= acks ? true : undefined), 60_000, `${acks} acknowledged batches`, failure);
    // Close in the middle of a write as often as not: a random pause inside the next insert.
    await new Promise((resolve) => setTimeout(resolve, options.random() * 40));
    const ownersBefore = events.filter((e) => e.event.type === 'owner').length;
    const closedAt = Date.now();
    closed.add(current);
    await pages[current]!.close({ runBeforeUnload: false });
    const sent = ownerEvents().filter((e) => e.event.type === 'sending').map((e) => (e.event as { batch: string }).batch);
    const acked = new Set(ownerEvents().filter((e) => e.event.type === 'acked').map((e) => (e.event as { batch: string }).batch));
    resend = sent.filter((b) => !acked.has(b));
    result.resent += resend.length;
    const next = await waitFor(() => ownersSince(events, ownersBefore)[0], takeoverTimeoutMs, 'the next owner').catch(() => undefined);
    if (next === undefined) {
      result.failedTakeovers++;
      break;
    }
    result.failoverMs.push((next.event as { at: number }).at - closedAt);
    owner = next.tab;
    // Exactly one tab may take over: any other tab reporting 'owner' in the meantime is a second owner.
    await new Promise((resolve) => setTimeout(resolve, 200));
    result.concurrentOwners += ownersSince(events, ownersBefore).length - 1;
  }

  result.errors = events.filter((e) => e.event.type === 'failed' && !closed.has(e.tab)).map((e) => `tab ${e.tab}: ${(e.event as { message: string }).message}`);
  const acknowledged = new Set(events.filter((e) => e.event.type === 'acked').map((e) => (e.event as { batch: string }).batch));
  result.acknowledged = acknowledged.size;

  // Check the store from the last owner, after stopping its writer by closing the store under it.
  const last = pages[owner]!;
  const stored = await last.evaluate(async ({ name }) => {
    const w = window as unknown as TabWindow & Window;
    w.tabStop = true;
    await w.tabWriter;
    const store = w.tabStore!;
    const fg = await store.getFeatureGroup(name, 1);
    const commits = (await fg.commits()).map((c) => c.batchId ?? '');
    const table = await fg.read();
    const ids = Array.from(table.getChild('id')!.toArray() as BigInt64Array, Number);
    await store.close();
    return { commits, rows: ids.length, distinctIds: new Set(ids).size };
  }, { name: SPEC.name });
  const storedBatches = new Set(stored.commits);
  result.lostWrites = [...acknowledged].filter((b) => !storedBatches.has(b)).length;
  result.duplicatedWrites = stored.commits.length - storedBatches.size + (stored.rows - stored.distinctIds);
  // The rows must be exactly the committed batches' rows.
  if (stored.rows !== storedBatches.size * options.rowsPerBatch) result.duplicatedWrites += 1;
  for (const page of pages) if (!page.isClosed()) await page.close();
  return result;
}

/** The 'owner' events reported after the first `count` of them. */
function ownersSince(events: { tab: number; event: TabEvent }[], count: number): { tab: number; event: TabEvent }[] {
  return events.filter((e) => e.event.type === 'owner').slice(count);
}
