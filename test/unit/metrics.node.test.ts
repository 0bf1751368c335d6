import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { InvalidArgumentError } from '../../src/errors.ts';
import {
  binaryClassificationMetrics, multiclassMetrics, regressionMetrics, type ClassificationMetrics,
} from '../../src/models/metrics.ts';

function expectClose(actual: number | null, expected: number | null, what = 'value'): void {
  if (expected === null) {
    expect(actual, what).toBeNull();
    return;
  }
  expect(actual, what).not.toBeNull();
  expect(Math.abs(actual! - expected), `${what}: ${actual} vs ${expected}`).toBeLessThanOrEqual(
    1e-9 * Math.max(1, Math.abs(expected)),
  );
}

function expectMetricsClose(actual: ClassificationMetrics, expected: ClassificationMetrics): void {
  expect(actual.count).toBe(expected.count);
  expect(actual.labels).toEqual(expected.labels);
  expect(actual.confusionMatrix).toEqual(expected.confusionMatrix);
  for (const key of ['accuracy', 'precision', 'recall', 'f1', 'rocAuc', 'logLoss'] as const) {
    expectClose(actual[key], expected[key], key);
  }
}

/** 1 − (1 − 1e-15) in doubles: the clipped probability of the wrong class after a confident 0 or 1. */
const CLIPPED_LOW_OF_ONE = 1 - (1 - 1e-15);

// --- Naive references (obvious, quadratic where that is the simplest) ------------------------------------------------

function refClip(p: number): number {
  return Math.min(Math.max(p, 1e-15), 1 - 1e-15);
}

/** ROC-AUC by comparing every positive with every negative: a win counts 1, a tie 1/2. */
function refPairAuc(positives: readonly number[], negatives: readonly number[]): number | null {
  if (positives.length === 0 || negatives.length === 0) return null;
  let wins = 0;
  for (const p of positives) {
    for (const q of negatives) wins += p > q ? 1 : p === q ? 0.5 : 0;
  }
  return wins / (positives.length * negatives.length);
}

function refRegression(yTrue: readonly number[], yPred: readonly number[]) {
  const n = yTrue.length;
  const errors = yTrue.map((t, i) => t - yPred[i]!);
  const mean = yTrue.reduce((a, b) => a + b, 0) / n;
  const ssRes = errors.reduce((a, e) => a + e * e, 0);
  const ssTot = yTrue.reduce((a, t) => a + (t - mean) ** 2, 0);
  const constant = yTrue.every((t) => t === yTrue[0]);
  return {
    count: n,
    mae: errors.reduce((a, e) => a + Math.abs(e), 0) / n,
    rmse: Math.sqrt(ssRes / n),
    r2: constant ? null : 1 - ssRes / ssTot,
  };
}

function refBinary(yTrue: readonly number[], probability: readonly number[], threshold: number): ClassificationMetrics {
  const n = yTrue.length;
  const predicted = probability.map((p) => (p >= threshold ? 1 : 0));
  const count = (t: number, p: number) => yTrue.filter((y, i) => y === t && predicted[i] === p).length;
  const [tn, fp, fn, tp] = [count(0, 0), count(0, 1), count(1, 0), count(1, 1)];
  const precision = tp + fp === 0 ? 0 : tp / (tp + fp);
  const recall = tp + fn === 0 ? 0 : tp / (tp + fn);
  return {
    count: n,
    accuracy: (tp + tn) / n,
    precision,
    recall,
    f1: precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall),
    rocAuc: refPairAuc(probability.filter((_, i) => yTrue[i] === 1), probability.filter((_, i) => yTrue[i] === 0)),
    logLoss: -yTrue.reduce((a, y, i) => {
      const p = refClip(probability[i]!);
      return a + (y === 1 ? Math.log(p) : Math.log(1 - p));
    }, 0) / n,
    confusionMatrix: [[tn, fp], [fn, tp]],
    labels: [0, 1],
  };
}

function refMulticlass(yTrue: readonly number[], rows: readonly (readonly number[])[]): ClassificationMetrics {
  const n = yTrue.length;
  const k = rows[0]!.length;
  const classes = [...Array(k).keys()];
  const predicted = rows.map((row) => row.indexOf(Math.max(...row)));
  const confusion = classes.map((t) => classes.map((p) => yTrue.filter((y, i) => y === t && predicted[i] === p).length));
  let precision = 0;
  let recall = 0;
  let f1 = 0;
  let aucSum = 0;
  let aucCount = 0;
  for (const c of classes) {
    const tp = confusion[c]![c]!;
    const predictedC = predicted.filter((p) => p === c).length;
    const actualC = yTrue.filter((y) => y === c).length;
    const pc = predictedC === 0 ? 0 : tp / predictedC;
    const rc = actualC === 0 ? 0 : tp / actualC;
    precision += pc;
    recall += rc;
    f1 += pc + rc === 0 ? 0 : (2 * pc * rc) / (pc + rc);
    const auc = refPairAuc(
      rows.filter((_, i) => yTrue[i] === c).map((row) => row[c]!),
      rows.filter((_, i) => yTrue[i] !== c).map((row) => row[c]!),
    );
    if (auc !== null) {
      aucSum += auc;
      aucCount++;
    }
  }
  return {
    count: n,
    accuracy: yTrue.filter((y, i) => y === predicted[i]).length / n,
    precision: precision / k,
    recall: recall / k,
    f1: f1 / k,
    rocAuc: aucCount === 0 ? null : aucSum / aucCount,
    logLoss: -yTrue.reduce((a, y, i) => a + Math.log(refClip(rows[i]![y]!)), 0) / n,
    confusionMatrix: confusion,
    labels: classes,
  };
}

/** Probabilities on a coarse grid, so that ties are common. */
const gridProbability = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 10 }).map((x) => x / 10) },
  { weight: 1, arbitrary: fc.double({ min: 0, max: 1, noNaN: true }) },
);

// --- Regression ------------------------------------------------------------------------------------------------------

describe('regressionMetrics', () => {
  it('matches a hand-computed case', () => {
    // errors y − ŷ: 0.5, −0.5, 0, −1 → MAE = 2 / 4 = 0.5; MSE = (0.25 + 0.25 + 0 + 1) / 4 = 0.375
    // ȳ = 11.5 / 4 = 2.875; SS_tot = 0.125² + 3.375² + 0.875² + 4.125² = 0.015625 + 11.390625 + 0.765625 + 17.015625
    //   = 29.1875; SS_res = 1.5 → R² = 1 − 1.5 / 29.1875 ≈ 0.94861 (scikit-learn's r2_score example)
    const m = regressionMetrics([3, -0.5, 2, 7], [2.5, 0, 2, 8]);
    expect(m.count).toBe(4);
    expectClose(m.mae, 0.5);
    expectClose(m.rmse, Math.sqrt(0.375));
    expectClose(m.r2, 1 - 1.5 / 29.1875);
  });

  it('gives 0 errors and R² = 1 for perfect predictions', () => {
    expect(regressionMetrics([1, 2, 3], new Float32Array([1, 2, 3]))).toEqual({ count: 3, mae: 0, rmse: 0, r2: 1 });
  });

  it('gives a negative R² when worse than predicting the mean', () => {
    // ȳ = 2, SS_tot = 1 + 0 + 1 = 2; errors 2, 0, −2 → SS_res = 8 → R² = 1 − 8 / 2 = −3; MAE 4 / 3; RMSE √(8 / 3)
    const m = regressionMetrics([1, 2, 3], [-1, 2, 5]);
    expectClose(m.r2, -3);
    expectClose(m.mae, 4 / 3);
    expectClose(m.rmse, Math.sqrt(8 / 3));
  });

  it('gives R² = null when the true values are constant (SS_tot = 0), even when they are not exact in binary', () => {
    // errors −1, 1 → MAE 1, RMSE 1
    expect(regressionMetrics([5, 5], [6, 4])).toEqual({ count: 2, mae: 1, rmse: 1, r2: null });
    expect(regressionMetrics([0.1, 0.1, 0.1], [0.1, 0.1, 0.1]).r2).toBeNull();
    expect(regressionMetrics([7], [3]).r2).toBeNull();
  });

  it('equals the naive formulas on random data', () => {
    const value = fc.oneof(fc.integer({ min: -5, max: 5 }), fc.double({ min: -1e3, max: 1e3, noNaN: true }));
    fc.assert(
      fc.property(fc.array(fc.tuple(value, value), { minLength: 1, maxLength: 60 }), (pairs) => {
        const yTrue = pairs.map(([t]) => t);
        const yPred = pairs.map(([, p]) => p);
        const actual = regressionMetrics(yTrue, yPred);
        const expected = refRegression(yTrue, yPred);
        expect(actual.count).toBe(expected.count);
        expectClose(actual.mae, expected.mae, 'mae');
        expectClose(actual.rmse, expected.rmse, 'rmse');
        if (expected.r2 === null) expect(actual.r2).toBeNull();
        else expect(Math.abs(actual.r2! - expected.r2)).toBeLessThanOrEqual(1e-7 * Math.max(1, Math.abs(expected.r2)));
      }),
      { seed: 20240601, numRuns: 300 },
    );
  });

  it('rejects bad input with InvalidArgumentError naming the row', () => {
    expect(() => regressionMetrics([1, 2], [1])).toThrow(InvalidArgumentError);
    expect(() => regressionMetrics([1, 2], [1])).toThrow(/'yTrue' has 2 rows but 'yPred' has 1/);
    expect(() => regressionMetrics([], [])).toThrow(/no rows/);
    expect(() => regressionMetrics([1, Number.NaN], [1, 2])).toThrow(/row 1 of 'yTrue' is NaN/);
    expect(() => regressionMetrics([1, 2, 3], [1, 2, Infinity])).toThrow(/row 2 of 'yPred' is Infinity/);
    expect(() => regressionMetrics([1, null] as unknown as number[], [1, 2])).toThrow(InvalidArgumentError);
    expect(() => regressionMetrics(5 as unknown as number[], [1])).toThrow(InvalidArgumentError);
  });
});

// --- Binary classification -------------------------------------------------------------------------------------------

describe('binaryClassificationMetrics', () => {
  it('matches a hand-computed 6-row case with tied scores', () => {
    const yTrue = [0, 0, 1, 1, 0, 1];
    const probability = [0.1, 0.4, 0.4, 0.8, 0.8, 0.9];
    const m = binaryClassificationMetrics(yTrue, probability);
    // Threshold 0.5 → predicted [0, 0, 0, 1, 1, 1]
    // tn = rows 0, 1 → 2; fp = row 4 → 1; fn = row 2 → 1; tp = rows 3, 5 → 2
    expect(m.confusionMatrix).toEqual([[2, 1], [1, 2]]);
    expect(m.labels).toEqual([0, 1]);
    expect(m.count).toBe(6);
    expectClose(m.accuracy, 4 / 6);
    expectClose(m.precision, 2 / 3); // tp / (tp + fp)
    expectClose(m.recall, 2 / 3); // tp / (tp + fn)
    expectClose(m.f1, 2 / 3); // 2·tp / (2·tp + fp + fn) = 4 / 6
    // Ranks of all scores, ascending, ties averaged:
    //   0.1 (neg) → 1; 0.4 (neg), 0.4 (pos) → 2.5 each; 0.8 (pos), 0.8 (neg) → 4.5 each; 0.9 (pos) → 6
    // Rank sum of positives R₁ = 2.5 + 4.5 + 6 = 13; U = R₁ − n₁(n₁ + 1)/2 = 13 − 6 = 7; AUC = U / (3 · 3) = 7 / 9
    // (pairs: 0.4 beats 0.1 and ties 0.4 → 1.5; 0.8 beats 0.1, 0.4 and ties 0.8 → 2.5; 0.9 beats all → 3; total 7)
    expectClose(m.rocAuc, 7 / 9);
    // Per-row likelihood of the true class: 0.9, 0.6, 0.4, 0.8, 0.2, 0.9
    const logs = [0.9, 0.6, 0.4, 0.8, 0.2, 0.9].map(Math.log);
    expectClose(m.logLoss, -(logs[0]! + logs[1]! + logs[2]! + logs[3]! + logs[4]! + logs[5]!) / 6);
  });

  it('counts a probability equal to the threshold as positive', () => {
    // Threshold 0.3: predicted [1, 1, 0] → tp = 1 (row 0), fp = 1 (row 1), tn = 1 (row 2)
    const m = binaryClassificationMetrics([1, 0, 0], [0.3, 0.5, 0.2], 0.3);
    expect(m.confusionMatrix).toEqual([[1, 1], [0, 1]]);
    expectClose(m.precision, 1 / 2);
    expectClose(m.recall, 1);
    expectClose(m.f1, 2 / 3); // 2·1 / (2·1 + 1 + 0)
  });

  it('scores perfect predictions: every metric 1, log loss only the clipping residue', () => {
    const m = binaryClassificationMetrics([0, 1, 0, 1], [0, 1, 0, 1]);
    expect(m.confusionMatrix).toEqual([[2, 0], [0, 2]]);
    expect([m.accuracy, m.precision, m.recall, m.f1, m.rocAuc]).toEqual([1, 1, 1, 1, 1]);
    // 0 is clipped to 1e-15 and 1 to 1 − 1e-15: each row costs −ln(1 − 1e-15) ≈ 1.1e-15, not 0 and not NaN
    expect(m.logLoss).toBe(-Math.log(1 - 1e-15));
    expect(m.logLoss).toBeGreaterThan(0);
    expect(m.logLoss).toBeLessThan(2e-15);
  });

  it('scores all-wrong confident predictions with a finite, clipped log loss', () => {
    const m = binaryClassificationMetrics([0, 1, 0, 1], [1, 0, 1, 0]);
    // tp = 0, fp = 2, fn = 2, tn = 0
    expect(m.confusionMatrix).toEqual([[0, 2], [2, 0]]);
    expect([m.accuracy, m.precision, m.recall, m.f1, m.rocAuc]).toEqual([0, 0, 0, 0, 0]);
    // y = 1, p = 0 → −ln(1e-15) ≈ 34.54; y = 0, p = 1 → −ln(1 − (1 − 1e-15)) ≈ 34.43; two rows of each, mean of 4
    expectClose(m.logLoss, -(2 * Math.log(1e-15) + 2 * Math.log(CLIPPED_LOW_OF_ONE)) / 4);
    expect(m.logLoss).toBeGreaterThan(34.4);
    expect(m.logLoss).toBeLessThan(34.6);
  });

  it('gives 0 for precision, recall and F1 when their denominators are 0 (zero_division = 0)', () => {
    // Nothing predicted positive: tp = fp = 0 → precision 0 / 0 → 0; fn = 2 → recall 0 / 2 = 0; F1 0 / 2 = 0
    const none = binaryClassificationMetrics([1, 0, 1], [0.2, 0.1, 0.3]);
    expect(none.confusionMatrix).toEqual([[1, 0], [2, 0]]);
    expect([none.precision, none.recall, none.f1]).toEqual([0, 0, 0]);
    expectClose(none.accuracy, 1 / 3);
    // No positives at all, all predicted negative: every denominator is 0 → all 0; accuracy still 1
    const empty = binaryClassificationMetrics([0, 0], [0.1, 0.2]);
    expect([empty.accuracy, empty.precision, empty.recall, empty.f1]).toEqual([1, 0, 0, 0]);
  });

  it('gives rocAuc null when only one class is present', () => {
    expect(binaryClassificationMetrics([1, 1, 1], [0.2, 0.9, 0.5]).rocAuc).toBeNull();
    expect(binaryClassificationMetrics([0], [0.7]).rocAuc).toBeNull();
  });

  it('gives rocAuc 1/2 when every score ties, including on a million rows', () => {
    // One tie group holding everyone: every positive/negative pair counts 1/2
    expect(binaryClassificationMetrics([0, 1, 1, 0, 1], [0.3, 0.3, 0.3, 0.3, 0.3]).rocAuc).toBe(0.5);
    const n = 1_000_000;
    const yTrue = new Uint8Array(n);
    const probability = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      yTrue[i] = i % 3 === 0 ? 1 : 0;
      probability[i] = 0.5;
    }
    const m = binaryClassificationMetrics(yTrue, probability);
    expect(m.rocAuc).toBe(0.5);
    expect(m.count).toBe(n);
    // Separable: positives 0.75, negatives 0.25 → AUC 1
    for (let i = 0; i < n; i++) probability[i] = yTrue[i] === 1 ? 0.75 : 0.25;
    expect(binaryClassificationMetrics(yTrue, probability).rocAuc).toBe(1);
  });

  it('does not modify its inputs', () => {
    const yTrue = [1, 0, 1, 0];
    const probability = new Float64Array([0.9, 0.2, 0.1, 0.8]);
    binaryClassificationMetrics(yTrue, probability);
    expect(yTrue).toEqual([1, 0, 1, 0]);
    expect(Array.from(probability)).toEqual([0.9, 0.2, 0.1, 0.8]);
  });

  it('equals the naive pairwise reference on random data', () => {
    const row = fc.tuple(fc.constantFrom(0, 1), gridProbability);
    fc.assert(
      fc.property(
        fc.array(row, { minLength: 1, maxLength: 80 }),
        fc.oneof(fc.constant(0.5), gridProbability),
        (rows, threshold) => {
          const yTrue = rows.map(([y]) => y);
          const probability = rows.map(([, p]) => p);
          const actual = binaryClassificationMetrics(yTrue, probability, threshold);
          expectMetricsClose(actual, refBinary(yTrue, probability, threshold));
        },
      ),
      { seed: 7_2024, numRuns: 400 },
    );
  });

  it('rejects bad input with InvalidArgumentError naming the row', () => {
    expect(() => binaryClassificationMetrics([0, 1], [0.5])).toThrow(InvalidArgumentError);
    expect(() => binaryClassificationMetrics([], [])).toThrow(/no rows/);
    expect(() => binaryClassificationMetrics([0, 2], [0.5, 0.5])).toThrow(/row 1 of 'yTrue' is 2; binary labels must be 0 or 1/);
    expect(() => binaryClassificationMetrics([0, 0.5], [0.5, 0.5])).toThrow(InvalidArgumentError);
    expect(() => binaryClassificationMetrics([0, 1, 1], [0.5, 0.5, 1.2])).toThrow(/row 2 of 'probability' is 1.2/);
    expect(() => binaryClassificationMetrics([0, 1], [-0.1, 0.5])).toThrow(/row 0 of 'probability'/);
    expect(() => binaryClassificationMetrics([0, 1], [Number.NaN, 0.5])).toThrow(/row 0 of 'probability' is NaN/);
    expect(() => binaryClassificationMetrics([0, 1], [0.5, 0.5], 1.5)).toThrow(/threshold/);
    expect(() => binaryClassificationMetrics([0, 1], [0.5, 0.5], Number.NaN)).toThrow(/threshold/);
  });
});

// --- Multiclass classification ---------------------------------------------------------------------------------------

describe('multiclassMetrics', () => {
  // Seven rows, three classes; predicted = argmax, first on ties
  const yTrue = [0, 0, 1, 1, 2, 2, 2];
  const rows = [
    [0.7, 0.2, 0.1], // true 0, predicted 0
    [0.3, 0.6, 0.1], // true 0, predicted 1
    [0.2, 0.5, 0.3], // true 1, predicted 1
    [0.6, 0.2, 0.2], // true 1, predicted 0
    [0.1, 0.1, 0.8], // true 2, predicted 2
    [0.4, 0.4, 0.2], // true 2, predicted 0 (tie between 0 and 1 → 0)
    [0.2, 0.2, 0.6], // true 2, predicted 2
  ];

  it('matches a hand-built confusion matrix, macro averages and one-vs-rest AUC', () => {
    const m = multiclassMetrics(yTrue, rows);
    expect(m.labels).toEqual([0, 1, 2]);
    expect(m.count).toBe(7);
    // rows = true class, columns = predicted class
    expect(m.confusionMatrix).toEqual([
      [1, 1, 0],
      [1, 1, 0],
      [1, 0, 2],
    ]);
    expectClose(m.accuracy, 4 / 7); // diagonal 1 + 1 + 2
    // class 0: tp 1, predicted 3, actual 2 → P 1/3, R 1/2, F1 2·1 / (3 + 2) = 2/5
    // class 1: tp 1, predicted 2, actual 2 → P 1/2, R 1/2, F1 1/2
    // class 2: tp 2, predicted 2, actual 3 → P 1,   R 2/3, F1 2·2 / (2 + 3) = 4/5
    expectClose(m.precision, (1 / 3 + 1 / 2 + 1) / 3); // 11/18
    expectClose(m.recall, (1 / 2 + 1 / 2 + 2 / 3) / 3); // 5/9
    expectClose(m.f1, (2 / 5 + 1 / 2 + 4 / 5) / 3); // 17/30
    // One-vs-rest, ranks ascending with ties averaged:
    // class 0 scores: neg 0.1 r1, neg 0.2 0.2 r2.5 r2.5, pos 0.3 r4, neg 0.4 r5, neg 0.6 r6, pos 0.7 r7
    //   R₁ = 4 + 7 = 11, U = 11 − 3 = 8, AUC = 8 / (2·5) = 0.8
    // class 1 scores: neg 0.1 r1; 0.2 ×3 (neg row 0, pos row 3, neg row 6) r3 each; neg 0.4 r5; pos 0.5 r6; neg 0.6 r7
    //   R₁ = 3 + 6 = 9, U = 9 − 3 = 6, AUC = 6 / 10 = 0.6
    // class 2 scores: neg 0.1 0.1 r1.5 r1.5; 0.2 ×2 (neg row 3, pos row 5) r3.5 each; neg 0.3 r5; pos 0.6 r6; pos 0.8 r7
    //   R₁ = 3.5 + 6 + 7 = 16.5, U = 16.5 − 6 = 10.5, AUC = 10.5 / (3·4) = 0.875
    // macro = (0.8 + 0.6 + 0.875) / 3 = 91/120
    expectClose(m.rocAuc, 91 / 120);
    // probability of the true class per row: 0.7, 0.3, 0.5, 0.2, 0.8, 0.2, 0.6
    const logs = [0.7, 0.3, 0.5, 0.2, 0.8, 0.2, 0.6].map(Math.log);
    expectClose(m.logLoss, -(logs[0]! + logs[1]! + logs[2]! + logs[3]! + logs[4]! + logs[5]! + logs[6]!) / 7);
  });

  it('gives the same result from a flat row-major buffer', () => {
    const flat = new Float32Array(rows.flat());
    const fromFlat = multiclassMetrics(new Int32Array(yTrue), { data: flat, classes: 3 });
    // Float32 rounding moves the logs slightly, never the ranks or the argmax
    expect(fromFlat.confusionMatrix).toEqual(multiclassMetrics(yTrue, rows).confusionMatrix);
    expectClose(fromFlat.rocAuc, 91 / 120);
    expect(fromFlat.logLoss).toBeCloseTo(multiclassMetrics(yTrue, rows).logLoss, 6);
    expect(multiclassMetrics(yTrue, { data: rows.flat(), classes: 3 })).toEqual(multiclassMetrics(yTrue, rows));
  });

  it('counts classes that never occur as 0 in the macro averages and leaves them out of the AUC', () => {
    // k = 4, class 3 is neither true nor predicted; class 2 is predicted but never true
    const m = multiclassMetrics([0, 1, 1], [
      [0.9, 0.1, 0, 0], // true 0, predicted 0
      [0.1, 0.6, 0.3, 0], // true 1, predicted 1
      [0.1, 0.2, 0.7, 0], // true 1, predicted 2
    ]);
    expect(m.confusionMatrix).toEqual([
      [1, 0, 0, 0],
      [0, 1, 1, 0],
      [0, 0, 0, 0],
      [0, 0, 0, 0],
    ]);
    // class 0: P 1/1, R 1/1, F1 1; class 1: P 1/1, R 1/2, F1 2/3; class 2: P 0/1, R 0/0 → 0, F1 0; class 3: all 0/0 → 0
    expectClose(m.precision, (1 + 1 + 0 + 0) / 4);
    expectClose(m.recall, (1 + 1 / 2 + 0 + 0) / 4);
    expectClose(m.f1, (1 + 2 / 3 + 0 + 0) / 4);
    // AUC only for classes 0 and 1 (2 and 3 have no positives):
    // class 0: pos 0.9 vs neg 0.1, 0.1 → 1; class 1: pos 0.6, 0.2 vs neg 0.1 → 1 → macro 1
    expect(m.rocAuc).toBe(1);
    expectClose(m.accuracy, 2 / 3);
  });

  it('scores perfect and all-wrong confident predictions', () => {
    const perfect = multiclassMetrics([0, 1, 2], [[1, 0, 0], [0, 1, 0], [0, 0, 1]]);
    expect([perfect.accuracy, perfect.precision, perfect.recall, perfect.f1, perfect.rocAuc]).toEqual([1, 1, 1, 1, 1]);
    expect(perfect.logLoss).toBe(-Math.log(1 - 1e-15)); // every true-class probability 1 is clipped to 1 − 1e-15
    const wrong = multiclassMetrics([0, 1, 2], [[0, 1, 0], [0, 0, 1], [1, 0, 0]]);
    expect(wrong.confusionMatrix).toEqual([[0, 1, 0], [0, 0, 1], [1, 0, 0]]);
    expect([wrong.accuracy, wrong.precision, wrong.recall, wrong.f1]).toEqual([0, 0, 0, 0]);
    // Each class one-vs-rest: its positive scores 0; its negatives score 0 (a tie, 1/2) and 1 (a loss, 0) → 1/4
    expect(wrong.rocAuc).toBe(0.25);
    expectClose(wrong.logLoss, -Math.log(1e-15)); // every true-class probability 0 is clipped to 1e-15
  });

  it('gives rocAuc null when no class has both positives and negatives', () => {
    expect(multiclassMetrics([1, 1], [[0.2, 0.8], [0.6, 0.4]]).rocAuc).toBeNull();
  });

  it('equals the naive pairwise reference on random data', () => {
    const workload = fc.integer({ min: 2, max: 4 }).chain((k) =>
      fc.array(fc.tuple(fc.integer({ min: 0, max: k - 1 }), fc.array(gridProbability, { minLength: k, maxLength: k })), {
        minLength: 1,
        maxLength: 50,
      }),
    );
    fc.assert(
      fc.property(workload, (pairs) => {
        const labels = pairs.map(([y]) => y);
        const probabilities = pairs.map(([, row]) => row);
        expectMetricsClose(multiclassMetrics(labels, probabilities), refMulticlass(labels, probabilities));
      }),
      { seed: 31337, numRuns: 300 },
    );
  });

  it('rejects bad input with InvalidArgumentError naming the row', () => {
    expect(() => multiclassMetrics([], [])).toThrow(/no rows/);
    expect(() => multiclassMetrics([0, 1], [[0.5, 0.5]])).toThrow(/'yTrue' has 2 rows but 'probabilities' has 1/);
    expect(() => multiclassMetrics([0, 3], rows.slice(0, 2))).toThrow(/row 1 of 'yTrue' is 3; labels must be class indices 0 … 2/);
    expect(() => multiclassMetrics([0, 1.5], rows.slice(0, 2))).toThrow(InvalidArgumentError);
    expect(() => multiclassMetrics([0, -1], rows.slice(0, 2))).toThrow(InvalidArgumentError);
    expect(() => multiclassMetrics([0, 1], [[0.5, 0.5], [0.5, 0.3, 0.2]])).toThrow(/row 1 of 'probabilities' has 3 values/);
    expect(() => multiclassMetrics([0], [[1]])).toThrow(/at least 2 class probabilities/);
    expect(() => multiclassMetrics([0, 1], [[0.5, 0.5], [0.5, 1.5]])).toThrow(/row 1 of 'probabilities' is 1.5/);
    expect(() => multiclassMetrics([0, 1], { data: [0.5, 0.5, Number.NaN, 0.5], classes: 2 })).toThrow(
      /row 1 of 'probabilities' is NaN/,
    );
    expect(() => multiclassMetrics([0, 1], { data: [0.5, 0.5, 0.5], classes: 2 })).toThrow(/4 values, got 3/);
    expect(() => multiclassMetrics([0, 1], { data: [0.5, 0.5], classes: 1 })).toThrow(/classes/);
    expect(() => multiclassMetrics([0, 1], 'nope' as unknown as number[][])).toThrow(InvalidArgumentError);
  });
});
