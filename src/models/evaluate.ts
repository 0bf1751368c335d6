import { binaryClassificationMetrics, multiclassMetrics, regressionMetrics, type ClassificationMetrics, type RegressionMetrics } from './metrics.ts';
import type { NormalizedModelSpec } from './spec.ts';

/** Metrics of predictions against labels, by task. */
export function evaluate(spec: NormalizedModelSpec, labels: ArrayLike<number>, predictions: ArrayLike<number>): RegressionMetrics | ClassificationMetrics | null {
  if (labels.length === 0) return null;
  if (spec.task === 'regression') return regressionMetrics(labels, predictions);
  if (spec.task === 'binary') return binaryClassificationMetrics(labels, predictions);
  return multiclassMetrics(labels, { data: predictions, classes: spec.classes });
}
