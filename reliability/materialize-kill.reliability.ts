// Kill drill: the store is killed (worker terminated, tab closed, renderer crashed) while it materializes to the online
// store — during an insert's write-through (offline commit, then the online write) and during a full rebuild
// (`materialize()`) of an emptied online store. After each kill the store must open, every key's online row must be
// either its old row or its new one (never a mix, never a batch that did not commit), materializing again must
// succeed, and then the online rows must equal the offline latest rows, which the drill knows independently.
import { describe, it } from 'vitest';
import { useHarness } from '../test/support/harness.ts';
import { KillDrill, killLoop } from './kill-drill.ts';
import type { OnlineCensus } from './pages/materialize.page.ts';
import { KILL_MODES, SEED, callPage, knob, log, seededRandom, settledInPage, sleep, startInPage, type KillMode } from './support.ts';

const ITERATIONS = knob('RELIABILITY_ITERATIONS', 50, 6);
const KEYS = knob('RELIABILITY_ONLINE_KEYS', 20_000, 5_000);
const STORE = 'drill_materialize';
const PAGE = '/reliability/pages/materialize.page.ts';

const harness = useHarness();

type OfflineCensus = { ledger: { commitId: number; batchId: string | null; rowCount: number; kind: string }[]; latestRows: number; wrong: number; missing: number };

describe('kill while materializing', () => {
  it(`keeps every online row old-or-new over ${ITERATIONS} kills (${KEYS} keys)`, async () => {
    const random = seededRandom(SEED + 1);
    const drill = await KillDrill.start(harness, 'materialize-kill', STORE, {
      mustBeZero: {
        tornBatches: 0, lostCommits: 0, failedOpens: 0, tornRows: 0, inconsistentKeys: 0, onlineAhead: 0,
        failedRematerializations: 0, onlineMismatches: 0, offlineMismatches: 0,
      },
      figures: { keys: KEYS },
    });
    const { result, finding } = drill;
    const kills: Record<string, number> = {};
    let committedInKilledInserts = 0;
    let partialOnlineAfterKill = 0;

    await drill.open();
    await callPage(drill.page, PAGE, 'setup');

    // Batch 0 uninterrupted: the time of an insert with its write-through, and of a rebuild, place the kills.
    let t = Date.now();
    await callPage(drill.page, PAGE, 'insertBatch', { batch: 0, keys: KEYS });
    const insertMs = Date.now() - t;
    await callPage(drill.page, PAGE, 'emptyOnline', { name: STORE });
    t = Date.now();
    await callPage(drill.page, PAGE, 'rebuild');
    const rebuildMs = Date.now() - t;
    Object.assign(result.figures, { insertMs, rebuildMs });
    log(`insert with write-through of ${KEYS} keys: ${insertMs} ms; rebuild: ${rebuildMs} ms`);
    let latest = 0; // the last committed batch: every key's offline latest row
    let nextBatch = 1;

    /** Checks the online rows against the allowed batches (and `absent` when allowed); counts what is off. */
    const judge = (census: OnlineCensus, allowed: Set<number>, absentAllowed: boolean, repeat: string, uncommitted: number | null) => {
      if (census.torn > 0) {
        result.mustBeZero['tornRows']! += census.torn;
        finding(`${census.torn} online rows mix batches after ${repeat}: ${census.examples.join('; ')}`);
      }
      let off = absentAllowed ? 0 : census.absent;
      for (const [batch, count] of Object.entries(census.byBatch)) {
        if (!allowed.has(Number(batch))) {
          off += count;
          if (uncommitted !== null && Number(batch) === uncommitted) {
            result.mustBeZero['onlineAhead']! += count;
            finding(`${count} online rows of batch ${batch}, which did not commit, after ${repeat}`);
          }
        }
      }
      if (off > 0) {
        result.mustBeZero['inconsistentKeys']! += off;
        finding(`${off} keys online are neither old nor new (allowed ${[...allowed].join(',')}${absentAllowed ? ', absent' : ''}; got ${JSON.stringify(census.byBatch)}, ${census.absent} absent) after ${repeat}`);
      }
    };

    /** Online must now equal the offline latest rows (batch `latest` for every key), and offline must hold exactly them. */
    const checkConverged = async (repeat: string) => {
      const offline = await callPage<OfflineCensus>(drill.page, PAGE, 'offlineCensus', { keys: KEYS, latestBatch: latest });
      if (offline.latestRows !== KEYS || offline.wrong !== 0 || offline.missing !== 0) {
        result.mustBeZero['offlineMismatches']!++;
        finding(`offline latest rows: ${offline.latestRows} rows, ${offline.wrong} wrong, ${offline.missing} missing for batch ${latest}, after ${repeat}`);
      }
      const census = await callPage<OnlineCensus>(drill.page, PAGE, 'onlineCensus', { keys: KEYS });
      const right = census.byBatch[latest] ?? 0;
      if (right !== KEYS) {
        result.mustBeZero['onlineMismatches']! += KEYS - right;
        finding(`after materializing again, ${KEYS - right} online rows differ from the offline latest (batch ${latest}): ${JSON.stringify(census.byBatch)}, ${census.absent} absent, ${census.torn} torn, after ${repeat}`);
      }
      return offline;
    };

    // Each mode kills a write-through (odd iterations), then a rebuild (even ones), before the next mode's turn.
    const modeOf = (i: number): KillMode => KILL_MODES[Math.floor((i - 1) / 2) % KILL_MODES.length]!;
    await killLoop(drill, ITERATIONS, async (i, mode) => {
      const phase = i % 2 === 1 ? 'write-through' : 'rebuild';
      kills[`${phase}-${mode}`] = (kills[`${phase}-${mode}`] ?? 0) + 1;
      const before = latest;
      let batch: number | null = null;
      let delay: number;
      let acked = false;
      if (phase === 'write-through') {
        batch = nextBatch++;
        delay = Math.round(random() * 1.25 * insertMs);
        await startInPage(drill.page, PAGE, 'insertBatch', { batch, keys: KEYS });
        await sleep(delay);
        acked = (await settledInPage(drill.page, 'insertBatch')) === 'resolved';
      } else {
        await callPage(drill.page, PAGE, 'emptyOnline', { name: STORE });
        delay = Math.round(random() * 1.25 * rebuildMs);
        await startInPage(drill.page, PAGE, 'rebuild');
        await sleep(delay);
      }
      const repeat = `RELIABILITY_SEED=${SEED} iteration ${i} (${mode} kill ${delay} ms into a ${phase})`;
      await drill.kill(mode);
      const open = await drill.reopen(repeat);
      if (!open.opened) return null;
      const offline = await callPage<OfflineCensus>(drill.page, PAGE, 'offlineCensus', { keys: KEYS, latestBatch: latest });
      const mine = batch === null ? [] : offline.ledger.filter((c) => c.batchId === `batch-${batch}`);
      const committed = mine.length === 1 && mine[0]!.rowCount === KEYS;
      if (mine.length > 1 || (mine.length === 1 && !committed)) {
        result.mustBeZero['tornBatches']!++;
        finding(`batch ${batch} is in the ledger as ${JSON.stringify(mine)} after ${repeat}`);
      }
      if (acked && !committed) {
        result.mustBeZero['lostCommits']!++;
        finding(`batch ${batch} was acknowledged but is not committed after ${repeat}`);
      }
      if (committed) {
        latest = batch!;
        committedInKilledInserts++;
      }
      const census = await callPage<OnlineCensus>(drill.page, PAGE, 'onlineCensus', { keys: KEYS });
      if (phase === 'write-through') {
        judge(census, new Set(committed ? [before, batch!] : [before]), false, repeat, committed ? null : batch);
        if (committed && (census.byBatch[batch!] ?? 0) < KEYS) partialOnlineAfterKill++;
      } else {
        judge(census, new Set([latest]), true, repeat, null);
        if (census.absent > 0 && census.absent < KEYS) partialOnlineAfterKill++;
      }
      // Materialize again: the incremental catch-up after a write-through, the rebuild after a rebuild.
      try {
        await callPage(drill.page, PAGE, phase === 'write-through' ? 'catchUp' : 'rebuild');
      } catch (error) {
        result.mustBeZero['failedRematerializations']!++;
        finding(`materializing again failed after ${repeat}: ${String((error as Error).message ?? error).slice(0, 300)}`);
      }
      await checkConverged(repeat);
      return `${mode} kill ${delay} ms into a ${phase}: ${batch === null ? '' : committed ? `batch ${batch} committed, ` : `batch ${batch} absent, `}online ${JSON.stringify(census.byBatch)} + ${census.absent} absent; reopened in ${open.ms} ms`;
    }, modeOf);
    // The last word: an insert after everything still writes through.
    const finalBatch = nextBatch++;
    await callPage(drill.page, PAGE, 'insertBatch', { batch: finalBatch, keys: KEYS });
    latest = finalBatch;
    await checkConverged(`RELIABILITY_SEED=${SEED} final insert`);
    await drill.close();
    await drill.finish({ ...Object.fromEntries(Object.entries(kills).map(([k, v]) => [`kills:${k}`, v])), committedInKilledInserts, partialOnlineAfterKill, slowestOpenMs: drill.slowestOpenMs });
  });
});
