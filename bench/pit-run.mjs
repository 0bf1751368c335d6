/* global window -- the page.evaluate callbacks run in the page, where window exists */
// Point-in-time join benchmark (issue 3, "Benchmark"): Larder's TypeScript join (pointInTimeIndices + gathering
// into Arrow) against raw DuckDB-WASM running a hand-written ASOF query in the same page, and against native
// DuckDB (@duckdb/node-api, 1 and 2 threads) on the same seeded data, in the same run; plus Larder end to end
// (FeatureView.trainingData on an in-memory store holding the same groups).
//
//   node bench/run.mjs pit                       (or BENCH_SUITE=pit npm run bench)
//   BENCH_PIT_SCALE=0.1 node bench/run.mjs pit   1/10 of the rows, for iterating
//   BENCH_PIT_SHAPES=skewed BENCH_RUNS=5 node bench/run.mjs pit
//
// Run by bench/run.mjs, which passes its Vite, browser and settling helpers. Writes .bench-results/pit.json.
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startRssSampler } from './memory.mjs';
import { openBenchPage } from './page.mjs';
import { median, numberEnv } from './env.mjs';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(benchDir, '..');
const MB = 1024 * 1024;

const TARGET_VS_RAW = 0.5;
const TARGET_VS_NATIVE = { skewed: 1.0, wide: 1.5 };

function sameChecksum(a, b) {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** Runs bench/pit-native.mjs in its own process and returns its JSON report. */
async function runNative(shape, scale, runs, warmups) {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--expose-gc', path.join(benchDir, 'pit-native.mjs'), shape, String(scale), '1,2', String(runs), String(warmups)],
    { maxBuffer: 64 * MB },
  );
  return JSON.parse(stdout.trim().split('\n').pop());
}

/**
 * @param {{ startVite: () => Promise<{ server: { close(): Promise<void> }, url: string }>,
 *   launchBrowser: () => Promise<{ context: import('playwright').BrowserContext, close(): Promise<void> }>,
 *   settle: (page: import('playwright').Page, sampler: ReturnType<typeof startRssSampler>) => Promise<{ pssBytes: number }>,
 *   table: (headers: string[], rows: unknown[][]) => string, codeVersion: () => unknown }} helpers
 */
export async function runPitBench(helpers) {
  const started = Date.now();
  const scale = numberEnv('BENCH_PIT_SCALE', 1);
  const runs = Math.max(1, Math.round(numberEnv('BENCH_RUNS', 3)));
  const warmups = process.env['BENCH_WARMUP'] === '0' ? 0 : Math.round(numberEnv('BENCH_WARMUP', 1));
  const shapes = (process.env['BENCH_PIT_SHAPES'] ?? 'wide,skewed').split(',').map((s) => s.trim()).filter((s) => s !== '');
  console.log(`Larder point-in-time join benchmark: shapes ${shapes.join(', ')}, scale ${scale}, ${warmups} warm-up + ${runs} measured run(s) per engine`);
  const version = helpers.codeVersion();
  // Native DuckDB first, each shape in its own process, while no browser runs: on this 2-core machine an idle
  // Chromium holding gigabytes still costs the native runs (they measured up to 2.7x slower with it open).
  const natives = {};
  for (const shape of shapes) {
    console.log(`${shape}: native DuckDB (1 and 2 threads) in a child process…`);
    natives[shape] = await runNative(shape, scale, runs, warmups);
    for (const r of natives[shape].results) {
      console.log(`  native ${r.threads} thread(s): ${r.runs.map((x) => x.toFixed(3)).join(' ')} s, CPU ${r.cpuSeconds.map((x) => x.toFixed(2)).join(' ')} s`);
    }
  }
  const { server, url } = await helpers.startVite();
  const browser = await helpers.launchBrowser();
  const sampler = startRssSampler(process.pid);
  const loadBefore = loadavg()[0];
  const shapesOut = [];
  try {
    const page = await openBenchPage(browser.context, sampler, new URL('pit.html', url).href);
    await page.waitForFunction(() => window.pitReady === true, null, { timeout: 120_000 });
    for (const shape of shapes) {
      const idle = await helpers.settle(page, sampler);
      const prepared = await page.evaluate(([s, k]) => window.pitPrepare(s, k), [shape, scale]);
      const loaded = await helpers.settle(page, sampler);
      console.log(
        `${shape}: spine ${prepared.spineRows.toLocaleString('en-US')} rows × groups ${prepared.groupRows.map((r) => r.toLocaleString('en-US')).join(' + ')}; ` +
          `inputs ${(prepared.arrowIpcBytes / MB).toFixed(1)} MB as Arrow IPC; generated in ${prepared.generateSeconds.toFixed(1)} s, ` +
          `loaded into DuckDB-WASM in ${prepared.loadSeconds.toFixed(1)} s, into a Larder store in ${prepared.storeLoadSeconds.toFixed(1)} s ` +
          `(${prepared.storeInserts.join(' + ')} inserts; outside timing); Chromium PSS ${(idle.pssBytes / MB).toFixed(0)} MB idle, ` +
          `${(loaded.pssBytes / MB).toFixed(0)} MB with the data loaded`,
      );
      const records = [];
      for (let i = 0; i < warmups + runs; i++) {
        // Rotate which engine goes first.
        const engines = ['raw', 'ts', 'larder', 'store'];
        const order = [...engines.slice(i % engines.length), ...engines.slice(0, i % engines.length)];
        for (const engine of order) {
          const before = await helpers.settle(page, sampler);
          sampler.mark();
          const result = await page.evaluate((e) => window.pitRun(e), engine);
          const peak = sampler.peak();
          const record = { ...result, warmup: i < warmups, pssBeforeBytes: before.pssBytes, peakPssBytes: peak.pssBytes, peakRssBytes: peak.totalBytes, peakProcessRssBytes: peak.processBytes };
          records.push(record);
          console.log(
            `  ${record.warmup ? 'warm-up' : 'run    '} ${engine.padEnd(6)} ${result.seconds.toFixed(3)} s  CPU ${result.cpu?.seconds.toFixed(2) ?? '–'} s  ` +
              `run +PSS ${((peak.pssBytes - before.pssBytes) / MB).toFixed(0)} MB  [${result.phases.map(([n, s]) => `${n} ${s.toFixed(3)}`).join(', ')}]`,
          );
          if (result.duckdb !== null) console.log(`      DuckDB requests in the run (s): ${result.duckdb.map(([n, s]) => `${n} ${s.toFixed(3)}`).join(' | ')}`);
        }
      }
      const compare = await page.evaluate(() => window.pitCompare('ts'));
      const compareLarder = await page.evaluate(() => window.pitCompare('larder'));
      const compareStore = await page.evaluate(() => window.pitCompare('store', 'ts'));
      console.log(`  trainingData() vs TS: ${compareStore.cells.toLocaleString('en-US')} feature cells, ${compareStore.mismatches} mismatches` +
        `${compareStore.first === null ? '' : ` (first: ${compareStore.first})`}`);
      await helpers.settle(page, sampler);
      const diagnosis = await page.evaluate(() => window.pitDiagnose());
      const diagnosisStore = await page.evaluate(() => window.pitDiagnoseStore());
      console.log(`  trainingData() JS steps outside DuckDB and joinFeatures (one rerun in the page, s): ` +
        `${diagnosisStore.map(([n, v]) => `${n} ${v.toFixed(3)}`).join(' | ')}`);
      await page.evaluate(() => window.pitClose());
      const native = natives[shape];
      const measured = (engine) => records.filter((r) => !r.warmup && r.engine === engine);
      const summary = (engine) => {
        const rs = measured(engine);
        return {
          runs: rs.map((r) => r.seconds),
          medianSeconds: median(rs.map((r) => r.seconds)),
          medianCpuSeconds: rs[0].cpu === null ? null : median(rs.map((r) => r.cpu.seconds)),
          ownPssBytes: Math.max(...rs.map((r) => r.peakPssBytes - r.pssBeforeBytes)),
          peakPssBytes: Math.max(...rs.map((r) => r.peakPssBytes)),
          phases: rs[0].phases.map(([name]) => [name, median(rs.map((r) => r.phases.find(([n]) => n === name)?.[1] ?? 0))]),
          duckdb: rs[0].duckdb === null ? null : rs[0].duckdb.map(([name]) => [name, median(rs.map((r) => r.duckdb.find(([n]) => n === name)?.[1] ?? 0))]),
          checksum: rs[rs.length - 1].checksum,
          outputBytes: rs[rs.length - 1].outputBytes,
        };
      };
      const raw = summary('raw');
      const ts = summary('ts');
      const larder = summary('larder');
      const store = summary('store');
      const nat = Object.fromEntries(native.results.map((r) => [r.threads, { runs: r.runs, medianSeconds: median(r.runs), medianCpuSeconds: median(r.cpuSeconds), peakRssAboveBytes: r.peakRssAboveBytes }]));
      shapesOut.push({
        shape,
        prepared,
        raw,
        ts,
        larder,
        store,
        native: { ...native, byThreads: nat },
        compare,
        compareLarder,
        compareStore,
        diagnosis,
        diagnosisStore,
        checksums: {
          rawEqualsTs: sameChecksum(raw.checksum, ts.checksum),
          nativeEqualsTs: sameChecksum(native.checksum, ts.checksum),
          larderEqualsTs: sameChecksum(larder.checksum, ts.checksum),
          storeEqualsTs: sameChecksum(store.checksum, ts.checksum),
        },
        ratios: {
          tsVsRaw: ts.medianSeconds / raw.medianSeconds,
          tsVsNative1: ts.medianSeconds / nat[1].medianSeconds,
          tsVsNative2: ts.medianSeconds / nat[2].medianSeconds,
          tsPssVsInputs: ts.ownPssBytes / prepared.arrowIpcBytes,
          tsPssLessOutputVsInputs: (ts.ownPssBytes - ts.outputBytes) / prepared.arrowIpcBytes,
          larderVsRaw: larder.medianSeconds / raw.medianSeconds,
          larderVsNative2: larder.medianSeconds / nat[2].medianSeconds,
          larderPssVsInputs: larder.ownPssBytes / prepared.arrowIpcBytes,
          storeVsRaw: store.medianSeconds / raw.medianSeconds,
          storeVsTs: store.medianSeconds / ts.medianSeconds,
        },
        records,
      });
    }
  } finally {
    sampler.stop();
    await browser.close();
    await server.close();
  }
  report(shapesOut, helpers.table);
  const verdicts = [];
  for (const s of shapesOut) {
    const checks = [
      [`${s.shape}: results identical (TS = joinFeatures = raw DuckDB-WASM cell for cell, checksums TS = raw = native)`,
        s.compare.mismatches === 0 && s.compareLarder.mismatches === 0 && s.checksums.rawEqualsTs && s.checksums.nativeEqualsTs && s.checksums.larderEqualsTs,
        s.compare.mismatches + s.compareLarder.mismatches],
      [`${s.shape}: TS <= ${TARGET_VS_RAW}x raw DuckDB-WASM`, s.ratios.tsVsRaw <= TARGET_VS_RAW, s.ratios.tsVsRaw],
      [`${s.shape}: TS <= ${TARGET_VS_NATIVE[s.shape]}x native DuckDB 2 threads`, s.ratios.tsVsNative2 <= TARGET_VS_NATIVE[s.shape], s.ratios.tsVsNative2],
      [`${s.shape}: TS run's own memory (+PSS) <= 2x the inputs' Arrow size`, s.ratios.tsPssVsInputs <= 2, s.ratios.tsPssVsInputs],
      [`${s.shape}: joinFeatures <= ${TARGET_VS_RAW}x raw DuckDB-WASM`, s.ratios.larderVsRaw <= TARGET_VS_RAW, s.ratios.larderVsRaw],
      [`${s.shape}: joinFeatures <= ${TARGET_VS_NATIVE[s.shape]}x native DuckDB 2 threads`, s.ratios.larderVsNative2 <= TARGET_VS_NATIVE[s.shape], s.ratios.larderVsNative2],
      [`${s.shape}: trainingData() end to end identical to TS (feature columns cell for cell, checksums)`,
        s.compareStore.mismatches === 0 && s.checksums.storeEqualsTs, s.compareStore.mismatches],
    ];
    for (const [target, pass, value] of checks) {
      verdicts.push({ target, pass, value });
      console.log(`${pass ? 'PASS' : 'FAIL'}  ${target}: ${typeof value === 'number' && !Number.isInteger(value) ? `${value.toFixed(2)}x` : `${value} mismatches`}`);
    }
  }
  const loadAfter = loadavg()[0];
  console.log(`1-min load average ${loadBefore.toFixed(2)} before, ${loadAfter.toFixed(2)} after; total pit bench time ${((Date.now() - started) / 1000).toFixed(0)} s`);
  const out = path.join(repoRoot, '.bench-results', 'pit.json');
  await mkdir(path.dirname(out), { recursive: true });
  await writeFile(
    out,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        code: version,
        machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, totalMemoryBytes: totalmem(), node: process.version },
        settings: { scale, runs, warmups, shapes },
        loadAverage: { before: loadBefore, after: loadAfter },
        verdicts,
        shapes: shapesOut,
      },
      null,
      2,
    ),
  );
  console.log(`results written to ${path.relative(process.cwd(), out)}`);
}

function report(shapes, table) {
  console.log('');
  const rows = [];
  const mb = (bytes) => (bytes / MB).toFixed(0);
  for (const s of shapes) {
    const inputs = mb(s.prepared.arrowIpcBytes);
    const runsText = (runs) => runs.map((x) => x.toFixed(2)).join(' ');
    const cpu = (x) => (x === null || x === undefined ? '–' : x.toFixed(2));
    const vsRaw = (x) => (x / s.raw.medianSeconds).toFixed(2);
    rows.push([s.shape, 'raw DuckDB-WASM (ASOF + fetch Arrow)', s.raw.medianSeconds.toFixed(3), runsText(s.raw.runs), cpu(s.raw.medianCpuSeconds), (s.ts.medianSeconds / s.raw.medianSeconds).toFixed(2), '1.00', mb(s.raw.ownPssBytes), mb(s.raw.outputBytes), inputs]);
    rows.push([s.shape, 'Larder TS (indices + gather to Arrow)', s.ts.medianSeconds.toFixed(3), runsText(s.ts.runs), cpu(s.ts.medianCpuSeconds), '1.00', vsRaw(s.ts.medianSeconds), mb(s.ts.ownPssBytes), mb(s.ts.outputBytes), inputs]);
    rows.push([s.shape, 'Larder joinFeatures (stored-row shape)', s.larder.medianSeconds.toFixed(3), runsText(s.larder.runs), cpu(s.larder.medianCpuSeconds), (s.ts.medianSeconds / s.larder.medianSeconds).toFixed(2), vsRaw(s.larder.medianSeconds), mb(s.larder.ownPssBytes), mb(s.larder.outputBytes), inputs]);
    rows.push([s.shape, 'Larder trainingData() (end to end)', s.store.medianSeconds.toFixed(3), runsText(s.store.runs), cpu(s.store.medianCpuSeconds), (s.ts.medianSeconds / s.store.medianSeconds).toFixed(2), vsRaw(s.store.medianSeconds), mb(s.store.ownPssBytes), mb(s.store.outputBytes), inputs]);
    for (const threads of [1, 2]) {
      const n = s.native.byThreads[threads];
      rows.push([s.shape, `native DuckDB ${threads} thread${threads === 1 ? '' : 's'}`, n.medianSeconds.toFixed(3), runsText(n.runs), cpu(n.medianCpuSeconds), (s.ts.medianSeconds / n.medianSeconds).toFixed(2), vsRaw(n.medianSeconds), mb(n.peakRssAboveBytes), '', inputs]);
    }
  }
  console.log(table(['shape', 'engine', 'median s', 'runs s', 'CPU s', 'TS / this', 'this / raw', 'run +MB', 'output MB', 'inputs MB'], rows));
  console.log('  (TS / this: Larder TS median time over this engine\'s, < 1 = Larder faster; this / raw: this engine\'s median time over raw ' +
    'DuckDB-WASM\'s, < 1 = faster than raw; CPU s: median CPU seconds of all Chromium ' +
    'processes (browser) or of the Node process (native) in the timed region; run +MB: peak PSS of all Chromium processes above ' +
    'the settled level before the run (browser), or peak VmRSS of the Node process above the level before the query (native); ' +
    'output: the result\'s own buffers (TS: new feature columns; spine columns are passed through); inputs: spine + groups as Arrow IPC)');
  for (const s of shapes) {
    console.log(`  ${s.shape} TS phases (median s): ${s.ts.phases.map(([n, v]) => `${n} ${v.toFixed(3)}`).join(' | ')}`);
    console.log(`  ${s.shape} joinFeatures (median s): ${s.larder.medianSeconds.toFixed(3)}, ${(s.larder.medianSeconds / s.raw.medianSeconds).toFixed(2)}x raw DuckDB-WASM, ` +
      `${(s.larder.medianSeconds / s.native.byThreads[2].medianSeconds).toFixed(2)}x native 2 threads; vs raw: ${s.compareLarder.mismatches} mismatches` +
      `${s.compareLarder.first === null ? '' : ` (first: ${s.compareLarder.first})`}`);
    console.log(`  ${s.shape} trainingData() end to end (median s): ${s.store.medianSeconds.toFixed(3)}, ${s.ratios.storeVsRaw.toFixed(2)}x raw DuckDB-WASM, ` +
      `${s.ratios.storeVsTs.toFixed(2)}x the TS join, ${(s.store.medianSeconds / s.native.byThreads[2].medianSeconds).toFixed(2)}x native 2 threads; ` +
      `vs TS: ${s.compareStore.cells.toLocaleString('en-US')} feature cells, ${s.compareStore.mismatches} mismatches` +
      `${s.compareStore.first === null ? '' : ` (first: ${s.compareStore.first})`}, checksum = TS: ${s.checksums.storeEqualsTs}`);
    console.log(`  ${s.shape} trainingData() JS steps besides joinFeatures (one rerun in the page, s): ` +
      `${s.diagnosisStore.map(([n, v]) => `${n} ${v.toFixed(3)}`).join(' | ')}`);
    console.log(`  ${s.shape} trainingData() time by DuckDB request kind (median s, traced in the store's DuckDB worker): ` +
      `${s.store.duckdb.map(([n, v]) => `${n} ${v.toFixed(3)}`).join(' | ')}`);
    const inSteps = s.diagnosis.reduce((sum, [, v]) => sum + v, 0);
    console.log(`  ${s.shape} joinFeatures steps (one run, s): ${s.diagnosis.map(([n, v]) => `${n} ${v.toFixed(3)}`).join(' | ')}; ` +
      `sum ${inSteps.toFixed(3)}, so the gather is about ${Math.max(0, s.larder.medianSeconds - inSteps).toFixed(3)}`);
    console.log(`  ${s.shape} TS memory: run +PSS ${(s.ratios.tsPssVsInputs).toFixed(2)}x the inputs, ${(s.ratios.tsPssLessOutputVsInputs).toFixed(2)}x without the output's own buffers`);
    console.log(`  ${s.shape} results: ${s.compare.cells.toLocaleString('en-US')} feature cells compared raw vs TS, ${s.compare.nulls.toLocaleString('en-US')} null on both, ` +
      `${s.compare.mismatches} mismatches${s.compare.first === null ? '' : ` (first: ${s.compare.first})`}; checksums (count, sum, row-weighted sum per column) ` +
      `raw = TS: ${s.checksums.rawEqualsTs}, native = TS: ${s.checksums.nativeEqualsTs}`);
  }
  console.log('');
}
