// Seeded data for the point-in-time join benchmark (bench/pit.ts in the page, bench/pit-native.mjs in Node).
// Plain JavaScript so that Node 20 imports it as is: both sides generate the very same columns from the same seed.
//
// Two shapes (issue 3, "Benchmark"); `scale` multiplies the spine and group row counts (BENCH_PIT_SCALE):
// - wide: 1M spine rows × 3 groups of 1M rows, 10k entities, 5 float64 features per group, TTL on two groups,
//   ~2 % of group rows repeating an earlier row's (entity, event time) with a later commit id;
// - skewed: 3M flight-like events (origin and destination airport among 300, Zipf-distributed, in time order)
//   × 2 groups of 300 airports × 134 days = 40,200 rows of per-airport daily statistics, stamped at the end of
//   their day, so a flight sees the previous day's statistics of its origin and of its destination.
//   Synthetic, not vega-datasets' flights-3m.parquet: same shape, generated to stay within the time budget.
//
// Times are epoch microseconds as float64 (whole seconds, so exact). Feature values are multiples of 1/1024 below
// 1024, so sums over millions of them are exact in float64 whatever the order: checksums compare exactly across
// engines.

export const DAY_US = 86_400_000_000;
const BASE_US = Date.UTC(2001, 0, 1) * 1000;
export const FEATURES = ['f0', 'f1', 'f2', 'f3', 'f4'];

/** mulberry32: a small seeded PRNG giving floats in [0, 1). */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function features(random, m) {
  const out = {};
  for (const name of FEATURES) {
    const v = new Float64Array(m);
    for (let j = 0; j < m; j++) v[j] = Math.floor(random() * 1048576) / 1024;
    out[name] = v;
  }
  return out;
}

/**
 * wide: returns { spine: { rn, key, ts }, groups: [{ name, key, ts, commit, features: {f0..f4}, ttl }] }.
 * Group rows are in random time order (written in 100 commits); tie rows copy the (entity, time) of a row from an
 * earlier commit.
 */
export function makeWide(scale = 1, seed = 42) {
  const random = rng(seed);
  const entities = 10_000;
  const n = Math.max(1, Math.round(1_000_000 * scale));
  const m = Math.max(1, Math.round(1_000_000 * scale));
  const span = 365 * 86_400; // seconds
  const ttls = [7 * DAY_US, 2 * DAY_US, null];
  const groups = ttls.map((ttl, g) => {
    const key = new Int32Array(m);
    const ts = new Float64Array(m);
    const commit = new Int32Array(m);
    const perCommit = Math.ceil(m / 100);
    // (entity, second, commit) of every row so far: no two rows of one commit share an entity and event time, so
    // "latest commit wins" decides every tie and the SQL dedup (ORDER BY commit DESC) is deterministic.
    const seen = new Set();
    for (let j = 0; j < m; j++) {
      const c = Math.floor(j / perCommit);
      commit[j] = c + 1;
      for (;;) {
        if (c > 0 && random() < 0.02) {
          const from = Math.floor(random() * c * perCommit); // a row of an earlier commit
          key[j] = key[from];
          ts[j] = ts[from];
        } else {
          key[j] = Math.floor(random() * entities);
          ts[j] = BASE_US + Math.floor(random() * span) * 1_000_000;
        }
        const id = ((key[j] * 2 ** 25 + (ts[j] - BASE_US) / 1_000_000) * 128) + c;
        if (!seen.has(id)) {
          seen.add(id);
          break;
        }
      }
    }
    return { name: `g${g}`, key, ts, commit, features: features(random, m), ttl };
  });
  const rn = new Int32Array(n);
  const key = new Int32Array(n);
  const ts = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    rn[i] = i;
    key[i] = Math.floor(random() * entities);
    ts[i] = BASE_US + Math.floor((random() * (span + 20 * 86_400)) - 10 * 86_400) * 1_000_000;
  }
  return { shape: 'wide', spine: { rn, keys: { key }, ts }, groups: groups.map((g) => ({ ...g, spineKey: 'key' })) };
}

/** Zipf(1) over `count` items: the cumulative distribution, for inverse sampling. */
function zipfCdf(count) {
  const cdf = new Float64Array(count);
  let total = 0;
  for (let r = 0; r < count; r++) cdf[r] = total += 1 / (r + 1);
  for (let r = 0; r < count; r++) cdf[r] /= total;
  return cdf;
}

function sample(cdf, u) {
  let a = 0;
  let b = cdf.length - 1;
  while (a < b) {
    const mid = (a + b) >>> 1;
    if (cdf[mid] < u) a = mid + 1;
    else b = mid;
  }
  return a;
}

/**
 * skewed: returns { spine: { rn, keys: { origin, dest }, ts }, groups: [origin stats, destination stats] }. Group
 * rows are written day by day (commit = day + 1), each stamped at the end of its day.
 */
export function makeSkewed(scale = 1, seed = 7) {
  const random = rng(seed);
  const airports = 300;
  const days = 134;
  const n = Math.max(1, Math.round(3_000_000 * scale));
  const cdf = zipfCdf(airports);
  // Airport codes are not their popularity rank: a fixed shuffle of 0..299.
  const code = Int32Array.from({ length: airports }, (_, i) => i);
  for (let i = airports - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [code[i], code[j]] = [code[j], code[i]];
  }
  const groups = ['origin', 'dest'].map((spineKey) => {
    const m = airports * days;
    const key = new Int32Array(m);
    const ts = new Float64Array(m);
    const commit = new Int32Array(m);
    for (let d = 0, j = 0; d < days; d++) {
      for (let a = 0; a < airports; a++, j++) {
        key[j] = a;
        ts[j] = BASE_US + (d + 1) * DAY_US; // statistics of day d, known at its end
        commit[j] = d + 1;
      }
    }
    return { name: `${spineKey}_daily`, key, ts, commit, features: features(random, m), ttl: null, spineKey };
  });
  const rn = new Int32Array(n);
  const origin = new Int32Array(n);
  const dest = new Int32Array(n);
  const ts = new Float64Array(n);
  const spanSeconds = days * 86_400;
  for (let i = 0; i < n; i++) {
    rn[i] = i;
    origin[i] = code[sample(cdf, random())];
    dest[i] = code[sample(cdf, random())];
    // Flights in time order, a few minutes of jitter.
    ts[i] = BASE_US + (Math.floor((i / n) * spanSeconds) + Math.floor(random() * 600)) * 1_000_000;
  }
  return { shape: 'skewed', spine: { rn, keys: { origin, dest }, ts }, groups };
}

export function makeShape(shape, scale) {
  if (shape === 'wide') return makeWide(scale);
  if (shape === 'skewed') return makeSkewed(scale);
  throw new Error(`Unknown shape '${shape}'.`);
}

/**
 * The hand-written ASOF query over tables named spine, g0/g1/... (or the group names): ties deduplicated first
 * (latest commit wins), TTL applied to the match, output in spine order. `ts` columns are TIMESTAMP.
 */
export function asofSql(data) {
  const ctes = data.groups.map((g) =>
    `"${g.name}_d" AS (SELECT key, ts, ${FEATURES.join(', ')} FROM "${g.name}" ` +
      `QUALIFY row_number() OVER (PARTITION BY key, ts ORDER BY commit DESC) = 1)`);
  const selected = ['s.rn'];
  const joins = [];
  data.groups.forEach((g, gi) => {
    const alias = `j${gi}`;
    joins.push(`ASOF LEFT JOIN "${g.name}_d" AS ${alias} ON s."${g.spineKey}" = ${alias}.key AND s.ts >= ${alias}.ts`);
    for (const f of FEATURES) {
      const value = `${alias}.${f}`;
      selected.push(g.ttl === null
        ? `${value} AS "${g.name}_${f}"`
        : `CASE WHEN ${alias}.ts >= s.ts - to_microseconds(${g.ttl}) THEN ${value} END AS "${g.name}_${f}"`);
    }
  });
  return `WITH ${ctes.join(',\n  ')}\nSELECT ${selected.join(', ')}\nFROM spine AS s\n${joins.join('\n')}\nORDER BY s.rn`;
}

/** Per output feature column: [non-null count, sum, sum of value × (rn % 251 + 1)], as SQL over a result table. */
export function checksumSql(data, table) {
  const parts = [];
  for (const g of data.groups) {
    for (const f of FEATURES) {
      const c = `"${g.name}_${f}"`;
      parts.push(`count(${c})::DOUBLE`, `coalesce(sum(${c}), 0)::DOUBLE`, `coalesce(sum(${c} * (rn % 251 + 1)), 0)::DOUBLE`);
    }
  }
  return `SELECT ${parts.join(', ')} FROM ${table}`;
}

/** The same checksum over columns in JS (Float64Array per output column, NaN = null), in spine order. */
export function checksumColumns(columns) {
  const out = [];
  for (const values of columns) {
    let count = 0;
    let sum = 0;
    let weighted = 0;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v !== v) continue;
      count++;
      sum += v;
      weighted += v * ((i % 251) + 1);
    }
    out.push(count, sum, weighted);
  }
  return out;
}

/** Bytes of the inputs as Arrow would hold them (int32 keys/rn/commit, float64 times and features). */
export function arrowBytes(data) {
  let bytes = data.spine.rn.byteLength + data.spine.ts.byteLength;
  for (const k of Object.values(data.spine.keys)) bytes += k.byteLength;
  for (const g of data.groups) {
    bytes += g.key.byteLength + g.ts.byteLength + g.commit.byteLength;
    for (const f of FEATURES) bytes += g.features[f].byteLength;
  }
  return bytes;
}
