import { InvalidArgumentError } from '../errors.ts';

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/**
 * A duration as seconds: a number of seconds, or a string such as `'90s'`, `'15m'`, `'12h'`, `'7d'`, `'2w'`.
 */
export function parseDurationSeconds(value: number | string, what: string): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value <= 0) {
      throw new InvalidArgumentError(`${what} must be a positive number of seconds, got ${String(value)}.`);
    }
    return value;
  }
  const match = /^(\d+(?:\.\d+)?)\s*([smhdw])$/.exec(value.trim());
  if (match === null) {
    throw new InvalidArgumentError(
      `${what} ${JSON.stringify(value)} is not a duration; use seconds or a string like '15m', '12h', '7d'.`,
    );
  }
  const seconds = Number(match[1]) * (UNITS[match[2] ?? 's'] ?? 1);
  if (seconds <= 0) throw new InvalidArgumentError(`${what} must be positive, got ${JSON.stringify(value)}.`);
  return seconds;
}
