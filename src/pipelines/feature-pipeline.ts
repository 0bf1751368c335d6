import * as Comlink from 'comlink';
import type { Table} from 'apache-arrow';
import { tableFromIPC, tableToIPC } from 'apache-arrow';
import { nameKey } from '../definitions/names.ts';
import { InvalidArgumentError, OperationAbortedError, errorSummary, throwIfAborted } from '../errors.ts';
import type { IngestSource } from '../offline/types.ts';
import type { CommitRecord, GroupRef, PipelineChunk, PipelineRunRecord } from '../registry/types.ts';
import type { BatchRequest } from '../rpc/store-api.ts';
import { isArrowTable, type FeatureStore } from '../feature-store.ts';
import { microBatches } from './streams.ts';

/** A line a pipeline logs: kept in its run record (the last 200) and passed to `onLog`. */
export interface PipelineLogEntry {
  at: number;
  level: 'info' | 'warn' | 'error';
  message: string;
}

/** Progress of a pipeline run: reported at each chunk or micro-batch, and whenever the pipeline calls `ctx.progress`. */
export interface PipelineProgress {
  runId: string;
  /** running: the pipeline's code is working on a chunk; committed / skipped: the chunk is done. */
  phase: 'running' | 'committed' | 'skipped';
  /** The chunk (or micro-batch) index, from 0. */
  chunk: number;
  /** Chunks in the run; null for a stream. */
  chunks: number | null;
  /** Rows committed by the run so far. */
  rowsWritten: number;
  /** What the pipeline reported through `ctx.progress`, if anything. */
  done?: number;
  total?: number;
  message?: string;
}

/** What the pipeline's code writes to a group: rows or an Arrow table. */
export type PipelineRows = Table | readonly Record<string, unknown>[];

/** The logger a pipeline gets. */
export interface PipelineLogger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/**
 * What a pipeline's code receives for each chunk of a run (or each micro-batch of a stream).
 *
 * Writes are staged: everything `write` receives during a chunk is committed when the chunk's code returns, to all
 * the pipeline's outputs in one transaction (one commit per output, empty ones included), or not at all when the
 * code throws or the run is aborted.
 */
export interface PipelineContext<P = Record<string, unknown>> {
  /** The store, for reading groups and views (write through `write`, so that chunks stay atomic). */
  store: FeatureStore;
  params: P;
  mode: PipelineRunRecord['mode'];
  /** This chunk's event-time window: rows with start <= time < end (start null = from the beginning). */
  window: { start: Date | null; end: Date | null };
  chunk: { index: number; count: number | null };
  runId: string;
  log: PipelineLogger;
  signal: AbortSignal;
  /** Reports progress within the chunk (passed to the caller's `onProgress`). */
  progress(report: { done?: number; total?: number; message?: string }): void;
  /**
   * Stages rows for an output group (by name), committed with the chunk. `mode` defaults to `upsert`: a row with the
   * key and event time of a current row replaces it, so recomputing a window never duplicates rows.
   */
  write(group: string, rows: PipelineRows, options?: { mode?: 'append' | 'upsert' }): void;
  /**
   * Rows of an input group committed since the previous successful run (commits in (afterCommit, throughCommit],
   * whatever their event times — late rows included), as of `throughCommit`.
   */
  changes(group: string, options?: { columns?: string[] }): Promise<Table>;
  /** The commit range of each input, by group name. */
  inputs: Record<string, { version: number; afterCommit: number; throughCommit: number }>;
}

/**
 * A feature pipeline's code. `run` handles a window (each chunk of a backfill, an incremental run); `onBatch`
 * handles a micro-batch of stream events. A pipeline has one or both.
 */
export interface FeaturePipeline<P = Record<string, unknown>> {
  run?(ctx: PipelineContext<P>): void | Promise<void>;
  onBatch?(events: unknown[], ctx: PipelineContext<P>): void | Promise<void>;
}

/** What the main thread asks a pipeline worker to do. */
export interface RunRequest {
  /** The store the pipeline works on (its worker is reached through the port sent with the request). */
  store: { name: string; persistent: boolean };
  record: PipelineRunRecord;
  /** Groups written, in commit order (the pipeline's outputs). */
  outputs: GroupRef[];
  /** The chunks' windows (one for an incremental run; none for a stream). */
  windows: { start: number | null; end: number | null }[];
  /** The run whose batch ids this run reuses, so chunks it committed are skipped (the record's id otherwise). */
  batchNamespace: string;
  stream: ReadableStream<unknown> | null;
  microBatch: { maxRows: number; maxWaitMs: number };
}

/** The hooks a pipeline worker reports through. */
export interface RunHooks {
  progress(progress: PipelineProgress): void;
  log(entry: PipelineLogEntry): void;
}

/** What a pipeline worker exposes. */
export interface PipelineWorkerApi {
  /** Answers once the module has loaded and called servePipeline. */
  ready(): boolean;
  execute(request: RunRequest, storePort: MessagePort, hooks: RunHooks): Promise<PipelineRunRecord>;
  abort(reason: string): void;
}

const MAX_LOGS = 200;
/** A stream run keeps its latest chunks and commit ids only (it may run for days). */
const MAX_STREAM_ENTRIES = 200;

/** The batch id of a chunk: the same for the run a resume continues, so a committed chunk is found, not redone. */
export function chunkBatchId(pipeline: string, namespace: string, index: number): string {
  return `pipeline:${nameKey(pipeline)}:${namespace}:${index}`;
}

function checkRows(rows: PipelineRows): void {
  if (!Array.isArray(rows) && !isArrowTable(rows)) throw new InvalidArgumentError('ctx.write takes an array of row objects or an Arrow table.');
}

function toSource(rows: PipelineRows): IngestSource {
  checkRows(rows);
  return Array.isArray(rows) ? { format: 'rows', rows: rows as Record<string, unknown>[] } : { format: 'arrow', ipc: tableToIPC(rows as Table, 'stream') };
}

/** Writes staged during one chunk, per output. */
class StagedWrites {
  private readonly staged = new Map<string, { mode: 'append' | 'upsert'; parts: PipelineRows[] }>();

  constructor(private readonly outputs: readonly GroupRef[]) {}

  add(group: string, rows: PipelineRows, mode: 'append' | 'upsert'): void {
    if (typeof group !== 'string' || !this.outputs.some((o) => nameKey(o.group) === nameKey(group))) {
      throw new InvalidArgumentError(
        `ctx.write: '${String(group)}' is not an output of this pipeline (outputs: ${this.outputs.map((o) => o.group).join(', ')}).`,
      );
    }
    if (mode !== 'append' && mode !== 'upsert') throw new InvalidArgumentError(`ctx.write: mode must be 'append' or 'upsert'.`);
    checkRows(rows); // now, where the pipeline's stack trace points at the call (the rows are converted at commit)
    const key = nameKey(group);
    const entry = this.staged.get(key);
    if (entry !== undefined && entry.mode !== mode) throw new InvalidArgumentError(`ctx.write: '${group}' gets both append and upsert writes in one chunk.`);
    if (entry === undefined) this.staged.set(key, { mode, parts: [rows] });
    else entry.parts.push(rows);
  }

  /** One batch per output (an empty one where nothing was written), with the chunk's batch id. */
  batches(batchId: string): BatchRequest[] {
    return this.outputs.map((output) => {
      const entry = this.staged.get(nameKey(output.group));
      const parts = entry?.parts ?? [];
      let source: IngestSource;
      if (parts.length === 1) source = toSource(parts[0]!);
      else if (parts.every((p) => Array.isArray(p))) source = { format: 'rows', rows: (parts as Record<string, unknown>[][]).flat() };
      else {
        // Tables (and row arrays) of one chunk go as one batch: rows of every part, in write order.
        const rows = parts.flatMap((p) => (Array.isArray(p) ? (p as Record<string, unknown>[]) : (p as Table).toArray().map((r: { toJSON(): Record<string, unknown> }) => r.toJSON())));
        source = { format: 'rows', rows };
      }
      return { name: output.group, version: output.version, source, mode: entry?.mode ?? 'upsert', batchId };
    });
  }

  clear(): void {
    this.staged.clear();
  }
}

/**
 * Runs a pipeline's chunks (or a stream's micro-batches) in this worker: calls the pipeline's code, commits each
 * chunk's writes to all outputs at once, and keeps the run record up to date in the registry after every chunk.
 * Resolves with the final record (succeeded); on failure stores it (failed or aborted) and throws.
 */
export async function executeRun(
  pipeline: FeaturePipeline,
  request: RunRequest,
  store: FeatureStore,
  hooks: RunHooks,
  signal: AbortSignal,
): Promise<PipelineRunRecord> {
  const record: PipelineRunRecord = structuredClone(request.record);
  const api = store.api();
  const outputs = request.outputs;
  const staged = new StagedWrites(outputs);
  let rowsWritten = 0;
  const log = (level: PipelineLogEntry['level'], message: unknown): void => {
    const entry = { at: Date.now(), level, message: String(message) };
    record.logs.push(entry);
    if (record.logs.length > MAX_LOGS) record.logs.splice(0, record.logs.length - MAX_LOGS);
    hooks.log(entry);
  };
  const inputs = Object.fromEntries(record.inputs.map((i) => [nameKey(i.group), i]));
  const contextFor = (index: number, count: number | null, window: { start: number | null; end: number | null }): PipelineContext => ({
    store,
    params: record.params,
    mode: record.mode,
    window: { start: window.start === null ? null : new Date(window.start), end: window.end === null ? null : new Date(window.end) },
    chunk: { index, count },
    runId: record.id,
    log: { info: (m) => log('info', m), warn: (m) => log('warn', m), error: (m) => log('error', m) },
    signal,
    progress: (report) => hooks.progress({ runId: record.id, phase: 'running', chunk: index, chunks: count, rowsWritten, ...report }),
    write: (group, rows, options = {}) => staged.add(group, rows, options.mode ?? 'upsert'),
    changes: async (group, options = {}) => {
      const input = inputs[nameKey(group)];
      if (input === undefined) {
        throw new InvalidArgumentError(`ctx.changes: '${group}' is not an input of this pipeline (inputs: ${record.inputs.map((i) => i.group).join(', ') || 'none'}).`);
      }
      const bytes = await api.read(input.group, input.version, {
        start: null, end: null, where: null, columns: options.columns ?? null, asOfCommit: input.throughCommit, afterCommit: input.afterCommit,
        withCommitIds: false, limit: null,
      });
      return tableFromIPC(bytes);
    },
    inputs: Object.fromEntries(record.inputs.map((i) => [i.group, { version: i.version, afterCommit: i.afterCommit, throughCommit: i.throughCommit }])),
  });

  const account = (chunk: PipelineChunk, commits: readonly CommitRecord[]): void => {
    record.chunks.push(chunk);
    record.chunkCount++;
    commits.forEach((commit, i) => {
      const output = record.outputs[i]!;
      output.rows += commit.rowCount;
      output.commitIds.push(commit.commitId);
      if (commit.validation !== null) output.validation.push(commit.validation);
      if (record.mode === 'stream') {
        output.commitIds.splice(0, Math.max(0, output.commitIds.length - MAX_STREAM_ENTRIES));
        output.validation.splice(0, Math.max(0, output.validation.length - MAX_STREAM_ENTRIES));
      }
    });
    if (record.mode === 'stream') record.chunks.splice(0, Math.max(0, record.chunks.length - MAX_STREAM_ENTRIES));
  };

  /** Runs one chunk's code and commits what it wrote. */
  const runChunk = async (index: number, count: number | null, window: { start: number | null; end: number | null }, code: (ctx: PipelineContext) => unknown): Promise<void> => {
    const batchId = chunkBatchId(record.pipeline, request.batchNamespace, index);
    if (request.batchNamespace !== record.id && outputs.length > 0) {
      const first = outputs[0]!;
      const done = await api.findBatch(first.group, first.version, batchId);
      if (done !== null) {
        // Outputs commit together, so the others have this batch id too.
        const commits = await Promise.all(outputs.map(async (o) => api.findBatch(o.group, o.version, batchId)));
        const found = commits.filter((c): c is CommitRecord => c !== null);
        if (found.length !== outputs.length) {
          throw new InvalidArgumentError(`Chunk ${index} is committed to ${first.group} but not to every output of the run; the outputs changed since.`);
        }
        const rows = found.reduce((sum, c) => sum + c.rowCount, 0);
        account({ index, start: window.start, end: window.end, status: 'skipped', commitIds: found.map((c) => c.commitId), rows }, found);
        hooks.progress({ runId: record.id, phase: 'skipped', chunk: index, chunks: count, rowsWritten });
        return;
      }
    }
    staged.clear();
    throwIfAborted(signal, `Pipeline '${record.pipeline}'`);
    hooks.progress({ runId: record.id, phase: 'running', chunk: index, chunks: count, rowsWritten });
    await code(contextFor(index, count, window));
    throwIfAborted(signal, `Pipeline '${record.pipeline}'`);
    const batches = staged.batches(batchId);
    staged.clear();
    if (batches.length === 0) {
      account({ index, start: window.start, end: window.end, status: 'committed', commitIds: [], rows: 0 }, []);
    } else {
      const results = await store.withOperation(signal, `Pipeline '${record.pipeline}'`, (remote, operationId) =>
        remote.insertBatches(Comlink.transfer(batches, transferables(batches)), operationId, null),
      );
      const rows = results.reduce((sum, r) => sum + r.commit.rowCount, 0);
      rowsWritten += rows;
      for (const result of results) {
        if (result.onlineError !== undefined) {
          log('warn', `${result.commit.group} v${result.commit.version}: commit ${result.commit.commitId} is durable but the online store was not updated ` +
            `(${result.onlineError.name}: ${result.onlineError.message}); the next write or materialization catches it up.`);
        }
      }
      account(
        { index, start: window.start, end: window.end, status: 'committed', commitIds: results.map((r) => r.commit.commitId), rows },
        results.map((r) => r.commit),
      );
    }
    await api.putPipelineRun(record);
    hooks.progress({ runId: record.id, phase: 'committed', chunk: index, chunks: count, rowsWritten });
  };

  try {
    if (request.stream !== null) {
      const onBatch = pipeline.onBatch?.bind(pipeline);
      if (onBatch === undefined) throw new InvalidArgumentError(`Pipeline '${record.pipeline}' has no onBatch, so it cannot consume a stream.`);
      let index = 0;
      for await (const events of microBatches(request.stream, { ...request.microBatch, signal })) {
        await runChunk(index++, null, { start: null, end: null }, (ctx) => onBatch(events, ctx));
      }
    } else {
      const run = pipeline.run?.bind(pipeline);
      if (run === undefined) throw new InvalidArgumentError(`Pipeline '${record.pipeline}' has no run function, so it cannot run over a window.`);
      for (const [index, window] of request.windows.entries()) {
        await runChunk(index, request.windows.length, window, run);
      }
    }
    record.status = 'succeeded';
  } catch (error) {
    record.status = error instanceof OperationAbortedError || signal.aborted ? 'aborted' : 'failed';
    record.error = errorSummary(signal.aborted && !(error instanceof OperationAbortedError) ? new OperationAbortedError(`Pipeline '${record.pipeline}' was aborted.`) : error);
    if (record.status === 'failed') log('error', `${record.error.name}: ${record.error.message}`);
    await finish(record, api);
    throw error;
  }
  await finish(record, api);
  return record;
}

async function finish(record: PipelineRunRecord, api: ReturnType<FeatureStore['api']>): Promise<void> {
  record.endedAt = Date.now();
  record.durationMs = record.endedAt - record.startedAt;
  await api.putPipelineRun(record);
}

function transferables(batches: readonly BatchRequest[]): Transferable[] {
  return batches.flatMap((b) => (b.source.format === 'arrow' ? [b.source.ipc.buffer] : []));
}
