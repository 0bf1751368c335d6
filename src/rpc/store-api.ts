import type { FeatureGroupDefinition, FeatureGroupSpec } from '../definitions/feature-group.ts';
import type { DuckDbAssets } from '../offline/duckdb/engine.ts';
import type { MaterializeRequest, MaterializeResult } from '../online/materialize.ts';
import type { CommitResult, IngestRequest, IngestSource, Progress, ReadRequest, TrainingDataProgress } from '../offline/types.ts';
import type {
  AliasChange, CommitRecord, FeatureGroupStatistics, Registry, TrainingDatasetInfo, TrainingDatasetRecord,
} from '../registry/types.ts';
import type { FeatureViewDefinition, FeatureViewSpec } from '../definitions/feature-view.ts';
import type { Manifest } from '../sync/manifest.ts';
import type { ManifestDraft, NewObject, SnapshotInclude, SnapshotToApply } from '../sync/snapshot.ts';

/** Options of a training-data request, with instants as epoch milliseconds. */
export interface TrainingDataRequest {
  spine: IngestSource | null;
  start: number | null;
  end: number | null;
  asOfKnown: boolean;
  split: unknown;
}

/** Training rows as Arrow IPC (transferred), with the dataset's record (its statistics may still be being computed). */
export interface TrainingDataResult<D extends TrainingDatasetInfo = TrainingDatasetInfo> {
  dataset: D;
  train: Uint8Array;
  test: Uint8Array;
  validation: Uint8Array | null;
}

export interface OpenRequest {
  name: string;
  persist: boolean;
  assets: DuckDbAssets | null;
}

/** What the store worker exposes (through comlink). Every method may throw a LarderError, rebuilt on the caller's side. */
/** Experiment tracking and the model registry, served as the registry has them (weights are transferred). */
type RegistryModelApi = Pick<
  Registry,
  | 'putRun' | 'getRun' | 'listRuns' | 'registerModel' | 'getModel' | 'listModels' | 'readWeights' | 'deleteModel' | 'setAlias' | 'getAlias'
  | 'listAliases' | 'aliasHistory' | 'putPipeline' | 'getPipeline' | 'listPipelines' | 'putPipelineRun' | 'getPipelineRun' | 'listPipelineRuns'
>;

/** One batch of {@link StoreWorkerApi.insertBatches}. */
export interface BatchRequest extends IngestRequest {
  name: string;
  version: number;
  source: IngestSource;
}

/** Where the store stands with one sync target. */
export interface SyncStatus {
  /** The snapshot last pushed to or pulled from the target; `complete` is false after a pull that was cut short. */
  base: { key: string; manifest: Manifest; complete: boolean } | null;
  /** A push whose HEAD move may or may not have happened (its answer was lost, or its tab closed). */
  pending: { key: string; manifest: Manifest } | null;
  /** Whether the store changed since the base (or, without a base, whether it holds anything): a pull would drop it. */
  localChanges: boolean;
  /** No feature group, view, model, run or pipeline. */
  empty: boolean;
  /** @internal The SHA-256 of the store's records as a snapshot with the `include` asked for would hold them. */
  metadataSha: string;
}

export interface StoreWorkerApi extends RegistryModelApi {
  syncStatus(target: string, include: Manifest['include']): Promise<SyncStatus>;
  /** The objects and manifest draft of a snapshot (only objects the parent does not hold), and the store's fingerprint. */
  syncExport(request: { store: string; include: SnapshotInclude | null; parent: Manifest | null }): Promise<{ draft: ManifestDraft; objects: NewObject[]; localSha: string }>;
  /** Records a push about to move HEAD (`pending`), or a manifest as the target's base (a null fingerprint: now's). */
  syncRecord(target: string, key: string, manifest: Manifest, localSha: string | null, pending: boolean): Promise<void>;
  syncPendingPush(target: string): Promise<{ key: string; manifest: Manifest; localSha: string } | null>;
  /** The keys of the objects a pull of `manifest` must download, given the base the store holds. */
  syncNeeds(base: Manifest | null, manifest: Manifest, metadata: Uint8Array): Promise<string[]>;
  /** Applies a verified snapshot, rebuilds the online rows and announces the aliases. */
  syncApply(snapshot: SnapshotToApply): Promise<void>;
  open(request: OpenRequest): Promise<void>;
  /** Loads and compiles DuckDB-WASM ahead of `open`, while the caller waits for another tab to let go of the store. */
  prepare(assets: DuckDbAssets | null): Promise<void>;
  createFeatureGroup(spec: FeatureGroupSpec): Promise<FeatureGroupDefinition>;
  getFeatureGroup(name: string, version?: number): Promise<FeatureGroupDefinition>;
  /** The name of the store's online IndexedDB database (readers open it on their own thread). */
  onlineDbName(): string;
  materialize(
    name: string,
    version: number,
    request: MaterializeRequest,
    operationId: number,
    onProgress: ((progress: Progress) => void) | null,
  ): Promise<MaterializeResult>;
  listFeatureGroups(): Promise<FeatureGroupDefinition[]>;
  deleteFeatureGroup(name: string, version: number): Promise<void>;
  insert(
    name: string,
    version: number,
    source: IngestSource,
    request: IngestRequest,
    operationId: number,
    onProgress: ((progress: Progress) => void) | null,
  ): Promise<CommitResult>;
  /** Writes batches to several groups as one transaction: all commit or none does. */
  insertBatches(batches: readonly BatchRequest[], operationId: number, onProgress: ((progress: Progress) => void) | null): Promise<CommitResult[]>;
  /** The commit a batch id made, or null. */
  findBatch(name: string, version: number, batchId: string): Promise<CommitRecord | null>;
  /** The group's latest commit id (0 when it has none). */
  latestCommitId(name: string, version: number): Promise<number>;
  /** Moves an alias back to the version before its latest promotion, reading the history and moving as one step. */
  rollbackAlias(name: string, alias: string, reason: string): Promise<AliasChange>;
  /** Serves the store on another port as well (for pipeline workers). */
  connect(port: MessagePort): void;
  read(name: string, version: number, request: ReadRequest): Promise<Uint8Array>;
  commits(name: string, version: number): Promise<CommitRecord[]>;
  statistics(name: string, version: number, commitId: number | null): Promise<FeatureGroupStatistics>;
  deleteRows(name: string, version: number, keys: IngestSource, operationId: number): Promise<CommitResult>;
  createFeatureView(spec: FeatureViewSpec): Promise<FeatureViewDefinition>;
  getFeatureView(name: string, version?: number): Promise<FeatureViewDefinition>;
  listFeatureViews(): Promise<FeatureViewDefinition[]>;
  deleteFeatureView(name: string, version: number): Promise<void>;
  trainingData(
    name: string,
    version: number,
    request: TrainingDataRequest,
    operationId: number,
    onProgress: ((progress: TrainingDataProgress) => void) | null,
  ): Promise<TrainingDataResult>;
  getTrainingDataset(name: string, version: number, datasetVersion: number): Promise<TrainingDataResult<TrainingDatasetRecord>>;
  listTrainingDatasets(name: string, version: number): Promise<TrainingDatasetRecord[]>;
  /** The record of a training dataset once it is persisted (waits for a background write in progress). */
  trainingDatasetRecord(name: string, version: number, datasetVersion: number): Promise<TrainingDatasetRecord>;
  batchData(name: string, version: number, request: { start: number | null; end: number; datasetVersion: number | null }): Promise<Uint8Array>;
  abort(operationId: number, reason: string): void;
  close(): Promise<void>;
}
