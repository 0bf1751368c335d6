import { describe, expect, it } from 'vitest';
import { compileWhere } from '../../src/offline/filters.ts';
import { normalizeFeatureGroup } from '../../src/definitions/feature-group.ts';
import { parseJsonRows } from '../../src/ingest/json.ts';
import { InvalidArgumentError, ParseError } from '../../src/errors.ts';

const definition = normalizeFeatureGroup(
  { name: 'w', version: 1, primaryKey: 'city', eventTime: 'ts', features: { city: 'string', temp: 'float64', day: 'date' } },
  0,
);

describe('structured filters', () => {
  it('compiles equality and comparisons with quoted names and values', () => {
    expect(compileWhere(definition, { city: "O'Hare", temp: { gte: 1, lt: 5 } })).toEqual([
      `"city" = 'O''Hare'`,
      `"temp" >= 1`,
      `"temp" < 5`,
    ]);
    expect(compileWhere(definition, { CITY: { in: ['a', 'b'] }, temp: { isNull: true } })).toEqual([
      `"city" IN ('a', 'b')`,
      `"temp" IS NULL`,
    ]);
  });

  it('turns instants into timestamp literals', () => {
    expect(compileWhere(definition, { ts: { gte: '1970-01-01T00:00:01Z' } })).toEqual([`"ts" >= make_timestamp(1000000)`]);
    expect(compileWhere(definition, { day: new Date(0) })).toEqual([`"day" = CAST(make_timestamp(0) AS DATE)`]);
  });

  it('rejects unknown columns and operators', () => {
    expect(() => compileWhere(definition, { nope: 1 })).toThrow(InvalidArgumentError);
    expect(() => compileWhere(definition, { temp: { like: 'x' } as never })).toThrow(/Unknown filter operator/);
    expect(() => compileWhere(definition, { temp: { in: [] } })).toThrow(InvalidArgumentError);
  });
});

describe('JSON rows', () => {
  it('reads arrays and NDJSON, with a BOM', () => {
    expect(parseJsonRows('[{"a":1},{"a":2}]')).toEqual([{ a: 1 }, { a: 2 }]);
    expect(parseJsonRows('\uFEFF{"a":1}\n\n{"a":2}\n')).toEqual([{ a: 1 }, { a: 2 }]);
    expect(parseJsonRows('  ')).toEqual([]);
  });

  it('keeps __proto__ as an inert own key', () => {
    const [row] = parseJsonRows('[{"__proto__": {"polluted": true}, "constructor": {"prototype": {"x": 1}}}]');
    expect(Object.hasOwn(row!, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('names the bad line', () => {
    expect(() => parseJsonRows('{"a":1}\n{"a":')).toThrow(ParseError);
    expect(() => parseJsonRows('{"a":1}\n{"a":')).toThrow(/line 2/);
    expect(() => parseJsonRows('[1,')).toThrow(ParseError);
    expect(() => parseJsonRows('{"not":"an array"')).toThrow(ParseError);
  });
});
