/* global window -- the page.evaluate callbacks run in the page, where window exists */
// Ingest benchmark: Larder's FeatureGroup.insert against raw DuckDB-WASM doing the same load, in the same run.
// See bench/README.md. In short:
//
//   npm run bench                          1M rows, 1 warm-up + 3 measured runs per format and engine (~2.5 min)
//   BENCH_ROWS=200000 BENCH_RUNS=5 npm run bench
//   BENCH_FORMATS=arrow,csv BENCH_TRACE=0 BENCH_DIAGNOSE=0 npm run bench
//   npm run bench -- pit   (or BENCH_SUITE=pit|ingest|online|all): the point-in-time join benchmark, see pit-run.mjs
//   npm run bench -- online: the online store benchmark, see online-run.mjs
//   npm run bench -- train: the training and model registry benchmark, see train-run.mjs
//   npm run bench -- deploy: the deployment (online predict, batch inference) benchmark, see deploy-run.mjs
//   npm run bench -- sync: the sync (push and pull through an S3-compatible server) benchmark, see sync-run.mjs
//
// Serves bench/ with Vite, drives Debian's Chromium with Playwright (a persistent profile, so OPFS and IndexedDB
// are on disk as in a real tab), samples memory and CPU time of every Chromium process from /proc, prints a table,
// a trace of Larder's DuckDB requests and a breakdown of where Larder's time goes, and writes
// .bench-results/ingest.json.
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright';
import { createLogger, createServer } from 'vite';
import { CHROMIUM_ARGS, findChromium } from '../scripts/chromium.mjs';
import { startRssSampler } from './memory.mjs';
import { openBenchPage } from './page.mjs';
import { intEnv, median } from './env.mjs';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(benchDir, '..');

const ROWS = intEnv('BENCH_ROWS', 1_000_000);
const RUNS = Math.max(1, intEnv('BENCH_RUNS', 3));
const WARMUPS = intEnv('BENCH_WARMUP', 1);
const FORMATS = (process.env['BENCH_FORMATS'] ?? 'arrow,csv,parquet').split(',').map((f) => f.trim()).filter((f) => f !== '');
for (const f of FORMATS) if (!['arrow', 'csv', 'parquet'].includes(f)) throw new Error(`Unknown format '${f}' in BENCH_FORMATS.`);
const PARQUET_INPUT = process.env['BENCH_PARQUET_INPUT'] ?? 'bytes';
const CSV_INPUT = process.env['BENCH_CSV_INPUT'] ?? 'blob';
// 'persistent' keeps OPFS and IndexedDB on disk (a real profile directory); 'incognito' is Playwright's default
// context, whose storage Chromium may keep in memory.
const CONTEXT = process.env['BENCH_CONTEXT'] ?? 'persistent';
const DIAGNOSE = process.env['BENCH_DIAGNOSE'] !== '0';
const TRACE = process.env['BENCH_TRACE'] !== '0';

const TARGET_RATIO = 0.8;
const TARGET_ARROW_ROWS_PER_SECOND = 1_000_000;

const MB = 1024 * 1024;

function formatRate(rowsPerSecond) {
  return Math.round(rowsPerSecond).toLocaleString('en-US');
}

function table(headers, rows) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => cells.map((c, i) => String(c).padEnd(widths[i])).join(' | ');
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('-|-'), ...rows.map(line)].join('\n');
}

/** Vite's logger without the warnings about DuckDB-WASM's source maps pointing outside the package (harmless). */
function quietLogger() {
  const logger = createLogger('warn');
  const harmless = (message) => message.includes('points to a source file outside its package');
  const warn = logger.warn.bind(logger);
  const warnOnce = logger.warnOnce.bind(logger);
  logger.warn = (message, options) => {
    if (!harmless(message)) warn(message, options);
  };
  logger.warnOnce = (message, options) => {
    if (!harmless(message)) warnOnce(message, options);
  };
  return logger;
}

async function startVite() {
  const server = await createServer({
    configFile: false,
    root: benchDir,
    customLogger: quietLogger(),
    clearScreen: false,
    // No watcher and no HMR: an edit to src/ during a run must not reload the page under the benchmark.
    server: { host: '127.0.0.1', port: 5199, strictPort: false, fs: { allow: [repoRoot] }, hmr: false, watch: null },
    optimizeDeps: { include: ['apache-arrow', 'comlink', 'idb', '@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm'], exclude: ['@duckdb/duckdb-wasm', 'parquet-wasm'] },
    worker: { format: 'es' },
  });
  await server.listen();
  const url = server.resolvedUrls?.local[0];
  if (url === undefined) throw new Error('Vite did not report a local URL.');
  return { server, url };
}

async function launchBrowser() {
  const executablePath = findChromium();
  // --expose-gc lets the page collect garbage between runs, so one run's leftovers do not count against the next.
  const args = [...CHROMIUM_ARGS, '--enable-precise-memory-info', '--js-flags=--expose-gc'];
  if (CONTEXT === 'incognito') {
    const browser = await chromium.launch({ executablePath, args, headless: true });
    const context = await browser.newContext();
    return { context, close: () => browser.close() };
  }
  const profile = await mkdtemp(path.join(tmpdir(), 'larder-bench-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath, args, headless: true });
  return {
    context,
    close: async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** The commit and any uncommitted changes to the code under test (src/, workers/), as `git` reports them. */
function codeVersion() {
  try {
    const git = (...args) => execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8' });
    const commit = git('rev-parse', '--short', 'HEAD').trim();
    const dirty = git('status', '--porcelain', '--', 'src', 'workers').split('\n').filter((l) => l !== '').map((l) => l.slice(3));
    return { commit, dirty };
  } catch {
    return { commit: 'unknown', dirty: [] };
  }
}

/**
 * Lets the previous run's workers go: collects garbage on the page, then waits until Chromium's PSS stops falling
 * (terminated workers return their wasm memory asynchronously). Returns the settled sample.
 */
async function settle(page, sampler) {
  await page.evaluate(() => window.gc?.());
  let last = sampler.current();
  for (let i = 0; i < 20; i++) {
    await new Promise((resolve) => setTimeout(resolve, 150));
    const now = sampler.current();
    if (Math.abs(now.pssBytes - last.pssBytes) < 4 * MB) return now;
    last = now;
  }
  return last;
}

/** The plan: per format, warm-ups, then measured rounds alternating which engine goes first. */
function plan() {
  const steps = [];
  for (const format of FORMATS) {
    for (let i = 0; i < WARMUPS; i++) for (const engine of ['raw', 'larder']) steps.push({ format, engine, warmup: true });
    for (let i = 0; i < RUNS; i++) {
      const order = i % 2 === 0 ? ['raw', 'larder'] : ['larder', 'raw'];
      for (const engine of order) steps.push({ format, engine, warmup: false });
    }
  }
  return steps;
}

async function main() {
  const started = Date.now();
  console.log(`Larder ingest benchmark: ${ROWS.toLocaleString('en-US')} rows × (int64 key, timestamp, 5 float64), ` +
    `${WARMUPS} warm-up + ${RUNS} measured run(s) per format and engine; formats: ${FORMATS.join(', ')}`);
  const version = codeVersion();
  console.log(`code under test: ${version.commit}${version.dirty.length === 0 ? '' : ` + uncommitted changes to ${version.dirty.join(', ')}`}`);
  const { server, url } = await startVite();
  const browser = await launchBrowser();
  const sampler = startRssSampler(process.pid);
  const results = [];
  let prepared;
  let diagnostics = [];
  const traces = [];
  let diagnosticsSeconds = 0;
  const loadBefore = loadavg()[0];
  try {
    const page = await openBenchPage(browser.context, sampler, url);
    await page.waitForFunction(() => window.benchReady === true, null, { timeout: 120_000 });
    await page.evaluate(() => window.cleanStorage());
    const idle = await settle(page, sampler);
    prepared = await page.evaluate((rows) => window.prepareData(rows), ROWS);
    console.log(
      `data: Arrow IPC ${(prepared.arrowIpcBytes / MB).toFixed(1)} MB, CSV ${(prepared.csvBytes / MB).toFixed(1)} MB, ` +
        `Parquet ${(prepared.parquetBytes / MB).toFixed(1)} MB (generated in ${prepared.seconds.toFixed(1)} s, outside timing); ` +
        `Chromium idle: RSS ${(idle.totalBytes / MB).toFixed(0)} MB, PSS ${(idle.pssBytes / MB).toFixed(0)} MB; ` +
        `with the data: PSS ${((await settle(page, sampler)).pssBytes / MB).toFixed(0)} MB`,
    );
    let runNumber = 0;
    for (const step of plan()) {
      runNumber++;
      await settle(page, sampler);
      const before = sampler.mark();
      const options = { format: step.format, engine: step.engine, runId: `${runNumber}`, parquetInput: PARQUET_INPUT, csvInput: CSV_INPUT };
      const result = await page.evaluate((o) => window.runBench(o), options);
      const peak = sampler.peak();
      const cleaned = await page.evaluate(() => window.cleanStorage());
      if (result.writtenRows !== ROWS) throw new Error(`${step.engine} ${step.format} wrote ${result.writtenRows} rows, expected ${ROWS}.`);
      if (cleaned.left.length > 0) console.error(`warning: OPFS entries left behind: ${cleaned.left.join(', ')}`);
      const record = {
        ...result,
        warmup: step.warmup,
        rssBeforeBytes: before.totalBytes,
        pssBeforeBytes: before.pssBytes,
        peakRssBytes: peak.totalBytes,
        peakPssBytes: peak.pssBytes,
        peakProcessRssBytes: peak.processBytes,
      };
      results.push(record);
      const phases = result.phases.map(([name, s]) => `${name} ${s.toFixed(3)}`).join(', ');
      console.log(
        `${step.warmup ? 'warm-up ' : 'run     '}${step.format.padEnd(7)} ${step.engine.padEnd(6)} ${result.seconds.toFixed(3)} s ` +
          `${formatRate(ROWS / result.seconds).padStart(10)} rows/s  CPU ${result.cpu.seconds.toFixed(2)} s, others ${(result.cpu.othersShare * 100).toFixed(0)} %  ` +
          `peak RSS ${(peak.totalBytes / MB).toFixed(0)} MB, PSS +${((peak.pssBytes - before.pssBytes) / MB).toFixed(0)} MB  [${phases}]`,
      );
    }
    if (TRACE) {
      for (const format of FORMATS) {
        runNumber++;
        await settle(page, sampler);
        const options = { format, engine: 'larder', runId: `${runNumber}`, parquetInput: PARQUET_INPUT, csvInput: CSV_INPUT, trace: true };
        const result = await page.evaluate((o) => window.runBench(o), options);
        await page.evaluate(() => window.cleanStorage());
        traces.push({ format, seconds: result.seconds, phases: result.phases, trace: result.trace ?? [] });
      }
    }
    if (DIAGNOSE) {
      const diagStarted = Date.now();
      diagnostics = await page.evaluate(() => window.diagnose());
      await page.evaluate(() => window.cleanStorage());
      diagnosticsSeconds = (Date.now() - diagStarted) / 1000;
    }
  } finally {
    sampler.stop();
    await browser.close();
    await server.close();
  }
  await report(results, prepared, started, { version, traces, diagnostics, diagnosticsSeconds, loadBefore, loadAfter: loadavg()[0] });
}

function summarize(results) {
  const summary = [];
  for (const format of FORMATS) {
    const byEngine = {};
    for (const engine of ['raw', 'larder']) {
      const runs = results.filter((r) => !r.warmup && r.format === format && r.engine === engine);
      const seconds = median(runs.map((r) => r.seconds));
      const phaseNames = runs[0].phases.map(([name]) => name);
      const phases = phaseNames.map((name) => [name, median(runs.map((r) => r.phases.find(([n]) => n === name)?.[1] ?? 0))]);
      byEngine[engine] = {
        format,
        engine,
        rows: ROWS,
        runs: runs.map((r) => r.seconds),
        medianSeconds: seconds,
        bestSeconds: Math.min(...runs.map((r) => r.seconds)),
        rowsPerSecond: ROWS / seconds,
        medianCpuSeconds: median(runs.map((r) => r.cpu.seconds)),
        othersCpuShare: median(runs.map((r) => r.cpu.othersShare)),
        peakRssBytes: Math.max(...runs.map((r) => r.peakRssBytes)),
        peakPssBytes: Math.max(...runs.map((r) => r.peakPssBytes)),
        ownPssBytes: median(runs.map((r) => r.peakPssBytes - r.pssBeforeBytes)),
        peakProcessRssBytes: Math.max(...runs.map((r) => r.peakProcessRssBytes)),
        jsHeapBytes: Math.max(...runs.map((r) => r.jsHeapBytes ?? 0)) || null,
        opfsBytes: median(runs.map((r) => r.opfsBytes)),
        phases,
      };
    }
    byEngine.larder.ratio = byEngine.larder.rowsPerSecond / byEngine.raw.rowsPerSecond;
    byEngine.larder.bestRatio = byEngine.raw.bestSeconds / byEngine.larder.bestSeconds;
    byEngine.larder.cpuRatio = byEngine.raw.medianCpuSeconds / byEngine.larder.medianCpuSeconds;
    summary.push(byEngine.raw, byEngine.larder);
  }
  return summary;
}

async function report(results, prepared, started, extra) {
  const summary = summarize(results);
  console.log('');
  console.log(
    table(
      ['format', 'engine', 'rows', 'median s', 'rows/s', 'ratio larder/raw', 'peak RSS MB', 'run +PSS MB', 'CPU s', 'CPU ratio', 'others CPU'],
      summary.map((s) => [
        s.format,
        s.engine,
        s.rows.toLocaleString('en-US'),
        s.medianSeconds.toFixed(3),
        formatRate(s.rowsPerSecond),
        s.engine === 'larder' ? s.ratio.toFixed(2) : '',
        (s.peakRssBytes / MB).toFixed(0),
        (s.ownPssBytes / MB).toFixed(0),
        s.medianCpuSeconds.toFixed(2),
        s.engine === 'larder' ? s.cpuRatio.toFixed(2) : '',
        `${(s.othersCpuShare * 100).toFixed(0)} %`,
      ]),
    ),
  );
  console.log('');
  console.log('Median phase times (s):');
  for (const s of summary) {
    console.log(`  ${s.format.padEnd(7)} ${s.engine.padEnd(6)} ${s.phases.map(([name, v]) => `${name} ${v.toFixed(3)}`).join(' | ')}`);
  }
  console.log(
    `  (ratio larder/raw: of median rows/s, the targets' measure; CPU s: median CPU seconds all Chromium processes used in ` +
      `the timed region, CPU ratio: raw CPU s / Larder CPU s, the same comparison made robust to other processes on a busy machine; ` +
      `others CPU: median share of the machine other processes took meanwhile; peak RSS: VmRSS summed over all Chromium ` +
      `processes, shared pages counted in each (data set, Vite and browser included); run +PSS: median peak PSS above the settled ` +
      `level before the run, i.e. the run's own footprint; largest single process up to ` +
      `${(Math.max(...summary.map((s) => s.peakProcessRssBytes)) / MB).toFixed(0)} MB; DB file on OPFS ` +
      summary.map((s) => `${s.format}/${s.engine} ${(s.opfsBytes / MB).toFixed(1)} MB`).join(', ') + ')',
  );
  console.log('');
  const verdicts = [];
  for (const s of summary.filter((x) => x.engine === 'larder')) {
    const pass = s.ratio >= TARGET_RATIO;
    verdicts.push({ target: `${s.format}: larder >= ${TARGET_RATIO}x raw rows/s`, pass, value: s.ratio });
    console.log(`${pass ? 'PASS' : 'FAIL'}  ${s.format}: Larder at ${s.ratio.toFixed(2)}x raw rows/s (target >= ${TARGET_RATIO}x)`);
  }
  console.log(`      (best of ${RUNS} instead of median: ` +
    summary.filter((x) => x.engine === 'larder').map((x) => `${x.format} ${x.bestRatio.toFixed(2)}x`).join(', ') +
    `; by CPU time: ` + summary.filter((x) => x.engine === 'larder').map((x) => `${x.format} ${x.cpuRatio.toFixed(2)}x`).join(', ') + ')');
  const arrow = summary.find((s) => s.format === 'arrow' && s.engine === 'larder');
  if (arrow !== undefined) {
    const pass = arrow.rowsPerSecond >= TARGET_ARROW_ROWS_PER_SECOND;
    verdicts.push({ target: 'arrow: larder >= 1M rows/s', pass, value: arrow.rowsPerSecond });
    console.log(`${pass ? 'PASS' : 'FAIL'}  arrow: Larder at ${formatRate(arrow.rowsPerSecond)} rows/s (target >= ${formatRate(TARGET_ARROW_ROWS_PER_SECOND)})`);
  }
  for (const t of extra.traces) {
    const inDuckDb = t.trace.reduce((sum, e) => sum + e.seconds, 0);
    console.log('');
    console.log(`Larder's DuckDB requests in one traced ${t.format} insert (${t.seconds.toFixed(3)} s in all, ${inDuckDb.toFixed(3)} s inside DuckDB's worker, ` +
      `${(t.seconds - inDuckDb).toFixed(3)} s elsewhere: JS in the page and the store worker, messaging, IndexedDB):`);
    let small = 0;
    let smallSeconds = 0;
    for (const e of t.trace) {
      if (e.seconds < 0.003) {
        small++;
        smallSeconds += e.seconds;
        continue;
      }
      const text = e.text.replace(/\s+/g, ' ').trim();
      console.log(`    ${e.seconds.toFixed(3).padStart(7)} s  ${e.type}${e.ok ? '' : ' (failed)'}  ${text.length > 150 ? `${text.slice(0, 150)}…` : text}`);
    }
    if (small > 0) console.log(`    ${smallSeconds.toFixed(3).padStart(7)} s  ${small} requests under 3 ms each`);
  }
  if (extra.diagnostics.length > 0) {
    console.log('');
    console.log(`Where Larder's time goes (best of 2 unless noted: wall s / CPU s; JS steps run on the page with Larder's own src/ingest code, ` +
      `DuckDB steps on raw DuckDB-WASM; ${extra.diagnosticsSeconds.toFixed(0)} s):`);
    let area = '';
    for (const d of extra.diagnostics) {
      if (d.area !== area) console.log(`  ${(area = d.area)}`);
      const cpu = d.cpuSeconds === null ? '     –' : d.cpuSeconds.toFixed(2).padStart(6);
      console.log(`    ${d.seconds.toFixed(3).padStart(7)} / ${cpu} s  ${d.step}${d.note === '' ? '' : `  [${d.note}]`}`);
    }
  }
  console.log('');
  const others = results.filter((r) => !r.warmup).map((r) => r.cpu.othersShare);
  const busy = median(others) > 0.15;
  console.log(`other processes took a median ${(median(others) * 100).toFixed(0)} % (at most ${(Math.max(...others) * 100).toFixed(0)} %) ` +
    `of the machine's ${cpus().length} cores during the timed regions; 1-min load average ${extra.loadBefore.toFixed(2)} before, ` +
    `${extra.loadAfter.toFixed(2)} after` + (busy ? '. The machine was busy: wall times are noisy, the CPU ratios less so' : ''));
  console.log(`total bench time ${((Date.now() - started) / 1000).toFixed(0)} s`);
  const out = path.join(repoRoot, '.bench-results', 'ingest.json');
  await mkdir(path.dirname(out), { recursive: true });
  await writeFile(
        out,
        JSON.stringify(
          {
            date: new Date().toISOString(),
            code: extra.version,
            machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, totalMemoryBytes: totalmem(), node: process.version },
            settings: { rows: ROWS, runs: RUNS, warmups: WARMUPS, formats: FORMATS, parquetInput: PARQUET_INPUT, csvInput: CSV_INPUT, context: CONTEXT },
            data: prepared,
            loadAverage: { before: extra.loadBefore, after: extra.loadAfter },
            summary,
            traces: extra.traces,
            diagnostics: extra.diagnostics,
            verdicts,
            runs: results,
          },
          null,
          2,
        ),
      );
  console.log(`results written to ${path.relative(process.cwd(), out)}`);
}

// Which suite: `node bench/run.mjs [ingest|pit|online|train|deploy|sync|all]` or BENCH_SUITE (default all). The point-in-time and online suites
// live in pit-run.mjs and online-run.mjs and reuse this file's Vite, browser and settling helpers.
const SUITE = process.argv[2] ?? process.env['BENCH_SUITE'] ?? 'all';
if (!['ingest', 'pit', 'online', 'train', 'deploy', 'sync', 'all'].includes(SUITE)) throw new Error(`Unknown suite '${SUITE}': use ingest, pit, online, train, deploy, sync or all.`);

async function runSuites() {
  if (SUITE === 'ingest' || SUITE === 'all') await main();
  if (SUITE === 'pit' || SUITE === 'all') {
    const { runPitBench } = await import('./pit-run.mjs');
    await runPitBench({ startVite, launchBrowser, settle, table, codeVersion });
  }
  if (SUITE === 'online' || SUITE === 'all') {
    const { runOnlineBench } = await import('./online-run.mjs');
    await runOnlineBench({ startVite, launchBrowser, settle, table, codeVersion });
  }
  if (SUITE === 'train' || SUITE === 'all') {
    const { runTrainBench } = await import('./train-run.mjs');
    await runTrainBench({ startVite, launchBrowser, settle, table, codeVersion });
  }
  if (SUITE === 'deploy' || SUITE === 'all') {
    const { runDeployBench } = await import('./deploy-run.mjs');
    await runDeployBench({ startVite, launchBrowser, settle, table, codeVersion });
  }
  if (SUITE === 'sync' || SUITE === 'all') {
    const { runSyncBench } = await import('./sync-run.mjs');
    await runSyncBench({ startVite, launchBrowser, settle, table, codeVersion });
  }
}

runSuites().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
