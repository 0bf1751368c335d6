/**
 * The store worker's side of sync: making the objects of a snapshot from the offline store and the registry, and
 * applying a downloaded snapshot to them. Network and retries stay on the caller's side (src/sync/sync.ts); this
 * module only turns state into bytes and bytes into state.
 */
import { tableFromIPC, tableToIPC } from 'apache-arrow';
import initParquet, { Compression, Table as WasmTable, WriterPropertiesBuilder, readParquet, writeParquet } from 'parquet-wasm/esm';
import parquetWasmUrl from 'parquet-wasm/esm/parquet_wasm_bg.wasm?url';
import { normalizeFeatureGroup, type FeatureGroupDefinition } from '../definitions/feature-group.ts';
import { nameKey } from '../definitions/names.ts';
import { SnapshotIntegrityError } from '../errors.ts';
import type { DuckDbOfflineStore, SnapshotApplyPlan } from '../offline/duckdb/offline-store.ts';
import { weightsKey, type Registry, type RegistryDump } from '../registry/types.ts';
import {
  METADATA_SCHEMA, SNAPSHOT_FORMAT, SNAPSHOT_FORMAT_VERSION, canonicalJson, objectKey, type DatasetEntry, type GroupEntry, type Manifest,
  type ModelEntry, type ObjectEntry, type PartEntry,
} from './manifest.ts';
import { sha256Hex } from './object-store.ts';

/** What a snapshot holds; everything by default. Names are compared ignoring case. */
export interface SnapshotInclude {
  /** Feature groups (all their versions); views reading other groups are left out, with their training datasets. */
  featureGroups?: readonly string[];
  /** Models (all their versions, aliases, history and runs). */
  models?: readonly string[];
}

/** A new object of a snapshot, with its bytes. */
export interface NewObject extends ObjectEntry {
  bytes: Uint8Array;
}

/** A manifest before it is given its parent and time. */
export type ManifestDraft = Omit<Manifest, 'parent' | 'createdAt'>;

let parquetReady: Promise<unknown> | undefined;
function parquet(): Promise<unknown> {
  parquetReady ??= initParquet({ module_or_path: parquetWasmUrl });
  return parquetReady;
}

/** The registry records a snapshot carries: statistics are left out (a cache, recomputed on demand). */
export function snapshotMetadata(dump: RegistryDump, include: SnapshotInclude | null): RegistryDump {
  const keep = (names: readonly string[] | undefined) => {
    const set = names === undefined ? null : new Set(names.map((n) => nameKey(n)));
    return (name: string) => set === null || set.has(nameKey(name));
  };
  const group = keep(include?.featureGroups);
  const model = keep(include?.models);
  const views = dump.featureViews.filter((v) => group(v.spine.group) && v.joins.every((j) => group(j.group)));
  const viewKeys = new Set(views.map((v) => `${nameKey(v.name)}@${v.version}`));
  return {
    featureGroups: dump.featureGroups.filter((g) => group(g.name)),
    commits: dump.commits.filter((c) => group(c.group)).sort((a, b) => a.commitId - b.commitId),
    statistics: [],
    featureViews: views,
    trainingDatasets: dump.trainingDatasets.filter((d) => viewKeys.has(`${nameKey(d.view)}@${d.viewVersion}`)),
    runs: dump.runs.filter((r) => model(r.model)),
    models: dump.models.filter((m) => model(m.name)),
    modelNames: dump.modelNames.filter((m) => model(m.name)),
    aliases: dump.aliases.filter((a) => model(a.name)),
    aliasHistory: dump.aliasHistory.filter((a) => model(a.name)),
    pipelines: dump.pipelines.filter((p) => p.outputs.every((o) => group(o.group))),
    pipelineRuns: dump.pipelineRuns.filter((r) => dump.pipelines.some((p) => nameKey(p.name) === nameKey(r.pipeline) && p.outputs.every((o) => group(o.group)))),
  };
}

/** The canonical bytes of snapshot metadata and their SHA-256: equal records give equal hashes. */
export async function metadataBytes(metadata: RegistryDump): Promise<{ bytes: Uint8Array; sha256: string }> {
  const bytes = new TextEncoder().encode(canonicalJson(metadata));
  return { bytes, sha256: await sha256Hex(bytes) };
}

async function newObject(bytes: Uint8Array, extension: 'parquet' | 'json' | 'bin'): Promise<NewObject> {
  const sha256 = await sha256Hex(bytes);
  return { key: objectKey(sha256, extension), sha256, size: bytes.byteLength, bytes };
}

async function parquetObject(ipc: Uint8Array): Promise<NewObject> {
  await parquet();
  const properties = new WriterPropertiesBuilder().setCompression(Compression.SNAPPY).setCreatedBy('larder').build();
  // parquet-wasm cannot read DuckDB's IPC bytes as they come ("failed to fill whole buffer"; appending an
  // end-of-stream marker does not help): written again by Arrow JS, it can.
  const stream = tableToIPC(tableFromIPC(ipc), 'stream');
  return newObject(writeParquet(WasmTable.fromIPCStream(stream), properties), 'parquet');
}

/**
 * Makes the objects of a snapshot of the store: only those the parent manifest does not already hold (parts whose
 * rows are unchanged, datasets, and model versions are reused; parts that lost rows to deletes are rewritten), and
 * the manifest draft naming them all.
 */
export async function exportSnapshot(
  offline: DuckDbOfflineStore,
  registry: Registry,
  request: { store: string; include: SnapshotInclude | null; parent: Manifest | null },
): Promise<{ draft: ManifestDraft; objects: NewObject[] }> {
  const metadata = snapshotMetadata(await registry.dump(), request.include);
  const objects: NewObject[] = [];
  const metadataObject = await newObject((await metadataBytes(metadata)).bytes, 'json');
  objects.push(metadataObject);
  const parent = request.parent;
  const groups: GroupEntry[] = [];
  for (const definition of metadata.featureGroups) {
    const ledger = await offline.ledger(definition);
    const high = ledger.at(-1)?.commitId ?? 0;
    const before = parent?.groups.find((g) => nameKey(g.name) === nameKey(definition.name) && g.version === definition.version);
    const parentHigh = before?.commits.at(-1)?.commitId ?? 0;
    const parts: PartEntry[] = [];
    const replaced: string[] = [];
    const addPart = async (first: number, last: number): Promise<void> => {
      const { ipc, rows } = await offline.exportRows(definition, first, last);
      if (rows === 0) return;
      const object = await parquetObject(ipc);
      objects.push(object);
      parts.push({ key: object.key, sha256: object.sha256, size: object.size, rows, firstCommit: first, lastCommit: last });
    };
    for (const part of before?.parts ?? []) {
      if ((await offline.countRows(definition, part.firstCommit, part.lastCommit)) === part.rows) parts.push(part);
      else {
        replaced.push(part.key);
        await addPart(part.firstCommit, part.lastCommit);
      }
    }
    if (high > parentHigh) await addPart(parentHigh + 1, high);
    const tombstones = ledger
      .filter((c) => c.kind === 'delete' && c.commitId > parentHigh)
      .map((c) => ({ commitId: c.commitId, committedAt: c.committedAt, rows: c.rowCount, replaced }));
    groups.push({ name: definition.name, version: definition.version, parts, commits: ledger, tombstones });
  }
  const datasets: DatasetEntry[] = [];
  for (const record of metadata.trainingDatasets) {
    const known = parent?.datasets.find((d) => d.table === record.table);
    if (known !== undefined) datasets.push(known);
    else {
      const ipc = await offline.exportTable(record.table);
      const object = await parquetObject(ipc);
      objects.push(object);
      datasets.push({ key: object.key, sha256: object.sha256, size: object.size, table: record.table, rows: tableFromIPC(ipc).numRows });
    }
  }
  const models: ModelEntry[] = [];
  for (const record of metadata.models) {
    const known = parent?.models.find((m) => nameKey(m.name) === nameKey(record.name) && m.version === record.version);
    if (known !== undefined) models.push(known);
    else {
      const object = await newObject(new Uint8Array(await registry.readWeights(record.name, record.version)), 'bin');
      objects.push(object);
      models.push({ key: object.key, sha256: object.sha256, size: object.size, name: record.name, version: record.version });
    }
  }
  const commitHigh = Math.max(0, ...metadata.commits.map((c) => c.commitId));
  const draft: ManifestDraft = {
    format: SNAPSHOT_FORMAT,
    formatVersion: SNAPSHOT_FORMAT_VERSION,
    store: request.store,
    commitHigh,
    include: request.include === null ? null : {
      ...(request.include.featureGroups === undefined ? {} : { featureGroups: [...request.include.featureGroups] }),
      ...(request.include.models === undefined ? {} : { models: [...request.include.models] }),
    },
    metadataSchema: METADATA_SCHEMA,
    metadata: { key: metadataObject.key, sha256: metadataObject.sha256, size: metadataObject.size },
    groups,
    datasets,
    models,
  };
  // An object can be new to two entries (two identical parts); upload it once.
  const unique = new Map(objects.map((o) => [o.key, o]));
  return { draft, objects: [...unique.values()] };
}

/** The parsed registry records of a snapshot's metadata object, checked for the fields applying needs. */
export function parseMetadata(key: string, bytes: Uint8Array): RegistryDump {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new SnapshotIntegrityError(`Snapshot metadata ${key} is not JSON. Nothing was applied.`, { details: { key, reason: 'not JSON' } });
  }
  const fields: (keyof RegistryDump)[] = [
    'featureGroups', 'commits', 'statistics', 'featureViews', 'trainingDatasets', 'runs', 'models', 'modelNames', 'aliases', 'aliasHistory',
    'pipelines', 'pipelineRuns',
  ];
  // JSON.parse makes own data properties only: a "__proto__" key in the file is an ordinary key here, never a prototype.
  if (typeof value !== 'object' || value === null || fields.some((f) => !Array.isArray((value as Record<string, unknown>)[f]))) {
    throw new SnapshotIntegrityError(`Snapshot metadata ${key} does not hold registry records. Nothing was applied.`, {
      details: { key, reason: 'not registry records' },
    });
  }
  return value as RegistryDump;
}

/** A downloaded, verified snapshot ready to apply. `objects` holds the bytes of every object not already applied here. */
export interface SnapshotToApply {
  target: string;
  manifestKey: string;
  manifest: Manifest;
  /** The manifest the local store holds for this target (its parts are in the tables), or null to rebuild everything. */
  base: Manifest | null;
  objects: Map<string, Uint8Array>;
}

/**
 * Checks that the metadata and the manifest describe the same things, each definition as valid as one made here,
 * before anything is applied: every group has a definition and its ledger, every dataset record its rows, every model
 * version its weights.
 */
function checkMetadata(manifest: Manifest, metadata: RegistryDump): void {
  const fail = (reason: string): never => {
    throw new SnapshotIntegrityError(`The snapshot's metadata does not match its manifest: ${reason}. Nothing was applied.`, {
      details: { key: manifest.metadata.key, reason },
    });
  };
  const id = (name: string, version: number) => `${nameKey(name)}@${version}`;
  const groups = new Set(manifest.groups.map((g) => id(g.name, g.version)));
  if (groups.size !== manifest.groups.length || metadata.featureGroups.length !== groups.size) fail('the feature groups differ');
  for (const definition of metadata.featureGroups) {
    if (!groups.has(id(definition.name, definition.version))) fail(`${definition.name} v${definition.version} has no entry`);
    let again: FeatureGroupDefinition | undefined;
    try {
      again = normalizeFeatureGroup({ ...definition, primaryKey: [...definition.primaryKey], features: definition.features.map((f) => ({ ...f })), ttl: definition.ttlSeconds ?? undefined, expectations: definition.expectations ?? undefined }, definition.createdAt);
    } catch (error) {
      fail(`the definition of ${String(definition.name)} is not valid (${String(error)})`);
    }
    if (canonicalJson(again) !== canonicalJson(definition)) fail(`the definition of ${definition.name} v${definition.version} is not in normal form`);
  }
  const tables = new Set(manifest.datasets.map((d) => d.table));
  for (const record of metadata.trainingDatasets) if (!tables.has(record.table)) fail(`training dataset ${record.table} has no rows`);
  if (tables.size !== metadata.trainingDatasets.length) fail('the training datasets differ');
  const models = new Set(manifest.models.map((m) => id(m.name, m.version)));
  for (const record of metadata.models) if (!models.has(id(record.name, record.version))) fail(`model ${record.name} v${record.version} has no weights`);
  if (models.size !== metadata.models.length) fail('the models differ');
}

function objectBytes(objects: Map<string, Uint8Array>, entry: ObjectEntry): Uint8Array {
  const bytes = objects.get(entry.key);
  if (bytes === undefined) {
    throw new SnapshotIntegrityError(`Snapshot object ${entry.key} was not downloaded. Nothing was applied.`, { details: { key: entry.key, reason: 'missing' } });
  }
  return bytes;
}

/**
 * Applies a snapshot: the offline store in one DuckDB transaction, then the registry in one IndexedDB transaction.
 * Returns the definitions of the groups whose rows changed, as held before and after (the caller rebuilds their
 * online rows).
 */
export async function applySnapshot(
  offline: DuckDbOfflineStore,
  registry: Registry,
  snapshot: SnapshotToApply,
): Promise<{ before: FeatureGroupDefinition[]; after: FeatureGroupDefinition[] }> {
  const { manifest, base } = snapshot;
  const metadata = parseMetadata(manifest.metadata.key, objectBytes(snapshot.objects, manifest.metadata));
  await parquet();
  const decode = (entry: ObjectEntry): Uint8Array => {
    try {
      return readParquet(objectBytes(snapshot.objects, entry), { batchSize: 1 << 20 }).intoIPCStream();
    } catch (error) {
      throw new SnapshotIntegrityError(`Snapshot object ${entry.key} is not readable Parquet: ${String(error)}. Nothing was applied.`, {
        details: { key: entry.key, reason: 'unreadable Parquet' },
        cause: error,
      });
    }
  };
  checkMetadata(manifest, metadata);
  const groups: SnapshotApplyPlan['groups'] = [];
  for (const entry of manifest.groups) {
    const definition = metadata.featureGroups.find((g) => nameKey(g.name) === nameKey(entry.name) && g.version === entry.version)!;
    const held = base?.groups.find((g) => nameKey(g.name) === nameKey(entry.name) && g.version === entry.version);
    const heldKeys = new Set(held?.parts.map((p) => p.key) ?? []);
    const newKeys = new Set(entry.parts.map((p) => p.key));
    groups.push({
      definition,
      ledger: entry.commits,
      rebuild: held === undefined,
      removeRanges: (held?.parts ?? []).filter((p) => !newKeys.has(p.key)).map((p) => [p.firstCommit, p.lastCommit]),
      parts: entry.parts.filter((p) => !heldKeys.has(p.key)).map((p) => decode(p)),
    });
  }
  const heldTables = new Set(base?.datasets.map((d) => d.key + d.table) ?? []);
  const datasets = manifest.datasets.map((d) => ({ table: d.table, ipc: heldTables.has(d.key + d.table) ? null : decode(d) }));
  const weights = new Map<string, ArrayBuffer>();
  for (const model of manifest.models) {
    const bytes = objectBytes(snapshot.objects, model);
    weights.set(weightsKey(model.name, model.version), bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
  }
  const before = await registry.listFeatureGroups();
  const untouched = new Set(groups.filter((g) => !g.rebuild && g.removeRanges.length === 0 && g.parts.length === 0).map((g) => `${nameKey(g.definition.name)}@${g.definition.version}`));
  await offline.applySnapshot({
    groups,
    datasets,
    commitHigh: manifest.commitHigh,
    sync: { target: snapshot.target, manifest: snapshot.manifestKey, body: JSON.stringify(manifest) },
  });
  await registry.restore(metadata, weights);
  const changed = (d: FeatureGroupDefinition) => !untouched.has(`${nameKey(d.name)}@${d.version}`);
  return { before: before.filter(changed), after: metadata.featureGroups.filter(changed) };
}
