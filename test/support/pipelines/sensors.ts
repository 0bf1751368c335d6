/**
 * The sensor-readings case of the pipeline tests: raw readings (sensor, ts, value) and rolling one-hour features per
 * reading. The oracle here is a naive scan, independent of the pipeline's sliding windows.
 */
import type { FeatureGroupSpec } from '../../../src/index.ts';

export const HOUR = 3_600_000;

export const readingsSpec = (version = 1): FeatureGroupSpec => ({
  name: 'readings', version, primaryKey: 'sensor', eventTime: 'ts',
  features: { sensor: 'string', ts: 'timestamp', value: 'float64' },
});

export const featuresSpec = (version = 1): FeatureGroupSpec => ({
  name: 'sensor_features', version, primaryKey: 'sensor', eventTime: 'ts',
  features: { sensor: 'string', ts: 'timestamp', sum_1h: 'float64', count_1h: 'int32', max_1h: 'float64' },
});

// A type alias, not an interface, so that readings pass as row objects to insert().
export type Reading = {
  sensor: string;
  ts: number;
  value: number;
};

export interface SensorFeatures {
  sensor: string;
  ts: number;
  sum_1h: number;
  count_1h: number;
  max_1h: number;
}

/** Readings of `sensors` sensors at irregular times in [from, from + spanMs), values with two decimals, seeded. */
export function makeReadings(options: { sensors: number; perSensor: number; from: number; spanMs: number; seed: number }): Reading[] {
  let state = options.seed >>> 0;
  const next = (): number => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  const rows: Reading[] = [];
  for (let s = 0; s < options.sensors; s++) {
    const times = new Set<number>();
    while (times.size < options.perSensor) times.add(options.from + Math.floor(next() * (options.spanMs / 1000)) * 1000);
    for (const ts of times) rows.push({ sensor: `s${s}`, ts, value: Math.round(next() * 10_000) / 100 - 20 });
  }
  return rows;
}

/** The features of every reading: sum, count and max of the sensor's readings with time in (ts − 1h, ts]. */
export function expectedFeatures(readings: readonly Reading[]): SensorFeatures[] {
  return readings
    .map((r) => {
      const inWindow = readings.filter((o) => o.sensor === r.sensor && o.ts > r.ts - HOUR && o.ts <= r.ts);
      return {
        sensor: r.sensor,
        ts: r.ts,
        sum_1h: inWindow.reduce((sum, o) => sum + o.value, 0),
        count_1h: inWindow.length,
        max_1h: Math.max(...inWindow.map((o) => o.value)),
      };
    })
    .sort((a, b) => a.ts - b.ts || (a.sensor < b.sensor ? -1 : a.sensor > b.sensor ? 1 : 0));
}

/** The i-th reading the stream tests send (and the test stream servers). */
export const streamedReading = (i: number): Reading => ({ sensor: `s${i % 3}`, ts: Date.UTC(2024, 0, 1) + i * 1000, value: i / 100 });
