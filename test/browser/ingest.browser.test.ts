import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  OperationAbortedError, ValidationError, openFeatureStore, type FeatureStore, type FileFormat, type InsertData,
  type Progress,
} from '../../src/index.ts';
import {
  ALL_TYPES_COLUMNS, allTypesRows, allTypesSpec, expectedColumns, toArrow, toArrowVariant, toCsv, toJson, toNdjson,
  toObjects, toParquet, type AllTypesRow,
} from '../support/data-all-types.ts';
import { firstDifference, rejectionOf, snapshot, tableColumns, tableRows } from '../support/data-helpers.ts';
import { uniqueStoreName } from '../support/names.ts';

const CANONICAL_TYPES = {
  id: 'Int64', ts: 'Timestamp<MICROSECOND>', i32: 'Int32', i64: 'Int64', f32: 'Float32', f64: 'Float64', b: 'Bool',
  s: 'Utf8', t: 'Timestamp<MICROSECOND>', d: 'Date32<DAY>', emb: 'List<Float32>',
};

/** The bytes as a view into the middle of a larger buffer, so offsets must be honoured. */
function offsetView(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const buffer = new Uint8Array(bytes.length + 13);
  buffer.fill(0x7b); // '{': would mislead format detection if the offset were ignored
  buffer.set(bytes, 7);
  return buffer.subarray(7, 7 + bytes.length);
}

const encode = (text: string): Uint8Array<ArrayBuffer> => new Uint8Array(new TextEncoder().encode(text));

interface FormatCase {
  name: string;
  rows: AllTypesRow[];
  data: () => InsertData | Promise<InsertData>;
  format?: FileFormat;
}

function formatCases(): FormatCase[] {
  const rows = allTypesRows(48, { seed: 11 });
  const narrow = allTypesRows(48, { seed: 12, narrow: true });
  return [
    { name: 'arrow_canonical', rows, data: () => toArrow(rows) },
    { name: 'arrow_other_types', rows: narrow, data: () => toArrowVariant(narrow) },
    { name: 'plain_objects', rows, data: () => toObjects(rows) },
    { name: 'csv_blob', rows, data: () => new Blob([toCsv(rows)], { type: 'text/csv' }) },
    { name: 'csv_file_crlf', rows, data: () => new File([toCsv(rows, '\r\n')], 'batch.csv') },
    { name: 'csv_bom_blob_untyped', rows, data: () => new Blob(['\uFEFF' + toCsv(rows)]) },
    { name: 'csv_uint8array_view', rows, data: () => offsetView(encode(toCsv(rows))) },
    { name: 'csv_arraybuffer_explicit', rows, data: () => encode(toCsv(rows)).buffer, format: 'csv' },
    { name: 'json_file', rows, data: () => new File([toJson(rows)], 'batch.json') },
    { name: 'json_arraybuffer', rows, data: () => encode(toJson(rows)).buffer },
    { name: 'json_bom_uint8array', rows, data: () => encode('\uFEFF' + toJson(rows)) },
    { name: 'ndjson_file', rows, data: () => new File([toNdjson(rows)], 'batch.ndjson') },
    { name: 'ndjson_blob_typed', rows, data: () => new Blob([toNdjson(rows)], { type: 'application/x-ndjson' }) },
    { name: 'ndjson_uint8array_view', rows, data: () => offsetView(encode(toNdjson(rows))) },
    { name: 'parquet_uint8array', rows, data: () => toParquet(toArrow(rows)) },
    { name: 'parquet_file', rows, data: async () => new File([await toParquet(toArrow(rows))], 'batch.parquet') },
    { name: 'parquet_arraybuffer_view', rows, data: async () => offsetView(await toParquet(toArrow(rows))) },
    { name: 'parquet_blob_explicit', rows, data: async () => new Blob([await toParquet(toArrow(rows))]), format: 'parquet' },
    { name: 'parquet_other_types', rows: narrow, data: () => toParquet(toArrowVariant(narrow)) },
  ];
}

describe.each([
  { label: 'in memory', persist: false },
  { label: 'persistent', persist: true },
])('round trip of every type through every input format ($label)', ({ persist }) => {
  const storeName = uniqueStoreName(persist ? 'ingest_rt_opfs' : 'ingest_rt_mem');
  let store: FeatureStore;
  const cases = formatCases();

  beforeAll(async () => {
    store = await openFeatureStore({ name: storeName, persist });
  });
  afterAll(async () => {
    await store.close();
  });

  it.each(cases)('$name', async ({ name, rows, data, format }) => {
    const fg = await store.createFeatureGroup(allTypesSpec(name));
    const result = await fg.insert(await data(), format === undefined ? {} : { format });
    expect(result.rowCount).toBe(rows.length);
    expect(result.reused).toBe(false);
    const table = await fg.read();
    expect(Object.fromEntries(table.schema.fields.map((f) => [f.name, String(f.type)]))).toEqual(CANONICAL_TYPES);
    const actual = tableColumns(table);
    const expected = expectedColumns(rows);
    for (const column of ALL_TYPES_COLUMNS) expect(actual[column], column).toEqual(expected[column]);
  });

  it(persist ? 'reads the same rows after closing and reopening the store' : 'forgets everything on close', async () => {
    await store.close();
    store = await openFeatureStore({ name: storeName, persist });
    if (!persist) {
      expect(await store.listFeatureGroups()).toEqual([]);
      return;
    }
    for (const { name, rows } of cases) {
      const fg = await store.getFeatureGroup(name, 1);
      expect(tableColumns(await fg.read()), name).toEqual(expectedColumns(rows));
      expect((await fg.commits()).map((c) => c.rowCount)).toEqual([rows.length]);
    }
  });
});

describe('ingest', () => {
  let store: FeatureStore;

  beforeAll(async () => {
    store = await openFeatureStore({ name: uniqueStoreName('ingest'), persist: false });
  });
  afterAll(async () => {
    await store.close();
  });

  const simple = (name: string) =>
    store.createFeatureGroup({
      name,
      version: 1,
      primaryKey: 'id',
      eventTime: 'ts',
      features: { id: 'string', ts: 'timestamp', x: 'float64' },
    });
  const withNote = (name: string) =>
    store.createFeatureGroup({
      name,
      version: 1,
      primaryKey: 'id',
      eventTime: 'ts',
      features: { id: 'string', ts: 'timestamp', x: 'float64', note: 'string' },
    });

  it('reads back 100,000 rows of every type equal to the input', async () => {
    const rows = allTypesRows(100_000, { seed: 3 });
    const fg = await store.createFeatureGroup(allTypesSpec('big'));
    const result = await fg.insert(toArrow(rows));
    expect(result.rowCount).toBe(100_000);
    const actual = tableColumns(await fg.read());
    const expected = expectedColumns(rows);
    for (const column of ALL_TYPES_COLUMNS) {
      expect(actual[column]!.length, column).toBe(100_000);
      expect(firstDifference(actual[column]!, expected[column]!), column).toBeNull();
    }
  });

  it('treats a re-sent batchId as the same commit and writes nothing', async () => {
    const fg = await simple('idempotent');
    const other = await simple('idempotent_other');
    const first = await fg.insert([{ id: 'a', ts: '2024-01-01', x: 1 }, { id: 'b', ts: '2024-01-01', x: 2 }], { batchId: 'import-1' });
    expect(first.reused).toBe(false);
    expect(first.batchId).toBe('import-1');
    const again = await fg.insert([{ id: 'c', ts: '2024-01-02', x: 3 }], { batchId: 'import-1' });
    expect(again).toEqual({ ...first, reused: true });
    expect((await fg.read()).numRows).toBe(2);
    expect(await fg.commits()).toHaveLength(1);
    // A batchId belongs to one feature group.
    const elsewhere = await other.insert([{ id: 'c', ts: '2024-01-02', x: 3 }], { batchId: 'import-1' });
    expect(elsewhere.reused).toBe(false);
    expect(elsewhere.commitId).toBeGreaterThan(first.commitId);
  });

  it('lets a batchId whose batch failed validation be sent again', async () => {
    const fg = await simple('retry_batch');
    const error = await rejectionOf(fg.insert([{ id: 'a', ts: 'not a time', x: 1 }], { batchId: 'b-7' }));
    expect(error).toBeInstanceOf(ValidationError);
    const result = await fg.insert([{ id: 'a', ts: '2024-01-01', x: 1 }], { batchId: 'b-7' });
    expect(result.reused).toBe(false);
    expect(result.rowCount).toBe(1);
    expect((await fg.read()).numRows).toBe(1);
  });

  it('upserts: replaces rows with the same key and event time, keeps other event times and the history', async () => {
    const fg = await withNote('upserts');
    const t1 = Date.UTC(2024, 0, 1);
    const t2 = Date.UTC(2024, 0, 2);
    const t3 = Date.UTC(2024, 0, 3);
    const original = [
      { id: 'a', ts: t1, x: 1, note: 'first' },
      { id: 'a', ts: t2, x: 2, note: 'first' },
      { id: 'b', ts: t1, x: 3, note: 'first' },
      { id: 'b', ts: t1, x: 4, note: 'appended twice' },
    ];
    const c1 = await fg.insert(original);
    const update = [
      { id: 'a', ts: t1, x: 10, note: 'second' },
      { id: 'a', ts: t3, x: 30, note: 'second' },
      { id: 'b', ts: t1, x: 40, note: 'second' },
      { id: 'c', ts: t2, x: 50, note: 'second' },
    ];
    const c2 = await fg.insert(update, { mode: 'upsert' });
    expect(c2.kind).toBe('upsert');
    expect(c2.rowCount).toBe(4);

    type Stored = { id: string; ts: number; x: number; note: string; commit: number };
    // As read: ordered by event time, then key, then commit; timestamps in µs.
    const asRead = (rows: Stored[]) =>
      [...rows]
        .sort((p, q) => p.ts - q.ts || (p.id < q.id ? -1 : p.id > q.id ? 1 : 0) || p.commit - q.commit)
        .map((r) => ({ id: r.id, ts: BigInt(r.ts) * 1000n, x: r.x, note: r.note, _larder_commit: BigInt(r.commit) }));
    const current = [
      { ...update[0]!, commit: c2.commitId },
      { ...update[2]!, commit: c2.commitId },
      { ...original[1]!, commit: c1.commitId },
      { ...update[3]!, commit: c2.commitId },
      { ...update[1]!, commit: c2.commitId },
    ];
    expect(tableRows(await fg.read({ withCommitIds: true }))).toEqual(asRead(current));
    // The old rows are only marked superseded: the earlier state can still be read.
    expect(tableRows(await fg.read({ asOfCommit: c1.commitId, withCommitIds: true }))).toEqual(
      asRead(original.map((r) => ({ ...r, commit: c1.commitId }))),
    );
  });

  it('rejects an upsert batch with a repeated key and event time', async () => {
    const fg = await simple('upsert_dupes');
    await fg.insert([{ id: 'a', ts: '2024-01-01', x: 1 }]);
    const before = await snapshot(fg);
    const batch = [
      { id: 'a', ts: '2024-01-01', x: 2 },
      { id: 'b', ts: '2024-01-01', x: 3 },
      { id: 'a', ts: '2024-01-01T00:00:00Z', x: 4 },
      { id: 'b', ts: '2024-01-02', x: 5 },
    ];
    const error = await rejectionOf(fg.insert(batch, { mode: 'upsert' }));
    expect(error).toBeInstanceOf(ValidationError);
    const problems = (error as ValidationError).details.problems;
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ kind: 'duplicate_key', rows: [0, 2], count: 1 });
    expect(await snapshot(fg)).toEqual(before);
  });

  it('records commits with monotonic ids, row counts, kinds and batch ids', async () => {
    const a = await simple('ledger_a');
    const b = await simple('ledger_b');
    const { reused, ...first } = await a.insert([{ id: 'x', ts: 1, x: 1 }], { batchId: 'one' });
    expect(reused).toBe(false);
    const results = [
      first,
      await b.insert([{ id: 'x', ts: 1, x: 1 }, { id: 'y', ts: 1, x: 1 }]),
      await a.insert([{ id: 'x', ts: 1, x: 2 }, { id: 'z', ts: 2, x: 1 }, { id: 'w', ts: 2, x: 1 }], { mode: 'upsert', batchId: 'two' }),
      await a.deleteRows([{ id: 'z' }]),
    ];
    const ids = results.map((r) => r.commitId);
    for (let i = 1; i < ids.length; i++) expect(ids[i]).toBeGreaterThan(ids[i - 1]!);
    const commitsA = await a.commits();
    expect(commitsA.map((c) => [c.commitId, c.kind, c.rowCount, c.batchId, c.group, c.version])).toEqual([
      [ids[0], 'append', 1, 'one', 'ledger_a', 1],
      [ids[2], 'upsert', 3, 'two', 'ledger_a', 1],
      [ids[3], 'delete', 1, null, 'ledger_a', 1],
    ]);
    expect((await b.commits()).map((c) => [c.commitId, c.kind, c.rowCount])).toEqual([[ids[1], 'append', 2]]);
    for (let i = 1; i < commitsA.length; i++) expect(commitsA[i]!.committedAt).toBeGreaterThanOrEqual(commitsA[i - 1]!.committedAt);
    expect(commitsA[0]).toEqual(first);
  });

  it('deleteRows removes every row of the given keys and leaves other keys untouched', async () => {
    const fg = await withNote('erasure');
    const rows = ['a', 'b', 'c'].flatMap((id, k) =>
      [1, 2, 3].map((day) => ({ id, ts: Date.UTC(2024, 0, day), x: k * 10 + day, note: `${id}${day}` })),
    );
    const c1 = await fg.insert(rows);
    await fg.insert([{ id: 'b', ts: Date.UTC(2024, 0, 1), x: 99, note: 'upserted' }], { mode: 'upsert' });
    const untouched = tableRows(await fg.read({ where: { id: { in: ['a', 'c'] } }, withCommitIds: true }));
    const commit = await fg.deleteRows([{ id: 'b' }]);
    expect(commit.kind).toBe('delete');
    // Every stored row of 'b': three current ones and the one the upsert superseded.
    expect(commit.rowCount).toBe(4);
    expect((await fg.commits()).at(-1)).toEqual(commit);
    expect(tableRows(await fg.read({ withCommitIds: true }))).toEqual(untouched);
    // Erasure reaches the history too.
    const earlier = tableRows(await fg.read({ asOfCommit: c1.commitId }));
    expect(earlier.map((r) => r['id'])).toEqual(['a', 'c', 'a', 'c', 'a', 'c']);
    const none = await fg.deleteRows([{ id: 'nobody' }]);
    expect(none.rowCount).toBe(0);
    expect(none.commitId).toBeGreaterThan(commit.commitId);
  });

  it('deleteRows matches every column of a composite key', async () => {
    const fg = await store.createFeatureGroup({
      name: 'erasure_composite',
      version: 1,
      primaryKey: ['region', 'shop'],
      eventTime: 'ts',
      features: { region: 'string', shop: 'int32', ts: 'timestamp', sales: 'float64' },
    });
    const rows = ['north', 'south'].flatMap((region) => [1, 2].map((shop) => ({ region, shop, ts: 1000 * shop, sales: shop })));
    await fg.insert(rows);
    const commit = await fg.deleteRows([{ region: 'north', shop: 2 }, { region: 'south', shop: 1 }]);
    expect(commit.rowCount).toBe(2);
    const left = tableRows(await fg.read()).map((r) => `${String(r['region'])}/${String(r['shop'])}`);
    expect(left.sort()).toEqual(['north/1', 'south/2']);
  });

  it('an already aborted signal fails with OperationAbortedError and writes nothing', async () => {
    const fg = await simple('aborted');
    await fg.insert([{ id: 'a', ts: 1, x: 1 }]);
    const before = await snapshot(fg);
    const controller = new AbortController();
    controller.abort();
    const error = await rejectionOf(fg.insert([{ id: 'b', ts: 2, x: 2 }], { signal: controller.signal }));
    expect(error).toBeInstanceOf(OperationAbortedError);
    expect((error as OperationAbortedError).code).toBe('ABORTED');
    const deleteError = await rejectionOf(fg.deleteRows([{ id: 'a' }], { signal: controller.signal }));
    expect(deleteError).toBeInstanceOf(OperationAbortedError);
    expect(await snapshot(fg)).toEqual(before);
  });

  it('reports progress phases in order, ending with done', async () => {
    const fg = await simple('progress');
    const seen: Progress[] = [];
    const rows = Array.from({ length: 500 }, (_, i) => ({ id: `k${i}`, ts: i, x: i }));
    const result = await fg.insert(rows, { onProgress: (p) => seen.push(p) });
    // Progress calls travel on their own message channel: wait for the last one to arrive.
    await vi.waitFor(() => expect(seen.at(-1)?.phase).toBe('done'));
    const order = ['reading', 'writing', 'validating', 'checkpointing', 'done'];
    const phases = seen.map((p) => p.phase);
    expect(phases).toEqual([...phases].sort((p, q) => order.indexOf(p) - order.indexOf(q)));
    expect(phases.filter((p) => p === 'done')).toHaveLength(1);
    expect(seen.at(-1)).toMatchObject({ rows: result.rowCount, totalRows: 500 });
  });
});
