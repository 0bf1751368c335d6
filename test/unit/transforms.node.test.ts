import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { InvalidArgumentError } from '../../src/errors.ts';
import {
  applyTransforms, applyTransformsToRow, fitTransforms, validateTransformSpecs,
  type FittedTransforms, type TransformInput, type TransformSpec,
} from '../../src/transforms/model-dependent.ts';

// --- Independent reference statistics (plain, obvious code) ---------------------------------------------------------

function present(xs: readonly (number | null)[]): number[] {
  return xs.filter((x): x is number => x !== null && !Number.isNaN(x));
}
function refMean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}
function refStd(xs: readonly number[]): number {
  const m = refMean(xs);
  return Math.sqrt(xs.map((x) => (x - m) ** 2).reduce((a, b) => a + b, 0) / xs.length);
}
/** numpy.quantile(method='linear'): position (n − 1)·p, interpolated. */
function refQuantile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * p;
  const below = s[Math.floor(pos)]!;
  const above = s[Math.ceil(pos)]!;
  return below + (above - below) * (pos - Math.floor(pos));
}
function expectClose(actual: number, expected: number): void {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(expected)));
}
function col(result: Record<string, unknown>, name: string): (number | string | null)[] {
  const values = result[name] as ArrayLike<number | string | null> | undefined;
  expect(values, `output column ${name}`).toBeDefined();
  return Array.from(values!);
}

// --- Hand-computed cases ----------------------------------------------------------------------------------------------

describe('fitTransforms: hand-computed state', () => {
  it('standardScaler uses the population std (ddof = 0)', () => {
    const fitted = fitTransforms([{ kind: 'standardScaler', column: 'x' }], { x: [1, 2, 3, 4] });
    // mean 2.5; squared deviations 2.25, 0.25, 0.25, 2.25 → variance 5 / 4 = 1.25
    expect(fitted.transforms[0]).toEqual({ kind: 'standardScaler', column: 'x', mean: 2.5, std: Math.sqrt(1.25) });
    const out = applyTransforms(fitted, { x: [2.5, 5] });
    expect(out.x).toBeInstanceOf(Float64Array);
    expect(col(out, 'x')).toEqual([0, 2.5 / Math.sqrt(1.25)]);
  });

  it('minMaxScaler scales on the training range; test values may leave [0, 1]', () => {
    const fitted = fitTransforms([{ kind: 'minMaxScaler', column: 'x' }], { x: [2, 4, 10] });
    expect(fitted.transforms[0]).toEqual({ kind: 'minMaxScaler', column: 'x', min: 2, max: 10 });
    expect(col(applyTransforms(fitted, { x: [6, 12, 0] }), 'x')).toEqual([0.5, 1.25, -0.25]);
  });

  it('robustScaler uses the median and the numpy-linear IQR', () => {
    // [1, 2, 3, 4]: p25 at position 0.75 → 1.75; p75 at 2.25 → 3.25; median 2.5
    const small = fitTransforms([{ kind: 'robustScaler', column: 'x' }], { x: [4, 1, 3, 2] });
    expect(small.transforms[0]).toEqual({ kind: 'robustScaler', column: 'x', median: 2.5, iqr: 1.5 });
    // 1..10: p25 at 2.25 → 3.25; p75 at 6.75 → 7.75; median 5.5
    const ten = fitTransforms([{ kind: 'robustScaler', column: 'x' }], { x: [10, 9, 8, 7, 6, 5, 4, 3, 2, 1] });
    expect(ten.transforms[0]).toEqual({ kind: 'robustScaler', column: 'x', median: 5.5, iqr: 4.5 });
    expect(col(applyTransforms(ten, { x: [10] }), 'x')).toEqual([1]);
  });

  it('labelEncoder: sorted categories, unseen → -1, missing → null', () => {
    const fitted = fitTransforms([{ kind: 'labelEncoder', column: 'c' }], { c: ['b', 'a', 'c', 'a', null] });
    expect(fitted.transforms[0]).toEqual({ kind: 'labelEncoder', column: 'c', categories: ['a', 'b', 'c'] });
    const out = applyTransforms(fitted, { c: ['c', 'zzz', null, 'a'] });
    expect(col(out, 'c')).toEqual([2, -1, null, 0]);
    // numeric categories sort numerically, not as text
    const nums = fitTransforms([{ kind: 'labelEncoder', column: 'n' }], { n: [10, 9, 100] });
    expect(nums.transforms[0]).toMatchObject({ categories: [9, 10, 100] });
  });

  it('oneHotEncoder: sorted categories, safe names, unseen and missing → all zeros, source column dropped', () => {
    const fitted = fitTransforms([{ kind: 'oneHotEncoder', column: 'city' }], {
      city: ['NY', 'LA', 'San José', 'NY', null],
    });
    expect(fitted.transforms[0]).toEqual({
      kind: 'oneHotEncoder', column: 'city', categories: ['LA', 'NY', 'San José'],
      outputColumns: ['city_LA', 'city_NY', 'city_San_Jos_'],
    });
    const out = applyTransforms(fitted, { city: ['San José', 'Paris', null, 'LA'] });
    expect(Object.keys(out)).toEqual(['city_LA', 'city_NY', 'city_San_Jos_']);
    expect(col(out, 'city_LA')).toEqual([0, 0, 0, 1]);
    expect(col(out, 'city_NY')).toEqual([0, 0, 0, 0]);
    expect(col(out, 'city_San_Jos_')).toEqual([1, 0, 0, 0]);
    expect(out.city_LA).toBeInstanceOf(Float64Array);
  });

  it('oneHotEncoder disambiguates names that become equal once made safe', () => {
    const fitted = fitTransforms([{ kind: 'oneHotEncoder', column: 'k' }], { k: ['a b', 'a-b', 'a_b'] });
    expect(fitted.transforms[0]).toMatchObject({ outputColumns: ['k_a_b', 'k_a_b_2', 'k_a_b_3'] });
  });

  it('imputer: mean, median, most frequent (ties → smallest) and constant', () => {
    const fit = (spec: TransformSpec, values: (number | string | null)[]) =>
      fitTransforms([spec], { x: values }).transforms[0];
    expect(fit({ kind: 'imputer', column: 'x', strategy: 'mean' }, [1, null, 3, 8])).toMatchObject({ value: 4 });
    // sorted 1, 3, 5, 100 → median (3 + 5) / 2
    expect(fit({ kind: 'imputer', column: 'x', strategy: 'median' }, [5, 1, null, 3, 100])).toMatchObject({ value: 4 });
    expect(fit({ kind: 'imputer', column: 'x', strategy: 'mostFrequent' }, ['y', 'x', 'y', 'x', 'z', null]))
      .toMatchObject({ value: 'x' });
    expect(fit({ kind: 'imputer', column: 'x', strategy: 'mostFrequent' }, [3, 3, 2, 7, 7])).toMatchObject({ value: 3 });
    const constant = fitTransforms([{ kind: 'imputer', column: 'x', strategy: 'constant', value: -1 }], { x: [null] });
    expect(col(applyTransforms(constant, { x: [null, 5] }), 'x')).toEqual([-1, 5]);
    const strings = fitTransforms([{ kind: 'imputer', column: 's', strategy: 'mostFrequent' }], { s: ['a', 'a', null] });
    expect(col(applyTransforms(strings, { s: [null, 'b'] }), 's')).toEqual(['a', 'b']);
  });

  it('log1p is stateless and rejects values <= -1', () => {
    const fitted = fitTransforms([{ kind: 'log1p', column: 'x' }], { x: [0, 1] });
    expect(fitted.transforms[0]).toEqual({ kind: 'log1p', column: 'x' });
    expect(col(applyTransforms(fitted, { x: [0, Math.E - 1, null] }), 'x')).toEqual([0, Math.log1p(Math.E - 1), null]);
    expect(() => applyTransforms(fitted, { x: [0, -1] })).toThrow(/needs values > -1 but got -1 in row 1/);
    expect(() => applyTransformsToRow(fitted, { x: -2 })).toThrow(InvalidArgumentError);
    expect(() => fitTransforms([{ kind: 'log1p', column: 'x' }], { x: [-5] })).toThrow(InvalidArgumentError);
  });

  it('bucketizer: a value exactly on a boundary goes to the bucket above', () => {
    const fitted = fitTransforms([{ kind: 'bucketizer', column: 'x', boundaries: [0, 10, 20] }], { x: [] });
    const out = applyTransforms(fitted, { x: [-1, 0, 5, 10, 19.999, 20, 1e9, null] });
    expect(col(out, 'x')).toEqual([0, 1, 1, 2, 2, 3, 3, null]);
    expect(applyTransformsToRow(fitted, { x: 10 })).toEqual({ x: 2 });
    expect(applyTransformsToRow(fitted, { x: -0.0001 })).toEqual({ x: 0 });
  });
});

describe('fitTransforms: edge cases', () => {
  it('skips nulls, NaN and undefined when fitting and keeps them missing when applying', () => {
    const fitted = fitTransforms(
      [{ kind: 'standardScaler', column: 'x' }],
      { x: [1, null, 3, Number.NaN, undefined] },
    );
    expect(fitted.transforms[0]).toMatchObject({ mean: 2, std: 1 });
    const out = applyTransforms(fitted, { x: [null, 3, Number.NaN] });
    expect(Array.isArray(out.x)).toBe(true);
    expect(out.x).toEqual([null, 1, null]);
  });

  it('constant columns scale by 1 instead of dividing by zero', () => {
    const specs: TransformSpec[] = [
      { kind: 'standardScaler', column: 'a' },
      { kind: 'minMaxScaler', column: 'b' },
      { kind: 'robustScaler', column: 'c' },
    ];
    const fitted = fitTransforms(specs, { a: [7, 7, 7], b: [7, 7, 7], c: [7, 7, 7] });
    expect(fitted.transforms).toEqual([
      { kind: 'standardScaler', column: 'a', mean: 7, std: 0 },
      { kind: 'minMaxScaler', column: 'b', min: 7, max: 7 },
      { kind: 'robustScaler', column: 'c', median: 7, iqr: 0 },
    ]);
    const out = applyTransforms(fitted, { a: [7, 9], b: [7, 9], c: [7, 9] });
    expect(col(out, 'a')).toEqual([0, 2]);
    expect(col(out, 'b')).toEqual([0, 2]);
    expect(col(out, 'c')).toEqual([0, 2]);
  });

  it('chains specs: the scaler is fitted on imputed values', () => {
    const fitted = fitTransforms(
      [
        { kind: 'imputer', column: 'x', strategy: 'constant', value: 0 },
        { kind: 'standardScaler', column: 'x' },
        { kind: 'imputer', column: 'c', strategy: 'constant', value: 'none' },
        { kind: 'labelEncoder', column: 'c' },
      ],
      { x: [2, null, 4, null], c: ['b', null, 'a', 'b'] },
    );
    // imputed x: 2, 0, 4, 0 → mean 1.5, variance (0.25 + 2.25 + 6.25 + 2.25) / 4 = 2.75
    expect(fitted.transforms[1]).toEqual({ kind: 'standardScaler', column: 'x', mean: 1.5, std: Math.sqrt(2.75) });
    expect(fitted.transforms[3]).toEqual({ kind: 'labelEncoder', column: 'c', categories: ['a', 'b', 'none'] });
    expect(applyTransformsToRow(fitted, { x: null, c: null })).toEqual({ x: -1.5 / Math.sqrt(2.75), c: 2 });
  });

  it('accepts typed-array input and returns typed arrays when nothing is missing', () => {
    const fitted = fitTransforms([{ kind: 'minMaxScaler', column: 'x' }], { x: new Float64Array([0, 4]) });
    const out = applyTransforms(fitted, { x: new Int32Array([1, 2]) });
    expect(out.x).toEqual(new Float64Array([0.25, 0.5]));
  });
});

// --- Train statistics, JSON round trip, reference computation --------------------------------------------------------

describe('train statistics are applied to test rows', () => {
  const specs: TransformSpec[] = [
    { kind: 'standardScaler', column: 's' },
    { kind: 'minMaxScaler', column: 'm' },
    { kind: 'robustScaler', column: 'r' },
    { kind: 'imputer', column: 'i', strategy: 'median' },
    { kind: 'labelEncoder', column: 'l' },
  ];
  const train = { s: [1, 2, 3, 6], m: [0, 5, 10, 20], r: [1, 2, 3, 100], i: [1, null, 9, 10], l: ['a', 'b', 'a', 'c'] };
  const test = { s: [100, -3], m: [40, -20], r: [3, 2], i: [null, 7], l: ['c', 'd'] };

  it('does not refit on the test rows', () => {
    const fitted = fitTransforms(specs, train);
    const out = applyTransforms(fitted, test);
    const sMean = refMean(train.s);
    const sStd = refStd(train.s);
    col(out, 's').forEach((v, k) => expectClose(v as number, (test.s[k]! - sMean) / sStd));
    expect(col(out, 'm')).toEqual([2, -1]);
    const rMedian = refQuantile(train.r, 0.5);
    const rIqr = refQuantile(train.r, 0.75) - refQuantile(train.r, 0.25);
    col(out, 'r').forEach((v, k) => expectClose(v as number, (test.r[k]! - rMedian) / rIqr));
    expect(col(out, 'i')).toEqual([9, 7]);
    expect(col(out, 'l')).toEqual([2, -1]);
    // Refitting on the test rows would give different numbers.
    expect(col(applyTransforms(fitTransforms(specs, test), test), 's')).not.toEqual(col(out, 's'));
  });

  it('applies identically after a JSON round trip of the state', () => {
    const fitted = fitTransforms(
      [...specs, { kind: 'oneHotEncoder', column: 'l' }, { kind: 'bucketizer', column: 'b', boundaries: [0, 1] }],
      { ...train, l: ['x', 'y', 'x', 'z'], b: [0, 0, 0, 0] },
    );
    const restored = JSON.parse(JSON.stringify(fitted)) as FittedTransforms;
    expect(restored).toEqual(fitted);
    const input = { ...test, l: ['z', 'q'], b: [1, 0.5] };
    expect(applyTransforms(restored, input)).toEqual(applyTransforms(fitted, input));
    expect(applyTransformsToRow(restored, { s: 1, m: 2, r: 3, i: null, l: 'x', b: 1 }))
      .toEqual(applyTransformsToRow(fitted, { s: 1, m: 2, r: 3, i: null, l: 'x', b: 1 }));
  });
});

const maybeNumber = fc.option(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { nil: null, freq: 5 });

describe('fitted state equals a reference computation (property)', () => {
  it('scalers and imputers', () => {
    fc.assert(
      fc.property(fc.array(maybeNumber, { minLength: 1, maxLength: 60 }), (xs) => {
        const values = present(xs);
        fc.pre(values.length > 0);
        const fitted = fitTransforms(
          [
            { kind: 'standardScaler', column: 'x' },
            { kind: 'minMaxScaler', column: 'y' },
            { kind: 'robustScaler', column: 'z' },
            { kind: 'imputer', column: 'm', strategy: 'mean' },
            { kind: 'imputer', column: 'd', strategy: 'median' },
          ],
          { x: xs, y: xs, z: xs, m: xs, d: xs },
        );
        const [std, minMax, robust, mean, median] = fitted.transforms as unknown as [
          { mean: number; std: number }, { min: number; max: number }, { median: number; iqr: number },
          { value: number }, { value: number },
        ];
        expectClose(std.mean, refMean(values));
        expectClose(std.std, refStd(values));
        expect(minMax.min).toBe(Math.min(...values));
        expect(minMax.max).toBe(Math.max(...values));
        expectClose(robust.median, refQuantile(values, 0.5));
        expectClose(robust.iqr, refQuantile(values, 0.75) - refQuantile(values, 0.25));
        expectClose(mean.value, refMean(values));
        expectClose(median.value, refQuantile(values, 0.5));
      }),
      { numRuns: 200 },
    );
  });

  it('encoders', () => {
    fc.assert(
      fc.property(fc.array(fc.option(fc.constantFrom('a', 'b', 'c', 'd e', 'D'), { nil: null }), { maxLength: 40 }), (xs) => {
        const distinct = [...new Set(xs.filter((x) => x !== null))].sort();
        fc.pre(distinct.length > 0);
        const fitted = fitTransforms(
          [{ kind: 'labelEncoder', column: 'l' }, { kind: 'imputer', column: 'f', strategy: 'mostFrequent' }],
          { l: xs, f: xs },
        );
        expect(fitted.transforms[0]).toMatchObject({ categories: distinct });
        const counts = distinct.map((d) => xs.filter((x) => x === d).length);
        expect(fitted.transforms[1]).toMatchObject({ value: distinct[counts.indexOf(Math.max(...counts))] });
      }),
    );
  });
});

describe('columnar and per-row apply give identical numbers (property)', () => {
  const category = fc.option(fc.constantFrom('red', 'green', 'blue', 'ultra violet', 'x/y'), { nil: null, freq: 5 });
  const row = fc.record({ a: maybeNumber, b: maybeNumber, c: category, p: fc.option(fc.double({ min: 0, max: 1e6, noNaN: true }), { nil: null }) });
  const spec = fc.constantFrom<TransformSpec>(
    { kind: 'standardScaler', column: 'a' },
    { kind: 'minMaxScaler', column: 'a' },
    { kind: 'robustScaler', column: 'b' },
    { kind: 'imputer', column: 'a', strategy: 'mean' },
    { kind: 'imputer', column: 'b', strategy: 'median' },
    { kind: 'imputer', column: 'c', strategy: 'mostFrequent' },
    { kind: 'imputer', column: 'b', strategy: 'constant', value: 0 },
    { kind: 'labelEncoder', column: 'c' },
    { kind: 'log1p', column: 'p' },
    { kind: 'bucketizer', column: 'b', boundaries: [-100, 0, 0.5, 1000] },
  );

  it('scales a column of (almost) no spread by 1, not to infinities (a case fast-check found)', () => {
    const specs: TransformSpec[] = [
      { kind: 'imputer', column: 'b', strategy: 'constant', value: 0 }, { kind: 'robustScaler', column: 'b' }, { kind: 'imputer', column: 'b', strategy: 'median' },
    ];
    const b = [null, null, 5e-324, 8.881784197001252e-16, null];
    const fitted = fitTransforms(specs, { b });
    const out = applyTransforms(fitted, { b });
    // IQR 5e-324 (< 10 ε) counts as 0: (x − median) / 1.
    expect(Array.from(out['b']!)).toEqual([0, 0, 5e-324, 8.881784197001252e-16, 0]);
  });

  it('holds for random spec chains, training and test rows', () => {
    fc.assert(
      fc.property(
        fc.array(spec, { minLength: 1, maxLength: 6 }),
        fc.boolean(),
        fc.array(row, { minLength: 1, maxLength: 30 }),
        fc.array(row, { minLength: 1, maxLength: 30 }),
        (chain, withOneHot, trainRows, testRows) => {
          const specs = withOneHot ? [...chain, { kind: 'oneHotEncoder', column: 'c' } as TransformSpec] : chain;
          const toColumns = (rows: typeof trainRows): TransformInput => ({
            a: rows.map((r) => r.a), b: rows.map((r) => r.b), c: rows.map((r) => r.c), p: rows.map((r) => r.p),
          });
          let fitted: FittedTransforms;
          try {
            fitted = fitTransforms(specs, toColumns(trainRows));
          } catch (error) {
            // A training column with no values at all cannot be fitted; anything else is a bug.
            expect(error).toBeInstanceOf(InvalidArgumentError);
            expect((error as Error).message).toMatch(/no non-missing values/);
            return;
          }
          for (const rows of [trainRows, testRows]) {
            const columnar = applyTransforms(fitted, toColumns(rows));
            rows.forEach((r, i) => {
              const single = applyTransformsToRow(fitted, r);
              expect(Object.keys(single)).toEqual(Object.keys(columnar));
              for (const [name, values] of Object.entries(columnar)) expect(single[name]).toBe(values[i]);
            });
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('Float64Array columns take a typed path with exactly the general path\'s numbers (property)', () => {
  // NaN, infinities, negatives for log1p and values past the bucket edges: where a transformation may give null.
  const number = fc.oneof(fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.constantFrom(NaN, -1, 0, Infinity, -Infinity, 1e-320));
  const spec = fc.constantFrom<TransformSpec>(
    { kind: 'standardScaler', column: 'a' },
    { kind: 'minMaxScaler', column: 'a' },
    { kind: 'robustScaler', column: 'a' },
    { kind: 'log1p', column: 'a' },
    { kind: 'bucketizer', column: 'a', boundaries: [-100, 0, 0.5, 1000] },
    { kind: 'imputer', column: 'a', strategy: 'mean' },
  );
  it('holds for random chains over random numbers', () => {
    fc.assert(
      fc.property(fc.array(spec, { minLength: 1, maxLength: 4 }), fc.array(number, { minLength: 1, maxLength: 40 }), fc.array(number, { minLength: 1, maxLength: 40 }), (chain, train, test) => {
        let fitted: FittedTransforms;
        try {
          fitted = fitTransforms(chain, { a: train });
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidArgumentError);
          return;
        }
        // Numbers (or the same typed error) either way.
        const outcome = (a: number[] | Float64Array) => {
          try {
            return Object.entries(applyTransforms(fitted, { a })).map(([name, values]) => [name, Array.from(values)]);
          } catch (error) {
            expect(error).toBeInstanceOf(InvalidArgumentError);
            return (error as Error).message;
          }
        };
        expect(outcome(Float64Array.from(test))).toEqual(outcome(test)); // a plain array takes the general path
      }),
      { numRuns: 500 },
    );
  });
});

// --- Validation -------------------------------------------------------------------------------------------------------

describe('validation', () => {
  const expectInvalid = (fn: () => unknown, message: RegExp) => {
    expect(fn).toThrow(InvalidArgumentError);
    expect(fn).toThrow(message);
  };

  it('rejects malformed specs with clear messages', () => {
    expectInvalid(() => validateTransformSpecs([{ kind: 'zScore', column: 'x' }]), /unknown kind "zScore"; use one of standardScaler/);
    expectInvalid(() => validateTransformSpecs([{ kind: 'standardScaler' }]), /needs a 'column'/);
    expectInvalid(() => validateTransformSpecs({}), /must be an array/);
    expectInvalid(() => validateTransformSpecs([{ kind: 'imputer', column: 'x', strategy: 'mode' }]), /strategy "mode"/);
    expectInvalid(() => validateTransformSpecs([{ kind: 'imputer', column: 'x', strategy: 'constant' }]), /needs a finite number or string 'value'/);
    expectInvalid(() => validateTransformSpecs([{ kind: 'imputer', column: 'x', strategy: 'mean', value: 1 }]), /only for 'constant'/);
    expectInvalid(() => validateTransformSpecs([{ kind: 'bucketizer', column: 'x', boundaries: [] }]), /non-empty 'boundaries'/);
    expectInvalid(() => validateTransformSpecs([{ kind: 'bucketizer', column: 'x', boundaries: [1, 1] }]), /strictly ascending/);
    expectInvalid(() => validateTransformSpecs([{ kind: 'bucketizer', column: 'x', boundaries: [3, 1] }]), /out of order at position 1/);
    expectInvalid(
      () => validateTransformSpecs([{ kind: 'oneHotEncoder', column: 'c' }, { kind: 'labelEncoder', column: 'c' }]),
      /earlier oneHotEncoder replaced/,
    );
  });

  it('rejects missing and non-numeric columns', () => {
    expectInvalid(() => fitTransforms([{ kind: 'standardScaler', column: 'x' }], { y: [1] }), /needs column 'x', which is not in the columns given \(y\)/);
    expectInvalid(
      () => fitTransforms([{ kind: 'standardScaler', column: 'x' }], { x: [1, 'two', 3, 'four'] }),
      /needs a numeric column but 'x' has strings in 2 row\(s\) \(1, 3\)/,
    );
    const fitted = fitTransforms([{ kind: 'minMaxScaler', column: 'x' }], { x: [1, 2] });
    expectInvalid(() => applyTransforms(fitted, { x: ['1'] }), /needs a numeric column/);
    expectInvalid(() => applyTransformsToRow(fitted, { x: '1' }), /needs a numeric column/);
    expectInvalid(() => applyTransformsToRow(fitted, { y: 1 }), /needs field 'x'/);
    expectInvalid(() => applyTransformsToRow(fitted, { x: true }), /takes? numbers, strings or null/);
  });

  it('rejects unfittable columns and bad state', () => {
    expectInvalid(() => fitTransforms([{ kind: 'standardScaler', column: 'x' }], { x: [null, null] }), /no non-missing values/);
    expectInvalid(() => fitTransforms([{ kind: 'labelEncoder', column: 'x' }], { x: [1, 'a'] }), /both numbers \(row 0\) and strings \(row 1\)/);
    expectInvalid(() => fitTransforms([{ kind: 'minMaxScaler', column: 'x' }], { x: [1, Infinity] }), /row 1 .* Infinity/);
    expectInvalid(() => fitTransforms([{ kind: 'minMaxScaler', column: 'x' }], { x: [1, 2], y: [1] }), /same length/);
    expectInvalid(
      () => fitTransforms([{ kind: 'imputer', column: 'x', strategy: 'constant', value: 'n/a' }], { x: [1, null] }),
      /fills with "n\/a" but the column holds numbers/,
    );
    expectInvalid(() => applyTransforms({ transforms: [] } as unknown as FittedTransforms, {}), /version: 1/);
    expectInvalid(
      () => applyTransforms({ version: 1, transforms: [{ kind: 'pca', column: 'x' }] } as unknown as FittedTransforms, {}),
      /unknown kind "pca"/,
    );
  });
});
