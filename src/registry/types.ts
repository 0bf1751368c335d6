import { nameKey } from '../definitions/names.ts';
import type { FeatureGroupDefinition } from '../definitions/feature-group.ts';
import type { ValidationReport } from '../definitions/expectations.ts';
import type { FeatureViewDefinition } from '../definitions/feature-view.ts';
import type { FittedTransforms } from '../transforms/model-dependent.ts';
import type { OnDemandReference } from '../transforms/on-demand.ts';

/** What a commit did. */
export type CommitKind = 'append' | 'upsert' | 'delete';

/** One entry of a feature group's commit ledger. */
export interface CommitRecord {
  /** Monotonic across the whole store. */
  commitId: number;
  group: string;
  version: number;
  kind: CommitKind;
  /** When the commit became durable, epoch milliseconds. */
  committedAt: number;
  /** Rows written (append, upsert) or removed (delete). */
  rowCount: number;
  batchId: string | null;
  /** The expectation suite's report, when the group has one. */
  validation: ValidationReport | null;
}

/** Statistics of one column. Instants (timestamp, date) are epoch milliseconds. */
export interface ColumnStatistics {
  type: string;
  /** Non-null values. */
  count: number;
  nulls: number;
  distinct: number;
  min: number | string | boolean | null;
  max: number | string | boolean | null;
  mean: number | null;
  std: number | null;
  /** 5th, 25th, 50th, 75th and 95th percentiles (continuous). */
  quantiles: { p05: number; p25: number; p50: number; p75: number; p95: number } | null;
  /** Equal-width bins from min to max: `edges` has one more entry than `counts`. */
  histogram: { edges: number[]; counts: number[] } | null;
}

/** Statistics of a feature group's current rows as of one commit. */
export interface FeatureGroupStatistics {
  group: string;
  version: number;
  commitId: number;
  computedAt: number;
  rowCount: number;
  columns: Record<string, ColumnStatistics>;
}

/** How training rows were split. Instants are epoch milliseconds. */
export type SplitSpec =
  | { kind: 'random'; test: number; validation?: number; seed: number }
  | { kind: 'time'; trainEnd: number; testStart: number; validationStart?: number };

/** A persisted training dataset version of a feature view. */
export interface TrainingDatasetRecord {
  view: string;
  viewVersion: number;
  version: number;
  createdAt: number;
  /** The retrieval parameters: event-time range of the spine (ms), asOfKnown, where the spine came from, the split. */
  params: { start: number | null; end: number | null; asOfKnown: boolean; spine: 'left-group' | 'explicit'; split: SplitSpec };
  rowCounts: { train: number; test: number; validation: number };
  /** The model-dependent transformations fitted on the train split, or null when the view has none. */
  transforms: FittedTransforms | null;
  /** The offline table holding the rows (with a `_larder_split` column). */
  table: string;
  /** The on-demand functions the rows were computed with. */
  onDemand: OnDemandReference[];
  /** Per-column statistics of the train split (before transformations), computed by DuckDB. */
  statistics: { rowCount: number; columns: Record<string, ColumnStatistics> };
}

/** A training dataset as known the moment its rows are returned: everything but the statistics, computed as it is persisted. */
export type TrainingDatasetInfo = Omit<TrainingDatasetRecord, 'statistics'>;

/** Where a training run stands. */
export type RunStatus = 'running' | 'finished' | 'failed' | 'aborted';

/** One training run, as an experiment tracker records it. */
export interface RunRecord {
  /** A random UUID. */
  id: string;
  /** The model name the run trains. */
  model: string;
  status: RunStatus;
  startedAt: number;
  endedAt: number | null;
  params: Record<string, unknown>;
  tags: Record<string, string>;
  /** Per-step metric series, e.g. `{ loss: [{ step: 0, value: 0.9 }, …] }`. */
  series: Record<string, { step: number; value: number }[]>;
  /** Final metrics (on the test split). */
  metrics: Record<string, number | null>;
  /** The whole evaluation on the test split (for classifiers also the confusion matrix and its labels). */
  evaluation: unknown;
  /** Milliseconds from the train call to the first batch and of fitting, and training samples per second. */
  timings: { toFirstBatchMs: number | null; fitMs: number | null; samplesPerSecond: number | null };
  environment: { backend: string | null; userAgent: string };
  featureView: { name: string; version: number } | null;
  trainingDataset: number | null;
  /** Gate results, when the run had gates. */
  gates: { passed: boolean; results: { passed: boolean; reason: string }[] } | null;
  /** The model version the run registered, if any. */
  modelVersion: number | null;
  error: { name: string; code: string | null; message: string } | null;
}

/** A registered model version: immutable once written. */
export interface ModelVersionRecord {
  name: string;
  version: number;
  createdAt: number;
  runId: string | null;
  description: string;
  tags: Record<string, string>;
  /** Input features in the order the model reads them, and the output. */
  signature: { inputs: { name: string; type: string }[]; output: { name: string; task: string; classes: number } };
  metrics: Record<string, number | null>;
  /** The feature view version and training dataset it learned from, with their fitted transformations. */
  lineage: { featureView: string; featureViewVersion: number; trainingDataset: number | null; transforms: FittedTransforms | null } | null;
  /** The model spec it was built from (when trained by Larder). */
  spec: unknown;
  /** The tfjs topology and weight manifest; the weight bytes are stored in chunks beside the record. */
  artifact: { modelTopology: unknown; weightSpecs: { name: string; shape: number[]; dtype: string }[]; bytes: number; chunks: number; sha256: string };
}

/** A mutable pointer to a model version. */
export interface AliasRecord {
  name: string;
  alias: string;
  version: number;
  updatedAt: number;
}

/** One move of an alias, kept forever (append-only). */
export interface AliasChange {
  name: string;
  alias: string;
  at: number;
  from: number | null;
  to: number | null;
  reason: string;
  /** The feature view version the `to` model version reads (its lineage): model and view switch together. */
  featureView?: { name: string; version: number } | null;
  /** What moved it: a promotion, a rollback, or a plain `setAlias` (absent in records older than deployments). */
  kind?: AliasMoveKind;
}

/** How an alias was moved. */
export type AliasMoveKind = 'promote' | 'rollback' | 'set';

/** A feature group version a pipeline reads or writes. */
export interface GroupRef {
  group: string;
  version: number;
}

/** When a registered pipeline runs by itself while the app is open. */
export interface PipelineSchedule {
  /** Milliseconds between runs. */
  everyMs: number;
  /** Also run when the browser comes back online (default true). */
  onOnline: boolean;
  /** The mode of scheduled runs (default 'incremental'). */
  mode: 'window' | 'incremental';
  /** Parameters of scheduled runs. */
  params: Record<string, unknown>;
}

/** A registered feature pipeline: what it reads and writes and when it runs (its code lives in its worker module). */
export interface PipelineDefinition {
  name: string;
  /** Groups whose new commits incremental runs receive (`ctx.changes`). */
  inputs: GroupRef[];
  /** Groups the pipeline writes; each chunk or micro-batch commits to all of them at once. */
  outputs: GroupRef[];
  /** Backfill chunk length in milliseconds, or null for one chunk per run. */
  chunkMs: number | null;
  schedule: PipelineSchedule | null;
  createdAt: number;
  updatedAt: number;
}

/** Where a pipeline run stands. */
export type PipelineRunStatus = 'running' | 'succeeded' | 'failed' | 'aborted';

/** A chunk of a windowed run (or a micro-batch of a stream run) and the commits it made. */
export interface PipelineChunk {
  index: number;
  /** The chunk's window (epoch ms; null start = from the beginning). Null for micro-batches. */
  start: number | null;
  end: number | null;
  /** committed: written by this run; skipped: committed earlier by the run this one resumes. */
  status: 'committed' | 'skipped';
  /** One commit per output, in output order. */
  commitIds: number[];
  rows: number;
}

/** One run of a feature pipeline. */
export interface PipelineRunRecord {
  /** A random UUID. */
  id: string;
  pipeline: string;
  status: PipelineRunStatus;
  mode: 'window' | 'incremental' | 'stream';
  /** What started it. */
  trigger: 'manual' | 'schedule' | 'online' | 'service-worker' | 'resume';
  /** The event-time window (epoch ms; start null = from the beginning). Null for stream runs. */
  window: { start: number | null; end: number | null } | null;
  /** The chunk length the window was cut into (ms), or null for one chunk. */
  chunkMs: number | null;
  params: Record<string, unknown>;
  /** Commit ranges of the inputs this run received: commits in (afterCommit, throughCommit]. */
  inputs: (GroupRef & { afterCommit: number; throughCommit: number })[];
  /**
   * Rows per output group over the run's chunks (a resumed run's skipped chunks count with the commits found), with
   * their commit ids (a stream run keeps the latest 200) and validation reports.
   */
  outputs: (GroupRef & { rows: number; commitIds: number[]; validation: ValidationReport[] })[];
  /** The chunks handled (committed or skipped); a stream run keeps the latest 200 (`chunkCount` counts them all). */
  chunks: PipelineChunk[];
  chunkCount: number;
  /** The run whose committed chunks this one skipped (see `resume`), or null. */
  resumeOf: string | null;
  /** The last log lines of the run (at most 200). */
  logs: { at: number; level: 'info' | 'warn' | 'error'; message: string }[];
  startedAt: number;
  endedAt: number | null;
  durationMs: number | null;
  error: { name: string; code: string | null; message: string } | null;
}

/** Every record of a registry as plain data (a snapshot's metadata); model weights travel separately. */
export interface RegistryDump {
  featureGroups: FeatureGroupDefinition[];
  commits: CommitRecord[];
  statistics: FeatureGroupStatistics[];
  featureViews: FeatureViewDefinition[];
  trainingDatasets: TrainingDatasetRecord[];
  runs: RunRecord[];
  models: ModelVersionRecord[];
  /** The highest version ever registered per model name (versions are never reused, even after a delete). */
  modelNames: { name: string; lastVersion: number }[];
  aliases: AliasRecord[];
  /** Oldest first. */
  aliasHistory: AliasChange[];
  pipelines: PipelineDefinition[];
  pipelineRuns: PipelineRunRecord[];
}

/** The key of a model version's weights in {@link Registry.restore}. */
export function weightsKey(name: string, version: number): string {
  return `${nameKey(name)}\u0000${version}`;
}

/**
 * The registry port: definitions, commit ledger mirror and statistics. Implemented on IndexedDB for
 * persistent stores and in memory for `persist: false`; both pass the same contract suite.
 */
export interface Registry {
  putFeatureGroup(definition: FeatureGroupDefinition): Promise<void>;
  getFeatureGroup(name: string, version?: number): Promise<FeatureGroupDefinition | undefined>;
  listFeatureGroups(): Promise<FeatureGroupDefinition[]>;
  /** Removes the definition, its commits and its statistics in one transaction. */
  deleteFeatureGroup(name: string, version: number): Promise<void>;
  putCommits(commits: readonly CommitRecord[]): Promise<void>;
  listCommits(name: string, version: number): Promise<CommitRecord[]>;
  putStatistics(statistics: FeatureGroupStatistics): Promise<void>;
  getStatistics(name: string, version: number, commitId: number): Promise<FeatureGroupStatistics | undefined>;
  putFeatureView(definition: FeatureViewDefinition): Promise<void>;
  getFeatureView(name: string, version?: number): Promise<FeatureViewDefinition | undefined>;
  listFeatureViews(): Promise<FeatureViewDefinition[]>;
  /** Removes the view version and its training dataset records. */
  deleteFeatureView(name: string, version: number): Promise<void>;
  putTrainingDataset(record: TrainingDatasetRecord): Promise<void>;
  listTrainingDatasets(view: string, viewVersion: number): Promise<TrainingDatasetRecord[]>;
  putRun(run: RunRecord): Promise<void>;
  getRun(id: string): Promise<RunRecord | undefined>;
  /** Runs, oldest first; of one model when given. */
  listRuns(model?: string): Promise<RunRecord[]>;
  /**
   * Registers the next version of a model: record and weight chunks in one strictly durable transaction, the
   * version one above the highest ever registered under the name. Returns the stored record.
   */
  registerModel(record: Omit<ModelVersionRecord, 'version' | 'artifact'> & { artifact: Omit<ModelVersionRecord['artifact'], 'chunks' | 'bytes'> }, weightData: ArrayBuffer): Promise<ModelVersionRecord>;
  getModel(name: string, version?: number): Promise<ModelVersionRecord | undefined>;
  /** Model versions, by name then version; of one model when given. */
  listModels(name?: string): Promise<ModelVersionRecord[]>;
  /** The weight bytes of a version, reassembled from its chunks. */
  readWeights(name: string, version: number): Promise<ArrayBuffer>;
  /** Deletes a version and its chunks; refused (InvalidArgumentError) while an alias points at it. */
  deleteModel(name: string, version: number): Promise<void>;
  /** Points an alias at a version (null: removes it) and appends the change to the history, strictly durably. */
  setAlias(name: string, alias: string, version: number | null, reason: string, kind?: AliasMoveKind): Promise<AliasChange>;
  getAlias(name: string, alias: string): Promise<AliasRecord | undefined>;
  listAliases(name: string): Promise<AliasRecord[]>;
  /** Every move of a model's aliases, oldest first. */
  aliasHistory(name: string): Promise<AliasChange[]>;
  putPipeline(definition: PipelineDefinition): Promise<void>;
  getPipeline(name: string): Promise<PipelineDefinition | undefined>;
  listPipelines(): Promise<PipelineDefinition[]>;
  putPipelineRun(run: PipelineRunRecord): Promise<void>;
  getPipelineRun(id: string): Promise<PipelineRunRecord | undefined>;
  /** Runs, oldest first; of one pipeline when given. */
  listPipelineRuns(pipeline?: string): Promise<PipelineRunRecord[]>;
  /** Every record (weights excluded: see readWeights), in key order. */
  dump(): Promise<RegistryDump>;
  /**
   * Replaces every record with the dump's, and every model's weights with `weights` (by {@link weightsKey}), in one
   * strictly durable transaction: after a crash the registry holds either the old records or the new ones.
   */
  restore(dump: RegistryDump, weights: ReadonlyMap<string, ArrayBuffer>): Promise<void>;
  close(): void;
}
