// The demo as an installable, offline-first PWA: service worker registration and Periodic Background Sync.
// Placeholder until the PWA work lands: no service worker yet.

/**
 * Registers the demo's service worker (production builds only) and, where the browser has it, Periodic Background
 * Sync for the scheduled feature pipelines. Call it after the store is open and its pipelines are registered.
 * Resolves with the registration, or null when there is none.
 */
export function installPwa(): Promise<ServiceWorkerRegistration | null> {
  return Promise.resolve(null);
}
