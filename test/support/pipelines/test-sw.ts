/// <reference lib="webworker" />
// A service worker as an app would write one for scheduled pipelines: Larder answers its periodic sync events.
import { handlePeriodicSync } from '../../../src/service-worker.ts';

declare const self: ServiceWorkerGlobalScope;

self.addEventListener('install', () => void self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));
self.addEventListener('periodicsync', (event) => {
  handlePeriodicSync(event, { timeoutMs: 30_000 });
});
