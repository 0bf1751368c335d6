/**
 * The naive point-in-time join, written straight from the semantics in ARCHITECTURE.md ("Point-in-time semantics")
 * with nothing clever in it: for every spine row, look at every group row. It is the oracle the fast join
 * (src/offline/pit/join.ts) and the generated DuckDB SQL (src/offline/pit/sql.ts) are tested against.
 */
import type { PitGroup, PitOptions, PitSpine } from '../../src/offline/pit/join.ts';

/** Two key values are the same key when both are numbers/bigints with equal value, or both equal strings. */
function sameKey(a: unknown, b: unknown): boolean {
  if (a === null || a === undefined || b === null || b === undefined) return false;
  const numeric = (v: unknown) => typeof v === 'number' || typeof v === 'bigint';
  // number == bigint compares the mathematical values exactly
  if (numeric(a) && numeric(b)) return a == b;
  if (typeof a === 'string' && typeof b === 'string') return a === b;
  return false;
}

/** For each spine row the chosen group row index, or -1. */
export function naivePointInTime(spine: PitSpine, group: PitGroup, options: PitOptions): number[] {
  const result: number[] = [];
  for (let i = 0; i < spine.time.length; i++) {
    const ts = spine.time[i]!;
    let best = -1;
    for (let j = 0; j < group.time.length; j++) {
      // same keys (a null key matches nothing)
      if (!spine.keys.every((column, k) => sameKey(column[i], group.keys[k]![j]))) continue;
      const eventTime = group.time[j]!;
      // the greatest event time <= ts, inclusive
      if (!(eventTime <= ts)) continue;
      // with a TTL, event time >= ts - ttl, inclusive
      if (options.ttl !== null && !(eventTime >= ts - options.ttl)) continue;
      const superseded = group.supersededAt?.[j] ?? NaN;
      if (options.asOfKnown) {
        // committed at or before ts, and not yet replaced at ts
        if (!(group.committedAt![j]! <= ts)) continue;
        if (!Number.isNaN(superseded) && !(superseded > ts)) continue;
      } else if (!Number.isNaN(superseded)) {
        // only current rows
        continue;
      }
      if (best === -1) {
        best = j;
        continue;
      }
      const bestTime = group.time[best]!;
      const bestCommit = group.commitId[best]!;
      const commit = group.commitId[j]!;
      // greatest event time, then the latest commit, then the later row of the same commit
      if (eventTime > bestTime || (eventTime === bestTime && commit >= bestCommit)) best = j;
    }
    result.push(best);
  }
  return result;
}
