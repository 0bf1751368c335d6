import type { Table, Vector } from 'apache-arrow';
import { InvalidArgumentError } from '../errors.ts';
import type { NormalizedModelSpec } from './spec.ts';

/** Training rows as the model sees them: a row-major float32 feature matrix and the targets. */
export interface TrainingMatrix {
  rows: number;
  /** n × features, row-major. */
  x: Float32Array;
  /** n × outputs (one-hot for multiclass), row-major. */
  y: Float32Array;
  /** The label as given (class index for classification), one per row. */
  labels: Float32Array;
}

/** A numeric column's values as float64, straight from the Arrow buffers where possible; null → NaN. */
export function numeric(vector: Vector, column: string): Float64Array {
  const out = new Float64Array(vector.length);
  let row = 0;
  for (const chunk of vector.data) {
    const values = chunk.values as ArrayLike<number | bigint> | undefined;
    // Plain numbers (not dates, booleans or dictionaries, whose buffers hold something else) straight from the buffer.
    const plain = /^(Float|Int|Uint)\d/.test(String(chunk.type)) && values !== undefined && !(values instanceof BigInt64Array) && !(values instanceof BigUint64Array);
    if (plain && chunk.nullCount === 0) {
      if (values instanceof Float64Array) out.set(values.subarray(0, chunk.length), row);
      else for (let i = 0; i < chunk.length; i++) out[row + i] = values[i] as number;
      row += chunk.length;
      continue;
    }
    if (plain) {
      for (let i = 0; i < chunk.length; i++, row++) out[row] = chunk.getValid(i) ? (values[i] as number) : Number.NaN;
      continue;
    }
    for (let i = 0; i < chunk.length; i++, row++) {
      const v: unknown = chunk.getValid(i) ? (vector.get(row) as unknown) : null;
      if (v === null || v === undefined) out[row] = Number.NaN;
      else if (typeof v === 'number') out[row] = v;
      else if (typeof v === 'bigint') out[row] = Number(v);
      else if (typeof v === 'boolean') out[row] = v ? 1 : 0;
      else {
        throw new InvalidArgumentError(
          `Column '${column}' holds ${typeof v} values; a model reads numbers. Encode it in the feature view (labelEncoder or oneHotEncoder).`,
          { details: { column, row } },
        );
      }
    }
  }
  return out;
}

/**
 * The row-major float32 matrix of `features` of a table (already transformed by the view): what a model reads. A
 * missing or infinite value is an error naming the column and row (add an imputer to the view), never a silent NaN.
 */
export function featureMatrix(table: Table, features: readonly string[], what: 'training' | 'batch'): Float32Array {
  if (features.length === 0) throw new InvalidArgumentError('A model needs at least one feature column.');
  const n = table.numRows;
  const f = features.length;
  const x = new Float32Array(n * f);
  features.forEach((name, j) => {
    const vector = table.getChild(name);
    if (vector === null) throw new InvalidArgumentError(`The ${what} rows have no feature column '${name}'.`);
    const values = numeric(vector, name);
    for (let i = 0; i < n; i++) {
      const v = values[i]!;
      if (!Number.isFinite(v)) {
        throw new InvalidArgumentError(
          `Feature '${name}' is ${Number.isNaN(v) ? 'missing (null or NaN)' : 'infinite'} in row ${i}; add an imputer for it to the feature view.`,
          { details: { column: name, row: i } },
        );
      }
      x[i * f + j] = v;
    }
  });
  return x;
}

/**
 * The feature matrix and targets of a table of training rows (already transformed by the view). Features are read
 * in the given order; a missing value is an error naming the column (add an imputer to the view) rather than a
 * silent NaN in the weights. Targets: the label for regression, 0/1 for binary, a one-hot row for multiclass.
 */
export function trainingMatrix(table: Table, features: readonly string[], label: string, spec: NormalizedModelSpec): TrainingMatrix {
  const n = table.numRows;
  const x = featureMatrix(table, features, 'training');
  const labelVector = table.getChild(label);
  if (labelVector === null) throw new InvalidArgumentError(`The training rows have no label column '${label}'.`);
  const labels64 = numeric(labelVector, label);
  const outputs = spec.task === 'multiclass' ? spec.classes : 1;
  const y = new Float32Array(n * outputs);
  const labels = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const v = labels64[i]!;
    const where = { details: { column: label, row: i, value: v } };
    if (!Number.isFinite(v)) throw new InvalidArgumentError(`Label '${label}' is missing in row ${i}; training rows need a label.`, where);
    if (spec.task === 'binary' && v !== 0 && v !== 1) throw new InvalidArgumentError(`Label '${label}' is ${v} in row ${i}; a binary model needs 0 or 1.`, where);
    if (spec.task === 'multiclass') {
      if (!Number.isInteger(v) || v < 0 || v >= spec.classes) {
        throw new InvalidArgumentError(`Label '${label}' is ${v} in row ${i}; this model has classes 0 to ${spec.classes - 1}.`, where);
      }
      y[i * outputs + v] = 1;
    } else {
      y[i] = v;
    }
    labels[i] = v;
  }
  return { rows: n, x, y, labels };
}
