// Security promises of issue 10, shown on the real engines: DuckDB-WASM is locked down after start-up (no extension
// load, no ATTACH or read of URLs or foreign files, no configuration change), input that reaches SQL stays data, and
// no credential given to an S3 target is ever stored by the library.
//
// The DuckDB checks run on an engine made by startDuckDb, the one function the store worker starts its DuckDB with
// (src/service/store-service.ts), so no test hook into the worker is needed; the same checks through the worker are
// the ingest/read tests below and the other browser suites, which all run on the locked engine.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { tableFromIPC } from 'apache-arrow';
import { S3ObjectStore, SyncAuthError, openFeatureStore, type FeatureGroupSpec } from '../../src/index.ts';
import { normalizeFeatureGroup } from '../../src/definitions/feature-group.ts';
import { defaultDuckDbAssets, startDuckDb, type DuckDbEngine } from '../../src/offline/duckdb/engine.ts';
import { DuckDbOfflineStore } from '../../src/offline/duckdb/offline-store.ts';
import type { OperationControl, ReadRequest } from '../../src/offline/types.ts';
import { rejectionOf, tableColumns } from '../support/data-helpers.ts';
import { forEachIndexedDb, readOpfsFiles } from '../support/origin-storage.ts';
import { uniqueStoreName } from '../support/names.ts';

const control: OperationControl = { signal: new AbortController().signal, progress: () => undefined };
const readAll: ReadRequest = { start: null, end: null, where: null, columns: null, asOfCommit: null, afterCommit: null, withCommitIds: false, limit: null };
const append = { mode: 'append', batchId: null } as const;

const spec: FeatureGroupSpec = {
  name: 'guarded', version: 1, primaryKey: 'id', eventTime: 'ts', features: { id: 'string', ts: 'timestamp', s: 'string', v: 'float64' },
};

/** Text that would reach the network or another file if it ever ran as SQL. */
const SMUGGLED = [
  "'; ATTACH 'http://127.0.0.1:1/x.duckdb' AS x; --",
  "x'); INSTALL httpfs; LOAD httpfs; --",
  "'); SET lock_configuration = false; --",
  '"; ATTACH \'opfs://other.duckdb\' AS o; --',
  "' || (SELECT 1 FROM read_text('http://127.0.0.1:1/y')) || '",
];

const text = (rows: Record<string, unknown>[]): string => JSON.stringify(rows, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v));

async function rows(engine: DuckDbEngine, statement: string): Promise<Record<string, unknown>[]> {
  // Test code may run any statement: it plays the attacker who got SQL into the engine.
  const table = await engine.writer.query(statement);
  return table.toArray().map((r: { toJSON(): Record<string, unknown> }) => r.toJSON());
}

async function failure(engine: DuckDbEngine, statement: string): Promise<string> {
  try {
    await engine.writer.query(statement);
  } catch (error) {
    return String(error);
  }
  return 'no error';
}

/** Removes OPFS entries whose name starts with `prefix` (the database file and its WAL). */
async function removeOpfs(prefix: string): Promise<void> {
  const root = await navigator.storage.getDirectory();
  for await (const name of (root as unknown as { keys(): AsyncIterable<string> }).keys()) {
    if (name.startsWith(prefix)) await root.removeEntry(name).catch(() => undefined); // best effort: a test leftover
  }
}

describe('DuckDB-WASM locked after start-up', () => {
  const file = `${uniqueStoreName('larder-security')}.duckdb`;
  const path = `opfs://${file}`;
  let engine: DuckDbEngine;
  let offline: DuckDbOfflineStore;
  const definition = normalizeFeatureGroup(spec, 0);

  beforeAll(async () => {
    engine = await startDuckDb({ path, assets: await defaultDuckDbAssets() });
    offline = await DuckDbOfflineStore.open(engine);
    await offline.createTable(definition);
  });
  afterAll(async () => {
    await offline.close();
    await removeOpfs(file);
  });

  it('refuses extension loads, URL and foreign-file access, ATTACH and every configuration change', async () => {
    const refused: [string, RegExp][] = [
      ['LOAD httpfs', /Permission Error: Loading external extensions is disabled/],
      ['LOAD parquet', /Permission Error: Loading external extensions is disabled/],
      ["ATTACH 'http://127.0.0.1:1/x.duckdb' AS x", /Permission Error: Cannot access file "http:\/\/127\.0\.0\.1:1\/x\.duckdb"/],
      ["ATTACH 'https://example.com/x.duckdb' AS y (READ_ONLY)", /Permission Error/],
      ["ATTACH 'opfs://other.duckdb' AS o", /Permission Error/],
      ["SELECT * FROM read_csv('http://127.0.0.1:1/x.csv')", /Permission Error/],
      ["SELECT * FROM read_text('opfs://other.duckdb')", /Permission Error/],
      ["SELECT * FROM glob('*')", /Permission Error/],
      ["COPY (SELECT 1) TO 'opfs://exfiltrated.csv'", /Permission Error/],
      ['SET autoinstall_known_extensions = true', /configuration has been locked/],
      ['SET autoload_known_extensions = true', /configuration has been locked/],
      ['SET lock_configuration = false', /configuration has been locked/],
      ['RESET lock_configuration', /configuration has been locked/],
      ['SET enable_external_access = true', /configuration has been locked/],
      ["SET allowed_directories = ['/']", /configuration has been locked/],
      ["SET allowed_paths = ['opfs://other.duckdb']", /configuration has been locked/],
      ["SET custom_extension_repository = 'http://127.0.0.1:1/'", /configuration has been locked/],
      ['SET allow_unsigned_extensions = true', /configuration has been locked/],
    ];
    for (const [statement, error] of refused) expect(await failure(engine, statement), statement).toMatch(error);

    // INSTALL is a no-op in DuckDB-WASM (extensions are fetched by LOAD): it fetches nothing — not even from an
    // unreachable repository — installs nothing, and the LOAD that would fetch is refused.
    for (const statement of ['INSTALL httpfs', "INSTALL httpfs FROM 'http://127.0.0.1:1/'", 'FORCE INSTALL httpfs']) {
      await rows(engine, statement);
    }
    expect(await rows(engine, "SELECT installed, loaded FROM duckdb_extensions() WHERE extension_name = 'httpfs'")).toEqual([{ installed: false, loaded: false }]);
    expect(await failure(engine, 'LOAD httpfs')).toMatch(/Permission Error/);

    expect(await rows(engine, `SELECT current_setting('lock_configuration') AS locked, current_setting('enable_external_access') AS external,
      current_setting('autoload_known_extensions') AS autoload, current_setting('autoinstall_known_extensions') AS autoinstall`))
      .toEqual([{ locked: true, external: false, autoload: false, autoinstall: false }]);
    expect((await rows(engine, 'SELECT database_name FROM duckdb_databases() WHERE NOT internal')).map((r) => r['database_name'])).toEqual([file.replace(/\.duckdb$/, '')]);
    expect(await rows(engine, "SELECT extension_name FROM duckdb_extensions() WHERE loaded AND extension_name <> 'core_functions'")).toEqual([]);
  });

  it('still does what the store needs: registered CSV files, Arrow batches, the commit sequence, CHECKPOINT, reopening the OPFS file', async () => {
    const csv = new TextEncoder().encode('id,ts,s,v\na,2024-01-01,x,1.5\nb,2024-01-02,y,2\n');
    const first = await offline.ingest(definition, { format: 'csv', data: csv }, append, control);
    const second = await offline.ingest(definition, { format: 'rows', rows: [{ id: 'c', ts: Date.UTC(2024, 0, 3), s: 'z', v: 3 }] }, append, control);
    expect([first.commit.commitId, second.commit.commitId]).toEqual([1, 2]);
    // The CSV path's diagnostics (a bad value sends it to a second read of the registered file) work too.
    const bad = await rejectionOf(offline.ingest(definition, { format: 'csv', data: new TextEncoder().encode('id,ts,s,v\nd,2024-01-04,w,oops\n') }, append, control));
    expect(bad.message).toMatch(/float64/);
    await offline.close();

    engine = await startDuckDb({ path, assets: await defaultDuckDbAssets() });
    offline = await DuckDbOfflineStore.open(engine);
    expect(tableColumns(tableFromIPC(await offline.read(definition, readAll)))).toMatchObject({ id: ['a', 'b', 'c'], s: ['x', 'y', 'z'], v: [1.5, 2, 3] });
    const third = await offline.ingest(definition, { format: 'rows', rows: [{ id: 'd', ts: Date.UTC(2024, 0, 4), s: 'w', v: 4 }] }, append, control);
    expect(third.commit.commitId).toBe(3);
    expect(await failure(engine, 'SET lock_configuration = false')).toMatch(/configuration has been locked/);
  });

  it('takes smuggled statements in CSV text, where filters and names as data', async () => {
    const before = text(await rows(engine, 'SELECT database_name FROM duckdb_databases() ORDER BY 1'));
    const quote = (value: string): string => `"${value.replaceAll('"', '""')}"`;
    const csv = `id,ts,s,v\n${SMUGGLED.map((s, i) => `${quote(`k${i}`)},2025-01-0${i + 1},${quote(s)},${i}`).join('\n')}\n`;
    await offline.ingest(definition, { format: 'csv', data: new TextEncoder().encode(csv) }, append, control);
    // A header naming columns that are SQL: the missing declared column is reported, nothing runs.
    const header = `id,ts,${quote("s\"); ATTACH 'http://127.0.0.1:1/z' AS z; --")},v\nq,2025-02-01,x,1\n`;
    expect((await rejectionOf(offline.ingest(definition, { format: 'csv', data: new TextEncoder().encode(header) }, append, control))).message).toMatch(/column 's'/);
    for (const value of SMUGGLED) {
      const found = tableFromIPC(await offline.read(definition, { ...readAll, where: { s: value }, columns: ['s'] }));
      expect(tableColumns(found)['s'], value).toEqual([value]);
      expect(tableFromIPC(await offline.read(definition, { ...readAll, where: { s: { in: [value, 'x'] } } })).numRows).toBe(2);
    }
    // Names never get that far: the offline store itself refuses a column that is not a valid name.
    expect((await rejectionOf(offline.read(definition, { ...readAll, columns: [SMUGGLED[0]!] }))).name).toBe('InvalidNameError');
    expect(text(await rows(engine, 'SELECT database_name FROM duckdb_databases() ORDER BY 1'))).toBe(before);
    expect(await rows(engine, "SELECT extension_name FROM duckdb_extensions() WHERE loaded AND extension_name <> 'core_functions'")).toEqual([]);
  });
});

describe('hostile input through the store worker', () => {
  it('CSV values, where filters and names that carry statements are data or refused', async () => {
    const store = await openFeatureStore({ name: uniqueStoreName('security_worker'), persist: true });
    try {
      const fg = await store.createFeatureGroup(spec);
      const quote = (value: string): string => `"${value.replaceAll('"', '""')}"`;
      const csv = `id,ts,s,v\n${SMUGGLED.map((s, i) => `k${i},2025-01-0${i + 1},${quote(s)},${i}`).join('\n')}\n`;
      await fg.insert(new File([csv], 'hostile.csv'));
      for (const value of SMUGGLED) expect(tableColumns(await fg.read({ where: { s: value }, columns: ['s'] }))['s'], value).toEqual([value]);
      expect((await fg.read({ where: { s: { ne: SMUGGLED[0]! } } })).numRows).toBe(SMUGGLED.length - 1);
      for (const name of SMUGGLED) {
        expect((await rejectionOf(store.createFeatureGroup({ ...spec, name }))).name).toBe('InvalidNameError');
        expect((await rejectionOf(fg.read({ where: { [name]: 'x' } }))).name).toBe('InvalidNameError');
      }
      expect((await store.listFeatureGroups()).map((d) => d.name)).toEqual(['guarded']);
    } finally {
      await store.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------
// No credential at rest
// ---------------------------------------------------------------------------------------------------------------

/** Every byte sequence a value holds: strings as UTF-8, binary as is, objects and collections recursively (keys too). */
async function bytesOfValue(value: unknown, out: Uint8Array[], seen = new Set<unknown>()): Promise<void> {
  if (value === null || value === undefined || seen.has(value)) return;
  if (typeof value === 'string') out.push(new TextEncoder().encode(value));
  else if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return;
  else if (value instanceof ArrayBuffer) out.push(new Uint8Array(value));
  else if (ArrayBuffer.isView(value)) out.push(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
  else if (value instanceof Blob) out.push(new Uint8Array(await value.arrayBuffer()));
  else if (typeof value === 'object') {
    seen.add(value);
    const entries = value instanceof Map ? [...value.entries()].flat() : value instanceof Set ? [...value] : Object.entries(value).flat();
    for (const entry of entries) await bytesOfValue(entry, out, seen);
  }
}

function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = haystack.indexOf(needle[0]!); i >= 0 && i <= haystack.length - needle.length; i = haystack.indexOf(needle[0]!, i + 1)) {
    for (let j = 1; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

/** The needle as UTF-8 and as UTF-16LE (how some engines write strings). */
function encodings(needle: string): Uint8Array[] {
  const utf16 = new Uint8Array(needle.length * 2);
  for (let i = 0; i < needle.length; i++) utf16[i * 2] = needle.charCodeAt(i);
  return [new TextEncoder().encode(needle), utf16];
}

interface Scan {
  /** Where each needle was found. */
  hits: string[];
  /** What was read: IndexedDB databases and OPFS files (by name). */
  databases: string[];
  files: string[];
  /** OPFS files another store held open while we scanned (other test files share the origin). */
  busy: string[];
}

/** Reads everything the origin stores — every IndexedDB record, every OPFS file, local storage, Cache Storage — for the needles. */
async function scanOrigin(needles: Record<string, string>): Promise<Scan> {
  const scan: Scan = { hits: [], databases: [], files: [], busy: [] };
  const look = (where: string, chunks: readonly Uint8Array[]): void => {
    for (const [label, needle] of Object.entries(needles)) {
      if (chunks.some((chunk) => encodings(needle).some((encoded) => contains(chunk, encoded)))) scan.hits.push(`${label} in ${where}`);
    }
  };
  await forEachIndexedDb(async (name, db) => {
    scan.databases.push(name);
    for (const storeName of [...db.objectStoreNames]) {
      const transaction = db.transaction(storeName, 'readonly');
      const store = transaction.objectStore(storeName);
      const [keys, values] = await Promise.all(
        [store.getAllKeys(), store.getAll()].map((request) => new Promise<unknown[]>((resolve, reject) => {
          request.onsuccess = () => resolve(request.result as unknown[]);
          request.onerror = () => reject(request.error ?? new Error(`cannot read ${name}/${storeName}`));
        })),
      );
      const chunks: Uint8Array[] = [new TextEncoder().encode(`${name} ${storeName}`)];
      await bytesOfValue([keys, values], chunks);
      look(`IndexedDB ${name}/${storeName}`, chunks);
    }
  });
  for (const { path, bytes } of await readOpfsFiles()) {
    if (bytes === null) {
      scan.busy.push(path);
      continue;
    }
    scan.files.push(path);
    look(`OPFS ${path}`, [bytes, new TextEncoder().encode(path)]);
  }
  const local: string[] = [];
  for (let i = 0; i < localStorage.length; i++) {
    const key = localStorage.key(i) ?? '';
    local.push(key, localStorage.getItem(key) ?? '');
  }
  look('localStorage', local.map((s) => new TextEncoder().encode(s)));
  for (const cacheName of await caches.keys()) {
    const cache = await caches.open(cacheName);
    for (const request of await cache.keys()) {
      const response = await cache.match(request);
      look(`Cache Storage ${cacheName} ${request.url}`, [new TextEncoder().encode(request.url), new Uint8Array(await (response?.arrayBuffer() ?? new ArrayBuffer(0)))]);
    }
  }
  return scan;
}

describe('no credential stored at rest', () => {
  const endpoint = inject('s3GatewayEndpoint');
  const bucket = inject('s3Bucket');
  const accessKeyId = inject('s3AccessKeyId');
  const secretAccessKey = inject('s3SecretAccessKey');
  const wrongSecret = `wrong-secret-${crypto.randomUUID()}`;
  const sessionToken = `session-token-${crypto.randomUUID()}`;

  it('the scan finds a canary planted in an IndexedDB record and in an OPFS file', async () => {
    const canary = `canary-${crypto.randomUUID()}`;
    const dbName = uniqueStoreName('security_canary');
    const fileName = `${dbName}.bin`;
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const request = indexedDB.open(dbName, 1);
      request.onupgradeneeded = () => request.result.createObjectStore('records');
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error ?? new Error('cannot open'));
    });
    await new Promise<void>((resolve, reject) => {
      const transaction = db.transaction('records', 'readwrite');
      transaction.objectStore('records').put({ nested: [{ bytes: new TextEncoder().encode(`x${canary}y`) }] }, 1);
      transaction.oncomplete = () => resolve();
      transaction.onerror = () => reject(transaction.error ?? new Error('cannot write'));
    });
    db.close();
    const root = await navigator.storage.getDirectory();
    const writable = await (await root.getFileHandle(fileName, { create: true })).createWritable();
    await writable.write(`head ${canary} tail`);
    await writable.close();
    try {
      const scan = await scanOrigin({ canary });
      expect(scan.hits).toEqual([`canary in IndexedDB ${dbName}/records`, `canary in OPFS ${fileName}`]);
    } finally {
      await root.removeEntry(fileName);
      await new Promise((resolve) => {
        const request = indexedDB.deleteDatabase(dbName);
        request.onsuccess = request.onerror = resolve;
      });
    }
  });

  it('after pushes with S3 credentials, nothing the origin stores holds the secret, the key id or the session token', async () => {
    const name = uniqueStoreName('security_creds');
    const prefix = `security-${crypto.randomUUID()}`;
    const store = await openFeatureStore({ name, persist: true });
    let closed = false;
    try {
      const fg = await store.createFeatureGroup({ ...spec, online: true });
      await fg.insert([{ id: 'a', ts: Date.UTC(2024, 0, 1), s: 'x', v: 1 }]);
      const pushed = await store.sync.push({ target: new S3ObjectStore({ endpoint, bucket, accessKeyId, secretAccessKey, prefix }), prefix: '' });
      expect(pushed.manifest).toBeDefined();
      await fg.insert([{ id: 'b', ts: Date.UTC(2024, 0, 2), s: 'y', v: 2 }]);

      // A push with a wrong secret (and a session token) fails with SyncAuthError, saying nothing of either.
      const wrong = new S3ObjectStore({ endpoint, bucket, accessKeyId, secretAccessKey: wrongSecret, sessionToken, prefix });
      const error = await rejectionOf(store.sync.push({ target: wrong, prefix: '' }));
      expect(error).toBeInstanceOf(SyncAuthError);
      const cause: unknown = error.cause;
      const causeText = cause instanceof Error ? `${cause.message}\n${cause.stack ?? ''}` : (JSON.stringify(cause) ?? '');
      const said = [error.message, error.stack ?? '', JSON.stringify((error as SyncAuthError).details), causeText].join('\n');
      for (const secret of [secretAccessKey, wrongSecret, sessionToken]) expect(said).not.toContain(secret);

      await store.close();
      closed = true;
    } finally {
      if (!closed) await store.close();
    }

    const scan = await scanOrigin({ secretAccessKey, wrongSecret, sessionToken, accessKeyId });
    expect(scan.hits).toEqual([]);
    // The scan did read this store's own records and files (its name is lower-cased in the file name).
    expect(scan.databases.some((db) => db.toLowerCase().includes(name.toLowerCase()))).toBe(true);
    expect(scan.files.some((file) => file.toLowerCase().includes(name.toLowerCase()))).toBe(true);
    expect(scan.busy.filter((file) => file.toLowerCase().includes(name.toLowerCase()))).toEqual([]);
  });
});
