// Right-to-erasure drill: one subject in the offline store, the online store, training datasets, a pushed snapshot in
// a real S3-compatible server and a second browser profile. After `fg.erase`, push, purge (README: what carries an
// erasure to the bucket) and a pull on the second profile, the drill counts every place the subject's canary string
// is still found: query results on both profiles, the raw bytes of both profiles' OPFS files (WAL files included)
// once their stores are closed (checkpointed), their IndexedDB databases, and every file of the bucket on disk. The
// models trained on data holding the subject must be the ones lineage lists. The canary is the subject's notes, each
// a random token DuckDB cannot compress; another subject's tokens are the control every raw scan must still find.
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright';
import { useHarness } from '../test/support/harness.ts';
import { useSyncDevices } from '../test/support/sync-devices.ts';
import type { TargetSettings } from './pages/push.page.ts';
import { callPage, closeStore, log, newDrillResult, reopen, writeResult } from './support.ts';

const STORE_A = 'drill_erasure_a';
const STORE_B = 'drill_erasure_b';
const PAGE = '/reliability/pages/erasure.page.ts';

const harness = useHarness();
const devices = useSyncDevices();

/** Every file under the s3rver directory (objects and their metadata sidecars) that holds `needle` as bytes. */
async function bucketHits(needles: readonly string[]): Promise<{ hits: string[]; files: number }> {
  const hits: string[] = [];
  let files = 0;
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else {
        files++;
        const bytes = await readFile(path);
        if (needles.some((n) => bytes.includes(n) || bytes.includes(Buffer.from(n, 'utf16le')))) hits.push(path.slice(devices.stack.s3.directory.length + 1));
      }
    }
  };
  await walk(devices.stack.s3.directory);
  return { hits, files };
}

type RawHits = { opfs: string[]; indexedDb: string[]; files: string[]; busy: string[] };

describe('right to erasure', () => {
  it('leaves no trace of the subject on either profile or in the bucket, and names the models to retrain', async () => {
    const started = Date.now();
    const result = newDrillResult('erasure', {
      mustBeZero: { residualHits: 0, lineageErrors: 0, blindScans: 0 },
      figures: {},
    });
    await writeResult(result);
    const finding = (text: string) => {
      result.findings.push(text);
      log(`FINDING ${text}`);
    };
    const settings: TargetSettings = { endpoint: devices.stack.gateway.endpoint, bucket: devices.stack.s3.bucket, accessKeyId: devices.stack.s3.accessKeyId, secretAccessKey: devices.stack.s3.secretAccessKey, prefix: 'erasure' };

    const a: Page = await harness.browser.open(harness.url);
    const b: Page = await devices.second.open(harness.url);
    expect((await reopen(a, STORE_A)).opened).toBe(true);
    expect((await reopen(b, STORE_B)).opened).toBe(true);
    const { canary, control, ...models } = await callPage<{ trainedWithSubject: number; trainedWithout: number; canary: string[]; control: string[] }>(a, PAGE, 'populate', { settings });
    await callPage(b, PAGE, 'pull', { settings });

    // The subject is everywhere to begin with; otherwise the scans below prove nothing.
    const beforeA = await callPage<string[]>(a, PAGE, 'apiHits', { canary });
    const beforeB = await callPage<string[]>(b, PAGE, 'apiHits', { canary });
    expect(beforeA).toEqual(expect.arrayContaining(['canary in read()', 'online row (present)', 'canary in notes dataset 1', 'Perth in rain dataset 1']));
    expect(beforeB).toEqual(expect.arrayContaining(['canary in read()', 'online row (present)', 'canary in notes dataset 1']));
    expect((await bucketHits(canary)).hits.length).toBeGreaterThan(0);
    log(`before erasure: ${beforeA.length} API hits on the first profile, ${beforeB.length} on the second`);

    const erasure = await callPage<{ erasedRows: number; datasets: unknown[]; models: { name: string; version: number }[] }>(a, PAGE, 'eraseAndPush', { settings });
    await callPage(b, PAGE, 'pull', { settings });
    const lineage = erasure.models.map((m) => `${m.name} v${m.version}`);
    if (lineage.join() !== `rain v${models.trainedWithSubject}`) {
      result.mustBeZero['lineageErrors']!++;
      finding(`erase listed ${JSON.stringify(lineage)} for retraining; trained on the subject: rain v${models.trainedWithSubject}, not: rain v${models.trainedWithout}`);
    }

    const residual: Record<string, string[]> = {};
    residual['api (first profile)'] = await callPage<string[]>(a, PAGE, 'apiHits', { canary });
    residual['api (second profile)'] = await callPage<string[]>(b, PAGE, 'apiHits', { canary });
    // At rest: the stores closed, so their files are checkpointed and released, then every byte of both origins.
    await closeStore(a);
    await closeStore(b);
    const rawA = await callPage<RawHits>(a, PAGE, 'rawHits', { needle: canary });
    const rawB = await callPage<RawHits>(b, PAGE, 'rawHits', { needle: canary });
    residual['OPFS (first profile)'] = rawA.opfs;
    residual['OPFS (second profile)'] = rawB.opfs;
    residual['IndexedDB (first profile)'] = rawA.indexedDb;
    residual['IndexedDB (second profile)'] = rawB.indexedDb;
    const bucket = await bucketHits(canary);
    residual['bucket'] = bucket.hits;
    for (const [where, hits] of Object.entries(residual)) {
      if (hits.length === 0) continue;
      result.mustBeZero['residualHits']! += hits.length;
      finding(`the subject's canary is still in ${where}: ${hits.join(', ')}`);
    }
    const walHits = [...rawA.opfs, ...rawB.opfs].filter((f) => f.endsWith('.wal')).length;

    // The controls: the same scans still find another subject's notes, so they can see what they look for.
    const controlA = await callPage<RawHits>(a, PAGE, 'rawHits', { needle: control });
    const controlB = await callPage<RawHits>(b, PAGE, 'rawHits', { needle: control });
    const controlBucket = await bucketHits(control);
    for (const [where, hits] of [['OPFS (first profile)', controlA.opfs], ['OPFS (second profile)', controlB.opfs], ['bucket', controlBucket.hits]] as const) {
      if (hits.length > 0) continue;
      result.mustBeZero['blindScans']!++;
      finding(`the scan of ${where} does not find the control either: its zero residual hits prove nothing`);
    }
    await a.close();
    await b.close();

    Object.assign(result.figures, {
      erasedRows: erasure.erasedRows,
      datasetsRewritten: erasure.datasets.length,
      modelsToRetrain: lineage.join(' ') || 'none',
      walHits,
      opfsFilesScanned: rawA.files.length + rawB.files.length,
      opfsFilesBusy: rawA.busy.length + rawB.busy.length,
      bucketFilesScanned: bucket.files,
      apiHitsBefore: beforeA.length + beforeB.length,
    });
    log(`OPFS files of the first profile: ${rawA.files.join(', ')}`);
    result.iterations = 1;
    result.complete = true;
    result.durationMs = Date.now() - started;
    await writeResult(result);
    expect(result.findings).toEqual([]);
  });
});
