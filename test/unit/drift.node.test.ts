import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ksStatistic, psi } from '../../src/models/drift.ts';
import { entityShare } from '../../src/pipelines/deployment.ts';
import { textbookKs, textbookPsi } from '../support/drift-oracle.ts';

describe('drift statistics', () => {
  it('hand-computed cases', () => {
    expect(ksStatistic([1, 2, 3], [1, 2, 3])).toBe(0);
    expect(ksStatistic([1, 2, 3], [4, 5, 6])).toBe(1);
    expect(ksStatistic([1, 2, 3, 4], [3, 4, 5, 6])).toBe(0.5);
    const same = Array.from({ length: 100 }, (_, i) => i);
    expect(psi(same, same)).toBeCloseTo(0, 12);
    // Everything served falls in the expected sample's top decile: nine empty bins (share 1e-4) and one full one.
    const byHand = 9 * (1e-4 - 0.1) * Math.log(1e-4 / 0.1) + (1 - 0.1) * Math.log(1 / 0.1);
    expect(byHand).toBeCloseTo(8.2831, 4);
    expect(psi(same, Array.from({ length: 50 }, () => 99))).toBeCloseTo(byHand, 9);
  });

  it('equal the textbook computations on random samples (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -50, max: 50 }), { minLength: 5, maxLength: 80 }),
        fc.array(fc.integer({ min: -60, max: 60 }), { minLength: 5, maxLength: 80 }),
        (expected, actual) => {
          expect(psi(expected, actual)).toBeCloseTo(textbookPsi(expected, actual), 9);
          expect(ksStatistic(expected, actual)).toBeCloseTo(textbookKs(expected, actual), 12);
        },
      ),
      { seed: 11, numRuns: 300 },
    );
  });

  it('refuses samples without finite values', () => {
    expect(() => psi([], [1])).toThrow(/no finite values/);
    expect(() => ksStatistic([1], [Number.NaN])).toThrow(/no finite values/);
  });
});

describe('entityShare (A/B arms)', () => {
  it('is deterministic and spreads entities evenly', () => {
    expect(entityShare(['city'], { city: 'Oslo' })).toBe(entityShare(['city'], { city: 'Oslo', other: 1 }));
    expect(entityShare(['a', 'b'], { a: 1, b: 2 })).not.toBe(entityShare(['a', 'b'], { a: 2, b: 1 }));
    expect(entityShare(['id'], { id: 5n })).toBe(entityShare(['id'], { id: 5n }));
    const n = 20_000;
    const shares = Array.from({ length: n }, (_, i) => entityShare(['user'], { user: `user-${i}` }));
    expect(shares.every((s) => s >= 0 && s < 1)).toBe(true);
    const tenth = shares.filter((s) => s < 0.1).length / n;
    expect(tenth).toBeGreaterThan(0.09);
    expect(tenth).toBeLessThan(0.11);
    for (let decile = 0; decile < 10; decile++) {
      const inDecile = shares.filter((s) => s >= decile / 10 && s < (decile + 1) / 10).length / n;
      expect(Math.abs(inDecile - 0.1)).toBeLessThan(0.012);
    }
  });
});
