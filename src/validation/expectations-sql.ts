import type { Expectation } from '../definitions/expectations.ts';
import { ident, join, literal, sql, type Sql } from '../sql/index.ts';

/**
 * For one expectation, the SQL predicate that marks an offending row of the batch (null for expectations that are
 * not row-wise: unique and rowCount), and the value expression to sample.
 */
export function offendingRowPredicate(expectation: Expectation): { predicate: Sql; sample: Sql } | null {
  switch (expectation.kind) {
    case 'notNull': {
      const c = ident(expectation.column);
      return { predicate: sql`${c} IS NULL`, sample: c };
    }
    case 'between': {
      const c = ident(expectation.column);
      const parts: Sql[] = [];
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
