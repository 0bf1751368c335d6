import type { FeatureGroupDefinition } from '../definitions/feature-group.ts';
import type { Where } from './filters.ts';
import type { CommitKind, CommitRecord, FeatureGroupStatistics } from '../registry/types.ts';

/** A batch as it reaches the store worker. */
export type IngestSource =
  | { format: 'arrow'; ipc: Uint8Array }
  | { format: 'rows'; rows: Record<string, unknown>[] }
  | { format: 'csv' | 'json' | 'parquet'; data: Blob | Uint8Array };

/** Progress of a long operation. */
export interface Progress {
  phase: 'reading' | 'validating' | 'writing' | 'checkpointing' | 'done';
  /** Rows handled so far in this phase, when known. */
  rows?: number;
  /** Total rows, when known. */
  totalRows?: number;
}

export interface IngestRequest {
  mode: 'append' | 'upsert';
  batchId: string | null;
}

/** Options of a read, with instants already converted to epoch milliseconds. */
export interface ReadRequest {
  start: number | null;
  end: number | null;
  where: Where | null;
  columns: string[] | null;
  asOfCommit: number | null;
  /** Only rows written by commits after this one. */
  afterCommit: number | null;
  withCommitIds: boolean;
  limit: number | null;
}

/** The result of a write: the commit, and whether it was already there (a re-sent batchId). */
export interface CommitResult {
  commit: CommitRecord;
  reused: boolean;
  /**
   * Set when the commit is durable but writing it to the online store failed (a full disk, say): the call still
   * succeeds — the commit happened — and the next write or materialization of the group catches the online rows up.
   */
  onlineError?: { name: string; code: string | null; message: string };
  /** Set by a delete: what else the erasure reached. */
  erasure?: ErasureReport;
}

/**
 * What a delete of keys reached beyond its feature group: the training datasets of views reading the group that
 * lost rows of those keys (`rows: null` — the dataset table keeps no column holding the keys, so its rows could not
 * be matched and are not erased: delete the dataset and build it again), and the model versions whose lineage names
 * one of those datasets: trained on data of the erased keys, to be trained again.
 */
export interface ErasureReport {
  datasets: { view: string; viewVersion: number; version: number; rows: number | null }[];
  models: { name: string; version: number; view: string; viewVersion: number; trainingDataset: number }[];
}

/** The offline-store port: tables of feature rows with a commit ledger. */
export interface OfflineStore {
  createTable(definition: FeatureGroupDefinition): Promise<void>;
  dropTable(definition: FeatureGroupDefinition): Promise<void>;
  ingest(
    definition: FeatureGroupDefinition,
    source: IngestSource,
    request: IngestRequest,
    control: OperationControl,
  ): Promise<CommitResult>;
  read(definition: FeatureGroupDefinition, request: ReadRequest): Promise<Uint8Array>;
  deleteRows(definition: FeatureGroupDefinition, keys: IngestSource, control: OperationControl): Promise<CommitResult>;
  ledger(definition?: FeatureGroupDefinition): Promise<CommitRecord[]>;
  latestCommitId(definition: FeatureGroupDefinition): Promise<number>;
  statistics(definition: FeatureGroupDefinition, commitId: number): Promise<FeatureGroupStatistics>;
  tableNames(): Promise<string[]>;
  close(): Promise<void>;
}

/** Progress of `trainingData()`: each phase is reported as it starts. */
export interface TrainingDataProgress {
  phase: 'reading' | 'joining' | 'splitting' | 'transforming' | 'done';
  /** While joining: the feature group being joined (a view's left group comes first). */
  group?: string;
  /** Rows of the spine (from 'joining' on). */
  rows?: number;
}

/** Abort and progress for one operation inside the worker. */
export interface OperationControl<P = Progress> {
  signal: AbortSignal;
  progress(progress: P): void;
}

export type { CommitKind };
