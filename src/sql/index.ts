/**
 * The only place SQL text is put together from values. Every identifier goes through {@link ident}, every value
 * through {@link literal}; everything else in Larder composes SQL from the strings these return.
 */
import { InvalidArgumentError } from '../errors.ts';

/** A SQL fragment built by this module (a branded string, so raw input cannot be passed where SQL is expected). */
export type Sql = string & { readonly __sql: unique symbol };

const asSql = (text: string): Sql => text as Sql;

/** Quotes an identifier (table or column name). Rejects NUL, which DuckDB cannot store in a name. */
export function ident(name: string): Sql {
  if (name.length === 0 || name.includes('\u0000')) {
    throw new InvalidArgumentError(`An SQL identifier must be non-empty and free of NUL characters: ${JSON.stringify(name)}`);
  }
  return asSql(`"${name.replaceAll('"', '""')}"`);
}

/**
 * A value as an SQL literal: strings quoted (NUL spliced in with chr(0)), integers exact, other numbers as DOUBLE,
 * non-finite numbers rejected, bigint exact, null as NULL.
 */
export function literal(value: string | number | bigint | boolean | null): Sql {
  if (value === null) return asSql('NULL');
  switch (typeof value) {
    case 'string': {
      const quoted = value.split('\u0000').map((part) => `'${part.replaceAll("'", "''")}'`);
      // NUL cannot appear in SQL text, but VARCHAR holds it: splice it in with chr(0).
      return asSql(quoted.length === 1 ? quoted[0]! : `(${quoted.join(' || chr(0) || ')})`);
    }
    case 'bigint':
      return asSql(value.toString());
    case 'boolean':
      return asSql(value ? 'TRUE' : 'FALSE');
    case 'number': {
      if (!Number.isFinite(value)) throw new InvalidArgumentError(`Not a finite number: ${String(value)}`);
      if (Number.isSafeInteger(value)) return asSql(Object.is(value, -0) ? '0' : String(value));
      // DuckDB reads 0.1 as DECIMAL, and an integer beyond 2^53 as HUGEINT, whose conversions to DOUBLE are not
      // always the nearest double; an exponent makes it a DOUBLE literal, parsed exactly.
      const text = String(value);
      return asSql(text.includes('e') ? text : `${text}e0`);
    }
    default:
      throw new InvalidArgumentError(`Not an SQL value: ${typeof value}`);
  }
}

/** An epoch-milliseconds instant as a TIMESTAMP literal with microsecond precision. */
export function timestampLiteral(epochMs: number): Sql {
  if (!Number.isFinite(epochMs)) throw new InvalidArgumentError(`Not a valid instant: ${String(epochMs)}`);
  return asSql(`make_timestamp(${BigInt(Math.round(epochMs * 1000)).toString()})`);
}

/** Joins fragments with a separator. */
export function join(parts: readonly Sql[], separator = ', '): Sql {
  return asSql(parts.join(separator));
}

/**
 * Tagged template for fixed SQL text with interpolated fragments. Only values of type {@link Sql} may be
 * interpolated, so input must have passed through {@link ident} or {@link literal} first.
 *
 * @example
 * ```ts
 * sql`SELECT count(*) FROM ${ident(table)} WHERE ${ident(column)} = ${literal(value)}`;
 * ```
 */
export function sql(strings: TemplateStringsArray, ...values: readonly Sql[]): Sql {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    out += value + (strings[i + 1] ?? '');
  });
  return asSql(out);
}

/** A fixed keyword or type name from a closed set known at compile time (never user input). */
export function raw<T extends string>(text: T): Sql {
  return asSql(text);
}
