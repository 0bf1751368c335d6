import type { Feature, FeatureGroupDefinition } from '../definitions/feature-group.ts';
import { nameKey, validateName } from '../definitions/names.ts';
import { isNumericType } from '../definitions/types.ts';
import { InvalidArgumentError } from '../errors.ts';
import { ident, join, literal, raw, sql, type Sql } from '../sql/index.ts';
import { parseIsoToMicros } from '../util/time.ts';

/** A value in a filter: compared with the column in its own type. */
export type FilterValue = string | number | bigint | boolean | Date;

/**
 * Comparisons on one column. Several in one object are combined with AND. Comparisons other than `ne` never match
 * null; `ne` matches every row whose value differs, null included (as `!==` would). `eq: null` and `ne: null`
 * are `isNull: true` and `isNull: false`. An option that is undefined is ignored.
 */
export interface ColumnFilter {
  eq?: FilterValue | null;
  ne?: FilterValue | null;
  lt?: FilterValue;
  lte?: FilterValue;
  gt?: FilterValue;
  gte?: FilterValue;
  in?: FilterValue[];
  isNull?: boolean;
}

/**
 * A structured row filter: column → value (equality; null for IS NULL) or column → comparisons. Combined with AND.
 * Columns whose condition is undefined are ignored.
 *
 * @example
 * ```ts
 * await weather.read({ where: { location: 'Seattle', temp_max: { gte: 25 } } });
 * ```
 */
export type Where = Record<string, FilterValue | ColumnFilter | null | undefined>;

/** An instant as Date, epoch milliseconds or ISO-8601 string (UTC unless an offset is given). */
export type Instant = Date | number | string;

/** Converts an instant to epoch milliseconds, or throws InvalidArgumentError. */
export function instantToMillis(value: Instant, what: string): number {
  if (value instanceof Date) {
    if (!Number.isNaN(value.getTime())) return value.getTime();
  } else if (typeof value === 'number') {
    if (Number.isFinite(value)) return value;
  } else if (typeof value === 'string') {
    const micros = parseIsoToMicros(value);
    if (micros !== null) return Number(micros) / 1000;
  }
  throw new InvalidArgumentError(`${what} is not a valid instant: ${String(value)}. Use a Date, epoch ms or ISO-8601.`);
}

/** An instant as epoch microseconds: ISO strings keep their microseconds, numbers are epoch ms. */
function instantMicros(value: unknown, what: string): bigint {
  if (typeof value === 'string') {
    const micros = parseIsoToMicros(value);
    if (micros !== null) return micros;
  }
  return BigInt(Math.round(instantToMillis(value as Instant, what) * 1000));
}

/** A filter value as an SQL literal of the column's type, or InvalidArgumentError when it cannot be compared. */
function valueSql(feature: Feature, value: unknown): Sql {
  const what = `the filter on '${feature.name}' (${feature.type})`;
  const mismatch = (): never => {
    throw new InvalidArgumentError(`${what} cannot compare ${value instanceof Date ? 'a Date' : typeof value} ${String(value)}.`);
  };
  switch (feature.type) {
    case 'timestamp':
      return sql`make_timestamp(${literal(instantMicros(value, what))})`;
    case 'date':
      return sql`CAST(make_timestamp(${literal(instantMicros(value, what))}) AS DATE)`;
    case 'string':
      return typeof value === 'string' ? literal(value) : mismatch();
    case 'bool':
      return typeof value === 'boolean' ? literal(value) : mismatch();
    default:
      if (isNumericType(feature.type) && (typeof value === 'number' || typeof value === 'bigint')) return literal(value);
      return mismatch();
  }
}

const OPERATORS: Record<string, Sql> = {
  eq: raw('='),
  lt: raw('<'),
  lte: raw('<='),
  gt: raw('>'),
  gte: raw('>='),
};

/** Compiles a structured filter into SQL boolean expressions over the group's columns (to be combined with AND). */
export function compileWhere(definition: FeatureGroupDefinition, where: Where): Sql[] {
  if (typeof where !== 'object' || where === null || Array.isArray(where)) throw new InvalidArgumentError('where must be an object.');
  const columns = new Map(definition.features.map((f) => [nameKey(f.name), f]));
  const out: Sql[] = [];
  for (const [name, condition] of Object.entries(where)) {
    if (condition === undefined) continue;
    const feature = columns.get(nameKey(validateName(name, 'column')));
    if (feature === undefined) {
      throw new InvalidArgumentError(`where names column '${name}', which is not in ${definition.name} v${definition.version}.`);
    }
    if (feature.type === 'list<float32>') throw new InvalidArgumentError(`Column '${feature.name}' is a list; it cannot be filtered on.`);
    const column = ident(feature.name);
    const isNull = (wanted: boolean): Sql => (wanted ? sql`${column} IS NULL` : sql`${column} IS NOT NULL`);
    if (condition === null) {
      out.push(isNull(true));
      continue;
    }
    if (typeof condition !== 'object' || condition instanceof Date || Array.isArray(condition)) {
      out.push(sql`${column} = ${valueSql(feature, condition)}`);
      continue;
    }
    for (const [op, value] of Object.entries(condition)) {
      if (value === undefined) continue;
      if (op === 'isNull') {
        if (typeof value !== 'boolean') throw new InvalidArgumentError(`isNull on '${name}' must be true or false.`);
        out.push(isNull(value));
      } else if ((op === 'eq' || op === 'ne') && value === null) {
        out.push(isNull(op === 'eq'));
      } else if (op === 'ne') {
        out.push(sql`${column} IS DISTINCT FROM ${valueSql(feature, value)}`);
      } else if (op === 'in') {
        if (!Array.isArray(value) || value.length === 0) throw new InvalidArgumentError(`'in' on '${name}' needs a non-empty array.`);
        out.push(sql`${column} IN (${join(value.map((v) => valueSql(feature, v)))})`);
      } else {
        const operator = OPERATORS[op];
        if (operator === undefined) throw new InvalidArgumentError(`Unknown filter operator '${op}' on '${name}'.`);
        out.push(sql`${column} ${operator} ${valueSql(feature, value)}`);
      }
    }
  }
  return out;
}
