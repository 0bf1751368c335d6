/**
 * The store worker's side of sync: making the objects of a snapshot from the offline store and the registry, and
 * applying a downloaded snapshot to them. Network and retries stay on the caller's side (src/sync/sync.ts); this
 * module only turns state into bytes and bytes into state.
 */
import { tableFromIPC, tableToIPC } from 'apache-arrow';
import { Compression, Table as WasmTable, WriterPropertiesBuilder, writeParquet } from 'parquet-wasm/esm';
import { loadParquetWasm, readParquetToIpc } from '../ingest/parquet.ts';
import { groupId } from '../pipelines/training-data.ts';
import { normalizeFeatureGroup, type FeatureGroupDefinition } from '../definitions/feature-group.ts';
import { NAME_PATTERN, nameKey } from '../definitions/names.ts';
import { SnapshotIntegrityError } from '../errors.ts';
import type { DuckDbOfflineStore, SnapshotApplyPlan } from '../offline/duckdb/offline-store.ts';
import { weightsKey, type CommitRecord, type Registry, type RegistryDump, type TrainingDatasetRecord } from '../registry/types.ts';
import {
  METADATA_SCHEMA, SNAPSHOT_FORMAT, normalizeInclude, type SnapshotInclude, SNAPSHOT_FORMAT_VERSION, canonicalJson, objectKey, parseJsonBytes, type DatasetEntry, type GroupEntry, type Manifest,
  type ModelEntry, type ObjectEntry, type PartEntry,
} from './manifest.ts';
import { sha256Hex } from './object-store.ts';

export type { SnapshotInclude } from './manifest.ts';

/** A new object of a snapshot, with its bytes. */
export interface NewObject extends ObjectEntry {
  bytes: Uint8Array;
}

/** A manifest before it is given its parent and time. */
export type ManifestDraft = Omit<Manifest, 'parent' | 'createdAt'>;

/** The registry records a snapshot carries: statistics are left out (a cache, recomputed on demand). */
export function snapshotMetadata(dump: RegistryDump, include: SnapshotInclude | null): RegistryDump {
  const keep = (names: readonly string[] | undefined) => {
    const set = names === undefined ? null : new Set(names.map((n) => nameKey(n)));
    return (name: string) => set === null || set.has(nameKey(name));
  };
  const group = keep(include?.featureGroups);
  const model = keep(include?.models);
  const views = dump.featureViews.filter((v) => group(v.spine.group) && v.joins.every((j) => group(j.group)));
  const viewKeys = new Set(views.map((v) => groupId(v.name, v.version)));
  return {
    featureGroups: dump.featureGroups.filter((g) => group(g.name)),
    commits: dump.commits.filter((c) => group(c.group)).sort((a, b) => a.commitId - b.commitId),
    statistics: [],
    featureViews: views,
    trainingDatasets: dump.trainingDatasets.filter((d) => viewKeys.has(groupId(d.view, d.viewVersion))),
    // Runs still in flight are left out: elsewhere they would be marked interrupted at the next open.
    runs: dump.runs.filter((r) => model(r.model) && r.status !== 'running'),
    models: dump.models.filter((m) => model(m.name)),
    modelNames: dump.modelNames.filter((m) => model(m.name)),
    aliases: dump.aliases.filter((a) => model(a.name)),
    aliasHistory: dump.aliasHistory.filter((a) => model(a.name)),
    pipelines: dump.pipelines.filter((p) => p.outputs.every((o) => group(o.group))),
    pipelineRuns: dump.pipelineRuns.filter((r) => r.status !== 'running' && dump.pipelines.some((p) => nameKey(p.name) === nameKey(r.pipeline) && p.outputs.every((o) => group(o.group)))),
  };
}

/**
 * A hash of everything the store holds that a pull would replace: its records as a whole-store snapshot would carry
 * them, pipeline run logs aside (the commits a run made are in the ledger already). Equal before and after means no
 * local change.
 */
export async function fingerprint(dump: RegistryDump): Promise<string> {
  return (await metadataBytes({ ...snapshotMetadata(dump, null), pipelineRuns: [] })).sha256;
}

/** What sync knows about one target, kept by the offline store as JSON. */
export interface SyncState {
  /**
   * The snapshot the store last pushed or pulled, and the store's fingerprint then. `complete` is false after a pull
   * whose registry half did not happen (the next pull applies everything again).
   */
  base: { key: string; manifest: Manifest; complete: boolean; localSha: string | null } | null;
  /** A push about to move HEAD: should HEAD name it later, the push happened even if its answer was lost. */
  pending: { key: string; manifest: Manifest; localSha: string } | null;
}

export function parseSyncState(text: string | undefined): SyncState {
  return text === undefined ? { base: null, pending: null } : (JSON.parse(text) as SyncState);
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
  await loadParquetWasm();
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
): Promise<{ draft: ManifestDraft; objects: NewObject[]; localSha: string }> {
  // Read under the offline store's write lock, so that no commit lands between the records, the ledgers and the
  // rows; encoded after it, so that writes wait only for the reads.
  const parent = request.parent;
  const read = await offline.exclusive(async () => {
    const dump = await registry.dump();
    const metadata = snapshotMetadata(dump, request.include);
    const groups: { definition: FeatureGroupDefinition; ledger: CommitRecord[]; kept: PartEntry[]; replaced: string[]; parentHigh: number; fresh: { first: number; last: number; ipc: Uint8Array; rows: number }[] }[] = [];
    for (const definition of metadata.featureGroups) {
      const ledger = await offline.ledger(definition);
      const high = ledger.at(-1)?.commitId ?? 0;
      const before = parent?.groups.find((g) => nameKey(g.name) === nameKey(definition.name) && g.version === definition.version);
      const parentHigh = before?.commits.at(-1)?.commitId ?? 0;
      const group = { definition, ledger, kept: [] as PartEntry[], replaced: [] as string[], parentHigh, fresh: [] as { first: number; last: number; ipc: Uint8Array; rows: number }[] };
      const read = async (first: number, last: number) => {
        const { ipc, rows } = await offline.exportRows(definition, first, last);
        if (rows > 0) group.fresh.push({ first, last, ipc, rows });
      };
      // A part whose rows are all still there is reused; one that lost rows to deletes is written again without them.
      for (const part of before?.parts ?? []) {
        if ((await offline.countRows(definition, part.firstCommit, part.lastCommit)) === part.rows) group.kept.push(part);
        else {
          group.replaced.push(part.key);
          await read(part.firstCommit, part.lastCommit);
        }
      }
      if (high > parentHigh) await read(parentHigh + 1, high);
      groups.push(group);
    }
    const datasets: { record: TrainingDatasetRecord; known: DatasetEntry | undefined; ipc: Uint8Array | null }[] = [];
    for (const record of metadata.trainingDatasets) {
      // A table name comes back after its view is deleted and made again: the record's creation time tells them apart.
      const known = parent?.datasets.find((d) => d.table === record.table && d.createdAt === record.createdAt);
      datasets.push({ record, known, ipc: known === undefined ? await offline.exportTable(record.table) : null });
    }
    return { dump, metadata, groups, datasets };
  });
  const { metadata } = read;
  const localSha = await fingerprint(read.dump);
  const objects: NewObject[] = [];
  const metadataObject = await newObject((await metadataBytes(metadata)).bytes, 'json');
  objects.push(metadataObject);
  const groups: GroupEntry[] = [];
  for (const group of read.groups) {
    const parts = [...group.kept];
    for (const fresh of group.fresh) {
      const object = await parquetObject(fresh.ipc);
      objects.push(object);
      parts.push({ key: object.key, sha256: object.sha256, size: object.size, rows: fresh.rows, firstCommit: fresh.first, lastCommit: fresh.last });
    }
    parts.sort((a, b) => a.firstCommit - b.firstCommit);
    const tombstones = group.ledger
      .filter((c) => c.kind === 'delete' && c.commitId > group.parentHigh)
      .map((c) => ({ commitId: c.commitId, committedAt: c.committedAt, rows: c.rowCount, replaced: group.replaced }));
    groups.push({ name: group.definition.name, version: group.definition.version, parts, commits: group.ledger, tombstones });
  }
  const datasets: DatasetEntry[] = [];
  for (const { record, known, ipc } of read.datasets) {
    if (known !== undefined) datasets.push(known);
    else {
      const object = await parquetObject(ipc!);
      objects.push(object);
      datasets.push({ key: object.key, sha256: object.sha256, size: object.size, table: record.table, createdAt: record.createdAt, rows: tableFromIPC(ipc).numRows });
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
  const commitHigh = groups.reduce((high, g) => g.commits.reduce((h, c) => Math.max(h, c.commitId), high), 0);
  const draft: ManifestDraft = {
    format: SNAPSHOT_FORMAT,
    formatVersion: SNAPSHOT_FORMAT_VERSION,
    store: request.store,
    commitHigh,
    include: normalizeInclude(request.include),
    metadataSchema: METADATA_SCHEMA,
    metadata: { key: metadataObject.key, sha256: metadataObject.sha256, size: metadataObject.size },
    groups,
    datasets,
    models,
  };
  // An object can be new to two entries (two identical parts); upload it once.
  const unique = new Map(objects.map((o) => [o.key, o]));
  return { draft, objects: [...unique.values()], localSha };
}


/** The parsed registry records of a snapshot's metadata object, checked for the fields applying needs. */
export function parseMetadata(key: string, bytes: Uint8Array): RegistryDump {
  const value = parseJsonBytes(bytes, () => {
    throw new SnapshotIntegrityError(`Snapshot metadata ${key} is not JSON. Nothing was applied.`, { details: { key, reason: 'not JSON' } });
  });
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

/** A downloaded, verified snapshot ready to apply. `objects` holds the bytes of every object not already held here. */
export interface SnapshotToApply {
  target: string;
  manifestKey: string;
  manifest: Manifest;
  /** The manifest the store holds for this target (its parts are in the tables), or null to rebuild everything. */
  base: Manifest | null;
  objects: Map<string, Uint8Array>;
}


/**
 * The entries of `manifest` the store already holds because it holds `base`: parts of a group whose definition is
 * unchanged, training datasets of the same table and creation, model weights of the same bytes. Everything else must
 * be downloaded. One rule for choosing downloads and for applying them.
 */
export function heldEntries(base: Manifest | null, manifest: Manifest, local: readonly FeatureGroupDefinition[], incoming: RegistryDump): Set<ObjectEntry> {
  const held = new Set<ObjectEntry>();
  if (base === null) return held;
  for (const entry of manifest.groups) {
    const id = groupId(entry.name, entry.version);
    const before = base.groups.find((g) => groupId(g.name, g.version) === id);
    const mine = local.find((d) => groupId(d.name, d.version) === id);
    const theirs = incoming.featureGroups.find((d) => groupId(d.name, d.version) === id);
    // A group deleted and made again under the same version has other columns: its table is rebuilt.
    if (before === undefined || mine === undefined || theirs === undefined || canonicalJson(mine) !== canonicalJson(theirs)) continue;
    const keys = new Set(before.parts.map((p) => p.key));
    for (const part of entry.parts) if (keys.has(part.key)) held.add(part);
  }
  for (const d of manifest.datasets) {
    if (base.datasets.some((b) => b.key === d.key && b.table === d.table && b.createdAt === d.createdAt)) held.add(d);
  }
  for (const m of manifest.models) if (base.models.some((b) => b.key === m.key)) held.add(m);
  return held;
}

/** The keys of the objects a pull must download (the metadata aside, which it has read already). */
export async function neededObjects(registry: Registry, base: Manifest | null, manifest: Manifest, metadata: Uint8Array): Promise<string[]> {
  const records = parseMetadata(manifest.metadata.key, metadata);
  checkMetadata(manifest, records);
  const held = heldEntries(base, manifest, await registry.listFeatureGroups(), records);
  const entries = [...manifest.groups.flatMap((g) => g.parts), ...manifest.datasets, ...manifest.models];
  return [...new Set(entries.filter((e) => !held.has(e)).map((e) => e.key))];
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
  const groups = new Set(manifest.groups.map((g) => groupId(g.name, g.version)));
  if (groups.size !== manifest.groups.length || metadata.featureGroups.length !== groups.size) fail('the feature groups differ');
  for (const definition of metadata.featureGroups) {
    if (!groups.has(groupId(definition.name, definition.version))) fail(`${definition.name} v${definition.version} has no entry`);
    let again: FeatureGroupDefinition | undefined;
    try {
      again = normalizeFeatureGroup({ ...definition, primaryKey: [...definition.primaryKey], features: definition.features.map((f) => ({ ...f })), ttl: definition.ttlSeconds ?? undefined, expectations: definition.expectations ?? undefined }, definition.createdAt);
    } catch (error) {
      fail(`the definition of ${String(definition.name)} is not valid (${String(error)})`);
    }
    if (canonicalJson(again) !== canonicalJson(definition)) fail(`the definition of ${definition.name} v${definition.version} is not in normal form`);
  }
  // Every record has the fields the registry keys and indexes it by: restoring must not fail after DuckDB committed.
  const shape = (list: readonly unknown[], what: string, fields: Record<string, 'name' | 'text' | 'version'>): void => {
    for (const record of list) {
      if (typeof record !== 'object' || record === null) fail(`a ${what} is not an object`);
      for (const [field, kind] of Object.entries(fields)) {
        const value = (record as Record<string, unknown>)[field];
        const ok = kind === 'version' ? Number.isSafeInteger(value) && (value as number) >= 0
          : typeof value === 'string' && value.length > 0 && (kind === 'text' || NAME_PATTERN.test(value));
        if (!ok) fail(`a ${what} has no valid ${field}`);
      }
    }
  };
  shape(metadata.commits, 'commit', { commitId: 'version', group: 'name', version: 'version' });
  shape(metadata.featureViews, 'feature view', { name: 'name', version: 'version' });
  shape(metadata.trainingDatasets, 'training dataset', { view: 'name', viewVersion: 'version', version: 'version', table: 'text' });
  shape(metadata.runs, 'run', { id: 'text', model: 'name', startedAt: 'version' });
  shape(metadata.models, 'model version', { name: 'name', version: 'version' });
  shape(metadata.modelNames, 'model name', { name: 'name', lastVersion: 'version' });
  shape(metadata.aliases, 'alias', { name: 'name', alias: 'name', version: 'version' });
  shape(metadata.aliasHistory, 'alias change', { name: 'name', alias: 'name' });
  shape(metadata.pipelines, 'pipeline', { name: 'name' });
  shape(metadata.pipelineRuns, 'pipeline run', { id: 'text', pipeline: 'name', startedAt: 'version' });
  const tables = new Set(manifest.datasets.map((d) => d.table));
  for (const record of metadata.trainingDatasets) if (!tables.has(record.table)) fail(`training dataset ${record.table} has no rows`);
  if (tables.size !== metadata.trainingDatasets.length) fail('the training datasets differ');
  const models = new Set(manifest.models.map((m) => groupId(m.name, m.version)));
  for (const record of metadata.models) if (!models.has(groupId(record.name, record.version))) fail(`model ${record.name} v${record.version} has no weights`);
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
 * Applies a snapshot: the offline store in one DuckDB transaction (with the target's sync state, marked incomplete),
 * then the registry in one IndexedDB transaction. Returns the definitions of the groups whose rows changed, as held
 * before and after (the caller rebuilds their online rows and completes the sync state).
 */
export async function applySnapshot(
  offline: DuckDbOfflineStore,
  registry: Registry,
  snapshot: SnapshotToApply,
  state: SyncState,
  /** Called with the bytes about to be written (decoded rows and weights) before anything is: may refuse. */
  reserve: (bytes: number) => Promise<void> = () => Promise.resolve(),
): Promise<{ before: FeatureGroupDefinition[]; after: FeatureGroupDefinition[] }> {
  const { manifest, base } = snapshot;
  const metadata = parseMetadata(manifest.metadata.key, objectBytes(snapshot.objects, manifest.metadata));
  checkMetadata(manifest, metadata);
  const before = await registry.listFeatureGroups();
  const held = heldEntries(base, manifest, before, metadata);
  const decode = async (entry: ObjectEntry): Promise<Uint8Array> => {
    const bytes = objectBytes(snapshot.objects, entry);
    try {
      return await readParquetToIpc(bytes);
    } catch (error) {
      throw new SnapshotIntegrityError(`Snapshot object ${entry.key} is not readable Parquet: ${String(error)}. Nothing was applied.`, {
        details: { key: entry.key, reason: 'unreadable Parquet' },
        cause: error,
      });
    }
  };
  const groups: SnapshotApplyPlan['groups'] = [];
  for (const entry of manifest.groups) {
    const id = groupId(entry.name, entry.version);
    const definition = metadata.featureGroups.find((g) => groupId(g.name, g.version) === id)!;
    const kept = entry.parts.filter((p) => held.has(p));
    const rebuild = kept.length === 0;
    const keptKeys = new Set(kept.map((p) => p.key));
    const previous = base?.groups.find((g) => groupId(g.name, g.version) === id)?.parts ?? [];
    groups.push({
      definition,
      ledger: entry.commits,
      rebuild,
      removeRanges: rebuild ? [] : previous.filter((p) => !keptKeys.has(p.key)).map((p) => [p.firstCommit, p.lastCommit]),
      parts: [],
    });
    for (const part of entry.parts) if (!held.has(part)) groups.at(-1)!.parts.push(await decode(part));
  }
  const datasets: SnapshotApplyPlan['datasets'] = [];
  for (const d of manifest.datasets) datasets.push({ table: d.table, ipc: held.has(d) ? null : await decode(d) });
  const weights = new Map<string, ArrayBuffer>();
  for (const model of manifest.models) {
    let buffer: ArrayBuffer;
    if (held.has(model)) {
      // Weights of the same bytes are here already, under the version the base snapshot names.
      const mine = base!.models.find((b) => b.key === model.key)!;
      buffer = await registry.readWeights(mine.name, mine.version);
    } else {
      const bytes = objectBytes(snapshot.objects, model);
      buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    }
    weights.set(weightsKey(model.name, model.version), buffer);
  }
  const untouched = new Set(groups.filter((g) => !g.rebuild && g.removeRanges.length === 0 && g.parts.length === 0).map((g) => groupId(g.definition.name, g.definition.version)));
  // Incomplete until the registry holds the snapshot too; the fingerprint stays the one from before, so that a
  // store changed in between is still seen as changed.
  const incomplete: SyncState = {
    base: { key: snapshot.manifestKey, manifest, complete: false, localSha: state.base?.localSha ?? null },
    pending: null,
  };
  let bytes = 0;
  for (const group of groups) for (const part of group.parts) bytes += part.byteLength;
  for (const dataset of datasets) bytes += dataset.ipc?.byteLength ?? 0;
  for (const model of manifest.models) if (!held.has(model)) bytes += model.size;
  await reserve(bytes);
  await offline.applySnapshot({ groups, datasets, sync: { target: snapshot.target, state: JSON.stringify(incomplete) } });
  await registry.restore(metadata, weights);
  const changed = (d: FeatureGroupDefinition) => !untouched.has(groupId(d.name, d.version));
  return { before: before.filter(changed), after: metadata.featureGroups.filter(changed) };
}
