import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { pointInTimeIndices, takeIndices, type KeyValue, type PitGroup, type PitOptions, type PitSpine } from '../../src/offline/pit/join.ts';
import { encodeEntities } from '../../src/offline/pit/keys.ts';
import { InvalidArgumentError } from '../../src/errors.ts';
import { naivePointInTime } from '../support/pit-oracle.ts';

interface GroupRow {
  k: KeyValue[];
  t: number;
  c: number;
  /** commit time; defaults to 0 (known from the start) */
  known?: number;
  /** time of the superseding commit; omitted = current */
  replaced?: number;
}

function groupOf(rows: GroupRow[], keyCount = rows[0]?.k.length ?? 1): PitGroup {
  return {
    keys: Array.from({ length: keyCount }, (_, k) => rows.map((r) => r.k[k] ?? null)),
    time: Float64Array.from(rows, (r) => r.t),
    commitId: Float64Array.from(rows, (r) => r.c),
    committedAt: Float64Array.from(rows, (r) => r.known ?? 0),
    supersededAt: Float64Array.from(rows, (r) => r.replaced ?? NaN),
  };
}

function spineOf(rows: [KeyValue[], number][], keyCount = rows[0]?.[0].length ?? 1): PitSpine {
  return {
    keys: Array.from({ length: keyCount }, (_, k) => rows.map((r) => r[0][k] ?? null)),
    time: Float64Array.from(rows, (r) => r[1]),
  };
}

/** Runs the join and the oracle, checks they agree, returns the answer. */
function both(spine: PitSpine, group: PitGroup, options: PitOptions): number[] {
  const fast = Array.from(pointInTimeIndices(spine, group, options));
  expect(fast).toEqual(naivePointInTime(spine, group, options));
  return fast;
}

const plain: PitOptions = { ttl: null, asOfKnown: false };

describe('pointInTimeIndices: hand-computed cases', () => {
  it('takes the latest event at or before the spine time, inclusive', () => {
    const group = groupOf([
      { k: ['a'], t: 10, c: 1 },
      { k: ['a'], t: 20, c: 1 },
      { k: ['a'], t: 30, c: 1 },
    ]);
    const spine = spineOf([[['a'], 9], [['a'], 10], [['a'], 19], [['a'], 20], [['a'], 29.5], [['a'], 31]]);
    expect(both(spine, group, plain)).toEqual([-1, 0, 0, 1, 1, 2]);
  });

  it('breaks exact event-time ties by the latest commit, then by the later row of one commit', () => {
    const group = groupOf([
      { k: [1], t: 10, c: 3 },
      { k: [1], t: 10, c: 7 }, // wins at t=10
      { k: [1], t: 10, c: 5 },
      { k: [1], t: 20, c: 2 },
      { k: [1], t: 20, c: 2 }, // same commit: the later row wins
      { k: [1], t: 20, c: 1 },
    ]);
    expect(both(spineOf([[[1], 10], [[1], 15], [[1], 20], [[1], 100]]), group, plain)).toEqual([1, 1, 4, 4]);
  });

  it('includes an event exactly ts - ttl old and excludes one 1 µs older', () => {
    const base = 1_700_000_000_000_000; // a realistic epoch in µs
    const group = groupOf([{ k: ['x'], t: base, c: 1 }]);
    const ttl = 3_600_000_000;
    const spine = spineOf([[['x'], base + ttl], [['x'], base + ttl + 1], [['x'], base - 1], [['x'], base]]);
    expect(both(spine, group, { ttl, asOfKnown: false })).toEqual([0, -1, -1, 0]);
    expect(both(spine, group, { ttl: 0, asOfKnown: false })).toEqual([-1, -1, -1, 0]);
  });

  it('does not fall back to an older row when the latest one is beyond the TTL', () => {
    const group = groupOf([
      { k: ['x'], t: 0, c: 1 },
      { k: ['x'], t: 5, c: 1 },
    ]);
    expect(both(spineOf([[['x'], 12], [['x'], 10]]), group, { ttl: 5, asOfKnown: false })).toEqual([-1, 1]);
  });

  it('gives -1 to entities without history, spine rows before all history and null keys', () => {
    const group = groupOf([
      { k: ['a'], t: 10, c: 1 },
      { k: [null], t: 5, c: 1 },
    ]);
    const spine = spineOf([[['b'], 50], [['a'], 5], [[null], 50], [['a'], Number.NaN], [['a'], 10]]);
    expect(both(spine, group, plain)).toEqual([-1, -1, -1, -1, 0]);
  });

  it('joins on composite keys mixing strings and integers, number and bigint alike', () => {
    const group = groupOf([
      { k: ['nyc', 1], t: 1, c: 1 },
      { k: ['nyc', 2], t: 1, c: 1 },
      { k: ['sea', 1], t: 1, c: 1 },
      { k: ['1', 1], t: 1, c: 1 },
    ]);
    const spine = spineOf([
      [['nyc', 2n], 5],
      [['sea', 1], 5],
      [['sea', 2], 5],
      [[1, 1], 5], // the number 1 is not the string '1'
      [['1', 1n], 5],
      [['nyc', null], 5],
    ]);
    expect(both(spine, group, plain)).toEqual([1, 2, -1, -1, 3, -1]);
  });

  it('keeps every spine row, duplicates included, in spine order', () => {
    const group = groupOf([
      { k: [7], t: 1, c: 1 },
      { k: [8], t: 2, c: 1 },
    ]);
    const spine = spineOf([[[8], 3], [[7], 3], [[8], 3], [[8], 3], [[9], 3], [[7], 0]]);
    expect(both(spine, group, plain)).toEqual([1, 0, 1, 1, -1, -1]);
  });

  it('without asOfKnown sees only current rows', () => {
    const group = groupOf([
      { k: ['a'], t: 10, c: 1, replaced: 50 },
      { k: ['a'], t: 10, c: 2 },
      { k: ['a'], t: 20, c: 1, replaced: 60 }, // replaced and no successor: gone
    ]);
    expect(both(spineOf([[['a'], 15], [['a'], 25]]), group, plain)).toEqual([1, 1]);
  });

  it('with asOfKnown hides rows committed after the spine time', () => {
    const group = groupOf([
      { k: ['a'], t: 10, c: 1, known: 11 },
      { k: ['a'], t: 20, c: 2, known: 100 }, // backfilled late
      { k: ['a'], t: 20, c: 3, known: 25 },
      { k: ['a'], t: 30, c: 4, known: 30 },
    ]);
    const spine = spineOf([[['a'], 10], [['a'], 11], [['a'], 24], [['a'], 25], [['a'], 30], [['a'], 100]]);
    expect(both(spine, group, { ttl: null, asOfKnown: true })).toEqual([-1, 0, 0, 2, 3, 3]);
    // Without asOfKnown everything current counts.
    expect(both(spine, group, plain)).toEqual([0, 0, 2, 2, 3, 3]);
  });

  it('with asOfKnown shows a row superseded after the spine time and hides it from the superseding commit on', () => {
    const group = groupOf([
      { k: ['a'], t: 10, c: 1, known: 10, replaced: 40 }, // upserted at 40 by row 1
      { k: ['a'], t: 10, c: 2, known: 40 },
    ]);
    const spine = spineOf([[['a'], 9], [['a'], 10], [['a'], 39], [['a'], 40], [['a'], 41]]);
    expect(both(spine, group, { ttl: null, asOfKnown: true })).toEqual([-1, 0, 0, 1, 1]);
    expect(both(spine, group, plain)).toEqual([-1, 1, 1, 1, 1]);
  });

  it('with asOfKnown and a TTL, stops at the TTL bound', () => {
    const group = groupOf([
      { k: ['a'], t: 0, c: 1, known: 0 },
      { k: ['a'], t: 8, c: 2, known: 100 },
    ]);
    const spine = spineOf([[['a'], 9], [['a'], 10], [['a'], 100]]);
    expect(both(spine, group, { ttl: 9, asOfKnown: true })).toEqual([0, -1, -1]);
    expect(both(spine, group, { ttl: 92, asOfKnown: true })).toEqual([0, 0, 1]);
  });

  it('joins on time alone when there are no key columns', () => {
    const group = groupOf([
      { k: [], t: 5, c: 1 },
      { k: [], t: 1, c: 1 },
    ], 0);
    expect(both(spineOf([[[], 0], [[], 3], [[], 7]], 0), group, plain)).toEqual([-1, 1, 0]);
  });

  it('handles empty inputs', () => {
    expect(both(spineOf([]), groupOf([{ k: ['a'], t: 1, c: 1 }]), plain)).toEqual([]);
    expect(both(spineOf([[['a'], 1]]), groupOf([], 1), plain)).toEqual([-1]);
  });

  it('rejects inconsistent inputs with clear errors', () => {
    const group = groupOf([{ k: ['a'], t: 1, c: 1 }]);
    expect(() => pointInTimeIndices(spineOf([[['a', 'b'], 1]]), group, plain)).toThrow(InvalidArgumentError);
    expect(() => pointInTimeIndices(spineOf([[['a'], 1]]), { ...group, committedAt: undefined }, { ttl: null, asOfKnown: true })).toThrow(
      /committedAt/,
    );
    expect(() => pointInTimeIndices(spineOf([[['a'], 1]]), { ...group, commitId: new Float64Array(2) }, plain)).toThrow(/commitId/);
    expect(() => pointInTimeIndices(spineOf([[['a'], 1]]), group, { ttl: -1, asOfKnown: false })).toThrow(/TTL/);
    expect(() => pointInTimeIndices({ keys: [[{} as never]], time: new Float64Array(1) }, group, plain)).toThrow(InvalidArgumentError);
  });

  it('encodes entities densely and shares them between spine and group', () => {
    const codes = encodeEntities([['a', 'b', null, 'z']], [['b', 'a', 'b', null]], 4, 4);
    expect(Array.from(codes.group)).toEqual([0, 1, 0, -1]);
    expect(Array.from(codes.spine)).toEqual([1, 0, -1, -1]);
    expect(codes.count).toBe(2);
    // Wide integer keys take the Map path; huge integers compare by value across number and bigint.
    const big = 2 ** 60;
    const wide = encodeEntities([[BigInt(big), 5, -3e12]], [[-3e12, big, 7]], 3, 3);
    expect(Array.from(wide.spine)).toEqual([1, -1, 0]);
  });

  it('gathers values by index', () => {
    expect(takeIndices(new Int32Array([2, -1, 0]), ['a', 'b', 'c'])).toEqual(['c', null, 'a']);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Property tests against the naive oracle.

type KeyKind = 'int' | 'string' | 'bigint' | 'mixed';

const STRINGS = ['a', 'b', "it's", 'ünï', '', 'a"b'];

function keyValue(kind: KeyKind, domain: number): fc.Arbitrary<KeyValue> {
  const value: fc.Arbitrary<KeyValue> =
    kind === 'int'
      ? fc.integer({ min: -1, max: domain - 2 })
      : kind === 'bigint'
        ? fc.bigInt({ min: -1n, max: BigInt(domain - 2) })
        : kind === 'string'
          ? fc.constantFrom(...STRINGS.slice(0, domain))
          : fc.oneof(fc.integer({ min: 0, max: domain - 1 }), fc.bigInt({ min: 0n, max: BigInt(domain - 1) }));
  return fc.option(value, { freq: 12, nil: null });
}

interface Workload {
  spine: PitSpine;
  group: PitGroup;
  options: PitOptions;
}

const workload = (maxGroup: number, maxSpine: number, maxTime: number): fc.Arbitrary<Workload> =>
  fc
    .record({
      kinds: fc.array(fc.constantFrom<KeyKind>('int', 'string', 'bigint', 'mixed'), { maxLength: 3 }),
      domain: fc.integer({ min: 1, max: 5 }),
      times: fc.integer({ min: 1, max: maxTime }),
      commits: fc.integer({ min: 1, max: 5 }),
    })
    .chain(({ kinds, domain, times, commits }) => {
      const keys = fc.tuple(...kinds.map((k) => keyValue(k, domain)));
      const time = fc.integer({ min: 0, max: times });
      const groupRow = fc.record({
        k: keys,
        t: fc.oneof({ weight: 20, arbitrary: time }, { weight: 1, arbitrary: fc.constant(Number.NaN) }),
        c: fc.integer({ min: 1, max: commits }),
        known: fc.oneof({ weight: 20, arbitrary: fc.integer({ min: 0, max: times + 2 }) }, { weight: 1, arbitrary: fc.constant(Number.NaN) }),
        replaced: fc.option(fc.integer({ min: 0, max: times + 2 }), { nil: undefined }),
      });
      const spineRow = fc.tuple(
        keys,
        fc.oneof({ weight: 20, arbitrary: fc.integer({ min: -1, max: times + 1 }) }, { weight: 1, arbitrary: fc.constant(Number.NaN) }),
      );
      return fc.record({
        group: fc.array(groupRow, { maxLength: maxGroup }),
        spine: fc.array(spineRow, { maxLength: maxSpine }),
        ttl: fc.option(fc.integer({ min: 0, max: times }), { nil: null }),
        asOfKnown: fc.boolean(),
        withSuperseded: fc.boolean(),
      }).map(({ group, spine, ttl, asOfKnown, withSuperseded }): Workload => {
        const g = groupOf(group, kinds.length);
        return {
          spine: spineOf(spine, kinds.length),
          group: withSuperseded ? g : { ...g, supersededAt: undefined },
          options: { ttl, asOfKnown },
        };
      });
    });

function keysEqual(a: KeyValue, b: KeyValue): boolean {
  if (a === null || b === null) return false;
  // number == bigint compares the values exactly
  return typeof a === 'string' || typeof b === 'string' ? a === b : a == b;
}

describe('pointInTimeIndices: properties', () => {
  it('equals the naive oracle on small random workloads (ties, boundaries, nulls, late commits)', () => {
    fc.assert(
      fc.property(workload(30, 25, 8), ({ spine, group, options }) => {
        expect(Array.from(pointInTimeIndices(spine, group, options))).toEqual(naivePointInTime(spine, group, options));
      }),
      { numRuns: 1000 },
    );
  });

  it('equals the naive oracle on larger workloads (long entity histories, unsorted input)', () => {
    fc.assert(
      fc.property(workload(400, 100, 60), ({ spine, group, options }) => {
        expect(Array.from(pointInTimeIndices(spine, group, options))).toEqual(naivePointInTime(spine, group, options));
      }),
      { numRuns: 150 },
    );
  });

  it('never leaks the future: chosen rows are at or before the spine time, known then, within the TTL and same keys', () => {
    fc.assert(
      fc.property(workload(40, 30, 10), ({ spine, group, options }) => {
        const chosen = pointInTimeIndices(spine, group, options);
        chosen.forEach((j, i) => {
          if (j < 0) return;
          const ts = spine.time[i]!;
          expect(group.time[j]).toBeLessThanOrEqual(ts);
          if (options.ttl !== null) expect(group.time[j]).toBeGreaterThanOrEqual(ts - options.ttl);
          const replaced = group.supersededAt?.[j] ?? Number.NaN;
          if (options.asOfKnown) {
            expect(group.committedAt![j]).toBeLessThanOrEqual(ts);
            if (!Number.isNaN(replaced)) expect(replaced).toBeGreaterThan(ts);
          } else {
            expect(replaced).toBeNaN();
          }
          spine.keys.forEach((column, k) => expect(keysEqual(column[i] ?? null, group.keys[k]![j] ?? null)).toBe(true));
        });
      }),
      { numRuns: 500 },
    );
  });

  it('planted future values change nothing; with asOfKnown neither do values committed later', () => {
    fc.assert(
      fc.property(workload(30, 25, 8), ({ spine, group, options }) => {
        const n = spine.time.length;
        const m = group.time.length;
        const horizon = Math.max(0, ...Array.from(spine.time).filter((t) => !Number.isNaN(t))) + 1;
        // For every spine row, a row with its keys dated after every spine time, and one at its very time but
        // committed after every spine time. Both carry the highest commit id, so they would win every tie.
        const planted: PitGroup = {
          keys: group.keys.map((c, k) => [...Array.from(c), ...Array.from(spine.keys[k]!), ...Array.from(spine.keys[k]!)]),
          time: Float64Array.from([...group.time, ...new Array<number>(n).fill(horizon), ...spine.time]),
          commitId: Float64Array.from([...group.commitId, ...new Array<number>(2 * n).fill(99)]),
          committedAt: Float64Array.from([...group.committedAt!, ...new Array<number>(2 * n).fill(horizon)]),
          supersededAt: Float64Array.from([...(group.supersededAt ?? new Float64Array(m).fill(Number.NaN)), ...new Array<number>(2 * n).fill(Number.NaN)]),
        };
        const expected = Array.from(pointInTimeIndices(spine, group, { ...options, asOfKnown: true }));
        expect(Array.from(pointInTimeIndices(spine, planted, { ...options, asOfKnown: true }))).toEqual(expected);
        const futureOnly: PitGroup = {
          ...planted,
          keys: planted.keys.map((c) => Array.from(c).slice(0, m + n)),
          time: planted.time.slice(0, m + n),
          commitId: planted.commitId.slice(0, m + n),
          committedAt: planted.committedAt!.slice(0, m + n),
          supersededAt: planted.supersededAt!.slice(0, m + n),
        };
        const current = Array.from(pointInTimeIndices(spine, group, { ...options, asOfKnown: false }));
        expect(Array.from(pointInTimeIndices(spine, futureOnly, { ...options, asOfKnown: false }))).toEqual(current);
      }),
      { numRuns: 300 },
    );
  });

  it('equals the oracle on a big seeded workload with one hot entity (tree search, merge sort)', () => {
    let seed = 42;
    const rand = () => {
      // mulberry32
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const m = 3000;
    const n = 1500;
    const groupKeys = Array.from({ length: m }, () => (rand() < 0.7 ? 0 : Math.floor(rand() * 20)));
    const group: PitGroup = {
      keys: [groupKeys],
      time: Float64Array.from({ length: m }, () => Math.floor(rand() * 500)),
      commitId: Float64Array.from({ length: m }, () => 1 + Math.floor(rand() * 10)),
      committedAt: Float64Array.from({ length: m }, () => Math.floor(rand() * 1000)),
      supersededAt: Float64Array.from({ length: m }, () => (rand() < 0.2 ? Math.floor(rand() * 1000) : Number.NaN)),
    };
    const spine: PitSpine = {
      keys: [Array.from({ length: n }, () => Math.floor(rand() * 21))],
      time: Float64Array.from({ length: n }, () => Math.floor(rand() * 1000)),
    };
    for (const options of [
      { ttl: null, asOfKnown: false },
      { ttl: null, asOfKnown: true },
      { ttl: 50, asOfKnown: true },
      { ttl: 50, asOfKnown: false },
    ]) {
      expect(Array.from(pointInTimeIndices(spine, group, options))).toEqual(naivePointInTime(spine, group, options));
    }
  });
});
