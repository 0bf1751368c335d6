// The demo as an installable, offline-first PWA: registers the service worker (demo/sw.ts, built to sw.js at the
// root of the site), tells the user when a new version is ready and applies it on their click, and registers
// Periodic Background Sync for the demo's scheduled feature pipelines where the browser grants it.
//
// State for people and tests: `<html data-pwa="…">` is `installing`, `offline-ready` (a service worker with the
// complete precache controls the page), `update-ready` (a new version waits; a banner says so), `updating`, or
// `unavailable`; `<html data-periodic-sync="registered|unavailable">` says whether Periodic Background Sync was
// granted (otherwise the in-page schedule runs the pipelines while the app is open).
import { registerPeriodicSync } from '../src/index.ts';
import { PWA_MESSAGES } from './pwa/messages.ts';
import './pwa/pwa.css';

/** How often the browser may wake the service worker for the pipelines (it decides; this is the floor). */
const PERIODIC_SYNC_INTERVAL_MS = 12 * 3600_000;
/** How often an open tab asks the server for a new version (also when the browser comes back online). */
const UPDATE_CHECK_INTERVAL_MS = 3600_000;

type PwaState = 'installing' | 'offline-ready' | 'update-ready' | 'updating' | 'unavailable';

function setState(state: PwaState): void {
  document.documentElement.dataset['pwa'] = state;
}

/** Shows the "new version" banner; its button activates the waiting worker, and the tab reloads when it takes over. */
function announceUpdate(waiting: ServiceWorker): void {
  setState('update-ready');
  let banner = document.getElementById('pwa-update');
  if (banner === null) {
    banner = document.createElement('div');
    banner.id = 'pwa-update';
    banner.className = 'pwa-update';
    banner.dataset['testid'] = 'pwa-update';
    banner.setAttribute('role', 'status');
    const text = document.createElement('span');
    text.textContent = 'A new version of the demo is ready.';
    const button = document.createElement('button');
    button.type = 'button';
    button.dataset['testid'] = 'pwa-apply';
    button.textContent = 'Reload to update';
    banner.append(text, button);
    document.body.append(banner);
  }
  const button = banner.querySelector('button')!;
  button.disabled = false; // a newer version than the one last applied may be announced
  button.onclick = () => {
    button.disabled = true;
    setState('updating');
    waiting.postMessage({ type: PWA_MESSAGES.apply });
  };
}

/** Watches a registration for a new version that finished installing while this page runs the current one. */
function watchForUpdates(registration: ServiceWorkerRegistration): void {
  const container = navigator.serviceWorker;
  if (registration.waiting !== null && container.controller !== null) announceUpdate(registration.waiting);
  const follow = (installing: ServiceWorker | null): void => {
    installing?.addEventListener('statechange', () => {
      // Without a controller this is the first install: it takes over by itself, nothing to announce.
      if (installing.state === 'installed' && container.controller !== null) announceUpdate(installing);
    });
  };
  // The navigation that loaded this page may have found the new version already: it may be installing now.
  follow(registration.installing);
  registration.addEventListener('updatefound', () => follow(registration.installing));
  const check = (): void => {
    // Offline, or the server is down: the next check will do.
    registration.update().catch(() => undefined);
  };
  window.addEventListener('online', check);
  setInterval(check, UPDATE_CHECK_INTERVAL_MS);
}

/** Periodic Background Sync for the scheduled pipelines, once a worker is active (granted to installed apps). */
async function periodicSync(): Promise<void> {
  const ready = await navigator.serviceWorker.ready;
  const registered = await registerPeriodicSync(ready, { minInterval: PERIODIC_SYNC_INTERVAL_MS });
  document.documentElement.dataset['periodicSync'] = registered ? 'registered' : 'unavailable';
}

async function register(): Promise<ServiceWorkerRegistration | null> {
  const container = navigator.serviceWorker;
  setState(container.controller === null ? 'installing' : 'offline-ready');
  let registration: ServiceWorkerRegistration;
  try {
    // sw.js sits at the root of the build, next to index.html: its scope is the whole site, under any base path.
    registration = await container.register(new URL('sw.js', document.baseURI), { updateViaCache: 'none' });
  } catch (error) {
    setState('unavailable');
    console.warn('The service worker could not be registered; the demo works online only.', error);
    return null;
  }
  // A controller appears when the first install takes over (offline from now on) or when an applied update does;
  // after an update the page reloads, so that it never mixes files of two versions.
  let controlled = container.controller !== null;
  container.addEventListener('controllerchange', () => {
    if (controlled) {
      window.location.reload();
      return;
    }
    controlled = true;
    if (document.documentElement.dataset['pwa'] === 'installing') setState('offline-ready');
  });
  watchForUpdates(registration);
  periodicSync().catch((error: unknown) => {
    document.documentElement.dataset['periodicSync'] = 'unavailable';
    console.warn('Periodic Background Sync could not be registered; the in-page schedule still runs.', error);
  });
  return registration;
}

/**
 * Registers the demo's service worker (production builds only) and, where the browser has it, Periodic Background
 * Sync for the scheduled feature pipelines. Call it after the store is open and its pipelines are registered.
 * Resolves with the registration, or null when there is none.
 */
export function installPwa(): Promise<ServiceWorkerRegistration | null> {
  if (!import.meta.env.PROD || !('serviceWorker' in navigator)) return Promise.resolve(null);
  return register();
}
