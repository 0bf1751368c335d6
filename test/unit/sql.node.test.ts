import { describe, expect, it } from 'vitest';
import { DuckDBInstance } from '@duckdb/node-api';
import { ident, join, literal, sql, timestampLiteral } from '../../src/sql/index.ts';
import { InvalidArgumentError } from '../../src/errors.ts';

describe('sql quoting', () => {
  it('quotes identifiers by doubling double quotes', () => {
    expect(ident('weather')).toBe('"weather"');
    expect(ident('a"b')).toBe('"a""b"');
    expect(ident('x"; DROP TABLE t; --')).toBe('"x""; DROP TABLE t; --"');
  });

  it('rejects empty identifiers and NUL', () => {
    expect(() => ident('')).toThrow(InvalidArgumentError);
    expect(() => ident('a\u0000b')).toThrow(InvalidArgumentError);
  });

  it('quotes string literals and checks numbers', () => {
    expect(literal("it's")).toBe("'it''s'");
    expect(literal(null)).toBe('NULL');
    expect(literal(true)).toBe('TRUE');
    expect(literal(12345678901234567890n)).toBe('12345678901234567890');
    expect(literal(-0)).toBe('0');
    expect(literal(1.5e-7)).toBe('1.5e-7');
    // Integers beyond 2^53 are doubles too: an exponent keeps DuckDB from reading them as HUGEINT and rounding.
    expect(literal(-4.490014048111487e19)).toBe('-44900140481114870000e0');
    expect(literal(2 ** 53)).toBe('9007199254740992e0');
    expect(literal(2 ** 53 - 1)).toBe('9007199254740991');
    expect(() => literal(Number.NaN)).toThrow(InvalidArgumentError);
    expect(() => literal(Number.POSITIVE_INFINITY)).toThrow(InvalidArgumentError);
    expect(literal('a\u0000')).toBe("('a' || chr(0) || '')");
  });

  it('writes instants with microsecond precision', () => {
    expect(timestampLiteral(1704067200000.123)).toBe('make_timestamp(1704067200000123)');
    expect(() => timestampLiteral(Number.NaN)).toThrow(InvalidArgumentError);
  });

  it('composes fragments', () => {
    const columns = join([ident('a'), ident('b')]);
    expect(sql`SELECT ${columns} FROM ${ident('t')} WHERE ${ident('a')} = ${literal('x')}`).toBe(
      `SELECT "a", "b" FROM "t" WHERE "a" = 'x'`,
    );
  });
});

describe('number literals in DuckDB', () => {
  it('read back as the same double, fractions and integers beyond 2^53 alike', async () => {
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    try {
      const values = [0.1, -4.490014048111487e19, 2 ** 53 + 2, 1.7976931348623157e308, 5e-324, -123456789.12345679, 42];
      for (const v of values) {
        const [[got]] = (await connection.runAndReadAll(`SELECT CAST(${literal(v)} AS DOUBLE)`)).getRowsJS() as [[number]];
        expect(got, String(v)).toBe(v);
      }
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  });
});
