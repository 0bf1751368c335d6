const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;

/**
 * Parses an ISO-8601 date or date-time string to epoch microseconds (UTC). A string with no offset is UTC,
 * unlike `Date.parse`, which reads it as local time. Fractions keep microsecond precision. Returns null when the
 * string is not a valid instant.
 */
export function parseIsoToMicros(text: string): bigint | null {
  const m = ISO.exec(text.trim());
  if (m === null) return null;
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6]].map((p) => Number(p ?? 0)) as [
    number, number, number, number, number, number,
  ];
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) return null;
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  const check = new Date(ms);
  if (check.getUTCDate() !== day || check.getUTCMonth() !== month - 1) return null;
  let micros = BigInt(ms) * 1000n + BigInt(((m[7] ?? '') + '000000').slice(0, 6));
  const offset = m[8];
  if (offset !== undefined && offset !== 'Z' && offset !== 'z') {
    const sign = offset.startsWith('-') ? -1n : 1n;
    const digits = offset.slice(1).replace(':', '');
    const minutes = BigInt(Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || '0'));
    micros -= sign * minutes * 60_000_000n;
  }
  return micros;
}

const MICROS_PER_DAY = 86_400_000_000n;

/** Epoch microseconds to whole days, or null when the instant is not midnight UTC. */
export function microsToDays(micros: bigint): number | null {
  if (micros % MICROS_PER_DAY !== 0n) return null;
  return Number(micros / MICROS_PER_DAY);
}

/** Epoch milliseconds (possibly fractional, as Arrow returns them) to epoch microseconds. */
export function millisToMicros(ms: number): bigint {
  return BigInt(Math.round(ms * 1000));
}
