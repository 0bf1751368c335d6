import { describe, expect, it } from 'vitest';
import { normalizeFeatureGroup, sameDefinition, type FeatureGroupSpec } from '../../src/definitions/feature-group.ts';
import { validateName, assertUniqueNames } from '../../src/definitions/names.ts';
import { parseDurationSeconds } from '../../src/definitions/duration.ts';
import { expect as ex } from '../../src/definitions/expectations.ts';
import { InvalidArgumentError, InvalidNameError } from '../../src/errors.ts';

const base: FeatureGroupSpec = {
  name: 'weather',
  version: 1,
  primaryKey: 'location',
  eventTime: 'date',
  features: { location: 'string', temp_max: 'float64', weather: 'string' },
};

describe('names', () => {
  it('accepts letters, digits and underscores starting with a letter', () => {
    for (const name of ['a', 'weather', 'Temp_Max_2', 'select', 'x'.repeat(64)]) expect(validateName(name, 'feature')).toBe(name);
  });

  it('rejects everything else with InvalidNameError', () => {
    for (const name of ['', '1a', '_a', 'a b', 'a-b', 'a;b', "a'b", 'a"b', 'é', 'a\u0000', 'x'.repeat(65), '😀', 'a--']) {
      expect(() => validateName(name, 'feature')).toThrow(InvalidNameError);
    }
    expect(() => validateName(42, 'feature')).toThrow(InvalidNameError);
  });

  it('treats names differing only by case as equal', () => {
    expect(() => assertUniqueNames(['temp', 'Temp'], 'column')).toThrow(InvalidNameError);
    expect(() => assertUniqueNames(['temp', 'temp2'], 'column')).not.toThrow();
  });
});

describe('feature group definitions', () => {
  it('adds the event time after the keys as a timestamp and marks keys non-nullable', () => {
    const d = normalizeFeatureGroup(base, 1);
    expect(d.features.map((f) => f.name)).toEqual(['location', 'date', 'temp_max', 'weather']);
    expect(d.features.find((f) => f.name === 'date')?.type).toBe('timestamp');
    expect(d.features.filter((f) => !f.nullable).map((f) => f.name)).toEqual(['location', 'date']);
    expect(d.features.find((f) => f.name === 'temp_max')?.allowNaN).toBe(false);
    expect(Object.isFrozen(d) && Object.isFrozen(d.features[0])).toBe(true);
  });

  it('keeps declared order when the event time is declared', () => {
    const d = normalizeFeatureGroup({ ...base, features: [{ name: 'temp_max', type: 'float64' }, { name: 'date', type: 'timestamp' }, { name: 'location', type: 'string' }] }, 1);
    expect(d.features.map((f) => f.name)).toEqual(['temp_max', 'date', 'location']);
  });

  it('compares definitions without their creation time', () => {
    expect(sameDefinition(normalizeFeatureGroup(base, 1), normalizeFeatureGroup(base, 2))).toBe(true);
    expect(sameDefinition(normalizeFeatureGroup(base, 1), normalizeFeatureGroup({ ...base, description: 'x' }, 1))).toBe(false);
  });

  it('rejects bad specs with clear errors', () => {
    expect(() => normalizeFeatureGroup({ ...base, version: 0 }, 1)).toThrow(InvalidArgumentError);
    expect(() => normalizeFeatureGroup({ ...base, version: 1.5 }, 1)).toThrow(InvalidArgumentError);
    expect(() => normalizeFeatureGroup({ ...base, primaryKey: 'missing' }, 1)).toThrow(/not declared/);
    expect(() => normalizeFeatureGroup({ ...base, features: { ...(base.features as object), temp_max: 'double' } } as never, 1)).toThrow(/use one of/);
    expect(() => normalizeFeatureGroup({ ...base, features: { location: 'float64', temp: 'float64' } }, 1)).toThrow(/keys must be/);
    expect(() => normalizeFeatureGroup({ ...base, features: { location: 'string', date: 'date' } }, 1)).toThrow(/declare it as 'timestamp'/);
    expect(() => normalizeFeatureGroup({ ...base, features: { location: 'string', Temp: 'float64', temp: 'float64' } }, 1)).toThrow(InvalidNameError);
    expect(() => normalizeFeatureGroup({ ...base, name: 'bad name' }, 1)).toThrow(InvalidNameError);
    expect(() => normalizeFeatureGroup({ ...base, expectations: { policy: 'strict', expectations: [ex.notNull('nope')] } }, 1)).toThrow(/not in the feature group/);
    expect(() => normalizeFeatureGroup({ ...base, expectations: { policy: 'loud' } as never }, 1)).toThrow(/policy/);
  });

  it('normalises ttl', () => {
    expect(normalizeFeatureGroup({ ...base, ttl: '7d' }, 1).ttlSeconds).toBe(7 * 86400);
    expect(parseDurationSeconds(90, 'ttl')).toBe(90);
    expect(parseDurationSeconds('15m', 'ttl')).toBe(900);
    expect(() => parseDurationSeconds('soon', 'ttl')).toThrow(InvalidArgumentError);
    expect(() => parseDurationSeconds(-1, 'ttl')).toThrow(InvalidArgumentError);
  });
});
