import { DataType, Int64, Null, Table, makeData, makeVector, util, type Vector } from 'apache-arrow';
import type { FeatureGroupDefinition } from '../definitions/feature-group.ts';
import { nameKey } from '../definitions/names.ts';
import type { ValidationProblem } from '../errors.ts';
import { arrowInstants, arrowTypeOf, buildVector } from './columns.ts';

/** Hidden columns every offline table carries after the feature columns. */
export const COMMIT_COLUMN = '_larder_commit';
export const SUPERSEDED_COLUMN = '_larder_superseded';

/** Collects per-row failures into problems, keeping the first 10 row numbers of each (column, kind). */
export class ProblemCollector {
  private readonly problems = new Map<string, ValidationProblem>();

  add(column: string, kind: ValidationProblem['kind'], row: number, message: string): void {
    const key = `${column}\u0000${kind}`;
    let problem = this.problems.get(key);
    if (problem === undefined) {
      problem = { column, kind, rows: [], count: 0, message };
      this.problems.set(key, problem);
    }
    problem.count++;
    if (problem.rows.length < 10) problem.rows.push(row);
  }

  addProblem(problem: ValidationProblem): void {
    this.problems.set(`${problem.column}\u0000${problem.kind}`, problem);
  }

  get list(): ValidationProblem[] {
    return [...this.problems.values()];
  }

  get empty(): boolean {
    return this.problems.size === 0;
  }
}

/** Finds the input column for a declared name: the exact name, else the only case-insensitive match. */
export function matchColumns(declared: readonly string[], given: readonly string[]): Map<string, string> {
  const exact = new Set(given);
  const folded = new Map<string, string>();
  for (const name of given) folded.set(nameKey(name), name);
  const out = new Map<string, string>();
  for (const name of declared) {
    const match = exact.has(name) ? name : folded.get(nameKey(name));
    if (match !== undefined) out.set(name, match);
  }
  return out;
}

function missingProblems(definition: FeatureGroupDefinition, found: Map<string, string>, problems: ProblemCollector): void {
  for (const feature of definition.features) {
    if (!found.has(feature.name)) {
      problems.addProblem({
        column: feature.name,
        kind: 'missing_column',
        rows: [],
        count: 0,
        message: `column '${feature.name}' (${feature.type}) is missing from the batch`,
      });
    }
  }
}

/** Whether a column can be stored as it is. */
function isCanonical(type: DataType, target: DataType): boolean {
  // An Arrow IPC round trip turns an absent time zone into null, which util.compareTypes tells apart from undefined.
  if (DataType.isTimestamp(type) && DataType.isTimestamp(target)) {
    return type.unit === target.unit && (type.timezone ?? null) === (target.timezone ?? null);
  }
  return util.compareTypes(type, target);
}

/**
 * Converts an Arrow table of any compatible column types into the group's canonical column types, in table
 * order. Columns already of the canonical type are reused without copying. Extra columns are ignored.
 */
export function conformTable(definition: FeatureGroupDefinition, input: Table, problems: ProblemCollector): Vector[] {
  const found = matchColumns(
    definition.features.map((f) => f.name),
    input.schema.fields.map((f) => f.name),
  );
  missingProblems(definition, found, problems);
  if (!problems.empty) return [];
  return definition.features.map((feature) => {
    const column: Vector = input.getChild(found.get(feature.name)!)!;
    if (isCanonical(column.type as DataType, arrowTypeOf(feature.type))) return column;
    const instants = feature.type === 'timestamp' || feature.type === 'date' ? arrowInstants(column) : null;
    return buildVector(feature.type, input.numRows, instants ?? ((row): unknown => column.get(row)), (row, f) =>
      problems.add(feature.name, f.kind, row, `column '${feature.name}': ${f.message}`),
    );
  });
}

/** Builds the group's canonical columns from plain row objects (own properties only, so `__proto__` is inert). */
export function columnsFromRows(
  definition: FeatureGroupDefinition,
  rows: readonly Record<string, unknown>[],
  problems: ProblemCollector,
): Vector[] {
  const given = new Set<string>();
  let objects = 0;
  rows.forEach((row, index) => {
    if (typeof row !== 'object' || row === null || Array.isArray(row)) {
      problems.add('*', 'wrong_type', index, 'rows must be objects mapping column names to values');
    } else if (objects++ < 1000) {
      for (const key of Object.keys(row)) given.add(key);
    }
  });
  // Column names come from the first 1000 objects; later rows may omit nullable columns. With no objects at all
  // (an empty batch, or nothing but non-objects) there are no columns to miss.
  const found = matchColumns(definition.features.map((f) => f.name), [...given]);
  if (objects > 0) missingProblems(definition, found, problems);
  if (!problems.empty) return [];
  return definition.features.map((feature) => {
    const key = found.get(feature.name)!;
    return buildVector(
      feature.type,
      rows.length,
      (row) => {
        const record = rows[row] as Record<string, unknown>;
        return Object.hasOwn(record, key) ? record[key] : undefined;
      },
      (row, f) => problems.add(feature.name, f.kind, row, `column '${feature.name}': ${f.message}`),
    );
  });
}

/** The table as stored: feature columns, then the commit id and an all-null superseded-by column. */
export function storedTable(definition: FeatureGroupDefinition, columns: Vector[], commitId: bigint): Table {
  const length = columns[0]?.length ?? 0;
  const commit = new BigInt64Array(length).fill(commitId);
  const commitVector = makeVector(makeData({ type: new Int64(), length, data: commit }));
  // A Null-typed column carries no buffers; DuckDB casts it to the table's BIGINT NULLs on insert.
  const superseded = makeVector(makeData({ type: new Null(), length }));
  const entries: [string, Vector][] = definition.features.map((f, i) => [f.name, columns[i]!]);
  entries.push([COMMIT_COLUMN, commitVector], [SUPERSEDED_COLUMN, superseded]);
  return new Table(Object.fromEntries(entries));
}

/** The message of a null or NaN problem, the same whichever path (JS over Arrow, SQL over CSV) found it. */
export function valueProblemMessage(column: string, kind: 'null_key' | 'null_value' | 'nan'): string {
  if (kind === 'nan') return `column '${column}' has NaN, which it does not allow`;
  return kind === 'null_key' ? `column '${column}' is a key or event time and cannot be null` : `column '${column}' is not nullable`;
}

/**
 * Nulls in non-nullable columns and NaN where not allowed, found on the Arrow columns before anything is written:
 * null counts are known per chunk, and NaN is one pass over the float values.
 */
export function checkColumnValues(definition: FeatureGroupDefinition, columns: readonly Vector[], problems: ProblemCollector): void {
  const keys = new Set([...definition.primaryKey, definition.eventTime]);
  definition.features.forEach((feature, index) => {
    const vector = columns[index];
    if (vector === undefined) return;
    const checkNaN = (feature.type === 'float32' || feature.type === 'float64') && !feature.allowNaN;
    if (feature.nullable && !checkNaN) return;
    const nullKind = keys.has(feature.name) ? 'null_key' : 'null_value';
    let base = 0;
    for (const chunk of vector.data) {
      const bitmap = chunk.nullCount > 0 ? chunk.nullBitmap : null;
      const valid = (i: number): boolean => bitmap === null || bitmap === undefined || ((bitmap[(chunk.offset + i) >> 3]! >> ((chunk.offset + i) & 7)) & 1) === 1;
      if (!feature.nullable && chunk.nullCount > 0) {
        for (let i = 0; i < chunk.length; i++) {
          if (!valid(i)) problems.add(feature.name, nullKind, base + i, valueProblemMessage(feature.name, nullKind));
        }
      }
      if (checkNaN) {
        const values = chunk.values as Float32Array | Float64Array;
        for (let i = 0; i < chunk.length; i++) {
          const v = values[i]!;
          if (v !== v && valid(i)) problems.add(feature.name, 'nan', base + i, valueProblemMessage(feature.name, 'nan'));
        }
      }
      base += chunk.length;
    }
  });
}
