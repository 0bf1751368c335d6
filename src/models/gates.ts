/**
 * Validation gates: conditions a trained model must meet on the test split before its model version may be promoted,
 * declared as plain serialisable objects next to the training pipeline.
 *
 * - A **threshold gate** `{ metric, min?, max? }` bounds one overall metric (bounds inclusive).
 * - A **slice gate** `{ sliceBy, metric, maxGap }` bounds the spread of one metric across the slices of a column (the
 *   best slice minus the worst), e.g. accuracy per city.
 *
 * A gate never passes silently: a metric that is missing or `null` fails its gate with a reason saying so, and so
 * does a slice gate with fewer than two slices that have a value.
 *
 * @example
 * ```ts
 * const gates = validateGates([
 *   { metric: 'accuracy', min: 0.8 },
 *   { sliceBy: 'city', metric: 'accuracy', maxGap: 0.1 },
 * ]);
 * const perCity: Record<string, Record<string, number | null>> = {};
 * for (const [city, rows] of sliceIndices(test.city)) {
 *   const { accuracy } = binaryClassificationMetrics(pick(test.label, rows), pick(probability, rows));
 *   perCity[city] = { accuracy };
 * }
 * const { passed, results } = evaluateGates(gates, { accuracy: overall.accuracy }, { city: perCity });
 * if (!passed) throw new Error(results.filter((r) => !r.passed).map((r) => r.reason).join('; '));
 * ```
 * @module
 */
import { InvalidArgumentError } from '../errors.ts';
import { describeValue } from '../util/describe.ts';

/** Bounds one overall metric: passes when `min <= value <= max` (either bound may be left out, not both). */
export interface ThresholdGate {
  metric: string;
  min?: number;
  max?: number;
}

/** Bounds the gap of one metric across the slices of a column: passes when `max − min over slices <= maxGap`. */
export interface SliceGate {
  sliceBy: string;
  metric: string;
  maxGap: number;
}

/** A validation gate. */
export type Gate = ThresholdGate | SliceGate;

/** The outcome of one gate. */
export interface GateResult {
  /** The gate, as validated. */
  gate: Gate;
  passed: boolean;
  /** The metric value (threshold gate) or the gap across slices (slice gate); `null` when it could not be computed. */
  value: number | null;
  /** Why it passed or failed, for people: e.g. `"rmse 2.91 > max 2.5"`. */
  reason: string;
}

/** The outcome of a list of gates: `passed` only when every gate passed (an empty list passes). */
export interface GateReport {
  passed: boolean;
  /** One result per gate, in gate order. */
  results: GateResult[];
}

/** Metric values by metric name; `null` for a metric that is undefined on the data (e.g. R² of a constant target). */
export type MetricValues = Readonly<Record<string, number | null>>;

/** Metric values per slice: `slices[sliceBy][sliceValue][metric]`. */
export type SliceMetricValues = Readonly<Record<string, Readonly<Record<string, MetricValues>>>>;

const THRESHOLD_KEYS: readonly string[] = ['metric', 'min', 'max'];
const SLICE_KEYS: readonly string[] = ['sliceBy', 'metric', 'maxGap'];
/** Significant digits in reasons; more are shown when needed to tell a value from its bound. */
const SHOWN_DIGITS = 4;

// ---------------------------------------------------------------------------------------------------------------------
// Validation

function optionalNumber(gate: Record<string, unknown>, key: string, where: string, index: number): number | undefined {
  const value = gate[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new InvalidArgumentError(`${where}: '${key}' must be a finite number, got ${describeValue(value)}.`, {
      details: { index, key },
    });
  }
  return value;
}

/**
 * Checks a list of gates and returns a typed copy; throws {@link InvalidArgumentError} naming the first bad gate.
 * Keys whose value is `undefined` count as absent. Metric names are not checked against a list: a gate on a metric
 * the evaluation does not produce fails in {@link evaluateGates} with a reason.
 *
 * @example
 * ```ts
 * validateGates([{ metric: 'rmse', max: 2.5 }, { sliceBy: 'city', metric: 'mae', maxGap: 0.5 }]); // ok
 * validateGates([{ metric: 'rmse' }]);               // throws: needs 'min' or 'max'
 * validateGates([{ metric: 'auc', min: 0.9, max: 0.8 }]); // throws: min > max
 * ```
 */
export function validateGates(gates: unknown): Gate[] {
  if (!Array.isArray(gates)) {
    throw new InvalidArgumentError(`Gates must be an array, got ${describeValue(gates)}.`);
  }
  return gates.map((raw: unknown, index): Gate => {
    const where = `Gate #${index}`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      throw new InvalidArgumentError(
        `${where} must be an object like { metric: 'rmse', max: 2.5 } or { sliceBy: 'city', metric: 'accuracy', ` +
          `maxGap: 0.1 }, got ${describeValue(raw)}.`,
        { details: { index } },
      );
    }
    const gate = raw as Record<string, unknown>;
    const isSlice = gate.sliceBy !== undefined;
    const allowed = isSlice ? SLICE_KEYS : THRESHOLD_KEYS;
    for (const key of Object.keys(gate)) {
      if (gate[key] === undefined || allowed.includes(key)) continue;
      const hint = isSlice
        ? (THRESHOLD_KEYS.includes(key) ? '; a slice gate bounds the gap only, put min/max in a separate gate' : '')
        : (SLICE_KEYS.includes(key) ? "; 'maxGap' needs 'sliceBy' naming the slice column" : '');
      throw new InvalidArgumentError(
        `${where} has unknown key '${key}'; a ${isSlice ? 'slice' : 'threshold'} gate takes ` +
          `${allowed.join(', ')}${hint}.`,
        { details: { index, key } },
      );
    }
    if (typeof gate.metric !== 'string' || gate.metric.length === 0) {
      throw new InvalidArgumentError(`${where} needs a 'metric' naming a metric, got ${describeValue(gate.metric)}.`, {
        details: { index },
      });
    }
    const metric = gate.metric;
    if (isSlice) {
      if (typeof gate.sliceBy !== 'string' || gate.sliceBy.length === 0) {
        throw new InvalidArgumentError(
          `${where} (${metric}) needs 'sliceBy' naming the slice column, got ${describeValue(gate.sliceBy)}.`,
          { details: { index, metric } },
        );
      }
      const maxGap = optionalNumber(gate, 'maxGap', `${where} (${metric} by ${gate.sliceBy})`, index);
      if (maxGap === undefined || maxGap < 0) {
        throw new InvalidArgumentError(
          `${where} (${metric} by ${gate.sliceBy}) needs a 'maxGap' >= 0, got ${describeValue(gate.maxGap)}.`,
          { details: { index, metric } },
        );
      }
      return { sliceBy: gate.sliceBy, metric, maxGap };
    }
    const min = optionalNumber(gate, 'min', `${where} (${metric})`, index);
    const max = optionalNumber(gate, 'max', `${where} (${metric})`, index);
    if (min === undefined && max === undefined) {
      throw new InvalidArgumentError(`${where} (${metric}) needs a 'min', a 'max' or both.`, {
        details: { index, metric },
      });
    }
    if (min !== undefined && max !== undefined && min > max) {
      throw new InvalidArgumentError(
        `${where} (${metric}) has min ${min} > max ${max}; no value can pass it. Swap or fix the bounds.`,
        { details: { index, metric, min, max } },
      );
    }
    return { metric, ...(min === undefined ? {} : { min }), ...(max === undefined ? {} : { max }) };
  });
}

// ---------------------------------------------------------------------------------------------------------------------
// Evaluation

/** A number with {@link SHOWN_DIGITS} significant digits (never rounding the integer part), trailing zeros dropped. */
function format(value: number, digits = SHOWN_DIGITS): string {
  if (!Number.isFinite(value) || value === 0) return String(value);
  const integerDigits = Math.floor(Math.log10(Math.abs(value))) + 1;
  return String(Number(value.toPrecision(Math.min(21, Math.max(digits, integerDigits)))));
}

/** Formats two numbers with enough digits that they look different whenever they are different. */
function formatPair(a: number, b: number): [string, string] {
  for (let digits = SHOWN_DIGITS; digits < 17; digits++) {
    const shownA = format(a, digits);
    const shownB = format(b, digits);
    if (a === b || shownA !== shownB) return [shownA, shownB];
  }
  return [String(a), String(b)];
}

/** The own value of `key` in `record`; inherited properties (`toString`, …) do not count as metrics. */
function own<T>(record: Readonly<Record<string, T>> | undefined, key: string): T | undefined {
  return record !== undefined && Object.hasOwn(record, key) ? record[key] : undefined;
}

/** Why a metric value cannot be compared: it is missing, `null` or `NaN`. */
function unusableReason(metric: string, value: number | null | undefined, overall: MetricValues): string {
  if (value === undefined) {
    const available = Object.keys(overall);
    return (
      `${metric} is missing from the evaluation metrics ` +
      `(${available.length === 0 ? 'none were given' : `available: ${available.join(', ')}`})`
    );
  }
  if (value === null) return `${metric} is null: it is undefined on the test split, so the gate cannot pass`;
  return `${metric} is NaN, so the gate cannot pass`;
}

function evaluateThreshold(gate: ThresholdGate, overall: MetricValues): GateResult {
  const { metric, min, max } = gate;
  const value = own(overall, metric);
  if (value === undefined || value === null || Number.isNaN(value)) {
    return { gate, passed: false, value: null, reason: unusableReason(metric, value, overall) };
  }
  if (min !== undefined && value < min) {
    const [shown, bound] = formatPair(value, min);
    return { gate, passed: false, value, reason: `${metric} ${shown} < min ${bound}` };
  }
  if (max !== undefined && value > max) {
    const [shown, bound] = formatPair(value, max);
    return { gate, passed: false, value, reason: `${metric} ${shown} > max ${bound}` };
  }
  const parts: string[] = [];
  if (min !== undefined) parts.push(`>= min ${formatPair(value, min)[1]}`);
  if (max !== undefined) parts.push(`<= max ${formatPair(value, max)[1]}`);
  const shown = formatPair(value, min ?? (max as number))[0];
  return { gate, passed: true, value, reason: `${metric} ${shown} ${parts.join(' and ')}` };
}

function evaluateSlice(gate: SliceGate, slices: SliceMetricValues): GateResult {
  const { sliceBy, metric, maxGap } = gate;
  const bySlice = own(slices, sliceBy);
  const label = `${metric} gap across ${sliceBy}`;
  if (bySlice === undefined) {
    return {
      gate, passed: false, value: null,
      reason: `${label}: no per-slice metrics were given for ${sliceBy} (compute them over sliceIndices of the column)`,
    };
  }
  const valued: [string, number][] = [];
  const withoutValue: string[] = [];
  for (const slice of Object.keys(bySlice)) {
    const value = own(own(bySlice, slice), metric);
    if (typeof value === 'number' && !Number.isNaN(value)) valued.push([slice, value]);
    else withoutValue.push(slice);
  }
  const skipped = withoutValue.length === 0 ? '' : `; no ${metric} for ${withoutValue.join(', ')}`;
  if (valued.length < 2) {
    const have = valued.map(([slice, value]) => `${slice} ${format(value)}`).join(', ');
    return {
      gate, passed: false, value: null,
      reason:
        `${label} needs at least 2 slices with a value, got ${valued.length}${have === '' ? '' : ` (${have})`}` +
        skipped,
    };
  }
  let best = valued[0] as [string, number];
  let worst = best;
  for (const entry of valued) {
    if (entry[1] > best[1]) best = entry;
    if (entry[1] <= worst[1]) worst = entry; // the last of tied minima, so equal slices name two slices
  }
  const gap = best[1] - worst[1];
  const passed = gap <= maxGap;
  const [shownGap, shownMax] = formatPair(gap, maxGap);
  const [shownBest, shownWorst] = formatPair(best[1], worst[1]);
  return {
    gate, passed, value: gap,
    reason:
      `${label} ${shownGap} (${best[0]} ${shownBest}, ${worst[0]} ${shownWorst}) ` +
      `${passed ? '<=' : '>'} maxGap ${shownMax}${skipped}`,
  };
}

/**
 * Evaluates each gate against the overall metrics and the per-slice metrics of the test split.
 *
 * - A threshold gate reads `overall[metric]`; bounds are inclusive.
 * - A slice gate reads `slices[sliceBy][sliceValue][metric]` for every slice value and takes the gap between the
 *   highest and the lowest value. Slices where the metric is missing or `null` (e.g. ROC-AUC of a slice holding one
 *   class) are left out of the gap and named in the reason; the gate fails when fewer than 2 slices have a value.
 * - A missing, `null` or `NaN` metric fails its gate, with `value: null` and a reason saying so.
 *
 * The gates are validated first, as by {@link validateGates}.
 *
 * @param gates - The gates, e.g. from the training pipeline's definition.
 * @param overall - Metric values on the whole test split, by metric name.
 * @param slices - Metric values per slice, `slices[sliceBy][sliceValue][metric]`; may be `{}` when no gate slices.
 * @throws {@link InvalidArgumentError} when a gate is malformed.
 * @example
 * ```ts
 * const report = evaluateGates(
 *   [{ metric: 'rmse', max: 2.5 }, { sliceBy: 'city', metric: 'accuracy', maxGap: 0.1 }],
 *   { rmse: 2.91 },
 *   { city: { Seattle: { accuracy: 0.91 }, 'New York': { accuracy: 0.73 } } },
 * );
 * report.passed;                         // false
 * report.results.map((r) => r.reason);
 * // ['rmse 2.91 > max 2.5', 'accuracy gap across city 0.18 (Seattle 0.91, New York 0.73) > maxGap 0.1']
 * ```
 */
export function evaluateGates(gates: readonly Gate[], overall: MetricValues, slices: SliceMetricValues): GateReport {
  const results = validateGates(gates).map((gate) =>
    'sliceBy' in gate ? evaluateSlice(gate, slices) : evaluateThreshold(gate, overall),
  );
  return { passed: results.every((result) => result.passed), results };
}

// ---------------------------------------------------------------------------------------------------------------------
// Slicing

function sliceKey(value: unknown, row: number): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint' || value instanceof Date) {
    return String(value);
  }
  throw new InvalidArgumentError(
    `sliceIndices: row ${row} of the slice column is ${describeValue(value)}; slice by strings, numbers, booleans, ` +
      'bigints or dates (convert other values to a string key first).',
    { details: { row } },
  );
}

/**
 * Groups row indices by the value of a slice column, so metrics can be computed per slice. Slices are keyed by
 * `String(value)` (so `1` and `'1'` share a slice), `null` and `undefined` go to the slice `'null'` (shared with the
 * string `'null'`), and slices come in the order their first row appears; indices are ascending within a slice.
 * Values must be strings, numbers, booleans, bigints, dates or missing: other objects would all collapse into
 * `'[object Object]'`, so they are rejected.
 *
 * @param values - The slice column, one value per test row.
 * @throws {@link InvalidArgumentError} when a value is an object other than a `Date` (or a symbol or function).
 * @example
 * ```ts
 * sliceIndices(['Oslo', 'Rome', null, 'Oslo']);
 * // Map { 'Oslo' => Int32Array [0, 3], 'Rome' => Int32Array [1], 'null' => Int32Array [2] }
 * ```
 */
export function sliceIndices(values: ArrayLike<unknown>): Map<string, Int32Array> {
  const n = values.length;
  // First pass: a slice number per row and a count per slice; second pass: fill each slice's indices.
  const codes = new Int32Array(n);
  const codeOf = new Map<string, number>();
  const counts: number[] = [];
  for (let i = 0; i < n; i++) {
    const key = sliceKey(values[i], i);
    let code = codeOf.get(key);
    if (code === undefined) {
      code = counts.length;
      codeOf.set(key, code);
      counts.push(0);
    }
    codes[i] = code;
    counts[code] = (counts[code] as number) + 1;
  }
  const groups = counts.map((count) => new Int32Array(count));
  const filled = new Int32Array(counts.length);
  for (let i = 0; i < n; i++) {
    const code = codes[i] as number;
    (groups[code] as Int32Array)[filled[code] as number] = i;
    filled[code] = (filled[code] as number) + 1;
  }
  const result = new Map<string, Int32Array>();
  for (const [key, code] of codeOf) result.set(key, groups[code] as Int32Array);
  return result;
}
