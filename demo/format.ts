// Pure text formatting for the demo's tables and statistics.
import type { Expectation, FeatureType } from '../src/index.ts';

const DAY_MS = 86_400_000;

/** Whether values of this type are instants (epoch milliseconds once read back). */
export function isInstant(type: FeatureType): boolean {
  return type === 'timestamp' || type === 'date';
}

/** An instant as `YYYY-MM-DD` when it is midnight UTC, else `YYYY-MM-DD HH:MM:SS` (UTC). */
export function formatInstant(ms: number): string {
  const iso = new Date(ms).toISOString();
  return iso.endsWith('T00:00:00.000Z') ? iso.slice(0, 10) : `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
}

/** A commit time: date and time in UTC. */
export function formatCommitTime(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`;
}

/** A cell of the rows table, as stored (no rounding). */
export function formatCell(value: unknown, type: FeatureType): string {
  if (value === null || value === undefined) return '';
  if (value instanceof Date) return formatInstant(value.getTime());
  if (isInstant(type) && typeof value === 'number') return formatInstant(value);
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value) ?? ''; // list<float32> comes back as an Arrow vector, which has toJSON()
}

/** A summary statistic (min, max, mean, quantile): instants as dates, other numbers to two decimals. */
export function formatStatistic(value: number | string | boolean | null, type: FeatureType): string {
  if (value === null) return '–';
  if (typeof value !== 'number') return String(value);
  if (isInstant(type)) return formatInstant(value);
  return Number.isInteger(value) ? String(value) : value.toFixed(2);
}

/** A standard deviation: in days for instants. */
export function formatSpread(value: number | null, type: FeatureType): string {
  if (value === null) return '–';
  return isInstant(type) ? `${(value / DAY_MS).toFixed(1)} d` : value.toFixed(2);
}

/** One expectation as a short sentence. */
export function describeExpectation(expectation: Expectation): string {
  switch (expectation.kind) {
    case 'notNull':
      return `${expectation.column} is not null`;
    case 'between':
      return `${expectation.column} ${range(expectation.min, expectation.max)}`;
    case 'inSet':
      return `${expectation.column} in {${expectation.values.join(', ')}}`;
    case 'unique':
      return 'primary key + event time unique';
    case 'matches':
      return `${expectation.column} matches /${expectation.pattern}/`;
    case 'rowCount':
      return `row count ${range(expectation.min, expectation.max)}`;
  }
}

function range(min: number | undefined, max: number | undefined): string {
  if (min !== undefined && max !== undefined) return `between ${min} and ${max}`;
  return min !== undefined ? `≥ ${min}` : `≤ ${String(max)}`;
}
