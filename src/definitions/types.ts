/** The feature types a feature group column can have. */
export const FEATURE_TYPES = [
  'int32',
  'int64',
  'float32',
  'float64',
  'bool',
  'string',
  'timestamp',
  'date',
  'list<float32>',
] as const;

/** A feature type: integers, floats, booleans, strings, UTC timestamps (µs), dates and float32 embeddings. */
export type FeatureType = (typeof FEATURE_TYPES)[number];

/** Types allowed for primary-key columns. */
export const KEY_TYPES: readonly FeatureType[] = ['int32', 'int64', 'string', 'date'];

export function isFeatureType(value: unknown): value is FeatureType {
  return typeof value === 'string' && (FEATURE_TYPES as readonly string[]).includes(value);
}

export function isNumericType(type: FeatureType): boolean {
  return type === 'int32' || type === 'int64' || type === 'float32' || type === 'float64';
}

export function isFloatType(type: FeatureType): boolean {
  return type === 'float32' || type === 'float64';
}
