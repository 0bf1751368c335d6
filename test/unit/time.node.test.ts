import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { microsToDays, parseIsoToMicros } from '../../src/util/time.ts';
import { instantToMillis } from '../../src/offline/filters.ts';

describe('ISO-8601 parsing', () => {
  it('reads strings without an offset as UTC, with microseconds', () => {
    expect(parseIsoToMicros('2024-01-02T03:04:05.123456')).toBe(BigInt(Date.UTC(2024, 0, 2, 3, 4, 5)) * 1000n + 123456n);
    expect(parseIsoToMicros('2024-01-02')).toBe(BigInt(Date.UTC(2024, 0, 2)) * 1000n);
    expect(parseIsoToMicros('2024-01-02 03:04')).toBe(BigInt(Date.UTC(2024, 0, 2, 3, 4)) * 1000n);
  });

  it('applies offsets', () => {
    expect(parseIsoToMicros('2024-01-02T03:04:05+02:00')).toBe(BigInt(Date.UTC(2024, 0, 2, 1, 4, 5)) * 1000n);
    expect(parseIsoToMicros('2024-01-02T03:04:05-0130')).toBe(BigInt(Date.UTC(2024, 0, 2, 4, 34, 5)) * 1000n);
    expect(parseIsoToMicros('2024-01-02T03:04:05Z')).toBe(BigInt(Date.UTC(2024, 0, 2, 3, 4, 5)) * 1000n);
  });

  it('rejects impossible dates and junk', () => {
    for (const text of ['2024-13-01', '2024-02-30', '2024-01-01T24:00', 'yesterday', '', '2024/01/01', '20240101']) {
      expect(parseIsoToMicros(text)).toBeNull();
    }
  });

  it('agrees with Date for millisecond instants (property)', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date('1900-01-01T00:00:00Z'), max: new Date('2200-01-01T00:00:00Z'), noInvalidDate: true }), (d) => {
        expect(parseIsoToMicros(d.toISOString())).toBe(BigInt(d.getTime()) * 1000n);
      }),
    );
  });

  it('converts midnight instants to days only', () => {
    expect(microsToDays(86_400_000_000n * 3n)).toBe(3);
    expect(microsToDays(86_400_000_000n * 3n + 1n)).toBeNull();
  });

  it('accepts Date, epoch ms and ISO strings as instants', () => {
    expect(instantToMillis(new Date(5), 'x')).toBe(5);
    expect(instantToMillis(5, 'x')).toBe(5);
    expect(instantToMillis('1970-01-01T00:00:00.005Z', 'x')).toBe(5);
    expect(() => instantToMillis('nope', 'x')).toThrow(/not a valid instant/);
  });
});
