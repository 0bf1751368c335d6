/* global window -- the page.evaluate callbacks run in the page, where window exists */
// Online store benchmark (issue 4, "Benchmark"): feature-vector latency of one entity over 3 groups, batches of 100
// and 1,000 entities, and materialization, each against raw IndexedDB in the same run. See bench/online.ts.
//
//   node bench/run.mjs online                                (or BENCH_SUITE=online npm run bench)
//   BENCH_ONLINE_ENTITIES=20000 BENCH_ONLINE_LOOKUPS=2000 node bench/run.mjs online
//
// Run by bench/run.mjs, which passes its Vite, browser and settling helpers. Writes .bench-results/online.json.
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startRssSampler } from './memory.mjs';
import { openBenchPage } from './page.mjs';
import { intEnv } from './env.mjs';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(benchDir, '..');

function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export async function runOnlineBench(helpers) {
  const started = Date.now();
  const entities = intEnv('BENCH_ONLINE_ENTITIES', 100_000, 1);
  const lookups = intEnv('BENCH_ONLINE_LOOKUPS', 10_000, 1);
  const materializeRows = intEnv('BENCH_ONLINE_MATERIALIZE_ROWS', 1_000_000, 1);
  const runs = intEnv('BENCH_RUNS', 3, 1);
  console.log(`Larder online store benchmark: 3 groups × ${entities.toLocaleString('en-US')} entities × 5 float64; ${lookups.toLocaleString('en-US')} single lookups; materialization of ${materializeRows.toLocaleString('en-US')} rows`);
  const { server, url } = await helpers.startVite();
  const browser = await helpers.launchBrowser();
  const sampler = startRssSampler(process.pid);
  const loadBefore = loadavg()[0];
  const out = { entities, lookups, materializeRows, reads: [], materialize: [] };
  try {
    const page = await openBenchPage(browser.context, sampler, new URL('online.html', url).href);
    await page.waitForFunction(() => window.onlineReady === true, null, { timeout: 120_000 });
    const prepared = await page.evaluate(([e, m]) => window.onlinePrepare(e, m), [entities, materializeRows]);
    out.prepared = prepared;
    const writeThroughRate = prepared.writeThroughRows.reduce((a, b) => a + b, 0) / prepared.writeThroughSeconds.reduce((a, b) => a + b, 0);
    console.log(`  loaded: 3 inserts with write-through in ${prepared.writeThroughSeconds.map((s) => s.toFixed(1)).join(' + ')} s ` +
      `(${Math.round(writeThroughRate).toLocaleString('en-US')} rows/s, offline commit included); ${materializeRows.toLocaleString('en-US')}-row group in ${prepared.materializeInsertSeconds.toFixed(1)} s`);

    // Let the browser's storage backend finish what the loads started (compaction, flushes) before timing reads.
    await new Promise((resolve) => setTimeout(resolve, intEnv('BENCH_ONLINE_IDLE_MS', 10_000, 1)));
    const rows = [];
    for (const [batch, calls] of [[1, lookups], [100, Math.max(50, Math.round(lookups / 50))], [1000, Math.max(20, Math.round(lookups / 500))]]) {
      await helpers.settle(page, sampler);
      sampler.pause(); // its /proc reads stall the renderer (see pause())
      const result = await page.evaluate(([b, n, w]) => window.onlineReads(b, n, w), [batch, calls, Math.max(20, Math.round(calls / 10))]);
      sampler.resume();
      if (result.checked === 0) throw new Error('Larder vectors were not checked against raw records.');
      const measured = { larder: result.larder, raw: result.raw };
      const p = (engine, q) => percentile(measured[engine], q);
      const row = { batch, calls: measured.larder.length, larder: { p50: p('larder', 50), p99: p('larder', 99) }, raw: { p50: p('raw', 50), p99: p('raw', 99) } };
      out.reads.push(row);
      rows.push([
        batch === 1 ? '1 entity (3 groups)' : `batch of ${batch}`,
        row.calls,
        row.raw.p50.toFixed(3), row.raw.p99.toFixed(3),
        row.larder.p50.toFixed(3), row.larder.p99.toFixed(3),
        (row.larder.p99 / row.raw.p99).toFixed(2),
      ]);
    }
    console.log(helpers.table(['read', 'calls', 'raw p50 ms', 'raw p99 ms', 'Larder p50 ms', 'Larder p99 ms', 'p99 Larder / raw'], rows));

    const mrows = [];
    for (let i = 0; i < runs; i++) {
      for (const [engine, incremental] of [['raw', false], ['raw-array', false], ['larder', false], ['larder', true]]) {
        await helpers.settle(page, sampler);
        const r = await page.evaluate(([e, inc]) => window.onlineMaterialize(e, inc), [engine, incremental]);
        out.materialize.push({ engine, incremental, ...r });
        const label = engine === 'raw' ? 'raw idb put, object per entity' : engine === 'raw-array' ? 'raw idb put, Larder\'s array records'
          : incremental ? 'Larder materializeIncremental()' : 'Larder materialize() (rebuild)';
        mrows.push([label, r.rows, r.records, r.seconds.toFixed(2), Math.round(r.rows / r.seconds).toLocaleString('en-US'), Math.round(r.records / r.seconds).toLocaleString('en-US')]);
      }
    }
    console.log(helpers.table(['materialization', 'offline rows', 'records written', 's', 'rows/s', 'records/s'], mrows));
    await page.evaluate(() => window.onlineClose());
  } finally {
    sampler.stop();
    await browser.close();
    await server.close();
  }
  const targets = out.reads.map((r) => r.batch === 1
    ? `${r.larder.p99 <= 1 && r.larder.p99 <= 1.3 * r.raw.p99 ? 'PASS' : 'FAIL'}  single vector p99 <= 1 ms and <= 1.3x raw: ${r.larder.p99.toFixed(3)} ms, ${(r.larder.p99 / r.raw.p99).toFixed(2)}x`
    : r.batch === 100 ? `${r.larder.p99 <= 10 ? 'PASS' : 'FAIL'}  batch of 100 p99 <= 10 ms: ${r.larder.p99.toFixed(3)} ms` : null).filter((t) => t !== null);
  const rate = (engine, incremental) => {
    const rs = out.materialize.filter((m) => m.engine === engine && (engine !== 'larder' || m.incremental === incremental)).map((m) => m.records / m.seconds).sort((a, b) => a - b);
    return rs[rs.length >> 1];
  };
  targets.push(`${rate('larder', false) >= rate('raw') ? 'PASS' : 'FAIL'}  materialization records/s >= raw put rate: ${Math.round(rate('larder', false)).toLocaleString('en-US')} vs ${Math.round(rate('raw')).toLocaleString('en-US')}`);
  console.log(['', ...targets].join('\n'));
  console.log(`1-min load average ${loadBefore.toFixed(2)} before, ${loadavg()[0].toFixed(2)} after; ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GB; total online bench time ${Math.round((Date.now() - started) / 1000)} s`);
  await mkdir(path.join(repoRoot, '.bench-results'), { recursive: true });
  await writeFile(path.join(repoRoot, '.bench-results', 'online.json'), JSON.stringify({ ...out, version: helpers.codeVersion() }, null, 2));
  console.log('results written to .bench-results/online.json');
}
