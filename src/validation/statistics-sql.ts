import type { Feature } from '../definitions/feature-group.ts';
import { ident, literal, sql, type Sql } from '../sql/index.ts';

/** Number of equal-width histogram bins. */
export const HISTOGRAM_BINS = 20;

/** The numeric expression statistics are computed on: the value itself, or epoch ms (with a fraction) for instants. */
export function numericExpression(feature: Feature): Sql | null {
  const c = ident(feature.name);
  switch (feature.type) {
    case 'int32':
    case 'int64':
    case 'float32':
    case 'float64':
      return sql`CAST(${c} AS DOUBLE)`;
    case 'timestamp':
      // epoch_ms would truncate the microseconds (towards zero); ms with a fraction keeps them, as Arrow JS does.
      return sql`CAST(epoch_us(${c}) AS DOUBLE) / 1000`;
    case 'date':
      return sql`CAST(epoch_ms(CAST(${c} AS TIMESTAMP)) AS DOUBLE)`;
    default:
      return null;
  }
}

/** The numeric expression of a column restricted to finite values (NaN and ±Infinity become null), times `scale`. */
function finiteValue(feature: Feature, scale = 1): Sql | null {
  const x = numericExpression(feature);
  if (x === null) return null;
  return scale === 1 ? sql`CASE WHEN isfinite(${x}) THEN ${x} END` : sql`CASE WHEN isfinite(${x}) THEN ${x} * ${literal(scale)} END`;
}

/**
 * SELECT list computing one column's counts and range (`n`, `nulls`, `d`, `lo`, `hi`), and for booleans and lists
 * also `mean` and `std`. Numeric ranges are over finite values: NaN and ±Infinity are left out of numeric
 * statistics (see {@link momentsSelect}).
 */
export function summarySelect(feature: Feature): Sql {
  const c = ident(feature.name);
  const counts = sql`count(${c}) AS n, count(*) - count(${c}) AS nulls, count(DISTINCT ${c}) AS d`;
  const v = finiteValue(feature);
  if (v !== null) return sql`${counts}, min(${v}) AS lo, max(${v}) AS hi, NULL AS mean, NULL AS std`;
  if (feature.type === 'bool') {
    return sql`${counts}, CAST(bool_and(${c}) AS VARCHAR) AS lo, CAST(bool_or(${c}) AS VARCHAR) AS hi,
      avg(CAST(${c} AS DOUBLE)) AS mean, stddev_samp(CAST(${c} AS DOUBLE)) AS std`;
  }
  if (feature.type === 'list<float32>') {
    return sql`${counts}, min(len(${c})) AS lo, max(len(${c})) AS hi, avg(len(${c})) AS mean, stddev_samp(len(${c})) AS std`;
  }
  return sql`${counts}, min(${c}) AS lo, max(${c}) AS hi, NULL AS mean, NULL AS std`;
}

/**
 * A power of two to multiply values by so that sums of squares cannot overflow a double (DuckDB raises an error
 * rather than return Infinity). Scaling by a power of two is exact, so results are unscaled exactly.
 */
export function overflowSafeScale(lo: number, hi: number): number {
  const largest = Math.max(Math.abs(lo), Math.abs(hi));
  return largest <= 2 ** 400 ? 1 : 2 ** -(Math.ceil(Math.log2(largest)) - 400);
}

/** SELECT list computing mean, sample std and quantiles (`mean`, `std`, `q`) of a numeric column's finite values, times `scale`. */
export function momentsSelect(feature: Feature, scale: number): Sql | null {
  const v = finiteValue(feature, scale);
  if (v === null) return null;
  return sql`avg(${v}) AS mean, stddev_samp(${v}) AS std, quantile_cont(${v}, [0.05, 0.25, 0.5, 0.75, 0.95]) AS q`;
}

/**
 * SELECT computing the bin index (`bin`) and count (`n`) of the finite values of a numeric column, times `scale`,
 * in HISTOGRAM_BINS equal-width bins from lo to hi (scaled likewise); the last bin includes hi.
 */
export function histogramSelect(feature: Feature, source: Sql, lo: number, width: number, scale: number): Sql | null {
  const v = finiteValue(feature, scale);
  if (v === null) return null;
  if (!(width > 0)) return sql`SELECT 0 AS bin, count(${v}) AS n FROM ${source}`;
  return sql`SELECT least(CAST(floor((${v} - ${literal(lo)}) / ${literal(width)}) AS INTEGER), ${literal(HISTOGRAM_BINS - 1)}) AS bin,
    count(*) AS n FROM ${source} WHERE ${v} IS NOT NULL GROUP BY 1`;
}
