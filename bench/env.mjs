// Small helpers every benchmark suite shares: settings from the environment and the median of runs.

/** An integer setting from the environment (underscores allowed: 1_000_000), at least `min`; `fallback` when unset. */
export function intEnv(name, fallback, min = 0) {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text.replaceAll('_', ''));
  if (!Number.isSafeInteger(value) || value < min) throw new Error(`${name} must be an integer of at least ${min}, got '${text}'.`);
  return value;
}

/** A positive number setting from the environment; `fallback` when unset. */
export function numberEnv(name, fallback) {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!(value > 0)) throw new Error(`${name} must be a positive number, got '${text}'.`);
  return value;
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
