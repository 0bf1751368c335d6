/**
 * Hostile and broken files through the real store worker (issue 10): CSV with a huge line, a million columns,
 * unbalanced quotes, a byte-order mark or NUL bytes, and Parquet with a truncated footer, a bad magic number or absurd
 * declared sizes. Each ends in ParseError or ValidationError (a BOM ingests correctly) within a bound, the seeded
 * group is exactly as it was (`snapshot`), and the store still takes a good batch afterwards. The bounds guard
 * against hangs; they are not benchmarks.
 */
import { Float64, Int32, Table, Utf8, vectorFromArray } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ParseError, ValidationError, openFeatureStore, type FeatureGroup, type FeatureStore, type InsertData, type InsertOptions } from '../../src/index.ts';
import { random, toParquet } from '../support/data-all-types.ts';
import { snapshot, tableColumns } from '../support/data-helpers.ts';
import { uniqueStoreName } from '../support/names.ts';

/** The most one ordinary hostile file may take to be refused. */
const CASE_BOUND_MS = 10_000;
/** The most a file of tens of megabytes may take (reading it, handing it to DuckDB, refusing it). */
const LARGE_CASE_BOUND_MS = 30_000;
const MB = 1024 * 1024;

/** A thrown value for a message. */
const shown = (error: unknown): string => (error instanceof Error ? `${error.name}: ${error.message}` : typeof error);

const spec = (name: string) => ({
  name,
  version: 1,
  primaryKey: 'id',
  eventTime: 'ts',
  features: { id: 'int32', ts: 'timestamp', x: 'float64', s: 'string' },
} as const);

const HEADER = 'id,ts,x,s';
const csvRow = (i: number): string => `${i},2024-03-${String(1 + (i % 28)).padStart(2, '0')}T10:00:00Z,${i * 1.5},"row ${i}"`;
const csvOf = (from: number, n: number): string => [HEADER, ...Array.from({ length: n }, (_, i) => csvRow(from + i))].join('\n') + '\n';

/** The plain values of rows from..from+n-1, as read back. */
function expectedColumns(from: number, n: number): Record<string, unknown[]> {
  const ids = Array.from({ length: n }, (_, i) => from + i);
  return {
    id: ids,
    ts: ids.map((i) => BigInt(Date.UTC(2024, 2, 1 + (i % 28), 10)) * 1000n),
    x: ids.map((i) => i * 1.5),
    s: ids.map((i) => `row ${i}`),
  };
}

/** A valid Parquet file of rows from..from+n-1 (event times as ISO text, which the group converts). */
async function parquetOf(from: number, n: number): Promise<Uint8Array<ArrayBuffer>> {
  const ids = Array.from({ length: n }, (_, i) => from + i);
  return toParquet(new Table({
    id: vectorFromArray(ids, new Int32()),
    ts: vectorFromArray(ids.map((i) => `2024-03-${String(1 + (i % 28)).padStart(2, '0')}T10:00:00Z`), new Utf8()),
    x: vectorFromArray(ids.map((i) => i * 1.5), new Float64()),
    s: vectorFromArray(ids.map((i) => `row ${i}`), new Utf8()),
  }));
}

const encode = (text: string): Uint8Array<ArrayBuffer> => new TextEncoder().encode(text);

/** The Parquet footer length: the little-endian uint32 just before the closing magic. */
function footerLength(bytes: Uint8Array): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(bytes.length - 8, true);
}
function withFooterLength(bytes: Uint8Array, length: number): Uint8Array<ArrayBuffer> {
  const copy = bytes.slice();
  new DataView(copy.buffer).setUint32(copy.length - 8, length >>> 0, true);
  return copy;
}

describe('hostile files leave the store unchanged', () => {
  let store: FeatureStore;
  let target: FeatureGroup;
  let scratch = 0;
  const timings: Record<string, number> = {};
  const messages: Record<string, string> = {};

  beforeAll(async () => {
    store = await openFeatureStore({ name: uniqueStoreName('hostile'), persist: true });
    target = await store.createFeatureGroup(spec('target'));
    await target.insert(new File([csvOf(0, 5)], 'seed.csv'));
    await target.insert([{ id: 1, ts: '2024-03-02T10:00:00Z', x: -1, s: 'upserted' }], { mode: 'upsert' });
  });
  afterAll(async () => {
    console.log(`hostile files: ${JSON.stringify(timings)}`);
    console.log(JSON.stringify(messages, null, 1));
    await store.close();
  });

  /** Inserts into the seeded group; returns the error (or null) and checks the time bound and that nothing changed. */
  async function attempt(what: string, data: InsertData, options: InsertOptions = {}, bound = CASE_BOUND_MS): Promise<Error | null> {
    const before = await snapshot(target);
    const start = performance.now();
    let error: Error | null = null;
    try {
      await target.insert(data, options);
    } catch (e) {
      error = e as Error;
    }
    const ms = performance.now() - start;
    timings[what] = Math.round(ms);
    expect(ms, `${what} took ${Math.round(ms)} ms`).toBeLessThan(bound);
    expect(await snapshot(target), what).toEqual(before);
    return error;
  }

  /** The file must be refused with one of Larder's input errors. */
  async function refused(what: string, data: InsertData, options: InsertOptions = {}, bound = CASE_BOUND_MS): Promise<Error> {
    const error = await attempt(what, data, options, bound);
    expect(error, `${what} was accepted`).not.toBeNull();
    const ok = error instanceof ParseError || error instanceof ValidationError;
    expect(ok, `${what}: ${error!.name}: ${error!.message.slice(0, 300)}`).toBe(true);
    // DuckDB quotes up to about 10 kB of the offending line; a megabyte line must not come back whole.
    expect(error!.message.length, `${what}: the message stays short`).toBeLessThan(20_000);
    messages[what] = `${error!.name}: ${error!.message.slice(0, 160)}`;
    return error!;
  }

  /** A fresh group, for files that may legitimately be stored. */
  const scratchGroup = (): Promise<FeatureGroup> => store.createFeatureGroup(spec(`scratch_${++scratch}`));

  describe('CSV', () => {
    it('a 50 MB line, quoted or not, and a file that is one 50 MB line', async () => {
      // The 500 MB line belongs to the reliability report (npm run reliability); 50 MB keeps this suite quick.
      const big = 'a'.repeat(50 * MB);
      await refused('csv 50 MB quoted field', new File([`${HEADER}\n${csvRow(100)}\n101,2024-03-01,1,"`, big, '"\n'], 'big.csv'), {}, LARGE_CASE_BOUND_MS);
      await refused('csv 50 MB unquoted field', new File([`${HEADER}\n101,2024-03-01,1,`, big, '\n'], 'big.csv'), {}, LARGE_CASE_BOUND_MS);
      await refused('csv 50 MB header, no newline', new File([`${HEADER},`, big], 'big.csv'), {}, LARGE_CASE_BOUND_MS);
    });

    it('a header of a million columns', async () => {
      const distinct = Array.from({ length: 1_000_000 }, (_, i) => `c${i}`).join(',');
      await refused('csv 10^6 distinct columns', new File([`${HEADER},${distinct}\n${csvRow(100)}\n`], 'wide.csv'), {}, LARGE_CASE_BOUND_MS);
      // One-letter names keep the header under DuckDB's 2,000,000-byte line limit, so the reader takes the columns on.
      const wide = 999_990;
      const letters = ',a'.repeat(wide - 4);
      await refused('csv 10^6 short columns, ragged row', new File([`${HEADER}${letters}\n${csvRow(100)}\n`], 'wide.csv'), {}, LARGE_CASE_BOUND_MS);
      // With every field present DuckDB's reader would take the million columns on and run out of memory (3 GiB its
      // worker never returns): the store refuses more than 10,000 columns before DuckDB sees the file.
      const fg = await store.createFeatureGroup({ ...spec(`wide_${++scratch}`), primaryKey: 'i', eventTime: 't', features: { i: 'int32', t: 'timestamp', x: 'float64', s: 'string' } });
      const start = performance.now();
      let error: unknown = null;
      try {
        await fg.insert(new File([`i,t,x,s${letters}\n1,2024-03-01T00:00:00Z,1.5,one${','.repeat(wide - 4)}\n`], 'wide.csv'));
      } catch (e) {
        error = e;
      }
      const ms = performance.now() - start;
      timings['csv 10^6 short columns, full row'] = Math.round(ms);
      expect(ms).toBeLessThan(LARGE_CASE_BOUND_MS);
      expect(error, shown(error)).toBeInstanceOf(ParseError);
      expect((error as ParseError).details['reason']).toBe('too many columns');
      expect(tableColumns(await fg.read())).toEqual({ i: [], t: [], x: [], s: [] });
      messages['csv 10^6 short columns, full row'] = error === null ? 'stored' : shown(error).slice(0, 160);
    });

    it('unbalanced quotes', async () => {
      const good = csvOf(100, 4);
      const cases: [string, string][] = [
        ['never closed, to the end of the file', good.replace('"row 101"', '"row 101')],
        ['never closed in the last line', `${good}104,2024-03-01,1,"row 104\n`],
        ['a quote opening the header', `"${good}`],
        ['a quote inside the header', good.replace('id,ts', 'id,t"s')],
        ['a closing quote followed by text', good.replace('"row 102"', '"row 102"x')],
        ['a lone quote', '"'],
        ['quotes only', '"""""\n"""\n'],
      ];
      for (const [what, text] of cases) await refused(`csv ${what}`, new File([text], 'quotes.csv'));
    });

    it('a byte-order mark ingests correctly', async () => {
      const variants: [string, string][] = [
        ['BOM', `\ufeff${csvOf(200, 3)}`],
        ['BOM and CRLF', `\ufeff${csvOf(200, 3).replaceAll('\n', '\r\n')}`],
        ['BOM and a quoted header', `\ufeff${csvOf(200, 3).replace(HEADER, '"id","ts","x","s"')}`],
        ['BOM and semicolons', `\ufeff${csvOf(200, 3).replaceAll(',', ';')}`],
      ];
      for (const [what, text] of variants) {
        const fg = await scratchGroup();
        const start = performance.now();
        await fg.insert(new File([text], 'bom.csv'));
        timings[`csv ${what}`] = Math.round(performance.now() - start);
        expect(tableColumns(await fg.read()), what).toEqual(expectedColumns(200, 3));
      }
      // The same through a Blob without a name or type, where the format is sniffed past the BOM.
      const fg = await scratchGroup();
      await fg.insert(new Blob([`\ufeff${csvOf(200, 3)}`]));
      expect(tableColumns(await fg.read())).toEqual(expectedColumns(200, 3));
    });

    it('NUL bytes', async () => {
      const good = csvOf(100, 3);
      const cases: [string, string][] = [
        ['NUL in an int column', good.replace('101,', '10\u00001,')],
        ['NUL in a float column', good.replace(',151.5,', ',151\u0000.5,')],
        ['NUL in the event time', good.replace('2024-03-18', '2024-03\u0000-18')],
        ['NUL in a header name', good.replace('id,', 'i\u0000d,')],
        ['NUL as the delimiter', good.replaceAll(',', '\u0000')],
        ['a file of NUL bytes', '\u0000'.repeat(4096)],
        ['NUL bytes after a quote that never closes', `${good}103,2024-03-01,1,"\u0000\u0000\u0000`],
      ];
      for (const [what, text] of cases) await refused(`csv ${what}`, new File([text], 'nul.csv'));
      // NUL inside a string value: refused, or stored exactly (never cut short at the NUL).
      for (const value of ['a\u0000b', '\u0000', 'tail\u0000']) {
        const fg = await scratchGroup();
        let error: unknown = null;
        try {
          await fg.insert(new File([`${HEADER}\n1,2024-03-01T00:00:00Z,1.5,"${value}"\n2,2024-03-01T00:00:00Z,2.5,${value}\n`], 'nul.csv'));
        } catch (e) {
          error = e;
        }
        if (error === null) expect(tableColumns(await fg.read())['s']).toEqual([value, value]);
        else expect(error instanceof ParseError || error instanceof ValidationError, shown(error)).toBe(true);
        messages[`csv NUL in a string ${JSON.stringify(value)}`] = error === null ? 'stored exactly' : shown(error).slice(0, 160);
      }
    });
  });

  describe('Parquet', () => {
    let valid: Uint8Array<ArrayBuffer>;
    beforeAll(async () => {
      valid = await parquetOf(300, 50);
    });

    it('a truncated footer', async () => {
      const footer = footerLength(valid);
      for (const cut of [1, 4, 5, 8, 9, Math.floor(footer / 2) + 8, footer + 8, Math.floor(valid.length / 2), valid.length - 4]) {
        await refused(`parquet without its last ${cut} bytes`, valid.slice(0, valid.length - cut), { format: 'parquet' });
      }
    });

    it('a bad magic number', async () => {
      const end = valid.slice();
      end.set(encode('PAR2'), end.length - 4);
      await refused('parquet magic PAR2 at the end', end, { format: 'parquet' });
      const start = valid.slice();
      start.set(encode('PARX'), 0);
      await refused('parquet magic PARX at the start', start, { format: 'parquet' });
      const both = valid.slice();
      both.fill(0, 0, 4);
      both.fill(0, both.length - 4);
      await refused('parquet without either magic', both, { format: 'parquet' });
      await refused('parquet that is CSV', new File([csvOf(300, 3)], 'batch.parquet'));
      await refused('parquet that is only its magic', encode('PAR1PAR1'), { format: 'parquet' });
    });

    it('absurd declared sizes', async () => {
      for (const length of [0xffff_ffff, 0x7fff_ffff, 0x8000_0000, valid.length, valid.length - 8, valid.length - 7, 0, 1, 2 ** 24]) {
        await refused(`parquet footer length ${length}`, withFooterLength(valid, length), { format: 'parquet' });
      }
    });

    it('random damage inside the footer is refused or decodes; the decoder survives it', async () => {
      const next = random(0x70617271);
      const footer = footerLength(valid);
      const from = valid.length - 8 - footer;
      const outcomes: Record<string, number> = {};
      const fg = await scratchGroup();
      for (let i = 0; i < 40; i++) {
        const bytes = valid.slice();
        for (let k = 0; k < 1 + Math.floor(next() * 4); k++) {
          const at = from + Math.floor(next() * footer);
          bytes[at] = next() < 0.5 ? 0xff : bytes[at]! ^ (1 << Math.floor(next() * 8));
        }
        const start = performance.now();
        let error: unknown = null;
        try {
          await fg.insert(bytes, { format: 'parquet' });
        } catch (e) {
          error = e;
        }
        expect(performance.now() - start, `footer damage #${i}`).toBeLessThan(CASE_BOUND_MS);
        if (error !== null) expect(error instanceof ParseError || error instanceof ValidationError, `footer damage #${i}: ${shown(error)}`).toBe(true);
        const outcome = error === null ? 'decoded' : (error as Error).name;
        outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
      }
      messages['parquet footer damage (40)'] = JSON.stringify(outcomes);
    });
  });

  it('afterwards the store takes good CSV, Parquet and JSON batches, and the seeded rows are as they were', async () => {
    await target.insert(new File([csvOf(400, 3)], 'good.csv'));
    await target.insert(await parquetOf(500, 3));
    await target.insert(new File([JSON.stringify([{ id: 600, ts: '2024-03-01T10:00:00Z', x: 1, s: 'json' }])], 'good.json'));
    const after = tableColumns(await target.read({ where: { id: { gte: 400 } }, columns: ['id'] }));
    expect([...(after['id'] as number[])].sort((a, b) => a - b)).toEqual([400, 401, 402, 500, 501, 502, 600]);
    const seeded = tableColumns(await target.read({ where: { id: { lt: 400 } }, columns: ['id', 'x'] }));
    const byId = new Map((seeded['id'] as number[]).map((id, i) => [id, (seeded['x'] as number[])[i]]));
    expect(Object.fromEntries(byId)).toEqual({ 0: 0, 1: -1, 2: 3, 3: 4.5, 4: 6 });
  });
});
