/**
 * Entity encoding for point-in-time joins: the key columns of a spine and of a feature group become dense integer
 * entity ids shared by both, so the join itself only compares integers and times.
 */
import { InvalidArgumentError } from '../../errors.ts';

/** One key value: int32/int64/date keys as number or bigint, string keys as string; null (or undefined) = missing. */
export type KeyValue = number | bigint | string | null;

/** One key column, in row order: a plain array, a typed array, or anything indexable with a length. */
export type KeyColumn = ArrayLike<KeyValue | undefined>;

/** Dense entity ids shared by a spine and a feature group (see {@link encodeEntities}). */
export interface EntityCodes {
  /** Per spine row: the entity id, or -1 when a key is missing or no group row has these keys. */
  readonly spine: Int32Array;
  /** Per group row: the entity id in `[0, count)`, or -1 when a key is missing. */
  readonly group: Int32Array;
  /** Number of distinct entities among the group rows. */
  readonly count: number;
}

const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
/** Largest lookup table (entries) used instead of a Map for integer keys and for combining columns. */
const DENSE_LIMIT = 1 << 24;

/**
 * The identity of a key value: numbers and bigints that are equal as numbers are one key (safe integers as number,
 * larger integers as bigint); strings never equal numbers; null, undefined and NaN are missing.
 */
function normalize(value: unknown): KeyValue {
  switch (typeof value) {
    case 'number':
      if (value !== value) return null; // NaN is a missing key
      return Number.isInteger(value) && !Number.isSafeInteger(value) ? BigInt(value) : value;
    case 'bigint':
      return value >= MIN_SAFE && value <= MAX_SAFE ? Number(value) : value;
    case 'string':
      return value;
    case 'undefined':
      return null;
    default:
      if (value === null) return null;
      throw new InvalidArgumentError(
        `A key value must be a number, bigint, string or null, got ${typeof value}; convert dates and other objects to numbers or strings first.`,
      );
  }
}

interface ColumnCodes {
  spine: Int32Array;
  group: Int32Array;
  count: number;
}

/** Integer range of a column when every value is a (safe) integer number, else null. */
function integerRange(column: KeyColumn, length: number): { min: number; max: number } | null {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < length; i++) {
    const v = column[i];
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) {
      if (v === null || v === undefined) continue;
      return null;
    }
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { min, max };
}

/** Dictionary-encodes one key column: codes follow first appearance among the group rows. */
function encodeColumn(spine: KeyColumn, group: KeyColumn, n: number, m: number): ColumnCodes {
  const spineCodes = new Int32Array(n);
  const groupCodes = new Int32Array(m);
  const range = integerRange(group, m);
  if (range !== null && (range.max < range.min || range.max - range.min < Math.min(DENSE_LIMIT, Math.max(1024, 4 * (n + m))))) {
    // Integer keys in a small range: a lookup table instead of a Map.
    const { min, max } = range;
    const table = new Int32Array(max >= min ? max - min + 1 : 0).fill(-1);
    let count = 0;
    for (let j = 0; j < m; j++) {
      const v = group[j] as number | null | undefined;
      if (v === null || v === undefined) {
        groupCodes[j] = -1;
        continue;
      }
      let code = table[v - min]!;
      if (code < 0) table[v - min] = code = count++;
      groupCodes[j] = code;
    }
    for (let i = 0; i < n; i++) {
      let v: unknown = spine[i];
      if (typeof v !== 'number') v = normalize(v); // bigint keys against number keys, strings, nulls
      spineCodes[i] = typeof v === 'number' && v >= min && v <= max && Number.isInteger(v) ? table[v - min]! : -1;
    }
    return { spine: spineCodes, group: groupCodes, count };
  }
  const codes = new Map<KeyValue, number>();
  for (let j = 0; j < m; j++) {
    const v = normalize(group[j]);
    if (v === null) {
      groupCodes[j] = -1;
      continue;
    }
    let code = codes.get(v);
    if (code === undefined) codes.set(v, (code = codes.size));
    groupCodes[j] = code;
  }
  for (let i = 0; i < n; i++) {
    const v = normalize(spine[i]);
    spineCodes[i] = v === null ? -1 : (codes.get(v) ?? -1);
  }
  return { spine: spineCodes, group: groupCodes, count: codes.size };
}

/** Combines the codes so far with the next column's codes into dense ids (in place in `acc`). */
function combine(acc: ColumnCodes, next: ColumnCodes, n: number, m: number): void {
  const width = next.count;
  const product = acc.count * width;
  const { spine, group } = acc;
  let count = 0;
  if (product <= DENSE_LIMIT) {
    const table = new Int32Array(product).fill(-1);
    for (let j = 0; j < m; j++) {
      const a = group[j]!;
      const b = next.group[j]!;
      if (a < 0 || b < 0) {
        group[j] = -1;
        continue;
      }
      const slot = a * width + b;
      let code = table[slot]!;
      if (code < 0) table[slot] = code = count++;
      group[j] = code;
    }
    for (let i = 0; i < n; i++) {
      const a = spine[i]!;
      const b = next.spine[i]!;
      spine[i] = a < 0 || b < 0 ? -1 : table[a * width + b]!;
    }
  } else {
    // Codes are below 2^31, so a * width + b is exact while the product stays below 2^53.
    const exact = product <= Number.MAX_SAFE_INTEGER;
    const codes = new Map<number | string, number>();
    for (let j = 0; j < m; j++) {
      const a = group[j]!;
      const b = next.group[j]!;
      if (a < 0 || b < 0) {
        group[j] = -1;
        continue;
      }
      const slot = exact ? a * width + b : `${a}:${b}`;
      let code = codes.get(slot);
      if (code === undefined) codes.set(slot, (code = count++));
      group[j] = code;
    }
    for (let i = 0; i < n; i++) {
      const a = spine[i]!;
      const b = next.spine[i]!;
      spine[i] = a < 0 || b < 0 ? -1 : (codes.get(exact ? a * width + b : `${a}:${b}`) ?? -1);
    }
  }
  acc.count = count;
}

/**
 * Encodes composite keys to dense entity ids shared by a spine and a feature group. Key values are equal when they
 * are equal numbers (a number and a bigint with the same value are one key) or equal strings; null, undefined and
 * NaN never match anything. With no key columns every row belongs to the one entity 0.
 *
 * @param spineKeys - the spine's key columns, in the same order as the group's
 * @param groupKeys - the feature group's key columns
 * @param spineLength - number of spine rows
 * @param groupLength - number of group rows
 *
 * @example
 * ```ts
 * const { spine, group, count } = encodeEntities([['a', 'b', null]], [['b', 'a', 'b']], 3, 3);
 * // group = [0, 1, 0], spine = [1, 0, -1], count = 2
 * ```
 */
export function encodeEntities(
  spineKeys: readonly KeyColumn[],
  groupKeys: readonly KeyColumn[],
  spineLength: number,
  groupLength: number,
): EntityCodes {
  if (spineKeys.length !== groupKeys.length) {
    throw new InvalidArgumentError(
      `The spine has ${spineKeys.length} key columns and the feature group ${groupKeys.length}; pass one spine key column per group key.`,
    );
  }
  spineKeys.forEach((c, k) => {
    if (c.length !== spineLength) throw new InvalidArgumentError(`Spine key column ${k} has ${c.length} values for ${spineLength} rows.`);
  });
  groupKeys.forEach((c, k) => {
    if (c.length !== groupLength) throw new InvalidArgumentError(`Group key column ${k} has ${c.length} values for ${groupLength} rows.`);
  });
  if (spineKeys.length === 0) {
    return { spine: new Int32Array(spineLength), group: new Int32Array(groupLength), count: 1 };
  }
  const acc = encodeColumn(spineKeys[0]!, groupKeys[0]!, spineLength, groupLength);
  for (let k = 1; k < spineKeys.length; k++) {
    combine(acc, encodeColumn(spineKeys[k]!, groupKeys[k]!, spineLength, groupLength), spineLength, groupLength);
  }
  return acc;
}
