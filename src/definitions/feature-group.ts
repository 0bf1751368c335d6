import { InvalidArgumentError } from '../errors.ts';
import { assertUniqueNames, nameKey, validateName } from './names.ts';
import { FEATURE_TYPES, KEY_TYPES, isFeatureType, isFloatType, type FeatureType } from './types.ts';
import { parseDurationSeconds } from './duration.ts';
import { normalizeExpectationSuite, type ExpectationSuite } from './expectations.ts';

/** One column of a feature group as the user declares it. */
export interface FeatureSpec {
  name: string;
  type: FeatureType;
  description?: string;
  /** Whether nulls are allowed (default true; always false for primary-key and event-time columns). */
  nullable?: boolean;
  /** Whether NaN is allowed in a float column (default false). */
  allowNaN?: boolean;
}

/** What `createFeatureGroup` takes. */
export interface FeatureGroupSpec {
  name: string;
  /** A positive integer. A version's schema never changes; a new schema is a new version. */
  version: number;
  /** The entity key column(s); each must be declared in `features` with type int32, int64, string or date. */
  primaryKey: string | string[];
  /** The event-time column. Stored as a UTC timestamp with microsecond precision; declared or added as `timestamp`. */
  eventTime: string;
  /** The columns: an array of specs, or an object mapping names to types (or to specs without `name`). */
  features: FeatureSpec[] | Record<string, FeatureType | Omit<FeatureSpec, 'name'>>;
  description?: string;
  /** Keep the latest row per key in the online store (used from the online-store issue on). */
  online?: boolean;
  /** How long a value stays valid: seconds, or a string such as `'7d'`. */
  ttl?: number | string;
  tags?: Record<string, string>;
  expectations?: ExpectationSuite;
}

/** A column of a stored feature group definition. */
export interface Feature {
  readonly name: string;
  readonly type: FeatureType;
  readonly description: string;
  readonly nullable: boolean;
  readonly allowNaN: boolean;
}

/** The immutable, normalised definition of one feature group version, as stored in the registry. */
export interface FeatureGroupDefinition {
  readonly name: string;
  readonly version: number;
  readonly primaryKey: readonly string[];
  readonly eventTime: string;
  /** Every column in table order: keys and event time included. */
  readonly features: readonly Feature[];
  readonly description: string;
  readonly online: boolean;
  readonly ttlSeconds: number | null;
  readonly tags: Readonly<Record<string, string>>;
  readonly expectations: ExpectationSuite | null;
  readonly createdAt: number;
}

export function validateVersion(version: unknown, what = 'version'): number {
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1) {
    throw new InvalidArgumentError(`${what} must be a positive integer, got ${JSON.stringify(version)}.`);
  }
  return version;
}

function featureList(features: FeatureGroupSpec['features']): FeatureSpec[] {
  if (Array.isArray(features)) return features;
  if (typeof features !== 'object' || features === null) {
    throw new InvalidArgumentError('features must be an array of { name, type } or an object of name → type.');
  }
  return Object.entries(features).map(([name, spec]) =>
    typeof spec === 'string' ? { name, type: spec } : { ...spec, name },
  );
}

/**
 * Validates a feature group spec and returns its frozen definition. Pure: no storage is touched.
 * Throws InvalidNameError or InvalidArgumentError naming what to fix.
 */
export function normalizeFeatureGroup(spec: FeatureGroupSpec, createdAt: number): FeatureGroupDefinition {
  if (typeof spec !== 'object' || spec === null) throw new InvalidArgumentError('createFeatureGroup needs a spec object.');
  const name = validateName(spec.name, 'feature group');
  const version = validateVersion(spec.version);
  const primaryKey = (Array.isArray(spec.primaryKey) ? spec.primaryKey : [spec.primaryKey]).map((k) =>
    validateName(k, 'primary key'),
  );
  if (primaryKey.length === 0) throw new InvalidArgumentError('primaryKey must name at least one column.');
  const eventTime = validateName(spec.eventTime, 'event time');
  const declared = featureList(spec.features).map((f) => {
    if (typeof f !== 'object' || f === null) throw new InvalidArgumentError('Each feature must be an object.');
    const featureName = validateName(f.name, 'feature');
    if (!isFeatureType(f.type)) {
      throw new InvalidArgumentError(
        `Feature '${featureName}' has type ${JSON.stringify(f.type)}; use one of ${FEATURE_TYPES.join(', ')}.`,
      );
    }
    return { ...f, name: featureName };
  });
  if (!declared.some((f) => nameKey(f.name) === nameKey(eventTime))) {
    const keys = new Set(primaryKey.map(nameKey));
    const afterKeys = declared.findLastIndex((f) => keys.has(nameKey(f.name))) + 1;
    declared.splice(afterKeys, 0, { name: eventTime, type: 'timestamp' });
  }
  assertUniqueNames(declared.map((f) => f.name), 'column');
  assertUniqueNames(primaryKey, 'primary key');
  const byKey = new Map(declared.map((f) => [nameKey(f.name), f]));
  for (const key of primaryKey) {
    const column = byKey.get(nameKey(key));
    if (column === undefined) {
      throw new InvalidArgumentError(`Primary key '${key}' is not declared in features; declare it with its type.`);
    }
    if (column.name !== key) throw new InvalidArgumentError(`Primary key '${key}' is declared as '${column.name}'; use one spelling.`);
    if (!KEY_TYPES.includes(column.type)) {
      throw new InvalidArgumentError(`Primary key '${key}' has type ${column.type}; keys must be ${KEY_TYPES.join(', ')}.`);
    }
  }
  const eventColumn = byKey.get(nameKey(eventTime));
  if (eventColumn === undefined || eventColumn.name !== eventTime) {
    throw new InvalidArgumentError(`Event time '${eventTime}' is declared with another spelling; use one.`);
  }
  if (eventColumn.type !== 'timestamp') {
    throw new InvalidArgumentError(
      `Event time '${eventTime}' has type ${eventColumn.type}; declare it as 'timestamp' (dates are accepted as input and stored as midnight UTC).`,
    );
  }
  if (primaryKey.some((k) => nameKey(k) === nameKey(eventTime))) {
    throw new InvalidArgumentError(`The event time '${eventTime}' cannot also be a primary key column.`);
  }
  const required = new Set([...primaryKey, eventTime].map(nameKey));
  const features: Feature[] = declared.map((f) => ({
    name: f.name,
    type: f.type,
    description: f.description ?? '',
    nullable: required.has(nameKey(f.name)) ? false : f.nullable ?? true,
    allowNaN: isFloatType(f.type) ? f.allowNaN ?? false : false,
  }));
  const columnTypes = new Map(features.map((f) => [f.name, f.type]));
  const tags = spec.tags ?? {};
  if (typeof tags !== 'object' || Object.values(tags).some((v) => typeof v !== 'string')) {
    throw new InvalidArgumentError('tags must map strings to strings.');
  }
  if (spec.description !== undefined && typeof spec.description !== 'string') {
    throw new InvalidArgumentError('description must be a string.');
  }
  const definition: FeatureGroupDefinition = {
    name,
    version,
    primaryKey,
    eventTime,
    features,
    description: spec.description ?? '',
    online: spec.online ?? false,
    ttlSeconds: spec.ttl === undefined ? null : parseDurationSeconds(spec.ttl, 'ttl'),
    tags: Object.fromEntries(Object.entries(tags).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    expectations: spec.expectations === undefined ? null : normalizeExpectationSuite(spec.expectations, columnTypes),
    createdAt,
  };
  return deepFreeze(definition);
}

/** Whether two definitions describe the same feature group version (ignoring when each was created). */
export function sameDefinition(a: FeatureGroupDefinition, b: FeatureGroupDefinition): boolean {
  return JSON.stringify({ ...a, createdAt: 0 }) === JSON.stringify({ ...b, createdAt: 0 });
}

/** The differences between two definitions of the same name and version, for error messages. */
export function describeDifferences(stored: FeatureGroupDefinition, given: FeatureGroupDefinition): string[] {
  const out: string[] = [];
  for (const field of ['primaryKey', 'eventTime', 'features', 'description', 'online', 'ttlSeconds', 'tags', 'expectations'] as const) {
    if (JSON.stringify(stored[field]) !== JSON.stringify(given[field])) out.push(field);
  }
  return out;
}

export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/** Key columns first, then event time — the identity of a row version. */
export function rowIdentityColumns(definition: FeatureGroupDefinition): string[] {
  return [...definition.primaryKey, definition.eventTime];
}
