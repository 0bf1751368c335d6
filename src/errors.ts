/**
 * Every error Larder throws is a {@link LarderError}: a stable `code` to branch on, `details` with the context a
 * program needs (columns, rows, names), and the underlying `cause`. Errors keep their class and code across the
 * worker boundary (see src/rpc/transfer.ts).
 *
 * @example
 * ```ts
 * try {
 *   await weather.insert(rows);
 * } catch (error) {
 *   if (error instanceof ValidationError) console.table(error.details.problems);
 *   else throw error;
 * }
 * ```
 */

/** Stable error codes. New codes may be added; existing ones never change meaning. */
export type ErrorCode =
  | 'INVALID_ARGUMENT'
  | 'INVALID_NAME'
  | 'NOT_FOUND'
  | 'SCHEMA_CONFLICT'
  | 'VALIDATION_FAILED'
  | 'EXPECTATION_FAILED'
  | 'PARSE_FAILED'
  | 'STORE_LOCKED'
  | 'STORE_CLOSED'
  | 'ABORTED'
  | 'QUOTA_EXCEEDED'
  | 'STORAGE_FAILED'
  | 'TRANSFORMATION_MISMATCH'
  | 'MODEL_ARTIFACT_INVALID'
  | 'STREAM_OVERFLOW'
  | 'PIPELINE_FAILED'
  | 'DEPLOYMENT_REFUSED'
  | 'OBJECT_STORE_FAILED'
  | 'SYNC_AUTH_FAILED'
  | 'SYNC_CONFLICT'
  | 'SYNC_UNSAFE_TARGET'
  | 'SNAPSHOT_INTEGRITY';

export interface LarderErrorOptions {
  details?: Record<string, unknown>;
  cause?: unknown;
}

/** Base class of every error Larder throws. */
export class LarderError extends Error {
  override name = 'LarderError';
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: LarderErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details ?? {};
  }
}

/** An argument has the wrong shape or value (a missing option, a negative version, an unknown type). */
export class InvalidArgumentError extends LarderError {
  override name = 'InvalidArgumentError';
  constructor(message: string, options?: LarderErrorOptions) {
    super('INVALID_ARGUMENT', message, options);
  }
}

/** A name (store, feature group, feature, key) breaks the naming rules. */
export class InvalidNameError extends LarderError {
  override name = 'InvalidNameError';
  constructor(message: string, options?: LarderErrorOptions) {
    super('INVALID_NAME', message, options);
  }
}

/** A feature group, version or commit does not exist. */
export class NotFoundError extends LarderError {
  override name = 'NotFoundError';
  constructor(message: string, options?: LarderErrorOptions) {
    super('NOT_FOUND', message, options);
  }
}

/** A definition differs from the one already stored under the same name and version. */
export class SchemaConflictError extends LarderError {
  override name = 'SchemaConflictError';
  constructor(message: string, options?: LarderErrorOptions) {
    super('SCHEMA_CONFLICT', message, options);
  }
}

/** One problem found while checking a batch against its feature group's schema. */
export interface ValidationProblem {
  column: string;
  kind:
    | 'missing_column'
    | 'unknown_column'
    | 'wrong_type'
    | 'null_key'
    | 'null_value'
    | 'unparseable_timestamp'
    | 'nan'
    | 'out_of_range'
    | 'duplicate_key';
  /** Zero-based row numbers of the first offending rows (at most 10). */
  rows: number[];
  /** How many rows have this problem. */
  count: number;
  message: string;
}

/** A batch does not match its feature group's schema; nothing was written. */
export class ValidationError extends LarderError {
  override name = 'ValidationError';
  declare readonly details: { problems: ValidationProblem[] } & Record<string, unknown>;
  constructor(message: string, options: LarderErrorOptions & { details: { problems: ValidationProblem[] } }) {
    super('VALIDATION_FAILED', message, options);
  }
}

/** A batch broke a `strict` expectation suite; nothing was written. `details.report` is the validation report. */
export class ExpectationFailedError extends LarderError {
  override name = 'ExpectationFailedError';
  constructor(message: string, options?: LarderErrorOptions) {
    super('EXPECTATION_FAILED', message, options);
  }
}

/** A file (CSV, JSON, Parquet) could not be parsed at all. */
export class ParseError extends LarderError {
  override name = 'ParseError';
  constructor(message: string, options?: LarderErrorOptions) {
    super('PARSE_FAILED', message, options);
  }
}

/** The store is open in another tab, worker or `openFeatureStore` call. */
export class StoreLockedError extends LarderError {
  override name = 'StoreLockedError';
  constructor(message: string, options?: LarderErrorOptions) {
    super('STORE_LOCKED', message, options);
  }
}

/** The store was closed; open it again. */
export class StoreClosedError extends LarderError {
  override name = 'StoreClosedError';
  constructor(message: string, options?: LarderErrorOptions) {
    super('STORE_CLOSED', message, options);
  }
}

/** The operation was aborted through its `AbortSignal` before it committed; nothing was written. */
export class OperationAbortedError extends LarderError {
  override name = 'OperationAbortedError';
  constructor(message: string, options?: LarderErrorOptions) {
    super('ABORTED', message, options);
  }
}

/** The origin's storage quota is exhausted; nothing of the failed operation was written. */
export class QuotaExceededError extends LarderError {
  override name = 'QuotaExceededError';
  constructor(message: string, options?: LarderErrorOptions) {
    super('QUOTA_EXCEEDED', message, options);
  }
}

/** The storage engine (DuckDB, IndexedDB, OPFS) failed in a way not covered by a more specific error. */
export class StorageError extends LarderError {
  override name = 'StorageError';
  constructor(message: string, options?: LarderErrorOptions) {
    super('STORAGE_FAILED', message, options);
  }
}

/** An on-demand feature's function is missing or differs from the one a view or training dataset was built with. */
export class TransformationMismatchError extends LarderError {
  override name = 'TransformationMismatchError';
  constructor(message: string, options?: LarderErrorOptions) {
    super('TRANSFORMATION_MISMATCH', message, options);
  }
}

/** A model artifact (topology, weights manifest or weight bytes) is malformed, oversized, or not what it claims. */
export class ModelArtifactError extends LarderError {
  override name = 'ModelArtifactError';
  constructor(message: string, options?: LarderErrorOptions) {
    super('MODEL_ARTIFACT_INVALID', message, options);
  }
}

/**
 * A push source (a WebSocket or an EventSource, which cannot be paused) delivered more events than the stream's
 * buffer holds while the pipeline was still writing earlier ones. Micro-batches already committed stay.
 */
export class StreamOverflowError extends LarderError {
  override name = 'StreamOverflowError';
  constructor(message: string, options?: LarderErrorOptions) {
    super('STREAM_OVERFLOW', message, options);
  }
}

/**
 * A feature pipeline run failed. `details.run` is its run record (status `failed`, the error, what it committed
 * before failing); `cause` is the error the pipeline hit. The chunk or micro-batch it was in left no commit.
 */
export class PipelineRunError extends LarderError {
  override name = 'PipelineRunError';
  constructor(message: string, options?: LarderErrorOptions) {
    super('PIPELINE_FAILED', message, options);
  }
}

/** A promotion or rollback cannot be made: the model's feature view has nothing online to serve, or no history to go back to. */
export class DeploymentRefusedError extends LarderError {
  override name = 'DeploymentRefusedError';
  constructor(message: string, options?: LarderErrorOptions) {
    super('DEPLOYMENT_REFUSED', message, options);
  }
}

/**
 * An object-store request failed. `details`: `operation` (get, put, head, list, delete), `key`, `status` (HTTP status,
 * or null for a network failure) and `retryable` (5xx, 429 and network failures are; other 4xx are not).
 */
export class ObjectStoreError extends LarderError {
  override name = 'ObjectStoreError';
  constructor(message: string, options?: LarderErrorOptions) {
    super('OBJECT_STORE_FAILED', message, options);
  }
}

/** The object store refused the credentials or the signature (HTTP 401 or 403). Never retried. */
export class SyncAuthError extends LarderError {
  override name = 'SyncAuthError';
  constructor(message: string, options?: LarderErrorOptions) {
    super('SYNC_AUTH_FAILED', message, options);
  }
}

/**
 * Someone else moved the snapshot pointer first (`details.expected`, `details.found`): pull, then push again. Also
 * thrown by a pull that would discard local changes not yet pushed.
 */
export class SyncConflictError extends LarderError {
  override name = 'SyncConflictError';
  constructor(message: string, options?: LarderErrorOptions) {
    super('SYNC_CONFLICT', message, options);
  }
}

/** The target does not honour conditional writes, so concurrent pushes could overwrite each other (see `singleWriter`). */
export class UnsafeTargetError extends LarderError {
  override name = 'UnsafeTargetError';
  constructor(message: string, options?: LarderErrorOptions) {
    super('SYNC_UNSAFE_TARGET', message, options);
  }
}

/**
 * A snapshot object is missing, truncated or corrupt, or a manifest is malformed (`details.key`, `details.reason`).
 * Nothing was applied.
 */
export class SnapshotIntegrityError extends LarderError {
  override name = 'SnapshotIntegrityError';
  constructor(message: string, options?: LarderErrorOptions) {
    super('SNAPSHOT_INTEGRITY', message, options);
  }
}

type LarderErrorClass = new (message: string, options: LarderErrorOptions & { details: never }) => LarderError;

const ERROR_CLASSES: Record<string, LarderErrorClass> = {
  InvalidArgumentError,
  InvalidNameError,
  NotFoundError,
  SchemaConflictError,
  ValidationError,
  ExpectationFailedError,
  ParseError,
  StoreLockedError,
  StoreClosedError,
  OperationAbortedError,
  QuotaExceededError,
  StorageError,
  TransformationMismatchError,
  ModelArtifactError,
  StreamOverflowError,
  PipelineRunError,
  DeploymentRefusedError,
  ObjectStoreError,
  SyncAuthError,
  SyncConflictError,
  UnsafeTargetError,
  SnapshotIntegrityError,
};

/** The plain-object form of an error, safe for structured clone. */
export interface SerializedError {
  name: string;
  message: string;
  code?: ErrorCode;
  details?: Record<string, unknown>;
  stack?: string;
  cause?: SerializedError;
}

/** Turns any thrown value into a structured-clone-safe object that {@link deserializeError} can rebuild. */
export function serializeError(error: unknown, depth = 0): SerializedError {
  if (error instanceof LarderError) {
    return {
      name: error.name,
      message: error.message,
      code: error.code,
      details: error.details,
      ...(error.stack === undefined ? {} : { stack: error.stack }),
      ...(error.cause === undefined || depth > 3 ? {} : { cause: serializeError(error.cause, depth + 1) }),
    };
  }
  if (error instanceof Error) {
    return { name: error.name, message: error.message, ...(error.stack === undefined ? {} : { stack: error.stack }) };
  }
  return { name: 'Error', message: String(error) };
}

/** Rebuilds an error serialised by {@link serializeError}, with its class when it is one of ours. */
export function deserializeError(data: SerializedError): Error {
  const cause = data.cause === undefined ? undefined : deserializeError(data.cause);
  const ErrorClass = ERROR_CLASSES[data.name];
  let error: Error;
  if (ErrorClass !== undefined) {
    error = new ErrorClass(data.message, { details: (data.details ?? {}) as never, cause });
  } else if (data.code !== undefined) {
    error = new LarderError(data.code, data.message, { details: data.details ?? {}, cause });
  } else {
    error = new Error(data.message, cause === undefined ? undefined : { cause });
    error.name = data.name;
  }
  if (data.stack !== undefined) error.stack = data.stack;
  return error;
}

/** Throws {@link OperationAbortedError} when the signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted === true) {
    throw new OperationAbortedError(`${what} was aborted before it committed; nothing was written.`, {
      cause: signal.reason,
    });
  }
}

/** An error as plain data for a record or result: its class name, Larder code (null for foreign errors), message. */
export function errorSummary(error: unknown): { name: string; code: string | null; message: string } {
  const e = error as { name?: unknown; message?: unknown } | null;
  return {
    name: typeof e?.name === 'string' ? e.name : 'Error',
    code: error instanceof LarderError ? error.code : null,
    message: typeof e?.message === 'string' ? e.message : String(error),
  };
}
