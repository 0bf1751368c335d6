import { describe, expect, it } from 'vitest';
import { makeData, makeVector, TimestampMicrosecond } from 'apache-arrow';
import {
  LEFT_OUT, SPLIT_CODES, assignSplits as assignSplitCodes, microsOf, normalizeSplit, seededRandom, splitVector, splitsOf, type SplitName,
} from '../../src/pipelines/training-data.ts';
import type { SplitSpec } from '../../src/registry/types.ts';
import { InvalidArgumentError } from '../../src/errors.ts';

const MS = 1000; // µs per ms: spine times are µs, split instants are ms.
const base = Date.UTC(2024, 0, 1); // ms

const micros = (...ms: number[]): Float64Array => Float64Array.from(ms, (t) => t * MS);
/** Split codes as names, to read the expectations easily. */
const assignSplits = (spec: SplitSpec, times: Float64Array): (SplitName | null)[] =>
  Array.from(assignSplitCodes(spec, times), (c) => (c === LEFT_OUT ? null : SPLIT_CODES[c]!));
const count = (splits: (SplitName | null)[], name: SplitName | null): number => splits.filter((s) => s === name).length;

describe('seededRandom', () => {
  it('is deterministic per seed, differs across seeds and stays in [0, 1)', () => {
    const draw = (seed: number) => {
      const next = seededRandom(seed);
      return Array.from({ length: 1000 }, () => next());
    };
    expect(draw(7)).toEqual(draw(7));
    expect(draw(7)).not.toEqual(draw(8));
    for (const v of [...draw(0), ...draw(-1), ...draw(2 ** 40)]) {
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThan(1);
    }
  });
});

describe('normalizeSplit', () => {
  it('defaults to a time split at the 80th percentile of spine times, in ms', () => {
    // 10 times, shuffled, 0..9 s after base: index floor(10 × 0.8) = 8 of the sorted times → base + 8 s.
    const times = micros(...[3, 9, 0, 7, 1, 8, 2, 6, 5, 4].map((s) => base + s * 1000));
    const split = normalizeSplit(undefined, times);
    expect(split).toEqual({ kind: 'time', trainEnd: base + 8000, testStart: base + 8000 });
    const assigned = assignSplits(split, times);
    expect(count(assigned, 'train')).toBe(8);
    expect(count(assigned, 'test')).toBe(2);
    expect(count(assigned, null)).toBe(0);
  });

  it('sorts numerically and ignores null (NaN) times for the default', () => {
    // Lexicographic sorting would put 100 before 20; NaNs must not shift the percentile.
    const t = Float64Array.from([100, 20, Number.NaN, 3, 40, 5, Number.NaN], (x) => x * MS);
    // Sorted non-NaN: 3, 5, 20, 40, 100 → index floor(5 × 0.8) = 4 → 100 ms.
    expect(normalizeSplit(undefined, t)).toEqual({ kind: 'time', trainEnd: 100, testStart: 100 });
  });

  it('defaults to 0 for an empty spine', () => {
    expect(normalizeSplit(undefined, new Float64Array(0))).toEqual({ kind: 'time', trainEnd: 0, testStart: 0 });
    expect(normalizeSplit(undefined, Float64Array.of(Number.NaN))).toEqual({ kind: 'time', trainEnd: 0, testStart: 0 });
  });

  it('fills random split defaults: seed 42, no validation key when it is 0', () => {
    const t = new Float64Array(0);
    expect(normalizeSplit({ kind: 'random', test: 0.2 }, t)).toEqual({ kind: 'random', test: 0.2, seed: 42 });
    expect(normalizeSplit({ kind: 'random', test: 0.2, validation: 0, seed: 1 }, t)).toEqual({ kind: 'random', test: 0.2, seed: 1 });
    expect(normalizeSplit({ kind: 'random', test: 0.2, validation: 0.1, seed: -5 }, t)).toEqual({ kind: 'random', test: 0.2, validation: 0.1, seed: -5 });
    expect(normalizeSplit({ kind: 'random', test: 0 }, t)).toEqual({ kind: 'random', test: 0, seed: 42 });
  });

  it('rejects bad random fractions and seeds', () => {
    const t = new Float64Array(0);
    const bad: unknown[] = [
      { kind: 'random' },
      { kind: 'random', test: '0.2' },
      { kind: 'random', test: -0.1 },
      { kind: 'random', test: 1 },
      { kind: 'random', test: 1.5 },
      { kind: 'random', test: 0.5, validation: 0.5 },
      { kind: 'random', test: 0.6, validation: 0.6 },
      { kind: 'random', test: 0.2, validation: -0.1 },
      { kind: 'random', test: 0.2, validation: '0.1' },
      { kind: 'random', test: Number.POSITIVE_INFINITY },
      { kind: 'random', test: 0.2, seed: 1.5 },
      { kind: 'random', test: 0.2, seed: '1' },
      { kind: 'random', test: 0.2, seed: 2 ** 60 },
    ];
    for (const split of bad) expect(() => normalizeSplit(split, t), JSON.stringify(split)).toThrow(InvalidArgumentError);
  });

  it('keeps a valid time split and rejects bad orders', () => {
    const t = new Float64Array(0);
    expect(normalizeSplit({ kind: 'time', trainEnd: 10, testStart: 10 }, t)).toEqual({ kind: 'time', trainEnd: 10, testStart: 10 });
    expect(normalizeSplit({ kind: 'time', trainEnd: 10, testStart: 30, validationStart: 20 }, t)).toEqual({
      kind: 'time', trainEnd: 10, testStart: 30, validationStart: 20,
    });
    // validationStart may equal either bound.
    expect(normalizeSplit({ kind: 'time', trainEnd: 10, testStart: 30, validationStart: 10 }, t)).toMatchObject({ validationStart: 10 });
    expect(normalizeSplit({ kind: 'time', trainEnd: 10, testStart: 30, validationStart: 30 }, t)).toMatchObject({ validationStart: 30 });
    const bad: unknown[] = [
      { kind: 'time' },
      { kind: 'time', trainEnd: 10 },
      { kind: 'time', trainEnd: 20, testStart: 10 },
      { kind: 'time', trainEnd: '2024-01-01', testStart: 10 },
      { kind: 'time', trainEnd: 10, testStart: 30, validationStart: 5 },
      { kind: 'time', trainEnd: 10, testStart: 30, validationStart: 31 },
      { kind: 'time', trainEnd: 10, testStart: 30, validationStart: '20' },
      { kind: 'temporal', trainEnd: 10, testStart: 30 },
      {},
      'random',
    ];
    for (const split of bad) expect(() => normalizeSplit(split, t), JSON.stringify(split)).toThrow(InvalidArgumentError);
  });

  // BUG (src/pipelines/training-data.ts, normalizeSplit): NaN passes `typeof x === 'number'` and every comparison is
  // false, so NaN fractions and instants are accepted. A NaN test fraction puts every row in train; a NaN trainEnd
  // drops every row before testStart. Flip to `it` once fixed (e.g. require Number.isFinite).
  it('rejects NaN fractions and instants', () => {
    const t = new Float64Array(0);
    expect(() => normalizeSplit({ kind: 'random', test: Number.NaN }, t)).toThrow(InvalidArgumentError);
    expect(() => normalizeSplit({ kind: 'random', test: 0.2, validation: Number.NaN }, t)).toThrow(InvalidArgumentError);
    expect(() => normalizeSplit({ kind: 'time', trainEnd: Number.NaN, testStart: 10 }, t)).toThrow(InvalidArgumentError);
    expect(() => normalizeSplit({ kind: 'time', trainEnd: 10, testStart: Number.NaN }, t)).toThrow(InvalidArgumentError);
  });

  // BUG (same function): `split as ...; s.kind` dereferences null, so `split: null` throws a TypeError, not
  // InvalidArgumentError. Flip to `it` once fixed.
  it('rejects a null split with InvalidArgumentError', () => {
    expect(() => normalizeSplit(null, new Float64Array(0))).toThrow(InvalidArgumentError);
  });
});

describe('assignSplits: random', () => {
  const n = 10_000;
  const times = new Float64Array(n); // times do not matter for a random split

  it('is reproducible for the same seed and different for another', () => {
    const spec: SplitSpec = { kind: 'random', test: 0.2, validation: 0.1, seed: 123 };
    const a = assignSplits(spec, times);
    expect(assignSplits(spec, times)).toEqual(a);
    expect(assignSplits({ ...spec, seed: 124 }, times)).not.toEqual(a);
    // A prefix of the spine splits the same way (the generator is consumed one draw per row).
    expect(assignSplits(spec, times.subarray(0, 100))).toEqual(a.slice(0, 100));
  });

  it('respects the fractions on 10k rows', () => {
    for (const seed of [1, 42, 2024]) {
      const a = assignSplits({ kind: 'random', test: 0.2, validation: 0.1, seed }, times);
      expect(a.every((s) => s === 'train' || s === 'test' || s === 'validation')).toBe(true);
      expect(Math.abs(count(a, 'test') / n - 0.2)).toBeLessThan(0.03);
      expect(Math.abs(count(a, 'validation') / n - 0.1)).toBeLessThan(0.03);
      expect(Math.abs(count(a, 'train') / n - 0.7)).toBeLessThan(0.03);
    }
    const noValidation = assignSplits({ kind: 'random', test: 0.25, seed: 5 }, times);
    expect(count(noValidation, 'validation')).toBe(0);
    expect(Math.abs(count(noValidation, 'test') / n - 0.25)).toBeLessThan(0.03);
  });

  it('puts everything in train with a zero test fraction', () => {
    expect(count(assignSplits({ kind: 'random', test: 0, seed: 9 }, times), 'train')).toBe(n);
  });

  it('uses the seeded draw per row: test below `test`, validation below `test + validation`', () => {
    const next = seededRandom(77);
    const draws = Array.from({ length: 200 }, () => next());
    const expected = draws.map((r) => (r < 0.3 ? 'test' : r < 0.45 ? 'validation' : 'train'));
    expect(assignSplits({ kind: 'random', test: 0.3, validation: 0.15, seed: 77 }, new Float64Array(200))).toEqual(expected);
  });

  it('returns an empty assignment for an empty spine', () => {
    expect(assignSplits({ kind: 'random', test: 0.2, seed: 1 }, new Float64Array(0))).toEqual([]);
  });
});

describe('assignSplits: time', () => {
  it('splits at ms instants against µs spine times: t < trainEnd → train, t ≥ testStart → test', () => {
    const spec: SplitSpec = { kind: 'time', trainEnd: base + 10, testStart: base + 10 };
    // 1 µs before the boundary is train; exactly at it is test.
    const t = Float64Array.of((base + 10) * MS - 1, (base + 10) * MS, (base + 10) * MS + 1, 0, (base + 1000) * MS);
    expect(assignSplits(spec, t)).toEqual(['train', 'test', 'test', 'train', 'test']);
  });

  it('drops the gap between trainEnd and testStart (null) when there is no validation split', () => {
    const spec: SplitSpec = { kind: 'time', trainEnd: base + 10, testStart: base + 20 };
    expect(assignSplits(spec, micros(base + 9, base + 10, base + 15, base + 19, base + 20, base + 25))).toEqual([
      'train', null, null, null, 'test', 'test',
    ]);
  });

  it('assigns validationStart ≤ t < testStart to validation and drops trainEnd ≤ t < validationStart', () => {
    const spec: SplitSpec = { kind: 'time', trainEnd: base + 10, testStart: base + 30, validationStart: base + 20 };
    const t = Float64Array.of(
      (base + 10) * MS - 1, // train
      (base + 10) * MS, // gap
      (base + 20) * MS - 1, // gap
      (base + 20) * MS, // validation
      (base + 30) * MS - 1, // validation
      (base + 30) * MS, // test
    );
    expect(assignSplits(spec, t)).toEqual(['train', null, null, 'validation', 'validation', 'test']);
  });

  it('with validationStart = trainEnd there is no gap', () => {
    const spec: SplitSpec = { kind: 'time', trainEnd: base + 10, testStart: base + 30, validationStart: base + 10 };
    expect(assignSplits(spec, micros(base + 9, base + 10, base + 29, base + 30))).toEqual(['train', 'validation', 'validation', 'test']);
  });

  it('with validationStart = testStart the validation split is empty', () => {
    const spec: SplitSpec = { kind: 'time', trainEnd: base + 10, testStart: base + 30, validationStart: base + 30 };
    expect(assignSplits(spec, micros(base + 9, base + 10, base + 29, base + 30))).toEqual(['train', null, null, 'test']);
  });

  it('drops rows with a null (NaN) time', () => {
    expect(assignSplits({ kind: 'time', trainEnd: base, testStart: base }, Float64Array.of(Number.NaN))).toEqual([null]);
  });

  it('does not confuse ms with µs: a µs time numerically equal to the ms boundary is long before it', () => {
    const spec: SplitSpec = { kind: 'time', trainEnd: base, testStart: base };
    expect(assignSplits(spec, Float64Array.of(base, base * MS))).toEqual(['train', 'test']);
  });

  it('ignores the seed-less draw: time splits are a pure function of the times', () => {
    const t = micros(...Array.from({ length: 100 }, (_, i) => base + i));
    const spec: SplitSpec = { kind: 'time', trainEnd: base + 50, testStart: base + 80, validationStart: base + 60 };
    const a = assignSplits(spec, t);
    expect(assignSplits(spec, t)).toEqual(a);
    expect([count(a, 'train'), count(a, null), count(a, 'validation'), count(a, 'test')]).toEqual([50, 10, 20, 20]);
  });
});

describe('split codes and times', () => {
  it('stores codes as an Int8 column with nulls for rows left out, and reads them back', () => {
    const codes = assignSplitCodes({ kind: 'time', trainEnd: base + 10, testStart: base + 20, validationStart: base + 15 }, micros(base, base + 12, base + 16, base + 25, Number.NaN));
    expect(Array.from(codes)).toEqual([0, LEFT_OUT, 2, 1, LEFT_OUT]);
    const vector = splitVector(codes);
    expect(vector.nullCount).toBe(2);
    expect(Array.from({ length: 5 }, (_, i) => vector.get(i) as number | null)).toEqual([0, null, 2, 1, null]);
    expect(splitsOf(vector)).toEqual(codes);
  });

  it('microsOf gives Number(bigint) for every int64, through the 32-bit halves or not, and NaN for nulls', () => {
    const values = [0n, 1n, -1n, 2n ** 32n - 1n, 2n ** 32n, -(2n ** 32n), 1_700_000_000_000_000n, -62_135_596_800_000_000n,
      2n ** 53n - 1n, -(2n ** 53n) + 1n, 2n ** 53n + 1n, 2n ** 62n, -(2n ** 63n), 2n ** 63n - 1n, 4_102_444_800_000_000n, 123n];
    const data = BigInt64Array.from(values);
    const validity = new Uint8Array(2).fill(0xff);
    validity[1] = 0x7f; // the last value is null
    const vector = makeVector(makeData({ type: new TimestampMicrosecond(), length: values.length, nullCount: 1, nullBitmap: validity, data }));
    const out = Array.from(microsOf(vector));
    expect(out.slice(0, -1)).toEqual(values.slice(0, -1).map((v) => Number(v)));
    expect(out.at(-1)).toBeNaN();
    const dense = makeVector(makeData({ type: new TimestampMicrosecond(), length: values.length, nullCount: 0, data }));
    expect(Array.from(microsOf(dense))).toEqual(values.map((v) => Number(v)));
  });
});
