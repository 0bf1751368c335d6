// The object stores in real Chromium: SigV4 from the page, CORS preflights, ETags exposed cross-origin, presigned URLs
// and plain HTTP reads, against s3rver behind the test gateway (test/support/s3.global.ts). One contract suite, written
// once, runs over every implementation of the port.
import { describe, expect, inject, it } from 'vitest';
import { InvalidArgumentError, ObjectStoreError } from '../../src/errors.ts';
import { MemoryObjectStore, sha256Base64, type ObjectStore } from '../../src/sync/object-store.ts';
import { HttpObjectStore, PresignedObjectStore, S3ObjectStore } from '../../src/sync/http-object-store.ts';
import { rejectionOf as failure } from '../support/data-helpers.ts';
import { testSigner } from '../support/presign.ts';

const gateway = inject('s3GatewayEndpoint');
const bucket = inject('s3Bucket');
const accessKeyId = inject('s3AccessKeyId');
const secretAccessKey = inject('s3SecretAccessKey');

const text = (value: string): Uint8Array => new TextEncoder().encode(value);
const read = (bytes: Uint8Array | undefined): string => new TextDecoder().decode(bytes);

/** A folder of the shared bucket that no other test (or test file) uses. */
const folder = (name: string): string => `browser-${name}-${crypto.randomUUID()}`;

function s3Store(prefix = folder('s3')): S3ObjectStore {
  return new S3ObjectStore({ endpoint: gateway, bucket, accessKeyId, secretAccessKey, prefix });
}

/** A presigned store whose signer is the test's stand-in for the app's server (small list pages, so lists paginate). */
function presignedStore(prefix = folder('presigned')): PresignedObjectStore {
  const sign = testSigner({ bucketUrl: `${gateway}/${bucket}`, prefix, accessKeyId, secretAccessKey, pageSize: 2 });
  return new PresignedObjectStore({ sign, prefix, description: 'presigned (test signer)' });
}


/** What every writable {@link ObjectStore} must do. `open` gives a fresh, empty store each time. */
function objectStoreContract(name: string, open: () => ObjectStore): void {
  describe(`ObjectStore contract: ${name}`, () => {
    it('round-trips bytes, with the same ETag from put, get, head and list', async () => {
      const target = open();
      const body = Uint8Array.from({ length: 256 }, (_, i) => i);
      const etag = await target.put('dir/all-bytes.bin', body, { sha256: await sha256Base64(body), contentType: 'application/octet-stream' });
      expect(typeof etag).toBe('string');
      expect(etag).not.toBe('');
      expect(await target.get('dir/all-bytes.bin')).toEqual({ body, etag });
      expect(await target.head('dir/all-bytes.bin')).toMatchObject({ key: 'dir/all-bytes.bin', size: 256, etag });
      const listed = await target.list('dir/');
      expect(listed).toEqual([{ key: 'dir/all-bytes.bin', size: 256, etag, lastModified: expect.any(Number) as number }]);
      // Lists say when each object was written (purge's grace period relies on it); s3rver's clock is this machine's.
      expect(Math.abs(listed[0]!.lastModified! - Date.now())).toBeLessThan(60_000);
    });

    it('stores empty objects and keys with spaces, plus signs and non-ASCII letters', async () => {
      const target = open();
      await target.put('empty', new Uint8Array(0));
      expect((await target.get('empty'))?.body.byteLength).toBe(0);
      const key = 'a b/naïve+plus (1).json';
      await target.put(key, text('{}'));
      expect(read((await target.get(key))?.body)).toBe('{}');
      expect((await target.list('a b/')).map((o) => o.key)).toEqual([key]);
    });

    it('answers null for a missing key, and deleting one is not an error', async () => {
      const target = open();
      expect(await target.get('missing')).toBeNull();
      expect(await target.head('missing')).toBeNull();
      await target.delete('missing');
      expect(await target.list('missing')).toEqual([]);
    });

    it('creates only once with ifNoneMatch *, leaving the first object in place', async () => {
      const target = open();
      const first = await target.put('HEAD', text('first'), { ifNoneMatch: '*' });
      expect(first).not.toBeNull();
      expect(await target.put('HEAD', text('second'), { ifNoneMatch: '*' })).toBeNull();
      expect(await target.get('HEAD')).toEqual({ body: text('first'), etag: first });
    });

    it('replaces only the expected version with ifMatch', async () => {
      const target = open();
      const v1 = (await target.put('pointer', text('v1')))!;
      const v2 = await target.put('pointer', text('v2'), { ifMatch: v1 });
      expect(v2).not.toBeNull();
      expect(v2).not.toBe(v1);
      expect(await target.put('pointer', text('v3'), { ifMatch: v1 })).toBeNull();
      expect(await target.put('absent', text('x'), { ifMatch: v1 })).toBeNull();
      expect(await target.get('absent')).toBeNull();
      expect(read((await target.get('pointer'))?.body)).toBe('v2');
    });

    it('lets exactly one of several concurrent create-only writers win', async () => {
      const target = open();
      const results = await Promise.all(Array.from({ length: 6 }, (_, i) => target.put('lock', text(`writer ${i}`), { ifNoneMatch: '*' })));
      const winners = results.filter((etag) => etag !== null);
      expect(winners).toHaveLength(1);
      expect((await target.get('lock'))?.etag).toBe(winners[0]);
    });

    it('lists by prefix, in key order, with keys relative to the store', async () => {
      const target = open();
      const keys = ['snap/3', 'snap/1', 'snap/10', 'snap/2/x', 'snapshot', 'other/1'];
      for (const key of keys) await target.put(key, text(key));
      const listed = await target.list('snap/');
      expect(listed.map((o) => o.key)).toEqual(['snap/1', 'snap/10', 'snap/2/x', 'snap/3']);
      expect(listed.map((o) => o.size)).toEqual([6, 7, 8, 6]);
      expect((await target.list('')).map((o) => o.key)).toEqual([...keys].sort());
      await target.delete('snap/10');
      expect((await target.list('snap/1')).map((o) => o.key)).toEqual(['snap/1']);
    });

    it('rejects keys that could escape the root', async () => {
      const target = open();
      // Through a promise chain, so that a store throwing synchronously (MemoryObjectStore.get does) passes as well.
      const attempt = (call: () => Promise<unknown>): Promise<unknown> => Promise.resolve().then(call);
      for (const key of ['', '/abs', 'a/../b', 'a//b', 'a\\b']) {
        await expect(attempt(() => target.put(key, text('x')))).rejects.toBeInstanceOf(InvalidArgumentError);
        await expect(attempt(() => target.get(key))).rejects.toBeInstanceOf(InvalidArgumentError);
      }
    });
  });
}

objectStoreContract('MemoryObjectStore', () => new MemoryObjectStore());
objectStoreContract('S3ObjectStore (SigV4 from the page, through the gateway)', () => s3Store());
objectStoreContract('PresignedObjectStore (query-signed URLs, through the gateway)', () => presignedStore());

describe('S3ObjectStore in the browser', () => {
  it('reads the ETag cross-origin (exposed by the CORS rules) and describes itself without secrets', async () => {
    const prefix = folder('cors');
    const target = s3Store(prefix);
    expect(location.origin).not.toBe(new URL(gateway).origin); // a cross-origin store: preflights and all
    const etag = await target.put('a.txt', text('a'), { ifNoneMatch: '*' });
    expect(etag).toMatch(/^"[0-9a-f]{32}"$/);
    expect(target.description).toBe(`s3://${bucket}/${prefix} at ${new URL(gateway).host}`);
    expect(target.description).not.toContain(secretAccessKey);
  });

  it('refuses a wrong secret as SyncAuthError', async () => {
    const target = new S3ObjectStore({ endpoint: gateway, bucket, accessKeyId, secretAccessKey: 'wrong', prefix: folder('auth') });
    const error = await failure(target.put('a', text('a')));
    expect(error.name).toBe('SyncAuthError');
    expect(error.message).toContain('SignatureDoesNotMatch');
  });

  it('surfaces an abort as the signal reason', async () => {
    const target = s3Store();
    const controller = new AbortController();
    const pending = target.get('a', { signal: controller.signal });
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('turns the gateway faults into retryable errors (switched from the page)', async () => {
    const prefix = folder('faults');
    const target = s3Store(prefix);
    await target.put('object.bin', new Uint8Array(32 * 1024).fill(7));
    const control = `${gateway}/__larder`;
    const setFaults = async (config: unknown): Promise<void> => {
      const response = await fetch(`${control}/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(config) });
      expect(response.status).toBe(200);
    };
    try {
      for (const [kind, status] of [['503', 503], ['429', 429], ['reset', null], ['truncate', 200]] as const) {
        await setFaults({ seed: 11, rate: 1, kinds: [kind], pathContains: prefix });
        const error = await failure(target.get('object.bin'));
        expect(error, kind).toBeInstanceOf(ObjectStoreError);
        expect((error as ObjectStoreError).details, kind).toMatchObject({ status, retryable: true });
      }
      const stats = (await (await fetch(`${control}/stats`)).json()) as { faults: Record<string, number> };
      expect(stats.faults['truncate']).toBeGreaterThan(0);
    } finally {
      await setFaults(null);
    }
    expect((await target.get('object.bin'))?.body.byteLength).toBe(32 * 1024);
  });
});

describe('HttpObjectStore in the browser', () => {
  it('reads a published snapshot through plain URLs (s3rver serves anonymous GETs) and is read-only', async () => {
    const prefix = folder('published');
    const etag = await s3Store(prefix).put('snapshot/HEAD.json', text('{"commit":1}'));
    const published = new HttpObjectStore({ baseUrl: `${gateway}/${bucket}/${prefix}/` });
    expect(await published.get('snapshot/HEAD.json')).toEqual({ body: text('{"commit":1}'), etag });
    expect(await published.head('snapshot/HEAD.json')).toMatchObject({ key: 'snapshot/HEAD.json', size: 12, etag });
    expect(await published.get('snapshot/none.json')).toBeNull();
    expect(published.writable).toBe(false);
    const error = await failure(published.put('x', text('x')));
    expect(error).toBeInstanceOf(ObjectStoreError);
    expect(error.message).toContain('read-only');
    await expect(published.list('')).rejects.toThrow(/cannot enumerate/);
  });
});
