/**
 * Larder: a feature store and the ML pipelines around it, running entirely in the browser.
 * @packageDocumentation
 */
export { openFeatureStore, FeatureStore, FeatureGroup, FeatureView } from './feature-store.ts';
export { deleteFeatureStore } from './service/delete-store.ts';
export type { TrainingData, TrainingDataOptions } from './feature-store.ts';
export { Query, type QuerySpec, type FeatureViewSpec, type FeatureViewDefinition, type ViewFeature } from './definitions/feature-view.ts';
export type { TransformSpec, FittedTransforms } from './transforms/model-dependent.ts';
export type { OpenFeatureStoreOptions, InsertData, InsertOptions, InsertResult, ReadOptions, FileFormat } from './feature-store.ts';
export type { FeatureGroupSpec, FeatureGroupDefinition, FeatureSpec, Feature } from './definitions/feature-group.ts';
export { FEATURE_TYPES, type FeatureType } from './definitions/types.ts';
export { expect } from './definitions/expectations.ts';
export type { Expectation, ExpectationSuite, ExpectationResult, ValidationReport } from './definitions/expectations.ts';
export type { Where, ColumnFilter, FilterValue, Instant } from './offline/filters.ts';
export type { ErasureReport, Progress, TrainingDataProgress } from './offline/types.ts';
export type { DuckDbAssets } from './offline/duckdb/engine.ts';
export type { CommitRecord, CommitKind, FeatureGroupStatistics, ColumnStatistics, TrainingDatasetRecord, TrainingDatasetInfo, SplitSpec } from './registry/types.ts';
export {
  LarderError, InvalidArgumentError, InvalidNameError, NotFoundError, SchemaConflictError, ValidationError,
  ExpectationFailedError, ParseError, StoreLockedError, StoreClosedError, OperationAbortedError, QuotaExceededError,
  StorageError, TransformationMismatchError, ModelArtifactError, StreamOverflowError, PipelineRunError, DeploymentRefusedError,
  ObjectStoreError, SyncAuthError, SyncConflictError, UnsafeTargetError, SnapshotIntegrityError,
} from './errors.ts';
export { defineOnDemand, type OnDemandFeature, type OnDemandInputs, type OnDemandReference } from './transforms/on-demand.ts';
export type { ErrorCode, ValidationProblem } from './errors.ts';
export type { FeatureVector, FeatureStatus, OnlineRow } from './online/reader.ts';
export type { MaterializeResult } from './online/materialize.ts';
export type { FeatureVectorOptions } from './online/view-reader.ts';
export { openOnlineReader, OnlineReader, type OnlineReaderOptions, type OnlineFeatureView, type OnlineFeatureGroup } from './online/open-reader.ts';
export { ModelRegistry, Runs, type LoadedModel, type ModelRef } from './models/model-registry.ts';
export type { TrainOptions, TrainOutcome } from './pipelines/train.ts';
export type { ModelSpec, DenseLayerSpec, Activation } from './models/spec.ts';
export type { BackendName } from './models/backend.ts';
export type { Gate, GateReport, GateResult } from './models/gates.ts';
export type { TrainProgress, FitOptions } from './service/train-service.ts';
export type { RunRecord, RunStatus, ModelVersionRecord, AliasRecord, AliasChange } from './registry/types.ts';
export { Pipelines, chunkWindows, type RegisterPipelineOptions, type RunPipelineOptions, type StreamPipelineOptions, type PipelineModule } from './pipelines/pipelines.ts';
export { registerPeriodicSync, PIPELINE_SYNC_TAG } from './pipelines/background-sync.ts';
export type { StreamSource } from './pipelines/streams.ts';
export type {
  FeaturePipeline, PipelineContext, PipelineLogger, PipelineRows, PipelineProgress, PipelineLogEntry,
} from './pipelines/feature-pipeline.ts';
export type { PipelineDefinition, PipelineRunRecord, PipelineRunStatus, PipelineChunk, PipelineSchedule, GroupRef } from './registry/types.ts';
export { Deployment, type ArmState, type DeploymentOptions, type PredictOptions, type Prediction } from './pipelines/deployment.ts';
export type { BatchPredictOptions, BatchPredictResult } from './pipelines/batch-inference.ts';
export type { CompareOptions, DeploymentComparison, ArmComparison, DriftReport, FeatureDrift } from './pipelines/monitoring.ts';
export { psi, ksStatistic } from './models/drift.ts';
export { Sync, type SyncTarget, type SyncProgress, type PushOptions, type PushResult, type PullOptions, type PullResult, type PurgeOptions, type PurgeResult } from './sync/sync.ts';
export { MemoryObjectStore, type ObjectStore, type ObjectInfo, type PutOptions, type RequestOptions } from './sync/object-store.ts';
export type { RetryOptions } from './sync/retry.ts';
export type { SnapshotInclude } from './sync/snapshot.ts';
export type { Manifest, Head, PartEntry, GroupEntry, DatasetEntry, ModelEntry, ObjectEntry } from './sync/manifest.ts';
export type { SyncStatus } from './rpc/store-api.ts';
export {
  S3ObjectStore, PresignedObjectStore, HttpObjectStore,
  type S3ObjectStoreOptions, type PresignedObjectStoreOptions, type PresignRequest, type PresignedRequest, type HttpObjectStoreOptions,
} from './sync/http-object-store.ts';
