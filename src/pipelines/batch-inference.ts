import { Table, TimestampMicrosecond, Utf8, makeData, makeVector, type Vector } from 'apache-arrow';
import type { FeatureGroupDefinition, FeatureGroupSpec } from '../definitions/feature-group.ts';
import { InvalidArgumentError, throwIfAborted } from '../errors.ts';
import { featureMatrix } from '../models/matrix.ts';
import { instantToMillis, type Instant } from '../offline/filters.ts';
import type { CommitRecord } from '../registry/types.ts';
import type { FeatureStore } from '../feature-store.ts';
import { keyFeatures, loadModel, predictionValues, resolveModelVersion, type DeploymentSource } from './deployment.ts';
import { InferenceClient } from './inference-client.ts';
import type { BackendName } from '../models/backend.ts';

/** Options of {@link FeatureStore.batchPredict}. */
export interface BatchPredictOptions {
  model: string;
  /** The version an alias points at (default 'champion' unless `version`). */
  alias?: string;
  version?: number;
  /** Entities with a row of the view's left group in [start, end) are scored with their features as of just before `end`. */
  start?: Instant;
  end: Instant;
  /** The predictions group (created when missing); default `<model>_predictions` version 1. */
  output?: { name?: string; version?: number };
  /** Inference workers predicting chunks side by side (default 2, at most the cores the browser reports). */
  workers?: number;
  /** tfjs backend of the inference workers (default wasm). */
  backend?: BackendName;
  /** Rows per call to an inference worker (default 32,768; the worker hands tfjs slices of 512 rows). */
  chunkRows?: number;
  signal?: AbortSignal;
  onProgress?: (progress: { phase: 'reading' | 'predicting' | 'writing' | 'done'; rows: number; totalRows: number }) => void;
}

/** What {@link FeatureStore.batchPredict} wrote. */
export interface BatchPredictResult {
  model: { name: string; version: number };
  featureView: { name: string; version: number };
  /** The predictions group and the commit holding the predictions. */
  output: { name: string; version: number };
  commit: CommitRecord;
  rows: number;
}

/** The predictions group of a view's entities: their keys, the time scored, the prediction and the model version. */
export function predictionsGroupSpec(left: FeatureGroupDefinition, name: string, version: number): FeatureGroupSpec {
  const keys = keyFeatures(left);
  return {
    name, version, primaryKey: [...left.primaryKey], eventTime: left.eventTime,
    features: { ...keys, [left.eventTime]: 'timestamp', prediction: 'float64', model: 'string', model_version: 'int32' },
    description: 'Predictions written by batchPredict.',
  };
}

/**
 * Scores the entities of a model version's feature view in batch: the view's batch data (point-in-time, transformed
 * with the version's training dataset), predicted in chunks by the inference worker, written as one commit to a
 * predictions group.
 */
export async function batchPredict(store: FeatureStore, source: DeploymentSource, options: BatchPredictOptions): Promise<BatchPredictResult> {
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('batchPredict needs { model, end }.');
  if (options.alias !== undefined && options.version !== undefined) throw new InvalidArgumentError('Give an alias or a version, not both.');
  const chunkRows = options.chunkRows ?? 32_768;
  if (!Number.isSafeInteger(chunkRows) || chunkRows < 1) throw new InvalidArgumentError('chunkRows must be a positive integer.');
  const end = instantToMillis(options.end, 'end');
  const progress = options.onProgress ?? (() => undefined);
  const record = await resolveModelVersion(source, options.model, options.version === undefined ? (options.alias ?? 'champion') : null, options.version ?? null);
  const lineage = record.lineage;
  if (lineage === null) throw new InvalidArgumentError(`Model ${record.name} v${record.version} has no feature view in its lineage to read batch data through.`);
  const view = await store.getFeatureView(lineage.featureView, lineage.featureViewVersion);
  const left = await store.getFeatureGroup(view.definition.spine.group, view.definition.spine.version);
  const outputName = options.output?.name ?? `${record.name}_predictions`;
  const outputVersion = options.output?.version ?? 1;
  const output = await store.createFeatureGroup(predictionsGroupSpec(left.definition, outputName, outputVersion));

  progress({ phase: 'reading', rows: 0, totalRows: 0 });
  // Dedicated workers (not the deployments' one, whose online predictions must not wait behind a batch), as many as
  // there are cores to spare, each taking the next chunk as soon as its model is loaded. The first starts (tfjs, the
  // model) while the store worker reads the batch data; the others once the read is done, so that starting them
  // does not slow the read down (on two cores it did, by a third) — they join in as they become ready.
  const workerCount = Math.max(1, Math.min(options.workers ?? 2, globalThis.navigator?.hardwareConcurrency ?? 2));
  const workers: InferenceClient[] = [];
  const weights = source.readWeights(record.name, record.version);
  const startWorker = async (): Promise<{ client: InferenceClient; key: string }> => {
    const client = new InferenceClient('larder-batch-inference');
    workers.push(client);
    const [loaded] = await loadModel([client.api], record, (await weights).slice(0), options.backend ?? 'wasm');
    return { client, key: loaded!.key };
  };
  const first = startWorker();
  first.catch(() => undefined); // awaited below; a read failure first must not leave it unobserved
  let predictions: Float64Array;
  let rows: number;
  let batch: Table;
  try {
    batch = await view.getBatchData({
      ...(options.start === undefined ? {} : { start: options.start }), end,
      ...(lineage.trainingDataset === null ? {} : { trainingDataset: lineage.trainingDataset }),
    });
    throwIfAborted(options.signal, 'batchPredict');
    const inputs = record.signature.inputs.map((i) => i.name);
    const x = featureMatrix(batch, inputs, 'batch');
    rows = batch.numRows;
    const width = inputs.length;
    predictions = new Float64Array(rows);
    let next = 0;
    let done = 0;
    await Promise.all(
      [first, ...Array.from({ length: Math.min(workerCount, Math.ceil(rows / chunkRows)) - 1 }, startWorker)].map(async (loading) => {
        const { client, key } = await loading;
        while (next < rows) {
          throwIfAborted(options.signal, 'batchPredict');
          const start = next;
          const count = Math.min(chunkRows, rows - start);
          next += count;
          const chunk = x.slice(start * width, (start + count) * width);
          const outputs = await client.predict(key, chunk, count);
          predictionValues(record, outputs, count, predictions, start);
          done += count;
          progress({ phase: 'predicting', rows: done, totalRows: rows });
        }
      }),
    );
  } finally {
    for (const client of workers) client.terminate();
  }
  progress({ phase: 'writing', rows, totalRows: rows });
  // Columns in the group's own Arrow types, so the insert stores them without converting a value.
  const scoredAt = makeVector(makeData({ type: new TimestampMicrosecond(), length: rows, data: new BigInt64Array(rows).fill(BigInt(end) * 1000n) }));
  const table = new Table({
    ...Object.fromEntries(left.definition.primaryKey.map((k) => [k, batch.getChild(k)!])),
    [left.definition.eventTime]: scoredAt,
    prediction: makeVector(predictions),
    model: constantStrings(record.name, rows),
    model_version: makeVector(new Int32Array(rows).fill(record.version)),
  });
  // The same model version and window write the same batch: re-running (after a failure, say) writes nothing twice.
  const batchId = `batch-predict:${record.name.toLowerCase()}:${record.version}:${options.start === undefined ? '' : instantToMillis(options.start, 'start')}:${end}`;
  const commit = await output.insert(table, { batchId, ...(options.signal === undefined ? {} : { signal: options.signal }) });
  progress({ phase: 'done', rows, totalRows: rows });
  return {
    model: { name: record.name, version: record.version },
    featureView: { name: view.name, version: view.version },
    output: { name: output.name, version: output.version },
    commit,
    rows,
  };
}

/** A string column holding one value in every row, built straight into Arrow buffers. */
function constantStrings(value: string, rows: number): Vector<Utf8> {
  const bytes = new TextEncoder().encode(value);
  const valueOffsets = new Int32Array(rows + 1);
  const data = new Uint8Array(rows * bytes.length);
  for (let i = 0; i < rows; i++) {
    valueOffsets[i + 1] = (i + 1) * bytes.length;
    data.set(bytes, i * bytes.length);
  }
  return makeVector(makeData({ type: new Utf8(), length: rows, valueOffsets, data }));
}
