import {
  Bool, Float32, Float64, Int32, Int64, Table, TimestampMicrosecond, Utf8, makeData, makeVector, vectorFromArray,
  type DataType, type Vector,
} from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ParseError, ValidationError, openFeatureStore, type FeatureGroup, type FeatureStore, type InsertData,
  type InsertOptions, type ValidationProblem,
} from '../../src/index.ts';
import { ProblemCollector, columnsFromRows } from '../../src/ingest/conform.ts';
import { parseJsonRows } from '../../src/ingest/json.ts';
import { normalizeFeatureGroup } from '../../src/definitions/feature-group.ts';
import { random, toParquet } from '../support/data-all-types.ts';
import { rejectionOf, snapshot, tableColumns } from '../support/data-helpers.ts';

/** JSON of rows with bigints written as numbers (the values used here are exact doubles). */
const json = (value: unknown): string => JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v));
import { uniqueStoreName } from '../support/names.ts';

const COLUMNS = ['id', 'ts', 'x', 'n', 'big', 's', 'when', 'day', 'f', 'nan_ok', 'flag'] as const;
type Column = (typeof COLUMNS)[number];
type Row = Partial<Record<Column, unknown>>;

const spec = (name: string) => ({
  name,
  version: 1,
  primaryKey: 'id',
  eventTime: 'ts',
  features: {
    id: 'int32', ts: 'timestamp', x: 'float64', n: 'int32', big: 'int64', s: 'string', when: 'timestamp', day: 'date',
    f: 'float32', nan_ok: { type: 'float64', allowNaN: true }, flag: 'bool',
  },
} as const);

/** A valid row; every test breaks a few of them. */
function good(i: number): Required<Row> {
  return {
    id: i,
    ts: `2024-03-${String(1 + (i % 28)).padStart(2, '0')}T10:00:00.000001Z`,
    x: i * 1.5,
    n: i - 3,
    big: BigInt(i) * 10_000_000_000n,
    s: `row ${i}`,
    when: i % 2 === 0 ? null : '2024-01-01T00:00:00Z',
    day: '2024-02-29',
    f: Math.fround(i / 3),
    nan_ok: i / 7,
    flag: i % 3 === 0,
  };
}

const goodRows = (n: number, from = 0): Required<Row>[] => Array.from({ length: n }, (_, i) => good(from + i));

function withRows(rows: Row[], changes: Record<number, Row>): Row[] {
  return rows.map((r, i) => ({ ...r, ...changes[i] }));
}

function without(rows: Row[], column: Column): Row[] {
  return rows.map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => k !== column)));
}

function csvOf(rows: Row[], columns: readonly string[] = COLUMNS): string {
  const field = (v: unknown): string => {
    if (v === null || v === undefined) return '';
    if (typeof v === 'string') return `"${v.replaceAll('"', '""')}"`;
    if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
    throw new Error(`no CSV form for ${typeof v}`);
  };
  return [columns.join(','), ...rows.map((r) => columns.map((c) => field(r[c as Column])).join(','))].join('\n') + '\n';
}

function vector(type: DataType, values: unknown[]): Vector {
  if (type instanceof TimestampMicrosecond) {
    const length = values.length;
    const validity = new Uint8Array((length + 7) >> 3);
    const data = new BigInt64Array(length);
    values.forEach((v, i) => {
      if (v === null) return;
      validity[i >> 3]! |= 1 << (i & 7);
      data[i] = BigInt(Date.parse(v as string)) * 1000n;
    });
    return makeVector(makeData({ type, length, nullCount: values.filter((v) => v === null).length, nullBitmap: validity, data }));
  }
  return vectorFromArray(values, type);
}

/** An Arrow table of the rows, with the given column types (default canonical); columns absent from the rows are left out. */
function arrowOf(rows: Row[], types: Partial<Record<Column, DataType>> = {}): Table {
  const canonical: Record<Column, () => DataType> = {
    id: () => new Int32(), ts: () => new TimestampMicrosecond(), x: () => new Float64(), n: () => new Int32(),
    big: () => new Int64(), s: () => new Utf8(), when: () => new TimestampMicrosecond(), day: () => new Utf8(),
    f: () => new Float32(), nan_ok: () => new Float64(), flag: () => new Bool(),
  };
  const present = COLUMNS.filter((c) => rows.some((r) => c in r));
  return new Table(Object.fromEntries(present.map((c) => [c, vector(types[c] ?? canonical[c](), rows.map((r) => r[c] ?? null))])));
}

/** The problems must be exactly these (column, kind) pairs, with these leading rows and counts. */
function expectProblems(error: Error, expected: Partial<ValidationProblem>[]): void {
  expect(error, error.message).toBeInstanceOf(ValidationError);
  const validation = error as ValidationError;
  expect(validation.name).toBe('ValidationError');
  expect(validation.code).toBe('VALIDATION_FAILED');
  const problems = validation.details.problems;
  const key = (p: Partial<ValidationProblem>): string => `${String(p.column)}/${String(p.kind)}`;
  expect(problems.map(key).sort()).toEqual(expected.map(key).sort());
  for (const want of expected) {
    expect(problems.find((p) => key(p) === key(want))).toMatchObject(want);
    if (want.column !== '*') expect(validation.message).toContain(`'${String(want.column)}'`);
  }
}

function expectParseError(error: Error): void {
  expect(error, error.message).toBeInstanceOf(ParseError);
  expect(error.name).toBe('ParseError');
  expect((error as ParseError).code).toBe('PARSE_FAILED');
}

describe.each([
  { label: 'in memory', persist: false },
  { label: 'persistent', persist: true },
])('bad input leaves the store unchanged ($label)', ({ persist }) => {
  let store: FeatureStore;
  let groups = 0;
  /** Every rejected batch goes to this group, which must stay as it was seeded. */
  let target: FeatureGroup;

  beforeAll(async () => {
    store = await openFeatureStore({ name: uniqueStoreName(persist ? 'bad_opfs' : 'bad_mem'), persist });
    target = await seeded();
  });
  afterAll(async () => {
    await store.close();
  });

  /** A fresh group holding a few rows (and an upsert, so there is history too). */
  async function seeded(): Promise<FeatureGroup> {
    const fg = await store.createFeatureGroup(spec(`bad_${++groups}`));
    await fg.insert(goodRows(4));
    await fg.insert([{ ...good(1), x: -1 }], { mode: 'upsert' });
    return fg;
  }

  /** Runs the insert against the seeded group and returns its error, after checking that nothing changed. */
  async function rejected(data: InsertData, options: InsertOptions = {}): Promise<Error> {
    const before = await snapshot(target);
    const error = await rejectionOf(target.insert(data, options));
    expect(await snapshot(target)).toEqual(before);
    return error;
  }

  describe.each(['id', 'ts', 'x'] as const)('missing column %s', (column) => {
    const rows = without(goodRows(3, 10), column);
    const missing = [{ column, kind: 'missing_column' as const }];
    it('in row objects', async () => expectProblems(await rejected(rows), missing));
    it('in a CSV header', async () => {
      expectProblems(await rejected(new File([csvOf(rows, COLUMNS.filter((c) => c !== column))], 'batch.csv')), missing);
    });
    it('in an Arrow table', async () => expectProblems(await rejected(arrowOf(rows)), missing));
    it('in JSON', async () => expectProblems(await rejected(new File([json(rows)], 'batch.json')), missing));
  });

  it('wrong types in row objects: string in a float column, float in an int column, out-of-range int32', async () => {
    const rows = withRows(goodRows(6, 10), {
      0: { n: 2 ** 31 },
      1: { x: 'abc' },
      2: { n: 1.5 },
      3: { x: '1.0', n: -(2 ** 31) - 1 },
      4: { flag: 'true', big: 0.5 },
    });
    expectProblems(await rejected(rows), [
      { column: 'x', kind: 'wrong_type', rows: [1, 3], count: 2 },
      { column: 'n', kind: 'wrong_type', rows: [2], count: 1 },
      { column: 'n', kind: 'out_of_range', rows: [0, 3], count: 2 },
      { column: 'flag', kind: 'wrong_type', rows: [4], count: 1 },
      { column: 'big', kind: 'wrong_type', rows: [4], count: 1 },
    ]);
  });

  it('wrong types in an Arrow table', async () => {
    // A Utf8 column is the wrong type for a float feature in every row, whatever its text.
    const rows = withRows(goodRows(5, 10), { 1: { x: 'abc', n: 2 ** 40 }, 3: { n: 2.5 } });
    expectProblems(await rejected(arrowOf(rows, { x: new Utf8(), n: new Float64() })), [
      { column: 'x', kind: 'wrong_type', rows: [0, 1, 2, 3, 4], count: 5 },
      { column: 'n', kind: 'out_of_range', rows: [1], count: 1 },
      { column: 'n', kind: 'wrong_type', rows: [3], count: 1 },
    ]);
  });

  it('more than ten offending rows: the first ten and the count', async () => {
    const changes = Object.fromEntries(Array.from({ length: 25 }, (_, k) => [2 * k + 1, { x: 'bad' }]));
    const rows = withRows(goodRows(60, 10), changes);
    const offending = Object.keys(changes).map(Number);
    expectProblems(await rejected(rows), [{ column: 'x', kind: 'wrong_type', rows: offending.slice(0, 10), count: 25 }]);
  });

  it('nulls in key columns', async () => {
    const rows = withRows(goodRows(6, 10), { 1: { id: null }, 4: { id: undefined } });
    const problems = [{ column: 'id', kind: 'null_key' as const, rows: [1, 4], count: 2 }];
    expectProblems(await rejected(rows), problems);
    expectProblems(await rejected(arrowOf(rows)), problems);
    expectProblems(await rejected(new Blob([csvOf(rows)], { type: 'text/csv' })), problems);
  });

  it('nulls in the event time', async () => {
    const rows = withRows(goodRows(5, 10), { 2: { ts: null } });
    const problems = [{ column: 'ts', kind: 'null_key' as const, rows: [2], count: 1 }];
    expectProblems(await rejected(rows), problems);
    expectProblems(await rejected(new File([csvOf(rows)], 'batch.csv')), problems);
  });

  it('unparseable timestamps and dates', async () => {
    const rows = withRows(goodRows(8, 10), {
      0: { ts: '2024-13-45' },
      2: { ts: 'yesterday', when: '2024-02-30T00:00:00Z' },
      3: { day: '2023-02-29' },
      5: { when: 'soon' },
      6: { ts: 'infinity', day: '-infinity' },
      7: { when: 'epoch', day: 'today' },
    });
    const problems = [
      { column: 'ts', kind: 'unparseable_timestamp' as const, rows: [0, 2, 6], count: 3 },
      { column: 'when', kind: 'unparseable_timestamp' as const, rows: [2, 5, 7], count: 3 },
      { column: 'day', kind: 'unparseable_timestamp' as const, rows: [3, 6, 7], count: 3 },
    ];
    expectProblems(await rejected(rows), problems);
    expectProblems(await rejected(new File([json(rows)], 'batch.json')), problems);
    expectProblems(await rejected(new File([csvOf(rows)], 'batch.csv')), problems);
  });

  it('NaN where it is not allowed', async () => {
    const rows = withRows(goodRows(5, 10), { 1: { x: NaN }, 3: { x: NaN, f: NaN, nan_ok: NaN } });
    const problems = [
      { column: 'x', kind: 'nan' as const, rows: [1, 3], count: 2 },
      { column: 'f', kind: 'nan' as const, rows: [3], count: 1 },
    ];
    expectProblems(await rejected(rows), problems);
    expectProblems(await rejected(arrowOf(rows)), problems);
    expectProblems(await rejected(new File([csvOf(rows)], 'batch.csv')), problems);
  });

  it('NaN where allowNaN is true is stored', async () => {
    const fg = await seeded();
    const rows = withRows(goodRows(3, 10), { 1: { nan_ok: NaN } });
    await fg.insert(rows);
    const stored = tableColumns(await fg.read({ where: { id: { gte: 10 } } }));
    expect(stored['nan_ok']).toEqual([10 / 7, NaN, 12 / 7]);
  });

  describe('malformed CSV', () => {
    it('garbage bytes', async () => {
      const next = random(5);
      const bytes = Uint8Array.from({ length: 4096 }, () => Math.floor(next() * 256));
      expectParseError(await rejected(new File([bytes], 'garbage.csv')));
    });

    it('an empty file', async () => {
      expectParseError(await rejected(new File([], 'empty.csv')));
    });

    it('unbalanced quotes', async () => {
      const text = csvOf(goodRows(4, 10)).replace('"row 11"', '"row 11');
      expectParseError(await rejected(new File([text], 'batch.csv')));
    });

    it('lines with too many or too few fields', async () => {
      const lines = csvOf(goodRows(4, 10)).split('\n');
      const tooMany = [...lines];
      tooMany[2] += ',extra';
      expectParseError(await rejected(new File([tooMany.join('\n')], 'batch.csv')));
      const tooFew = [...lines];
      tooFew[3] = tooFew[3]!.split(',').slice(0, 4).join(',');
      expectParseError(await rejected(new File([tooFew.join('\n')], 'batch.csv')));
    });

    it('bad values in typed columns, with data row numbers (not line numbers)', async () => {
      const rows = withRows(goodRows(8, 10), {
        1: { s: 'two\nlines' },
        2: { s: 'three\nlines\nhere' },
        4: { x: 'abc' },
        6: { x: '1.2.3', n: '7.5' },
        7: { big: 'lots' },
      });
      expectProblems(await rejected(new File([csvOf(rows)], 'batch.csv')), [
        { column: 'x', kind: 'wrong_type', rows: [4, 6], count: 2 },
        { column: 'n', kind: 'wrong_type', rows: [6], count: 1 },
        { column: 'big', kind: 'wrong_type', rows: [7], count: 1 },
      ]);
    });

    it('an out-of-range int32', async () => {
      const rows = withRows(goodRows(4, 10), { 2: { n: 2 ** 31 } });
      expectProblems(await rejected(new File([csvOf(rows)], 'batch.csv')), [{ column: 'n', kind: 'out_of_range', rows: [2], count: 1 }]);
    });
  });

  it('malformed JSON', async () => {
    const text = json(goodRows(3, 10)).slice(0, -20);
    expectParseError(await rejected(new File([text], 'batch.json')));
    expectParseError(await rejected(new TextEncoder().encode('[{"id": 1,, "ts": 2}]')));
  });

  it('NDJSON with a bad line', async () => {
    const lines = goodRows(4, 10).map((r) => json(r));
    lines[2] = '{"id": 12, "ts": oops}';
    const error = await rejected(new File([lines.join('\n')], 'batch.ndjson'));
    expectParseError(error);
    expect((error as ParseError).details['line']).toBe(3);
  });

  it('JSON rows that are not objects', async () => {
    expectProblems(await rejected(new File(['[1, "two", null]'], 'batch.json')), [{ column: '*', kind: 'wrong_type', rows: [0, 1, 2], count: 3 }]);
  });

  it('truncated Parquet and Parquet with a bad magic number', async () => {
    const bytes = await toParquet(arrowOf(goodRows(50, 10), { day: new Utf8() }));
    expectParseError(await rejected(bytes.slice(0, Math.floor(bytes.length / 2))));
    const badMagic = bytes.slice();
    badMagic.set([0x50, 0x41, 0x52, 0x32], bytes.length - 4);
    expectParseError(await rejected(badMagic, { format: 'parquet' }));
    expectParseError(await rejected(new File(['id,ts\n1,2024-01-01\n'], 'batch.parquet')));
    // The Parquet decoder still works afterwards.
    const fg = await seeded();
    await fg.insert(bytes);
    expect((await fg.read({ where: { id: { gte: 10 } } })).numRows).toBe(50);
  });

  it('deleteRows with null or missing keys', async () => {
    const before = await snapshot(target);
    const nulls = await rejectionOf(target.deleteRows([{ id: 1 }, { id: null }, { id: 2 }, {}]));
    expectProblems(nulls, [{ column: 'id', kind: 'null_key', rows: [1, 3], count: 2 }]);
    const missing = await rejectionOf(target.deleteRows([{ ts: '2024-03-01' }]));
    expectProblems(missing, [{ column: 'id', kind: 'missing_column' }]);
    const wrong = await rejectionOf(target.deleteRows(arrowOf([{ id: 'one' }], { id: new Utf8() })));
    expectProblems(wrong, [{ column: 'id', kind: 'wrong_type', rows: [0], count: 1 }]);
    expect(await snapshot(target)).toEqual(before);
  });

  it('a required column hidden behind __proto__ is missing, not inherited', async () => {
    const text = `[${goodRows(2, 10)
      .map((r) => json({ ...r, id: undefined }).replace('{', `{"__proto__": {"id": ${String(r.id)}},`))
      .join(',')}]`;
    expectProblems(await rejected(new File([text], 'batch.json')), [{ column: 'id', kind: 'missing_column' }]);
    expectProblems(await rejected(JSON.parse(text) as Row[]), [{ column: 'id', kind: 'missing_column' }]);
  });
});

describe('JSON rows with __proto__ and constructor keys', () => {
  let store: FeatureStore;

  beforeAll(async () => {
    store = await openFeatureStore({ name: uniqueStoreName('bad_proto'), persist: false });
  });
  afterAll(async () => {
    await store.close();
  });

  const protoSpec = {
    name: 'proto',
    version: 1,
    primaryKey: 'id',
    eventTime: 'ts',
    features: { id: 'int32', ts: 'timestamp', constructor: 'string', polluted: 'string' },
  } as const;
  const text =
    '[{"id": 1, "ts": "2024-01-01", "constructor": "c1", "polluted": "own", "__proto__": {"polluted": "yes"}},' +
    ' {"id": 2, "ts": "2024-01-02", "constructor": {"prototype": {"polluted": "yes"}}, "polluted": null},' +
    ' {"id": 3, "ts": "2024-01-03", "constructor": "c3", "__proto__": {"constructor": "inherited"}}]';

  it('parse as plain data and pollute nothing', () => {
    const problems = new ProblemCollector();
    const rows = parseJsonRows(text);
    columnsFromRows(normalizeFeatureGroup(protoSpec, 0), rows, problems);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.getPrototypeOf(rows[0])).toBe(Object.prototype);
    expect(problems.list).toEqual([{ column: 'constructor', kind: 'wrong_type', rows: [1], count: 1, message: expect.any(String) as string }]);
  });

  it('are stored as own values only, through the store worker', async () => {
    const fg = await store.createFeatureGroup(protoSpec);
    const error = await rejectionOf(fg.insert(new File([text], 'rows.json')));
    expectProblems(error, [{ column: 'constructor', kind: 'wrong_type', rows: [1], count: 1 }]);
    const fixed = text.replace('{"prototype": {"polluted": "yes"}}', '"c2"');
    await fg.insert(new File([fixed], 'rows.json'));
    await fg.insert(JSON.parse(fixed.replaceAll('"id": ', '"id": 1')) as Record<string, unknown>[]);
    const columns = tableColumns(await fg.read());
    expect(columns['id']).toEqual([1, 11, 2, 12, 3, 13]);
    expect(columns['constructor']).toEqual(['c1', 'c1', 'c2', 'c2', 'c3', 'c3']);
    expect(columns['polluted']).toEqual(['own', 'own', null, null, null, null]);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});
