import type { FeatureGroupDefinition } from '../definitions/feature-group.ts';
import { nameKey } from '../definitions/names.ts';
import { InvalidArgumentError } from '../errors.ts';
import { ident, join, literal, raw, sql, timestampLiteral, type Sql } from '../sql/index.ts';
import { parseIsoToMicros } from '../util/time.ts';

/** A value in a filter: compared with the column in its own type. */
export type FilterValue = string | number | bigint | boolean | Date;

/** Comparisons on one column. Several in one object are combined with AND. */
export interface ColumnFilter {
  eq?: FilterValue;
  ne?: FilterValue;
  lt?: FilterValue;
  lte?: FilterValue;
  gt?: FilterValue;
  gte?: FilterValue;
  in?: FilterValue[];
  isNull?: boolean;
}

/**
 * A structured row filter: column → value (equality) or column → comparisons. Combined with AND.
 *
 * @example
 * ```ts
 * await weather.read({ where: { location: 'Seattle', temp_max: { gte: 25 } } });
 * ```
 */
export type Where = Record<string, FilterValue | ColumnFilter>;

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

function valueSql(type: string, value: FilterValue, column: string): Sql {
  if (type === 'timestamp') return timestampLiteral(instantToMillis(value as Instant, `filter on '${column}'`));
  if (type === 'date') {
    const ms = instantToMillis(value as Instant, `filter on '${column}'`);
    return sql`CAST(${timestampLiteral(ms)} AS DATE)`;
  }
  if (value instanceof Date) throw new InvalidArgumentError(`Column '${column}' is ${type}; a Date cannot be compared with it.`);
  return literal(value);
}

const OPERATORS: Record<string, Sql> = {
  eq: raw('='),
  ne: raw('<>'),
  lt: raw('<'),
  lte: raw('<='),
  gt: raw('>'),
  gte: raw('>='),
};

/** Compiles a structured filter into an SQL boolean expression over the group's columns. */
export function compileWhere(definition: FeatureGroupDefinition, where: Where): Sql[] {
  if (typeof where !== 'object' || where === null) throw new InvalidArgumentError('where must be an object.');
  const columns = new Map(definition.features.map((f) => [nameKey(f.name), f]));
  const out: Sql[] = [];
  for (const [name, condition] of Object.entries(where)) {
    const feature = columns.get(nameKey(name));
    if (feature === undefined) {
      throw new InvalidArgumentError(`where names column '${name}', which is not in ${definition.name} v${definition.version}.`);
    }
    const column = ident(feature.name);
    const isFilterObject =
      typeof condition === 'object' && condition !== null && !(condition instanceof Date) && !Array.isArray(condition);
    if (!isFilterObject) {
      out.push(sql`${column} = ${valueSql(feature.type, condition as FilterValue, feature.name)}`);
      continue;
    }
    for (const [op, value] of Object.entries(condition)) {
      if (op === 'isNull') {
        out.push(value === true ? sql`${column} IS NULL` : sql`${column} IS NOT NULL`);
      } else if (op === 'in') {
        if (!Array.isArray(value) || value.length === 0) throw new InvalidArgumentError(`'in' on '${name}' needs a non-empty array.`);
        out.push(sql`${column} IN (${join(value.map((v) => valueSql(feature.type, v as FilterValue, feature.name)))})`);
      } else {
        const operator = OPERATORS[op];
        if (operator === undefined) throw new InvalidArgumentError(`Unknown filter operator '${op}' on '${name}'.`);
        out.push(sql`${column} ${operator} ${valueSql(feature.type, value as FilterValue, feature.name)}`);
      }
    }
  }
  return out;
}
