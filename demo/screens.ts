// The demo's screens. Each renders into the screen element from what the store says now; buttons run their work
// through app.run (status busy → ready, controls off meanwhile), after which the screen renders again.
import { bars, lines, type Point } from './charts.ts';
import { el, fixed, isoDay, isoTime, scroll, table } from './dom.ts';
import { renderFootballPrediction, renderWeatherPrediction } from './predict.ts';
import { renderCommits, renderRows, renderSchema, renderStatistics } from './render.ts';
import { FOOTBALL_MODEL, WEATHER_MODEL } from './specs.ts';
import { retrain, upgradeWeather, weatherVersions } from './setup.ts';
import { renderCompare, renderStorage, renderSync } from './operations.ts';
import { button, heading, section, type App, type Screen } from './app.ts';

// ---------------------------------------------------------------- overview

async function overview(root: HTMLElement, app: App): Promise<void> {
  const { store } = app;
  heading(root, 'Overview', 'Two stories, each a feature pipeline → feature group → feature view → training → registry → predictions, all in this tab.');
  const groups = await store.listFeatureGroups();
  const models = await store.models.list();
  const has = (name: string, version: number) => groups.some((g) => g.name === name && g.version === version);
  const { champion, v2 } = await weatherVersions(store);
  const modelLine = (name: string, version: number | null) => {
    const m = models.find((r) => r.name === name && r.version === version);
    if (m === undefined) return 'not yet';
    const metric = m.metrics['rmse'] !== undefined ? `test RMSE ${fixed(m.metrics['rmse'])} °C` : `test accuracy ${fixed(m.metrics['accuracy'], 3)}`;
    return `v${m.version}, trained on view v${m.lineage?.featureViewVersion ?? '?'} — ${metric}`;
  };
  const step = (done: boolean, text: string, ...extra: (Node | string)[]) =>
    el('li', { 'data-done': String(done) }, el('span', { class: 'mark' }, done ? '✓ done' : '○ to do'), ' ', text, ...extra);

  const upgrade = button('Build weather v2 and train model v2', 'upgrade', () => {
    void app.run('upgrading the weather story…', async () => {
      await upgradeWeather(store, app.report, app.onTrain);
    });
  }, 'go');
  upgrade.disabled = v2 !== null;
  root.append(
    section('Story 1 — weather: tomorrow\'s maximum temperature', 'story-weather',
      el('p', {}, 'Seattle and New York, daily 2012–2015. The model predicts tomorrow\'s maximum temperature: a continuous value whose error reads in °C, '
        + 'so the two versions compare at a glance (rain tomorrow is a coin toss in New York and a near-certainty in a Seattle winter).'),
      el('ol', { class: 'steps' },
        step(has('weather_raw', 1), 'weather.csv imported into the group weather_raw v1 (validated at write time).'),
        step(has('weather', 1), 'The pipeline weather_daily builds weather v1: daily features per city and day, and tomorrow\'s maximum as label.'),
        step(models.some((m) => m.name === WEATHER_MODEL && m.version === 1), `Feature view ${WEATHER_MODEL} v1, training dataset, model v1: ${modelLine(WEATHER_MODEL, 1)}.`),
        step(has('weather', 2), 'The pipeline weather_rolling builds weather v2 — a new version of the group with rolling 7-day features — then view v2 and model v2 learn from it: ',
          upgrade, ' ', el('span', { 'data-testid': 'model-v2' }, modelLine(WEATHER_MODEL, v2))),
        step(champion !== null && champion === v2, 'Green button: promote v2 (model and feature view switch together); red button: roll back. ',
          el('a', { href: '#/registry' }, 'Open the registry'), '.'),
      ),
      el('p', {}, 'Served now (alias champion): ', el('strong', { 'data-testid': 'champion' }, champion === null ? 'none' : `${WEATHER_MODEL} v${champion}`)),
    ),
    section('Story 2 — football: home win, draw or away win', 'story-football',
      el('p', {}, '6,508 European league matches. The pipeline team_form computes each team\'s form over its last five matches after every match day; '
        + 'the feature view joins both teams\' form to each match point in time, so a match never sees its own result. ',
        el('a', { href: '#/predict' }, 'See it for any match'), '.'),
      el('ol', { class: 'steps' },
        step(has('matches', 1), 'football.json imported into matches v1 (one row per match, outcome as label).'),
        step(has('team_form', 1), 'The pipeline team_form builds team_form v1: played, goals for and against, points over the last 5 matches, known from the day after.'),
        step(models.some((m) => m.name === FOOTBALL_MODEL), `Feature view ${FOOTBALL_MODEL} v1 and model: ${modelLine(FOOTBALL_MODEL, 1)}.`),
      ),
    ),
  );
  const pipelines = await store.pipelines.list();
  const runs = await store.pipelines.runs();
  root.append(section('Feature pipelines', 'pipelines',
    el('p', {}, 'Registered with a schedule: they run by themselves while the page is open (every hour, incrementally, and when the browser comes back online).'),
    scroll(table(['pipeline', 'writes', 'schedule', 'runs', 'last run', 'status'], pipelines.map((p) => {
      const mine = runs.filter((r) => r.pipeline === p.name);
      const last = mine[mine.length - 1];
      return [
        p.name,
        p.outputs.map((o) => `${o.group} v${o.version}`).join(', '),
        p.schedule === null ? 'none' : `every ${Math.round(p.schedule.everyMs / 60_000)} min, ${p.schedule.mode}${p.schedule.onOnline ? ', on reconnect' : ''}`,
        String(mine.length),
        last === undefined ? '–' : `${last.trigger} ${last.mode}, ${isoTime(last.startedAt)}`,
        last?.status ?? '–',
      ];
    }), { testid: 'pipeline-table', numeric: [3] })),
  ));
}

// ---------------------------------------------------------------- feature groups

async function groups(root: HTMLElement, app: App): Promise<void> {
  const { store } = app;
  heading(root, 'Feature groups', 'Every group version with its schema, commit ledger (with validation reports) and statistics.');
  const all = await store.listFeatureGroups();
  const wanted = new URLSearchParams(location.hash.split('?')[1] ?? '').get('group') ?? 'weather@1';
  const picker = el('select', { id: 'group-picker', 'data-testid': 'group-picker' },
    ...all.map((g) => el('option', { value: `${g.name}@${g.version}` }, `${g.name} v${g.version}`)));
  picker.value = all.some((g) => `${g.name}@${g.version}` === wanted) ? wanted : `${all[0]?.name}@${all[0]?.version}`;
  picker.addEventListener('change', () => {
    location.hash = `#/groups?group=${encodeURIComponent(picker.value)}`;
  });
  root.append(el('p', { class: 'toolbar' }, el('label', { for: 'group-picker' }, 'group '), picker));
  const [name, version] = picker.value.split('@');
  if (name === undefined || name === '') return;
  const group = await store.getFeatureGroup(name, Number(version));
  const schema = el('table', { id: 'schema', 'data-testid': 'schema' },
    el('thead', {}, el('tr', {}, el('th', {}, 'column'), el('th', {}, 'type'), el('th', {}, 'role'), el('th', {}, 'nullable'))), el('tbody'));
  renderSchema(schema, group.definition);
  const commits = el('table', { id: 'commits', 'data-testid': 'commits' },
    el('thead', {}, el('tr', {}, ...['id', 'kind', 'rows', 'committed at', 'batch id', 'expectations'].map((h) => el('th', {}, h)))), el('tbody'));
  const stats = el('table', { id: 'stats', 'data-testid': 'stats' });
  const rows = el('table', { id: 'rows', 'data-testid': 'rows' });
  const [ledger, statistics, preview] = await Promise.all([group.commits(), group.statistics(), group.read({ limit: 20 })]);
  renderCommits(commits, ledger);
  renderStatistics(stats, group.definition, statistics);
  renderRows(rows, preview, group.definition);
  root.append(
    el('p', { 'data-testid': 'group-name', class: 'group-name' }, `${group.name} v${group.version}`),
    el('p', { class: 'muted' }, group.definition.description),
    el('div', { class: 'grid' },
      section('Schema', 'schema-section', scroll(schema)),
      section('Commits', 'commits-section', scroll(commits)),
    ),
    section('Statistics', 'stats-section', scroll(stats)),
    section('First rows', 'rows-section', scroll(rows)),
  );
}

// ---------------------------------------------------------------- views and training datasets

async function views(root: HTMLElement, app: App): Promise<void> {
  const { store } = app;
  heading(root, 'Feature views and training datasets', 'A view pins the features a model reads from exact group versions, joined point in time, with its label and transformations. Each training dataset is a stored, versioned snapshot of its rows.');
  for (const d of await store.listFeatureViews()) {
    const view = await store.getFeatureView(d.name, d.version);
    const datasets = await view.listTrainingDatasets();
    root.append(section(`${d.name} v${d.version}`, `view-${d.name}-${d.version}`,
      el('p', { class: 'muted' }, d.description),
      el('p', {}, 'Groups: ', d.joins.map((j, i) => `${j.group} v${j.version}${i === 0 ? ' (spine)' : ` on ${j.spineKeys.join(', ')}`}`).join(' ⋈ ')),
      el('p', {}, 'Features: ', d.features.map((f) => f.name).join(', '), '. Label: ', d.labels.map((l) => l.name).join(', '), '.'),
      el('p', {}, 'Transformations (fitted on the train split): ', d.transforms.map((t) => `${t.kind}(${t.column})`).join(', ') || 'none', '.'),
      scroll(table(['dataset', 'created', 'spine', 'split', 'train rows', 'test rows'], datasets.map((t) => [
        `v${t.version}`, isoTime(t.createdAt), t.params.spine,
        t.params.split.kind === 'time' ? `time: test from ${isoDay(Number(t.params.split.testStart))}` : t.params.split.kind,
        String(t.rowCounts.train), String(t.rowCounts.test),
      ]), { testid: 'datasets', numeric: [4, 5] })),
    ));
  }
}

// ---------------------------------------------------------------- training

async function trainingScreen(root: HTMLElement, app: App): Promise<void> {
  const { store, training } = app;
  heading(root, 'Training', 'Training runs in a worker of its own (tfjs, wasm backend); loss and metrics arrive live.');
  const picker = el('select', { id: 'train-model', 'data-testid': 'train-model' },
    el('option', { value: WEATHER_MODEL }, `${WEATHER_MODEL} (regression, latest view)`),
    el('option', { value: FOOTBALL_MODEL }, `${FOOTBALL_MODEL} (3 classes)`));
  const go = button('Train a new version', 'train', () => {
    void app.run(`training ${picker.value}…`, async () => {
      const { run, model } = await retrain(store, picker.value, app.onTrain);
      if (model === null) throw new Error(`Run ${run.id} registered no model (${run.error?.message ?? 'a gate failed'}).`);
    });
  }, 'go');
  const bar = el('progress', { 'data-testid': 'train-progress', max: '1', value: '0', 'aria-label': 'training progress' });
  const label = el('p', { 'data-testid': 'train-label', 'aria-live': 'polite' });
  const chartBox = el('div', { class: 'chart-box', 'data-testid': 'train-chart' });
  const draw = (): void => {
    const last = training.last;
    if (last === null) {
      label.textContent = 'No training in this session yet.';
      return;
    }
    bar.max = last.epochs * Math.max(last.batches, 1);
    bar.value = last.epoch * last.batches + last.batch;
    label.textContent = `${training.what ?? ''}: epoch ${last.epoch + 1} of ${last.epochs}, batch ${last.batch} of ${last.batches}, loss ${fixed(last.loss, 4)}`;
    if (training.points.length > 0) chartBox.replaceChildren(lines(training.points, { x: 'epoch', y: 'value', label: 'loss and metric per epoch' }));
  };
  draw();
  training.listeners.clear();
  training.listeners.add(draw);
  root.append(
    el('p', { class: 'toolbar' }, el('label', { for: 'train-model' }, 'model '), picker, go),
    section('Live', 'live', bar, label, chartBox),
  );
  const runs = (await store.runs.list()).slice(-1);
  const last = runs[0];
  if (last !== undefined && training.last === null) {
    // Nothing trained in this page yet: the curves of the last recorded run.
    const points = Object.entries(last.series).flatMap(([series, values]) => values.map((v) => ({ x: v.step + 1, y: v.value, series })));
    label.textContent = `Last recorded run: ${last.model} on view v${last.featureView?.version ?? '?'} (train one to watch it live).`;
    if (points.length > 0) chartBox.replaceChildren(lines(points, { x: 'epoch', y: 'value', label: `loss and metric per epoch of the last run of ${last.model}` }));
  }
  if (last !== undefined) {
    root.append(section('Last run', 'last-run', table(['run', 'model', 'status', 'view', 'version', 'fit', 'samples/s'], [[
      last.id.slice(0, 8), last.model, last.status, last.featureView === null ? '–' : `v${last.featureView.version}`,
      last.modelVersion === null ? '–' : `v${last.modelVersion}`,
      last.timings.fitMs === null ? '–' : `${(last.timings.fitMs / 1000).toFixed(1)} s`,
      fixed(last.timings.samplesPerSecond, 0),
    ]])));
  }
}

// ---------------------------------------------------------------- experiments

async function experiments(root: HTMLElement, app: App): Promise<void> {
  const { store } = app;
  heading(root, 'Experiments', 'Every training run is recorded: parameters, loss series, test metrics, timings. Compare the runs of a model.');
  for (const model of [WEATHER_MODEL, FOOTBALL_MODEL]) {
    const runs = (await store.runs.list(model)).filter((r) => r.status === 'finished');
    if (runs.length === 0) continue;
    const compared = await store.runs.compare(runs.map((r) => r.id));
    const metrics = compared.metrics.filter((m) => compared.rows.some((r) => typeof r.metrics[m] === 'number'));
    const points: Point[] = runs.flatMap((r) => (r.series['loss'] ?? []).map((p) => ({ x: p.step + 1, y: p.value, series: `run ${runs.indexOf(r) + 1} (v${r.modelVersion ?? '–'})` })));
    const best = metrics.includes('rmse') ? 'rmse' : 'accuracy';
    root.append(section(`Runs of ${model}`, `runs-${model}`,
      scroll(table(['run', 'model version', 'view', 'started', ...metrics], compared.rows.map((row, i) => {
        const r = runs[i]!;
        return [`run ${i + 1} · ${row.id.slice(0, 8)}`, r.modelVersion === null ? '–' : `v${r.modelVersion}`,
          r.featureView === null ? '–' : `v${r.featureView.version}`, isoTime(r.startedAt), ...metrics.map((m) => metricText(row.metrics[m]))];
      }), { testid: `compare-${model}`, numeric: metrics.map((_, j) => j + 4) })),
      el('div', { class: 'charts' },
        lines(points, { x: 'epoch', y: 'training loss', label: `training loss of each run of ${model}` }),
        bars(runs.map((r, i) => ({ name: `run ${i + 1} (v${r.modelVersion ?? '–'})`, value: r.metrics[best] ?? 0 })), `test ${best} of each run`, `test ${best}`),
      ),
    ));
  }
}

// ---------------------------------------------------------------- registry

async function registry(root: HTMLElement, app: App): Promise<void> {
  const { store } = app;
  heading(root, 'Model registry', 'Immutable versions with their lineage (feature view, training dataset, run) and aliases whose every move is kept.');
  const { champion, v2 } = await weatherVersions(store);
  const versions = await store.models.list(WEATHER_MODEL);
  const promoteTo = v2 !== null && v2 !== champion ? v2 : versions.map((m) => m.version).filter((v) => v !== champion).pop() ?? null;
  const green = button(promoteTo === null ? 'Promote (no other version yet)' : `Promote v${promoteTo} to champion`, 'promote', () => {
    if (promoteTo === null) return;
    void app.run(`promoting ${WEATHER_MODEL} v${promoteTo}…`, async () => {
      const model = await store.models.get(WEATHER_MODEL, promoteTo);
      await store.promote(WEATHER_MODEL, promoteTo, { reason: `test RMSE ${fixed(model.metrics['rmse'])} °C` });
    });
  }, 'go');
  green.disabled = promoteTo === null;
  const history = await store.models.aliasHistory(WEATHER_MODEL);
  const canRollBack = history.some((c) => c.alias === 'champion' && c.kind === 'promote' && c.from !== null);
  const red = button('Roll back champion', 'rollback', () => {
    void app.run(`rolling ${WEATHER_MODEL} back…`, async () => {
      await store.rollback(WEATHER_MODEL);
    });
  }, 'stop');
  red.disabled = !canRollBack;
  root.append(el('p', { class: 'toolbar buttons' }, green, red,
    el('span', {}, 'champion: ', el('strong', { 'data-testid': 'registry-champion' }, champion === null ? 'none' : `v${champion}`))));

  for (const model of [WEATHER_MODEL, FOOTBALL_MODEL]) {
    const list = await store.models.list(model);
    const changes = await store.models.aliasHistory(model);
    const current = new Map<string, number | null>();
    for (const c of changes) current.set(c.alias, c.to);
    const metric = model === WEATHER_MODEL ? ['rmse', 'mae', 'r2'] : ['accuracy', 'logLoss'];
    root.append(section(`${model}`, `registry-${model}`,
      scroll(table(['version', 'created', 'aliases', 'feature view', 'training dataset', 'run', ...metric, 'inputs'], list.map((m) => [
        `v${m.version}`, isoTime(m.createdAt),
        [...current].filter(([, v]) => v === m.version).map(([a]) => a).join(', ') || '–',
        m.lineage === null ? '–' : `${m.lineage.featureView} v${m.lineage.featureViewVersion}`,
        m.lineage?.trainingDataset === null || m.lineage === null ? '–' : `v${m.lineage.trainingDataset}`,
        m.runId?.slice(0, 8) ?? '–',
        ...metric.map((k) => fixed(m.metrics[k], 3)),
        String(m.signature.inputs.length),
      ]), { testid: `versions-${model}`, numeric: [6, 7, 8].slice(0, metric.length) })),
      el('h4', {}, 'Alias history'),
      scroll(table(['when', 'alias', 'move', 'from', 'to', 'feature view', 'reason'], changes.map((c) => [
        isoTime(c.at), c.alias, c.kind ?? 'set', c.from === null ? '–' : `v${c.from}`, c.to === null ? '–' : `v${c.to}`,
        c.featureView === null || c.featureView === undefined ? '–' : `v${c.featureView.version}`, c.reason,
      ]), { testid: `history-${model}` })),
    ));
  }
}

/** A metric: counts as integers, the rest to three decimals. */
function metricText(value: number | null | undefined): string {
  return typeof value === 'number' && Number.isInteger(value) ? String(value) : fixed(value, 3);
}

export const SCREENS = {
  overview: { title: 'Overview', render: overview },
  groups: { title: 'Feature groups', render: groups },
  views: { title: 'Views & datasets', render: views },
  training: { title: 'Training', render: trainingScreen },
  experiments: { title: 'Experiments', render: experiments },
  registry: { title: 'Registry', render: registry },
  predict: { title: 'Predictions', render: predictions },
  compare: { title: 'Shadow & A/B', render: renderCompare },
  storage: { title: 'Storage', render: renderStorage },
  sync: { title: 'Sync', render: renderSync },
} satisfies Record<string, Screen>;

export type Route = keyof typeof SCREENS;

async function predictions(root: HTMLElement, app: App): Promise<void> {
  heading(root, 'Predictions', 'Pick a city and a day, or a match: the prediction, the model and view versions that made it, and the features they read.');
  root.append(renderWeatherPrediction(app), await renderFootballPrediction(app));
}
