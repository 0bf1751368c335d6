/**
 * The engine-independent point-in-time join: for every spine row, which feature-group row it sees. Pure functions
 * over typed arrays; the caller gathers the chosen rows' feature columns (see {@link takeIndices}).
 *
 * Semantics (ARCHITECTURE.md, "Point-in-time semantics"): for a spine row (keys, ts), the candidates are the group
 * rows with the same keys and `event_time <= ts` — and `event_time >= ts - ttl` with a TTL. Without `asOfKnown` only
 * current rows are candidates (not superseded by an upsert); with `asOfKnown` a row is a candidate when it was
 * committed at or before `ts` and not superseded at or before `ts`. The chosen row has the greatest event time, then
 * the highest commit id, then (for exact duplicates within one commit) the highest row index. No candidate: -1.
 */
import { InvalidArgumentError } from '../../errors.ts';
import { encodeEntities, type KeyColumn } from './keys.ts';

export type { KeyColumn, KeyValue } from './keys.ts';

/** The spine: the rows training data is asked for. Times are epoch microseconds (NaN = missing, never matches). */
export interface PitSpine {
  /** Key columns, in the same order as the group's. */
  readonly keys: readonly KeyColumn[];
  /** Spine time per row, epoch microseconds. */
  readonly time: Float64Array;
}

/** A feature group's rows as columns. All times are epoch microseconds as float64 (exact until the year 2255). */
export interface PitGroup {
  /** Primary-key columns, in the same order as the spine's. */
  readonly keys: readonly KeyColumn[];
  /** Event time per row (NaN rows are never chosen). */
  readonly time: Float64Array;
  /** Commit id per row (higher = later commit). */
  readonly commitId: Float64Array;
  /** When the row's commit happened; required with `asOfKnown` (NaN = unknown, never visible). */
  readonly committedAt?: Float64Array;
  /** When the upsert that replaced the row was committed; NaN = current. Omitted = every row is current. */
  readonly supersededAt?: Float64Array;
}

/** Options of {@link pointInTimeIndices}. */
export interface PitOptions {
  /** Maximum age of a feature value in microseconds (`event_time >= ts - ttl`, inclusive), or null for none. */
  readonly ttl: number | null;
  /** Only rows committed at or before the spine time count, as they were known then (upserts undone). */
  readonly asOfKnown: boolean;
}

/** Runs shorter than this are insertion-sorted. */
const RUN = 32;

function checkLength(array: ArrayLike<unknown> | undefined, expected: number, what: string): void {
  if (array !== undefined && array.length !== expected) {
    throw new InvalidArgumentError(`${what} has ${array.length} values for ${expected} rows; every column needs one value per row.`);
  }
}

/** Is the range already in (time, commit) order? Data written in time order usually is. */
function isSorted(T: Float64Array, C: Float64Array, lo: number, hi: number): boolean {
  for (let p = lo + 1; p < hi; p++) {
    const a = T[p - 1]!;
    const b = T[p]!;
    if (a > b || (a === b && C[p - 1]! > C[p]!)) return false;
  }
  return true;
}

/** Stable insertion sort of [lo, hi) by (time, commit), moving the three arrays together. */
function insertionSort(T: Float64Array, C: Float64Array, I: Int32Array, lo: number, hi: number): void {
  for (let p = lo + 1; p < hi; p++) {
    const t = T[p]!;
    const c = C[p]!;
    const idx = I[p]!;
    let q = p - 1;
    while (q >= lo && (T[q]! > t || (T[q]! === t && C[q]! > c))) {
      T[q + 1] = T[q]!;
      C[q + 1] = C[q]!;
      I[q + 1] = I[q]!;
      q--;
    }
    T[q + 1] = t;
    C[q + 1] = c;
    I[q + 1] = idx;
  }
}

interface Columns {
  T: Float64Array;
  C: Float64Array;
  I: Int32Array;
}

/** Stable bottom-up merge sort of [lo, hi) by (time, commit); `tmp` is scratch space of the same size. */
function mergeSort(main: Columns, tmp: Columns, lo: number, hi: number): void {
  for (let a = lo; a < hi; a += RUN) insertionSort(main.T, main.C, main.I, a, Math.min(a + RUN, hi));
  let src = main;
  let dst = tmp;
  for (let width = RUN; width < hi - lo; width *= 2) {
    for (let a = lo; a < hi; a += 2 * width) {
      const mid = Math.min(a + width, hi);
      const end = Math.min(a + 2 * width, hi);
      let i = a;
      let j = mid;
      let k = a;
      while (i < mid && j < end) {
        const ti = src.T[i]!;
        const tj = src.T[j]!;
        // Take from the right only when strictly smaller: keeps the sort stable.
        if (tj < ti || (tj === ti && src.C[j]! < src.C[i]!)) {
          dst.T[k] = tj;
          dst.C[k] = src.C[j]!;
          dst.I[k++] = src.I[j++]!;
        } else {
          dst.T[k] = ti;
          dst.C[k] = src.C[i]!;
          dst.I[k++] = src.I[i++]!;
        }
      }
      if (i < mid) {
        dst.T.set(src.T.subarray(i, mid), k);
        dst.C.set(src.C.subarray(i, mid), k);
        dst.I.set(src.I.subarray(i, mid), k);
      } else if (j < end) {
        dst.T.set(src.T.subarray(j, end), k);
        dst.C.set(src.C.subarray(j, end), k);
        dst.I.set(src.I.subarray(j, end), k);
      }
    }
    const swap = src;
    src = dst;
    dst = swap;
  }
  if (src !== main) {
    main.T.set(src.T.subarray(lo, hi), lo);
    main.C.set(src.C.subarray(lo, hi), lo);
    main.I.set(src.I.subarray(lo, hi), lo);
  }
}

/** Group rows ordered by (entity, time, commit, row index), with each entity's range. */
interface SortedGroup {
  /** Entity e's rows are positions [start[e], start[e + 1]). */
  readonly start: Int32Array;
  readonly time: Float64Array;
  /** The group row index at each position. */
  readonly index: Int32Array;
  /** With `asOfKnown`: commit time and replacement time (NaN = current) at each position, interleaved. */
  readonly visibility: Float64Array | null;
}

function sortGroup(
  group: PitGroup,
  entity: Int32Array,
  entityCount: number,
  keep: (j: number) => boolean,
  withVisibility: boolean,
): SortedGroup {
  const m = group.time.length;
  const start = new Int32Array(entityCount + 1);
  for (let j = 0; j < m; j++) {
    if (entity[j]! >= 0 && keep(j)) start[entity[j]! + 1]!++;
    else entity[j] = -1;
  }
  for (let e = 0; e < entityCount; e++) start[e + 1]! += start[e]!;
  const total = start[entityCount]!;
  const next = start.slice(0, entityCount);
  const T = new Float64Array(total);
  const C = new Float64Array(total);
  const I = new Int32Array(total);
  const V = withVisibility ? new Float64Array(2 * total) : null;
  const { time, commitId, committedAt, supersededAt } = group;
  // Counting sort by entity; stable, so each entity's rows stay in row order.
  for (let j = 0; j < m; j++) {
    const e = entity[j]!;
    if (e < 0) continue;
    const p = next[e]!++;
    T[p] = time[j]!;
    C[p] = commitId[j]!;
    I[p] = j;
    if (V !== null) {
      V[2 * p] = committedAt![j]!;
      V[2 * p + 1] = supersededAt === undefined ? NaN : supersededAt[j]!;
    }
  }
  // Sort each entity's range by (time, commit), moving the pre-sort position P along, then apply the permutation
  // to the other columns. Everything stays within the range, so it stays in cache.
  let P: Int32Array | null = null;
  let tmp: Columns | null = null;
  for (let e = 0; e < entityCount; e++) {
    const lo = start[e]!;
    const hi = start[e + 1]!;
    if (hi - lo < 2 || isSorted(T, C, lo, hi)) continue;
    P ??= new Int32Array(total);
    tmp ??= { T: new Float64Array(total), C: new Float64Array(total), I: new Int32Array(total) };
    for (let p = lo; p < hi; p++) P[p] = p;
    if (hi - lo <= RUN) insertionSort(T, C, P, lo, hi);
    else mergeSort({ T, C, I: P }, tmp, lo, hi);
    for (let p = lo; p < hi; p++) tmp.I[p] = I[P[p]!]!;
    I.set(tmp.I.subarray(lo, hi), lo);
    if (V !== null) {
      for (let p = lo; p < hi; p++) {
        tmp.T[p] = V[2 * P[p]!]!;
        tmp.C[p] = V[2 * P[p]! + 1]!;
      }
      for (let p = lo; p < hi; p++) {
        V[2 * p] = tmp.T[p]!;
        V[2 * p + 1] = tmp.C[p]!;
      }
    }
  }
  return { start, time: T, index: I, visibility: V };
}

/**
 * A min-tree over the sorted positions' commit times: finds the rightmost row committed at or before an instant in
 * O(log n), so rows committed late (a backfill) cost nothing to skip.
 */
class KnownTree {
  private readonly size: number;
  private readonly min: Float64Array;

  /** @param visibility - commit time and replacement time per position, interleaved */
  constructor(visibility: Float64Array) {
    const count = visibility.length / 2;
    let size = 1;
    while (size < count) size *= 2;
    this.size = size;
    const min = new Float64Array(2 * size).fill(Infinity);
    for (let p = 0; p < count; p++) {
      const k = visibility[2 * p]!;
      min[size + p] = k === k ? k : Infinity; // NaN: never known
    }
    for (let node = size - 1; node >= 1; node--) min[node] = Math.min(min[2 * node]!, min[2 * node + 1]!);
    this.min = min;
  }

  /** The rightmost position `<= hi` whose commit time is `<= ts`, or -1. */
  rightmost(hi: number, ts: number): number {
    const min = this.min;
    let node = hi + this.size;
    for (;;) {
      if (min[node]! <= ts) {
        while (node < this.size) {
          node = 2 * node + 1;
          if (!(min[node]! <= ts)) node--;
        }
        return node - this.size;
      }
      // Move to the largest subtree ending just left of this one.
      while ((node & 1) === 0) node >>= 1;
      if (node === 1) return -1;
      node--;
    }
  }
}

/**
 * The point-in-time join: for each spine row, the index of the feature-group row it sees, or -1 (features null).
 * Every spine row gets exactly one answer, in spine order. Runs in O((n + m) log m) with typed arrays only: keys are
 * encoded to dense entity ids, group rows are counting-sorted by entity and sorted by (event time, commit) within
 * each entity, and each spine row binary-searches its entity's range.
 *
 * @param spine - key columns and time (epoch µs) of each spine row
 * @param group - the feature group's key columns, event times, commit ids and (for `asOfKnown`) commit times
 * @param options - TTL in µs (or null) and `asOfKnown`
 * @returns per spine row the chosen group row index, or -1
 *
 * @example
 * ```ts
 * const indices = pointInTimeIndices(
 *   { keys: [['a', 'a', 'b']], time: new Float64Array([10, 25, 10]) },
 *   { keys: [['a', 'a', 'a']], time: new Float64Array([10, 20, 20]), commitId: new Float64Array([1, 1, 2]) },
 *   { ttl: null, asOfKnown: false },
 * );
 * // indices = [0, 2, -1]: ts 10 sees the row at 10 (inclusive); at ts 25 the tie at 20 goes to commit 2
 * ```
 */
export function pointInTimeIndices(spine: PitSpine, group: PitGroup, options: PitOptions): Int32Array {
  const n = spine.time.length;
  const m = group.time.length;
  checkLength(group.commitId, m, 'commitId');
  checkLength(group.committedAt, m, 'committedAt');
  checkLength(group.supersededAt, m, 'supersededAt');
  const { ttl, asOfKnown } = options;
  if (ttl !== null && !(ttl >= 0)) throw new InvalidArgumentError(`The TTL must be a non-negative number of microseconds or null, got ${String(ttl)}.`);
  const committedAt = group.committedAt;
  if (asOfKnown && committedAt === undefined) {
    throw new InvalidArgumentError('asOfKnown needs the commit time of every group row (committedAt).');
  }
  const supersededAt = group.supersededAt;
  const out = new Int32Array(n).fill(-1);
  if (n === 0 || m === 0) return out;

  const codes = encodeEntities(spine.keys, group.keys, n, m);
  const time = group.time;
  // NaN event times never match; without asOfKnown only current rows can ever be chosen, so drop the rest now.
  const keep =
    asOfKnown || supersededAt === undefined
      ? (j: number) => time[j] === time[j]
      : (j: number) => time[j] === time[j] && supersededAt[j] !== supersededAt[j];
  const sorted = sortGroup(group, codes.group, codes.count, keep, asOfKnown);
  const maxAge = ttl ?? Infinity;
  const buckets = bucketSpine(codes.spine, spine.time, codes.count);
  if (asOfKnown) searchKnown(buckets, sorted, maxAge, out);
  else searchCurrent(buckets, sorted, maxAge, out);
  return out;
}

/** Last position in [lo, hi) with time <= ts, or lo - 1. */
function lastAtOrBefore(T: Float64Array, lo: number, hi: number, ts: number): number {
  let a = lo;
  let b = hi;
  while (a < b) {
    const mid = (a + b) >>> 1;
    if (T[mid]! <= ts) a = mid + 1;
    else b = mid;
  }
  return a - 1;
}

/** Spine rows grouped by entity (rows without an entity or time left out), each keeping its time and row number. */
interface SpineBuckets {
  /** Entity e's spine rows are positions [start[e], start[e + 1]). */
  readonly start: Int32Array;
  readonly time: Float64Array;
  readonly row: Int32Array;
}

/**
 * Counting-sorts the spine rows by entity, so that the search visits each entity's group rows once, while they are
 * in cache, instead of jumping to a random entity for every spine row (several cache misses each).
 */
function bucketSpine(spineEntity: Int32Array, spineTime: Float64Array, entityCount: number): SpineBuckets {
  const n = spineEntity.length;
  const start = new Int32Array(entityCount + 1);
  for (let i = 0; i < n; i++) {
    const ts = spineTime[i]!;
    if (spineEntity[i]! >= 0 && ts === ts) start[spineEntity[i]! + 1]!++;
  }
  for (let e = 0; e < entityCount; e++) start[e + 1]! += start[e]!;
  const next = start.slice(0, entityCount);
  const time = new Float64Array(start[entityCount]!);
  const row = new Int32Array(start[entityCount]!);
  for (let i = 0; i < n; i++) {
    const e = spineEntity[i]!;
    const ts = spineTime[i]!;
    if (e < 0 || ts !== ts) continue;
    const q = next[e]!++;
    time[q] = ts;
    row[q] = i;
  }
  return { start, time, row };
}

/** Every candidate is current: the answer is the last row at or before ts, if within the TTL. */
function searchCurrent(spine: SpineBuckets, sorted: SortedGroup, maxAge: number, out: Int32Array): void {
  const { start, index } = sorted;
  const T = sorted.time;
  const entityCount = start.length - 1;
  for (let e = 0; e < entityCount; e++) {
    const lo = start[e]!;
    const hi = start[e + 1]!;
    for (let q = spine.start[e]!; q < spine.start[e + 1]!; q++) {
      const ts = spine.time[q]!;
      const p = lastAtOrBefore(T, lo, hi, ts);
      if (p >= lo && T[p]! >= ts - maxAge) out[spine.row[q]!] = index[p]!;
    }
  }
}

/**
 * As known at ts: the last row at or before ts that was committed at or before ts and not replaced at or before ts.
 * Rows committed later are skipped in O(log n) with a {@link KnownTree}; replaced rows sit right before their
 * replacement (same entity and time, lower commit), so they are stepped over one by one.
 */
function searchKnown(spine: SpineBuckets, sorted: SortedGroup, maxAge: number, out: Int32Array): void {
  const { start, index } = sorted;
  const T = sorted.time;
  const V = sorted.visibility!;
  const entityCount = start.length - 1;
  let tree: KnownTree | null = null;
  for (let e = 0; e < entityCount; e++) {
    const lo = start[e]!;
    const hi = start[e + 1]!;
    for (let q = spine.start[e]!; q < spine.start[e + 1]!; q++) {
      const ts = spine.time[q]!;
      const oldest = ts - maxAge;
      let p = lastAtOrBefore(T, lo, hi, ts);
      while (p >= lo && T[p]! >= oldest) {
        if (V[2 * p]! <= ts) {
          if (!(V[2 * p + 1]! <= ts)) break;
          p--;
        } else {
          tree ??= new KnownTree(V);
          p = tree.rightmost(p, ts);
        }
      }
      if (p >= lo && T[p]! >= oldest) out[spine.row[q]!] = index[p]!;
    }
  }
}

/**
 * Gathers values by the indices {@link pointInTimeIndices} returned; -1 gives null.
 *
 * @example
 * ```ts
 * takeIndices(new Int32Array([2, -1]), [1.5, 2.5, 3.5]); // [3.5, null]
 * ```
 */
export function takeIndices<T>(indices: Int32Array, values: ArrayLike<T>): (T | null)[] {
  const out = new Array<T | null>(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const j = indices[i]!;
    out[i] = j < 0 ? null : values[j]!;
  }
  return out;
}
