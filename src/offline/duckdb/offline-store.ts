import { Table, tableFromIPC, tableToIPC, type Vector } from 'apache-arrow';
import type { Feature, FeatureGroupDefinition } from '../../definitions/feature-group.ts';
import { nameKey, validateName } from '../../definitions/names.ts';
import { isFloatType, type FeatureType } from '../../definitions/types.ts';
import type { ValidationReport, ExpectationResult } from '../../definitions/expectations.ts';
import {
  ExpectationFailedError, InvalidArgumentError, LarderError, ParseError, QuotaExceededError, StorageError,
  ValidationError, throwIfAborted, type ValidationProblem,
} from '../../errors.ts';
import { ident, join, literal, sql, timestampLiteral, type Sql } from '../../sql/index.ts';
import { sqlTypeOf } from '../../sql/types.ts';
import { Mutex } from '../../util/mutex.ts';
import {
  COMMIT_COLUMN, ProblemCollector, checkColumnValues, valueProblemMessage, SUPERSEDED_COLUMN, columnsFromRows, conformTable, matchColumns, storedTable,
} from '../../ingest/conform.ts';
import { parseJsonRows } from '../../ingest/json.ts';
import { readParquetToIpc } from '../../ingest/parquet.ts';
import { csvDelimiter, csvHeaderLine } from '../../ingest/csv.ts';
import { INGEST_DIRECTORY, csvConversion, csvFastConversion, readCsvSql, readCsvTypedSql } from './csv-sql.ts';
import { compileWhere } from '../filters.ts';
import { offendingRowPredicate } from '../../validation/expectations-sql.ts';
import { HISTOGRAM_BINS, columnAlias, momentsSelect, overflowSafeScale, summarySelect } from '../../validation/statistics-sql.ts';
import type { CommitKind, CommitRecord, ColumnStatistics, FeatureGroupStatistics } from '../../registry/types.ts';
import type { CommitResult, IngestRequest, IngestSource, OfflineStore, OperationControl, ReadRequest } from '../types.ts';
import type { DuckDbEngine } from './engine.ts';

const LEDGER = ident('_larder_commits');
const SYNC_STATE = ident('_larder_sync');
const SEQUENCE = ident('_larder_commit_seq');
const COMMIT = ident(COMMIT_COLUMN);
const SUPERSEDED = ident(SUPERSEDED_COLUMN);

/** The most columns a CSV file may have: far above any feature group, far below what exhausts DuckDB's memory. */
const MAX_CSV_COLUMNS = 10_000;

/** The DuckDB table of a feature group version. */
export function tableNameOf(definition: FeatureGroupDefinition): string {
  return `fg_${nameKey(definition.name)}_v${definition.version}`;
}

type Row = Record<string, unknown>;

/** One batch of a multi-group write. */
export interface IngestItem {
  definition: FeatureGroupDefinition;
  source: IngestSource;
  request: IngestRequest;
}

/** A batch ready to insert itself into its table inside the open transaction. */
interface Prepared {
  rows: number | null;
  /** Whether nulls and NaN were already checked on the Arrow columns (else SQL checks the inserted rows). */
  valuesChecked: boolean;
  insert(table: Sql, commitId: number, problems: ProblemCollector): Promise<number>;
  dispose(): Promise<void>;
}

function toNumber(value: unknown): number {
  return typeof value === 'bigint' ? Number(value) : (value as number);
}

async function bytesOf(data: Blob | Uint8Array): Promise<Uint8Array> {
  return data instanceof Uint8Array ? data : new Uint8Array(await data.arrayBuffer());
}

/** Maps engine failures to our errors; our own errors pass through. */
export function engineError(error: unknown, what: string): LarderError {
  if (error instanceof LarderError) return error;
  const text = String(error);
  if (/quota|QuotaExceeded|No space left|ENOSPC/i.test(text)) {
    return new QuotaExceededError(`The storage quota is exhausted while ${what}; nothing was written. Free space and retry.`, { cause: error });
  }
  return new StorageError(`DuckDB failed while ${what}: ${text}`, { cause: error });
}

function validationError(definition: FeatureGroupDefinition, problems: ValidationProblem[]): ValidationError {
  const summary = problems
    .slice(0, 5)
    .map((p) => `${p.message}${p.rows.length > 0 ? ` (rows ${p.rows.join(', ')}${p.count > p.rows.length ? ', …' : ''}; ${p.count} in all)` : ''}`)
    .join('; ');
  return new ValidationError(
    `The batch does not match ${definition.name} v${definition.version}; nothing was written. ${summary}. Cast or fix the source.`,
    { details: { problems, group: definition.name, version: definition.version } },
  );
}

/** The offline store on DuckDB-WASM: one table per feature group version, a commit ledger, a checkpoint per commit. */
export class DuckDbOfflineStore implements OfflineStore {
  private readonly writes = new Mutex();
  private fileCounter = 0;
  /** Rows were deleted or replaced since the store opened: its write-ahead log is emptied when it closes. */
  private erased = false;

  private constructor(private readonly engine: DuckDbEngine) {}

  static async open(engine: DuckDbEngine): Promise<DuckDbOfflineStore> {
    await engine.writer.query(sql`CREATE TABLE IF NOT EXISTS ${LEDGER} (
      commit_id BIGINT PRIMARY KEY, group_key VARCHAR NOT NULL, group_name VARCHAR NOT NULL, version INTEGER NOT NULL,
      kind VARCHAR NOT NULL, committed_at DOUBLE NOT NULL, row_count BIGINT NOT NULL, batch_id VARCHAR, report VARCHAR);
      CREATE TABLE IF NOT EXISTS ${SYNC_STATE} (target VARCHAR PRIMARY KEY, state VARCHAR NOT NULL);
      CHECKPOINT;`);
    // The sequence is not transactional: after a crash between a snapshot's commit and the sequence's move (see
    // applySnapshot) it can lag the ledger. Keep it past every commit.
    const high = async (text: Sql): Promise<number> => toNumber(((await engine.writer.query(text)).toArray() as Row[])[0]?.['c'] ?? 1);
    const next = await high(sql`SELECT coalesce(max(commit_id), 0) + 1 AS c FROM ${LEDGER}`);
    await engine.writer.query(sql`CREATE SEQUENCE IF NOT EXISTS ${SEQUENCE} START ${literal(next)}`);
    const sequence = sql`SELECT coalesce(last_value + 1, start_value) AS c FROM duckdb_sequences() WHERE sequence_name = '_larder_commit_seq'`;
    if ((await high(sequence)) < next) {
      await engine.writer.query(sql`CREATE OR REPLACE SEQUENCE ${SEQUENCE} START ${literal(next)}`);
    }
    await engine.writer.query(sql`CHECKPOINT`);
    return new DuckDbOfflineStore(engine);
  }

  /**
   * After a rolled-back write, inside the write lock: the commit ids it took from the (non-transactional) sequence are
   * given back, so commit ids stay gap-free — the same in this session and after the store is opened again (a close
   * checkpoints the sequence's position). If this fails the ids are skipped, which is harmless.
   */
  private async giveBackCommitIds(first: number): Promise<void> {
    await this.engine.writer.query(sql`CREATE OR REPLACE SEQUENCE ${SEQUENCE} START ${literal(first)}`).catch(() => undefined);
  }

  private async rows(text: Sql, connection = this.engine.reader): Promise<Row[]> {
    const table = await connection.query(text);
    return table.toArray().map((r: { toJSON(): Row }) => r.toJSON());
  }

  async tableNames(): Promise<string[]> {
    const rows = await this.rows(sql`SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' AND NOT temporary`);
    return rows.map((r) => String(r['table_name']));
  }

  createTable(definition: FeatureGroupDefinition): Promise<void> {
    return this.writes.run(async () => {
      try {
        await this.engine.writer.query(
          sql`CREATE TABLE IF NOT EXISTS ${ident(tableNameOf(definition))} (${tableColumns(definition)}); CHECKPOINT;`,
        );
      } catch (error) {
        throw engineError(error, `creating the table of ${definition.name} v${definition.version}`);
      }
    });
  }

  dropTable(definition: FeatureGroupDefinition): Promise<void> {
    return this.writes.run(async () => {
      const w = this.engine.writer;
      try {
        await w.query(sql`BEGIN TRANSACTION;
          DROP TABLE IF EXISTS ${ident(tableNameOf(definition))};
          DELETE FROM ${LEDGER} WHERE group_key = ${literal(nameKey(definition.name))} AND version = ${literal(definition.version)};
          COMMIT;`);
        await w.query(sql`CHECKPOINT`);
      } catch (error) {
        await w.query(sql`ROLLBACK`).catch(() => undefined); // the drop's own error is reported below
        throw engineError(error, `dropping ${definition.name} v${definition.version}`);
      }
    });
  }

  /** Drops a table by name (used to remove tables left behind by a crash between registry and engine writes). */
  dropOrphan(tableName: string): Promise<void> {
    return this.writes.run(async () => {
      await this.engine.writer.query(sql`DROP TABLE IF EXISTS ${ident(tableName)}; CHECKPOINT;`);
    });
  }

  private ledgerRecord(row: Row): CommitRecord {
    return {
      commitId: toNumber(row['commit_id']),
      group: String(row['group_name']),
      version: toNumber(row['version']),
      kind: String(row['kind']) as CommitKind,
      committedAt: toNumber(row['committed_at']),
      rowCount: toNumber(row['row_count']),
      batchId: row['batch_id'] === null ? null : (row['batch_id'] as string),
      validation: row['report'] === null ? null : (JSON.parse(row['report'] as string) as ValidationReport),
    };
  }

  async ledger(definition?: FeatureGroupDefinition): Promise<CommitRecord[]> {
    const filter =
      definition === undefined
        ? sql``
        : sql`WHERE group_key = ${literal(nameKey(definition.name))} AND version = ${literal(definition.version)}`;
    return (await this.rows(sql`SELECT * FROM ${LEDGER} ${filter} ORDER BY commit_id`)).map((r) => this.ledgerRecord(r));
  }

  async latestCommitId(definition: FeatureGroupDefinition): Promise<number> {
    const [row] = await this.rows(
      sql`SELECT coalesce(max(commit_id), 0) AS c FROM ${LEDGER} WHERE group_key = ${literal(nameKey(definition.name))} AND version = ${literal(definition.version)}`,
    );
    return toNumber(row?.['c'] ?? 0);
  }

  /** The ledger entry a batch id made in this group, if any — never one of a write still in progress. */
  committedBatch(definition: FeatureGroupDefinition, batchId: string): Promise<CommitRecord | undefined> {
    return this.writes.run(() => this.findBatch(definition, batchId));
  }

  private async findBatch(definition: FeatureGroupDefinition, batchId: string): Promise<CommitRecord | undefined> {
    const [row] = await this.rows(
      sql`SELECT * FROM ${LEDGER} WHERE group_key = ${literal(nameKey(definition.name))} AND version = ${literal(definition.version)} AND batch_id = ${literal(batchId)}`,
      this.engine.writer,
    );
    return row === undefined ? undefined : this.ledgerRecord(row);
  }

  ingest(definition: FeatureGroupDefinition, source: IngestSource, request: IngestRequest, control: OperationControl): Promise<CommitResult> {
    return this.ingestAll([{ definition, source, request }], control).then(([result]) => result!);
  }

  /**
   * Writes several batches, each to its own group, as one DuckDB transaction and one checkpoint: every batch commits
   * (one commit per group, in order) or none does. A set whose batch ids are all committed already is returned as
   * `reused`; CSV sources go alone (their fast path restarts the transaction).
   */
  ingestAll(items: readonly IngestItem[], control: OperationControl): Promise<CommitResult[]> {
    if (items.length === 0) throw new InvalidArgumentError('Nothing to write: no batches given.');
    if (items.length > 1 && items.some((i) => i.source.format === 'csv')) {
      throw new InvalidArgumentError('A CSV file is written on its own; convert it to rows or Arrow to commit it with other batches.');
    }
    const what = `writing to ${items.map((i) => `${i.definition.name} v${i.definition.version}`).join(', ')}`;
    return this.writes.run(async () => {
      const existing = await Promise.all(items.map(async (i) => (i.request.batchId === null ? undefined : this.findBatch(i.definition, i.request.batchId))));
      if (existing.every((e) => e !== undefined)) return existing.map((commit) => ({ commit, reused: true }));
      const partly = existing.findIndex((e) => e !== undefined);
      if (partly >= 0) {
        throw new InvalidArgumentError(
          `Batch id '${items[partly]!.request.batchId}' is committed to ${items[partly]!.definition.name} but the other batches of the set are not; ` +
            'batches written together must be re-sent together.',
        );
      }
      throwIfAborted(control.signal, 'The insert');
      control.progress({ phase: 'reading' });
      const prepared: Prepared[] = [];
      const problems = items.map(() => new ProblemCollector());
      const disposeAll = async (): Promise<void> => {
        for (const p of prepared) await p.dispose();
      };
      try {
        for (const [i, item] of items.entries()) {
          prepared.push(await this.prepare(item.definition, item.source, problems[i]!));
          if (!problems[i]!.empty) throw validationError(item.definition, problems[i]!.list);
        }
        throwIfAborted(control.signal, 'The insert');
      } catch (error) {
        await disposeAll();
        throw error;
      }
      const w = this.engine.writer;
      const commitIds: number[] = [];
      for (const _ of items) {
        const [seq] = await this.rows(sql`SELECT nextval('_larder_commit_seq') AS c`, w);
        commitIds.push(toNumber(seq?.['c']));
      }
      const commits: CommitRecord[] = [];
      const knownRows = prepared.every((p) => p.rows !== null) ? prepared.reduce((sum, p) => sum + p.rows!, 0) : undefined;
      await w.query(sql`BEGIN TRANSACTION`);
      try {
        control.progress({ phase: 'writing', totalRows: knownRows });
        let written = 0;
        for (const [i, { definition, request }] of items.entries()) {
          commits.push(await this.writeBatch(definition, request, prepared[i]!, commitIds[i]!, problems[i]!));
          written += commits[i]!.rowCount;
        }
        control.progress({ phase: 'validating', rows: written, totalRows: written });
        throwIfAborted(control.signal, 'The insert');
        await w.query(sql`COMMIT`);
      } catch (error) {
        await w.query(sql`ROLLBACK`).catch(() => undefined); // report the failure that caused the rollback
        await this.giveBackCommitIds(commitIds[0]!);
        throw engineError(error, what);
      } finally {
        await disposeAll();
      }
      control.progress({ phase: 'checkpointing' });
      await this.checkpoint(what);
      const total = commits.reduce((sum, c) => sum + c.rowCount, 0);
      control.progress({ phase: 'done', rows: total, totalRows: total });
      return commits.map((commit) => ({ commit, reused: false }));
    });
  }

  /** Inside the open transaction: inserts one prepared batch as commit `commitId`, checks it and writes its ledger entry. */
  private async writeBatch(
    definition: FeatureGroupDefinition,
    request: IngestRequest,
    prepared: Prepared,
    commitId: number,
    problems: ProblemCollector,
  ): Promise<CommitRecord> {
    const w = this.engine.writer;
    const table = ident(tableNameOf(definition));
    const rowCount = await prepared.insert(table, commitId, problems);
    if (!problems.empty) throw validationError(definition, problems.list);
    await this.checkValues(definition, table, commitId, request.mode, prepared.valuesChecked, problems);
    if (!problems.empty) throw validationError(definition, problems.list);
    if (request.mode === 'upsert') {
      const on = join([...definition.primaryKey, definition.eventTime].map((k) => sql`t.${ident(k)} = n.${ident(k)}`), ' AND ');
      await w.query(sql`UPDATE ${table} AS t SET ${SUPERSEDED} = ${literal(commitId)}
        FROM (SELECT ${join([...definition.primaryKey, definition.eventTime].map((k) => ident(k)))} FROM ${table} WHERE ${COMMIT} = ${literal(commitId)}) AS n
        WHERE ${on} AND t.${COMMIT} < ${literal(commitId)} AND t.${SUPERSEDED} IS NULL`);
    }
    const report = definition.expectations === null ? null : await this.evaluate(definition, table, commitId, rowCount);
    if (report !== null && !report.success && report.policy === 'strict') {
      const failed = report.results.filter((r) => !r.success).map((r) => describeExpectation(r));
      throw new ExpectationFailedError(
        `The batch breaks the expectation suite of ${definition.name} v${definition.version}; nothing was written. Failed: ${failed.join('; ')}.`,
        { details: { report, group: definition.name, version: definition.version } },
      );
    }
    const commit: CommitRecord = {
      commitId,
      group: definition.name,
      version: definition.version,
      kind: request.mode,
      committedAt: Date.now(),
      rowCount,
      batchId: request.batchId,
      validation: report,
    };
    await this.writeLedger(commit);
    return commit;
  }

  private async checkpoint(what: string): Promise<void> {
    try {
      await this.engine.writer.query(sql`CHECKPOINT`);
    } catch (error) {
      throw engineError(error, `${what} (checkpoint)`);
    }
  }

  private async writeLedger(commit: CommitRecord): Promise<void> {
    await this.engine.writer.query(sql`INSERT INTO ${LEDGER} VALUES (${literal(commit.commitId)}, ${literal(nameKey(commit.group))},
      ${literal(commit.group)}, ${literal(commit.version)}, ${literal(commit.kind)}, ${literal(commit.committedAt)},
      ${literal(commit.rowCount)}, ${literal(commit.batchId)}, ${literal(commit.validation === null ? null : JSON.stringify(commit.validation))})`);
  }

  /** Turns any source into something that inserts itself into the table inside the open transaction. */
  private async prepare(definition: FeatureGroupDefinition, source: IngestSource, problems: ProblemCollector): Promise<Prepared> {
    let columns: Vector[];
    if (source.format === 'rows') {
      if (!Array.isArray(source.rows)) throw new InvalidArgumentError('Rows must be an array of objects.');
      columns = columnsFromRows(definition, source.rows, problems);
    } else if (source.format === 'arrow') {
      columns = conformTable(definition, tableFromIPC(source.ipc), problems);
    } else if (source.format === 'csv') {
      return this.prepareCsv(definition, await bytesOf(source.data), problems);
    } else if (source.format === 'parquet') {
      columns = conformTable(definition, tableFromIPC(await readParquetToIpc(await bytesOf(source.data))), problems);
    } else {
      const text = new TextDecoder('utf-8', { fatal: false }).decode(await bytesOf(source.data));
      columns = columnsFromRows(definition, parseJsonRows(text), problems);
    }
    if (problems.empty) checkColumnValues(definition, columns, problems);
    const rows = columns[0]?.length ?? 0;
    return {
      rows,
      valuesChecked: true,
      insert: async (table, commitId) => {
        if (rows === 0) return 0;
        const ipc = tableToIPC(storedTable(definition, columns, BigInt(commitId)), 'stream');
        await this.engine.insertArrow(ipc, { name: tableNameOf(definition), create: false });
        void table;
        return rows;
      },
      dispose: () => Promise.resolve(),
    };
  }

  private async prepareCsv(definition: FeatureGroupDefinition, bytes: Uint8Array, problems: ProblemCollector) {
    if (bytes.length === 0) throw new ParseError('The CSV file is empty; it needs at least a header line.');
    const file = `${INGEST_DIRECTORY}${++this.fileCounter}.csv`;
    const staging = ident(`_larder_csv_${this.fileCounter}`);
    const w = this.engine.writer;
    const headerLine = csvHeaderLine(bytes);
    const delimiter = csvDelimiter(headerLine, definition.features.map((f) => f.name));
    // A header of a million columns drives DuckDB's reader out of memory (gigabytes its worker never returns) before
    // it reports anything: refused up front. The header counted is the file's first 64 KB.
    const fields = headerLine.split(delimiter).length;
    if (fields > MAX_CSV_COLUMNS) {
      throw new ParseError(`The CSV header has ${fields.toLocaleString('en-US')} or more columns; at most ${MAX_CSV_COLUMNS.toLocaleString('en-US')} are read.`, {
        details: { reason: 'too many columns', columns: fields },
      });
    }
    const read = readCsvSql(file, delimiter);
    // DuckDB takes the buffer (it is transferred to its worker).
    await this.engine.db.registerFileBuffer(file, bytes);
    const dispose = async (): Promise<void> => {
      await w.query(sql`DROP TABLE IF EXISTS ${staging}`).catch(() => undefined); // temp tables go with the connection anyway
      await this.engine.db.dropFile(file);
    };
    const parseError = (error: unknown): ParseError =>
      new ParseError(`The CSV file could not be parsed: ${String(error)}`, { cause: error });
    let header: string[];
    try {
      header = (await this.rows(sql`DESCRIBE SELECT * FROM ${read}`, w)).map((r) => String(r['column_name']));
    } catch (error) {
      await dispose();
      throw parseError(error);
    }
    const found = matchColumns(definition.features.map((f) => f.name), header);
    for (const feature of definition.features) {
      if (!found.has(feature.name)) {
        problems.addProblem({ column: feature.name, kind: 'missing_column', rows: [], count: 0, message: `column '${feature.name}' (${feature.type}) is missing from the CSV header` });
      }
    }
    const conversions = definition.features.map((f) => ({ feature: f, ...csvConversion(f, ident(found.get(f.name) ?? f.name)) }));
    const checks = conversions.flatMap(({ feature, checks: list }) => list.map((check) => ({ column: feature.name, ...check })));
    const prepared = {
      rows: null,
      valuesChecked: false,
      dispose,
      insert: async (table: Sql, commitId: number, batchProblems: ProblemCollector): Promise<number> => {
        if (batchProblems.empty) {
          const byHeader = new Map([...found].map(([declared, csvName]) => [csvName, definition.features.find((f) => f.name === declared)]));
          const typed = readCsvTypedSql(file, delimiter, header, (h) => byHeader.get(h));
          const values = definition.features.map((f) => csvFastConversion(f, ident(found.get(f.name)!)));
          try {
            const [result] = await this.rows(sql`INSERT INTO ${table} SELECT ${join(values)}, ${literal(commitId)}, NULL FROM ${typed}`, w);
            // The fast conversions also refuse nulls and NaN where the schema does not allow them.
            prepared.valuesChecked = true;
            return toNumber(result?.['Count'] ?? 0);
          } catch {
            // The fast path stops at the first bad value (its error aborts the transaction): start over and let the
            // diagnostic path below find every problem with its row number.
            await w.query(sql`ROLLBACK`);
            await w.query(sql`BEGIN TRANSACTION`);
          }
        }
        try {
          // Text first, numbered in file order; a structural error (a stray quote, a ragged line) fails here.
          const columns = join([...found.values()].map((c) => ident(c)));
          await w.query(sql`CREATE TEMP TABLE ${staging} AS SELECT row_number() OVER () - 1 AS __row, ${columns} FROM ${read}`);
        } catch (error) {
          throw parseError(error);
        }
        if (checks.length > 0) {
          const counts = join(checks.map((c, i) => sql`count(*) FILTER (WHERE ${c.predicate}) AS ${ident(`c${i}`)}`));
          const [row] = await this.rows(sql`SELECT ${counts} FROM ${staging}`, w);
          for (const [i, check] of checks.entries()) {
            const count = toNumber(row?.[`c${i}`] ?? 0);
            if (count === 0) continue;
            const sample = await this.rows(sql`SELECT __row FROM ${staging} WHERE ${check.predicate} ORDER BY __row LIMIT 10`, w);
            batchProblems.addProblem({ column: check.column, kind: check.kind, count, rows: sample.map((r) => toNumber(r['__row'])), message: check.message });
          }
          if (!batchProblems.empty) return 0;
        }
        const [result] = await this.rows(
          sql`INSERT INTO ${table} SELECT ${join(conversions.map((c) => c.value))}, ${literal(commitId)}, NULL FROM ${staging} ORDER BY __row`,
          w,
        );
        return toNumber(result?.['Count'] ?? 0);
      },
    };
    return prepared;
  }

  /** Null keys, nulls in non-nullable columns, NaN where not allowed, duplicate identities in an upsert. */
  private async checkValues(
    definition: FeatureGroupDefinition,
    table: Sql,
    commitId: number,
    mode: IngestRequest['mode'],
    valuesChecked: boolean,
    problems: ProblemCollector,
  ): Promise<void> {
    const keys = new Set([...definition.primaryKey, definition.eventTime]);
    const checks: { column: string; kind: ValidationProblem['kind']; predicate: Sql; message: string }[] = [];
    for (const f of valuesChecked ? [] : definition.features) {
      const c = ident(f.name);
      if (!f.nullable) {
        checks.push({
          column: f.name,
          kind: keys.has(f.name) ? 'null_key' : 'null_value',
          predicate: sql`${c} IS NULL`,
          message: valueProblemMessage(f.name, keys.has(f.name) ? 'null_key' : 'null_value'),
        });
      }
      if (isFloatType(f.type) && !f.allowNaN) {
        checks.push({ column: f.name, kind: 'nan', predicate: sql`isnan(${c})`, message: valueProblemMessage(f.name, 'nan') });
      }
    }
    // Row numbers in insertion order (a scan returns the transaction's new rows in the order they were appended).
    // Not ORDER BY rowid: a feature named rowid would shadow DuckDB's pseudo-column.
    const batch = sql`(SELECT row_number() OVER () - 1 AS __row, * FROM ${table} WHERE ${COMMIT} = ${literal(commitId)})`;
    if (checks.length > 0) {
      const counts = join(checks.map((c, i) => sql`count(*) FILTER (WHERE ${c.predicate}) AS ${ident(`c${i}`)}`));
      const [row] = await this.rows(sql`SELECT ${counts} FROM ${table} WHERE ${COMMIT} = ${literal(commitId)}`, this.engine.writer);
      for (const [i, check] of checks.entries()) {
        const count = toNumber(row?.[`c${i}`] ?? 0);
        if (count === 0) continue;
        const sample = await this.rows(sql`SELECT __row FROM ${batch} WHERE ${check.predicate} ORDER BY __row LIMIT 10`, this.engine.writer);
        problems.addProblem({ column: check.column, kind: check.kind, count, rows: sample.map((r) => toNumber(r['__row'])), message: check.message });
      }
    }
    if (mode === 'upsert') {
      const identity = join([...keys].map((k) => ident(k)));
      const [dup] = await this.rows(
        sql`SELECT count(*) AS n FROM (SELECT ${identity} FROM ${table} WHERE ${COMMIT} = ${literal(commitId)} GROUP BY ${identity} HAVING count(*) > 1)`,
        this.engine.writer,
      );
      const n = toNumber(dup?.['n'] ?? 0);
      if (n > 0) {
        const sample = await this.rows(
          sql`SELECT __row FROM (SELECT __row, count(*) OVER (PARTITION BY ${identity}) AS __n FROM ${batch}) WHERE __n > 1 ORDER BY __row LIMIT 10`,
          this.engine.writer,
        );
        problems.addProblem({
          column: [...keys].join(', '),
          kind: 'duplicate_key',
          count: n,
          rows: sample.map((r) => toNumber(r['__row'])),
          message: `an upsert batch has ${n} primary key + event time combinations more than once; keep one row each`,
        });
      }
    }
  }

  private async evaluate(definition: FeatureGroupDefinition, table: Sql, commitId: number, rowCount: number): Promise<ValidationReport> {
    const suite = definition.expectations!;
    const w = this.engine.writer;
    const inBatch = sql`${COMMIT} = ${literal(commitId)}`;
    const results: ExpectationResult[] = [];
    for (const expectation of suite.expectations) {
      const rowWise = offendingRowPredicate(expectation, definition.features);
      if (rowWise !== null) {
        const [row] = await this.rows(sql`SELECT count(*) AS n FROM ${table} WHERE ${inBatch} AND (${rowWise.predicate})`, w);
        const n = toNumber(row?.['n'] ?? 0);
        const sample = n === 0 ? [] : (await this.rows(sql`SELECT ${rowWise.sample} AS v FROM ${table} WHERE ${inBatch} AND (${rowWise.predicate}) LIMIT 10`, w)).map((r) => plain(r['v']));
        results.push({ expectation, success: n === 0, unexpectedCount: n, sample });
      } else if (expectation.kind === 'rowCount') {
        const ok = (expectation.min === undefined || rowCount >= expectation.min) && (expectation.max === undefined || rowCount <= expectation.max);
        results.push({ expectation, success: ok, unexpectedCount: ok ? 0 : 1, sample: [rowCount] });
      } else {
        const identity = join([...definition.primaryKey, definition.eventTime].map((k) => ident(k)));
        const dups = await this.rows(
          sql`SELECT ${identity} FROM ${table} WHERE ${SUPERSEDED} IS NULL GROUP BY ${identity}
            HAVING count(*) > 1 AND bool_or(${inBatch}) LIMIT 10`,
          w,
        );
        const [count] = dups.length === 0 ? [{ n: 0 }] : await this.rows(
          sql`SELECT count(*) AS n FROM (SELECT 1 FROM ${table} WHERE ${SUPERSEDED} IS NULL GROUP BY ${identity} HAVING count(*) > 1 AND bool_or(${inBatch}))`,
          w,
        );
        const n = toNumber(count?.['n'] ?? 0);
        results.push({ expectation, success: n === 0, unexpectedCount: n, sample: dups.map((r) => plainRow(r)) });
      }
    }
    return { policy: suite.policy, success: results.every((r) => r.success), rowCount, evaluatedAt: Date.now(), results };
  }

  async read(definition: FeatureGroupDefinition, request: ReadRequest): Promise<Uint8Array> {
    const names = request.columns ?? definition.features.map((f) => f.name);
    const known = new Map(definition.features.map((f) => [nameKey(f.name), f.name]));
    if (!Array.isArray(names) || names.length === 0) throw new InvalidArgumentError('columns must be a non-empty array of column names.');
    const seen = new Set<string>();
    const selected = names.map((n) => {
      const name = known.get(nameKey(validateName(n, 'column')));
      if (name === undefined) throw new InvalidArgumentError(`Column '${n}' is not in ${definition.name} v${definition.version}.`);
      if (seen.has(name)) throw new InvalidArgumentError(`Column '${n}' is asked for twice.`);
      seen.add(name);
      return ident(name);
    });
    if (request.withCommitIds) selected.push(COMMIT);
    const filters: Sql[] = [];
    if (request.asOfCommit === null) filters.push(sql`${SUPERSEDED} IS NULL`);
    else {
      const asOf = literal(request.asOfCommit);
      filters.push(sql`${COMMIT} <= ${asOf}`, sql`(${SUPERSEDED} IS NULL OR ${SUPERSEDED} > ${asOf})`);
    }
    if (request.afterCommit !== null) filters.push(sql`${COMMIT} > ${literal(request.afterCommit)}`);
    const ts = ident(definition.eventTime);
    if (request.start !== null) filters.push(sql`${ts} >= ${timestampLiteral(request.start)}`);
    if (request.end !== null) filters.push(sql`${ts} < ${timestampLiteral(request.end)}`);
    if (request.where !== null) filters.push(...compileWhere(definition, request.where));
    const order = join([ts, ...definition.primaryKey.map((k) => ident(k)), COMMIT]);
    const limit = request.limit === null ? sql`` : sql`LIMIT ${literal(request.limit)}`;
    const text = sql`SELECT ${join(selected)} FROM ${ident(tableNameOf(definition))} WHERE ${join(filters, ' AND ')} ORDER BY ${order} ${limit}`;
    try {
      return await this.engine.db.runQuery(this.connectionId(this.engine.reader), text);
    } catch (error) {
      throw engineError(error, `reading ${definition.name} v${definition.version}`);
    }
  }

  private connectionId(connection: DuckDbEngine['reader']): number {
    return (connection as unknown as { _conn: number })._conn;
  }

  /**
   * Deletes every row of the given keys from a group and, in the same transaction, the rows of those keys from other
   * tables (training datasets, see {@link ErasureTarget}); then overwrites the database file's free blocks (see
   * {@link scrubFreeBlocks}) so the deleted values do not linger in the OPFS file.
   */
  deleteRows(
    definition: FeatureGroupDefinition,
    keys: IngestSource,
    control: OperationControl,
    targets: readonly ErasureTarget[] = [],
  ): Promise<CommitResult & { targets: ErasedRows[] }> {
    const what = `deleting rows from ${definition.name} v${definition.version}`;
    const keyDefinition = {
      ...definition,
      features: definition.features.filter((f) => definition.primaryKey.includes(f.name)),
    };
    return this.writes.run(async () => {
      const problems = new ProblemCollector();
      let columns: Vector[];
      if (keys.format === 'arrow') columns = conformTable(keyDefinition, tableFromIPC(keys.ipc), problems);
      else if (keys.format === 'rows') columns = columnsFromRows(keyDefinition, keys.rows, problems);
      else throw new InvalidArgumentError('deleteRows takes key objects or an Arrow table of key columns.');
      // Values that failed to convert are null too: only look for nulls once everything converted.
      if (problems.empty) {
        keyDefinition.features.forEach((feature, i) => {
          const column = columns[i]!;
          for (let row = 0; column.nullCount > 0 && row < column.length; row++) {
            if (!column.isValid(row)) problems.add(feature.name, 'null_key', row, `column '${feature.name}': keys to delete cannot be null`);
          }
        });
      }
      if (!problems.empty) throw validationError(definition, problems.list);
      throwIfAborted(control.signal, 'The delete');
      const w = this.engine.writer;
      const staging = `_larder_delete_keys_${++this.fileCounter}`;
      const [seq] = await this.rows(sql`SELECT nextval('_larder_commit_seq') AS c`, w);
      const commitId = toNumber(seq?.['c']);
      const keyTable = new Table(
        Object.fromEntries(keyDefinition.features.map((f, i) => [f.name, columns[i]!])),
      );
      let commit: CommitRecord;
      const erased: ErasedRows[] = [];
      await w.query(sql`BEGIN TRANSACTION`);
      try {
        if (keyTable.numRows > 0) {
          await this.engine.insertArrow(tableToIPC(keyTable, 'stream'), { name: staging, create: true });
        } else {
          await w.query(sql`CREATE TEMP TABLE ${ident(staging)} AS SELECT ${join(definition.primaryKey.map((k) => ident(k)))} FROM ${ident(tableNameOf(definition))} LIMIT 0`);
        }
        const on = join(definition.primaryKey.map((k) => sql`t.${ident(k)} = k.${ident(k)}`), ' AND ');
        const [deleted] = await this.rows(
          sql`DELETE FROM ${ident(tableNameOf(definition))} AS t USING ${ident(staging)} AS k WHERE ${on}`,
          w,
        );
        // A DELETE only marks rows: their values stay in the table's blocks. Copy what is left into a new table.
        if (toNumber(deleted?.['Count'] ?? 0) > 0) await this.rewriteGroupTable(definition);
        for (const target of targets) erased.push(await this.eraseFrom(target, definition.primaryKey, staging));
        await w.query(sql`DROP TABLE ${ident(staging)}`);
        commit = {
          commitId,
          group: definition.name,
          version: definition.version,
          kind: 'delete',
          committedAt: Date.now(),
          rowCount: toNumber(deleted?.['Count'] ?? 0),
          batchId: null,
          validation: null,
        };
        await this.writeLedger(commit);
        await w.query(sql`COMMIT`);
      } catch (error) {
        await w.query(sql`ROLLBACK`).catch(() => undefined); // report the failure that caused the rollback
        await this.giveBackCommitIds(commitId);
        throw engineError(error, what);
      }
      await this.checkpoint(what);
      this.erased = true;
      await this.scrubFreeBlocks(what);
      control.progress({ phase: 'done', rows: commit.rowCount });
      return { commit, reused: false, targets: erased };
    });
  }

  /** Inside deleteRows' transaction: replaces a group's table by a copy of its rows (same order, same columns). */
  private async rewriteGroupTable(definition: FeatureGroupDefinition): Promise<void> {
    const table = ident(tableNameOf(definition));
    const copy = ident(`_larder_rewrite_${++this.fileCounter}`);
    // INSERT … SELECT keeps the scan's order, the rows' storage order (the order ties are broken by).
    await this.engine.writer.query(sql`CREATE TABLE ${copy} (${tableColumns(definition)});
      INSERT INTO ${copy} SELECT * FROM ${table};
      DROP TABLE ${table};
      ALTER TABLE ${copy} RENAME TO ${ident(tableNameOf(definition))}`);
  }

  /**
   * Inside deleteRows' transaction: copies a target's rows whose key columns match none of the staged keys into a
   * table named `renameTo` and drops the target (when it has rows to lose), counting the others by `countBy`.
   */
  private async eraseFrom(target: ErasureTarget, primaryKey: readonly string[], staging: string): Promise<ErasedRows> {
    const w = this.engine.writer;
    const table = ident(target.table);
    const on = join(target.columns.map((c, i) => sql`t.${ident(c)} = k.${ident(primaryKey[i]!)}`), ' AND ');
    const matches = sql`EXISTS (SELECT 1 FROM ${ident(staging)} AS k WHERE ${on})`;
    const counted = await this.rows(sql`SELECT t.${ident(target.countBy)} AS g, count(*) AS n FROM ${table} AS t WHERE ${matches} GROUP BY 1`, w);
    const byGroup = new Map(counted.map((r) => [r['g'] === null ? null : toNumber(r['g']), toNumber(r['n'])]));
    const rows = [...byGroup.values()].reduce((sum, n) => sum + n, 0);
    if (rows === 0) return { table: target.table, rows, byGroup };
    await w.query(sql`CREATE TABLE ${ident(target.renameTo)} AS SELECT * FROM ${table} AS t WHERE NOT ${matches}; DROP TABLE ${table}`);
    return { table: target.renameTo, rows, byGroup };
  }

  /**
   * Overwrites the database file's free blocks. DuckDB leaves the bytes of deleted rows in the blocks a checkpoint
   * frees, and reuses those blocks only for later writes: after an erasure the subject's values would still be in the
   * OPFS file. So fill every free block with a scratch table of random numbers (DuckDB takes free blocks before it
   * grows the file), checkpoint, and drop it: the blocks are free again, holding noise. Costs a write of the free
   * space (small after a delete; up to the file's size after a large one).
   */
  private async scrubFreeBlocks(what: string): Promise<void> {
    const w = this.engine.writer;
    const scratch = ident('_larder_scrub');
    const free = async (): Promise<{ blocks: number; size: number }> => {
      const [row] = await this.rows(sql`SELECT free_blocks, block_size FROM pragma_database_size()`, w);
      return { blocks: toNumber(row?.['free_blocks'] ?? 0), size: toNumber(row?.['block_size'] ?? 0) };
    };
    try {
      let { blocks, size } = await free();
      // A block freed by the checkpoint that wrote the scratch rows is reused only by the next one: a few rounds.
      for (let round = 0; blocks > 0 && round < 8; round++) {
        // Random doubles barely compress: two per 16 bytes of free space leaves room to spare.
        const rows = Math.ceil((blocks * size) / 8);
        await w.query(sql`CREATE TABLE IF NOT EXISTS ${scratch} (v DOUBLE);
          INSERT INTO ${scratch} SELECT random() FROM range(${literal(rows)});
          CHECKPOINT;`);
        ({ blocks, size } = await free());
      }
      await w.query(sql`DROP TABLE IF EXISTS ${scratch}; CHECKPOINT;`);
    } catch (error) {
      await w.query(sql`DROP TABLE IF EXISTS ${scratch}`).catch(() => undefined); // report the scrub's own failure
      throw engineError(error, `${what} (overwriting free space)`);
    }
  }

  async statistics(definition: FeatureGroupDefinition, commitId: number): Promise<FeatureGroupStatistics> {
    const asOf = literal(commitId);
    const source = sql`(SELECT * FROM ${ident(tableNameOf(definition))} WHERE ${COMMIT} <= ${asOf} AND (${SUPERSEDED} IS NULL OR ${SUPERSEDED} > ${asOf})) AS r`;
    try {
      const { rowCount, columns } = await this.columnStatistics(source, definition.features);
      return { group: definition.name, version: definition.version, commitId, computedAt: Date.now(), rowCount, columns };
    } catch (error) {
      throw engineError(error, `computing statistics of ${definition.name} v${definition.version}`);
    }
  }

  /** Statistics of the rows of a table (training datasets): optionally only the rows where `column = value`. */
  async tableStatistics(
    name: string,
    features: readonly Feature[],
    filter: { column: string; value: string | number } | null,
  ): Promise<{ rowCount: number; columns: Record<string, ColumnStatistics> }> {
    const where = filter === null ? sql`` : sql`WHERE ${ident(filter.column)} = ${literal(filter.value)}`;
    try {
      return await this.columnStatistics(sql`(SELECT * FROM ${ident(name)} ${where}) AS r`, features);
    } catch (error) {
      throw engineError(error, `computing statistics of ${name}`);
    }
  }

  /**
   * Per-column statistics of the rows of an SQL source, in two scans whatever the number of columns: counts and
   * ranges first, then moments, quantiles and histograms of the numeric columns (their bins need the ranges).
   */
  private async columnStatistics(source: Sql, features: readonly Feature[]): Promise<{ rowCount: number; columns: Record<string, ColumnStatistics> }> {
    const summaries = features.map((f, i) => summarySelect(f, columnAlias(i)));
    const [s = {}] = await this.rows(sql`SELECT ${join([sql`count(*) AS rows`, ...summaries])} FROM ${source}`);
    const value = (i: number, statistic: string): unknown => s[`c${i}_${statistic}`] ?? null;
    const bins = features.map((feature, i) => {
      const [lo, hi] = [value(i, 'lo'), value(i, 'hi')];
      if (typeof lo !== 'number' || typeof hi !== 'number') return null;
      const scale = overflowSafeScale(lo, hi);
      const count = hi > lo ? HISTOGRAM_BINS : 1;
      const select = momentsSelect(feature, scale, lo * scale, (hi * scale - lo * scale) / count, columnAlias(i));
      return select === null ? null : { lo, hi, scale, count, select };
    });
    const numeric = bins.flatMap((b) => (b === null ? [] : [b.select]));
    const [m = {}] = numeric.length === 0 ? [] : await this.rows(sql`SELECT ${join(numeric)} FROM ${source}`);
    const moment = (i: number, statistic: string): unknown => m[`c${i}_${statistic}`] ?? null;
    const columns: Record<string, ColumnStatistics> = {};
    features.forEach((feature, i) => {
      const b = bins[i];
      const common = {
        type: feature.type,
        count: toNumber(value(i, 'n') ?? 0),
        nulls: toNumber(value(i, 'nulls') ?? 0),
        distinct: toNumber(value(i, 'd') ?? 0),
        min: plainScalar(value(i, 'lo'), feature.type),
        max: plainScalar(value(i, 'hi'), feature.type),
      };
      if (b === null || b === undefined) {
        columns[feature.name] = { ...common, mean: nullableNumber(value(i, 'mean')), std: nullableNumber(value(i, 'std')), quantiles: null, histogram: null };
        return;
      }
      const unscale = (x: unknown): number | null => (x === null ? null : toNumber(x) / b.scale);
      const q = plain(moment(i, 'q'));
      const quantiles = Array.isArray(q) && q.length === 5 ? q.map((x) => toNumber(x) / b.scale) : null;
      const counts = new Array<number>(b.count).fill(0);
      const histogram = moment(i, 'h') as Iterable<[unknown, unknown]> | null;
      for (const [bin, n] of histogram ?? []) counts[toNumber(bin)] = toNumber(n);
      const [scaledLo, width] = [b.lo * b.scale, (b.hi * b.scale - b.lo * b.scale) / b.count];
      columns[feature.name] = {
        ...common,
        mean: unscale(moment(i, 'mean')),
        std: unscale(moment(i, 'std')),
        quantiles: quantiles === null ? null : { p05: quantiles[0]!, p25: quantiles[1]!, p50: quantiles[2]!, p75: quantiles[3]!, p95: quantiles[4]! },
        histogram: { edges: Array.from({ length: b.count + 1 }, (_, k) => (k === b.count ? b.hi : (scaledLo + k * width) / b.scale)), counts },
      };
    });
    return { rowCount: toNumber(s['rows'] ?? 0), columns };
  }

  /** Every stored row of a group, superseded ones included, with the hidden commit and superseded-by columns. */
  async rowsForJoin(definition: FeatureGroupDefinition): Promise<Table> {
    try {
      return await this.engine.reader.query(sql`SELECT * FROM ${ident(tableNameOf(definition))}`);
    } catch (error) {
      throw engineError(error, `reading ${definition.name} v${definition.version}`);
    }
  }

  /**
   * The latest current row per primary key (greatest event time, then latest commit, then the later row) among the
   * rows of commits in (afterCommit, throughCommit] with event time in [start, end), ordered by key, with the
   * commit column: what the online store is made of.
   */
  async latestRows(
    definition: FeatureGroupDefinition,
    window: { afterCommit: number; throughCommit: number | null; start: number | null; end: number | null },
  ): Promise<Table> {
    const ts = ident(definition.eventTime);
    const keys = join(definition.primaryKey.map((k) => ident(k)));
    const filters = [sql`${SUPERSEDED} IS NULL`, sql`${COMMIT} > ${literal(window.afterCommit)}`];
    if (window.throughCommit !== null) filters.push(sql`${COMMIT} <= ${literal(window.throughCommit)}`);
    if (window.start !== null) filters.push(sql`${ts} >= ${timestampLiteral(window.start)}`);
    if (window.end !== null) filters.push(sql`${ts} < ${timestampLiteral(window.end)}`);
    const columns = join([...definition.features.map((f) => ident(f.name)), COMMIT]);
    try {
      return await this.engine.reader.query(sql`
        SELECT ${columns} FROM (
          SELECT *, row_number() OVER (PARTITION BY ${keys} ORDER BY ${ts} DESC, ${COMMIT} DESC, rowid DESC) AS _larder_rank
          FROM ${ident(tableNameOf(definition))} WHERE ${join(filters, ' AND ')}
        ) WHERE _larder_rank = 1 ORDER BY ${keys}`);
    } catch (error) {
      throw engineError(error, `reading the latest rows of ${definition.name} v${definition.version}`);
    }
  }

  /** When each commit became durable: commit id → epoch milliseconds. */
  async commitTimes(): Promise<Map<number, number>> {
    const rows = await this.rows(sql`SELECT commit_id, committed_at FROM ${LEDGER}`);
    return new Map(rows.map((r) => [toNumber(r['commit_id']), toNumber(r['committed_at'])]));
  }

  /** Replaces a whole table with an Arrow table (training datasets), durably. */
  writeTable(name: string, table: Table): Promise<void> {
    return this.writes.run(async () => {
      const w = this.engine.writer;
      try {
        await w.query(sql`BEGIN TRANSACTION; DROP TABLE IF EXISTS ${ident(name)};`);
        await this.engine.insertArrow(tableToIPC(table, 'stream'), { name, create: true });
        await w.query(sql`COMMIT`);
      } catch (error) {
        await w.query(sql`ROLLBACK`).catch(() => undefined); // report the failure that caused the rollback
        throw engineError(error, `writing ${name}`);
      }
      await this.checkpoint(`writing ${name}`);
    });
  }

  /** A whole table as Arrow. */
  async readTable(name: string): Promise<Table> {
    try {
      return await this.engine.reader.query(sql`SELECT * FROM ${ident(name)}`);
    } catch (error) {
      throw engineError(error, `reading ${name}`);
    }
  }

  /** Drops tables by name, durably. */
  dropTables(names: readonly string[]): Promise<void> {
    return this.writes.run(async () => {
      if (names.length > 0) this.erased = true;
      for (const name of names) await this.engine.writer.query(sql`DROP TABLE IF EXISTS ${ident(name)}`);
      await this.checkpoint('dropping tables');
    });
  }

  /**
   * The rows of a group written by the commits in [firstCommit, lastCommit] — superseded ones included, deleted ones
   * gone — with the commit column, as an Arrow IPC stream in commit then storage order: the same bytes for the same
   * rows, and the order ties between equal keys and times are broken by (a snapshot part).
   */
  async exportRows(definition: FeatureGroupDefinition, firstCommit: number, lastCommit: number): Promise<{ ipc: Uint8Array; rows: number }> {
    const columns = join([...definition.features.map((f) => ident(f.name)), COMMIT]);
    const text = sql`SELECT ${columns} FROM ${ident(tableNameOf(definition))}
      WHERE ${COMMIT} BETWEEN ${literal(firstCommit)} AND ${literal(lastCommit)} ORDER BY ${COMMIT}, rowid`;
    try {
      const ipc = await this.engine.db.runQuery(this.connectionId(this.engine.reader), text);
      return { ipc, rows: tableFromIPC(ipc).numRows };
    } catch (error) {
      throw engineError(error, `reading ${definition.name} v${definition.version} for a snapshot`);
    }
  }

  /** A whole table as an Arrow IPC stream, in its stored order (a training dataset for a snapshot). */
  async exportTable(name: string): Promise<Uint8Array> {
    try {
      return await this.engine.db.runQuery(this.connectionId(this.engine.reader), sql`SELECT * FROM ${ident(name)}`);
    } catch (error) {
      throw engineError(error, `reading ${name} for a snapshot`);
    }
  }

  /** How many rows the commits in [firstCommit, lastCommit] still have in the group (deletes remove rows). */
  async countRows(definition: FeatureGroupDefinition, firstCommit: number, lastCommit: number): Promise<number> {
    const [row] = await this.rows(sql`SELECT count(*) AS n FROM ${ident(tableNameOf(definition))}
      WHERE ${COMMIT} BETWEEN ${literal(firstCommit)} AND ${literal(lastCommit)}`);
    return toNumber(row?.['n'] ?? 0);
  }

  /** Runs `task` while no write can start (reads inside it see one state of every table and the ledger). */
  exclusive<T>(task: () => Promise<T>): Promise<T> {
    return this.writes.run(task);
  }

  /** What sync knows about a target (JSON, see src/sync/snapshot.ts), or undefined. */
  async syncState(target: string): Promise<string | undefined> {
    const [row] = await this.rows(sql`SELECT state FROM ${SYNC_STATE} WHERE target = ${literal(target)}`);
    return row === undefined ? undefined : String(row['state']);
  }

  /** Records what sync knows about a target, durably. */
  writeSyncState(target: string, state: string): Promise<void> {
    return this.writes.run(async () => {
      await this.engine.writer.query(sql`INSERT OR REPLACE INTO ${SYNC_STATE} VALUES (${literal(target)}, ${literal(state)})`);
      await this.checkpoint('recording the sync state');
    });
  }

  /**
   * Makes the offline store hold a snapshot, in one transaction: group tables not in it dropped, each group's removed
   * commit ranges deleted and its new parts inserted (or the table rebuilt), superseded rows marked again from the
   * upsert commits, the ledger replaced, training dataset tables created or dropped, the commit sequence moved past
   * the snapshot's, and the target's sync state recorded. On any failure nothing changes.
   */
  applySnapshot(plan: SnapshotApplyPlan): Promise<void> {
    return this.writes.run(async () => {
      const w = this.engine.writer;
      const staging = ident(`_larder_snapshot_part_${++this.fileCounter}`);
      const existing = await this.tableNames();
      const [seq] = await this.rows(sql`SELECT nextval('_larder_commit_seq') AS c`, w);
      const ledgerHigh = plan.groups.reduce((high, g) => g.ledger.reduce((h, c) => Math.max(h, c.commitId), high), 0);
      const nextCommit = Math.max(toNumber(seq?.['c'] ?? 1), ledgerHigh + 1);
      const keep = new Set([...plan.groups.map((g) => tableNameOf(g.definition)), ...plan.datasets.map((d) => d.table)]);
      await w.query(sql`BEGIN TRANSACTION`);
      try {
        for (const table of existing) {
          if ((table.startsWith('fg_') || table.startsWith('td_')) && !keep.has(table)) {
            this.erased = true;
            await w.query(sql`DROP TABLE ${ident(table)}`);
          }
        }
        for (const group of plan.groups) {
          const definition = group.definition;
          const table = ident(tableNameOf(definition));
          if (group.rebuild || group.removeRanges.length > 0) this.erased = true;
          if (group.rebuild) await w.query(sql`DROP TABLE IF EXISTS ${table}; CREATE TABLE ${table} (${tableColumns(definition)})`);
          for (const [first, last] of group.removeRanges) {
            await w.query(sql`DELETE FROM ${table} WHERE ${COMMIT} BETWEEN ${literal(first)} AND ${literal(last)}`);
          }
          const columns = join([...definition.features.map((f) => ident(f.name)), COMMIT]);
          for (const part of group.parts) {
            await this.engine.insertArrow(part, { name: `_larder_snapshot_part_${this.fileCounter}`, create: true });
            await w.query(sql`INSERT INTO ${table} (${columns}) SELECT ${columns} FROM ${staging}; DROP TABLE ${staging}`);
          }
          const upserts = group.ledger.filter((c) => c.kind === 'upsert').map((c) => literal(c.commitId));
          if (upserts.length > 0) {
            const match = join([...definition.primaryKey, definition.eventTime].map((k) => sql`u.${ident(k)} = ${table}.${ident(k)}`), ' AND ');
            await w.query(sql`UPDATE ${table} SET ${SUPERSEDED} = (
              SELECT min(u.${COMMIT}) FROM ${table} AS u WHERE u.${COMMIT} IN (${join(upserts)}) AND u.${COMMIT} > ${table}.${COMMIT} AND ${match})`);
          }
        }
        await w.query(sql`DELETE FROM ${LEDGER}`);
        for (const commit of plan.groups.flatMap((g) => g.ledger)) await this.writeLedger(commit);
        for (const dataset of plan.datasets) {
          if (dataset.ipc === null) continue;
          await w.query(sql`DROP TABLE IF EXISTS ${ident(dataset.table)}`);
          await this.engine.insertArrow(dataset.ipc, { name: dataset.table, create: true });
        }
        // The store's content changed: what it knew about other targets no longer holds.
        await w.query(sql`DELETE FROM ${SYNC_STATE}; INSERT INTO ${SYNC_STATE} VALUES (${literal(plan.sync.target)}, ${literal(plan.sync.state)})`);
        await w.query(sql`COMMIT`);
      } catch (error) {
        await w.query(sql`ROLLBACK`).catch(() => undefined); // report the failure that caused the rollback
        throw engineError(error, 'applying a snapshot');
      }
      // Moved after the commit (a crash in between is repaired at the next open, see open()).
      await w.query(sql`CREATE OR REPLACE SEQUENCE ${SEQUENCE} START ${literal(nextCommit)}`).catch((error: unknown) => {
        throw engineError(error, 'moving the commit sequence after a snapshot');
      });
      await this.checkpoint('applying a snapshot');
    });
  }

  close(): Promise<void> {
    return this.writes.run(() => this.engine.close({ emptyLog: this.erased }));
  }
}

/**
 * A table that loses the rows of erased keys along with a group (a training dataset): `columns` are its columns
 * holding the group's primary key, in key order. Its deleted rows are counted by the values of `countBy`; when it
 * loses rows, the rest are copied to a new table `renameTo` (a deleted row's values would stay in the old table's
 * blocks), so anything that identifies rows by table name sees new rows.
 */
export interface ErasureTarget {
  table: string;
  columns: readonly string[];
  countBy: string;
  renameTo: string;
}

/** What deleteRows took from an {@link ErasureTarget}: its table's name now, the rows, and the rows per `countBy` value. */
export interface ErasedRows {
  table: string;
  rows: number;
  byGroup: Map<number | null, number>;
}

/** What {@link DuckDbOfflineStore.applySnapshot} makes the store hold. */
export interface SnapshotApplyPlan {
  /** Every group version the store keeps; the tables of all others are dropped. */
  groups: {
    definition: FeatureGroupDefinition;
    /** The group's whole ledger in the snapshot. */
    ledger: CommitRecord[];
    /** Drop and create the table before inserting (else only `removeRanges` go). */
    rebuild: boolean;
    /** Commit ranges [first, last] whose rows are deleted (parts the snapshot replaced). */
    removeRanges: [number, number][];
    /** Rows to insert (features and commit column), as Arrow IPC streams. */
    parts: Uint8Array[];
  }[];
  /** Every training dataset table the store keeps, with its rows when it must be (re)created. */
  datasets: { table: string; ipc: Uint8Array | null }[];
  /** The target's sync state to record in the same transaction. */
  sync: { target: string; state: string };
}

/** The columns of a group's table: its features, the commit that wrote each row and the one that superseded it. */
function tableColumns(definition: FeatureGroupDefinition): Sql {
  return join([...definition.features.map((f) => sql`${ident(f.name)} ${sqlTypeOf(f.type)}`), sql`${COMMIT} BIGINT NOT NULL`, sql`${SUPERSEDED} BIGINT`]);
}

function nullableNumber(value: unknown): number | null {
  return value === null || value === undefined ? null : toNumber(value);
}

/** A min or max as JSON-safe value; booleans come back from SQL as 'true'/'false' text (see summarySelect). */
function plainScalar(value: unknown, type: FeatureType): number | string | boolean | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return Number(value);
  if (type === 'bool') return value === 'true';
  return value as number | string;
}

function plain(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'object' && value !== null && typeof (value as { toArray?: unknown }).toArray === 'function') {
    return Array.from((value as { toArray(): ArrayLike<unknown> }).toArray());
  }
  return value;
}

function plainRow(row: Row): Record<string, unknown> {
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, plain(v)]));
}

function describeExpectation(result: ExpectationResult): string {
  const e = result.expectation;
  const column = 'column' in e ? ` on '${e.column}'` : '';
  return `${e.kind}${column} (${result.unexpectedCount} unexpected)`;
}
