/**
 * `store.sync`: push a snapshot of the store to an object store and pull one back, on this or another device.
 *
 * Push uploads the objects the target lacks (content-addressed, create-only), then an immutable manifest, then moves
 * `HEAD` by compare-and-swap: a reader sees the old snapshot or the new one, whole. Pull reads `HEAD`, verifies every
 * object it needs (size and SHA-256) before touching the store, then applies the snapshot in one transaction per
 * engine. History is linear: a push must start from the snapshot the store last pushed or pulled (else
 * `SyncConflictError`: pull, then push again).
 */
import * as Comlink from 'comlink';
import { InvalidArgumentError, NotFoundError, SnapshotIntegrityError, SyncConflictError, UnsafeTargetError, throwIfAborted } from '../errors.ts';
import type { StoreWorkerApi, SyncStatus } from '../rpc/store-api.ts';
import {
  HEAD_KEY, canonicalJson, normalizeInclude, type SnapshotInclude, manifestKey, manifestObjects, manifestSha, parseHead, parseManifest, type Head, type Manifest, type ObjectEntry,
} from './manifest.ts';
import { checkKey, sha256Base64, sha256Hex, type ObjectStore } from './object-store.ts';
import { withRetries, type RetryOptions } from './retry.ts';


/** Where a snapshot lives: an object store and a folder in it. */
export interface SyncTarget {
  target: ObjectStore;
  /** The folder of the snapshot inside the target (no leading or trailing slash), e.g. `'stores/weather'`. */
  prefix: string;
  retry?: RetryOptions;
  signal?: AbortSignal;
}

/** Progress of a push or pull, in objects and bytes moved. */
export interface SyncProgress {
  phase: 'checking' | 'snapshotting' | 'uploading' | 'downloading' | 'applying' | 'done';
  objects?: number;
  totalObjects?: number;
  bytes?: number;
  totalBytes?: number;
}

export interface PushOptions extends SyncTarget {
  /** What the snapshot holds (default: the whole store). */
  include?: SnapshotInclude;
  /**
   * Push to a target that ignores conditional writes (`If-None-Match`, `If-Match`). Only safe when no other device
   * pushes to the same prefix: two pushes at once could then both "win" and one would be lost.
   */
  singleWriter?: boolean;
  /** Parallel uploads (default 4). */
  concurrency?: number;
  onProgress?: (progress: SyncProgress) => void;
}

export interface PushResult {
  /** The manifest HEAD now names. */
  manifest: string;
  parent: string | null;
  /** False when the target already held this store's state (nothing was written). */
  pushed: boolean;
  uploaded: { objects: number; bytes: number };
  /**
   * New objects found already in the target (uploaded by a push that was cut short, or the same content elsewhere in
   * the history). Objects the parent snapshot holds are reused without a request and counted in neither.
   */
  reused: { objects: number; bytes: number };
}

export interface PullOptions extends SyncTarget {
  /** A manifest key to pull instead of the one HEAD names (an older snapshot). */
  manifest?: string;
  /** Replace local changes not yet pushed (else pull refuses with SyncConflictError). */
  overwrite?: boolean;
  /** Parallel downloads (default 4). */
  concurrency?: number;
  onProgress?: (progress: SyncProgress) => void;
}

export interface PullResult {
  manifest: string;
  /** False when the store was already at this snapshot. */
  applied: boolean;
  downloaded: { objects: number; bytes: number };
}

export interface PurgeOptions extends SyncTarget {
  /** How many snapshots to keep, newest first along HEAD's history (at least 1). */
  keep: number;
  /**
   * Objects younger than this are kept even when unreferenced: a push in progress has uploaded them but not yet
   * moved HEAD (default 1 hour; needs the target to report modification times, else such objects are kept).
   */
  graceMs?: number;
}

export interface PurgeResult {
  kept: string[];
  deleted: { objects: number; bytes: number; manifests: number };
}

/** A key under the snapshot's prefix. */
function keyIn(prefix: string, key: string): string {
  return prefix === '' ? key : `${prefix}/${key}`;
}

function checkPrefix(prefix: unknown): string {
  if (typeof prefix !== 'string') throw new InvalidArgumentError('sync needs a prefix: the folder of the snapshot in the target (may be "").');
  const trimmed = prefix.replace(/^\/+|\/+$/g, '');
  if (trimmed !== '') checkKey(trimmed);
  return trimmed;
}

function hexToBase64(hex: string): string {
  let binary = '';
  for (let i = 0; i < hex.length; i += 2) binary += String.fromCharCode(parseInt(hex.slice(i, i + 2), 16));
  return btoa(binary);
}

/** Runs tasks with at most `limit` at once; the first failure rejects (running ones finish, no new one starts). */
async function inParallel<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const item = items[next++]!;
      try {
        await task(item);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}

/** The push and pull side of a store (see the module comment). Get it as `store.sync`. */
export class Sync {
  /** Targets (by id) known to honour conditional writes: a new target object for them is not probed again. */
  private readonly probed = new Set<string>();

  /** @internal */
  constructor(
    private readonly api: () => Comlink.Remote<StoreWorkerApi>,
    private readonly storeName: string,
  ) {}

  private static targetId(options: SyncTarget, prefix: string): string {
    return `${options.target.description}|${prefix}`;
  }

  /** Where this store stands with a target: the snapshot it last pushed or pulled, and whether it changed since. */
  async status(options: SyncTarget): Promise<Omit<SyncStatus, 'metadataSha'> & { head: string | null }> {
    const prefix = checkPrefix(options.prefix);
    const [status, head] = await Promise.all([this.api().syncStatus(Sync.targetId(options, prefix), null), this.readHead(options, prefix)]);
    const { metadataSha: _internal, ...visible } = status;
    return { ...visible, head: head?.head.manifest ?? null };
  }

  private async readHead(options: SyncTarget, prefix: string): Promise<{ head: Head; etag: string } | null> {
    const found = await withRetries(() => options.target.get(keyIn(prefix, HEAD_KEY), { signal: options.signal }), options.retry, options.signal);
    return found === null ? null : { head: parseHead(found.body), etag: found.etag };
  }

  /**
   * Whether the target refuses a create-only write over an existing key and a write with a stale ETag. Only a yes is
   * remembered: a no is asked again next time.
   */
  private async honoursConditions(options: SyncTarget, prefix: string): Promise<boolean> {
    const id = Sync.targetId(options, prefix);
    if (this.probed.has(id)) return true;
    const body = new TextEncoder().encode('larder conditional-write probe');
    const { target, signal, retry } = options;
    const keys: string[] = [];
    try {
      // A fresh key for every attempt: a first write whose answer was lost must not make the next look refused.
      const key = await withRetries(async () => {
        const attempt = keyIn(prefix, `probes/${crypto.randomUUID()}`);
        keys.push(attempt);
        await target.put(attempt, body, { ifNoneMatch: '*', signal });
        return attempt;
      }, retry, signal);
      const honoured = (await withRetries(() => target.put(key, body, { ifNoneMatch: '*', signal }), retry, signal)) === null &&
        (await withRetries(() => target.put(key, body, { ifMatch: '"larder-stale-etag"', signal }), retry, signal)) === null;
      if (honoured) this.probed.add(id);
      return honoured;
    } finally {
      for (const key of keys) await withRetries(() => target.delete(key, { signal }), retry, signal).catch(() => undefined);
    }
  }

  /**
   * Pushes a snapshot of the store.
   *
   * @example
   * ```ts
   * const target = new PresignedObjectStore({ sign: (request) => myBackend.sign(request) });
   * const { manifest, uploaded } = await store.sync.push({ target, prefix: 'stores/weather' });
   * ```
   */
  async push(options: PushOptions): Promise<PushResult> {
    const prefix = checkPrefix(options.prefix);
    const { target, signal } = options;
    if (!target.writable) throw new InvalidArgumentError(`${target.description} is read-only: push to a writable target.`);
    const progress = options.onProgress ?? (() => undefined);
    const id = Sync.targetId(options, prefix);
    progress({ phase: 'checking' });
    const conditional = await this.honoursConditions(options, prefix);
    if (!conditional && options.singleWriter !== true) {
      throw new UnsafeTargetError(
        `${target.description} ignores conditional writes (If-None-Match / If-Match), so two devices pushing at once could overwrite each other. ` +
          'Use a target that honours them (AWS S3, Cloudflare R2, MinIO…) or pass singleWriter: true if only this device pushes here.',
        { details: { target: target.description } },
      );
    }
    const include = normalizeInclude(options.include);
    let status = await this.api().syncStatus(id, include);
    if (status.base !== null && !status.base.complete) {
      throw new SyncConflictError('A pull from this target was cut short; pull again before pushing.', { details: { reason: 'interrupted-pull' } });
    }
    const head = await this.readHead(options, prefix);
    if (head !== null && head.head.manifest !== status.base?.key) status = await this.adopt(options, prefix, id, head.head.manifest, status, include);
    const base = status.base?.key ?? null;
    if (head !== null && head.head.manifest !== base) {
      throw new SyncConflictError(
        `The snapshot at ${target.description} moved on (HEAD is ${head.head.manifest}, this store last saw ${base ?? 'none'}): pull, then push again.`,
        { details: { reason: 'head-moved', expected: base, found: head.head.manifest } },
      );
    }
    if (head !== null && !status.localChanges && canonicalJson(status.base?.manifest.include ?? null) === canonicalJson(include)) {
      return { manifest: head.head.manifest, parent: status.base?.manifest.parent ?? null, pushed: false, uploaded: { objects: 0, bytes: 0 }, reused: { objects: 0, bytes: 0 } };
    }
    progress({ phase: 'snapshotting' });
    // Without a HEAD (a new or emptied prefix) nothing can be assumed present: every object goes up.
    const parent = head === null ? null : status.base!.manifest;
    const { draft, objects, localSha } = await this.api().syncExport({ store: this.storeName, include, parent });
    const totalBytes = objects.reduce((sum, o) => sum + o.size, 0);
    const uploaded = { objects: 0, bytes: 0 };
    const reused = { objects: 0, bytes: 0 };
    progress({ phase: 'uploading', objects: 0, totalObjects: objects.length, bytes: 0, totalBytes });
    await inParallel(objects, options.concurrency ?? 4, async (object) => {
      const key = keyIn(prefix, object.key);
      // Content-addressed: an object already there (shared, or uploaded by a push that was cut short) is this one.
      const present = await withRetries(() => target.head(key, { signal }), options.retry, signal);
      if (present !== null && present.size === object.size) {
        reused.objects++;
        reused.bytes += object.size;
      } else {
        const sha256 = hexToBase64(object.sha256);
        // A wrong-sized object under this key is a torn upload (stores that write in place keep them): overwritten.
        const ifNoneMatch = conditional && present === null ? '*' : undefined;
        await withRetries(() => target.put(key, object.bytes, { ifNoneMatch, sha256, signal }), options.retry, signal);
        uploaded.objects++;
        uploaded.bytes += object.size;
      }
      progress({ phase: 'uploading', objects: uploaded.objects + reused.objects, totalObjects: objects.length, bytes: uploaded.bytes + reused.bytes, totalBytes });
    });
    const manifest: Manifest = { ...draft, parent: head?.head.manifest ?? null, createdAt: Date.now() };
    const manifestBytes = new TextEncoder().encode(canonicalJson(manifest));
    const key = manifestKey(await sha256Hex(manifestBytes));
    const manifestSum = await sha256Base64(manifestBytes);
    await withRetries(() => target.put(keyIn(prefix, key), manifestBytes, { ifNoneMatch: conditional ? '*' : undefined, sha256: manifestSum, signal }), options.retry, signal);
    uploaded.objects++;
    uploaded.bytes += manifestBytes.byteLength;
    // Recorded before HEAD moves: if the answer is lost (or this tab closes), the next push or pull sees HEAD naming
    // this manifest and knows it for this store's own.
    await this.api().syncRecord(id, key, manifest, localSha, true);
    const pointer: Head = { format: 'larder-snapshot-head', manifest: key, createdAt: manifest.createdAt };
    const pointerBytes = new TextEncoder().encode(JSON.stringify(pointer));
    const condition = !conditional ? {} : head === null ? { ifNoneMatch: '*' as const } : { ifMatch: head.etag };
    const moved = await withRetries(() => target.put(keyIn(prefix, HEAD_KEY), pointerBytes, { ...condition, signal }), options.retry, signal);
    if (moved === null) {
      // A retried write whose first attempt landed (its response lost) fails its condition: HEAD then names ours.
      const now = await this.readHead(options, prefix);
      if (now?.head.manifest !== key) {
        throw new SyncConflictError(
          `Another push moved the snapshot at ${target.description} first (HEAD is now ${now?.head.manifest ?? 'gone'}): pull, then push again.`,
          { details: { reason: 'lost-race', expected: head?.head.manifest ?? null, found: now?.head.manifest ?? null } },
        );
      }
    }
    await this.api().syncRecord(id, key, manifest, localSha, false);
    progress({ phase: 'done', objects: objects.length + 1, totalObjects: objects.length + 1, bytes: totalBytes + manifestBytes.byteLength, totalBytes: totalBytes + manifestBytes.byteLength });
    return { manifest: key, parent: manifest.parent, pushed: true, uploaded, reused };
  }

  /**
   * When HEAD names this store's own push whose answer was lost (recorded as pending before HEAD moved), or a snapshot
   * of exactly what the store holds, the store takes it as its base instead of reporting a conflict.
   */
  private async adopt(options: SyncTarget, prefix: string, id: string, key: string, status: SyncStatus, include: Manifest['include']): Promise<SyncStatus> {
    const pending = await this.api().syncPendingPush(id);
    if (pending?.key === key) {
      await this.api().syncRecord(id, key, pending.manifest, pending.localSha, false);
      return this.api().syncStatus(id, include);
    }
    const manifest = await this.readManifest(options, prefix, key);
    if (!(await this.holds(id, manifest))) return status;
    await this.api().syncRecord(id, key, manifest, null, false);
    return this.api().syncStatus(id, include);
  }

  /** Whether the store's records are exactly a manifest's, hashed with the manifest's own `include`. */
  private async holds(id: string, manifest: Manifest): Promise<boolean> {
    return (await this.api().syncStatus(id, manifest.include)).metadataSha === manifest.metadata.sha256;
  }

  /**
   * HEAD must lead forward from the snapshot this store last synced: walking parents back from HEAD reaches it. A HEAD
   * moved back to an older snapshot (a replayed or tampered pointer) is refused, and so is an unrelated history; a
   * pull naming its manifest explicitly may go anywhere.
   */
  private async checkDescends(options: SyncTarget, prefix: string, key: string, manifest: Manifest, base: { key: string; manifest: Manifest }): Promise<void> {
    let current: Manifest = manifest;
    for (let steps = 0; steps < 10_000; steps++) {
      const parent = current.parent;
      if (parent === base.key) return;
      if (parent === null || current.createdAt < base.manifest.createdAt) break;
      current = await this.readManifest(options, prefix, parent);
    }
    if (manifest.createdAt < base.manifest.createdAt) {
      throw new SnapshotIntegrityError(`HEAD at ${options.target.description} names ${key}, older than the snapshot this store already has (${base.key}): a rolled-back pointer. Nothing was applied.`, {
        details: { key, reason: 'rollback', base: base.key },
      });
    }
    throw new SyncConflictError(`The snapshot at ${options.target.description} does not descend from the one this store last synced (${base.key}). Pull it by naming its manifest if you mean to.`, {
      details: { reason: 'unrelated-history', base: base.key, found: key },
    });
  }

  /** Reads and verifies a manifest. */
  private async readManifest(options: SyncTarget, prefix: string, key: string): Promise<Manifest> {
    const sha = manifestSha(key);
    const found = await withRetries(() => options.target.get(keyIn(prefix, key), { signal: options.signal }), options.retry, options.signal);
    if (found === null) throw new SnapshotIntegrityError(`Manifest ${key} is missing from ${options.target.description}. Nothing was applied.`, { details: { key, reason: 'missing' } });
    if ((await sha256Hex(found.body)) !== sha) {
      throw new SnapshotIntegrityError(`Manifest ${key} does not match its SHA-256. Nothing was applied.`, { details: { key, reason: 'checksum mismatch' } });
    }
    return parseManifest(key, found.body);
  }

  /** Downloads one object and checks its size and SHA-256. */
  private async download(options: SyncTarget, prefix: string, entry: ObjectEntry): Promise<Uint8Array> {
    const found = await withRetries(() => options.target.get(keyIn(prefix, entry.key), { signal: options.signal }), options.retry, options.signal);
    if (found === null) {
      throw new SnapshotIntegrityError(`Snapshot object ${entry.key} is missing from ${options.target.description}. Nothing was applied.`, {
        details: { key: entry.key, reason: 'missing' },
      });
    }
    if (found.body.byteLength !== entry.size) {
      throw new SnapshotIntegrityError(
        `Snapshot object ${entry.key} has ${found.body.byteLength} bytes where the manifest says ${entry.size}. Nothing was applied.`,
        { details: { key: entry.key, reason: 'size mismatch' } },
      );
    }
    if ((await sha256Hex(found.body)) !== entry.sha256) {
      throw new SnapshotIntegrityError(`Snapshot object ${entry.key} does not match its SHA-256. Nothing was applied.`, {
        details: { key: entry.key, reason: 'checksum mismatch' },
      });
    }
    return found.body;
  }

  /**
   * Pulls the snapshot HEAD names (or `manifest`) and makes the store hold it. Refuses with `SyncConflictError` when
   * the store has changes it has not pushed (pass `overwrite: true` to drop them).
   *
   * @example
   * ```ts
   * const target = new HttpObjectStore({ baseUrl: 'https://cdn.example.com/snapshots/' });
   * await store.sync.pull({ target, prefix: 'weather' });
   * ```
   */
  async pull(options: PullOptions): Promise<PullResult> {
    const prefix = checkPrefix(options.prefix);
    const progress = options.onProgress ?? (() => undefined);
    const id = Sync.targetId(options, prefix);
    progress({ phase: 'checking' });
    let key = options.manifest;
    if (key === undefined) {
      const head = await this.readHead(options, prefix);
      if (head === null) throw new NotFoundError(`There is no snapshot at ${options.target.description} under '${prefix}'.`, { details: { prefix } });
      key = head.head.manifest;
    }
    manifestSha(key);
    const status = await this.api().syncStatus(id, null);
    const base = status.base;
    if (base !== null && base.complete && base.key === key && !status.localChanges) {
      return { manifest: key, applied: false, downloaded: { objects: 0, bytes: 0 } };
    }
    const interrupted = base !== null && !base.complete;
    const pending = await this.api().syncPendingPush(id);
    if (!interrupted && pending?.key === key) {
      // This store's own push, whose answer was lost: nothing to download.
      await this.api().syncRecord(id, key, pending.manifest, pending.localSha, false);
      return { manifest: key, applied: false, downloaded: { objects: 0, bytes: 0 } };
    }
    const manifest = await this.readManifest(options, prefix, key);
    if (!interrupted && (await this.holds(id, manifest))) {
      await this.api().syncRecord(id, key, manifest, null, false);
      return { manifest: key, applied: false, downloaded: { objects: 0, bytes: 0 } };
    }
    if (options.manifest === undefined && base !== null && base.complete) await this.checkDescends(options, prefix, key, manifest, base);
    if (status.localChanges && options.overwrite !== true) {
      throw new SyncConflictError(
        base === null
          ? 'This store already holds data and has never synced with this target: pulling would replace it. Pass overwrite: true to do so.'
          : 'This store has changes it has not pushed: pulling would drop them. Push them first (or pass overwrite: true).',
        { details: { reason: 'local-changes', base: base?.key ?? null } },
      );
    }
    // Objects of the base snapshot are in the store already, unless it changed since or its pull was cut short.
    const held = base !== null && base.complete && !status.localChanges ? base.manifest : null;
    const metadata = await this.download(options, prefix, manifest.metadata);
    const wanted = new Set(await this.api().syncNeeds(held, manifest, metadata));
    const needed = [...new Map(manifestObjects(manifest).filter((o) => wanted.has(o.key)).map((o) => [o.key, o])).values()];
    const totalBytes = needed.reduce((sum, o) => sum + o.size, manifest.metadata.size);
    const objects = new Map<string, Uint8Array>([[manifest.metadata.key, metadata]]);
    let bytes = manifest.metadata.size;
    progress({ phase: 'downloading', objects: 1, totalObjects: needed.length + 1, bytes, totalBytes });
    await inParallel(needed, options.concurrency ?? 4, async (entry) => {
      objects.set(entry.key, await this.download(options, prefix, entry));
      bytes += entry.size;
      progress({ phase: 'downloading', objects: objects.size, totalObjects: needed.length + 1, bytes, totalBytes });
    });
    progress({ phase: 'applying' });
    throwIfAborted(options.signal, 'The pull');
    await this.api().syncApply(
      Comlink.transfer({ target: id, manifestKey: key, manifest, base: held, objects }, [...objects.values()].map((b) => b.buffer as ArrayBuffer)),
    );
    progress({ phase: 'done', objects: objects.size, totalObjects: objects.size, bytes, totalBytes });
    return { manifest: key, applied: true, downloaded: { objects: objects.size, bytes } };
  }

  /**
   * Deletes what no kept snapshot needs: manifests beyond the newest `keep` along HEAD's history, and objects none of
   * the kept manifests names (so erased rows leave the bucket once no kept snapshot holds them).
   */
  async purge(options: PurgeOptions): Promise<PurgeResult> {
    const prefix = checkPrefix(options.prefix);
    const { target, signal } = options;
    if (!Number.isSafeInteger(options.keep) || options.keep < 1) throw new InvalidArgumentError('purge keeps at least one snapshot: keep must be a whole number ≥ 1.');
    const head = await this.readHead(options, prefix);
    if (head === null) throw new NotFoundError(`There is no snapshot at ${target.description} under '${prefix}'.`, { details: { prefix } });
    const kept: string[] = [];
    const referenced = new Set<string>([HEAD_KEY]);
    for (let key: string | null = head.head.manifest; key !== null && kept.length < options.keep; ) {
      if (kept.includes(key)) throw new SnapshotIntegrityError(`The history of ${target.description} loops at ${key}.`, { details: { key, reason: 'cycle' } });
      let manifest: Manifest;
      try {
        manifest = await this.readManifest(options, prefix, key);
      } catch (error) {
        // An older purge (with a smaller keep) removed the rest of the history.
        if (error instanceof SnapshotIntegrityError && error.details['reason'] === 'missing' && kept.length > 0) break;
        throw error;
      }
      kept.push(key);
      referenced.add(key);
      for (const o of manifestObjects(manifest)) referenced.add(o.key);
      key = manifest.parent;
    }
    const grace = options.graceMs ?? 3_600_000;
    const listed = await withRetries(() => target.list(prefix === '' ? '' : `${prefix}/`, { signal }), options.retry, signal);
    const deleted = { objects: 0, bytes: 0, manifests: 0 };
    const doomed = listed.filter((o) => {
      // Only keys inside the prefix (a list that ignores it must not make other snapshots' objects look unreferenced).
      if (prefix !== '' && !o.key.startsWith(`${prefix}/`)) return false;
      const key = prefix === '' ? o.key : o.key.slice(prefix.length + 1);
      if (referenced.has(key) || !(key.startsWith('objects/') || key.startsWith('manifests/'))) return false;
      const modified = o.lastModified;
      return modified !== undefined && Date.now() - modified >= grace;
    });
    await inParallel(doomed, 4, async (o) => {
      await withRetries(() => target.delete(o.key, { signal }), options.retry, signal);
      if (o.key.includes('manifests/')) deleted.manifests++;
      else deleted.objects++;
      deleted.bytes += o.size;
    });
    return { kept, deleted };
  }
}
