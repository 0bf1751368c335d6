import { describe, expect, it } from 'vitest';
import { makeVector, Utf8, vectorFromArray, type Vector } from 'apache-arrow';
import fc from 'fast-check';
import { gather } from '../../src/pipelines/training-data.ts';

/** A Utf8 vector of several chunks (like DuckDB's batches), some of them sliced. */
function chunked(values: (string | null)[], sizes: number[]): Vector {
  const parts: Vector[] = [];
  let start = 0;
  for (const size of sizes) {
    if (start >= values.length) break;
    const whole = vectorFromArray(['pad', ...values.slice(start, start + size), 'pad'], new Utf8());
    parts.push(whole.slice(1, whole.length - 1)); // a sliced chunk: offsets do not start at 0
    start += size;
  }
  if (start < values.length) parts.push(vectorFromArray(values.slice(start), new Utf8()));
  return makeVector(parts.flatMap((p) => p.data));
}

describe('gather (string columns)', () => {
  it('copies the chosen rows byte for byte, −1 and nulls as null, across sliced chunks', () => {
    const values = ['a', null, 'ünïcødé', '', 'x'.repeat(300), '🙂 emoji', null, 'last'];
    const source = chunked(values, [3, 2]);
    expect(source.data.length).toBe(3);
    const out = gather(source, 'string', Int32Array.of(7, -1, 2, 1, 4, 0, 3, 5, 6, 7));
    expect(Array.from({ length: out.length }, (_, i) => out.get(i) as unknown)).toEqual(['last', null, 'ünïcødé', null, 'x'.repeat(300), 'a', '', '🙂 emoji', null, 'last']);
    expect(out.nullCount).toBe(3);
  });

  it('equals a naive gather on random columns and indices', () => {
    fc.assert(
      fc.property(
        fc.array(fc.option(fc.string({ unit: 'grapheme', maxLength: 6 }), { nil: null }), { minLength: 1, maxLength: 60 }),
        fc.array(fc.integer({ min: 1, max: 9 }), { maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 80 }),
        (values, sizes, picks) => {
          const indices = Int32Array.from(picks, (p) => (p % (values.length + 1)) - 1); // −1 … n−1
          const out = gather(chunked(values, sizes), 'string', indices);
          expect(Array.from({ length: out.length }, (_, i) => out.get(i) as unknown)).toEqual(Array.from(indices, (i) => (i < 0 ? null : values[i])));
        },
      ),
      { seed: 11, numRuns: 300 },
    );
  });
});
