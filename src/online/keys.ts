import type { FeatureType } from '../definitions/types.ts';
import { InvalidArgumentError } from '../errors.ts';
import { instantToMillis, type Instant } from '../offline/filters.ts';
import type { EntityKey } from './indexeddb.ts';
import { describeValue } from '../util/describe.ts';

/**
 * One key value as stored in the online store: strings as they are, int32 and int64 as numbers (an int64 beyond
 * ±2^53 as its decimal text, so distinct keys stay distinct), dates as epoch milliseconds of their UTC midnight.
 * The same function encodes keys written from Arrow rows and keys given by a caller, so both always meet.
 */
export function encodeKeyValue(value: unknown, type: FeatureType, column: string): string | number {
  if (value === null || value === undefined) throw new InvalidArgumentError(`Key column '${column}' needs a value.`);
  switch (type) {
    case 'string':
      if (typeof value !== 'string') throw new InvalidArgumentError(`Key column '${column}' is a string; got ${typeof value}.`);
      return value;
    case 'int32':
    case 'int64': {
      if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
      if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
      if (typeof value === 'string' && /^-?\d+$/.test(value)) return encodeKeyValue(BigInt(value), type, column);
      throw new InvalidArgumentError(`Key column '${column}' is ${type}; got ${describeValue(value)}.`);
    }
    case 'date': {
      const ms = instantToMillis(value as Instant, column);
      return Math.floor(ms / 86_400_000) * 86_400_000;
    }
    default:
      throw new InvalidArgumentError(`Key column '${column}' has type ${type}, which cannot be a key.`);
  }
}

/** An entity's key in key-column order, from an object holding (at least) those columns. */
export function encodeEntityKey(entity: Record<string, unknown>, columns: readonly { name: string; type: FeatureType }[]): EntityKey {
  return columns.map((c) => {
    if (!(c.name in entity)) throw new InvalidArgumentError(`The entity has no '${c.name}' (needed: ${columns.map((k) => k.name).join(', ')}).`);
    return encodeKeyValue(entity[c.name], c.type, c.name);
  });
}
