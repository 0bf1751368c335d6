/// <reference lib="webworker" />
// A service worker as an app would write one for scheduled pipelines: Larder answers its periodic sync events.
import { handlePeriodicSync, runPipelinesFromServiceWorker } from '../../../src/service-worker.ts';

declare const self: ServiceWorkerGlobalScope;

self.addEventListener('install', () => void self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));
self.addEventListener('periodicsync', (event) => {
  handlePeriodicSync(event, { timeoutMs: 30_000 });
});
// Tests without a way to fire periodicsync ask for the same work with a message.
self.addEventListener('message', (event) => {
  if ((event.data as { type?: string } | null)?.type === 'test:run-pipelines') event.waitUntil(runPipelinesFromServiceWorker({ timeoutMs: 30_000 }));
});
