// What the demo stores: the raw groups it imports, the feature groups its pipelines write, the views and model specs.
// Plain data (no DOM), shared by the page and the pipeline workers.
import { expect, type FeatureGroupSpec, type ModelSpec, type TransformSpec } from '../src/index.ts';

export const STORE_NAME = 'larder_demo';
export const DAY_MS = 86_400_000;

/** The weather model predicts tomorrow's maximum temperature (°C) of a city. */
export const WEATHER_MODEL = 'weather_temp';
/** The football model predicts a match's outcome: 0 home win, 1 draw, 2 away win. */
export const FOOTBALL_MODEL = 'match_outcome';
export const OUTCOMES = ['home win', 'draw', 'away win'] as const;

export const WEATHER_PIPELINE = { v1: 'weather_daily', v2: 'weather_rolling' } as const;
export const FORM_PIPELINE = 'team_form';
/** The demo's pipelines run by themselves while it is open: hourly, and when the browser comes back online. */
export const SCHEDULE_EVERY = '1h';

/** The weather rows as imported from vega-datasets' weather.csv: one per city and day. */
export const WEATHER_RAW: FeatureGroupSpec = {
  name: 'weather_raw',
  version: 1,
  description: 'Daily weather in Seattle and New York, 2012–2015, as imported from vega-datasets weather.csv.',
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

/** Daily features of v1, by city and day (the day is part of the key: every day can be served online). */
export const DAILY_FEATURES = ['is_seattle', 'temp_max', 'temp_min', 'precipitation', 'wind', 'season_sin', 'season_cos'] as const;
/** What v2 adds: means and sums over the seven days ending on the row's day. */
export const ROLLING_FEATURES = ['temp_max_mean7', 'temp_min_mean7', 'precipitation_sum7', 'wind_mean7'] as const;
export const WEATHER_LABEL = 'temp_max_next';

function weatherSpec(version: 1 | 2): FeatureGroupSpec {
  const features: Record<string, 'string' | 'date' | 'timestamp' | 'float64'> = { location: 'string', day: 'date', ts: 'timestamp' };
  for (const name of DAILY_FEATURES) features[name] = 'float64';
  if (version === 2) for (const name of ROLLING_FEATURES) features[name] = 'float64';
  features[WEATHER_LABEL] = 'float64';
  return {
    name: 'weather',
    version,
    description: version === 1
      ? 'Daily features of each city and day, with the next day\'s maximum temperature as label.'
      : 'v1 plus rolling 7-day features (means of temperatures and wind, total precipitation).',
    primaryKey: ['location', 'day'],
    eventTime: 'ts',
    online: true,
    features,
    expectations: { policy: 'strict', expectations: [expect.notNull(WEATHER_LABEL), expect.between('is_seattle', 0, 1)] },
  };
}

export const WEATHER_V1 = weatherSpec(1);
export const WEATHER_V2 = weatherSpec(2);

/** Outcomes arriving after predictions were made: what the shadow and A/B comparison scores against. */
export const WEATHER_OUTCOMES: FeatureGroupSpec = {
  name: 'weather_outcomes',
  version: 1,
  description: 'The true next-day maximum temperature of a city and day, recorded when it arrived.',
  primaryKey: ['location', 'day'],
  eventTime: 'arrived',
  features: { location: 'string', day: 'date', arrived: 'timestamp', [WEATHER_LABEL]: 'float64' },
};

/** The matches as imported from vega-datasets football.json, numbered in file order. */
export const MATCHES: FeatureGroupSpec = {
  name: 'matches',
  version: 1,
  description: 'European league matches 2013–2017 (vega-datasets football.json) with their outcome.',
  primaryKey: 'match_id',
  eventTime: 'date',
  features: {
    match_id: 'int32',
    date: 'timestamp',
    division: 'string',
    home_team: 'string',
    away_team: 'string',
    home_score: 'int32',
    away_score: 'int32',
    outcome: 'int32',
  },
  expectations: { policy: 'strict', expectations: [expect.between('home_score', 0), expect.between('away_score', 0), expect.inSet('outcome', [0, 1, 2])] },
};

export const FORM_FEATURES = ['played5', 'goals_for5', 'goals_against5', 'points5'] as const;

/**
 * A team's form over its last five matches, as known once a match day is over: a row's event time is the day after
 * the matches it counts, so a match never sees its own result (nor another of that day).
 */
export const TEAM_FORM: FeatureGroupSpec = {
  name: 'team_form',
  version: 1,
  description: 'Each team\'s form over its last 5 matches (goals for and against, points), known from the next day.',
  primaryKey: 'team',
  eventTime: 'known_from',
  features: {
    team: 'string',
    known_from: 'timestamp',
    played5: 'int32',
    goals_for5: 'int32',
    goals_against5: 'int32',
    points5: 'int32',
  },
  expectations: { policy: 'strict', expectations: [expect.between('played5', 1, 5), expect.between('points5', 0, 15)] },
};

/** Scaled inputs of the weather views (the city flag and the season are already in [-1, 1]). */
export function weatherTransforms(version: 1 | 2): TransformSpec[] {
  const scaled = ['temp_max', 'temp_min', 'precipitation', 'wind', ...(version === 2 ? ROLLING_FEATURES : [])];
  return scaled.map((column) => ({ kind: 'standardScaler', column }));
}

/** Form columns of the football view, per side. */
export function formColumns(): string[] {
  return ['home_', 'away_'].flatMap((prefix) => FORM_FEATURES.map((f) => prefix + f));
}

/**
 * The league one-hot encoded; a team's first match has no form row (nulls), imputed as 0 matches played. Form values
 * are small counts (0–15): left unscaled, so the model's inputs read as they are.
 */
export function footballTransforms(): TransformSpec[] {
  return [
    { kind: 'oneHotEncoder', column: 'division' },
    ...formColumns().map((column): TransformSpec => ({ kind: 'imputer', column, strategy: 'constant', value: 0 })),
  ];
}

/** Small on purpose: the first run trains in seconds. */
export const WEATHER_SPEC: ModelSpec = {
  task: 'regression',
  layers: [{ units: 16, activation: 'relu' }],
  optimizer: { name: 'adam', learningRate: 0.05 },
  metrics: ['mae'],
  seed: 7,
};

export const FOOTBALL_SPEC: ModelSpec = {
  task: 'multiclass',
  classes: 3,
  layers: [{ units: 12, activation: 'relu' }],
  optimizer: { name: 'adam', learningRate: 0.01 },
  metrics: ['accuracy'],
  seed: 7,
};

export const WEATHER_EPOCHS = 20;
export const FOOTBALL_EPOCHS = 6;

/** Both weather models learn from 2012–2014 and are tested on 2015, so their metrics compare. */
export const WEATHER_SPLIT = { kind: 'time' as const, trainEnd: Date.UTC(2015, 0, 1), testStart: Date.UTC(2015, 0, 1) };
