// The right-to-erasure data and the store it fills, shared by test/browser/erasure.browser.test.ts and the erasure
// drill's page: daily rows of four cities, one of them the subject. Every note is a fresh random base64 token:
// incompressible, so DuckDB and Parquet store it as it is (no dictionary, no FSST) and a scan of raw bytes can find
// it. The subject's notes are the canary; Seattle's the control, which every scan must still find (else the scan is
// blind and proves nothing).
import type { FeatureStore, ModelSpec } from '../../src/index.ts';

export const DAY = 86_400_000;
export const BASE = Date.UTC(2024, 0, 1);
export const CITIES = ['Seattle', 'Oslo', 'Lima', 'Perth'];
export const SUBJECT = { city: 'Perth' };

/** A row of the weather group: city, day, humidity, note, rain. */
export type ErasureRow = Record<string, unknown> & { city: string; day: number; humidity: number; note: string; rain: number };

/** The humidity and the rain (the label) of the `cityIndex`-th city of {@link CITIES} on day `day`. */
function weatherOf(day: number, cityIndex: number): { humidity: number; rain: number } {
  const humidity = ((day * 7 + cityIndex * 3) % 10) / 10;
  return { humidity, rain: 3 * humidity + 1 };
}

/** A generator of rows whose notes it remembers by city. */
export interface ErasureRows {
  /** The rows of every city for `days` days from day `from`, each with a fresh note. */
  rows: (from: number, days: number) => ErasureRow[];
  /** Every note made so far for `city` (the array itself: it grows as rows are made). */
  notesOf: (city: string) => string[];
}

/** A fresh {@link ErasureRows}, no note made yet. */
export function erasureRows(): ErasureRows {
  const notes = new Map<string, string[]>(CITIES.map((c) => [c, []]));
  return {
    rows: (from, days) => {
      const out: ErasureRow[] = [];
      for (let d = from; d < from + days; d++) {
        for (const [i, city] of CITIES.entries()) {
          const { humidity, rain } = weatherOf(d, i);
          const note = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(24))));
          notes.get(city)!.push(note);
          out.push({ city, day: BASE + d * DAY, humidity, note, rain });
        }
      }
      return out;
    },
    notesOf: (city) => notes.get(city)!,
  };
}

/**
 * Fills `store` with the erasure scenario, its rows from `data`: the weather group (online) with days 0–29, an upsert
 * of days 10–14 and days 30–39; a view `rain` and a view `notes` (whose dataset holds the notes themselves); a `rain`
 * dataset holding the subject's keys and one without them (an explicit spine of the other cities), and a `notes`
 * dataset; and a `rain` model of `spec` trained on each `rain` dataset. Erasing the subject must name the first model
 * for retraining, never the second.
 *
 * @example
 * const data = erasureRows();
 * const { weather, trainedWithSubject } = await populateErasureStore(store, data, { task: 'regression', layers: [{ units: 4 }] });
 * const report = await weather.erase([SUBJECT]); // report.models names trainedWithSubject.model
 */
export async function populateErasureStore(store: FeatureStore, data: ErasureRows, spec: ModelSpec) {
  const weather = await store.createFeatureGroup({
    name: 'weather', version: 1, primaryKey: 'city', eventTime: 'day', online: true,
    features: { city: 'string', day: 'timestamp', humidity: 'float64', note: 'string', rain: 'float64' },
  });
  await weather.insert(data.rows(0, 30));
  await weather.insert(data.rows(10, 5), { mode: 'upsert' });
  await weather.insert(data.rows(30, 10));
  const rain = await store.createFeatureView({ name: 'rain', version: 1, query: weather.select(['humidity']), labels: ['rain'] });
  const notes = await store.createFeatureView({ name: 'notes', version: 1, query: weather.select(['humidity', 'note']), labels: ['rain'] });
  const withSubject = await rain.trainingData({ split: { kind: 'random', test: 0.2, seed: 1 } });
  await withSubject.persisted;
  // The keys and labels of the rows of days 0–39, but the subject's (no notes are made for it).
  const spine = Array.from({ length: 40 }, (_, d) => CITIES.map((city, i) => ({ city, day: BASE + d * DAY, rain: weatherOf(d, i).rain }))).flat().filter((r) => r.city !== SUBJECT.city);
  const withoutSubject = await rain.trainingData({ spine, split: { kind: 'random', test: 0.2, seed: 1 } });
  await withoutSubject.persisted;
  await (await notes.trainingData({ split: { kind: 'random', test: 0.2, seed: 2 } })).persisted;
  const trainedWithSubject = await store.train({ featureView: rain, trainingDataset: withSubject.dataset.version, model: { name: 'rain', spec }, fit: { epochs: 1 } });
  const trainedWithout = await store.train({ featureView: rain, trainingDataset: withoutSubject.dataset.version, model: { name: 'rain', spec }, fit: { epochs: 1 } });
  return { weather, rain, withSubject, trainedWithSubject, trainedWithout };
}
