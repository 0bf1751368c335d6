// Types of bench/pit-data.mjs (plain JavaScript so that Node imports it as is).
export declare const DAY_US: number;
export declare const FEATURES: readonly string[];

export interface PitBenchSpine {
  rn: Int32Array;
  /** Spine key columns by name (wide: key; skewed: origin, dest). */
  keys: Record<string, Int32Array>;
  /** Epoch microseconds. */
  ts: Float64Array;
}

export interface PitBenchGroup {
  name: string;
  /** The spine key column this group joins on. */
  spineKey: string;
  key: Int32Array;
  ts: Float64Array;
  commit: Int32Array;
  features: Record<string, Float64Array>;
  /** Microseconds, or null. */
  ttl: number | null;
}

export interface PitBenchData {
  shape: 'wide' | 'skewed';
  spine: PitBenchSpine;
  groups: PitBenchGroup[];
}

export declare function rng(seed: number): () => number;
export declare function makeWide(scale?: number, seed?: number): PitBenchData;
export declare function makeSkewed(scale?: number, seed?: number): PitBenchData;
export declare function makeShape(shape: string, scale: number): PitBenchData;
export declare function asofSql(data: PitBenchData): string;
export declare function checksumSql(data: PitBenchData, table: string): string;
export declare function checksumColumns(columns: readonly Float64Array[]): number[];
export declare function arrowBytes(data: PitBenchData): number;
