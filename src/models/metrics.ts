/**
 * Evaluation metrics for a trained model on the test split, computed by our own code on plain arrays or typed arrays
 * (never by tfjs), so the numbers stored with a model version do not depend on a backend.
 *
 * Conventions shared by every function:
 * - **Inputs.** One value per test row, as any array-like (`number[]`, `Float32Array`, `Float64Array`, …). Lengths
 *   must match, there must be at least one row, and every value must be finite; otherwise
 *   {@link InvalidArgumentError} names the first offending row.
 * - **Zero division.** A precision, recall or F1 whose denominator is 0 is `0` (scikit-learn's `zero_division=0`).
 * - **Undefined metrics are `null`,** never `NaN`: R² when the true values are constant, ROC-AUC when only one class
 *   is present.
 * - **Cost.** O(n log n) time (the sorts behind ROC-AUC) and O(n) extra memory in typed arrays; fine for millions
 *   of rows.
 *
 * @example
 * ```ts
 * const metrics = binaryClassificationMetrics(test.label, predictions);
 * if (metrics.rocAuc !== null && metrics.rocAuc < 0.7) warn('weak model');
 * ```
 * @module
 */
import { InvalidArgumentError } from '../errors.ts';
import { describeValue } from '../util/describe.ts';

/** Metrics of a regression model. */
export interface RegressionMetrics {
  /** Number of rows evaluated. */
  count: number;
  /** Mean absolute error. */
  mae: number;
  /** Root mean squared error. */
  rmse: number;
  /** Coefficient of determination `1 − SS_res / SS_tot`; `null` when every true value is the same (`SS_tot = 0`). */
  r2: number | null;
}

/** Metrics of a classification model (binary or multiclass). */
export interface ClassificationMetrics {
  /** Number of rows evaluated. */
  count: number;
  /** Share of rows whose predicted class is the true class. */
  accuracy: number;
  /** Binary: precision of class 1. Multiclass: unweighted mean over all classes. 0 when the denominator is 0. */
  precision: number;
  /** Binary: recall of class 1. Multiclass: unweighted mean over all classes. 0 when the denominator is 0. */
  recall: number;
  /** Binary: F1 of class 1. Multiclass: unweighted mean of the per-class F1. 0 when the denominator is 0. */
  f1: number;
  /** Area under the ROC curve (multiclass: macro one-vs-rest); `null` when it is undefined (a single class). */
  rocAuc: number | null;
  /** Mean of `−ln p` over rows, `p` the probability given to the true class clipped to `[1e-15, 1 − 1e-15]`. */
  logLoss: number;
  /** Counts with rows = true class and columns = predicted class, both in the order of {@link labels}. */
  confusionMatrix: number[][];
  /** The class labels, `[0, 1]` or `[0 … k − 1]`. */
  labels: number[];
}

/**
 * Predicted class probabilities for `n` rows and `k` classes: either one array-like of `k` probabilities per row, or
 * one flat row-major array-like of `n × k` values (`data[row * classes + class]`), e.g. a tfjs output's `dataSync()`.
 */
export type ClassProbabilities = readonly ArrayLike<number>[] | { data: ArrayLike<number>; classes: number };

/** Probabilities are clipped to `[EPSILON, 1 − EPSILON]` before taking logs, as scikit-learn did for years. */
const EPSILON = 1e-15;

// ---------------------------------------------------------------------------------------------------------------------
// Validation

function isArrayLike(value: unknown): value is ArrayLike<unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const length = (value as { length?: unknown }).length;
  return typeof length === 'number' && Number.isInteger(length) && length >= 0;
}

/** Checks that both inputs are array-likes of the same, non-zero length, and returns it. */
function matchedLength(where: string, a: unknown, aName: string, b: unknown, bName: string): number {
  for (const [value, name] of [[a, aName], [b, bName]] as const) {
    if (!isArrayLike(value)) {
      throw new InvalidArgumentError(`${where}: '${name}' must be an array or typed array, got ${describeValue(value)}.`);
    }
  }
  const n = (a as ArrayLike<unknown>).length;
  const m = (b as ArrayLike<unknown>).length;
  if (n !== m) {
    throw new InvalidArgumentError(
      `${where}: '${aName}' has ${n} rows but '${bName}' has ${m}; pass one prediction per test row.`,
      { details: { [aName]: n, [bName]: m } },
    );
  }
  nonEmpty(where, n);
  return n;
}

function nonEmpty(where: string, n: number): void {
  if (n === 0) {
    throw new InvalidArgumentError(`${where}: there are no rows to evaluate; check that the test split is not empty.`);
  }
}

function badValue(where: string, name: string, row: number, value: unknown, rule: string): InvalidArgumentError {
  return new InvalidArgumentError(`${where}: row ${row} of '${name}' is ${describeValue(value)}; ${rule}.`, {
    details: { argument: name, row },
  });
}

function badProbability(where: string, name: string, row: number, value: unknown): InvalidArgumentError {
  return badValue(where, name, row, value, 'probabilities must be finite numbers in [0, 1]');
}

function clip(p: number): number {
  return p < EPSILON ? EPSILON : p > 1 - EPSILON ? 1 - EPSILON : p;
}

// ---------------------------------------------------------------------------------------------------------------------
// Shared statistics

/**
 * ROC-AUC as the normalised Mann–Whitney U statistic: rank all scores together (tied scores share their average
 * rank), sum the ranks of the positives `R₁`, then `U = R₁ − n₁(n₁ + 1) / 2` and `AUC = U / (n₁ · n₀)`. Both arrays
 * are sorted in place (native numeric sort) and walked together, so no index sort or comparator is needed.
 * Returns `null` when either class is empty.
 */
function rankAuc(positive: Float64Array, negative: Float64Array): number | null {
  const nPositive = positive.length;
  const nNegative = negative.length;
  if (nPositive === 0 || nNegative === 0) return null;
  positive.sort();
  negative.sort();
  let i = 0;
  let j = 0;
  let ranked = 0;
  let positiveRankSum = 0;
  while (i < nPositive || j < nNegative) {
    const p = i < nPositive ? (positive[i] as number) : Infinity;
    const q = j < nNegative ? (negative[j] as number) : Infinity;
    const score = p < q ? p : q;
    let tiedPositive = 0;
    let tiedNegative = 0;
    while (i < nPositive && positive[i] === score) {
      i++;
      tiedPositive++;
    }
    while (j < nNegative && negative[j] === score) {
      j++;
      tiedNegative++;
    }
    const size = tiedPositive + tiedNegative;
    // This tie group takes ranks ranked + 1 … ranked + size; each member gets their mean.
    positiveRankSum += tiedPositive * (ranked + (size + 1) / 2);
    ranked += size;
  }
  const u = positiveRankSum - (nPositive * (nPositive + 1)) / 2;
  return u / (nPositive * nNegative);
}

function ratio(numerator: number, denominator: number): number {
  return denominator === 0 ? 0 : numerator / denominator;
}

// ---------------------------------------------------------------------------------------------------------------------
// Regression

/**
 * MAE, RMSE and R² of a regression model. R² is `1 − SS_res / SS_tot` with `SS_tot = Σ (y − ȳ)²`; it is `null` when
 * every true value is the same, where it is undefined (scikit-learn would report 1.0 or 0.0 instead).
 *
 * @param yTrue - The true values, one per test row.
 * @param yPred - The predictions, one per test row.
 * @throws {@link InvalidArgumentError} when the lengths differ, there are no rows, or a value is not finite.
 * @example
 * ```ts
 * regressionMetrics([3, -0.5, 2, 7], [2.5, 0, 2, 8]);
 * // { count: 4, mae: 0.5, rmse: 0.612…, r2: 0.9486… }
 * regressionMetrics([5, 5], [4, 6]).r2; // null: the true values are constant
 * ```
 */
export function regressionMetrics(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): RegressionMetrics {
  const where = 'regressionMetrics';
  const n = matchedLength(where, yTrue, 'yTrue', yPred, 'yPred');
  const first = yTrue[0];
  let constant = true;
  let sumTrue = 0;
  let sumAbsolute = 0;
  let sumSquared = 0;
  for (let i = 0; i < n; i++) {
    const t = yTrue[i];
    const p = yPred[i];
    if (!Number.isFinite(t)) throw badValue(where, 'yTrue', i, t, 'true values must be finite numbers');
    if (!Number.isFinite(p)) throw badValue(where, 'yPred', i, p, 'predictions must be finite numbers');
    const error = (t as number) - (p as number);
    sumAbsolute += Math.abs(error);
    sumSquared += error * error;
    sumTrue += t as number;
    if (t !== first) constant = false;
  }
  let r2: number | null = null;
  if (!constant) {
    // A second pass around the mean: summing squares first and subtracting n·ȳ² loses precision.
    const mean = sumTrue / n;
    let total = 0;
    for (let i = 0; i < n; i++) {
      const deviation = (yTrue[i] as number) - mean;
      total += deviation * deviation;
    }
    if (total > 0) r2 = 1 - sumSquared / total;
  }
  return { count: n, mae: sumAbsolute / n, rmse: Math.sqrt(sumSquared / n), r2 };
}

// ---------------------------------------------------------------------------------------------------------------------
// Binary classification

/**
 * Metrics of a binary classifier from the predicted probability of class 1.
 *
 * - The predicted class is 1 when `probability >= threshold`.
 * - Precision, recall and F1 are those of class 1; a zero denominator gives 0 (e.g. precision when nothing is
 *   predicted positive).
 * - ROC-AUC is the Mann–Whitney U statistic with average ranks for tied probabilities (a tied positive/negative pair
 *   counts one half); `null` when the rows hold only one class.
 * - Log loss is `−mean(y·ln p + (1 − y)·ln(1 − p))` with `p` clipped to `[1e-15, 1 − 1e-15]`, so confident mistakes
 *   cost about 34.5 instead of infinity.
 * - The confusion matrix is `[[tn, fp], [fn, tp]]` (rows = true class, columns = predicted class), labels `[0, 1]`.
 *
 * @param yTrue - The true classes, each exactly 0 or 1.
 * @param probability - The predicted probability of class 1 for each row, in `[0, 1]`.
 * @param threshold - The decision threshold in `[0, 1]`; default 0.5.
 * @throws {@link InvalidArgumentError} when the lengths differ, there are no rows, a label is not 0/1, a probability
 *   is outside `[0, 1]` or the threshold is not in `[0, 1]`.
 * @example
 * ```ts
 * const m = binaryClassificationMetrics([0, 0, 1, 1], [0.1, 0.6, 0.4, 0.9]);
 * m.accuracy;        // 0.5
 * m.rocAuc;          // 0.75
 * m.confusionMatrix; // [[1, 1], [1, 1]]
 * ```
 */
export function binaryClassificationMetrics(
  yTrue: ArrayLike<number>,
  probability: ArrayLike<number>,
  threshold = 0.5,
): ClassificationMetrics {
  const where = 'binaryClassificationMetrics';
  const n = matchedLength(where, yTrue, 'yTrue', probability, 'probability');
  if (!(typeof threshold === 'number' && threshold >= 0 && threshold <= 1)) {
    throw new InvalidArgumentError(`${where}: threshold must be a number in [0, 1], got ${describeValue(threshold)}.`);
  }
  // Positive scores fill the buffer from the front, negative scores from the back.
  const scores = new Float64Array(n);
  let nPositive = 0;
  let nNegative = 0;
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let tn = 0;
  let logLikelihood = 0;
  for (let i = 0; i < n; i++) {
    const y = yTrue[i];
    const p = probability[i];
    if (y !== 0 && y !== 1) throw badValue(where, 'yTrue', i, y, 'binary labels must be 0 or 1');
    if (!(typeof p === 'number' && p >= 0 && p <= 1)) throw badProbability(where, 'probability', i, p);
    const predictedPositive = p >= threshold;
    if (y === 1) {
      scores[nPositive++] = p;
      logLikelihood += Math.log(clip(p));
      if (predictedPositive) tp++;
      else fn++;
    } else {
      scores[n - ++nNegative] = p;
      logLikelihood += Math.log(1 - clip(p));
      if (predictedPositive) fp++;
      else tn++;
    }
  }
  return {
    count: n,
    accuracy: (tp + tn) / n,
    precision: ratio(tp, tp + fp),
    recall: ratio(tp, tp + fn),
    f1: ratio(2 * tp, 2 * tp + fp + fn),
    rocAuc: rankAuc(scores.subarray(0, nPositive), scores.subarray(nPositive)),
    logLoss: -logLikelihood / n,
    confusionMatrix: [
      [tn, fp],
      [fn, tp],
    ],
    labels: [0, 1],
  };
}

// ---------------------------------------------------------------------------------------------------------------------
// Multiclass classification

/** Checks the probabilities' shape and returns them as one flat row-major array-like with its class count. */
function flatProbabilities(where: string, probabilities: unknown, n: number): { data: ArrayLike<number>; k: number } {
  if (Array.isArray(probabilities)) {
    const rows: readonly unknown[] = probabilities;
    if (rows.length !== n) {
      throw new InvalidArgumentError(
        `${where}: 'yTrue' has ${n} rows but 'probabilities' has ${rows.length}; ` +
          'pass one row of probabilities per test row.',
        { details: { yTrue: n, probabilities: rows.length } },
      );
    }
    const firstRow = rows[0];
    const k = isArrayLike(firstRow) ? firstRow.length : 0;
    if (k < 2) {
      throw new InvalidArgumentError(
        `${where}: row 0 of 'probabilities' must be an array of at least 2 class probabilities, got ` +
          `${isArrayLike(firstRow) ? `${k} values` : describeValue(firstRow)}.`,
        { details: { row: 0 } },
      );
    }
    const data = new Float64Array(n * k);
    for (let i = 0; i < n; i++) {
      const row = rows[i];
      if (!isArrayLike(row) || row.length !== k) {
        throw new InvalidArgumentError(
          `${where}: row ${i} of 'probabilities' has ${isArrayLike(row) ? `${row.length} values` : describeValue(row)} ` +
            `but row 0 has ${k}; give every row one probability per class.`,
          { details: { row: i } },
        );
      }
      for (let c = 0; c < k; c++) {
        const p = row[c];
        if (!(typeof p === 'number' && p >= 0 && p <= 1)) throw badProbability(where, 'probabilities', i, p);
        data[i * k + c] = p;
      }
    }
    return { data, k };
  }
  if (typeof probabilities === 'object' && probabilities !== null && 'data' in probabilities) {
    const { data, classes } = probabilities as { data: unknown; classes?: unknown };
    if (!(typeof classes === 'number' && Number.isInteger(classes) && classes >= 2)) {
      throw new InvalidArgumentError(
        `${where}: 'probabilities.classes' must be an integer >= 2, got ${describeValue(classes)}.`,
      );
    }
    if (!isArrayLike(data) || data.length !== n * classes) {
      throw new InvalidArgumentError(
        `${where}: 'probabilities.data' must hold ${n} rows × ${classes} classes = ${n * classes} values, got ` +
          `${isArrayLike(data) ? data.length : describeValue(data)}.`,
        { details: { rows: n, classes } },
      );
    }
    // Values are checked row by row in the main pass.
    return { data: data as ArrayLike<number>, k: classes };
  }
  throw new InvalidArgumentError(
    `${where}: 'probabilities' must be an array of rows or { data, classes }, got ${describeValue(probabilities)}.`,
  );
}

/**
 * Metrics of a classifier over `k` classes from its predicted class probabilities.
 *
 * - The predicted class is the argmax of each row (the lowest class index on ties).
 * - Precision, recall and F1 are **macro** averages: the unweighted mean over all `k` classes, including classes that
 *   are neither true nor predicted in any row (they count 0, scikit-learn's `zero_division=0` with
 *   `labels=[0 … k − 1]`). F1 is the mean of the per-class F1, not the F1 of the mean precision and recall.
 * - ROC-AUC is the macro one-vs-rest average over the classes that have both positive and negative rows (each class's
 *   column of probabilities as its score, ties at average rank); `null` when no class qualifies.
 * - Log loss is `−mean(ln p[y])`, the probability of the true class clipped to `[1e-15, 1 − 1e-15]`. Rows are used as
 *   given: they are not required to sum to 1 and are not renormalised.
 * - The confusion matrix is `k × k` (rows = true class, columns = predicted class), labels `[0 … k − 1]`.
 *
 * @param yTrue - The true class index of each row, an integer in `[0, k)`.
 * @param probabilities - `n` rows of `k` probabilities in `[0, 1]`, see {@link ClassProbabilities}; `k >= 2`.
 * @throws {@link InvalidArgumentError} when the shapes do not match, there are no rows, a label is not a class
 *   index or a probability is outside `[0, 1]`.
 * @example
 * ```ts
 * const m = multiclassMetrics([0, 1, 2], [[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.5, 0.2, 0.3]]);
 * m.accuracy;        // 2 / 3
 * m.confusionMatrix; // [[1, 0, 0], [0, 1, 0], [1, 0, 0]]
 * // The same from a flat row-major buffer, e.g. a softmax output:
 * multiclassMetrics(labels, { data: output.dataSync(), classes: 3 });
 * ```
 */
export function multiclassMetrics(yTrue: ArrayLike<number>, probabilities: ClassProbabilities): ClassificationMetrics {
  const where = 'multiclassMetrics';
  if (!isArrayLike(yTrue)) {
    throw new InvalidArgumentError(`${where}: 'yTrue' must be an array or typed array, got ${describeValue(yTrue)}.`);
  }
  const n = yTrue.length;
  nonEmpty(where, n);
  const { data, k } = flatProbabilities(where, probabilities, n);

  const confusion = new Float64Array(k * k);
  const support = new Float64Array(k);
  let logLikelihood = 0;
  for (let i = 0; i < n; i++) {
    const y = yTrue[i];
    if (!(typeof y === 'number' && Number.isInteger(y) && y >= 0 && y < k)) {
      throw badValue(where, 'yTrue', i, y, `labels must be class indices 0 … ${k - 1}`);
    }
    const base = i * k;
    let predicted = 0;
    let best = -1;
    for (let c = 0; c < k; c++) {
      const p = data[base + c];
      if (!(typeof p === 'number' && p >= 0 && p <= 1)) throw badProbability(where, 'probabilities', i, p);
      if (p > best) {
        best = p;
        predicted = c;
      }
    }
    const cell = y * k + predicted;
    confusion[cell] = (confusion[cell] as number) + 1;
    support[y] = (support[y] as number) + 1;
    logLikelihood += Math.log(clip(data[base + y] as number));
  }

  let correct = 0;
  let precisionSum = 0;
  let recallSum = 0;
  let f1Sum = 0;
  for (let c = 0; c < k; c++) {
    const tp = confusion[c * k + c] as number;
    let predictedAsC = 0;
    for (let t = 0; t < k; t++) predictedAsC += confusion[t * k + c] as number;
    const actual = support[c] as number;
    correct += tp;
    precisionSum += ratio(tp, predictedAsC);
    recallSum += ratio(tp, actual);
    f1Sum += ratio(2 * tp, predictedAsC + actual);
  }

  // One-vs-rest: one reusable buffer, positives at the front and negatives at the back, as in the binary case.
  const scores = new Float64Array(n);
  let aucSum = 0;
  let aucClasses = 0;
  for (let c = 0; c < k; c++) {
    if (support[c] === 0 || support[c] === n) continue;
    let nPositive = 0;
    let nNegative = 0;
    for (let i = 0; i < n; i++) {
      const score = data[i * k + c] as number;
      if (yTrue[i] === c) scores[nPositive++] = score;
      else scores[n - ++nNegative] = score;
    }
    aucSum += rankAuc(scores.subarray(0, nPositive), scores.subarray(nPositive)) as number;
    aucClasses++;
  }

  const confusionMatrix: number[][] = [];
  for (let t = 0; t < k; t++) confusionMatrix.push(Array.from(confusion.subarray(t * k, (t + 1) * k)));
  return {
    count: n,
    accuracy: correct / n,
    precision: precisionSum / k,
    recall: recallSum / k,
    f1: f1Sum / k,
    rocAuc: aucClasses === 0 ? null : aucSum / aucClasses,
    logLoss: -logLikelihood / n,
    confusionMatrix,
    labels: Array.from({ length: k }, (_, c) => c),
  };
}
