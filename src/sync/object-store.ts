/**
 * The object-store port that sync writes snapshots through, and its in-memory implementation. Every target — S3 with
 * SigV4, presigned URLs, read-only HTTP, memory — implements {@link ObjectStore}; the sync engine adds retries on top
 * (see retry.ts), so implementations make exactly one attempt per call.
 */
import { InvalidArgumentError, ObjectStoreError } from '../errors.ts';

/** What the store knows about one object. */
export interface ObjectInfo {
  key: string;
  size: number;
  /** The entity tag, quotes included, as the store returns it. */
  etag: string;
  /** When the object was last written, epoch milliseconds, when the store says (lists do; purge's grace period needs it). */
  lastModified?: number;
}

/** Options of {@link ObjectStore.put}. */
export interface PutOptions {
  /** `'*'`: create only — the put does nothing and returns null when the key exists. */
  ifNoneMatch?: '*';
  /** Replace only while the object's ETag is this one — else the put does nothing and returns null. */
  ifMatch?: string;
  /** Base64 SHA-256 of the body: sent (`x-amz-checksum-sha256`) so that a store able to check it rejects a damaged upload. */
  sha256?: string;
  contentType?: string;
  signal?: AbortSignal;
}

/** Options of reads, lists and deletes. */
export interface RequestOptions {
  signal?: AbortSignal;
}

/**
 * A bucket (or a folder of one) that holds snapshot objects. Keys are relative to the store's root and never start
 * with a slash. Failures throw {@link ObjectStoreError} (with `details.retryable`) or `SyncAuthError`.
 *
 * @example
 * ```ts
 * const target = new MemoryObjectStore();
 * await target.put('a/b.txt', new TextEncoder().encode('hello'), { ifNoneMatch: '*' });
 * (await target.get('a/b.txt'))?.body; // Uint8Array of 'hello'
 * ```
 */
export interface ObjectStore {
  /** For messages: where the objects go, without secrets (e.g. `s3://bucket/prefix`). */
  readonly description: string;
  /** False for read-only targets (a snapshot published over plain HTTP). */
  readonly writable: boolean;
  /** The object's bytes and ETag, or null when there is no such key. */
  get(key: string, options?: RequestOptions): Promise<{ body: Uint8Array; etag: string } | null>;
  /** The object's size and ETag, or null when there is no such key. */
  head(key: string, options?: RequestOptions): Promise<ObjectInfo | null>;
  /** Writes the object and returns its new ETag, or null when a condition (`ifNoneMatch`, `ifMatch`) did not hold (HTTP 412). */
  put(key: string, body: Uint8Array, options?: PutOptions): Promise<string | null>;
  /** Every object whose key starts with `prefix`, in key order. */
  list(prefix: string, options?: RequestOptions): Promise<ObjectInfo[]>;
  /** Removes the object; removing a missing key is not an error. */
  delete(key: string, options?: RequestOptions): Promise<void>;
}

/** Base64 SHA-256 of bytes (the form S3's checksum headers take). */
export async function sha256Base64(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  let binary = '';
  for (const b of digest) binary += String.fromCharCode(b);
  return btoa(binary);
}

/** Lowercase hex SHA-256 of bytes (the form snapshot keys and manifests use). */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Rejects keys that could escape the store's root or that a real bucket would treat differently. */
export function checkKey(key: string): string {
  if (typeof key !== 'string' || key.length === 0 || key.length > 1024) throw new InvalidArgumentError(`Object key ${JSON.stringify(key)} must be 1 to 1024 characters.`);
  if (key.startsWith('/') || key.split('/').some((part) => part === '..' || part === '.' || part === '')) {
    throw new InvalidArgumentError(`Object key ${JSON.stringify(key)} must be a relative path without empty, '.' or '..' segments.`);
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\\]/.test(key)) throw new InvalidArgumentError(`Object key ${JSON.stringify(key)} holds control characters or backslashes.`);
  return key;
}

/**
 * An object store in memory, with the conditional-write semantics of S3 (`If-None-Match: *`, `If-Match`) and checksum
 * checks. For tests, the demo, and moving a snapshot between two stores in one page.
 */
export class MemoryObjectStore implements ObjectStore {
  readonly writable = true;
  private readonly objects = new Map<string, { body: Uint8Array; etag: string; lastModified: number }>();
  private counter = 0;

  constructor(readonly description = 'memory') {}

  // Async throughout: a bad key rejects the promise, as a network store's would.
  async get(key: string): Promise<{ body: Uint8Array; etag: string } | null> {
    await Promise.resolve();
    const object = this.objects.get(checkKey(key));
    return object === undefined ? null : { body: object.body.slice(), etag: object.etag };
  }

  async head(key: string): Promise<ObjectInfo | null> {
    await Promise.resolve();
    const object = this.objects.get(checkKey(key));
    return object === undefined ? null : { key, size: object.body.byteLength, etag: object.etag, lastModified: object.lastModified };
  }

  async put(key: string, body: Uint8Array, options: PutOptions = {}): Promise<string | null> {
    checkKey(key);
    const copy = body.slice();
    if (options.sha256 !== undefined && (await sha256Base64(copy)) !== options.sha256) {
      throw new ObjectStoreError(`The body of ${key} does not match its checksum.`, {
        details: { operation: 'put', key, status: 400, retryable: false },
      });
    }
    // Checked after the await so that the check and the write happen in one turn (no interleaving put in between).
    const current = this.objects.get(key);
    if (options.ifNoneMatch === '*' && current !== undefined) return null;
    if (options.ifMatch !== undefined && current?.etag !== options.ifMatch) return null;
    const etag = `"m${++this.counter}"`;
    this.objects.set(key, { body: copy, etag, lastModified: Date.now() });
    return etag;
  }

  list(prefix: string): Promise<ObjectInfo[]> {
    const found = [...this.objects.entries()]
      .filter(([key]) => key.startsWith(prefix))
      .map(([key, o]) => ({ key, size: o.body.byteLength, etag: o.etag, lastModified: o.lastModified }));
    return Promise.resolve(found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)));
  }

  async delete(key: string): Promise<void> {
    await Promise.resolve();
    this.objects.delete(checkKey(key));
  }
}
