import { nameKey } from '../definitions/names.ts';

/** The OPFS file (at the root of the origin's OPFS) holding a persistent store's DuckDB database; its log is `<file>.wal`. */
export function databaseFile(storeName: string): string {
  return `larder-${nameKey(storeName)}.duckdb`;
}

/** The OPFS file a persistent store reserves space in for a moment before a large write (see ensureStorageSpace). */
export function storageProbe(storeName: string): string {
  return `larder-${nameKey(storeName)}.space-probe`;
}
