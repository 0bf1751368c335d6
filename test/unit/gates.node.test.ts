import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { InvalidArgumentError } from '../../src/errors.ts';
import { evaluateGates, sliceIndices, validateGates, type Gate } from '../../src/models/gates.ts';
import { binaryClassificationMetrics } from '../../src/models/metrics.ts';

describe('validateGates', () => {
  it('accepts threshold and slice gates and returns typed copies', () => {
    const input = [
      { metric: 'rmse', max: 2.5 },
      { metric: 'accuracy', min: 0.8 },
      { metric: 'r2', min: 0.5, max: 1 },
      { metric: 'f1', min: 0.7, max: 0.7 },
      { sliceBy: 'city', metric: 'accuracy', maxGap: 0.1 },
      { sliceBy: 'city', metric: 'mae', maxGap: 0 },
    ];
    const gates = validateGates(input);
    expect(gates).toEqual(input);
    expect(gates[0]).not.toBe(input[0]);
    expect(validateGates([])).toEqual([]);
  });

  it('treats keys set to undefined as absent', () => {
    expect(validateGates([{ metric: 'rmse', min: undefined, max: 3 }])).toEqual([{ metric: 'rmse', max: 3 }]);
    expect(validateGates([{ metric: 'rmse', max: 3, sliceBy: undefined }])).toEqual([{ metric: 'rmse', max: 3 }]);
  });

  const rejected: [string, unknown, RegExp][] = [
    ['not an array', { metric: 'rmse', max: 1 }, /must be an array/],
    ['a gate that is not an object', ['rmse'], /Gate #0 must be an object/],
    ['a gate that is an array', [[1, 2]], /Gate #0 must be an object/],
    ['a null gate', [null], /Gate #0 must be an object/],
    ['an unknown key', [{ metric: 'rmse', max: 1, maximum: 2 }], /Gate #0 has unknown key 'maximum'/],
    ['maxGap without sliceBy', [{ metric: 'rmse', maxGap: 1 }], /'maxGap' needs 'sliceBy'/],
    ['min on a slice gate', [{ sliceBy: 'city', metric: 'mae', maxGap: 1, min: 0 }], /unknown key 'min'.*separate gate/],
    ['neither min nor max', [{ metric: 'rmse' }], /needs a 'min', a 'max' or both/],
    ['min > max', [{ metric: 'auc', min: 0.9, max: 0.8 }], /min 0.9 > max 0.8/],
    ['a NaN bound', [{ metric: 'rmse', max: Number.NaN }], /'max' must be a finite number, got NaN/],
    ['an infinite bound', [{ metric: 'rmse', min: -Infinity }], /'min' must be a finite number/],
    ['a string bound', [{ metric: 'rmse', max: '2.5' }], /'max' must be a finite number, got "2.5"/],
    ['an empty metric', [{ metric: '', max: 1 }], /needs a 'metric'/],
    ['a missing metric', [{ max: 1 }], /needs a 'metric'/],
    ['a non-string metric', [{ metric: 3, max: 1 }], /needs a 'metric'/],
    ['a non-string sliceBy', [{ sliceBy: 3, metric: 'mae', maxGap: 1 }], /needs 'sliceBy' naming the slice column/],
    ['an empty sliceBy', [{ sliceBy: '', metric: 'mae', maxGap: 1 }], /needs 'sliceBy'/],
    ['a negative maxGap', [{ sliceBy: 'city', metric: 'mae', maxGap: -0.1 }], /needs a 'maxGap' >= 0/],
    ['a missing maxGap', [{ sliceBy: 'city', metric: 'mae' }], /needs a 'maxGap' >= 0/],
    ['an infinite maxGap', [{ sliceBy: 'city', metric: 'mae', maxGap: Infinity }], /'maxGap' must be a finite number/],
  ];
  for (const [what, gates, message] of rejected) {
    it(`rejects ${what} with InvalidArgumentError`, () => {
      expect(() => validateGates(gates)).toThrow(InvalidArgumentError);
      expect(() => validateGates(gates)).toThrow(message);
    });
  }

  it('names the index of the first bad gate', () => {
    expect(() => validateGates([{ metric: 'rmse', max: 1 }, { metric: 'mae' }])).toThrow(/Gate #1 \(mae\)/);
  });
});

describe('evaluateGates: threshold gates', () => {
  it('passes and fails min and max gates with readable reasons', () => {
    const report = evaluateGates(
      [
        { metric: 'rmse', max: 2.5 },
        { metric: 'rmse', max: 3 },
        { metric: 'accuracy', min: 0.8 },
        { metric: 'accuracy', min: 0.9 },
        { metric: 'r2', min: 0.5, max: 1 },
      ],
      { rmse: 2.91, accuracy: 0.85, r2: 0.7 },
      {},
    );
    expect(report.passed).toBe(false);
    expect(report.results.map((r) => [r.passed, r.value, r.reason])).toEqual([
      [false, 2.91, 'rmse 2.91 > max 2.5'],
      [true, 2.91, 'rmse 2.91 <= max 3'],
      [true, 0.85, 'accuracy 0.85 >= min 0.8'],
      [false, 0.85, 'accuracy 0.85 < min 0.9'],
      [true, 0.7, 'r2 0.7 >= min 0.5 and <= max 1'],
    ]);
    expect(report.results[0]!.gate).toEqual({ metric: 'rmse', max: 2.5 });
  });

  it('treats bounds as inclusive', () => {
    const report = evaluateGates([{ metric: 'f1', min: 0.75, max: 0.75 }], { f1: 0.75 }, {});
    expect(report.passed).toBe(true);
    expect(report.results[0]!.reason).toBe('f1 0.75 >= min 0.75 and <= max 0.75');
  });

  it('passes when every gate passes, and an empty list passes', () => {
    expect(evaluateGates([{ metric: 'mae', max: 1 }, { metric: 'r2', min: 0 }], { mae: 0.4, r2: 0.9 }, {}).passed).toBe(true);
    expect(evaluateGates([], {}, {})).toEqual({ passed: true, results: [] });
  });

  it('rounds values in reasons to 4 significant digits, but shows more when needed to tell value and bound apart', () => {
    const rounded = evaluateGates([{ metric: 'rmse', max: 2.5 }], { rmse: 2.912345678 }, {});
    expect(rounded.results[0]!.reason).toBe('rmse 2.912 > max 2.5');
    expect(rounded.results[0]!.value).toBe(2.912345678);
    const close = evaluateGates([{ metric: 'accuracy', min: 0.8 }], { accuracy: 0.79996 }, {});
    expect(close.results[0]!.reason).toBe('accuracy 0.79996 < min 0.8');
    const large = evaluateGates([{ metric: 'mae', max: 1000 }], { mae: 123456.7 }, {});
    expect(large.results[0]!.reason).toBe('mae 123457 > max 1000');
  });

  it('fails a missing metric, naming the metrics that are there', () => {
    const report = evaluateGates([{ metric: 'precision', min: 0.5 }], { accuracy: 0.9, f1: 0.8 }, {});
    expect(report.passed).toBe(false);
    expect(report.results[0]).toEqual({
      gate: { metric: 'precision', min: 0.5 },
      passed: false,
      value: null,
      reason: 'precision is missing from the evaluation metrics (available: accuracy, f1)',
    });
    expect(evaluateGates([{ metric: 'rmse', max: 1 }], {}, {}).results[0]!.reason).toMatch(/none were given/);
  });

  it('does not mistake inherited properties for metrics', () => {
    const report = evaluateGates([{ metric: 'toString', min: 0 }], { accuracy: 1 }, {});
    expect(report.passed).toBe(false);
    expect(report.results[0]!.reason).toMatch(/toString is missing/);
  });

  it('fails a null or NaN metric instead of passing it silently', () => {
    const report = evaluateGates(
      [{ metric: 'rocAuc', min: 0.7 }, { metric: 'r2', max: 2 }, { metric: 'mae', max: 1 }],
      { rocAuc: null, r2: null, mae: Number.NaN },
      {},
    );
    expect(report.passed).toBe(false);
    expect(report.results.map((r) => [r.passed, r.value])).toEqual([[false, null], [false, null], [false, null]]);
    expect(report.results[0]!.reason).toBe('rocAuc is null: it is undefined on the test split, so the gate cannot pass');
    expect(report.results[2]!.reason).toBe('mae is NaN, so the gate cannot pass');
  });

  it('validates the gates it is given', () => {
    expect(() => evaluateGates([{ metric: 'rmse' }], { rmse: 1 }, {})).toThrow(InvalidArgumentError);
  });
});

describe('evaluateGates: slice gates', () => {
  const gate: Gate = { sliceBy: 'city', metric: 'accuracy', maxGap: 0.1 };

  it('fails when the gap between the best and the worst slice exceeds maxGap, naming both', () => {
    const report = evaluateGates([gate], {}, {
      city: {
        Seattle: { accuracy: 0.91 },
        Boston: { accuracy: 0.85 },
        'New York': { accuracy: 0.73 },
      },
    });
    expect(report.passed).toBe(false);
    const [result] = report.results;
    // gap = 0.91 − 0.73 = 0.18 (in doubles 0.18000000000000005, shown with 4 significant digits)
    expect(result!.value).toBeCloseTo(0.18, 12);
    expect(result!.reason).toBe('accuracy gap across city 0.18 (Seattle 0.91, New York 0.73) > maxGap 0.1');
    expect(result!.gate).toEqual(gate);
  });

  it('passes when the gap is within maxGap', () => {
    const report = evaluateGates([gate], {}, { city: { Oslo: { accuracy: 0.9 }, Rome: { accuracy: 0.86 } } });
    expect(report.passed).toBe(true);
    expect(report.results[0]!.value).toBeCloseTo(0.04, 12);
    expect(report.results[0]!.reason).toBe('accuracy gap across city 0.04 (Oslo 0.9, Rome 0.86) <= maxGap 0.1');
  });

  it('passes equal slices against maxGap 0', () => {
    const zero: Gate = { sliceBy: 'city', metric: 'mae', maxGap: 0 };
    const report = evaluateGates([zero], {}, { city: { a: { mae: 1.5 }, b: { mae: 1.5 } } });
    expect(report.passed).toBe(true);
    expect(report.results[0]!.reason).toBe('mae gap across city 0 (a 1.5, b 1.5) <= maxGap 0');
  });

  it('leaves slices without a value out of the gap and names them', () => {
    const report = evaluateGates([gate], {}, {
      city: {
        Seattle: { accuracy: 0.91 },
        Tiny: { accuracy: null },
        Empty: {},
        Boston: { accuracy: 0.88 },
      },
    });
    expect(report.passed).toBe(true);
    expect(report.results[0]!.reason).toBe(
      'accuracy gap across city 0.03 (Seattle 0.91, Boston 0.88) <= maxGap 0.1; no accuracy for Tiny, Empty',
    );
  });

  it('fails with fewer than 2 slices that have a value', () => {
    const one = evaluateGates([gate], {}, { city: { Seattle: { accuracy: 0.91 }, Tiny: { accuracy: null } } });
    expect(one.passed).toBe(false);
    expect(one.results[0]!.value).toBeNull();
    expect(one.results[0]!.reason).toBe(
      'accuracy gap across city needs at least 2 slices with a value, got 1 (Seattle 0.91); no accuracy for Tiny',
    );
    const none = evaluateGates([gate], {}, { city: {} });
    expect(none.passed).toBe(false);
    expect(none.results[0]!.reason).toBe('accuracy gap across city needs at least 2 slices with a value, got 0');
  });

  it('fails when no slices were computed for the column', () => {
    const report = evaluateGates([gate], { accuracy: 0.9 }, { region: { north: { accuracy: 0.9 } } });
    expect(report.passed).toBe(false);
    expect(report.results[0]!.value).toBeNull();
    expect(report.results[0]!.reason).toMatch(/^accuracy gap across city: no per-slice metrics were given for city/);
  });

  it('mixes threshold and slice gates, one result per gate in order', () => {
    const report = evaluateGates(
      [{ metric: 'accuracy', min: 0.8 }, gate, { metric: 'f1', min: 0.5 }],
      { accuracy: 0.84, f1: 0.6 },
      { city: { Oslo: { accuracy: 0.95 }, Rome: { accuracy: 0.7 } } },
    );
    expect(report.results.map((r) => r.passed)).toEqual([true, false, true]);
    expect(report.passed).toBe(false);
  });
});

describe('sliceIndices', () => {
  it('groups row indices by String(value) in first-seen order, with null and undefined in the slice "null"', () => {
    const slices = sliceIndices(['Oslo', 'Rome', null, 'Oslo', undefined, 'Rome', 'Oslo']);
    expect([...slices.keys()]).toEqual(['Oslo', 'Rome', 'null']);
    expect(slices.get('Oslo')).toEqual(new Int32Array([0, 3, 6]));
    expect(slices.get('Rome')).toEqual(new Int32Array([1, 5]));
    expect(slices.get('null')).toEqual(new Int32Array([2, 4]));
  });

  it('keys numbers, booleans and bigints by their string form', () => {
    const slices = sliceIndices([1, '1', 2, true, 10n, Number.NaN]);
    expect([...slices.entries()].map(([key, rows]) => [key, Array.from(rows)])).toEqual([
      ['1', [0, 1]],
      ['2', [2]],
      ['true', [3]],
      ['10', [4]],
      ['NaN', [5]],
    ]);
    expect(sliceIndices(new Float64Array([3, 3, 4])).get('3')).toEqual(new Int32Array([0, 1]));
  });

  it('returns an empty map for an empty column', () => {
    expect(sliceIndices([]).size).toBe(0);
  });

  it('rejects plain objects, which would all collapse into one slice', () => {
    expect(() => sliceIndices(['a', { city: 'b' }])).toThrow(InvalidArgumentError);
    expect(() => sliceIndices(['a', { city: 'b' }])).toThrow(/row 1 of the slice column/);
  });

  it('partitions the rows: every index exactly once, ascending within a slice', () => {
    fc.assert(
      fc.property(fc.array(fc.option(fc.constantFrom('a', 'b', 'c', 1, 2), { nil: null })), (values) => {
        const slices = sliceIndices(values);
        const seen: number[] = [];
        for (const [key, rows] of slices) {
          for (let j = 0; j < rows.length; j++) {
            const row = rows[j]!;
            expect(String(values[row] ?? 'null')).toBe(key);
            if (j > 0) expect(row).toBeGreaterThan(rows[j - 1]!);
            seen.push(row);
          }
        }
        expect(seen.sort((x, y) => x - y)).toEqual(values.map((_, i) => i));
      }),
      { seed: 99, numRuns: 200 },
    );
  });

  it('feeds per-slice metrics into a slice gate', () => {
    const city = ['Oslo', 'Rome', 'Oslo', 'Rome', 'Oslo', 'Rome'];
    const label = [1, 1, 0, 0, 1, 0];
    const probability = [0.9, 0.2, 0.1, 0.7, 0.8, 0.4];
    // Oslo rows 0, 2, 4: predicted 1, 0, 1 → all right → accuracy 1
    // Rome rows 1, 3, 5: predicted 0, 1, 0 vs 1, 0, 0 → one right → accuracy 1/3
    const perCity: Record<string, Record<string, number | null>> = {};
    for (const [value, rows] of sliceIndices(city)) {
      const pick = (column: readonly number[]) => Array.from(rows, (row) => column[row]!);
      perCity[value] = { accuracy: binaryClassificationMetrics(pick(label), pick(probability)).accuracy };
    }
    const report = evaluateGates([{ sliceBy: 'city', metric: 'accuracy', maxGap: 0.5 }], {}, { city: perCity });
    expect(report.passed).toBe(false);
    expect(report.results[0]!.value).toBeCloseTo(2 / 3, 12);
    expect(report.results[0]!.reason).toBe('accuracy gap across city 0.6667 (Oslo 1, Rome 0.3333) > maxGap 0.5');
  });
});
