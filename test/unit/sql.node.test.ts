import { describe, expect, it } from 'vitest';
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
