/**
 * Drift statistics computed the slow, textbook way — the independent oracle of the drift tests: decile edges of the
 * expected sample with shares by filtering (an empty bin counts as 1e-4), and KS as the largest gap between the two
 * empirical distribution functions at every observed value.
 */
export function textbookPsi(expected: number[], actual: number[], bins = 10): number {
  const sorted = [...expected].sort((a, b) => a - b);
  const edges = [...new Set(Array.from({ length: bins - 1 }, (_, i) => sorted[Math.floor(((i + 1) * sorted.length) / bins)]!))];
  const binOf = (v: number) => edges.filter((e) => v >= e).length;
  const share = (sample: number[], b: number) => Math.max(sample.filter((v) => binOf(v) === b).length / sample.length, 1e-4);
  let total = 0;
  for (let b = 0; b <= edges.length; b++) total += (share(actual, b) - share(expected, b)) * Math.log(share(actual, b) / share(expected, b));
  return total;
}

export function textbookKs(x: number[], y: number[]): number {
  const ecdf = (sample: number[], v: number) => sample.filter((s) => s <= v).length / sample.length;
  return Math.max(...[...x, ...y].map((v) => Math.abs(ecdf(x, v) - ecdf(y, v))));
}
