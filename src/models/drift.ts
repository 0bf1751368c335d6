/**
 * Drift of served feature values against the values a model was trained on: the population stability index over
 * the training distribution's quantile bins, and the two-sample Kolmogorov–Smirnov statistic.
 * @module
 */
import { InvalidArgumentError } from '../errors.ts';

/** Empty bins count as this share, so that PSI stays finite. */
const EMPTY_SHARE = 1e-4;

function finiteSorted(values: ArrayLike<number>, what: string): Float64Array {
  const out = Float64Array.from(Array.prototype.filter.call(values, (v: number) => Number.isFinite(v)) as number[]);
  if (out.length === 0) throw new InvalidArgumentError(`${what} has no finite values to compare.`);
  return out.sort();
}

/**
 * Population stability index of `actual` against `expected`: Σ (a − e)·ln(a / e) over `bins` bins cut at the
 * quantiles of `expected` (ties merged; an empty bin counts as a share of 1e-4). Below 0.1 is usually read as
 * stable, above 0.2 as shifted.
 *
 * @example
 * ```ts
 * psi(trainingValues, servedValues); // 0.03
 * ```
 */
export function psi(expected: ArrayLike<number>, actual: ArrayLike<number>, bins = 10): number {
  if (!Number.isInteger(bins) || bins < 2) throw new InvalidArgumentError('bins must be an integer of at least 2.');
  const e = finiteSorted(expected, 'The expected sample');
  const a = finiteSorted(actual, 'The actual sample');
  // Inner edges at the expected quantiles; a value goes to the first bin whose edge is above it.
  const edges = [...new Set(Array.from({ length: bins - 1 }, (_, i) => e[Math.floor(((i + 1) * e.length) / bins)]!))];
  const shares = (sorted: Float64Array): number[] => {
    const counts = new Array<number>(edges.length + 1).fill(0);
    let bin = 0;
    for (const v of sorted) {
      while (bin < edges.length && v >= edges[bin]!) bin++;
      counts[bin]!++;
    }
    return counts.map((c) => Math.max(c / sorted.length, EMPTY_SHARE));
  };
  const es = shares(e);
  const as = shares(a);
  return es.reduce((sum, ei, i) => sum + (as[i]! - ei) * Math.log(as[i]! / ei), 0);
}

/**
 * The two-sample Kolmogorov–Smirnov statistic: the largest distance between the two empirical distribution
 * functions, in [0, 1].
 *
 * @example
 * ```ts
 * ksStatistic([1, 2, 3], [1, 2, 3]); // 0
 * ```
 */
export function ksStatistic(first: ArrayLike<number>, second: ArrayLike<number>): number {
  const x = finiteSorted(first, 'The first sample');
  const y = finiteSorted(second, 'The second sample');
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < x.length && j < y.length) {
    const v = Math.min(x[i]!, y[j]!);
    while (i < x.length && x[i]! <= v) i++;
    while (j < y.length && y[j]! <= v) j++;
    d = Math.max(d, Math.abs(i / x.length - j / y.length));
  }
  return d;
}
