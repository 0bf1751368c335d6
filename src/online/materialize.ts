import type { Table, Vector } from 'apache-arrow';
import type { FeatureGroupDefinition } from '../definitions/feature-group.ts';
import { nameKey } from '../definitions/names.ts';
import { throwIfAborted } from '../errors.ts';
import type { DuckDbOfflineStore } from '../offline/duckdb/offline-store.ts';
import type { OperationControl } from '../offline/types.ts';
import { COMMIT_COLUMN } from '../ingest/conform.ts';
import { microsOf } from '../pipelines/training-data.ts';
import type { EntityKey, OnlineRow, OnlineStore } from './indexeddb.ts';
import { encodeKeyValue } from './keys.ts';

/** Rows per IndexedDB transaction. */
const ROWS_PER_TRANSACTION = 5_000;
/** Incremental materialization reads commits in chunks of about this many rows (a bigger commit is one chunk). */
const ROWS_PER_READ = 20_000;

/** What a materialization did. */
export interface MaterializeResult {
  /** Rows read from the offline store and offered to the online store. */
  rows: number;
  /** Commits covered. */
  commits: number;
  /** The last commit id now fully applied to the online store (unchanged by a window materialization). */
  watermark: number;
  /** Whether the group was rebuilt from its current rows (a delete since the last materialization). */
  rebuilt: boolean;
}

/** What to materialize: every commit after the watermark, or the latest rows in an event-time window. */
export type MaterializeRequest = { kind: 'incremental' } | { kind: 'window'; start: number | null; end: number | null };

/** The online store's name for a group version. */
export function onlineGroupKey(definition: Pick<FeatureGroupDefinition, 'name' | 'version'>): string {
  return `${nameKey(definition.name)}@${definition.version}`;
}

/** A plain, structured-cloneable value (list columns become Float32Array). */
function plainValue(value: unknown): unknown {
  if (value !== null && typeof value === 'object' && typeof (value as { toArray?: unknown }).toArray === 'function' && !ArrayBuffer.isView(value)) {
    // A copy: toArray() may be a view on the whole batch's buffer, which IndexedDB would store in full.
    return (value as { toArray(): Float32Array }).toArray().slice();
  }
  return value;
}

/** Online rows of a table of latest rows (one per entity; feature columns plus the commit column). */
function* onlineRows(definition: FeatureGroupDefinition, table: Table): Generator<OnlineRow[]> {
  const vectors = definition.features.map((f) => table.getChild(f.name)!);
  const keyVectors: [Vector, FeatureGroupDefinition['features'][number]][] = definition.primaryKey.map((k) => [
    table.getChild(k)!,
    definition.features.find((f) => f.name === k)!,
  ]);
  const times = microsOf(table.getChild(definition.eventTime)!);
  const commits = table.getChild(COMMIT_COLUMN)!;
  for (let start = 0; start < table.numRows; start += ROWS_PER_TRANSACTION) {
    const end = Math.min(table.numRows, start + ROWS_PER_TRANSACTION);
    const batch: OnlineRow[] = [];
    for (let i = start; i < end; i++) {
      const key: EntityKey = keyVectors.map(([v, f]) => encodeKeyValue(v.get(i), f.type, f.name));
      const values = vectors.map((v) => plainValue(v.get(i)));
      batch.push({ key, record: { t: times[i]!, c: Number(commits.get(i)), v: values } });
    }
    yield batch;
  }
}

/**
 * Brings a group's online rows up to date from the offline store. Incremental: the commits after the group's
 * watermark, in chunks, each chunk's last commit recorded in the same transaction as its last rows, so a killed tab
 * resumes from the last materialized commit and a repeated chunk changes nothing. A delete since the watermark
 * (its keys are gone from the offline store) rebuilds the group from its current rows instead. Window: the latest
 * row per key with event time in [start, end), applied under the same newer-wins rule; without bounds it is a
 * rebuild. Progress is reported per transaction; an abort stops between transactions.
 */
export async function materialize(
  online: OnlineStore,
  offline: DuckDbOfflineStore,
  definition: FeatureGroupDefinition,
  request: MaterializeRequest,
  control: OperationControl,
): Promise<MaterializeResult> {
  const group = onlineGroupKey(definition);
  const commits = await offline.ledger(definition);
  const latest = commits.at(-1)?.commitId ?? 0;
  const what = `Materializing ${definition.name} v${definition.version}`;
  let done = 0;
  const apply = async (
    table: Table,
    watermark: number | null,
    totalRows: number,
    mode: 'newer' | 'replace' = 'newer',
    onKey: (key: EntityKey) => void = () => undefined,
  ): Promise<void> => {
    // Up to two transactions in flight, and the next batch converted while they run. The one recording the
    // watermark starts only once every earlier one has committed, so a failed batch never leaves it advanced.
    const inFlight: Promise<unknown>[] = [];
    const settle = async (): Promise<void> => {
      await Promise.all(inFlight.splice(0));
    };
    const batches = onlineRows(definition, table);
    let current = batches.next();
    try {
      while (!current.done) {
        throwIfAborted(control.signal, what);
        const batch = current.value;
        for (const row of batch) onKey(row.key);
        const next = batches.next();
        if (next.done === true) {
          await settle();
          await online.apply(group, batch, watermark, mode);
        } else {
          const write = online.apply(group, batch, null, mode);
          write.catch(() => undefined); // observed here; its failure is still thrown where it is awaited
          inFlight.push(write);
          if (inFlight.length >= 2) await inFlight.shift();
        }
        done += batch.length;
        control.progress({ phase: 'writing', rows: done, totalRows });
        current = next;
      }
    } finally {
      await Promise.allSettled(inFlight); // nothing left running (or unobserved) when this returns or throws
    }
    await settle();
    if (table.numRows === 0 && watermark !== null) await online.apply(group, [], watermark);
  };
  const rebuild = async (): Promise<MaterializeResult> => {
    control.progress({ phase: 'reading' });
    const rows = await offline.latestRows(definition, { afterCommit: 0, throughCommit: latest, start: null, end: null });
    const present = new Set<string>();
    await apply(rows, null, rows.numRows, 'replace', (key) => present.add(JSON.stringify(key)));
    // Keys the offline store no longer has (deleted) leave the online store too.
    const stale = (await online.keys(group)).filter((k) => !present.has(JSON.stringify(k)));
    throwIfAborted(control.signal, what);
    await online.delete(group, stale, latest);
    control.progress({ phase: 'done', rows: rows.numRows, totalRows: rows.numRows });
    return { rows: rows.numRows, commits: commits.length, watermark: latest, rebuilt: true };
  };

  if (request.kind === 'window') {
    if (request.start === null && request.end === null) return rebuild();
    control.progress({ phase: 'reading' });
    const rows = await offline.latestRows(definition, { afterCommit: 0, throughCommit: latest, start: request.start, end: request.end });
    await apply(rows, null, rows.numRows);
    control.progress({ phase: 'done', rows: rows.numRows, totalRows: rows.numRows });
    return { rows: rows.numRows, commits: commits.length, watermark: await online.watermark(group), rebuilt: false };
  }

  const watermark = await online.watermark(group);
  const pending = commits.filter((c) => c.commitId > watermark);
  if (pending.some((c) => c.kind === 'delete')) return rebuild();
  const totalRows = pending.reduce((sum, c) => sum + c.rowCount, 0);
  let after = watermark;
  let read = 0;
  while (read < pending.length) {
    // The next chunk: commits up to about ROWS_PER_READ rows (at least one commit).
    let rows = 0;
    let last = read;
    while (last < pending.length && (last === read || rows + pending[last]!.rowCount <= ROWS_PER_READ)) rows += pending[last++]!.rowCount;
    const through = pending[last - 1]!.commitId;
    throwIfAborted(control.signal, what);
    control.progress({ phase: 'reading', rows: done, totalRows });
    await apply(await offline.latestRows(definition, { afterCommit: after, throughCommit: through, start: null, end: null }), through, totalRows);
    after = through;
    read = last;
  }
  control.progress({ phase: 'done', rows: done, totalRows });
  return { rows: done, commits: pending.length, watermark: after, rebuilt: false };
}
