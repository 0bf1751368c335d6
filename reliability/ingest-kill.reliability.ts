// Kill drill: the store worker is terminated, the tab closed or the renderer crashed at a random moment while a large
// CSV batch is being ingested; the store is opened again and checked. Every batch must be all or nothing, no commit
// acknowledged (or seen in the ledger) may go missing, and the store must always open.
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright';
import type * as Larder from '../src/index.ts';
import { useHarness } from '../test/support/harness.ts';
import { KillDrill, killFigures, killLoop } from './kill-drill.ts';
import { SEED, knob, log, seededRandom, sleep } from './support.ts';

const ITERATIONS = knob('RELIABILITY_ITERATIONS', 50, 5);
const ROWS = knob('RELIABILITY_INGEST_ROWS', 1_000_000, 200_000);
const STORE = 'drill_ingest';

const harness = useHarness();

interface DrillWindow {
  drillStore?: Larder.FeatureStore;
  drillBytes?: Uint8Array;
  drillAck?: (batchId: string, commitId: number, rowCount: number, reused: boolean) => void;
  drillFailed?: (batchId: string, message: string) => void;
}

/** Rows of batch `b`: ids b·ROWS … (b+1)·ROWS − 1, so any row tells which batch wrote it. */
async function makeBatch(page: Page, batch: number, rows: number): Promise<void> {
  await page.evaluate(
    ({ batch, rows }) => {
      const lines = ['id,ts,value,label'];
      const base = Date.UTC(2024, 0, 1);
      for (let i = 0; i < rows; i++) {
        const id = batch * rows + i;
        lines.push(`${id},${new Date(base + id * 1000).toISOString()},${id / 8},r${id}`);
      }
      (window as DrillWindow).drillBytes = new TextEncoder().encode(`${lines.join('\n')}\n`);
    },
    { batch, rows },
  );
}

/** Starts inserting the prepared batch without waiting; the acknowledgement reaches Node through a binding. */
async function startInsert(page: Page, batchId: string): Promise<void> {
  await page.evaluate(async (batchId) => {
    const w = window as DrillWindow;
    const group = await w.drillStore!.getFeatureGroup('events', 1);
    const bytes = w.drillBytes!;
    delete w.drillBytes;
    group.insert(bytes, { batchId, format: 'csv', transfer: true }).then(
      (r) => w.drillAck!(batchId, r.commitId, r.rowCount, r.reused),
      (e: unknown) => w.drillFailed!(batchId, String((e as Error).message ?? e)),
    );
  }, batchId);
}

/** What the reopened store holds: its ledger and the rows written after commit `after`, checked against batch `batch`. */
async function inspect(page: Page, after: number, batch: number, rows: number) {
  return page.evaluate(
    async ({ after, batch, rows }) => {
      const group = await (window as DrillWindow).drillStore!.getFeatureGroup('events', 1);
      const ledger = (await group.commits()).map((c) => ({ commitId: c.commitId, rowCount: c.rowCount, batchId: c.batchId }));
      const ids = (await group.read({ afterCommit: after, columns: ['id'] })).getChild('id')!.toArray() as BigInt64Array;
      // Exactly the batch's ids, each once?
      const seen = new Uint8Array(rows);
      let foreign = 0;
      let repeated = 0;
      for (const raw of ids) {
        const offset = Number(raw) - batch * rows;
        if (offset < 0 || offset >= rows) foreign++;
        else if (seen[offset] === 1) repeated++;
        else seen[offset] = 1;
      }
      return { ledger, newRows: ids.length, foreign, repeated };
    },
    { after, batch, rows },
  );
}

/** The rows of each commit, counted one commit at a time (the final sweep over everything the drill wrote). */
async function countPerCommit(page: Page, commitIds: number[]): Promise<{ perCommit: Record<number, number>; beyond: number }> {
  return page.evaluate(async (commitIds) => {
    const group = await (window as DrillWindow).drillStore!.getFeatureGroup('events', 1);
    const perCommit: Record<number, number> = {};
    for (const c of commitIds) perCommit[c] = (await group.read({ asOfCommit: c, afterCommit: c - 1, columns: ['id'] })).numRows;
    const last = Math.max(0, ...commitIds);
    const beyond = (await group.read({ afterCommit: last, columns: ['id'] })).numRows;
    return { perCommit, beyond };
  }, commitIds);
}

describe('kill while ingesting', () => {
  it(`keeps every batch all-or-nothing over ${ITERATIONS} kills (${ROWS} rows a batch)`, async () => {
    const random = seededRandom(SEED);
    const drill = await KillDrill.start(harness, 'ingest-kill', STORE, {
      mustBeZero: { tornBatches: 0, lostCommits: 0, failedOpens: 0, duplicateBatches: 0, resendNotReused: 0 },
      figures: { rowsPerBatch: ROWS },
    });
    const { result, finding } = drill;
    /** Commits the drill knows of (acknowledged, or seen in a ledger): batch id → commit id and rows. */
    const known = new Map<string, { commitId: number; rowCount: number }>();
    const acks = new Map<string, { commitId: number; rowCount: number }>();
    const failures = new Map<string, string>();
    let killedAfterAck = 0;
    let present = 0;
    let absent = 0;
    let retriedOpens = 0;
    let pendingAfterWorkerKill = 0;

    const context = harness.browser.context!;
    await context.exposeFunction('drillAck', (batchId: string, commitId: number, rowCount: number, reused: boolean) => {
      acks.set(batchId, { commitId, rowCount });
      if (reused) finding(`batch ${batchId} was acknowledged as reused on its first sending`);
    });
    await context.exposeFunction('drillFailed', (batchId: string, message: string) => failures.set(batchId, message));

    await drill.open(async (page) => {
      await page.evaluate(async (store) => {
        const s = await window.larder.openFeatureStore({ name: store });
        await s.createFeatureGroup({
          name: 'events', version: 1, primaryKey: 'id', eventTime: 'ts',
          features: { id: 'int64', ts: 'timestamp', value: 'float64', label: 'string' },
        });
        await s.close();
      }, STORE);
    });

    // A first batch, not interrupted, times an insert: kills then fall anywhere in 0 … 1.25 × that time.
    await makeBatch(drill.page, 0, ROWS);
    const t0 = Date.now();
    await startInsert(drill.page, 'batch-0');
    while (!acks.has('batch-0') && !failures.has('batch-0')) await sleep(20);
    const insertMs = Date.now() - t0;
    expect(failures.get('batch-0')).toBeUndefined();
    known.set('batch-0', acks.get('batch-0')!);
    result.figures['insertMs'] = insertMs;
    log(`one uninterrupted insert of ${ROWS} rows: ${insertMs} ms`);
    let lastCommit = acks.get('batch-0')!.commitId;

    await killLoop(drill, ITERATIONS, async (i, mode) => {
      // The modes take turns (killLoop's default); the moment of the kill is random.
      const delay = Math.round(random() * 1.25 * insertMs);
      const batchId = `batch-${i}`;
      const repeat = `RELIABILITY_SEED=${SEED} iteration ${i} (${mode} kill after ${delay} ms)`;
      await makeBatch(drill.page, i, ROWS);
      await startInsert(drill.page, batchId);
      await sleep(delay);
      const ackedBeforeKill = acks.has(batchId);
      if (ackedBeforeKill) killedAfterAck++;
      await drill.kill(mode);
      const open = await drill.reopen(repeat);
      if (open.attempts > 1) retriedOpens++;
      if (!open.opened) return null;
      const seen = await inspect(drill.page, lastCommit, i, ROWS);
      const mine = seen.ledger.filter((c) => c.batchId === batchId);
      const others = seen.ledger.filter((c) => c.commitId > lastCommit && c.batchId !== batchId);
      if (mine.length > 1) {
        result.mustBeZero['duplicateBatches']!++;
        finding(`batch ${batchId} is in the ledger ${mine.length} times after ${repeat}`);
      }
      if (others.length > 0) {
        result.mustBeZero['tornBatches']!++;
        finding(`ledger entries nobody wrote after ${repeat}: ${JSON.stringify(others)}`);
      }
      if (mine.length === 0) {
        absent++;
        if (seen.newRows !== 0) {
          result.mustBeZero['tornBatches']!++;
          finding(`batch ${batchId} is not in the ledger but ${seen.newRows} of its rows are stored, after ${repeat}`);
        }
      } else {
        present++;
        const entry = mine[0]!;
        if (entry.rowCount !== ROWS || seen.newRows !== ROWS || seen.foreign !== 0 || seen.repeated !== 0) {
          result.mustBeZero['tornBatches']!++;
          finding(
            `batch ${batchId} is committed with rowCount ${entry.rowCount} but ${seen.newRows} rows are stored ` +
              `(${seen.foreign} foreign, ${seen.repeated} repeated; ${ROWS} sent), after ${repeat}`,
          );
        }
        known.set(batchId, { commitId: entry.commitId, rowCount: entry.rowCount });
        // The application's recovery: send the batch again. It must come back as the same commit, writing nothing.
        const resent = await drill.page.evaluate(async (batchId) => {
          const group = await (window as DrillWindow).drillStore!.getFeatureGroup('events', 1);
          const r = await group.insert([], { batchId });
          return { reused: r.reused, commitId: r.commitId };
        }, batchId);
        if (!resent.reused || resent.commitId !== entry.commitId) {
          result.mustBeZero['resendNotReused']!++;
          finding(`re-sending ${batchId} gave ${JSON.stringify(resent)} instead of commit ${entry.commitId}, after ${repeat}`);
        }
      }
      const ack = acks.get(batchId);
      if (ack !== undefined) known.set(batchId, ack);
      // After its worker is terminated, does the page's insert() ever settle? (A figure, not yet a must-be-zero one.)
      if (mode === 'worker' && ack === undefined && !failures.has(batchId)) pendingAfterWorkerKill++;
      for (const [id, commit] of known) {
        const now = seen.ledger.find((c) => c.batchId === id);
        if (now === undefined || now.commitId !== commit.commitId || now.rowCount !== commit.rowCount) {
          result.mustBeZero['lostCommits']!++;
          finding(`commit ${commit.commitId} (${id}, ${commit.rowCount} rows) ${now === undefined ? 'is gone' : `became ${JSON.stringify(now)}`} after ${repeat}`);
          known.delete(id);
        }
      }
      lastCommit = Math.max(lastCommit, ...seen.ledger.map((c) => c.commitId));
      return (
        `${mode} kill at ${delay} ms: ${mine.length > 0 ? 'committed' : 'absent'}` +
        `${ack !== undefined ? ' (acknowledged)' : ''}, reopened in ${open.ms} ms (${open.attempts} attempts)`
      );
    });

    // The sweep: every commit the ledger lists holds exactly its rows, and nothing lies beyond the last commit.
    const sweepStarted = Date.now();
    const ledger = (await inspect(drill.page, lastCommit, 0, 1)).ledger;
    const { perCommit, beyond } = await countPerCommit(drill.page, ledger.map((c) => c.commitId));
    for (const c of ledger) {
      if (perCommit[c.commitId] !== c.rowCount) {
        result.mustBeZero['tornBatches']!++;
        finding(`final sweep: commit ${c.commitId} (${c.batchId}) lists ${c.rowCount} rows but holds ${perCommit[c.commitId]}`);
      }
    }
    if (beyond !== 0) {
      result.mustBeZero['tornBatches']!++;
      finding(`final sweep: ${beyond} rows after the last commit of the ledger`);
    }
    await drill.close();
    await drill.finish({
      ...killFigures(drill.kills),
      killedAfterAck,
      batchesCommitted: present,
      batchesAbsent: absent,
      retriedOpens,
      pendingAfterWorkerKill,
      slowestOpenMs: drill.slowestOpenMs,
      sweepMs: Date.now() - sweepStarted,
      rowsStored: ledger.reduce((sum, c) => sum + c.rowCount, 0),
    });
  });
});
