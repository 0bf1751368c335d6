import type { Expectation } from '../definitions/expectations.ts';
import type { Feature } from '../definitions/feature-group.ts';
import { isFloatType } from '../definitions/types.ts';
import { ident, join, literal, sql, type Sql } from '../sql/index.ts';

/**
 * For one expectation, the SQL predicate that marks an offending row of the batch (null for expectations that are
 * not row-wise: unique and rowCount), and the value expression to sample. `features` are the group's columns.
 */
export function offendingRowPredicate(expectation: Expectation, features: readonly Feature[]): { predicate: Sql; sample: Sql } | null {
  switch (expectation.kind) {
    case 'notNull': {
      const c = ident(expectation.column);
      return { predicate: sql`${c} IS NULL`, sample: c };
    }
    case 'between': {
      const c = ident(expectation.column);
      const parts: Sql[] = [];
      // NaN lies in no range. DuckDB orders NaN above every number, so it would pass a lone lower bound.
      if (features.some((f) => f.name === expectation.column && isFloatType(f.type))) parts.push(sql`isnan(${c})`);
      if (expectation.min !== undefined) parts.push(sql`${c} < ${literal(expectation.min)}`);
      if (expectation.max !== undefined) parts.push(sql`${c} > ${literal(expectation.max)}`);
      return { predicate: sql`(${join(parts, ' OR ')})`, sample: c };
    }
    case 'inSet': {
      const c = ident(expectation.column);
      return {
        predicate: sql`${c} IS NOT NULL AND ${c} NOT IN (${join(expectation.values.map((v) => literal(v)))})`,
        sample: c,
      };
    }
    case 'matches': {
      const c = ident(expectation.column);
      return { predicate: sql`${c} IS NOT NULL AND NOT regexp_matches(${c}, ${literal(expectation.pattern)})`, sample: c };
    }
    case 'unique':
    case 'rowCount':
      return null;
  }
}
