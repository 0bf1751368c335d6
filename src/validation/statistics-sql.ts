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

/** Names a statistic of one column in a SELECT list that covers many columns. */
export type Alias = (statistic: string) => Sql;

/** The aliases of column number `index`: `c<index>_<statistic>`. */
export function columnAlias(index: number): Alias {
  return (statistic) => ident(`c${index}_${statistic}`);
}

/**
 * SELECT items computing one column's counts and range (`n`, `nulls`, `d`, `lo`, `hi`), and for booleans and lists
 * also `mean` and `std`, named through `as`. Numeric ranges are over finite values: NaN and ±Infinity are left out
 * of numeric statistics (see {@link momentsSelect}).
 */
export function summarySelect(feature: Feature, as: Alias): Sql {
  const c = ident(feature.name);
  const counts = sql`count(${c}) AS ${as('n')}, count(*) - count(${c}) AS ${as('nulls')}, count(DISTINCT ${c}) AS ${as('d')}`;
  const v = finiteValue(feature);
  if (v !== null) return sql`${counts}, min(${v}) AS ${as('lo')}, max(${v}) AS ${as('hi')}`;
  if (feature.type === 'bool') {
    return sql`${counts}, CAST(bool_and(${c}) AS VARCHAR) AS ${as('lo')}, CAST(bool_or(${c}) AS VARCHAR) AS ${as('hi')},
      avg(CAST(${c} AS DOUBLE)) AS ${as('mean')}, stddev_samp(CAST(${c} AS DOUBLE)) AS ${as('std')}`;
  }
  if (feature.type === 'list<float32>') {
    return sql`${counts}, min(len(${c})) AS ${as('lo')}, max(len(${c})) AS ${as('hi')}, avg(len(${c})) AS ${as('mean')}, stddev_samp(len(${c})) AS ${as('std')}`;
  }
  return sql`${counts}, min(${c}) AS ${as('lo')}, max(${c}) AS ${as('hi')}`;
}

/**
 * A power of two to multiply values by so that sums of squares cannot overflow a double (DuckDB raises an error
 * rather than return Infinity). Scaling by a power of two is exact, so results are unscaled exactly.
 */
export function overflowSafeScale(lo: number, hi: number): number {
  const largest = Math.max(Math.abs(lo), Math.abs(hi));
  return largest <= 2 ** 400 ? 1 : 2 ** -(Math.ceil(Math.log2(largest)) - 400);
}

/**
 * SELECT items computing, over a numeric column's finite values times `scale`: mean, sample std, quantiles
 * (`mean`, `std`, `q`) and a histogram (`h`, a MAP from bin index to count) of HISTOGRAM_BINS equal-width bins of
 * `width` from `lo` (both scaled likewise; the last bin includes the maximum; width 0 puts every value in bin 0).
 * Null when the column has no numeric expression.
 */
export function momentsSelect(feature: Feature, scale: number, lo: number, width: number, as: Alias): Sql | null {
  const v = finiteValue(feature, scale);
  if (v === null) return null;
  // least() skips nulls (least(NULL, 19) is 19), so a missing value must stay null explicitly.
  const index = width > 0 ? sql`least(CAST(floor((${v} - ${literal(lo)}) / ${literal(width)}) AS INTEGER), ${literal(HISTOGRAM_BINS - 1)})` : sql`0`;
  const bin = sql`CASE WHEN ${v} IS NOT NULL THEN ${index} END`;
  return sql`avg(${v}) AS ${as('mean')}, stddev_samp(${v}) AS ${as('std')},
    quantile_cont(${v}, [0.05, 0.25, 0.5, 0.75, 0.95]) AS ${as('q')}, histogram(${bin}) AS ${as('h')}`;
}
