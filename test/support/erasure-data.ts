// The right-to-erasure data, shared by test/browser/erasure.browser.test.ts and the erasure drill: daily rows of four
// cities, one of them the subject. Every note is a fresh random base64 token: incompressible, so DuckDB and Parquet
// store it as it is (no dictionary, no FSST) and a scan of raw bytes can find it. The subject's notes are the canary;
// Seattle's the control, which every scan must still find (else the scan is blind and proves nothing).

export const DAY = 86_400_000;
export const BASE = Date.UTC(2024, 0, 1);
export const CITIES = ['Seattle', 'Oslo', 'Lima', 'Perth'];
export const SUBJECT = { city: 'Perth' };

/** A row of the weather group: city, day, humidity, note, rain. */
export type ErasureRow = Record<string, unknown> & { city: string; day: number; humidity: number; note: string; rain: number };

/** A generator of rows whose notes it remembers by city. */
export function erasureRows(): { rows: (from: number, days: number) => ErasureRow[]; notesOf: (city: string) => string[] } {
  const notes = new Map<string, string[]>(CITIES.map((c) => [c, []]));
  return {
    rows: (from, days) => {
      const out: ErasureRow[] = [];
      for (let d = from; d < from + days; d++) {
        for (const [i, city] of CITIES.entries()) {
          const humidity = ((d * 7 + i * 3) % 10) / 10;
          const note = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(24))));
          notes.get(city)!.push(note);
          out.push({ city, day: BASE + d * DAY, humidity, note, rain: 3 * humidity + 1 });
        }
      }
      return out;
    },
    notesOf: (city) => notes.get(city)!,
  };
}
