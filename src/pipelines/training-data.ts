import { DataType, Float64, Int8, Table, TimestampMicrosecond, Utf8, makeData, makeVector, vectorFromArray, type Vector } from 'apache-arrow';
import type { FeatureGroupDefinition } from '../definitions/feature-group.ts';
import type { FeatureViewDefinition } from '../definitions/feature-view.ts';
import { nameKey } from '../definitions/names.ts';
import type { FeatureType } from '../definitions/types.ts';
import { InvalidArgumentError, LarderError } from '../errors.ts';
import { buildVector } from '../ingest/columns.ts';
import { COMMIT_COLUMN, SUPERSEDED_COLUMN } from '../ingest/conform.ts';
import { pointInTimeIndices, type KeyColumn, type PitGroup } from '../offline/pit/join.ts';
import { applyTransforms, fitTransforms, type FittedTransforms, type TransformInput } from '../transforms/model-dependent.ts';
import { numeric } from '../models/matrix.ts';
import type { SplitSpec } from '../registry/types.ts';
import type { OnDemandRegistry } from '../transforms/on-demand.ts';
import { seededRandom } from '../util/random.ts';

export { seededRandom };

/** The column that says which split a stored training row belongs to. */
export const SPLIT_COLUMN = '_larder_split';

export type SplitName = 'train' | 'test' | 'validation';

/** Epoch microseconds of a Timestamp(µs) vector as float64 (exact until 2255); nulls become NaN. */
export function microsOf(vector: Vector): Float64Array {
  return int64AsFloat(vector);
}

/**
 * A nullable int64 (or timestamp) column as float64, nulls (and a column of Arrow Null type) as NaN. Each int64 is
 * read as two 32-bit halves (little-endian, as on every platform browsers run on): hi * 2^32 + unsigned lo is the
 * same double as Number(bigint) whenever |value| < 2^53 (until the year 2255 in µs), without creating a BigInt.
 */
function int64AsFloat(vector: Vector): Float64Array {
  const out = new Float64Array(vector.length);
  let row = 0;
  for (const chunk of vector.data) {
    const values = chunk.values as BigInt64Array | undefined;
    if (values === undefined) {
      out.fill(Number.NaN, row, row + chunk.length);
      row += chunk.length;
      continue;
    }
    const words = new Int32Array(values.buffer, values.byteOffset, values.length * 2);
    const valid = chunk.nullCount === 0 ? null : chunk;
    for (let i = 0; i < chunk.length; i++, row++) {
      const hi = words[2 * i + 1]!;
      out[row] = valid !== null && !valid.getValid(i)
        ? Number.NaN
        : hi >= -0x200000 && hi < 0x200000 ? hi * 4294967296 + (words[2 * i]! >>> 0) : Number(values[i]!);
    }
  }
  return out;
}

function keyColumn(vector: Vector): KeyColumn {
  // Keys are never null in stored rows or conformed spines, so fixed-width keys can be read straight from the
  // buffers, chunk after chunk (DuckDB returns 2048-row batches).
  const first = vector.data[0]?.values as unknown;
  if (vector.nullCount === 0 && (first instanceof Int32Array || first instanceof BigInt64Array)) {
    if (vector.data.length === 1) return first.subarray(0, vector.length);
    const out = first instanceof Int32Array ? new Int32Array(vector.length) : new BigInt64Array(vector.length);
    let row = 0;
    for (const chunk of vector.data) {
      (out as Int32Array).set((chunk.values as Int32Array).subarray(0, chunk.length), row);
      row += chunk.length;
    }
    return out;
  }
  const out = new Array<number | bigint | string | null>(vector.length);
  for (let i = 0; i < vector.length; i++) out[i] = (vector.get(i) as number | bigint | string | null) ?? null;
  return out;
}

/** A group's stored rows (feature columns plus the hidden commit and superseded-by columns) as the join needs them. */
export function pitGroupOf(definition: FeatureGroupDefinition, rows: Table, commitTimesMs: ReadonlyMap<number, number>): PitGroup {
  const commitId = int64AsFloat(rows.getChild(COMMIT_COLUMN)!);
  const superseded = int64AsFloat(rows.getChild(SUPERSEDED_COLUMN)!);
  const n = rows.numRows;
  // Commit ids are small positive integers: a dense table of commit times in µs (NaN: unknown commit).
  let largest = 0;
  for (const id of commitTimesMs.keys()) largest = Math.max(largest, id);
  const micros = new Float64Array(largest + 2).fill(Number.NaN);
  for (const [id, ms] of commitTimesMs) if (id >= 0) micros[id] = ms * 1000;
  const timeOf = (id: number): number => (id >= 0 && id <= largest ? micros[id]! : Number.NaN); // NaN ids fail both tests
  const committedAt = new Float64Array(n);
  const supersededAt = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    committedAt[i] = timeOf(commitId[i]!);
    supersededAt[i] = timeOf(superseded[i]!);
  }
  return {
    keys: definition.primaryKey.map((k) => keyColumn(rows.getChild(k)!)),
    time: microsOf(rows.getChild(definition.eventTime)!),
    commitId,
    committedAt,
    supersededAt,
  };
}

const FIXED_WIDTH = new Set(['int32', 'int64', 'float32', 'float64', 'timestamp', 'date']);

/** Rows `indices` of a fixed-width column (−1 → null), copied buffer to buffer. */
function gatherFixed(source: Vector, indices: Int32Array): Vector {
  const chunks = source.data;
  const starts = new Int32Array(chunks.length + 1);
  chunks.forEach((c, i) => (starts[i + 1] = starts[i]! + c.length));
  const first = chunks[0]!;
  const Values = (first.values as unknown as { constructor: new (n: number) => Int32Array | Float64Array }).constructor;
  const out = new Values(indices.length);
  const validity = new Uint8Array((indices.length + 7) >> 3);
  let nullCount = 0;
  const type: DataType = first.type as DataType;
  if (chunks.every((c) => c.nullCount === 0)) {
    // No nulls: one contiguous copy of the values (DuckDB returns 2048-row batches), then a straight indexed copy;
    // only unmatched rows are null.
    let values = first.values as Int32Array | Float64Array;
    if (chunks.length > 1) {
      values = new Values(starts[chunks.length]!);
      const target = values as unknown as { set(source: ArrayLike<unknown>, offset: number): void };
      chunks.forEach((c, i) => target.set((c.values as Int32Array).subarray(0, c.length), starts[i]!));
    }
    for (let row = 0; row < indices.length; row++) {
      const index = indices[row]!;
      if (index < 0) nullCount++;
      else {
        out[row] = values[index]!;
        validity[row >> 3]! |= 1 << (row & 7);
      }
    }
    return makeVector(makeData({ type, length: indices.length, nullCount, nullBitmap: nullCount === 0 ? null : validity, data: out } as never));
  }
  let chunkIndex = 0;
  for (let row = 0; row < indices.length; row++) {
    const index = indices[row]!;
    if (index < 0) {
      nullCount++;
      continue;
    }
    if (index < starts[chunkIndex]! || index >= starts[chunkIndex + 1]!) {
      let lo = 0;
      let hi = chunks.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (starts[mid]! <= index) lo = mid;
        else hi = mid - 1;
      }
      chunkIndex = lo;
    }
    const chunk = chunks[chunkIndex]!;
    const local = index - starts[chunkIndex]!;
    if (!chunk.getValid(local)) {
      nullCount++;
      continue;
    }
    out[row] = (chunk.values as Int32Array | Float64Array)[local]!;
    validity[row >> 3]! |= 1 << (row & 7);
  }
  return makeVector(makeData({ type, length: indices.length, nullCount, nullBitmap: nullCount === 0 ? null : validity, data: out } as never));
}

/** Rows `indices` of a Utf8 column (−1 → null), copied as bytes: no string is decoded or re-encoded. */
function gatherUtf8(source: Vector, indices: Int32Array): Vector {
  // The chunks' offsets and bytes, made contiguous once (DuckDB returns 2048-row batches).
  let rows = 0;
  let bytes = 0;
  for (const c of source.data) {
    const o = c.valueOffsets as Int32Array;
    rows += c.length;
    bytes += o[c.length]! - o[0]!;
  }
  const offsets = new Int32Array(rows + 1);
  const data = new Uint8Array(bytes);
  const valid = source.nullCount > 0 ? new Uint8Array(rows) : null;
  let r = 0;
  let b = 0;
  for (const c of source.data) {
    const o = c.valueOffsets as Int32Array;
    const base = o[0]!;
    data.set((c.values as Uint8Array).subarray(base, o[c.length]), b);
    for (let i = 0; i < c.length; i++) {
      offsets[r + i] = b + (o[i]! - base);
      if (valid !== null) valid[r + i] = c.getValid(i) ? 1 : 0;
    }
    r += c.length;
    b += o[c.length]! - base;
  }
  offsets[rows] = b;
  const present = (index: number): boolean => index >= 0 && (valid === null || valid[index] === 1);
  let outBytes = 0;
  for (let row = 0; row < indices.length; row++) {
    const index = indices[row]!;
    if (present(index)) outBytes += offsets[index + 1]! - offsets[index]!;
  }
  const outOffsets = new Int32Array(indices.length + 1);
  const outData = new Uint8Array(outBytes);
  const validity = new Uint8Array((indices.length + 7) >> 3);
  let nullCount = 0;
  let at = 0;
  for (let row = 0; row < indices.length; row++) {
    const index = indices[row]!;
    if (present(index)) {
      outData.set(data.subarray(offsets[index], offsets[index + 1]), at);
      at += offsets[index + 1]! - offsets[index]!;
      validity[row >> 3]! |= 1 << (row & 7);
    } else {
      nullCount++;
    }
    outOffsets[row + 1] = at;
  }
  return makeVector(makeData({ type: new Utf8(), length: indices.length, nullCount, nullBitmap: nullCount === 0 ? null : validity, valueOffsets: outOffsets, data: outData }));
}

function isIdentity(indices: Int32Array, length: number): boolean {
  if (indices.length !== length) return false;
  for (let i = 0; i < indices.length; i++) if (indices[i] !== i) return false;
  return true;
}

/** Rows `indices` of a column (−1 → null) as a column of the feature's type (the source itself when it is all of it). */
export function gather(source: Vector, type: FeatureType, indices: Int32Array): Vector {
  const fixed = FIXED_WIDTH.has(type) && source.data.length > 0 && source.data.every((c) => c.values !== undefined);
  const utf8 = type === 'string' && source.data.length > 0 && source.data.every((c) => String(c.type) === 'Utf8' && c.valueOffsets !== undefined);
  // Every row of the source, in order (batch data: each entity's own latest row): the source is the result.
  if ((fixed || utf8) && isIdentity(indices, source.length)) return source;
  if (fixed) return gatherFixed(source, indices);
  if (utf8) return gatherUtf8(source, indices);
  return buildVector(
    type,
    indices.length,
    (row) => {
      const index = indices[row]!;
      return index < 0 ? null : (source.get(index) as unknown);
    },
    (_row, failure) => {
      throw new LarderError('STORAGE_FAILED', `Gathering a stored value failed: ${failure.message}`);
    },
  );
}

/** A feature group's definition and stored rows (with the hidden commit and superseded-by columns). */
export interface GroupRows {
  definition: FeatureGroupDefinition;
  rows: Table;
}

/**
 * Point-in-time-correct feature rows for a spine, built one group at a time (so a caller can join one group while
 * the next is still being read): for each view join, the row each spine row sees (see `pointInTimeIndices`); then
 * one Arrow table of spine keys, event time, features (view order) and labels.
 */
export class FeatureJoin {
  private readonly spineTime: Float64Array;
  private readonly groups = new Map<string, { rows: Table; side: PitGroup }>();
  private readonly indicesByJoin: Int32Array[] = [];
  /** The rows each join's indices point into (joins of one group share them, unless a join's rows were chosen). */
  private readonly rowsByJoin: Table[] = [];

  constructor(
    private readonly view: FeatureViewDefinition,
    private readonly spine: Table,
    private readonly commitTimesMs: ReadonlyMap<number, number>,
    private readonly asOfKnown: boolean,
  ) {
    this.spineTime = microsOf(spine.getChild(view.spine.eventTime)!);
  }

  /** Joins the next join of the view (they go in order) with its group's rows. */
  add(group: GroupRows): void {
    const index = this.indicesByJoin.length;
    const join = this.view.joins[index];
    if (join === undefined) throw new InvalidArgumentError(`Feature view ${this.view.name} has only ${index} joins.`);
    const id = groupId(join.group, join.version);
    let known = this.groups.get(id);
    if (known === undefined) {
      known = { rows: group.rows, side: pitGroupOf(group.definition, group.rows, this.commitTimesMs) };
      this.groups.set(id, known);
    }
    const ttl = group.definition.ttlSeconds === null ? null : group.definition.ttlSeconds * 1e6;
    const spineSide = { keys: join.spineKeys.map((k) => keyColumn(this.spine.getChild(k)!)), time: this.spineTime };
    this.indicesByJoin.push(pointInTimeIndices(spineSide, known.side, { ttl, asOfKnown: this.asOfKnown }));
    this.rowsByJoin.push(known.rows);
  }

  /**
   * Takes the next join as already resolved by the caller: spine row i sees row `indices[i]` of `rows` (−1: none).
   * For a caller whose engine found the rows itself (batch data: each entity's latest row, found by DuckDB).
   */
  addChosen(rows: Table, indices: Int32Array): void {
    if (this.view.joins[this.indicesByJoin.length] === undefined) throw new InvalidArgumentError(`Feature view ${this.view.name} has only ${this.indicesByJoin.length} joins.`);
    if (indices.length !== this.spine.numRows) throw new InvalidArgumentError(`${indices.length} chosen rows for a spine of ${this.spine.numRows}.`);
    this.indicesByJoin.push(indices);
    this.rowsByJoin.push(rows);
  }

  /** The joined rows, once every join is added. */
  result(): Table {
    if (this.indicesByJoin.length !== this.view.joins.length) throw new InvalidArgumentError('Add every join of the view first.');
    const columns: Record<string, Vector> = {};
    for (const k of this.view.spine.keys) columns[k] = this.spine.getChild(k)!;
    columns[this.view.spine.eventTime] = this.spine.getChild(this.view.spine.eventTime)!;
    for (const f of this.view.features) {
      columns[f.name] = gather(this.rowsByJoin[f.join]!.getChild(f.column)!, f.type, this.indicesByJoin[f.join]!);
    }
    for (const l of this.view.labels) {
      // Batch data has no labels: its spine is entities at an instant.
      const label = this.spine.getChild(l.name);
      if (label !== null) columns[l.name] = label;
    }
    return new Table(columns);
  }
}

/** The key of a feature-group version in maps of group rows. */
export function groupId(name: string, version: number): string {
  return `${nameKey(name)}@${version}`;
}

/** {@link FeatureJoin} over groups already in memory. */
export function joinFeatures(
  view: FeatureViewDefinition,
  spine: Table,
  groups: ReadonlyMap<string, GroupRows>,
  commitTimesMs: ReadonlyMap<number, number>,
  asOfKnown: boolean,
): Table {
  const join = new FeatureJoin(view, spine, commitTimesMs, asOfKnown);
  for (const j of view.joins) {
    const group = groups.get(groupId(j.group, j.version));
    if (group === undefined) throw new InvalidArgumentError(`Rows of ${j.group} v${j.version} are missing.`);
    join.add(group);
  }
  return join.result();
}

/** Split names as stored: a small integer code per row (0 train, 1 test, 2 validation); LEFT_OUT: in no split. */
export const SPLIT_CODES: readonly SplitName[] = ['train', 'test', 'validation'];
export const LEFT_OUT = -1;
const [TRAIN, TEST, VALIDATION] = [0, 1, 2];

/**
 * The split code of each row (see {@link SPLIT_CODES}; LEFT_OUT: in a gap of a time split, dropped). Times are
 * spine times in µs.
 */
export function assignSplits(split: SplitSpec, timesMicros: Float64Array): Int8Array {
  const out = new Int8Array(timesMicros.length);
  if (split.kind === 'random') {
    const next = seededRandom(split.seed);
    const test = split.test;
    const testOrValidation = split.test + (split.validation ?? 0);
    for (let i = 0; i < out.length; i++) {
      const r = next();
      out[i] = r < test ? TEST : r < testOrValidation ? VALIDATION : TRAIN;
    }
    return out;
  }
  const trainEnd = split.trainEnd * 1000;
  const testStart = split.testStart * 1000;
  const validationStart = split.validationStart === undefined ? Number.POSITIVE_INFINITY : split.validationStart * 1000;
  for (let i = 0; i < out.length; i++) {
    const t = timesMicros[i]!;
    // NaN (a null time) fails every comparison: left out.
    out[i] = t >= testStart ? TEST : t >= validationStart ? VALIDATION : t < trainEnd ? TRAIN : LEFT_OUT;
  }
  return out;
}

/** Validates a split and fills in the default: a time split at the 80th percentile of spine times. */
export function normalizeSplit(split: unknown, timesMicros: Float64Array): SplitSpec {
  if (split === undefined) {
    const sorted = Float64Array.from(timesMicros).filter((t) => !Number.isNaN(t)).sort();
    const at = sorted.length === 0 ? 0 : sorted[Math.floor(sorted.length * 0.8)]! / 1000;
    return { kind: 'time', trainEnd: at, testStart: at };
  }
  if (typeof split !== 'object' || split === null) throw new InvalidArgumentError("split must be { kind: 'time', ... } or { kind: 'random', ... }.");
  const s = split as Partial<SplitSpec> & Record<string, unknown>;
  const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
  if (s.kind === 'random') {
    const test = s['test'];
    const validation = s['validation'] ?? 0;
    if (!finite(test) || test < 0 || !finite(validation) || validation < 0 || test + validation >= 1) {
      throw new InvalidArgumentError('A random split needs test (and optional validation) fractions in [0, 1) that sum below 1.');
    }
    const seed = s['seed'] ?? 42;
    if (typeof seed !== 'number' || !Number.isSafeInteger(seed)) throw new InvalidArgumentError('split.seed must be an integer.');
    return { kind: 'random', test, ...(validation > 0 ? { validation } : {}), seed };
  }
  if (s.kind === 'time') {
    const trainEnd = s['trainEnd'];
    const testStart = s['testStart'];
    const validationStart = s['validationStart'];
    if (!finite(trainEnd) || !finite(testStart) || testStart < trainEnd) {
      throw new InvalidArgumentError('A time split needs trainEnd <= testStart (epoch ms, Date or ISO string).');
    }
    if (validationStart !== undefined && (!finite(validationStart) || validationStart < trainEnd || validationStart > testStart)) {
      throw new InvalidArgumentError('split.validationStart must lie between trainEnd and testStart.');
    }
    return { kind: 'time', trainEnd, testStart, ...(validationStart === undefined ? {} : { validationStart }) };
  }
  throw new InvalidArgumentError("split.kind must be 'random' or 'time'.");
}

/** The type of every column of a view's training rows (spine keys, event time, features, labels). */
export function viewColumnTypes(view: FeatureViewDefinition, left: FeatureGroupDefinition): Map<string, FeatureType> {
  const types = new Map<string, FeatureType>();
  for (const k of view.spine.keys) types.set(k, left.features.find((f) => f.name === k)!.type);
  types.set(view.spine.eventTime, 'timestamp');
  for (const f of view.features) types.set(f.name, f.type);
  for (const l of view.labels) types.set(l.name, l.type);
  for (const od of view.onDemand) types.set(od.name, od.type);
  return types;
}

/** Rows of a table whose split is `name`, in order. */
export function takeSplit(table: Table, splits: Int8Array, name: SplitName, types: ReadonlyMap<string, FeatureType>): Table {
  const code = SPLIT_CODES.indexOf(name);
  let count = 0;
  for (let i = 0; i < splits.length; i++) if (splits[i] === code) count++;
  if (count === table.numRows && splits.length === table.numRows) return table; // one split: nothing to gather
  const indices = new Int32Array(count);
  for (let i = 0, k = 0; i < splits.length; i++) if (splits[i] === code) indices[k++] = i;
  const columns: Record<string, Vector> = {};
  for (const field of table.schema.fields) {
    const type = types.get(field.name);
    if (type === undefined) throw new InvalidArgumentError(`No type known for training column '${field.name}'.`);
    columns[field.name] = gather(table.getChild(field.name)!, type, indices);
  }
  return new Table(columns);
}

/** The split column to store with the rows: Int8 codes, null for rows left out. */
export function splitVector(splits: Int8Array): Vector {
  let nullCount = 0;
  for (let i = 0; i < splits.length; i++) if (splits[i] === LEFT_OUT) nullCount++;
  let nullBitmap: Uint8Array | null = null;
  if (nullCount > 0) {
    nullBitmap = new Uint8Array((splits.length + 7) >> 3);
    for (let i = 0; i < splits.length; i++) if (splits[i] !== LEFT_OUT) nullBitmap[i >> 3]! |= 1 << (i & 7);
  }
  return makeVector(makeData({ type: new Int8(), length: splits.length, nullCount, nullBitmap, data: Int8Array.from(splits) }));
}

/** Split codes back from a stored split column. */
export function splitsOf(vector: Vector): Int8Array {
  const out = new Int8Array(vector.length);
  for (let i = 0; i < vector.length; i++) out[i] = (vector.get(i) as number | null) ?? LEFT_OUT;
  return out;
}

function transformInput(table: Table, columns: readonly string[]): TransformInput {
  const out: TransformInput = {};
  for (const name of columns) {
    const vector = table.getChild(name);
    if (vector === null) continue;
    // Numbers without nulls straight from the Arrow buffers (a million rows: milliseconds, not a second of get()).
    if (vector.nullCount === 0 && (DataType.isFloat(vector.type) || DataType.isInt(vector.type))) {
      out[name] = numeric(vector, name);
      continue;
    }
    const values = new Array<number | string | null>(vector.length);
    for (let i = 0; i < vector.length; i++) {
      const v = vector.get(i) as unknown;
      values[i] = v === null || v === undefined ? null : typeof v === 'bigint' ? Number(v) : (v as number | string);
    }
    out[name] = values;
  }
  return out;
}

/** Fits the view's transformations on the train rows. */
export function fitViewTransforms(view: FeatureViewDefinition, train: Table): FittedTransforms | null {
  if (view.transforms.length === 0) return null;
  return fitTransforms(view.transforms, transformInput(train, transformable(view)));
}

/** Columns the view's transformations read (features or on-demand features). */
function transformable(view: FeatureViewDefinition): string[] {
  return [...new Set(view.transforms.map((t) => t.column))];
}

/**
 * Adds the view's on-demand columns, computed row by row by the registered functions from the row's other columns.
 * A function that throws, or returns a value of the wrong type, fails the whole request.
 */
export function addOnDemandColumns(view: FeatureViewDefinition, table: Table, registry: OnDemandRegistry, spine: Table): Table {
  if (view.onDemand.length === 0) return table;
  const columns: Record<string, Vector> = Object.fromEntries(table.schema.fields.map((f) => [f.name, table.getChild(f.name)!]));
  for (const reference of view.onDemand) {
    const feature = registry.get(reference.name);
    // View columns from the joined rows; request fields from the spine (or, in batch data, joined from the left group).
    const inputs = [...reference.inputs, ...Object.keys(reference.request ?? {})].map((name) => {
      const vector = table.getChild(name) ?? spine.getChild(name);
      if (vector === null) throw new InvalidArgumentError(`On-demand feature '${reference.name}' reads '${name}', which the rows do not have.`);
      return [name, vector] as const;
    });
    columns[reference.name] = buildVector(
      reference.type,
      table.numRows,
      (row) => {
        const args: Record<string, unknown> = {};
        for (const [name, vector] of inputs) args[name] = vector.get(row) as unknown;
        return feature.fn(args);
      },
      (row, failure) => {
        throw new InvalidArgumentError(`On-demand feature '${reference.name}' returned a bad value in row ${row}: ${failure.message}.`);
      },
    );
  }
  return new Table(columns);
}

/** Applies fitted transformations to a split: transformed columns replace their sources, one-hot columns follow theirs. */
export function applyViewTransforms(view: FeatureViewDefinition, fitted: FittedTransforms | null, table: Table): Table {
  if (fitted === null) return table;
  const outputs = applyTransforms(fitted, transformInput(table, transformable(view)));
  const oneHot = new Map(
    fitted.transforms.flatMap((t) => (t.kind === 'oneHotEncoder' ? [[t.column, t.outputColumns] as const] : [])),
  );
  const columns: Record<string, Vector> = {};
  const asVector = (values: ArrayLike<number | string | null>): Vector => {
    if (values instanceof Float64Array) return makeVector(makeData({ type: new Float64(), length: values.length, data: values }));
    const list = Array.from(values);
    return list.some((v) => typeof v === 'string') ? vectorFromArray(list as (string | null)[], new Utf8()) : vectorFromArray(list as (number | null)[], new Float64());
  };
  for (const field of table.schema.fields) {
    const produced = oneHot.get(field.name);
    if (produced !== undefined) {
      for (const out of produced) columns[out] = asVector(outputs[out]!);
    } else if (outputs[field.name] !== undefined) {
      columns[field.name] = asVector(outputs[field.name]!);
    } else {
      columns[field.name] = table.getChild(field.name)!;
    }
  }
  return new Table(columns);
}

/** A constant Timestamp(µs) column: the spine time of batch data. */
export function constantTimestamps(length: number, micros: bigint): Vector {
  return makeVector(makeData({ type: new TimestampMicrosecond(), length, data: new BigInt64Array(length).fill(micros) }));
}
