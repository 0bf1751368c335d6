/* global window -- the page.evaluate callbacks run in the page, where window exists */
// Deployment benchmark (issue 7, "Benchmark"): end-to-end online predict of a deployment against the sum of its raw
// parts measured in the same run (raw IndexedDB reads, a bare worker round trip, a raw tfjs predict), and batch
// inference against raw tfjs predicting the same matrix shape in the same chunks. See bench/deploy.ts.
//
//   node bench/run.mjs deploy                                (or BENCH_SUITE=deploy npm run bench)
//   BENCH_DEPLOY_ENTITIES=20000 BENCH_DEPLOY_REQUESTS=2000 BENCH_DEPLOY_BATCH_ROWS=200000 node bench/run.mjs deploy
//
// Run by bench/run.mjs, which passes its Vite, browser and settling helpers. Writes .bench-results/deploy.json.
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startRssSampler } from './memory.mjs';
import { openBenchPage } from './page.mjs';
import { intEnv } from './env.mjs';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(benchDir, '..');

const TARGET_P99_MS = 2;
const TARGET_P99_RATIO = 1.5;
const TARGET_BATCH_ROWS_PER_SECOND = 200_000;

function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const rate = (r) => Math.round(r).toLocaleString('en-US');

export async function runDeployBench(helpers) {
  const started = Date.now();
  const entities = intEnv('BENCH_DEPLOY_ENTITIES', 100_000, 1);
  const requests = intEnv('BENCH_DEPLOY_REQUESTS', 10_000, 1);
  const warmup = intEnv('BENCH_DEPLOY_WARMUP', 200, 0);
  const trainRows = intEnv('BENCH_DEPLOY_TRAIN_ROWS', 2_000, 10);
  const batchRows = intEnv('BENCH_DEPLOY_BATCH_ROWS', 1_000_000, 0);
  const chunkRows = intEnv('BENCH_DEPLOY_CHUNK_ROWS', 512, 1); // the raw baseline's tfjs call size
  console.log(`Larder deployment benchmark: 3 online groups × ${entities.toLocaleString('en-US')} entities × 5 float64, 1 on-demand feature, ` +
    `4 standardScalers, MLP → 64 → 32 → 1; ${requests.toLocaleString('en-US')} predicts (after ${warmup} warm-up); ` +
    `batch inference of ${batchRows.toLocaleString('en-US')} entities (raw baseline in tfjs calls of ${chunkRows.toLocaleString('en-US')} rows)`);
  const { server, url } = await helpers.startVite();
  const browser = await helpers.launchBrowser();
  const sampler = startRssSampler(process.pid);
  const loadBefore = loadavg()[0];
  const out = { entities, requests, warmup, trainRows, batchRows, chunkRows };
  try {
    const open = async () => {
      const page = await openBenchPage(browser.context, sampler, new URL('deploy.html', url).href);
      await page.waitForFunction(() => window.deployReady === true, null, { timeout: 120_000 });
      return page;
    };
    // One page generates and loads the data and trains the model; the predictions are timed in a page of their own,
    // as an app would serve them (not in the page whose heap and workers just held 300,000 generated rows).
    const loader = await open();
    const prepared = await loader.evaluate(([e, t]) => window.deployPrepare(e, t), [entities, trainRows]);
    await loader.close();
    out.prepared = prepared;
    console.log(`  loaded: 3 inserts with write-through in ${prepared.insertSeconds.map((s) => s.toFixed(1)).join(' + ')} s; training data ` +
      `(${prepared.trainingRows} rows) ${prepared.trainingDataSeconds.toFixed(1)} s; train + promote ${prepared.trainSeconds.toFixed(1)} s`);

    // Let the browser's storage backend finish what the loads started (compaction, flushes) before timing reads.
    await new Promise((resolve) => setTimeout(resolve, intEnv('BENCH_DEPLOY_IDLE_MS', 10_000, 0)));
    const page = await open();
    const served = await page.evaluate(([n, e]) => window.deployServe(n, e), [prepared.storeName, entities]);
    out.served = served;
    console.log(`  serving page: deployment opened in ${(served.deploymentSeconds * 1000).toFixed(0)} ms; ${served.inputs.length} model inputs; raw tfjs on the page: ${served.pageBackend}`);
    await helpers.settle(page, sampler);
    sampler.pause(); // its /proc reads stall the renderer (see pause())
    const result = await page.evaluate(([n, w]) => window.deployPredict(n, w), [requests, warmup]);
    sampler.resume();
    if (result.checked === 0) throw new Error('Larder predictions were not checked against raw tfjs.');
    const stats = (values) => ({ p50: percentile(values, 50), p99: percentile(values, 99), mean: values.reduce((a, b) => a + b, 0) / values.length });
    const online = { larder: stats(result.larder), idb: stats(result.idb), roundTrip: stats(result.roundTrip), tfjs: stats(result.tfjs), chain: stats(result.chain), vector: stats(result.vector), checked: result.checked, calls: result.larder.length };
    online.sum = { p50: online.idb.p50 + online.roundTrip.p50 + online.tfjs.p50, p99: online.idb.p99 + online.roundTrip.p99 + online.tfjs.p99 };
    online.ratio = { p50: online.larder.p50 / online.sum.p50, p99: online.larder.p99 / online.sum.p99 };
    out.online = online;
    await page.evaluate(() => window.deployClose());
    await page.close();

    if (batchRows > 0) {
      const batchPage = await open();
      await helpers.settle(batchPage, sampler);
      out.batch = await batchPage.evaluate(([r, c, t]) => window.deployBatch(r, c, t), [batchRows, chunkRows, trainRows]);
    }
  } finally {
    sampler.stop();
    await browser.close();
    await server.close();
  }

  const o = out.online;
  const f = (v) => v.toFixed(3);
  const calls = o.calls.toLocaleString('en-US');
  console.log('');
  console.log(helpers.table(['online predict (1 entity)', 'calls', 'p50 ms', 'p99 ms', 'mean ms'], [
    ['raw IndexedDB: 1 tx, 3 gets', calls, f(o.idb.p50), f(o.idb.p99), f(o.idb.mean)],
    ['raw worker round trip', calls, f(o.roundTrip.p50), f(o.roundTrip.p99), f(o.roundTrip.mean)],
    ['raw tfjs predict, 1 row (page)', calls, f(o.tfjs.p50), f(o.tfjs.p99), f(o.tfjs.mean)],
    ['sum of raw parts', '', f(o.sum.p50), f(o.sum.p99), ''],
    ['Larder deployment.predict', calls, f(o.larder.p50), f(o.larder.p99), f(o.larder.mean)],
    ['ratio Larder / sum of raw parts', '', o.ratio.p50.toFixed(2), o.ratio.p99.toFixed(2), ''],
  ]));
  console.log(`  for reference, the same request from raw parts in sequence (raw IndexedDB read, the row built, a bare tfjs worker): ` +
    `p50 ${f(o.chain.p50)} ms, p99 ${f(o.chain.p99)} ms, mean ${f(o.chain.mean)} ms; Larder / raw chain: p50 ${(o.larder.p50 / o.chain.p50).toFixed(2)}, p99 ${(o.larder.p99 / o.chain.p99).toFixed(2)}`);
  console.log(`  and Larder's transformed feature vector alone (view.getFeatureVector, the read predict starts with): p50 ${f(o.vector.p50)} ms, p99 ${f(o.vector.p99)} ms, mean ${f(o.vector.mean)} ms`);
  console.log(`  (${o.checked} predictions checked against raw tfjs on the features Larder read, and their stored values against the raw records)`);
  const targets = [
    `${o.larder.p99 <= TARGET_P99_MS ? 'PASS' : 'FAIL'}  predict p99 <= ${TARGET_P99_MS} ms: ${f(o.larder.p99)} ms`,
    `${o.ratio.p99 <= TARGET_P99_RATIO ? 'PASS' : 'FAIL'}  predict p99 <= ${TARGET_P99_RATIO}x the sum of raw parts' p99: ${o.ratio.p99.toFixed(2)}x (p50: ${o.ratio.p50.toFixed(2)}x)`,
  ];
  if (out.batch !== undefined) {
    const b = out.batch;
    b.rowsPerSecond = b.rows / b.seconds;
    b.ratio = b.rowsPerSecond / b.raw.rowsPerSecond;
    console.log('');
    console.log(helpers.table(['batch inference', 'rows', 's', 'rows/s', 'ratio Larder / raw'], [
      [`raw tfjs predict in a worker (${b.raw.backend}, chunks of ${chunkRows.toLocaleString('en-US')})`, b.rows.toLocaleString('en-US'), b.raw.seconds.toFixed(2), rate(b.raw.rowsPerSecond), ''],
      ['Larder store.batchPredict (end to end)', b.rows.toLocaleString('en-US'), b.seconds.toFixed(2), rate(b.rowsPerSecond), b.ratio.toFixed(2)],
    ]));
    console.log(`  batchPredict phases (s, from its onProgress reports; 'reading' runs to the first 'predicting' report, so it holds the first chunk's predict): ${Object.entries(b.phases).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(' | ')}; ` +
      `outside the timing: insert ${b.insertSeconds.toFixed(1)} s, view + training data + train ${b.prepareSeconds.toFixed(1)} s`);
    targets.push(`${b.rowsPerSecond >= TARGET_BATCH_ROWS_PER_SECOND ? 'PASS' : 'FAIL'}  batchPredict >= ${rate(TARGET_BATCH_ROWS_PER_SECOND)} rows/s: ${rate(b.rowsPerSecond)} rows/s (${b.ratio.toFixed(2)}x raw tfjs)`);
  }
  console.log(['', ...targets].join('\n'));
  console.log(`1-min load average ${loadBefore.toFixed(2)} before, ${loadavg()[0].toFixed(2)} after; ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GB; total deploy bench time ${Math.round((Date.now() - started) / 1000)} s`);
  await mkdir(path.join(repoRoot, '.bench-results'), { recursive: true });
  await writeFile(path.join(repoRoot, '.bench-results', 'deploy.json'), JSON.stringify({ ...out, targets, version: helpers.codeVersion() }, null, 2));
  console.log('results written to .bench-results/deploy.json');
}

