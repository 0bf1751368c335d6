// The Larder demo: a single page with one screen per hash route (#/overview, #/groups, …), so every screen has a URL
// and the page works under any base path. Plain DOM; Larder is used only through its public API.
import { StoreLockedError, type FeatureStore, type TrainProgress } from '../src/index.ts';
import { element, messageOf } from './dom.ts';
import { installPwa } from './pwa.ts';
import type { App, TrainingState } from './app.ts';
import { SCREENS, type Route } from './screens.ts';
import { openDemoStore, setUp, wipe } from './setup.ts';

const ui = {
  status: element<HTMLOutputElement>('status'),
  progress: element<HTMLProgressElement>('progress'),
  reset: element<HTMLButtonElement>('reset'),
  screen: element<HTMLElement>('screen'),
  nav: element<HTMLUListElement>('nav'),
};

function setStatus(text: string, state: 'busy' | 'ready' | 'error'): void {
  ui.status.textContent = text;
  ui.status.dataset['state'] = state;
}

function showError(error: unknown): void {
  const prefix = error instanceof StoreLockedError ? 'The demo store is in use elsewhere. ' : 'Error: ';
  setStatus(prefix + (error instanceof Error ? error.message : String(error)), 'error');
  console.warn(messageOf(error), error instanceof Error ? error.stack : '');
}

function routeOf(hash: string): Route {
  const name = hash.replace(/^#\/?/, '').split('?')[0] ?? '';
  return (name in SCREENS ? name : 'overview') as Route;
}

const training: TrainingState = { what: null, points: [], last: null, listeners: new Set() };

function onTrain(what: string, progress: TrainProgress): void {
  if (training.what !== what || (progress.epoch === 0 && progress.batch <= 1 && training.last !== null && training.last.epoch > 0)) {
    training.what = what;
    training.points = [];
  }
  training.last = progress;
  if (progress.epochEnd) {
    training.points.push({ x: progress.epoch + 1, y: progress.loss, series: 'loss' });
    for (const [name, value] of Object.entries(progress.metrics)) training.points.push({ x: progress.epoch + 1, y: value, series: name });
  }
  for (const listener of training.listeners) listener();
}

async function start(): Promise<void> {
  setStatus('opening store…', 'busy');
  let store: FeatureStore;
  try {
    store = await openDemoStore();
  } catch (error) {
    showError(error);
    return;
  }
  let busy = false;
  let route: Route = routeOf(location.hash);

  const report = (message: string, done: number, total: number): void => {
    if (busy) setStatus(message, 'busy');
    ui.progress.max = Math.max(total, 1);
    ui.progress.value = done;
  };

  // Renders can overlap (a screen opened while the previous one still reads the store): each draws into a detached
  // element and only the latest started is put on screen, so two never end up appended one after the other.
  let renders = 0;
  /** Draws the current route's screen; false when a later render superseded this one. */
  const render = async (): Promise<boolean> => {
    const mine = ++renders;
    const shown = route;
    for (const link of ui.nav.querySelectorAll('a')) {
      if (link.dataset['route'] === shown) link.setAttribute('aria-current', 'page');
      else link.removeAttribute('aria-current');
    }
    ui.screen.dataset['route'] = shown;
    const fresh = document.createElement('div');
    await SCREENS[shown].render(fresh, app);
    if (mine !== renders) return false;
    ui.screen.replaceChildren(...fresh.childNodes);
    ui.screen.dataset['rendered'] = shown;
    return true;
  };

  /** Runs one user-visible task: controls off while it runs, 'ready' or the error afterwards, then a fresh screen. */
  const run = async (label: string, task: () => Promise<void>): Promise<boolean> => {
    if (busy) return false;
    busy = true;
    // The screen is drawn again afterwards: focus then goes back to the control that had it (same id or test id).
    const focused = document.activeElement instanceof HTMLElement && ui.screen.contains(document.activeElement) ? document.activeElement : null;
    const focusKey = focused === null ? null : focused.id !== '' ? `#${CSS.escape(focused.id)}` : focused.dataset['testid'] !== undefined ? `[data-testid="${CSS.escape(focused.dataset['testid'])}"]` : null;
    setStatus(label, 'busy');
    ui.reset.disabled = true;
    for (const button of ui.screen.querySelectorAll<HTMLButtonElement>('button')) button.disabled = true;
    let ok = true;
    try {
      await task();
    } catch (error) {
      ok = false;
      busy = false;
      showError(error);
    }
    busy = false;
    ui.reset.disabled = false;
    try {
      if (await render()) {
        if (focusKey !== null) ui.screen.querySelector<HTMLElement>(focusKey)?.focus();
        if (ok) setStatus('ready', 'ready');
      }
    } catch (error) {
      showError(error);
      ok = false;
    }
    return ok;
  };

  const app: App = { store, run, report, training, onTrain, isBusy: () => busy };

  addEventListener('hashchange', () => {
    route = routeOf(location.hash);
    void run('opening screen…', async () => {}).then(() => {
      ui.screen.focus({ preventScroll: false });
    });
  });
  ui.reset.addEventListener('click', () => {
    if (!confirmReset()) return;
    void run('deleting the demo store…', async () => {
      await wipe(store);
      location.reload();
      await new Promise(() => {}); // the reload replaces this page
    });
  });

  const ok = await run('setting up…', async () => {
    await setUp(store, report, onTrain);
    await installPwa();
  });
  if (!ok) ui.reset.disabled = false;
}

/** The reset needs no confirmation in automation (navigator.webdriver); people get asked. */
function confirmReset(): boolean {
  return navigator.webdriver || window.confirm('Delete the demo store (all groups, models and runs) and set it up again?');
}

void start();
