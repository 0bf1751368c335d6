import type { FeatureGroupDefinition, FeatureGroupSpec } from '../definitions/feature-group.ts';
import type { DuckDbAssets } from '../offline/duckdb/engine.ts';
import type { CommitResult, IngestRequest, IngestSource, Progress, ReadRequest } from '../offline/types.ts';
import type { CommitRecord, FeatureGroupStatistics } from '../registry/types.ts';

export interface OpenRequest {
  name: string;
  persist: boolean;
  assets: DuckDbAssets | null;
}

/** What the store worker exposes (through comlink). Every method may throw a LarderError, rebuilt on the caller's side. */
export interface StoreWorkerApi {
  open(request: OpenRequest): Promise<void>;
  createFeatureGroup(spec: FeatureGroupSpec): Promise<FeatureGroupDefinition>;
  getFeatureGroup(name: string, version?: number): Promise<FeatureGroupDefinition>;
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
  read(name: string, version: number, request: ReadRequest): Promise<Uint8Array>;
  commits(name: string, version: number): Promise<CommitRecord[]>;
  statistics(name: string, version: number, commitId: number | null): Promise<FeatureGroupStatistics>;
  deleteRows(name: string, version: number, keys: IngestSource, operationId: number): Promise<CommitResult>;
  abort(operationId: number, reason: string): void;
  close(): Promise<void>;
}
