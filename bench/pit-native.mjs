// Native DuckDB (@duckdb/node-api) side of the point-in-time join benchmark: generates the same seeded data as the
// page (bench/pit-data.mjs), loads it into an in-memory database (outside timing), then runs the same hand-written
// ASOF query with each thread count: warm-up runs, then measured runs, each reading the whole result
// (runAndReadAll). Prints one JSON object on stdout. Run by bench/pit-run.mjs as a child process, so its memory is
// its own:
//
//   node bench/pit-native.mjs <wide|skewed> <scale> <threads,threads> <runs> <warmups>
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { FEATURES, asofSql, checksumSql, makeShape } from './pit-data.mjs';

const [shape = 'wide', scaleText = '1', threadsText = '1,2', runsText = '3', warmupsText = '1'] = process.argv.slice(2);
const scale = Number(scaleText);
const threadCounts = threadsText.split(',').map(Number);
const runs = Number(runsText);
const warmups = Number(warmupsText);

function rssBytes() {
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return match === null ? 0 : Number(match[1]) * 1024;
}

/** Writes columns as CSV (times as integer µs, float64 values with JS's round-trip formatting). */
async function writeCsv(file, columns) {
  const names = Object.keys(columns);
  const arrays = names.map((n) => columns[n]);
  const out = createWriteStream(file);
  out.write(`${names.join(',')}\n`);
  const n = arrays[0].length;
  const batch = 65_536;
  for (let lo = 0; lo < n; lo += batch) {
    const lines = [];
    for (let i = lo; i < Math.min(n, lo + batch); i++) lines.push(arrays.map((a) => a[i]).join(','));
    if (!out.write(`${lines.join('\n')}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

async function main() {
  let started = performance.now();
  const data = makeShape(shape, scale);
  const generateSeconds = (performance.now() - started) / 1000;
  started = performance.now();
  const dir = await mkdtemp(path.join(tmpdir(), 'larder-pit-native-'));
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    const load = async (name, columns, keep) => {
      const file = path.join(dir, `${name}.csv`);
      await writeCsv(file, columns);
      const types = Object.fromEntries(Object.entries(columns).map(([k, v]) => [k, v instanceof Int32Array ? 'INTEGER' : k === 'ts' ? 'BIGINT' : 'DOUBLE']));
      const typeText = `{${Object.entries(types).map(([k, t]) => `'${k}': '${t}'`).join(', ')}}`;
      await conn.run(`CREATE TABLE "${name}" AS SELECT ${keep.join(', ')}, make_timestamp(ts) AS ts FROM read_csv('${file}', header = true, columns = ${typeText})`);
    };
    await load('spine', { rn: data.spine.rn, ...data.spine.keys, ts: data.spine.ts }, ['rn', ...Object.keys(data.spine.keys)]);
    for (const g of data.groups) {
      await load(g.name, { key: g.key, ts: g.ts, commit: g.commit, ...g.features }, ['key', 'commit', ...FEATURES]);
    }
    const loadSeconds = (performance.now() - started) / 1000;
    const sql = asofSql(data);
    await conn.run('SELECT count(*), sum(rn) FROM spine'); // warm-up
    const results = [];
    for (const threads of threadCounts) {
      await conn.run(`SET threads = ${threads}`);
      const timings = [];
      const cpuSeconds = [];
      let peakAbove = 0;
      for (let r = 0; r < warmups + runs; r++) {
        globalThis.gc?.();
        const before = rssBytes();
        let peak = before;
        const timer = setInterval(() => {
          peak = Math.max(peak, rssBytes());
        }, 20);
        const cpu0 = process.cpuUsage();
        const t0 = performance.now();
        const reader = await conn.runAndReadAll(sql);
        const seconds = (performance.now() - t0) / 1000;
        const cpu = process.cpuUsage(cpu0);
        clearInterval(timer);
        peak = Math.max(peak, rssBytes());
        if (reader.currentRowCount !== data.spine.rn.length) throw new Error(`native returned ${reader.currentRowCount} rows`);
        if (r >= warmups) {
          timings.push(seconds);
          cpuSeconds.push((cpu.user + cpu.system) / 1e6);
          peakAbove = Math.max(peakAbove, peak - before);
        }
      }
      results.push({ threads, runs: timings, cpuSeconds, peakRssAboveBytes: peakAbove });
    }
    // Checksum of the result, outside timing.
    await conn.run(`CREATE TEMP TABLE pit_result AS ${sql}`);
    const check = await conn.runAndReadAll(checksumSql(data, 'pit_result'));
    const checksum = check.getRows()[0].map(Number);
    process.stdout.write(`${JSON.stringify({ shape, scale, generateSeconds, loadSeconds, results, checksum, peakProcessRssBytes: rssBytes() })}\n`);
  } finally {
    conn.closeSync?.();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
