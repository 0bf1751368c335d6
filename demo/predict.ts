// The predictions screen: a city and a day served online by the champion deployment, and a match scored in batch
// with both teams' form joined point in time — shown next to the form rows of each team and the match's own result.
import type { Tensor } from '@tensorflow/tfjs';
import type { Deployment, FeatureStore, LoadedModel, Prediction } from '../src/index.ts';
import { el, fixed, isoDay, scroll, table } from './dom.ts';
import type { App } from './app.ts';
import { DAY_MS, FOOTBALL_MODEL, FORM_FEATURES, OUTCOMES, WEATHER_LABEL, WEATHER_MODEL, formColumns } from './specs.ts';

const CITIES = ['Seattle', 'New York'];
const FIRST_DAY = '2012-01-01';
const LAST_DAY = '2015-12-30';

interface WeatherResult {
  location: string;
  day: string;
  prediction: Prediction;
  raw: { names: string[]; values: unknown[] };
  actual: number | null;
}

const state: {
  deployment: { store: FeatureStore; deployment: Deployment } | null;
  location: string;
  day: string;
  weather: WeatherResult | null;
  division: string;
  match: number | null;
  football: FootballResult | null;
} = { deployment: null, location: 'Seattle', day: '2015-06-01', weather: null, division: '', match: null, football: null };

/** The champion deployment, opened once: it follows the alias, so promote and rollback switch it in place. */
async function champion(store: FeatureStore): Promise<Deployment> {
  if (state.deployment?.store !== store) state.deployment = { store, deployment: await store.deployment(WEATHER_MODEL, { alias: 'champion' }) };
  return state.deployment.deployment;
}

export async function predictWeather(store: FeatureStore, location: string, day: string): Promise<WeatherResult> {
  const deployment = await champion(store);
  const entity = { location, day };
  const prediction = await deployment.predict(entity, { withFeatures: true });
  const view = await store.getFeatureView(prediction.featureView.name, prediction.featureView.version);
  const raw = await view.getFeatureVector(entity);
  const group = await store.getFeatureGroup('weather', view.definition.spine.version);
  const start = Date.parse(`${day}T00:00:00Z`);
  const rows = await group.read({ where: { location }, start, end: start + DAY_MS, columns: [WEATHER_LABEL] });
  const actual = rows.numRows === 0 ? null : (rows.getChild(WEATHER_LABEL)!.get(0) as number);
  return { location, day, prediction, raw: { names: raw.names, values: raw.values }, actual };
}

export function renderWeatherPrediction(app: App): HTMLElement {
  const city = el('select', { id: 'predict-city', 'data-testid': 'predict-city' }, ...CITIES.map((c) => el('option', { value: c }, c)));
  city.value = state.location;
  const day = el('input', { id: 'predict-day', 'data-testid': 'predict-day', type: 'date', min: FIRST_DAY, max: LAST_DAY, required: '' });
  day.value = state.day;
  const go = el('button', { type: 'submit', 'data-testid': 'predict-weather', class: 'go' }, 'Predict tomorrow\'s maximum');
  const form = el('form', { class: 'toolbar', 'data-testid': 'weather-form' },
    el('label', { for: 'predict-city' }, 'city '), city, el('label', { for: 'predict-day' }, 'day '), day, go);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (day.value < FIRST_DAY || day.value > LAST_DAY) {
      day.setCustomValidity(`Pick a day from ${FIRST_DAY} to ${LAST_DAY}.`);
      day.reportValidity();
      return;
    }
    day.setCustomValidity('');
    state.location = city.value;
    state.day = day.value;
    void app.run(`predicting ${city.value} ${day.value}…`, async () => {
      state.weather = await predictWeather(app.store, state.location, state.day);
    });
  });
  const box = el('section', { 'aria-labelledby': 'weather-predict-title', 'data-testid': 'weather-prediction' },
    el('h3', { id: 'weather-predict-title' }, 'Weather: tomorrow\'s maximum temperature (champion deployment, online features)'), form);
  const result = state.weather;
  if (result !== null) {
    const p = result.prediction;
    const inputs = p.features ?? {};
    box.append(
      el('p', { class: 'result' },
        `${result.location}, ${result.day}: the day after will reach `,
        el('strong', { 'data-testid': 'weather-value', 'data-value': String(p.prediction) }, `${fixed(p.prediction, 2)} °C`),
        ` (model ${p.model.name} `, el('strong', { 'data-testid': 'weather-model' }, `v${p.model.version}`),
        ', feature view ', el('strong', { 'data-testid': 'weather-view' }, `v${p.featureView.version}`), '). ',
        'Actually: ', el('span', { 'data-testid': 'weather-actual' }, result.actual === null ? 'unknown' : `${fixed(result.actual, 1)} °C`), '.'),
      scroll(table(['feature', 'stored value', 'model input (transformed)'], result.raw.names.map((name, i) => [
        name, formatValue(result.raw.values[i]), name in inputs ? fixed(inputs[name], 4) : '–',
      ]), { testid: 'weather-features', numeric: [1, 2], rowAttributes: (i) => ({ 'data-feature': result.raw.names[i] ?? '' }) })),
    );
  }
  return box;
}

function formatValue(value: unknown): string {
  if (value === null || value === undefined) return '–';
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : value.toFixed(3);
  if (typeof value === 'string' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return JSON.stringify(value) ?? '';
}

// ---------------------------------------------------------------- football

interface FormRow {
  knownFrom: number;
  values: Record<string, number>;
}

interface FootballResult {
  match: { id: number; day: number; division: string; home: string; away: string; homeScore: number; awayScore: number; outcome: number };
  /** The view's form features for the match, as the point-in-time join built them (a team's first match: imputed 0). */
  features: Record<string, number>;
  /** The split of the training dataset that holds the match. */
  split: string;
  prediction: { outcome: number; probabilities: number[]; version: number; dataset: number };
  form: { home: FormRow[]; away: FormRow[] };
}

async function readForm(store: FeatureStore, team: string): Promise<FormRow[]> {
  const form = await store.getFeatureGroup('team_form', 1);
  const rows = await form.read({ where: { team } });
  const known = rows.getChild('known_from')!;
  return Array.from({ length: rows.numRows }, (_, i) => ({
    knownFrom: Number(known.get(i)),
    values: Object.fromEntries(FORM_FEATURES.map((f) => [f, rows.getChild(f)!.get(i) as number])),
  }));
}

/** The football model versions loaded on this thread (tfjs, cpu backend), by version. */
const loaded = new Map<number, Promise<LoadedModel>>();

async function classify(store: FeatureStore, version: number, inputs: number[]): Promise<number[]> {
  const tf = await import('@tensorflow/tfjs');
  if (tf.getBackend() !== 'cpu') await tf.setBackend('cpu');
  let model = loaded.get(version);
  if (model === undefined) loaded.set(version, (model = store.models.load(FOOTBALL_MODEL, version)));
  const { model: network } = await model;
  return tf.tidy(() => Array.from((network.predict(tf.tensor2d([inputs])) as Tensor).dataSync()));
}

/**
 * A match as the champion football model saw it: its row in the model's own training dataset — built by the
 * point-in-time join when the model was trained, stored with the dataset — and the model's prediction on that row.
 */
export async function predictMatch(store: FeatureStore, id: number): Promise<FootballResult> {
  const matches = await store.getFeatureGroup('matches', 1);
  const own = await matches.read({ where: { match_id: id } });
  if (own.numRows === 0) throw new Error(`No match ${id}.`);
  const get = (name: string) => own.getChild(name)!.get(0) as unknown;
  const day = Number(get('date'));
  const match = {
    id, day, division: get('division') as string, home: get('home_team') as string, away: get('away_team') as string,
    homeScore: get('home_score') as number, awayScore: get('away_score') as number, outcome: get('outcome') as number,
  };
  const record = await store.models.get(FOOTBALL_MODEL, 'champion');
  if (record.lineage === null || record.lineage.trainingDataset === null) throw new Error(`${FOOTBALL_MODEL} v${record.version} has no training dataset.`);
  const view = await store.getFeatureView(record.lineage.featureView, record.lineage.featureViewVersion);
  const { train, test } = await view.getTrainingDataset(record.lineage.trainingDataset);
  let found: { table: typeof train; row: number; split: string } | null = null;
  for (const [split, table] of [['train', train], ['test', test]] as const) {
    const ids = table.getChild('match_id')!;
    for (let i = 0; i < table.numRows && found === null; i++) if (Number(ids.get(i)) === id) found = { table, row: i, split };
  }
  if (found === null) throw new Error(`Match ${id} is not in training dataset v${record.lineage.trainingDataset}.`);
  const { table, row, split } = found;
  const value = (name: string): number => Number(table.getChild(name)!.get(row));
  const features = Object.fromEntries(formColumns().map((c) => [c, value(c)]));
  const inputs = record.signature.inputs.map((input) => value(input.name));
  const probabilities = await classify(store, record.version, inputs);
  const outcome = probabilities.indexOf(Math.max(...probabilities));
  const [home, away] = await Promise.all([readForm(store, match.home), readForm(store, match.away)]);
  return { match, features, split, prediction: { outcome, probabilities, version: record.version, dataset: record.lineage.trainingDataset }, form: { home, away } };
}

async function divisions(store: FeatureStore): Promise<string[]> {
  const matches = await store.getFeatureGroup('matches', 1);
  const stats = await matches.read({ columns: ['division'] });
  const column = stats.getChild('division')!;
  const names = new Set<string>();
  for (let i = 0; i < stats.numRows; i++) names.add(column.get(i) as string);
  return [...names].sort();
}

export async function renderFootballPrediction(app: App): Promise<HTMLElement> {
  const { store } = app;
  const all = await divisions(store);
  if (state.division === '' || !all.includes(state.division)) state.division = all[0] ?? '';
  const division = el('select', { id: 'predict-division', 'data-testid': 'predict-division' }, ...all.map((d) => el('option', { value: d }, d)));
  division.value = state.division;
  const matches = await (await store.getFeatureGroup('matches', 1)).read({ where: { division: state.division }, columns: ['match_id', 'date', 'home_team', 'away_team'] });
  const match = el('select', { id: 'predict-match', 'data-testid': 'predict-match' });
  for (let i = 0; i < matches.numRows; i++) {
    const id = matches.getChild('match_id')!.get(i) as number;
    match.append(el('option', { value: String(id) },
      `${isoDay(Number(matches.getChild('date')!.get(i)))} ${matches.getChild('home_team')!.get(i) as string} – ${matches.getChild('away_team')!.get(i) as string} (#${id})`));
  }
  if (state.match !== null) match.value = String(state.match);
  division.addEventListener('change', () => {
    state.division = division.value;
    state.match = null;
    void app.run('listing matches…', async () => {});
  });
  const go = el('button', { type: 'submit', 'data-testid': 'predict-football', class: 'go' }, 'Predict the outcome');
  const form = el('form', { class: 'toolbar wrap', 'data-testid': 'football-form' },
    el('label', { for: 'predict-division' }, 'division '), division, el('label', { for: 'predict-match' }, 'match '), match, go);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    state.match = Number(match.value);
    void app.run(`scoring match #${match.value}…`, async () => {
      state.football = await predictMatch(store, Number(match.value));
    });
  });
  const box = el('section', { 'aria-labelledby': 'football-predict-title', 'data-testid': 'football-prediction' },
    el('h3', { id: 'football-predict-title' }, 'Football: home win, draw or away win (features as of the match day)'), form);
  const result = state.football;
  if (result !== null) box.append(...footballResult(result));
  return box;
}

/** A form value; a team's first match has no form row, so the view's imputer made it 0. */
function formText(column: string, result: FootballResult): string {
  const side = column.startsWith('home_') ? 'home_' : 'away_';
  return result.features[`${side}played5`] === 0 ? '0 (no earlier match: imputed)' : String(result.features[column]);
}

function footballResult(result: FootballResult): Node[] {
  const m = result.match;
  const formTable = (side: 'home' | 'away', team: string, rows: FormRow[]): HTMLElement => {
    // The rows around the match: the one the join used (the latest known by the match's midnight) and the next.
    const used = rows.reduce((best, r, i) => (r.knownFrom <= m.day ? i : best), -1);
    const shown = rows.slice(Math.max(0, used - 1), used + 2);
    return el('div', { 'data-testid': `form-${side}` },
      el('h4', {}, `${team}: its team_form rows`),
      scroll(table(['known from', ...FORM_FEATURES, 'for this match'], shown.map((r) => [
        isoDay(r.knownFrom), ...FORM_FEATURES.map((f) => String(r.values[f])),
        r === rows[used] ? '✓ used: latest known by the match day'
          : r.knownFrom > m.day ? (r.knownFrom === m.day + DAY_MS ? '✗ includes this match: not visible to it' : '✗ later')
            : 'older',
      ]), { numeric: [1, 2, 3, 4], rowAttributes: (i) => ({ 'data-known-from': isoDay(shown[i]!.knownFrom) }) })),
      used < 0 ? el('p', { class: 'muted' }, 'No form row known by the match day: this is the team\'s first match in the data (features are empty, imputed as 0).') : '',
    );
  };
  return [
    el('p', { class: 'result', 'data-testid': 'football-result', 'data-match': String(m.id) },
      `${isoDay(m.day)} · ${m.division} · ${m.home} vs ${m.away}. Predicted by ${FOOTBALL_MODEL} `,
      el('strong', {}, `v${result.prediction.version}`), ': ',
      el('strong', { 'data-testid': 'football-predicted' }, OUTCOMES[result.prediction.outcome] ?? '?'),
      ` (${result.prediction.probabilities.map((q, k) => `${OUTCOMES[k]} ${(q * 100).toFixed(0)} %`).join(', ')})`,
      '. Actual result (not visible to the features): ',
      el('strong', { 'data-testid': 'football-actual' }, `${m.homeScore}–${m.awayScore}, ${OUTCOMES[m.outcome] ?? '?'}`), '.'),
    el('h4', {}, `Form features used: the match's row in training dataset v${result.prediction.dataset} (${result.split} split), built by the point-in-time join as of the match day`),
    scroll(table(['feature', 'value'], formColumns().map((c) => [c, formText(c, result)]), {
      testid: 'football-features', numeric: [1], rowAttributes: (i) => ({ 'data-feature': formColumns()[i] ?? '' }),
    })),
    el('div', { class: 'grid' }, formTable('home', m.home, result.form.home), formTable('away', m.away, result.form.away)),
  ];
}
