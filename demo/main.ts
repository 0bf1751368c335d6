// The Larder demo: imports real weather data into a persistent feature group and shows what the store knows
// about it (schema, commits, rows, statistics). Plain DOM; Larder is used only through its public API.

import weatherUrl from 'vega-datasets/data/weather.csv?url';
import {
  NotFoundError, StoreLockedError, expect, openFeatureStore,
  type FeatureGroup, type FeatureGroupSpec, type FeatureStore, type Progress,
} from '../src/index.ts';
import { renderCommits, renderRows, renderSchema, renderStatistics } from './render.ts';

const STORE_NAME = 'larder_demo';
const BATCH_ID = 'weather.csv';
const ROW_LIMIT = 100;

/** Daily weather in Seattle and New York, 2012–2015: one row per location and day. */
const WEATHER: FeatureGroupSpec = {
  name: 'weather',
  version: 1,
  description: 'Daily weather in Seattle and New York, 2012–2015 (vega-datasets weather.csv).',
  primaryKey: 'location',
  eventTime: 'date',
  features: {
    location: 'string',
    date: 'timestamp',
    precipitation: 'float64',
    temp_max: 'float64',
    temp_min: 'float64',
    wind: 'float64',
    weather: 'string',
  },
  expectations: {
    policy: 'warn',
    expectations: [
      expect.notNull('temp_max'),
      expect.between('temp_max', -40, 50),
      expect.between('temp_min', -40, 50),
      expect.between('precipitation', 0),
      expect.inSet('weather', ['drizzle', 'rain', 'sun', 'snow', 'fog']),
      expect.unique(),
    ],
  },
};

function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`#${id} is missing from index.html`);
  return found as T;
}

const ui = {
  status: element<HTMLOutputElement>('status'),
  reset: element<HTMLButtonElement>('reset'),
  groupName: element('group-name'),
  schema: element<HTMLTableElement>('schema'),
  commits: element<HTMLTableElement>('commits'),
  filter: element<HTMLSelectElement>('location-filter'),
  rowsCaption: element('rows-caption'),
  rows: element<HTMLTableElement>('rows'),
  stats: element<HTMLTableElement>('stats'),
};

function setStatus(text: string, state: 'busy' | 'ready' | 'error'): void {
  ui.status.textContent = text;
  ui.status.dataset['state'] = state;
}

function setControlsEnabled(enabled: boolean): void {
  ui.reset.disabled = !enabled;
  ui.filter.disabled = !enabled;
}

function showError(error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  const prefix = error instanceof StoreLockedError ? 'The demo store is in use elsewhere. ' : 'Error: ';
  setStatus(prefix + message, 'error');
}

/** Creates the group (a no-op when it exists) and imports weather.csv once: the batch id makes re-imports no-ops. */
async function importWeather(store: FeatureStore): Promise<FeatureGroup> {
  setStatus('creating feature group…', 'busy');
  const group = await store.createFeatureGroup(WEATHER);
  setStatus('fetching weather.csv…', 'busy');
  const response = await fetch(weatherUrl);
  if (!response.ok) throw new Error(`Could not load ${weatherUrl}: HTTP ${response.status}.`);
  const csv = await response.blob();
  // Progress arrives on its own message channel and may trail the insert's result: stop listening once it resolves.
  let importing = true;
  const onProgress = (progress: Progress): void => {
    if (importing) setStatus(`importing weather.csv: ${progress.phase}…`, 'busy');
  };
  try {
    await group.insert(csv, { format: 'csv', batchId: BATCH_ID, onProgress });
  } finally {
    importing = false;
  }
  return group;
}

/** Deletes the group with its rows, commits and statistics; a group that is already gone is fine. */
async function deleteWeather(store: FeatureStore): Promise<void> {
  try {
    await store.deleteFeatureGroup(WEATHER.name, WEATHER.version);
  } catch (error) {
    if (!(error instanceof NotFoundError)) throw error;
  }
}

async function showRows(group: FeatureGroup): Promise<void> {
  const location = ui.filter.value;
  const rows = await group.read({ limit: ROW_LIMIT, ...(location === '' ? {} : { where: { location } }) });
  renderRows(ui.rows, rows, group.definition);
  ui.rows.dataset['location'] = location === '' ? 'all' : location;
  ui.rowsCaption.textContent = `first ${rows.numRows} rows by date, ${location === '' ? 'all locations' : location}`;
}

async function showGroup(group: FeatureGroup): Promise<void> {
  setStatus('reading…', 'busy');
  ui.groupName.textContent = `${group.name} v${group.version}`;
  renderSchema(ui.schema, group.definition);
  const [commits, statistics] = await Promise.all([group.commits(), group.statistics()]);
  renderCommits(ui.commits, commits);
  renderStatistics(ui.stats, group.definition, statistics);
  await showRows(group);
}

/** Runs one user-visible step: controls off while it runs, 'ready' or the error afterwards. */
async function step(task: () => Promise<void>): Promise<void> {
  setControlsEnabled(false);
  setStatus('working…', 'busy');
  try {
    await task();
    setStatus('ready', 'ready');
    setControlsEnabled(true);
  } catch (error) {
    showError(error);
    // A failed step leaves the store usable: reset may still repair it.
    ui.reset.disabled = false;
  }
}

async function start(): Promise<void> {
  setStatus('opening store…', 'busy');
  let store: FeatureStore;
  try {
    store = await openFeatureStore({ name: STORE_NAME });
  } catch (error) {
    showError(error);
    return;
  }
  let group: FeatureGroup | null = null;
  const load = async (): Promise<void> => {
    group = await importWeather(store);
    await showGroup(group);
  };
  ui.filter.addEventListener('change', () => {
    const current = group;
    if (current !== null) void step(() => showRows(current));
  });
  ui.reset.addEventListener('click', () => {
    void step(async () => {
      setStatus('deleting feature group…', 'busy');
      group = null;
      await deleteWeather(store);
      await load();
    });
  });
  await step(load);
}

void start();
