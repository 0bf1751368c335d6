import { InvalidArgumentError } from '../errors.ts';
import { isNumericType, type FeatureType } from './types.ts';

/** Every value of the column is non-null. */
export interface NotNullExpectation {
  kind: 'notNull';
  column: string;
}
/** Every non-null value lies in [min, max] (inclusive; either bound may be omitted). */
export interface BetweenExpectation {
  kind: 'between';
  column: string;
  min?: number;
  max?: number;
}
/** Every non-null value is one of the listed values. */
export interface InSetExpectation {
  kind: 'inSet';
  column: string;
  values: (string | number | boolean)[];
}
/** No two current rows share primary key and event time. */
export interface UniqueExpectation {
  kind: 'unique';
}
/** Every non-null string value contains a match of the pattern (RE2 syntax, evaluated by DuckDB). */
export interface MatchesExpectation {
  kind: 'matches';
  column: string;
  pattern: string;
}
/** The batch has between min and max rows (inclusive). */
export interface RowCountExpectation {
  kind: 'rowCount';
  min?: number;
  max?: number;
}

/** One expectation of a suite. */
export type Expectation =
  | NotNullExpectation
  | BetweenExpectation
  | InSetExpectation
  | UniqueExpectation
  | MatchesExpectation
  | RowCountExpectation;

/**
 * An expectation suite checked on every write. `strict` rejects a batch that breaks any expectation
 * (`ExpectationFailedError`); `warn` writes it and attaches the report to the commit.
 *
 * @example
 * ```ts
 * const suite: ExpectationSuite = {
 *   policy: 'strict',
 *   expectations: [
 *     expect.notNull('temp_max'),
 *     expect.between('temp_max', -60, 60),
 *     expect.inSet('weather', ['sun', 'rain', 'fog', 'drizzle', 'snow']),
 *     expect.unique(),
 *   ],
 * };
 * ```
 */
export interface ExpectationSuite {
  policy: 'strict' | 'warn';
  expectations: Expectation[];
}

/** The outcome of one expectation on one batch. */
export interface ExpectationResult {
  expectation: Expectation;
  success: boolean;
  /** Rows (or, for `unique`, duplicate key groups; for `rowCount`, 0 or 1) that broke the expectation. */
  unexpectedCount: number;
  /** Up to 10 offending values. */
  sample: unknown[];
}

/** The report of an expectation suite on one batch, stored with the commit. */
export interface ValidationReport {
  policy: 'strict' | 'warn';
  success: boolean;
  rowCount: number;
  evaluatedAt: number;
  results: ExpectationResult[];
}

/** Builders for expectations, so suites read like sentences. */
export const expect = {
  notNull: (column: string): NotNullExpectation => ({ kind: 'notNull', column }),
  between: (column: string, min?: number, max?: number): BetweenExpectation => ({
    kind: 'between',
    column,
    ...(min === undefined ? {} : { min }),
    ...(max === undefined ? {} : { max }),
  }),
  inSet: (column: string, values: (string | number | boolean)[]): InSetExpectation => ({ kind: 'inSet', column, values }),
  unique: (): UniqueExpectation => ({ kind: 'unique' }),
  matches: (column: string, pattern: string): MatchesExpectation => ({ kind: 'matches', column, pattern }),
  rowCount: (min?: number, max?: number): RowCountExpectation => ({
    kind: 'rowCount',
    ...(min === undefined ? {} : { min }),
    ...(max === undefined ? {} : { max }),
  }),
};

function finiteOrUndefined(value: unknown, what: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new InvalidArgumentError(`${what} must be a finite number, got ${JSON.stringify(value)}.`);
  }
  return value;
}

/**
 * Validates a suite against the group's columns (name → type) and returns a normalised copy. Each expectation must
 * suit its column's type (a range needs numbers, a pattern needs strings), or it could only fail at write time.
 */
export function normalizeExpectationSuite(suite: unknown, columns: ReadonlyMap<string, FeatureType>): ExpectationSuite {
  if (typeof suite !== 'object' || suite === null) throw new InvalidArgumentError('expectations must be an object.');
  const { policy, expectations } = suite as Partial<ExpectationSuite>;
  if (policy !== 'strict' && policy !== 'warn') {
    throw new InvalidArgumentError(`expectations.policy must be 'strict' or 'warn', got ${JSON.stringify(policy)}.`);
  }
  if (!Array.isArray(expectations)) throw new InvalidArgumentError('expectations.expectations must be an array.');
  const checkColumn = (column: unknown, kind: string, accepts?: (type: FeatureType) => boolean, needs?: string): string => {
    const type = typeof column === 'string' ? columns.get(column) : undefined;
    if (type === undefined) {
      throw new InvalidArgumentError(
        `Expectation '${kind}' names column ${JSON.stringify(column)}, which is not in the feature group.`,
      );
    }
    if (accepts !== undefined && !accepts(type)) {
      throw new InvalidArgumentError(`Expectation '${kind}' needs ${needs ?? 'another'} column, but '${String(column)}' is ${type}.`);
    }
    return column as string;
  };
  const normalized = expectations.map((raw: unknown): Expectation => {
    const e = raw as Record<string, unknown>;
    switch (e['kind']) {
      case 'notNull':
        return { kind: 'notNull', column: checkColumn(e['column'], 'notNull') };
      case 'between': {
        const min = finiteOrUndefined(e['min'], 'between.min');
        const max = finiteOrUndefined(e['max'], 'between.max');
        if (min === undefined && max === undefined) throw new InvalidArgumentError('between needs min or max.');
        return expect.between(checkColumn(e['column'], 'between', isNumericType, 'a numeric'), min, max);
      }
      case 'inSet': {
        const values = e['values'];
        if (!Array.isArray(values) || values.some((v) => !['string', 'number', 'boolean'].includes(typeof v))) {
          throw new InvalidArgumentError('inSet.values must be an array of strings, numbers or booleans.');
        }
        const column = checkColumn(e['column'], 'inSet', (t) => t === 'string' || t === 'bool' || isNumericType(t), 'a string, bool or numeric');
        const type = columns.get(column)!;
        const valueType = type === 'string' ? 'string' : type === 'bool' ? 'boolean' : 'number';
        if (values.some((v) => typeof v !== valueType || (typeof v === 'number' && !Number.isFinite(v)))) {
          throw new InvalidArgumentError(`inSet on '${column}' (${type}) needs ${valueType} values, got ${JSON.stringify(values)}.`);
        }
        return { kind: 'inSet', column, values: [...(values as (string | number | boolean)[])] };
      }
      case 'unique':
        return { kind: 'unique' };
      case 'matches': {
        const pattern = e['pattern'];
        if (typeof pattern !== 'string' || pattern.length === 0) {
          throw new InvalidArgumentError('matches.pattern must be a non-empty string.');
        }
        return { kind: 'matches', column: checkColumn(e['column'], 'matches', (t) => t === 'string', 'a string'), pattern };
      }
      case 'rowCount': {
        const min = finiteOrUndefined(e['min'], 'rowCount.min');
        const max = finiteOrUndefined(e['max'], 'rowCount.max');
        if (min === undefined && max === undefined) throw new InvalidArgumentError('rowCount needs min or max.');
        return expect.rowCount(min, max);
      }
      default:
        throw new InvalidArgumentError(`Unknown expectation kind ${JSON.stringify(e['kind'])}.`);
    }
  });
  return { policy, expectations: normalized };
}
