// Prints the reliability report card from the figures the drills left in .reliability-results/ (see
// vitest.reliability.config.ts), and exits non-zero when a drill is missing or incomplete, or a figure that must be
// zero is not.
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';

const DIRECTORY = '.reliability-results';

/** The drills `npm run reliability` runs; a missing one fails the card. */
const DRILLS = ['ingest-kill', 'reload-after-ack'];

/** Rows of the card no drill measures yet, and where their cover is today. */
const NOT_MEASURED = [
  ['kill while materializing / registering a model / pushing a snapshot', 'no drill yet'],
  ['bad inputs tried / crashes / hangs', 'covered in CI by test/unit/hostile-input.node.test.ts and test/browser/hostile-input.browser.test.ts; not counted here yet'],
  ['CSP violations', 'no drill yet'],
  ['residual erasure hits', 'no drill yet (test/browser/erasure-probe.browser.test.ts probes OPFS bytes)'],
  ['tab failover time', 'no drill yet'],
];

async function load(drill) {
  try {
    return JSON.parse(await readFile(join(DIRECTORY, `${drill}.json`), 'utf8'));
  } catch {
    return null;
  }
}

function table(rows) {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => String(r[c]).length)));
  return rows.map((r) => r.map((cell, c) => String(cell).padEnd(widths[c])).join('  ').trimEnd()).join('\n');
}

const extra = (await readdir(DIRECTORY).catch(() => [])).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5));
const names = [...new Set([...DRILLS, ...extra])];
const results = await Promise.all(names.map(async (name) => ({ name, result: await load(name) })));
// The card's columns: the headline figures first, then any other must-be-zero figure a drill reports.
const zeroKeys = [...new Set(['tornBatches', 'lostCommits', 'failedOpens', ...results.flatMap(({ result }) => Object.keys(result?.mustBeZero ?? {}))])];

const failures = [];
const rows = [['drill', 'iterations', ...zeroKeys, 'time', 'status']];
for (const { name, result } of results) {
  if (result === null) {
    failures.push(`${name}: no results (the drill did not run or crashed)`);
    rows.push([name, '-', ...zeroKeys.map(() => '-'), '-', 'NOT RUN']);
    continue;
  }
  const bad = Object.entries(result.mustBeZero).filter(([, v]) => v !== 0);
  for (const [key, value] of bad) failures.push(`${name}: ${key} = ${value}`);
  if (!result.complete) failures.push(`${name}: did not finish (${result.iterations} iterations done)`);
  const status = !result.complete ? 'INCOMPLETE' : bad.length > 0 ? 'FAIL' : 'ok';
  rows.push([
    name,
    `${result.iterations}${result.quick ? ' (quick)' : ''}`,
    ...zeroKeys.map((k) => (k in result.mustBeZero ? result.mustBeZero[k] : '')),
    `${(result.durationMs / 1000).toFixed(0)} s`,
    status,
  ]);
}

console.log('Larder reliability report card\n');
console.log(table(rows));
console.log('\nOther figures');
for (const { name, result } of results) {
  if (result === null) continue;
  const figures = Object.entries(result.figures).map(([k, v]) => `${k} ${v}`).join(', ');
  console.log(`  ${name} (seed ${result.seed}): ${figures}`);
  for (const finding of result.findings) console.log(`    finding: ${finding}`);
}
console.log('\nNot measured yet');
for (const [row, cover] of NOT_MEASURED) console.log(`  ${row}: ${cover}`);

if (failures.length > 0) {
  console.log(`\nFAILED: ${failures.join('; ')}`);
  process.exitCode = 1;
} else {
  console.log('\nAll measured figures that must be zero are zero.');
}
