/// <reference lib="webworker" />
// The demo's service worker: precaches every file of the build (the app shell, JS chunks and workers, the DuckDB,
// parquet-wasm and tfjs wasm binaries, the vega data files) so that after the first visit the demo works offline, and
// answers Periodic Background Sync for the demo's scheduled feature pipelines.
//
// Updates: a new build has a new precache version. Its worker fills a new cache (files unchanged since the version
// in use are copied from the old cache; the rest are downloaded and checked against their build-time SHA-256) and
// then waits: the page is told a new version is ready, and applying it (the user's click) activates the worker,
// which deletes the old caches and takes over every tab, and each tab reloads. A tab never runs half of one build
// and half of another. The first install has nothing to replace, so it activates and takes control at once.
import { handlePeriodicSync } from '../src/service-worker.ts';
import type { PrecacheManifest } from './pwa/vite-plugin.ts';
import { PWA_MESSAGES } from './pwa/messages.ts';

declare const self: ServiceWorkerGlobalScope;
/** Replaced at build time by the precache manifest (demo/pwa/vite-plugin.ts). */
declare const __LARDER_PRECACHE__: PrecacheManifest;

const PRECACHE = __LARDER_PRECACHE__;
/** Caches of this site (its scope: several deployments may share an origin) start with this prefix. */
const CACHE_PREFIX = `larder-demo:${self.registration.scope}:`;
const CACHE_NAME = CACHE_PREFIX + PRECACHE.version;
/** Each cached response carries the SHA-256 it was checked against, so that a later version can reuse it. */
const HASH_HEADER = 'x-larder-sha256';
const DOWNLOADS_IN_PARALLEL = 4;

const precached = new Map(PRECACHE.files.map((f) => [new URL(f.url, self.location.href).href, f]));
const INDEX_URL = new URL('index.html', self.location.href).href;
const SCOPE_URL = self.registration.scope;

function hex(buffer: ArrayBuffer): string {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** A file of an older version of the site with the same content, from any of this site's other caches. */
async function fromOlderCache(url: string, sha256: string): Promise<Response | undefined> {
  for (const name of await caches.keys()) {
    if (!name.startsWith(CACHE_PREFIX) || name === CACHE_NAME) continue;
    const found = await (await caches.open(name)).match(url);
    if (found?.headers.get(HASH_HEADER) === sha256) return found;
  }
  return undefined;
}

/** Downloads a file past the HTTP cache and checks it is the one this build listed (a deploy may be in progress). */
async function download(url: string, sha256: string): Promise<Response> {
  const response = await fetch(url, { cache: 'no-store' });
  if (!response.ok) throw new Error(`Precaching ${url}: HTTP ${response.status}.`);
  const body = await response.arrayBuffer();
  const got = hex(await crypto.subtle.digest('SHA-256', body));
  if (got !== sha256) throw new Error(`Precaching ${url}: its content does not match this version (SHA-256 ${got}, expected ${sha256}); the server may be mid-deploy.`);
  const headers = new Headers({ [HASH_HEADER]: sha256, 'content-length': String(body.byteLength) });
  const type = response.headers.get('content-type');
  if (type !== null) headers.set('content-type', type);
  return new Response(body, { status: 200, statusText: 'OK', headers });
}

/** Fills this version's cache; any failure fails the install, and the version in use stays in charge. */
async function precache(): Promise<void> {
  const cache = await caches.open(CACHE_NAME);
  const queue = [...precached.entries()];
  const worker = async (): Promise<void> => {
    for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
      const [url, entry] = next;
      if ((await cache.match(url))?.headers.get(HASH_HEADER) === entry.sha256) continue; // an interrupted install
      await cache.put(url, (await fromOlderCache(url, entry.sha256)) ?? (await download(url, entry.sha256)));
    }
  };
  await Promise.all(Array.from({ length: DOWNLOADS_IN_PARALLEL }, worker));
}

self.addEventListener('install', (event) => {
  // Nothing to replace on the first visit: activate as soon as the cache is full.
  const first = self.registration.active === null;
  event.waitUntil(precache().then(() => (first ? self.skipWaiting() : undefined)));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      const stale = (await caches.keys()).filter((name) => name.startsWith(CACHE_PREFIX) && name !== CACHE_NAME);
      await Promise.all(stale.map((name) => caches.delete(name)));
      await self.clients.claim();
    })(),
  );
});

self.addEventListener('message', (event) => {
  const data = event.data as { type?: unknown } | null;
  // The page asks a waiting worker to take over on the user's behalf (for the active worker it is a no-op).
  if (data?.type === PWA_MESSAGES.apply) event.waitUntil(self.skipWaiting());
});

async function respond(request: Request): Promise<Response> {
  const cache = await caches.open(CACHE_NAME);
  const url = new URL(request.url);
  url.hash = '';
  // A navigation to the start page is the app shell whatever its query says (links shared with ?source=…).
  const start = request.mode === 'navigate' && url.origin + url.pathname === SCOPE_URL;
  const key = start ? INDEX_URL : url.href;
  const cached = precached.has(key) ? await cache.match(key) : undefined;
  // A Range header gets the whole file: a server may always answer a range request with 200 and the full body.
  if (cached !== undefined) return cached;
  try {
    return await fetch(request);
  } catch (error) {
    // Offline, a navigation anywhere in the site lands on the app shell: sent to the start page rather than served in
    // place, since the shell's URLs are relative to the site root (it works under any base path).
    if (request.mode === 'navigate' && (await cache.match(INDEX_URL)) !== undefined) return Response.redirect(SCOPE_URL, 303);
    throw error;
  }
}

self.addEventListener('fetch', (event) => {
  const { request } = event;
  if (request.method !== 'GET' || new URL(request.url).origin !== self.location.origin) return; // the network's
  event.respondWith(respond(request));
});

self.addEventListener('periodicsync', (event) => {
  handlePeriodicSync(event);
});
