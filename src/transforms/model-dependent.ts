/**
 * Model-dependent transformations: scalers, encoders, an imputer, `log1p` and a bucketizer, declared as plain
 * serialisable specs, fitted on the train split only, with fitted state as plain JSON (stored with the training
 * dataset), and one implementation that applies that state to train and test columns now and to single online
 * vectors later.
 *
 * Semantics shared by every transformation:
 * - **Missing values.** `null`, `undefined` and `NaN` are missing. They are skipped when fitting and stay `null` when
 *   applying, except in the imputer (which fills them) and the one-hot encoder (all zeros).
 * - **Chaining.** Specs run in order and each reads the current value of its column, so
 *   `[{ kind: 'imputer', column: 'x', strategy: 'median' }, { kind: 'standardScaler', column: 'x' }]` fits the scaler
 *   on the imputed training values.
 * - **Output.** Only columns written by some spec are returned (a one-hot encoder replaces its source column with one
 *   column per category). Merge them with the untouched features yourself.
 * - **Determinism.** The columnar and the per-row apply share the same per-value functions, so they give exactly the
 *   same numbers.
 *
 * @example
 * ```ts
 * const fitted = fitTransforms(
 *   [{ kind: 'standardScaler', column: 'temp' }, { kind: 'oneHotEncoder', column: 'city' }],
 *   train,
 * );
 * const state = JSON.stringify(fitted); // stored with the training dataset
 * const testColumns = applyTransforms(JSON.parse(state), test);
 * const vector = applyTransformsToRow(fitted, { temp: 21.5, city: 'Oslo' });
 * ```
 * @module
 */
import { InvalidArgumentError } from '../errors.ts';

/** A category value: what label and one-hot encoders (and a most-frequent imputer) keep in their state. */
export type CategoryValue = number | string;

/** Scales to zero mean and unit variance: `(x − mean) / std`, population std (ddof = 0); a std of 0 scales by 1. */
export interface StandardScalerSpec {
  kind: 'standardScaler';
  column: string;
}
/** Scales to `[0, 1]` on the training range: `(x − min) / (max − min)`; a range of (almost) 0 scales by 1. */
export interface MinMaxScalerSpec {
  kind: 'minMaxScaler';
  column: string;
}
/**
 * Centres on the median and scales by the interquartile range `p75 − p25` (linear interpolation between order
 * statistics, numpy's default quantile method): `(x − median) / iqr`; an IQR of (almost) 0 scales by 1.
 */
export interface RobustScalerSpec {
  kind: 'robustScaler';
  column: string;
}
/** Maps the sorted distinct training values to `0 … n − 1`; unseen values become `-1`, missing values `null`. */
export interface LabelEncoderSpec {
  kind: 'labelEncoder';
  column: string;
}
/**
 * One 0/1 column per sorted distinct training value, named `${column}_${category}` with the category made safe
 * (characters other than letters, digits and `_` become `_`; clashes get `_2`, `_3`, …). Unseen and missing values
 * give all zeros. The source column is not in the output.
 */
export interface OneHotEncoderSpec {
  kind: 'oneHotEncoder';
  column: string;
}
/** Fills missing values with the training mean, median, most frequent value (ties → the smallest), or a constant. */
export interface ImputerSpec {
  kind: 'imputer';
  column: string;
  strategy: 'mean' | 'median' | 'mostFrequent' | 'constant';
  /** The fill value; required with `strategy: 'constant'` and not allowed otherwise. */
  value?: CategoryValue;
}
/** `ln(1 + x)`, stateless. Values `<= -1` are rejected with {@link InvalidArgumentError} (when fitting and applying). */
export interface Log1pSpec {
  kind: 'log1p';
  column: string;
}
/**
 * The bucket index of each value: the number of boundaries `<= x`, so with `n` strictly ascending boundaries the
 * buckets are `0 … n` and a value exactly on a boundary goes to the bucket above it (`[b[i−1], b[i])`).
 */
export interface BucketizerSpec {
  kind: 'bucketizer';
  column: string;
  boundaries: number[];
}

/** A model-dependent transformation, declared as a plain serialisable object. */
export type TransformSpec =
  | StandardScalerSpec
  | MinMaxScalerSpec
  | RobustScalerSpec
  | LabelEncoderSpec
  | OneHotEncoderSpec
  | ImputerSpec
  | Log1pSpec
  | BucketizerSpec;

/** The kinds of {@link TransformSpec}. */
export type TransformKind = TransformSpec['kind'];

/** The fitted state of one transformation: plain JSON. */
export type FittedTransform =
  | { kind: 'standardScaler'; column: string; mean: number; std: number }
  | { kind: 'minMaxScaler'; column: string; min: number; max: number }
  | { kind: 'robustScaler'; column: string; median: number; iqr: number }
  | { kind: 'labelEncoder'; column: string; categories: CategoryValue[] }
  | { kind: 'oneHotEncoder'; column: string; categories: CategoryValue[]; outputColumns: string[] }
  | { kind: 'imputer'; column: string; strategy: ImputerSpec['strategy']; value: CategoryValue }
  | { kind: 'log1p'; column: string }
  | { kind: 'bucketizer'; column: string; boundaries: number[] };

/** The fitted state of a list of transformations, in spec order: plain JSON, safe to `JSON.stringify`. */
export interface FittedTransforms {
  version: 1;
  transforms: FittedTransform[];
}

/** Input columns: any array-like per column (plain arrays, typed arrays, Arrow vectors converted with `toArray()`). */
export type TransformInput = Record<string, ArrayLike<number | string | null | undefined>>;

/**
 * An output column: a `Float64Array` when every value is a number, `(number | null)[]` when some are missing, and
 * `(number | string | null)[]` only when the last spec on a string column was an imputer.
 */
export type TransformOutputColumn = Float64Array | (number | null)[] | (number | string | null)[];

const KINDS: readonly TransformKind[] = [
  'standardScaler', 'minMaxScaler', 'robustScaler', 'labelEncoder', 'oneHotEncoder', 'imputer', 'log1p', 'bucketizer',
];
const NUMERIC_KINDS = new Set<TransformKind>(['standardScaler', 'minMaxScaler', 'robustScaler', 'log1p', 'bucketizer']);
const STRATEGIES: readonly ImputerSpec['strategy'][] = ['mean', 'median', 'mostFrequent', 'constant'];
const MAX_SHOWN_ROWS = 10;

// ---------------------------------------------------------------------------------------------------------------------
// Spec validation

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) {
    return String(value);
  }
  return typeof value;
}

/**
 * Checks a list of specs and returns it typed; throws {@link InvalidArgumentError} naming the first bad spec.
 *
 * @example
 * ```ts
 * validateTransformSpecs([{ kind: 'bucketizer', column: 'age', boundaries: [18, 65] }]); // ok
 * validateTransformSpecs([{ kind: 'zScore', column: 'age' }]); // throws InvalidArgumentError
 * ```
 */
export function validateTransformSpecs(specs: unknown): TransformSpec[] {
  if (!Array.isArray(specs)) {
    throw new InvalidArgumentError(`Transformation specs must be an array, got ${describe(specs)}.`);
  }
  const consumed = new Set<string>();
  return specs.map((raw: unknown, index): TransformSpec => {
    const where = `Transformation spec #${index}`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      throw new InvalidArgumentError(`${where} must be an object like { kind: 'standardScaler', column: 'x' }.`, {
        details: { index },
      });
    }
    const spec = raw as Record<string, unknown>;
    if (typeof spec.kind !== 'string' || !(KINDS as readonly string[]).includes(spec.kind)) {
      throw new InvalidArgumentError(
        `${where} has unknown kind ${describe(spec.kind)}; use one of ${KINDS.join(', ')}.`,
        { details: { index, kind: spec.kind } },
      );
    }
    const kind = spec.kind as TransformKind;
    if (typeof spec.column !== 'string' || spec.column.length === 0) {
      throw new InvalidArgumentError(`${where} (${kind}) needs a 'column' naming the input column.`, {
        details: { index, kind },
      });
    }
    const column = spec.column;
    if (consumed.has(column)) {
      throw new InvalidArgumentError(
        `${where} (${kind}) reads column '${column}', which an earlier oneHotEncoder replaced by its one-hot columns; ` +
          'move this spec before the encoder.',
        { details: { index, kind, column } },
      );
    }
    if (kind === 'oneHotEncoder') consumed.add(column);
    if (kind === 'imputer') {
      const strategy = spec.strategy;
      if (typeof strategy !== 'string' || !(STRATEGIES as readonly string[]).includes(strategy)) {
        throw new InvalidArgumentError(
          `${where} (imputer on '${column}') has strategy ${describe(strategy)}; use one of ${STRATEGIES.join(', ')}.`,
          { details: { index, kind, column } },
        );
      }
      if (strategy === 'constant') {
        const value = spec.value;
        if (!(typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value)))) {
          throw new InvalidArgumentError(
            `${where} (constant imputer on '${column}') needs a finite number or string 'value', got ${describe(value)}.`,
            { details: { index, kind, column } },
          );
        }
        return { kind, column, strategy, value };
      }
      if (spec.value !== undefined) {
        throw new InvalidArgumentError(
          `${where} (imputer on '${column}') has a 'value' but strategy '${strategy}'; 'value' is only for 'constant'.`,
          { details: { index, kind, column } },
        );
      }
      return { kind, column, strategy: strategy as ImputerSpec['strategy'] };
    }
    if (kind === 'bucketizer') {
      const boundaries = spec.boundaries;
      if (!Array.isArray(boundaries) || boundaries.length === 0) {
        throw new InvalidArgumentError(`${where} (bucketizer on '${column}') needs a non-empty 'boundaries' array.`, {
          details: { index, kind, column },
        });
      }
      for (let i = 0; i < boundaries.length; i++) {
        const b: unknown = boundaries[i];
        if (typeof b !== 'number' || !Number.isFinite(b)) {
          throw new InvalidArgumentError(
            `${where} (bucketizer on '${column}') has boundary ${describe(b)} at position ${i}; boundaries must be finite numbers.`,
            { details: { index, kind, column } },
          );
        }
        if (i > 0 && !((boundaries[i - 1] as number) < b)) {
          throw new InvalidArgumentError(
            `${where} (bucketizer on '${column}') has boundaries out of order at position ${i}; ` +
              'give them strictly ascending, without duplicates.',
            { details: { index, kind, column, boundaries } },
          );
        }
      }
      return { kind, column, boundaries: [...(boundaries as number[])] };
    }
    return { kind, column };
  });
}

// ---------------------------------------------------------------------------------------------------------------------
// Values: every transformation is a per-value function, shared by the columnar and the per-row apply.

type Value = number | string | null;

/** Normalises one input value: `undefined` and `NaN` are missing; anything but a number or string is rejected. */
function normalise(value: unknown, column: string, row: number | undefined): Value {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number') return Number.isNaN(value) ? null : value;
  if (typeof value === 'string') return value;
  const at = row === undefined ? '' : ` in row ${row}`;
  throw new InvalidArgumentError(
    `Column '${column}' has ${describe(value)}${at}; transformations take numbers, strings or null.`,
    { details: { column, ...(row === undefined ? {} : { row }) } },
  );
}

function numericInput(value: Value, kind: TransformKind, column: string, row: number | undefined): number | null {
  if (typeof value === 'string') {
    const at = row === undefined ? '' : ` (row ${row})`;
    throw new InvalidArgumentError(
      `${kind} needs a numeric column but '${column}' has the string ${JSON.stringify(value)}${at}; ` +
        'cast the column, or encode it with labelEncoder or oneHotEncoder first.',
      { details: { kind, column, ...(row === undefined ? {} : { row }) } },
    );
  }
  return value;
}

/**
 * A scale below ten times the float64 epsilon (≈ 2.2e-15) counts as 0 and scales by 1, as scikit-learn does: a
 * constant column (or one of subnormal spread) would otherwise be blown up to infinities by rounding noise.
 */
const SMALLEST_SCALE = 10 * Number.EPSILON;

function nonZero(scale: number): number {
  return Math.abs(scale) < SMALLEST_SCALE ? 1 : scale;
}

function log1pValue(x: number, column: string, row: number | undefined): number {
  if (x <= -1) {
    const at = row === undefined ? '' : ` in row ${row}`;
    throw new InvalidArgumentError(
      `log1p on '${column}' needs values > -1 but got ${x}${at}; shift or clip the column first.`,
      { details: { column, value: x, ...(row === undefined ? {} : { row }) } },
    );
  }
  return Math.log1p(x);
}

/** The number of boundaries `<= x` (binary search). */
function bucketOf(boundaries: readonly number[], x: number): number {
  let lo = 0;
  let hi = boundaries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((boundaries[mid] as number) <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** A compiled fitted transform: per-value functions and the names it writes. */
interface Compiled {
  state: FittedTransform;
  /** Output column names, in order. */
  outputs: string[];
  /** Transforms one value (already normalised) into one value per output. */
  apply(value: Value, row: number | undefined, out: Value[]): void;
}

function compile(state: FittedTransform): Compiled {
  const { column } = state;
  switch (state.kind) {
    case 'standardScaler': {
      const { mean } = state;
      const scale = nonZero(state.std);
      return {
        state, outputs: [column],
        apply(v, row, out) {
          const x = numericInput(v, state.kind, column, row);
          out[0] = x === null ? null : (x - mean) / scale;
        },
      };
    }
    case 'minMaxScaler': {
      const { min } = state;
      const scale = nonZero(state.max - state.min);
      return {
        state, outputs: [column],
        apply(v, row, out) {
          const x = numericInput(v, state.kind, column, row);
          out[0] = x === null ? null : (x - min) / scale;
        },
      };
    }
    case 'robustScaler': {
      const { median } = state;
      const scale = nonZero(state.iqr);
      return {
        state, outputs: [column],
        apply(v, row, out) {
          const x = numericInput(v, state.kind, column, row);
          out[0] = x === null ? null : (x - median) / scale;
        },
      };
    }
    case 'labelEncoder': {
      const codes = new Map<CategoryValue, number>(state.categories.map((c, i) => [c, i]));
      return {
        state, outputs: [column],
        apply(v, _row, out) {
          out[0] = v === null ? null : (codes.get(v) ?? -1);
        },
      };
    }
    case 'oneHotEncoder': {
      const codes = new Map<CategoryValue, number>(state.categories.map((c, i) => [c, i]));
      const n = state.outputColumns.length;
      return {
        state, outputs: state.outputColumns,
        apply(v, _row, out) {
          for (let i = 0; i < n; i++) out[i] = 0;
          const code = v === null ? undefined : codes.get(v);
          if (code !== undefined) out[code] = 1;
        },
      };
    }
    case 'imputer': {
      const fill = state.value;
      return {
        state, outputs: [column],
        apply(v, _row, out) {
          out[0] = v ?? fill;
        },
      };
    }
    case 'log1p':
      return {
        state, outputs: [column],
        apply(v, row, out) {
          const x = numericInput(v, state.kind, column, row);
          out[0] = x === null ? null : log1pValue(x, column, row);
        },
      };
    case 'bucketizer': {
      const { boundaries } = state;
      return {
        state, outputs: [column],
        apply(v, row, out) {
          const x = numericInput(v, state.kind, column, row);
          out[0] = x === null ? null : bucketOf(boundaries, x);
        },
      };
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// Statistics (fitting)

function numericValues(values: readonly Value[], kind: TransformKind, column: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const x = numericInput(values[i] ?? null, kind, column, i);
    if (x === null) continue;
    if (!Number.isFinite(x)) {
      throw new InvalidArgumentError(
        `${kind} on '${column}' cannot be fitted: row ${i} of the training rows is ${x}; remove or clip infinities.`,
        { details: { kind, column, row: i } },
      );
    }
    out.push(x);
  }
  if (out.length === 0) {
    throw new InvalidArgumentError(
      `${kind} on '${column}' cannot be fitted: the column has no non-missing values in the training rows.`,
      { details: { kind, column } },
    );
  }
  return out;
}

function meanOf(xs: readonly number[]): number {
  let sum = 0;
  for (const x of xs) sum += x;
  return sum / xs.length;
}

/** Population standard deviation (ddof = 0), two-pass. */
function stdOf(xs: readonly number[], mean: number): number {
  let sum = 0;
  for (const x of xs) sum += (x - mean) * (x - mean);
  return Math.sqrt(sum / xs.length);
}

/** Quantile of ascending `sorted` with linear interpolation between order statistics (numpy's default method). */
function quantileOf(sorted: readonly number[], p: number): number {
  const h = (sorted.length - 1) * p;
  const lo = Math.floor(h);
  const a = sorted[lo] as number;
  const b = sorted[Math.min(lo + 1, sorted.length - 1)] as number;
  return a + (h - lo) * (b - a);
}

function compareCategories(a: CategoryValue, b: CategoryValue): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  // Code-unit order, not locale order: the same on every machine.
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Counts of the non-missing values, in ascending category order. Mixed numbers and strings are rejected. */
function categoryCounts(values: readonly Value[], kind: TransformKind, column: string): Map<CategoryValue, number> {
  const counts = new Map<CategoryValue, number>();
  let sawNumber = -1;
  let sawString = -1;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] ?? null;
    if (v === null) continue;
    if (typeof v === 'number') sawNumber = sawNumber < 0 ? i : sawNumber;
    else sawString = sawString < 0 ? i : sawString;
    counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  if (sawNumber >= 0 && sawString >= 0) {
    throw new InvalidArgumentError(
      `${kind} on '${column}' found both numbers (row ${sawNumber}) and strings (row ${sawString}); ` +
        'cast the column to one type first.',
      { details: { kind, column, rows: [sawNumber, sawString] } },
    );
  }
  if (counts.size === 0) {
    throw new InvalidArgumentError(
      `${kind} on '${column}' cannot be fitted: the column has no non-missing values in the training rows.`,
      { details: { kind, column } },
    );
  }
  return new Map([...counts].sort((a, b) => compareCategories(a[0], b[0])));
}

/** `${column}_${category}` with unsafe characters replaced, at most 64 characters, unique ignoring case. */
function oneHotNames(column: string, categories: readonly CategoryValue[], taken: Set<string>): string[] {
  return categories.map((category) => {
    const base = `${column}_${String(category).replace(/[^A-Za-z0-9_]/g, '_')}`.slice(0, 64);
    let name = base;
    for (let n = 2; taken.has(name.toLowerCase()); n++) {
      const suffix = `_${n}`;
      name = `${base.slice(0, 64 - suffix.length)}${suffix}`;
    }
    taken.add(name.toLowerCase());
    return name;
  });
}

function fitOne(spec: TransformSpec, values: readonly Value[], taken: Set<string>): FittedTransform {
  const { column } = spec;
  switch (spec.kind) {
    case 'standardScaler': {
      const xs = numericValues(values, spec.kind, column);
      const mean = meanOf(xs);
      return { kind: spec.kind, column, mean, std: stdOf(xs, mean) };
    }
    case 'minMaxScaler': {
      const xs = numericValues(values, spec.kind, column);
      let min = Infinity;
      let max = -Infinity;
      for (const x of xs) {
        if (x < min) min = x;
        if (x > max) max = x;
      }
      return { kind: spec.kind, column, min, max };
    }
    case 'robustScaler': {
      const xs = numericValues(values, spec.kind, column).sort((a, b) => a - b);
      return { kind: spec.kind, column, median: quantileOf(xs, 0.5), iqr: quantileOf(xs, 0.75) - quantileOf(xs, 0.25) };
    }
    case 'labelEncoder':
      return { kind: spec.kind, column, categories: [...categoryCounts(values, spec.kind, column).keys()] };
    case 'oneHotEncoder': {
      const categories = [...categoryCounts(values, spec.kind, column).keys()];
      return { kind: spec.kind, column, categories, outputColumns: oneHotNames(column, categories, taken) };
    }
    case 'imputer': {
      const { strategy } = spec;
      if (strategy === 'constant') {
        const value = spec.value as CategoryValue;
        const clash = values.find((v) => v !== null && typeof v !== typeof value);
        if (clash !== undefined) {
          throw new InvalidArgumentError(
            `The constant imputer on '${column}' fills with ${describe(value)} but the column holds ${typeof clash}s; ` +
              'give a value of the same type.',
            { details: { kind: spec.kind, column } },
          );
        }
        return { kind: spec.kind, column, strategy, value };
      }
      if (strategy === 'mostFrequent') {
        let best: CategoryValue | undefined;
        let bestCount = 0;
        // Ascending order and a strict `>`: ties go to the smallest value, as in scikit-learn.
        for (const [value, count] of categoryCounts(values, spec.kind, column)) {
          if (count > bestCount) {
            best = value;
            bestCount = count;
          }
        }
        return { kind: spec.kind, column, strategy, value: best as CategoryValue };
      }
      const xs = numericValues(values, spec.kind, column);
      const value = strategy === 'mean' ? meanOf(xs) : quantileOf(xs.sort((a, b) => a - b), 0.5);
      return { kind: spec.kind, column, strategy, value };
    }
    case 'log1p':
      values.forEach((v, i) => {
        const x = numericInput(v, spec.kind, column, i);
        if (x !== null) log1pValue(x, column, i);
      });
      return { kind: spec.kind, column };
    case 'bucketizer':
      return { kind: spec.kind, column, boundaries: [...spec.boundaries] };
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// Columnar plumbing

/** Working columns hold normalised values; reading a column converts it from the input once. */
class Columns {
  private readonly working = new Map<string, Value[]>();
  readonly length: number;

  constructor(private readonly input: TransformInput) {
    if (typeof input !== 'object' || input === null) {
      throw new InvalidArgumentError('Columns must be an object mapping column names to arrays.');
    }
    let length: number | undefined;
    let first = '';
    for (const [name, values] of Object.entries(input)) {
      if (values === null || typeof values !== 'object' || typeof values.length !== 'number') {
        throw new InvalidArgumentError(`Column '${name}' must be an array or typed array.`, { details: { column: name } });
      }
      if (length === undefined) {
        length = values.length;
        first = name;
      } else if (values.length !== length) {
        throw new InvalidArgumentError(
          `Column '${name}' has ${values.length} rows but '${first}' has ${length}; all columns must have the same length.`,
          { details: { column: name } },
        );
      }
    }
    this.length = length ?? 0;
  }

  read(column: string, kind: TransformKind): Value[] {
    const current = this.working.get(column);
    if (current !== undefined) return current;
    if (!Object.hasOwn(this.input, column)) {
      const known = Object.keys(this.input);
      throw new InvalidArgumentError(
        `${kind} needs column '${column}', which is not in the columns given (${known.length > 0 ? known.join(', ') : 'none'}).`,
        { details: { kind, column, columns: known } },
      );
    }
    const source = this.input[column] as ArrayLike<unknown>;
    const values = new Array<Value>(source.length);
    for (let i = 0; i < source.length; i++) values[i] = normalise(source[i], column, i);
    if (NUMERIC_KINDS.has(kind)) {
      // Fail early with the first offending rows listed.
      const rows: number[] = [];
      let count = 0;
      for (let i = 0; i < values.length; i++) {
        if (typeof values[i] === 'string') {
          count++;
          if (rows.length < MAX_SHOWN_ROWS) rows.push(i);
        }
      }
      if (count > 0) {
        throw new InvalidArgumentError(
          `${kind} needs a numeric column but '${column}' has strings in ${count} row(s) (${rows.join(', ')}${count > rows.length ? ', …' : ''}); ` +
            'cast the column, or encode it with labelEncoder or oneHotEncoder first.',
          { details: { kind, column, rows, count } },
        );
      }
    }
    return values;
  }

  /** The column as a Float64Array when it is one: given so, or written so by an earlier transformation. */
  typed(column: string): Float64Array | null {
    const current = this.working.get(column) ?? (Object.hasOwn(this.input, column) ? this.input[column] : undefined);
    return current instanceof Float64Array ? current : null;
  }

  write(column: string, values: Value[] | Float64Array): void {
    this.working.set(column, values as Value[]);
  }

  get(column: string): Value[] | undefined {
    return this.working.get(column);
  }
}

/**
 * A numeric transformation with one output over a column of numbers without NaN, computed into a Float64Array
 * (a million rows: milliseconds instead of boxing every value) — or null when any input or output is not a plain
 * number, for the general path to handle. The values are exactly those the general path gives.
 */
function numbersOnly(compiled: Compiled, source: Float64Array | null, length: number): Float64Array | null {
  if (source === null || compiled.outputs.length !== 1 || !NUMERIC_KINDS.has(compiled.state.kind)) return null;
  const result = new Float64Array(length);
  const out: Value[] = [null];
  for (let i = 0; i < length; i++) {
    const value = source[i]!;
    if (Number.isNaN(value)) return null;
    compiled.apply(value, i, out);
    const produced = out[0];
    if (typeof produced !== 'number') return null;
    result[i] = produced;
  }
  return result;
}

function runColumnar(compiled: Compiled, values: readonly Value[], length: number): Value[][] {
  const outputs = compiled.outputs.map(() => new Array<Value>(length));
  const out = new Array<Value>(outputs.length);
  for (let i = 0; i < length; i++) {
    compiled.apply(values[i] ?? null, i, out);
    for (let j = 0; j < outputs.length; j++) (outputs[j] as Value[])[i] = out[j] ?? null;
  }
  return outputs;
}

function toOutput(values: readonly Value[]): TransformOutputColumn {
  if (values instanceof Float64Array) return values;
  for (const v of values) if (typeof v !== 'number') return values.slice();
  return Float64Array.from(values as number[]);
}

/** Output column names of fitted state, in order, with the names of one-hot sources removed. */
function outputOrder(compiled: readonly Compiled[]): string[] {
  const order: string[] = [];
  const seen = new Set<string>();
  for (const c of compiled) {
    if (c.state.kind === 'oneHotEncoder') {
      const at = order.indexOf(c.state.column);
      if (at >= 0) order.splice(at, 1);
      seen.delete(c.state.column);
    }
    for (const name of c.outputs) {
      if (!seen.has(name)) {
        seen.add(name);
        order.push(name);
      }
    }
  }
  return order;
}

function checkFitted(fitted: unknown): Compiled[] {
  const f = fitted as Partial<FittedTransforms> | null;
  if (typeof f !== 'object' || f === null || f.version !== 1 || !Array.isArray(f.transforms)) {
    throw new InvalidArgumentError(
      'Fitted transformations must be the { version: 1, transforms: [...] } object returned by fitTransforms.',
    );
  }
  return f.transforms.map((state, index) => {
    const s = state as Partial<FittedTransform> | null;
    if (typeof s !== 'object' || s === null || !(KINDS as readonly (string | undefined)[]).includes(s.kind)) {
      throw new InvalidArgumentError(
        `Fitted transformation #${index} has unknown kind ${describe(s?.kind)}; refit it with fitTransforms.`,
        { details: { index } },
      );
    }
    return compile(state);
  });
}

// ---------------------------------------------------------------------------------------------------------------------
// Public API

/**
 * Fits the transformations on training columns (the train split only) and returns their state as plain JSON.
 * Specs run in order, each fitted on the output of the ones before it. Missing values are skipped.
 *
 * Throws {@link InvalidArgumentError} for bad specs, a missing column, strings in a numeric transformation, a column
 * with no non-missing values, or mixed numbers and strings in an encoder.
 *
 * @example
 * ```ts
 * const fitted = fitTransforms(
 *   [
 *     { kind: 'imputer', column: 'temp', strategy: 'median' },
 *     { kind: 'standardScaler', column: 'temp' },
 *     { kind: 'labelEncoder', column: 'city' },
 *   ],
 *   { temp: [10, null, 14], city: ['Oslo', 'Bergen', 'Oslo'] },
 * );
 * // fitted.transforms[1] → { kind: 'standardScaler', column: 'temp', mean: 12, std: 1.632… }
 * ```
 */
export function fitTransforms(specs: readonly TransformSpec[], columns: TransformInput): FittedTransforms {
  const checked = validateTransformSpecs(specs);
  const data = new Columns(columns);
  const taken = new Set<string>();
  for (const name of Object.keys(columns)) taken.add(name.toLowerCase());
  for (const spec of checked) taken.add(spec.column.toLowerCase());
  const transforms: FittedTransform[] = [];
  for (const spec of checked) {
    const values = data.read(spec.column, spec.kind);
    const state = fitOne(spec, values, taken);
    transforms.push(state);
    const compiled = compile(state);
    const outputs = runColumnar(compiled, values, data.length);
    compiled.outputs.forEach((name, j) => data.write(name, outputs[j] as Value[]));
  }
  return { version: 1, transforms };
}

/**
 * Applies fitted state to columns (train or test rows) without refitting. Returns only the columns the
 * transformations write, each a `Float64Array` when it has no missing values (see {@link TransformOutputColumn}).
 *
 * @example
 * ```ts
 * const fitted = fitTransforms([{ kind: 'minMaxScaler', column: 'x' }], { x: [0, 10] });
 * applyTransforms(fitted, { x: [5, 20, null] }); // { x: [0.5, 2, null] }
 * applyTransforms(fitted, { x: new Float64Array([5]) }); // { x: Float64Array [0.5] }
 * ```
 */
export function applyTransforms(
  fitted: FittedTransforms,
  columns: TransformInput,
): Record<string, TransformOutputColumn> {
  const compiled = checkFitted(fitted);
  const data = new Columns(columns);
  for (const c of compiled) {
    const typed = numbersOnly(c, data.typed(c.state.column), data.length);
    if (typed !== null) {
      data.write(c.outputs[0]!, typed);
      continue;
    }
    const values = data.read(c.state.column, c.state.kind);
    const outputs = runColumnar(c, values, data.length);
    c.outputs.forEach((name, j) => data.write(name, outputs[j] as Value[]));
  }
  const result: Record<string, TransformOutputColumn> = {};
  for (const name of outputOrder(compiled)) result[name] = toOutput(data.get(name) as Value[]);
  return result;
}

/**
 * Applies fitted state to one row — an online feature vector — giving exactly the numbers {@link applyTransforms}
 * gives for the same row. Returns only the fields the transformations write; missing values are `null`.
 *
 * @example
 * ```ts
 * const fitted = fitTransforms([{ kind: 'oneHotEncoder', column: 'city' }], { city: ['Oslo', 'Bergen'] });
 * applyTransformsToRow(fitted, { city: 'Oslo', temp: 3 }); // { city_Bergen: 0, city_Oslo: 1 }
 * const vector = { ...row, ...applyTransformsToRow(fitted, row) }; // merge with the untouched features
 * ```
 */
export function applyTransformsToRow(fitted: FittedTransforms, row: Record<string, unknown>): Record<string, unknown> {
  const compiled = checkFitted(fitted);
  if (typeof row !== 'object' || row === null) {
    throw new InvalidArgumentError('The row must be an object mapping column names to values.');
  }
  const working = new Map<string, Value>();
  for (const c of compiled) {
    const { column, kind } = c.state;
    let value = working.get(column);
    if (value === undefined) {
      if (!Object.hasOwn(row, column)) {
        throw new InvalidArgumentError(`${kind} needs field '${column}', which the row does not have.`, {
          details: { kind, column, fields: Object.keys(row) },
        });
      }
      value = normalise(row[column], column, undefined);
    }
    const out = new Array<Value>(c.outputs.length);
    c.apply(value, undefined, out);
    c.outputs.forEach((name, j) => working.set(name, out[j] ?? null));
  }
  const result: Record<string, unknown> = {};
  for (const name of outputOrder(compiled)) result[name] = working.get(name) ?? null;
  return result;
}
