// Kill drill: the store is killed (worker terminated, tab closed, renderer crashed) while `store.sync.push` uploads a
// snapshot to a real S3-compatible server (s3rver, which checks SigV4 signatures, behind the test gateway that adds
// conditional writes). After each kill the store must open; HEAD must always name a complete manifest whose objects
// all exist with the right size and SHA-256 (checked from Node, straight from the server); pushing again must
// succeed; and a pull into a fresh browser profile must give back exactly what the source store holds.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { PersistentBrowser, useHarness } from '../test/support/harness.ts';
import { startS3Stack, type S3Stack } from '../test/support/s3-servers.ts';
import { KillDrill, killFigures, killLoop } from './kill-drill.ts';
import type { StoreSummary, TargetSettings } from './pages/push.page.ts';
import { SEED, callPage, closeStore, knob, log, reopen, seededRandom, sleep, startInPage } from './support.ts';

const ITERATIONS = knob('RELIABILITY_ITERATIONS', 50, 6);
const ROWS = knob('RELIABILITY_PUSH_ROWS', 20_000, 10_000);
/** Pull into a fresh profile every this many iterations (and after the last). */
const PULL_EVERY = 10;
const STORE = 'drill_push';
const PAGE = '/reliability/pages/push.page.ts';

const harness = useHarness();
let stack: S3Stack;
beforeAll(async () => {
  stack = await startS3Stack();
});
afterAll(async () => {
  await stack?.close();
});

interface BucketCheck {
  head: string | null;
  problems: string[];
  objects: number;
  commitHigh: number | null;
}

/** Reads HEAD, its manifest and every object the manifest names straight from s3rver, and checks each. */
async function checkBucket(prefix: string): Promise<BucketCheck> {
  const base = `${stack.s3.endpoint}/${stack.s3.bucket}/${prefix}/`;
  const get = async (key: string): Promise<Buffer | null> => {
    const answer = await fetch(base + key);
    if (answer.status === 404) return null;
    if (!answer.ok) throw new Error(`GET ${key}: HTTP ${answer.status}`);
    return Buffer.from(await answer.arrayBuffer());
  };
  const headBytes = await get('HEAD');
  if (headBytes === null) return { head: null, problems: [], objects: 0, commitHigh: null };
  const problems: string[] = [];
  const head = JSON.parse(headBytes.toString('utf8')) as { manifest: string };
  const manifestBytes = await get(head.manifest);
  if (manifestBytes === null) return { head: head.manifest, problems: [`HEAD names ${head.manifest}, which is missing`], objects: 0, commitHigh: null };
  const manifestSha = createHash('sha256').update(manifestBytes).digest('hex');
  if (head.manifest !== `manifests/${manifestSha}.json`) problems.push(`manifest ${head.manifest} hashes to ${manifestSha}`);
  const manifest = JSON.parse(manifestBytes.toString('utf8')) as {
    commitHigh: number;
    metadata: { key: string; sha256: string; size: number };
    groups: { parts: { key: string; sha256: string; size: number }[] }[];
    datasets: { key: string; sha256: string; size: number }[];
    models: { key: string; sha256: string; size: number }[];
  };
  const objects = [manifest.metadata, ...manifest.groups.flatMap((g) => g.parts), ...manifest.datasets, ...manifest.models];
  for (const o of objects) {
    const bytes = await get(o.key);
    if (bytes === null) problems.push(`${o.key} is missing`);
    else if (bytes.length !== o.size || createHash('sha256').update(bytes).digest('hex') !== o.sha256) problems.push(`${o.key} is ${bytes.length} bytes, hashing differently from the manifest`);
  }
  return { head: head.manifest, problems, objects: objects.length, commitHigh: manifest.commitHigh };
}

describe('kill while pushing a snapshot', () => {
  it(`keeps HEAD on a complete snapshot over ${ITERATIONS} kills`, async () => {
    const random = seededRandom(SEED + 3);
    const drill = await KillDrill.start(harness, 'push-kill', STORE, {
      mustBeZero: { tornBatches: 0, lostCommits: 0, failedOpens: 0, brokenHeads: 0, failedRepushes: 0, pullMismatches: 0 },
      figures: { rowsPerBatch: ROWS },
    });
    const { result, finding } = drill;
    const settings: TargetSettings = { endpoint: stack.gateway.endpoint, bucket: stack.s3.bucket, accessKeyId: stack.s3.accessKeyId, secretAccessKey: stack.s3.secretAccessKey, prefix: 'drill' };
    let headMovedByKilledPush = 0;
    let pulls = 0;
    let reusedOnRepush = 0;

    await drill.open();
    await callPage(drill.page, PAGE, 'setup');

    /** A fresh profile pulls HEAD; what it then holds must equal what the source holds. */
    const pullAndCompare = async (repeat: string) => {
      const source = await callPage<StoreSummary>(drill.page, PAGE, 'summary');
      const fresh = await PersistentBrowser.create();
      try {
        await fresh.launch();
        const other = await fresh.open(harness.url);
        const open = await reopen(other, STORE);
        if (!open.opened) throw new Error(`the fresh profile's store did not open: ${open.errors.join(' | ')}`);
        await callPage(other, PAGE, 'pull', { settings });
        const pulled = await callPage<StoreSummary>(other, PAGE, 'summary');
        await closeStore(other);
        pulls++;
        if (JSON.stringify(pulled) !== JSON.stringify(source)) {
          result.mustBeZero['pullMismatches']!++;
          finding(`a pull into a fresh profile differs from the source after ${repeat}: ${JSON.stringify({ source, pulled }).slice(0, 600)}`);
        }
      } finally {
        await fresh.dispose();
      }
    };

    // Batch 0 and its push, uninterrupted, time a push: the kills fall anywhere in 0 … 1.25 × that time.
    await callPage(drill.page, PAGE, 'insertBatch', { batch: 0, rows: ROWS });
    let t = Date.now();
    await callPage(drill.page, PAGE, 'push', { settings });
    const firstPushMs = Date.now() - t;
    await callPage(drill.page, PAGE, 'insertBatch', { batch: 1, rows: ROWS });
    t = Date.now();
    await callPage(drill.page, PAGE, 'push', { settings });
    const pushMs = Date.now() - t;
    Object.assign(result.figures, { firstPushMs, pushMs });
    log(`first push: ${firstPushMs} ms; an incremental push of ${ROWS} rows: ${pushMs} ms`);
    let acknowledgedHead = (await checkBucket('drill')).head;

    await killLoop(drill, ITERATIONS, async (i, mode) => {
      await callPage(drill.page, PAGE, 'insertBatch', { batch: i + 1, rows: ROWS });
      const delay = Math.round(random() * 1.25 * pushMs);
      const repeat = `RELIABILITY_SEED=${SEED} iteration ${i} (${mode} kill ${delay} ms into a push)`;
      await startInPage(drill.page, PAGE, 'push', { settings });
      await sleep(delay);
      await drill.kill(mode);
      // The bucket right after the kill: HEAD is the previous snapshot or the new one, complete either way.
      const afterKill = await checkBucket('drill');
      if (afterKill.head === null || afterKill.problems.length > 0) {
        result.mustBeZero['brokenHeads']!++;
        finding(`after ${repeat} HEAD is ${afterKill.head}: ${afterKill.problems.slice(0, 5).join('; ')}`);
      }
      const moved = afterKill.head !== acknowledgedHead;
      if (moved) headMovedByKilledPush++;
      const open = await drill.reopen(repeat);
      if (!open.opened) return null;
      const ledger = (await callPage<StoreSummary>(drill.page, PAGE, 'summary')).commits;
      if (!ledger.some((c) => c[3] === `batch-${i + 1}`)) {
        result.mustBeZero['lostCommits']!++;
        finding(`batch ${i + 1}, committed before the push, is gone after ${repeat}`);
      }
      try {
        const again = await callPage<{ pushed: boolean; manifest: string; reused: number }>(drill.page, PAGE, 'push', { settings });
        reusedOnRepush += again.reused;
        const after = await checkBucket('drill');
        if (after.head !== again.manifest || after.problems.length > 0 || after.commitHigh !== Math.max(...ledger.map((c) => c[0]))) {
          result.mustBeZero['brokenHeads']!++;
          finding(`after pushing again (${repeat}) HEAD is ${after.head} (push said ${again.manifest}, commitHigh ${after.commitHigh}): ${after.problems.slice(0, 5).join('; ')}`);
        }
        acknowledgedHead = after.head;
      } catch (error) {
        result.mustBeZero['failedRepushes']!++;
        const e = error as { code?: string; message?: string };
        finding(`pushing again failed after ${repeat}: ${e.code ?? ''} ${String(e.message ?? error).slice(0, 300)}`);
      }
      if (i % PULL_EVERY === 0 || i === ITERATIONS) await pullAndCompare(repeat);
      return `${mode} kill at ${delay} ms: HEAD ${moved ? 'moved by the killed push' : 'kept'} (${afterKill.objects} objects checked), reopened in ${open.ms} ms`;
    });
    await drill.close();
    await drill.finish({ ...killFigures(drill.kills), headMovedByKilledPush, reusedOnRepush, pulls, slowestOpenMs: drill.slowestOpenMs });
  });
});
