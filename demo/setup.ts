// The demo's work on the store: first-run setup from the embedded data, the weather v2 upgrade, promote and rollback,
// the scheduled pipelines, reset. No DOM here: callers pass a progress callback.
import footballUrl from 'vega-datasets/data/football.json?url';
import weatherUrl from 'vega-datasets/data/weather.csv?url';
import {
  NotFoundError, deleteFeatureStore, openFeatureStore,
  type FeatureStore, type FeatureView, type ModelSpec, type TrainOutcome, type TrainProgress,
} from '../src/index.ts';
import { outcomeOf } from './features.ts';
import {
  DAILY_FEATURES, FOOTBALL_EPOCHS, FOOTBALL_MODEL, FOOTBALL_SPEC, FORM_FEATURES, FORM_PIPELINE, MATCHES, ROLLING_FEATURES,
  SCHEDULE_EVERY, STORE_NAME, TEAM_FORM, WEATHER_EPOCHS, WEATHER_LABEL, WEATHER_MODEL, WEATHER_OUTCOMES, WEATHER_PIPELINE,
  WEATHER_RAW, WEATHER_SPEC, WEATHER_SPLIT, WEATHER_V1, WEATHER_V2, footballTransforms, weatherTransforms,
} from './specs.ts';

export type Report = (message: string, done: number, total: number) => void;
export type TrainListener = (what: string, progress: TrainProgress) => void;

export function openDemoStore(): Promise<FeatureStore> {
  return openFeatureStore({ name: STORE_NAME });
}

const weatherModule = () => new Worker(new URL('./weather.pipeline.ts', import.meta.url), { type: 'module', name: 'weather pipeline' });
const footballModule = () => new Worker(new URL('./football.pipeline.ts', import.meta.url), { type: 'module', name: 'football pipeline' });

async function hasGroup(store: FeatureStore, name: string, version: number): Promise<boolean> {
  return (await store.listFeatureGroups()).some((d) => d.name === name && d.version === version);
}

/**
 * Registers the demo's pipelines (the module is known per page load); with `schedule`, they also run by themselves
 * (hourly and when the browser comes back online), incrementally.
 */
export async function registerPipelines(store: FeatureStore, schedule: boolean): Promise<void> {
  const every = (params: Record<string, unknown>) => (schedule ? { schedule: { every: SCHEDULE_EVERY, mode: 'incremental' as const, params } } : {});
  await store.pipelines.register({
    name: WEATHER_PIPELINE.v1, module: weatherModule, inputs: [WEATHER_RAW_REF], outputs: [{ name: 'weather', version: 1 }], ...every({ rolling: false }),
  });
  if (await hasGroup(store, 'weather', 2)) {
    await store.pipelines.register({
      name: WEATHER_PIPELINE.v2, module: weatherModule, inputs: [WEATHER_RAW_REF], outputs: [{ name: 'weather', version: 2 }], ...every({ rolling: true }),
    });
  }
  await store.pipelines.register({
    name: FORM_PIPELINE, module: footballModule, inputs: [{ name: 'matches', version: 1 }], outputs: [{ name: 'team_form', version: 1 }], ...every({}),
  });
}

const WEATHER_RAW_REF = { name: WEATHER_RAW.name, version: WEATHER_RAW.version };

async function fetchData(url: string): Promise<Response> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`Could not load ${url}: HTTP ${response.status}.`);
  return response;
}

interface RawMatch {
  date: string;
  division: string;
  home_team: string;
  away_team: string;
  home_score: number;
  away_score: number;
}

async function importData(store: FeatureStore): Promise<void> {
  // Imported once: a group with commits is not read again. The batch ids make an import cut short safe to repeat.
  const raw = await store.createFeatureGroup(WEATHER_RAW);
  if ((await raw.commits()).length === 0) {
    await raw.insert(await (await fetchData(weatherUrl)).blob(), { format: 'csv', batchId: 'weather.csv' });
  }
  const matches = await store.createFeatureGroup(MATCHES);
  if ((await matches.commits()).length === 0) {
    const file = (await (await fetchData(footballUrl)).json()) as RawMatch[];
    const rows = file.map((m, i) => ({ match_id: i + 1, ...m, outcome: outcomeOf(m.home_score, m.away_score) }));
    await matches.insert(rows, { batchId: 'football.json' });
  }
}

/** Runs a pipeline's first backfill once (the group has no commits yet). */
async function backfill(store: FeatureStore, pipeline: string, group: { name: string; version: number }, params: Record<string, unknown>): Promise<void> {
  const target = await store.getFeatureGroup(group.name, group.version);
  if ((await target.commits()).length > 0) return;
  await store.pipelines.run(pipeline, { mode: 'window', params });
}

export async function weatherView(store: FeatureStore, version: 1 | 2): Promise<FeatureView> {
  const group = await store.getFeatureGroup('weather', version);
  return store.createFeatureView({
    name: WEATHER_MODEL,
    version,
    description: version === 1 ? 'Tomorrow\'s maximum temperature from today\'s weather.' : 'v1 plus the week\'s rolling features.',
    query: group.select([...DAILY_FEATURES, ...(version === 2 ? ROLLING_FEATURES : [])]),
    labels: [WEATHER_LABEL],
    transforms: weatherTransforms(version),
  });
}

export async function footballView(store: FeatureStore): Promise<FeatureView> {
  const matches = await store.getFeatureGroup('matches', 1);
  const form = await store.getFeatureGroup('team_form', 1);
  return store.createFeatureView({
    name: FOOTBALL_MODEL,
    version: 1,
    description: 'Home win, draw or away win from the league and both teams\' form as of the match day.',
    query: matches.select(['division'])
      .join(form.select([...FORM_FEATURES]), { on: ['home_team'], prefix: 'home_' })
      .join(form.select([...FORM_FEATURES]), { on: ['away_team'], prefix: 'away_' }),
    labels: ['outcome'],
    transforms: footballTransforms(),
  });
}

async function train(
  store: FeatureStore, view: FeatureView, model: string, spec: ModelSpec, epochs: number, description: string, onTrain?: TrainListener,
): Promise<TrainOutcome> {
  const split = model === WEATHER_MODEL ? WEATHER_SPLIT : undefined;
  return store.train({
    featureView: view,
    trainingData: split === undefined ? {} : { split },
    model: { name: model, spec, description },
    fit: { epochs, batchSize: 64 },
    tags: { demo: 'larder' },
    ...(onTrain === undefined ? {} : { onProgress: (p: TrainProgress) => onTrain(`${model} on view v${view.version}`, p) }),
  });
}

async function hasModel(store: FeatureStore, name: string): Promise<boolean> {
  return (await store.models.list(name)).length > 0;
}

/** The first run: everything from the embedded data to served v1 models. Each step is skipped once done. */
export async function setUp(store: FeatureStore, report: Report, onTrain?: TrainListener): Promise<void> {
  const total = 7;
  report('importing weather.csv and football.json…', 0, total);
  await importData(store);
  await store.createFeatureGroup(WEATHER_V1);
  await store.createFeatureGroup(TEAM_FORM);
  await store.createFeatureGroup(WEATHER_OUTCOMES);
  await registerPipelines(store, false);
  report('pipeline weather_daily: building weather v1…', 1, total);
  await backfill(store, WEATHER_PIPELINE.v1, WEATHER_V1, { rolling: false });
  report('pipeline team_form: computing every team\'s form…', 2, total);
  await backfill(store, FORM_PIPELINE, TEAM_FORM, {});
  report('creating feature views…', 3, total);
  const weather = await weatherView(store, 1);
  const football = await footballView(store);
  if (!(await hasModel(store, WEATHER_MODEL))) {
    report('training the weather model v1…', 4, total);
    const { model } = await train(store, weather, WEATHER_MODEL, WEATHER_SPEC, WEATHER_EPOCHS, 'v1: today\'s weather', onTrain);
    if (model === null) throw new Error('The weather model v1 was not registered.');
    await store.promote(WEATHER_MODEL, model.version, { reason: 'first model' });
  }
  if (!(await hasModel(store, FOOTBALL_MODEL))) {
    report('training the football model v1…', 5, total);
    const { model } = await train(store, football, FOOTBALL_MODEL, FOOTBALL_SPEC, FOOTBALL_EPOCHS, 'v1: both teams\' form', onTrain);
    if (model === null) throw new Error('The football model v1 was not registered.');
    // Matches are scored in batch (as of their day), not online: the alias is set, not promoted to a deployment.
    await store.models.setAlias(FOOTBALL_MODEL, 'champion', model.version, { reason: 'first model' });
  }
  report('starting the scheduled pipelines…', 6, total);
  await registerPipelines(store, true);
  report('ready', total, total);
}

/** Story 1's upgrade: weather v2 (a new group version with rolling features), its pipeline, view v2 and model v2. */
export async function upgradeWeather(store: FeatureStore, report: Report, onTrain?: TrainListener): Promise<TrainOutcome> {
  report('creating weather v2…', 0, 3);
  await store.createFeatureGroup(WEATHER_V2);
  await registerPipelines(store, true);
  report('pipeline weather_rolling: building weather v2 with rolling 7-day features…', 1, 3);
  await backfill(store, WEATHER_PIPELINE.v2, WEATHER_V2, { rolling: true });
  const view = await weatherView(store, 2);
  report('training the weather model on view v2…', 2, 3);
  const outcome = await train(store, view, WEATHER_MODEL, WEATHER_SPEC, WEATHER_EPOCHS, 'v2: with rolling 7-day features', onTrain);
  if (outcome.model !== null) {
    await store.models.setAlias(WEATHER_MODEL, 'challenger', outcome.model.version, { reason: 'trained on weather v2' });
  }
  report('ready', 3, 3);
  return outcome;
}

/** Trains another version of a model on the latest version of its view (the training screen's button). */
export async function retrain(store: FeatureStore, model: string, onTrain?: TrainListener): Promise<TrainOutcome> {
  const view = await store.getFeatureView(model);
  return model === WEATHER_MODEL
    ? train(store, view, model, WEATHER_SPEC, WEATHER_EPOCHS, `retrained on view v${view.version}`, onTrain)
    : train(store, view, model, FOOTBALL_SPEC, FOOTBALL_EPOCHS, `retrained on view v${view.version}`, onTrain);
}

/** The weather model versions: the one served (champion) and the newest one trained on view v2, if any. */
export async function weatherVersions(store: FeatureStore): Promise<{ champion: number | null; v2: number | null }> {
  let champion: number | null = null;
  try {
    champion = (await store.models.get(WEATHER_MODEL, 'champion')).version;
  } catch (error) {
    if (!(error instanceof NotFoundError)) throw error;
  }
  const v2 = (await store.models.list(WEATHER_MODEL)).filter((m) => m.lineage?.featureViewVersion === 2).map((m) => m.version);
  return { champion, v2: v2.length === 0 ? null : Math.max(...v2) };
}

/** Reset: closes the store and deletes it (its DuckDB file in OPFS, its registry and online store in IndexedDB). */
export async function wipe(store: FeatureStore): Promise<void> {
  await store.close();
  await deleteFeatureStore(STORE_NAME);
}
