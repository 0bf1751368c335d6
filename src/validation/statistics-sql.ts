import type { Feature } from '../definitions/feature-group.ts';
import { ident, literal, sql, type Sql } from '../sql/index.ts';

/** Number of equal-width histogram bins. */
export const HISTOGRAM_BINS = 20;

/** The numeric expression statistics are computed on: the value itself, or epoch ms for instants. */
export function numericExpression(feature: Feature): Sql | null {
  const c = ident(feature.name);
  switch (feature.type) {
    case 'int32':
    case 'int64':
    case 'float32':
    case 'float64':
      return sql`CAST(${c} AS DOUBLE)`;
    case 'timestamp':
      return sql`CAST(epoch_ms(${c}) AS DOUBLE)`;
    case 'date':
      return sql`CAST(epoch_ms(CAST(${c} AS TIMESTAMP)) AS DOUBLE)`;
    default:
      return null;
  }
}

/** SELECT list computing one column's summary; NaN is left out of numeric aggregates. */
export function summarySelect(feature: Feature): Sql {
  const c = ident(feature.name);
  const x = numericExpression(feature);
  if (x !== null) {
    const v = sql`CASE WHEN isnan(${x}) THEN NULL ELSE ${x} END`;
    return sql`count(${c}) AS n, count(*) - count(${c}) AS nulls, count(DISTINCT ${c}) AS d,
      min(${v}) AS lo, max(${v}) AS hi, avg(${v}) AS mean, stddev_samp(${v}) AS std,
      quantile_cont(${v}, [0.05, 0.25, 0.5, 0.75, 0.95]) AS q`;
  }
  if (feature.type === 'bool') {
    return sql`count(${c}) AS n, count(*) - count(${c}) AS nulls, count(DISTINCT ${c}) AS d,
      CAST(bool_and(${c}) AS VARCHAR) AS lo, CAST(bool_or(${c}) AS VARCHAR) AS hi, avg(CAST(${c} AS DOUBLE)) AS mean,
      stddev_samp(CAST(${c} AS DOUBLE)) AS std, NULL AS q`;
  }
  if (feature.type === 'list<float32>') {
    return sql`count(${c}) AS n, count(*) - count(${c}) AS nulls, count(DISTINCT ${c}) AS d,
      min(len(${c})) AS lo, max(len(${c})) AS hi, avg(len(${c})) AS mean, stddev_samp(len(${c})) AS std, NULL AS q`;
  }
  return sql`count(${c}) AS n, count(*) - count(${c}) AS nulls, count(DISTINCT ${c}) AS d,
    min(${c}) AS lo, max(${c}) AS hi, NULL AS mean, NULL AS std, NULL AS q`;
}

/** SELECT computing the bin index of each non-null, non-NaN value for a histogram between lo and hi. */
export function histogramSelect(feature: Feature, source: Sql, lo: number, hi: number): Sql | null {
  const x = numericExpression(feature);
  if (x === null) return null;
  const width = (hi - lo) / HISTOGRAM_BINS;
  if (!(width > 0)) {
    return sql`SELECT 0 AS bin, count(*) AS n FROM ${source} WHERE ${x} IS NOT NULL AND NOT isnan(${x}) GROUP BY 1`;
  }
  return sql`SELECT least(CAST(floor((${x} - ${literal(lo)}) / ${literal(width)}) AS INTEGER), ${literal(HISTOGRAM_BINS - 1)}) AS bin,
    count(*) AS n FROM ${source} WHERE ${x} IS NOT NULL AND NOT isnan(${x}) GROUP BY 1`;
}
