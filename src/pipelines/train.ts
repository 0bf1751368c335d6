import * as Comlink from 'comlink';
import { tableFromIPC, type Table } from 'apache-arrow';
import type { FeatureViewDefinition } from '../definitions/feature-view.ts';
import { InvalidArgumentError, OperationAbortedError, errorSummary, throwIfAborted } from '../errors.ts';
import type { BackendName } from '../models/backend.ts';
import { evaluateGates, sliceIndices, validateGates, type Gate, type GateReport } from '../models/gates.ts';
import type { ClassificationMetrics, RegressionMetrics } from '../models/metrics.ts';
import { sha256Hex } from '../models/artifacts.ts';
import type { ModelSpec, NormalizedModelSpec } from '../models/spec.ts';
import { normalizeModelSpec } from '../models/spec.ts';
import { runTrainingJob } from '../models/trainer.ts';
import type { ModelVersionRecord, RunRecord, SplitSpec, TrainingDatasetRecord } from '../registry/types.ts';
import type { StoreWorkerApi } from '../rpc/store-api.ts';
import { instantToMillis, type Instant } from '../offline/filters.ts';
import type { FitOptions, TrainProgress } from '../service/train-service.ts';
import { evaluate } from '../models/evaluate.ts';

/** What {@link FeatureStore.train} takes. */
export interface TrainOptions {
  /** The feature view version to learn from (a FeatureView, or its name and version). */
  featureView: { name: string; version: number };
  /** A stored training dataset version of the view; without it, `trainingData` builds a new one. */
  trainingDataset?: number;
  /**
   * A new training dataset of the view (the left group's rows in [start, end) as spine), when `trainingDataset` is
   * not given; it is persisted before training starts, so the model's lineage names a durable dataset.
   */
  trainingData?: { start?: Instant; end?: Instant; asOfKnown?: boolean; split?: SplitSpec };
  /** The model: a registry name and a declarative spec (see ModelSpec). */
  model: { name: string; spec: ModelSpec; description?: string; tags?: Record<string, string> };
  fit?: Partial<FitOptions>;
  /** tfjs backend of the training worker: wasm (default; falls back to cpu when a kernel is missing), cpu or webgl. */
  backend?: BackendName;
  /** Validation gates: a model failing one stays in its run and is not registered. */
  gates?: Gate[];
  params?: Record<string, unknown>;
  tags?: Record<string, string>;
  signal?: AbortSignal;
  onProgress?: (progress: TrainProgress) => void;
  /** Creates the training worker, if the default module worker URL does not suit the bundler. */
  createWorker?: () => Worker;
}

/** The run (always recorded) and the registered model version (null when a gate failed). */
export interface TrainOutcome {
  run: RunRecord;
  model: ModelVersionRecord | null;
  gates: GateReport | null;
}

/** The metric values of a result, numbers only (gates and run summaries take these). */
export function metricValues(metrics: RegressionMetrics | ClassificationMetrics | null): Record<string, number | null> {
  if (metrics === null) return {};
  return Object.fromEntries(Object.entries(metrics).filter(([, v]) => typeof v === 'number' || v === null) as [string, number | null][]);
}

/** Per-slice metrics of test predictions, for every column a slice gate names. */
function sliceMetrics(gates: readonly Gate[], test: Table, spec: NormalizedModelSpec, labels: Float32Array, predictions: Float32Array) {
  const outputs = spec.task === 'multiclass' ? spec.classes : 1;
  const slices: Record<string, Record<string, Record<string, number | null>>> = {};
  for (const gate of gates) {
    if (!('sliceBy' in gate) || slices[gate.sliceBy] !== undefined) continue;
    const column = test.getChild(gate.sliceBy);
    if (column === null) throw new InvalidArgumentError(`Gate slices by '${gate.sliceBy}', which is not a column of the training rows.`);
    slices[gate.sliceBy] = {};
    for (const [value, rows] of sliceIndices(column.toArray() as ArrayLike<unknown>)) {
      const y = Float32Array.from(rows, (r) => labels[r]!);
      const p = new Float32Array(rows.length * outputs);
      rows.forEach((r, i) => p.set(predictions.subarray(r * outputs, (r + 1) * outputs), i * outputs));
      slices[gate.sliceBy]![value] = metricValues(evaluate(spec, y, p));
    }
  }
  return slices;
}

/**
 * The training pipeline: training rows of a feature view (a stored dataset or a new one) → a training worker →
 * metrics on the test split → gates → a registered model version linked to the view, the dataset and the run.
 * The run is recorded from the start (running) to the end (finished, failed or aborted); nothing is registered
 * unless training finished and every gate passed.
 */
export async function train(api: Comlink.Remote<StoreWorkerApi>, view: FeatureViewDefinition, options: TrainOptions): Promise<TrainOutcome> {
  const called = performance.now();
  const spec = normalizeModelSpec(options.model.spec);
  const gates = validateGates(options.gates ?? []);
  if (view.labels.length !== 1) throw new InvalidArgumentError(`Feature view ${view.name} v${view.version} needs exactly one label to train on (it has ${view.labels.length}).`);
  const fit: FitOptions = { epochs: options.fit?.epochs ?? 10, batchSize: options.fit?.batchSize ?? 256, shuffle: options.fit?.shuffle ?? true };
  const run: RunRecord = {
    id: crypto.randomUUID(),
    model: options.model.name,
    status: 'running',
    startedAt: Date.now(),
    endedAt: null,
    params: { ...options.params, spec, fit, backend: options.backend ?? 'wasm' },
    tags: { ...options.tags },
    series: {},
    metrics: {},
    evaluation: null,
    timings: { toFirstBatchMs: null, fitMs: null, samplesPerSecond: null },
    environment: { backend: null, userAgent: typeof navigator === 'undefined' ? 'unknown' : navigator.userAgent },
    featureView: { name: view.name, version: view.version },
    trainingDataset: options.trainingDataset ?? null,
    gates: null,
    modelVersion: null,
    error: null,
  };
  throwIfAborted(options.signal, 'Training');
  await api.putRun(run);
  const end = async (patch: Partial<RunRecord>): Promise<RunRecord> => {
    Object.assign(run, patch, { endedAt: Date.now() });
    await api.putRun(run);
    return run;
  };
  try {
    // The rows: a stored dataset, or a new one (persisted before training, so the model's lineage is durable).
    let dataset: TrainingDatasetRecord;
    let trainIpc: Uint8Array;
    let testIpc: Uint8Array;
    if (options.trainingDataset !== undefined) {
      const stored = await api.getTrainingDataset(view.name, view.version, options.trainingDataset);
      ({ dataset } = stored);
      [trainIpc, testIpc] = [stored.train, stored.test];
    } else {
      const given = options.trainingData ?? {};
      const request = {
        spine: null,
        start: given.start === undefined ? null : instantToMillis(given.start, 'trainingData.start'),
        end: given.end === undefined ? null : instantToMillis(given.end, 'trainingData.end'),
        asOfKnown: given.asOfKnown ?? false,
        split: given.split,
      };
      const made = await api.trainingData(view.name, view.version, request, 0, null);
      dataset = await api.trainingDatasetRecord(view.name, view.version, made.dataset.version);
      [trainIpc, testIpc] = [made.train, made.test];
      run.trainingDataset = dataset.version;
    }
    throwIfAborted(options.signal, 'Training');
    const testTable = tableFromIPC(testIpc);
    const excluded = new Set([...view.spine.keys, view.spine.eventTime, ...view.labels.map((l) => l.name)]);
    const features = testTable.schema.fields.map((f) => f.name).filter((n) => !excluded.has(n));
    const label = view.labels[0]!.name;
    const losses: { step: number; value: number }[] = [];
    const series: Record<string, { step: number; value: number }[]> = {};
    let firstBatchAt: number | null = null;
    const result = await runTrainingJob(
      { spec, backend: options.backend ?? 'wasm', features, label, train: trainIpc, test: testIpc.slice(), fit },
      {
        ...(options.signal === undefined ? {} : { signal: options.signal }),
        ...(options.createWorker === undefined ? {} : { createWorker: options.createWorker }),
        onProgress: (p) => {
          firstBatchAt ??= performance.now();
          if (p.epochEnd) {
            losses.push({ step: p.epoch, value: p.loss });
            for (const [m, value] of Object.entries(p.metrics)) (series[m] ??= []).push({ step: p.epoch, value });
          }
          options.onProgress?.(p);
        },
      },
    );
    run.series = { loss: losses, ...series };
    run.environment.backend = result.backend;
    run.evaluation = result.metrics;
    run.timings = {
      // From the train call, not from the worker's start: reading the rows and starting the worker count.
      toFirstBatchMs: firstBatchAt === null ? null : firstBatchAt - called,
      fitMs: result.timings.fitMs,
      samplesPerSecond: result.timings.samplesPerSecond,
    };
    if (result.fellBack !== null) run.tags = { ...run.tags, backendFallback: result.fellBack };
    const metrics = metricValues(result.metrics);
    let report: GateReport | null = null;
    if (gates.length > 0) {
      const labels = Float32Array.from(testTable.getChild(label)!.toArray() as ArrayLike<number>, Number);
      report = evaluateGates(gates, metrics, sliceMetrics(gates, testTable, spec, labels, result.testPredictions));
    }
    const gatesRecord = report === null ? null : { passed: report.passed, results: report.results.map((r) => ({ passed: r.passed, reason: r.reason })) };
    if (report !== null && !report.passed) {
      return { run: await end({ status: 'finished', metrics, gates: gatesRecord, tags: { ...run.tags, gates: 'failed' } }), model: null, gates: report };
    }
    const types = new Map([...view.features.map((f) => [f.name, f.type] as const), ...view.onDemand.map((o) => [o.name, o.type] as const)]);
    const model = await api.registerModel(
      {
        name: options.model.name,
        createdAt: Date.now(),
        runId: run.id,
        description: options.model.description ?? '',
        tags: { ...options.model.tags },
        signature: { inputs: features.map((name) => ({ name, type: types.get(name) ?? 'float64' })), output: { name: label, task: spec.task, classes: spec.classes } },
        metrics,
        lineage: { featureView: view.name, featureViewVersion: view.version, trainingDataset: dataset.version, transforms: dataset.transforms },
        spec,
        artifact: { modelTopology: result.artifacts.modelTopology, weightSpecs: result.artifacts.weightSpecs, sha256: await sha256Hex(result.artifacts.weightData) },
      },
      Comlink.transfer(result.artifacts.weightData, [result.artifacts.weightData]),
    );
    return { run: await end({ status: 'finished', metrics, gates: gatesRecord, modelVersion: model.version }), model, gates: report };
  } catch (error) {
    const aborted = error instanceof OperationAbortedError;
    await end({
      status: aborted ? 'aborted' : 'failed',
      error: errorSummary(error),
    }).catch(() => undefined); // the training error is the one to report
    throw error;
  }
}
