import type { Table } from 'apache-arrow';
import { InvalidArgumentError, NotFoundError } from '../errors.ts';
import { ksStatistic, psi } from '../models/drift.ts';
import { binaryClassificationMetrics, regressionMetrics, type ClassificationMetrics, type RegressionMetrics } from '../models/metrics.ts';
import type { Instant } from '../offline/filters.ts';
import type { FeatureStore } from '../feature-store.ts';
import type { ModelRef } from '../models/model-registry.ts';

/** Options of {@link FeatureStore.compareDeployments}. */
export interface CompareOptions {
  /**
   * The group holding the true values, keyed like the logged entities, and its label column. Default: the champion's
   * feature view's left group and first label.
   */
  labels?: { group: string; version?: number; column: string };
  /** Logged predictions with time in [start, end). */
  start?: Instant;
  end?: Instant;
}

/** One arm's predictions against the labels that arrived for them. */
export interface ArmComparison {
  arm: string;
  /** Served (false: a shadow arm, logged only). */
  served: boolean;
  predictions: number;
  /** Predictions that have a label. */
  labelled: number;
  /** Model versions the arm served over the period. */
  versions: number[];
  /** Metrics over the labelled predictions (null with none). */
  metrics: RegressionMetrics | ClassificationMetrics | null;
}

/** What {@link FeatureStore.compareDeployments} reports. */
export interface DeploymentComparison {
  model: string;
  arms: ArmComparison[];
  /** Requests predicted by two arms (the served one and a shadow): how far apart they were. */
  agreement: { pairs: number; meanAbsoluteDifference: number | null; sameClass: number | null };
}

/** Drift of one served feature against its training values. */
export interface FeatureDrift {
  feature: string;
  psi: number;
  ks: number;
  served: number;
  training: number;
  drifted: boolean;
}

/** What `store.monitor(name).report()` returns. */
export interface DriftReport {
  model: { name: string; version: number };
  trainingDataset: number;
  thresholds: { psi: number; ks: number };
  features: FeatureDrift[];
  /** Names of the features past a threshold. */
  drifted: string[];
}

type Row = Record<string, unknown>;

function rowsOf(table: Table): Row[] {
  const names = table.schema.fields.map((f) => f.name);
  const columns = names.map((n) => table.getChild(n)!);
  return Array.from({ length: table.numRows }, (_, i) => Object.fromEntries(names.map((n, j) => [n, columns[j]!.get(i) as unknown])));
}

/** An entity's key as text: int32 and int64 keys (numbers and bigints) of the same value read alike. */
const keyOf = (row: Row, keys: readonly string[]): string =>
  JSON.stringify(keys.map((k) => (typeof row[k] === 'bigint' || typeof row[k] === 'number' ? String(row[k]) : row[k])));

/** The first index of a sorted list whose value is at least `at`. */
function firstAtOrAfter(times: readonly number[], at: number): number {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (times[mid]! < at) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Joins a model's prediction log with labels that arrived later — for each logged prediction, the entity's first
 * label at or after the prediction's time — and reports each arm's metrics and how far shadow and served
 * predictions of the same requests were apart.
 */
export async function compareDeployments(store: FeatureStore, model: string, options: CompareOptions): Promise<DeploymentComparison> {
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('compareDeployments options must be an object.');
  const log = await store.getFeatureGroup(`${model}_prediction_log`, 1).catch((error: unknown) => {
    if (error instanceof NotFoundError) throw new NotFoundError(`Model '${model}' has no prediction log: deploy it with a shadow or a split first.`);
    throw error;
  });
  let labelsOption = options.labels;
  if (labelsOption === undefined) {
    const lineage = (await store.models.get(model, 'champion')).lineage;
    const view = lineage === null ? null : await store.getFeatureView(lineage.featureView, lineage.featureViewVersion);
    if (view === null || view.definition.labels.length === 0) throw new InvalidArgumentError(`Say where the labels of ${model} are: { labels: { group, column } }.`);
    labelsOption = { group: view.definition.spine.group, version: view.definition.spine.version, column: view.definition.labels[0]!.name };
  }
  const labelSpec: { group: string; version?: number; column: string } = labelsOption;
  const labelsGroup = await store.getFeatureGroup(labelSpec.group, labelSpec.version);
  const keys = log.definition.primaryKey;
  if (labelsGroup.definition.primaryKey.join() !== keys.join()) {
    throw new InvalidArgumentError(`Labels group ${labelsGroup.name} is keyed by ${labelsGroup.definition.primaryKey.join(', ')}, the log by ${keys.join(', ')}.`);
  }
  if (!labelsGroup.definition.features.some((f) => f.name === labelSpec.column)) {
    throw new InvalidArgumentError(`Labels group ${labelsGroup.name} has no column '${labelSpec.column}'.`);
  }
  const logged = rowsOf(await log.read({ ...(options.start === undefined ? {} : { start: options.start }), ...(options.end === undefined ? {} : { end: options.end }) }));
  const labelTime = labelsGroup.definition.eventTime;
  const labels = new Map<string, { times: number[]; values: unknown[] }>();
  for (const row of rowsOf(await labelsGroup.read({ columns: [...keys, labelTime, labelSpec.column] }))) {
    const key = keyOf(row, keys);
    const entry = labels.get(key) ?? { times: [], values: [] };
    entry.times.push(row[labelTime] as number); // read in event-time order
    entry.values.push(row[labelSpec.column]);
    labels.set(key, entry);
  }
  const versions = [...new Set(logged.map((r) => r['model_version'] as number))];
  const task = versions.length === 0 ? 'regression' : (await store.models.get(model, versions[0])).signature.output.task;
  const byArm = new Map<string, { served: boolean; predicted: number[]; truth: number[]; count: number; versions: Set<number> }>();
  const byRequest = new Map<string, Row[]>();
  for (const row of logged) {
    const arm = row['arm'] as string;
    const entry = byArm.get(arm) ?? { served: row['served'] as boolean, predicted: [], truth: [], count: 0, versions: new Set<number>() };
    entry.count++;
    entry.versions.add(row['model_version'] as number);
    const key = keyOf(row, keys);
    const found = labels.get(key);
    const index = found === undefined ? -1 : firstAtOrAfter(found.times, row['ts'] as number);
    const truth = found === undefined || index >= found.times.length ? null : found.values[index];
    if (typeof truth === 'number' || typeof truth === 'boolean' || typeof truth === 'bigint') {
      entry.predicted.push(row['prediction'] as number);
      entry.truth.push(Number(truth));
    }
    byArm.set(arm, entry);
    const request = String(row['request_id']);
    byRequest.set(request, [...(byRequest.get(request) ?? []), row]);
  }
  const metricsOf = (truth: number[], predicted: number[]): RegressionMetrics | ClassificationMetrics | null => {
    if (truth.length === 0) return null;
    if (task === 'regression') return regressionMetrics(truth, predicted);
    if (task === 'binary') return binaryClassificationMetrics(truth, predicted);
    const correct = truth.filter((t, i) => t === predicted[i]).length;
    return { count: truth.length, accuracy: correct / truth.length } as ClassificationMetrics;
  };
  const arms = [...byArm].map(([arm, e]) => ({
    arm, served: e.served, predictions: e.count, labelled: e.truth.length, versions: [...e.versions].sort((a, b) => a - b), metrics: metricsOf(e.truth, e.predicted),
  }));
  const differences: number[] = [];
  let same = 0;
  for (const rows of byRequest.values()) {
    const served = rows.find((r) => r['served'] === true);
    if (served === undefined) continue;
    for (const other of rows) {
      if (other === served) continue;
      const a = served['prediction'] as number;
      const b = other['prediction'] as number;
      differences.push(Math.abs(a - b));
      const classOf = (p: number): number => (task === 'binary' ? (p >= 0.5 ? 1 : 0) : p);
      if (classOf(a) === classOf(b)) same++;
    }
  }
  const pairs = differences.length;
  return {
    model,
    arms,
    agreement: {
      pairs,
      meanAbsoluteDifference: pairs === 0 ? null : differences.reduce((s, d) => s + d, 0) / pairs,
      sameClass: pairs === 0 || task === 'regression' ? null : same / pairs,
    },
  };
}

/**
 * Drift of the features a model version was served with (from its prediction log) against its training dataset's
 * train split, per model input: PSI and Kolmogorov–Smirnov, flagged past the thresholds.
 */
export async function driftReport(
  store: FeatureStore,
  model: string,
  options: { ref?: ModelRef; thresholds?: { psi?: number; ks?: number }; start?: Instant; end?: Instant; bins?: number },
): Promise<DriftReport> {
  const record = await store.models.get(model, options.ref ?? 'champion');
  const lineage = record.lineage;
  if (lineage === null || lineage.trainingDataset === null) {
    throw new InvalidArgumentError(`Model ${record.name} v${record.version} has no training dataset in its lineage to compare served features with.`);
  }
  const thresholds = { psi: options.thresholds?.psi ?? 0.2, ks: options.thresholds?.ks ?? 0.1 };
  const view = await store.getFeatureView(lineage.featureView, lineage.featureViewVersion);
  const { train } = await view.getTrainingDataset(lineage.trainingDataset);
  const log = await store.getFeatureGroup(`${model}_prediction_log`, 1);
  const served = rowsOf(
    await log.read({
      where: { model_version: record.version },
      columns: ['features'],
      ...(options.start === undefined ? {} : { start: options.start }),
      ...(options.end === undefined ? {} : { end: options.end }),
    }),
  ).map((r) => JSON.parse(r['features'] as string) as Record<string, number>);
  if (served.length === 0) throw new NotFoundError(`The prediction log of ${record.name} has no predictions of version ${record.version} in that period.`);
  const features = record.signature.inputs.map(({ name }) => {
    const training = Array.from({ length: train.numRows }, (_, i) => Number(train.getChild(name)!.get(i)));
    const values = served.map((f) => f[name]!);
    const p = psi(training, values, options.bins ?? 10);
    const ks = ksStatistic(training, values);
    return { feature: name, psi: p, ks, served: values.length, training: training.length, drifted: p > thresholds.psi || ks > thresholds.ks };
  });
  return {
    model: { name: record.name, version: record.version },
    trainingDataset: lineage.trainingDataset,
    thresholds,
    features,
    drifted: features.filter((f) => f.drifted).map((f) => f.feature),
  };
}
