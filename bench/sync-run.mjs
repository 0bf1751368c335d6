/* global window -- the page.evaluate callbacks run in the page, where window exists */
// Sync benchmark (issue 8, "Benchmark"): push and pull of a 1M-row feature group plus a 5 MB model through an
// S3-compatible server, in MB/s against raw SigV4-signed PUTs and GETs of the same objects in the same run, and the
// bytes an incremental push uploads after 1 % new rows. See bench/sync.ts.
//
//   node bench/run.mjs sync                                   (or BENCH_SUITE=sync npm run bench)
//   BENCH_SYNC_ROWS=200000 BENCH_SYNC_MODEL_MB=1 BENCH_SYNC_RUNS=1 BENCH_SYNC_DIAGNOSE=0 node bench/run.mjs sync
//
// Run by bench/run.mjs, which passes its Vite, browser and settling helpers. Writes .bench-results/sync.json.
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runnerImport } from 'vite';
import { startRssSampler } from './memory.mjs';
import { openBenchPage } from './page.mjs';
import { intEnv, median, numberEnv } from './env.mjs';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(benchDir, '..');

const MB = 1024 * 1024;
const TARGET_INCREMENTAL_SHARE = 0.05;
/** Larder's default push and pull parallelism, used for the raw requests too. */
const CONCURRENCY = 4;

/**
 * The S3 test stack of the sync tests (s3rver, which checks SigV4, behind the gateway that adds conditional writes):
 * test/support/s3-servers.ts, loaded through Vite's `runnerImport`. That file is TypeScript and Node 20 cannot import
 * it as it is (no type stripping before Node 22, and no tsx here); `runnerImport` transforms it with the Vite already
 * installed, needs no dev server and no config file, and keeps `import.meta.url` a file URL, which the file's
 * `createRequire` relies on to find s3rver. So the bench runs the very servers the tests use.
 */
async function startS3Stack() {
  const { module } = await runnerImport(path.join(repoRoot, 'test/support/s3-servers.ts'), { configFile: false, logLevel: 'error' });
  return module.startS3Stack();
}

const mbps = (bytes, seconds) => bytes / MB / seconds;
const fmtMb = (bytes) => (bytes / MB).toFixed(2);
const phasesText = (phases) => phases.map(([name, s]) => `${name} ${s.toFixed(2)}`).join(' | ');

export async function runSyncBench(helpers) {
  const started = Date.now();
  const rows = intEnv('BENCH_SYNC_ROWS', 1_000_000, 10);
  const modelMb = numberEnv('BENCH_SYNC_MODEL_MB', 5);
  const runs = intEnv('BENCH_SYNC_RUNS', 3, 1);
  const diagnose = process.env['BENCH_SYNC_DIAGNOSE'] !== '0';
  const newRows = Math.max(1, Math.round(rows / 100));
  console.log(`Larder sync benchmark: a feature group of ${rows.toLocaleString('en-US')} rows (${(rows / 10).toLocaleString('en-US')} entities × 10 days; ` +
    `int64 id, timestamp, 6 float64, 1 string) and a ${modelMb} MB model, pushed and pulled through s3rver behind the test gateway; ` +
    `${runs} run(s); then ${newRows.toLocaleString('en-US')} new rows (1 %) pushed and pulled incrementally`);
  const stack = await startS3Stack();
  const s3 = { endpoint: stack.gateway.endpoint, bucket: stack.s3.bucket, accessKeyId: stack.s3.accessKeyId, secretAccessKey: stack.s3.secretAccessKey };
  const { server, url } = await helpers.startVite();
  const browser = await helpers.launchBrowser();
  const sampler = startRssSampler(process.pid);
  const loadBefore = loadavg()[0];
  const out = { rows, modelMb, runs: [], concurrency: CONCURRENCY };
  try {
    const page = await openBenchPage(browser.context, sampler, new URL('sync.html', url).href);
    // Sync answers 412 and 404 by design (the conditional-write probe, HEADs of objects not yet uploaded, a pull's
    // first read of HEAD), and Chromium logs each as "Failed to load resource": keep those off the console.
    page.removeAllListeners('console');
    page.on('console', (message) => {
      if (message.type() !== 'error' && message.type() !== 'warning') return;
      if (/^Failed to load resource: the server responded with a status of (404|412)\b/.test(message.text())) return;
      console.error(`[page ${message.type()}] ${message.text()}`);
    });
    await page.waitForFunction(() => window.syncReady === true, null, { timeout: 120_000 });
    const prepared = await page.evaluate(([settings, r, m]) => window.syncPrepare(settings, r, m), [s3, rows, modelMb]);
    out.prepared = prepared;
    console.log(`  store A: ${prepared.rows.toLocaleString('en-US')} rows inserted in ${prepared.insertSeconds.toFixed(1)} s; ` +
      `model of ${fmtMb(prepared.modelBytes)} MB imported in ${prepared.modelSeconds.toFixed(2)} s (outside the timings)`);

    let prefix = '';
    for (let run = 1; run <= runs; run++) {
      // Each run pushes to a fresh prefix (no HEAD there: a full push) and pulls into a fresh store.
      prefix = `bench/run-${run}`;
      await helpers.settle(page, sampler);
      const push = await page.evaluate((p) => window.syncPush(p), prefix);
      await helpers.settle(page, sampler);
      const raw = await page.evaluate(([p, rp, c]) => window.syncRaw(p, rp, c), [prefix, `raw/run-${run}`, CONCURRENCY]);
      if (raw.bytes !== push.uploaded.bytes) {
        throw new Error(`The raw side moved ${raw.bytes} bytes in ${raw.objects} objects; the push uploaded ${push.uploaded.bytes} in ${push.uploaded.objects}.`);
      }
      await helpers.settle(page, sampler);
      const pull = await page.evaluate(([p, name]) => window.syncPull(p, name), [prefix, `bench_sync_b${run}_${Date.now()}`]);
      out.runs.push({ push, raw, pull });
      console.log(`  run ${run}: push ${fmtMb(push.uploaded.bytes)} MB in ${push.uploaded.objects} objects (largest ${raw.sizes.slice(0, 3).map(fmtMb).join(', ')} MB), ` +
        `${push.seconds.toFixed(2)} s [${phasesText(push.phases)}]; raw PUT ${raw.putSeconds.toFixed(2)} s, raw GET ${raw.getSeconds.toFixed(2)} s; ` +
        `pull ${fmtMb(pull.downloaded.bytes)} MB, ${pull.seconds.toFixed(2)} s [${phasesText(pull.phases)}]; B holds ${pull.rows.toLocaleString('en-US')} rows (A ${pull.expectedRows.toLocaleString('en-US')})`);
    }

    await helpers.settle(page, sampler);
    out.incremental = await page.evaluate(([p, n]) => window.syncIncremental(p, n), [prefix, newRows]);
    if (diagnose) {
      await helpers.settle(page, sampler);
      out.diagnosis = await page.evaluate(() => window.syncDiagnose());
    }
    await page.evaluate(() => window.syncClose());
  } finally {
    sampler.stop();
    await browser.close();
    await server.close();
    await stack.close();
  }

  const pick = (f) => median(out.runs.map(f));
  const full = {
    bytes: out.runs[0].push.uploaded.bytes,
    pushSeconds: pick((r) => r.push.seconds),
    pullSeconds: pick((r) => r.pull.seconds),
    pullBytes: out.runs[0].pull.downloaded.bytes,
    rawPutSeconds: pick((r) => r.raw.putSeconds),
    rawGetSeconds: pick((r) => r.raw.getSeconds),
  };
  full.pushMbps = mbps(full.bytes, full.pushSeconds);
  full.pullMbps = mbps(full.pullBytes, full.pullSeconds);
  full.rawPutMbps = mbps(full.bytes, full.rawPutSeconds);
  full.rawGetMbps = mbps(full.bytes, full.rawGetSeconds);
  full.pushRatio = full.pushMbps / full.rawPutMbps;
  full.pullRatio = full.pullMbps / full.rawGetMbps;
  out.summary = full;
  const inc = out.incremental;
  inc.share = inc.push.uploaded.bytes / full.bytes;

  const n = out.runs.length;
  const row = (name, bytes, seconds, ratio = '') => [name, fmtMb(bytes), seconds.toFixed(2), mbps(bytes, seconds).toFixed(1), ratio];
  console.log('');
  console.log(helpers.table(['operation', 'MB', `s${n > 1 ? ' (median)' : ''}`, 'MB/s', 'ratio Larder / raw'], [
    row('raw signed PUT of the same objects', full.bytes, full.rawPutSeconds),
    row('Larder store.sync.push (full, end to end)', full.bytes, full.pushSeconds, full.pushRatio.toFixed(2)),
    row('raw signed GET of the same objects', full.bytes, full.rawGetSeconds),
    row('Larder store.sync.pull (full, end to end)', full.pullBytes, full.pullSeconds, full.pullRatio.toFixed(2)),
    row(`Larder push after ${inc.newRows.toLocaleString('en-US')} new rows (incremental)`, inc.push.uploaded.bytes, inc.push.seconds),
    row('Larder pull of that push (incremental)', inc.pull.downloaded.bytes, inc.pull.seconds),
  ]));
  const last = out.runs.at(-1);
  console.log('');
  console.log(`Where the time goes (${n > 1 ? 'last run; ' : ''}phases from onProgress; HTTP requests timed by the target's fetch, from the call to the ` +
    `last byte of the answer, summed, so parallel requests add up beyond wall time; DuckDB requests traced in the stores' DuckDB worker):`);
  const breakdown = (name, op) => {
    console.log(`  ${name}: ${op.seconds.toFixed(2)} s = ${phasesText(op.phases)}`);
    console.log(`    HTTP: ${op.http.map((h) => `${h.request} ×${h.count} ${fmtMb(h.bytes)} MB ${h.seconds.toFixed(2)} s`).join(' | ')}`);
    console.log(`    DuckDB: ${op.duckdb.count} requests, ${op.duckdb.seconds.toFixed(2)} s; longest: ` +
      op.duckdb.longest.map((e) => `${e.seconds.toFixed(2)} s ${e.type} ${e.text.length > 90 ? `${e.text.slice(0, 90)}…` : e.text}`).join(' | '));
  };
  const rawRequests = (method) => last.raw.requests.filter((r) => r.method === method).map((r) => `${r.kind} ${fmtMb(r.bytes)} MB ${r.seconds.toFixed(2)} s`).join(' | ');
  breakdown('full push', last.push);
  console.log(`    for comparison, raw PUT requests: ${rawRequests('PUT')}`);
  breakdown('full pull', last.pull);
  console.log(`    for comparison, raw GET requests: ${rawRequests('GET')}`);
  breakdown(`incremental push (${inc.push.uploaded.objects} objects uploaded, ${inc.push.reused.objects} reused)`, inc.push);
  breakdown(`incremental pull (${inc.pull.downloaded.objects} objects)`, inc.pull);
  console.log(`  (the insert of the ${inc.newRows.toLocaleString('en-US')} new rows took ${inc.insertSeconds.toFixed(2)} s, outside the timings)`);
  if (out.diagnosis !== undefined) {
    const d = out.diagnosis;
    console.log(`  JS steps of a group part replayed on the page (${d.rows.toLocaleString('en-US')} rows, Parquet ${fmtMb(d.parquetBytes)} MB; main thread, ` +
      `not the store worker where Larder runs them): ${d.steps.map(([name, sec]) => `${name} ${sec.toFixed(2)} s`).join(' | ')}`);
  }
  console.log(`  (MB = 2^20 bytes; raw: aws4fetch AwsClient.fetch straight to the gateway, UNSIGNED-PAYLOAD as Larder signs, ` +
    `${CONCURRENCY} requests at a time like Larder's default; the raw PUTs carry no If-None-Match, so the gateway forwards them without the HEAD it ` +
    `makes for Larder's conditional PUTs. Larder's times are end to end: snapshotting in the store worker, checksums, uploads, manifest and HEAD; ` +
    `the pull's include verifying and applying.)`);
  const targets = [
    `${inc.share < TARGET_INCREMENTAL_SHARE ? 'PASS' : 'FAIL'}  incremental push after 1 % new rows uploads < ${TARGET_INCREMENTAL_SHARE * 100} % of a full push's bytes: ` +
      `${(inc.share * 100).toFixed(2)} % (${fmtMb(inc.push.uploaded.bytes)} of ${fmtMb(full.bytes)} MB)`,
    `info  push ${full.pushMbps.toFixed(1)} MB/s = ${full.pushRatio.toFixed(2)}x raw PUT; pull ${full.pullMbps.toFixed(1)} MB/s = ${full.pullRatio.toFixed(2)}x raw GET`,
  ];
  console.log(['', ...targets].join('\n'));
  console.log(`1-min load average ${loadBefore.toFixed(2)} before, ${loadavg()[0].toFixed(2)} after; ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GB; ` +
    `total sync bench time ${Math.round((Date.now() - started) / 1000)} s`);
  await mkdir(path.join(repoRoot, '.bench-results'), { recursive: true });
  await writeFile(path.join(repoRoot, '.bench-results', 'sync.json'), JSON.stringify({ date: new Date().toISOString(), ...out, targets, version: helpers.codeVersion() }, null, 2));
  console.log('results written to .bench-results/sync.json');
}
