/* global window -- the page.evaluate callbacks run in the page, where window exists */
// Training benchmark (issue 5, "Benchmark"): store.train against raw tfjs fit in the same run, time to the first
// batch on a big training dataset, registry save and load of a ~5 MB model. See bench/train.ts.
//
//   node bench/run.mjs train          (or BENCH_SUITE=train npm run bench)
//   BENCH_TRAIN_ROWS=20000 BENCH_TRAIN_FIRST_BATCH_ROWS=100000 node bench/run.mjs train
//
// Run by bench/run.mjs, which passes its Vite, browser and settling helpers. Writes .bench-results/train.json.
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startRssSampler } from './memory.mjs';
import { openBenchPage } from './page.mjs';
import { intEnv, median } from './env.mjs';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(benchDir, '..');

export async function runTrainBench(helpers) {
  const started = Date.now();
  const rows = intEnv('BENCH_TRAIN_ROWS', 100_000, 1);
  const firstBatchRows = intEnv('BENCH_TRAIN_FIRST_BATCH_ROWS', 1_000_000, 1);
  const runs = intEnv('BENCH_RUNS', 3, 1);
  const epochs = 3;
  console.log(`Larder training benchmark: MLP 20 → 64 → 32 → 1, ${rows.toLocaleString('en-US')} rows (90 % train), ${epochs} epochs, batch 256, wasm`);
  const { server, url } = await helpers.startVite();
  const browser = await helpers.launchBrowser();
  const sampler = startRssSampler(process.pid);
  const loadBefore = loadavg()[0];
  const out = { rows, firstBatchRows, runs: [] };
  try {
    const page = await openBenchPage(browser.context, sampler, new URL('train.html', url).href);
    await page.waitForFunction(() => window.trainReady === true, null, { timeout: 120_000 });
    const prepared = await page.evaluate((n) => window.trainPrepare(n), rows);
    console.log(`  prepared the feature group, view and training dataset in ${prepared.seconds.toFixed(1)} s`);
    for (let i = 0; i < runs + 1; i++) {
      const order = i % 2 === 0 ? ['raw', 'larder'] : ['larder', 'raw'];
      for (const engine of order) {
        await helpers.settle(page, sampler);
        const r = engine === 'raw' ? await page.evaluate((e) => window.trainRaw(e), epochs) : await page.evaluate((e) => window.trainLarder(e), epochs);
        out.runs.push({ engine, warmup: i === 0, ...r });
        console.log(`  ${i === 0 ? 'warm-up' : 'run    '} ${engine.padEnd(6)} fit ${r.fitSeconds.toFixed(2)} s, ${Math.round(r.samplesPerSecond).toLocaleString('en-US')} samples/s` +
          (engine === 'larder' ? `; train() ${r.seconds.toFixed(2)} s end to end, first batch after ${Math.round(r.toFirstBatchMs ?? 0)} ms, backend ${r.backend}` : `, backend ${r.backend}`));
      }
    }
    const rate = (engine) => median(out.runs.filter((r) => !r.warmup && r.engine === engine).map((r) => r.samplesPerSecond));
    const endToEnd = median(out.runs.filter((r) => !r.warmup && r.engine === 'larder').map((r) => (rows * 0.9 * epochs) / r.seconds));
    out.summary = { rawSamplesPerSecond: rate('raw'), larderSamplesPerSecond: rate('larder'), larderEndToEndSamplesPerSecond: endToEnd };
    await helpers.settle(page, sampler);
    out.registry = await page.evaluate(() => window.trainRegistry());
    await page.evaluate(() => window.trainClose());
    await helpers.settle(page, sampler);
    out.firstBatch = await page.evaluate((n) => window.trainFirstBatch(n), firstBatchRows);
  } finally {
    sampler.stop();
    await browser.close();
    await server.close();
  }
  const s = out.summary;
  const overhead = 1 - s.larderSamplesPerSecond / s.rawSamplesPerSecond;
  console.log(helpers.table(['engine', 'samples/s (median)', 'vs raw'], [
    ['raw tfjs fit (worker, wasm)', Math.round(s.rawSamplesPerSecond).toLocaleString('en-US'), '1.00'],
    ['Larder store.train: fit', Math.round(s.larderSamplesPerSecond).toLocaleString('en-US'), (s.larderSamplesPerSecond / s.rawSamplesPerSecond).toFixed(2)],
    ['Larder store.train: end to end', Math.round(s.larderEndToEndSamplesPerSecond).toLocaleString('en-US'), (s.larderEndToEndSamplesPerSecond / s.rawSamplesPerSecond).toFixed(2)],
  ]));
  const r = out.registry;
  console.log(`  registry, ${(r.bytes / 2 ** 20).toFixed(1)} MB model: save (import, checked, hashed, chunked) ${r.saveMs.toFixed(0)} ms vs raw put ${r.rawPutMs.toFixed(0)} ms; load (read, hash, check, tfjs) ${r.loadMs.toFixed(0)} ms vs raw get ${r.rawGetMs.toFixed(0)} ms`);
  console.log(`  ${firstBatchRows.toLocaleString('en-US')}-row training dataset (built in ${out.firstBatch.datasetSeconds.toFixed(1)} s, outside timing): train call to first batch ${Math.round(out.firstBatch.toFirstBatchMs)} ms`);
  console.log(`\n${overhead <= 0.1 ? 'PASS' : 'FAIL'}  Larder fit overhead <= 10 %: ${(overhead * 100).toFixed(1)} %`);
  console.log(`1-min load average ${loadBefore.toFixed(2)} before, ${loadavg()[0].toFixed(2)} after; ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GB; total train bench time ${Math.round((Date.now() - started) / 1000)} s`);
  await mkdir(path.join(repoRoot, '.bench-results'), { recursive: true });
  await writeFile(path.join(repoRoot, '.bench-results', 'train.json'), JSON.stringify({ ...out, version: helpers.codeVersion() }, null, 2));
  console.log('results written to .bench-results/train.json');
}
