/**
 * The snapshot layout. Under a target's prefix:
 *
 * - `objects/<sha256>.<ext>` — content-addressed, immutable objects: Parquet parts of feature groups and training
 *   datasets, model weights (`.bin`), the registry metadata (`.json`);
 * - `manifests/<sha256>.json` — immutable manifests: every object of one snapshot with its size and SHA-256, and the
 *   manifest it was made on top of;
 * - `HEAD` — the only mutable object: which manifest is the newest, moved by compare-and-swap.
 *
 * Everything read back from a target is checked here before anything is applied: a manifest is untrusted input.
 */
import { InvalidArgumentError, SnapshotIntegrityError } from '../errors.ts';
import { validateName } from '../definitions/names.ts';
import type { CommitRecord } from '../registry/types.ts';

export const SNAPSHOT_FORMAT = 'larder-snapshot';
export const SNAPSHOT_FORMAT_VERSION = 1;
/** The registry schema whose records the metadata object holds. */
export const METADATA_SCHEMA = 4;
export const HEAD_KEY = 'HEAD';

/** One stored object of a snapshot. `key` is relative to the target's prefix. */
export interface ObjectEntry {
  key: string;
  sha256: string;
  size: number;
}

/** A Parquet part: the rows of one feature group version written by the commits in [firstCommit, lastCommit]. */
export interface PartEntry extends ObjectEntry {
  rows: number;
  firstCommit: number;
  lastCommit: number;
}

/** A feature group version in a snapshot. */
export interface GroupEntry {
  name: string;
  version: number;
  /** Disjoint commit ranges, in commit order. */
  parts: PartEntry[];
  /** The group's commit ledger (deletes included). */
  commits: CommitRecord[];
  /**
   * Deletes since the parent manifest: each delete commit, with the parts of the parent rewritten since (by these
   * deletes) without the deleted rows; the replaced parts are kept only by older manifests.
   */
  tombstones: { commitId: number; committedAt: number; rows: number; replaced: string[] }[];
}

/** A training dataset's rows (the table a training dataset record names). */
export interface DatasetEntry extends ObjectEntry {
  table: string;
  /** When the training dataset record was made: a table name can come back for another dataset. */
  createdAt: number;
  rows: number;
}

/** A model version's weights. */
export interface ModelEntry extends ObjectEntry {
  name: string;
  version: number;
}

/** An immutable description of a whole snapshot. */
export interface Manifest {
  format: typeof SNAPSHOT_FORMAT;
  formatVersion: number;
  createdAt: number;
  /** The manifest this one was pushed on top of (its key), or null for the first. */
  parent: string | null;
  store: string;
  /** The highest commit id of the store when the snapshot was made. */
  commitHigh: number;
  /** What the pusher narrowed the snapshot to (feature group and model names), or null for the whole store. */
  include: { featureGroups?: string[]; models?: string[] } | null;
  metadataSchema: number;
  /** The registry records (definitions, commit ledgers, training dataset records, runs, models, aliases and their history, pipelines). */
  metadata: ObjectEntry;
  groups: GroupEntry[];
  datasets: DatasetEntry[];
  models: ModelEntry[];
}

/** The content of `HEAD`. */
export interface Head {
  format: 'larder-snapshot-head';
  manifest: string;
  createdAt: number;
}

/** What a snapshot holds; everything by default. Names are compared ignoring case. */
export interface SnapshotInclude {
  /** Feature groups (all their versions); views reading other groups are left out, with their training datasets. */
  featureGroups?: readonly string[];
  /** Models (all their versions, aliases, history and runs). */
  models?: readonly string[];
}

/** An `include` as a manifest holds it (lists copied, absent fields left out), checked. */
export function normalizeInclude(include: SnapshotInclude | null | undefined): Manifest['include'] {
  if (include === null || include === undefined) return null;
  const names = (field: 'featureGroups' | 'models'): string[] | undefined => {
    const value = include[field];
    if (value === undefined) return undefined;
    if (!Array.isArray(value) || value.some((n) => typeof n !== 'string')) throw new InvalidArgumentError(`include.${field} must be a list of names.`);
    return value.map((n) => validateName(n, field === 'models' ? 'model' : 'feature group'));
  };
  const featureGroups = names('featureGroups');
  const models = names('models');
  return { ...(featureGroups === undefined ? {} : { featureGroups }), ...(models === undefined ? {} : { models }) };
}

/** Every object a manifest refers to. */
export function manifestObjects(manifest: Manifest): ObjectEntry[] {
  return [manifest.metadata, ...manifest.groups.flatMap((g) => g.parts), ...manifest.datasets, ...manifest.models];
}

/** The key of a content-addressed object. */
export function objectKey(sha256: string, extension: 'parquet' | 'json' | 'bin'): string {
  return `objects/${sha256}.${extension}`;
}

export function manifestKey(sha256: string): string {
  return `manifests/${sha256}.json`;
}

/** JSON with object keys sorted: the same data always gives the same bytes (and hash). */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    return Object.fromEntries(Object.keys(v).sort().map((k) => [k, (v as Record<string, unknown>)[k]]));
  });
}

const OBJECT_KEY = /^objects\/([0-9a-f]{64})\.(parquet|json|bin)$/;
const MANIFEST_KEY = /^manifests\/([0-9a-f]{64})\.json$/;
/** The most objects and bytes a manifest may declare: far above any store one device holds, far below what overflows. */
const MAX_OBJECTS = 1_000_000;
const MAX_OBJECT_BYTES = 2 ** 40;

function bad(key: string, reason: string): never {
  throw new SnapshotIntegrityError(`Snapshot object ${key} is not valid: ${reason}. Nothing was applied.`, { details: { key, reason } });
}

/** The SHA-256 a manifest key names, or an integrity error. */
export function manifestSha(key: string): string {
  const match = MANIFEST_KEY.exec(key);
  if (match === null) bad(key, 'a manifest key must be manifests/<sha256>.json under the snapshot prefix');
  return match[1]!;
}

/** Strict UTF-8 JSON (a file that is not JSON is reported as `notJson`). */
export function parseJsonBytes(bytes: Uint8Array, notJson: () => never): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return notJson();
  }
}

/** An untrusted value for a message: short, and never through a `toString` the file itself defines. */
function shown(value: unknown): string {
  if (typeof value === 'object' && value !== null) return Array.isArray(value) ? 'a list' : 'an object';
  return (JSON.stringify(value) ?? String(value)).slice(0, 40);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function count(value: unknown, what: string, key: string, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value > max) bad(key, `${what} must be a whole number from 0 to ${max}`);
  return value;
}

function text(value: unknown, what: string, key: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 4096) bad(key, `${what} must be a non-empty string`);
  return value;
}

function array(value: unknown, what: string, key: string): unknown[] {
  if (!Array.isArray(value) || value.length > MAX_OBJECTS) bad(key, `${what} must be a list of at most ${MAX_OBJECTS} entries`);
  return value;
}

function objectEntry(value: unknown, key: string, extension: string): ObjectEntry {
  if (!isRecord(value)) bad(key, 'an object entry must be an object');
  const objectPath = text(value['key'], 'an object key', key);
  const match = OBJECT_KEY.exec(objectPath);
  if (match === null || match[2] !== extension) bad(key, `object key ${JSON.stringify(objectPath).slice(0, 200)} is not objects/<sha256>.${extension}`);
  if (value['sha256'] !== match[1]) bad(key, `object ${objectPath} names a different SHA-256 than its key`);
  return { key: objectPath, sha256: match[1]!, size: count(value['size'], 'an object size', key, MAX_OBJECT_BYTES) };
}

/** Parses and checks a `HEAD` object. */
export function parseHead(bytes: Uint8Array): Head {
  const value = parseJsonBytes(bytes, () => bad(HEAD_KEY, 'it is not JSON'));
  if (!isRecord(value) || value['format'] !== 'larder-snapshot-head') bad(HEAD_KEY, 'it is not a Larder snapshot pointer');
  manifestSha(text(value['manifest'], 'the manifest key', HEAD_KEY));
  return { format: 'larder-snapshot-head', manifest: value['manifest'] as string, createdAt: count(value['createdAt'], 'createdAt', HEAD_KEY) };
}

/**
 * Parses and checks a manifest read from a target: the format, every key inside the snapshot's own `objects/` folder
 * (no `..`, no other prefix, no URL), sizes and counts in range, commit ranges of each group disjoint and ordered, and
 * no manifest naming itself as its parent. Throws {@link SnapshotIntegrityError}.
 */
export function parseManifest(key: string, bytes: Uint8Array): Manifest {
  const own = manifestSha(key);
  const value = parseJsonBytes(bytes, () => bad(key, 'it is not JSON'));
  if (!isRecord(value) || value['format'] !== SNAPSHOT_FORMAT) bad(key, 'it is not a Larder snapshot manifest');
  if (value['formatVersion'] !== SNAPSHOT_FORMAT_VERSION) bad(key, `format version ${shown(value['formatVersion'])} is not supported (this Larder reads ${SNAPSHOT_FORMAT_VERSION})`);
  if (value['metadataSchema'] !== METADATA_SCHEMA) bad(key, `its metadata schema ${shown(value['metadataSchema'])} is not supported (this Larder reads ${METADATA_SCHEMA})`);
  const parent = value['parent'] === null ? null : text(value['parent'], 'parent', key);
  if (parent !== null && manifestSha(parent) === own) bad(key, 'it names itself as its parent');
  const groups = array(value['groups'], 'groups', key).map((g): GroupEntry => {
    if (!isRecord(g)) bad(key, 'a group entry must be an object');
    const name = text(g['name'], 'a group name', key);
    const version = count(g['version'], 'a group version', key);
    let previous = 0;
    const parts = array(g['parts'], 'parts', key).map((p): PartEntry => {
      if (!isRecord(p)) bad(key, 'a part entry must be an object');
      const part = {
        ...objectEntry(p, key, 'parquet'),
        rows: count(p['rows'], 'a part row count', key),
        firstCommit: count(p['firstCommit'], 'a part commit', key),
        lastCommit: count(p['lastCommit'], 'a part commit', key),
      };
      if (part.firstCommit <= previous || part.lastCommit < part.firstCommit) bad(key, `the parts of ${name} v${version} overlap or are out of order`);
      previous = part.lastCommit;
      return part;
    });
    const commits = array(g['commits'], 'commits', key).map((c) => {
      if (!isRecord(c)) bad(key, 'a commit must be an object');
      count(c['commitId'], 'a commit id', key);
      if (typeof c['group'] !== 'string' || c['group'].toLowerCase() !== name.toLowerCase() || c['version'] !== version) bad(key, `a commit of ${name} v${version} names another group`);
      if (!['append', 'upsert', 'delete'].includes(c['kind'] as string)) bad(key, 'a commit kind must be append, upsert or delete');
      return c as unknown as CommitRecord;
    });
    const tombstones = array(g['tombstones'], 'tombstones', key).map((t) => {
      if (!isRecord(t)) bad(key, 'a tombstone must be an object');
      return {
        commitId: count(t['commitId'], 'a tombstone commit', key),
        committedAt: count(t['committedAt'], 'a tombstone time', key),
        rows: count(t['rows'], 'a tombstone row count', key),
        replaced: array(t['replaced'], 'replaced parts', key).map((r) => objectEntry({ key: r, sha256: typeof r === 'string' ? OBJECT_KEY.exec(r)?.[1] : undefined, size: 0 }, key, 'parquet').key),
      };
    });
    return { name, version, parts, commits, tombstones };
  });
  const datasets = array(value['datasets'], 'datasets', key).map((d): DatasetEntry => {
    if (!isRecord(d)) bad(key, 'a dataset entry must be an object');
    const table = text(d['table'], 'a dataset table', key);
    if (!/^td_[a-z0-9_]+$/.test(table)) bad(key, `dataset table ${JSON.stringify(table).slice(0, 200)} is not a Larder training dataset table`);
    return { ...objectEntry(d, key, 'parquet'), table, createdAt: count(d['createdAt'], 'a dataset time', key), rows: count(d['rows'], 'a dataset row count', key) };
  });
  const models = array(value['models'], 'models', key).map((m): ModelEntry => {
    if (!isRecord(m)) bad(key, 'a model entry must be an object');
    return { ...objectEntry(m, key, 'bin'), name: text(m['name'], 'a model name', key), version: count(m['version'], 'a model version', key) };
  });
  let include: Manifest['include'] = null;
  if (value['include'] !== null) {
    if (!isRecord(value['include'])) bad(key, 'include must be null or an object');
    const names = (field: unknown): string[] | undefined =>
      field === undefined ? undefined : array(field, 'included names', key).map((n) => text(n, 'an included name', key));
    const featureGroups = names(value['include']['featureGroups']);
    const models = names(value['include']['models']);
    include = { ...(featureGroups === undefined ? {} : { featureGroups }), ...(models === undefined ? {} : { models }) };
  }
  return {
    format: SNAPSHOT_FORMAT,
    formatVersion: SNAPSHOT_FORMAT_VERSION,
    include,
    createdAt: count(value['createdAt'], 'createdAt', key),
    parent,
    store: text(value['store'], 'the store name', key),
    commitHigh: count(value['commitHigh'], 'commitHigh', key),
    metadataSchema: METADATA_SCHEMA,
    metadata: objectEntry(value['metadata'], key, 'json'),
    groups,
    datasets,
    models,
  };
}
