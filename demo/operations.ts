// Screens about operating the system: shadow and A/B comparison, storage, and sync to an S3-compatible bucket.
import {
  PresignedObjectStore, S3ObjectStore,
  type DeploymentComparison, type FeatureStore, type ObjectStore, type PresignRequest, type PresignedRequest,
} from '../src/index.ts';
import { el, fixed, messageOf, table } from './dom.ts';
import { button, heading, section, type App } from './app.ts';
import { DAY_MS, WEATHER_LABEL, WEATHER_MODEL } from './specs.ts';
import { weatherVersions } from './setup.ts';

// ---------------------------------------------------------------- shadow and A/B

const CITIES = ['Seattle', 'New York'];
/** The days replayed: December 2015 (the last day has no label). */
const DAYS = Array.from({ length: 30 }, (_, i) => Date.UTC(2015, 11, 1) + i * DAY_MS);

let comparison: { kind: 'shadow' | 'split'; result: DeploymentComparison; requests: number } | null = null;

/**
 * Replays December 2015 through a shadow or split deployment, then records the true values as arriving now (after the
 * predictions), and compares the arms on them.
 */
async function replay(store: FeatureStore, kind: 'shadow' | 'split'): Promise<void> {
  const since = Date.now();
  const deployment = await store.deployment(WEATHER_MODEL, kind === 'shadow' ? { alias: 'champion', shadow: 'challenger' } : { split: { champion: 0.5, challenger: 0.5 } });
  const entities = CITIES.flatMap((location) => DAYS.map((day) => ({ location, day })));
  try {
    await deployment.predictBatch(entities);
    await deployment.flush();
  } finally {
    await deployment.close();
  }
  // The outcomes arrive after the predictions: the next day's maximum of each city and day, from weather v1.
  const weather = await store.getFeatureGroup('weather', 1);
  const truth = await weather.read({ start: DAYS[0]!, end: DAYS[DAYS.length - 1]! + DAY_MS, columns: ['location', 'day', WEATHER_LABEL] });
  const arrived = Date.now();
  const outcomes = Array.from({ length: truth.numRows }, (_, i) => ({
    location: truth.getChild('location')!.get(i) as string,
    day: Number(truth.getChild('day')!.get(i)),
    arrived,
    [WEATHER_LABEL]: truth.getChild(WEATHER_LABEL)!.get(i) as number,
  }));
  await (await store.getFeatureGroup('weather_outcomes', 1)).insert(outcomes);
  const result = await store.compareDeployments(WEATHER_MODEL, { labels: { group: 'weather_outcomes', column: WEATHER_LABEL }, start: since });
  comparison = { kind, result, requests: entities.length };
}

export async function renderCompare(root: HTMLElement, app: App): Promise<void> {
  const { store } = app;
  heading(root, 'Shadow and A/B comparison', 'Serve the champion while the challenger predicts every request in the shadow (logged, never returned), or split the traffic between them by a hash of each entity. The true values arrive afterwards; then the arms are compared.');
  const { champion } = await weatherVersions(store);
  const history = await store.models.aliasHistory(WEATHER_MODEL);
  const challenger = history.filter((c) => c.alias === 'challenger').pop()?.to ?? null;
  root.append(el('p', {}, 'champion: ', el('strong', {}, champion === null ? 'none' : `v${champion}`), ' · challenger: ',
    el('strong', { 'data-testid': 'challenger' }, challenger === null ? 'none — build weather v2 on the overview first' : `v${challenger}`)));
  const shadow = button('Replay December 2015 with a shadow', 'run-shadow', () => {
    void app.run('replaying with a shadow deployment…', () => replay(store, 'shadow'));
  }, 'go');
  const split = button('Replay December 2015 split 50/50 (A/B)', 'run-split', () => {
    void app.run('replaying with an A/B split…', () => replay(store, 'split'));
  }, 'go');
  shadow.disabled = challenger === null;
  split.disabled = challenger === null;
  root.append(el('p', { class: 'toolbar buttons' }, shadow, split));
  if (comparison === null) return;
  const { result, kind, requests } = comparison;
  root.append(section(kind === 'shadow' ? `Shadow: ${requests} requests` : `A/B split: ${requests} requests`, 'comparison',
    table(['arm', 'role', 'predictions', 'labelled', 'versions', 'RMSE °C', 'MAE °C'], result.arms.map((a) => {
      const metrics = (a.metrics ?? {}) as Record<string, unknown>;
      return [a.arm, a.served ? 'served' : 'shadow (logged only)', String(a.predictions), String(a.labelled), a.versions.map((v) => `v${v}`).join(', '),
        fixed(metrics['rmse'] as number | undefined), fixed(metrics['mae'] as number | undefined)];
    }), { testid: 'arms', numeric: [2, 3, 5, 6] }),
    el('p', { 'data-testid': 'agreement' }, result.agreement.pairs === 0
      ? 'No request was predicted by two arms (a split serves each entity from one arm).'
      : `${result.agreement.pairs} requests predicted by both: mean absolute difference ${fixed(result.agreement.meanAbsoluteDifference)} °C.`),
  ));
}

// ---------------------------------------------------------------- storage

let persistAnswer: boolean | null = null;

export async function renderStorage(root: HTMLElement, app: App): Promise<void> {
  heading(root, 'Storage', 'Everything lives in this origin\'s storage: the DuckDB file in OPFS, the registry and online store in IndexedDB. The browser may evict it under pressure unless the origin holds persistent storage.');
  const estimate = await navigator.storage.estimate();
  const persisted = await navigator.storage.persisted();
  const mib = (bytes: number | undefined) => (bytes === undefined ? '–' : `${(bytes / 1_048_576).toFixed(1)} MiB`);
  const groups = await app.store.listFeatureGroups();
  const models = await app.store.models.list();
  root.append(section('Usage', 'usage',
    table(['what', 'value'], [
      ['used by this origin', mib(estimate.usage)],
      ['quota', mib(estimate.quota)],
      ['share of quota', estimate.usage === undefined || estimate.quota === undefined ? '–' : `${((estimate.usage / estimate.quota) * 100).toFixed(2)} %`],
      ['persistent storage', persisted ? 'granted: not evicted under pressure' : 'not granted: best effort'],
      ['feature group versions', String(groups.length)],
      ['model versions', String(models.length)],
    ], { testid: 'usage-table' }),
  ));
  const persist = button('Ask for persistent storage', 'persist', () => {
    void app.run('asking for persistent storage…', async () => {
      persistAnswer = await navigator.storage.persist();
    });
  });
  persist.disabled = persisted;
  root.append(el('p', { class: 'toolbar' }, persist,
    el('span', { 'data-testid': 'persist-answer' }, persistAnswer === null ? '' : persistAnswer ? 'granted' : 'refused by the browser (it grants it to installed or often-used sites)')));
}

// ---------------------------------------------------------------- sync

let syncMessage = '';

function field(id: string, label: string, attributes: Record<string, string> = {}): { row: HTMLElement; input: HTMLInputElement } {
  const input = el('input', { id, name: id, autocomplete: 'off', spellcheck: 'false', ...attributes });
  return { row: el('p', { class: 'field' }, el('label', { for: id }, label), input), input };
}

/** The target described by the form; credentials go from the inputs to the object and are never stored. */
function targetOf(form: Record<string, HTMLInputElement>, kind: string): ObjectStore {
  if (kind === 'presigned') {
    const signer = form['signer']!.value;
    return new PresignedObjectStore({
      sign: async (request: PresignRequest): Promise<PresignedRequest> => {
        const response = await fetch(signer, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(request) });
        if (!response.ok) throw new Error(`The signer answered HTTP ${response.status}.`);
        return (await response.json()) as PresignedRequest;
      },
    });
  }
  return new S3ObjectStore({
    endpoint: form['endpoint']!.value,
    bucket: form['bucket']!.value,
    region: form['region']!.value || 'us-east-1',
    accessKeyId: form['access']!.value,
    secretAccessKey: form['secret']!.value,
  });
}

export function renderSync(root: HTMLElement, app: App): Promise<void> {
  heading(root, 'Sync (optional)', 'Push a snapshot of the whole store (groups, datasets, models, registry) to an S3-compatible bucket and pull it into another browser. Credentials stay in this form for one call: they are never stored.');
  root.append(el('p', { class: 'note' }, 'The page connects only to the endpoint or signer entered here: an HTTPS origin, or one on localhost for testing '
    + '(its Content-Security-Policy allows no other). The bucket must allow this origin in its CORS rules and expose the ETag header.'));
  const kind = el('select', { id: 'sync-kind', 'data-testid': 'sync-kind' },
    el('option', { value: 's3' }, 'S3 endpoint (SigV4 signed in the page)'), el('option', { value: 'presigned' }, 'presigned URLs from a signer'));
  const fields = {
    endpoint: field('endpoint', 'endpoint', { type: 'url', placeholder: 'https://s3.example.org' }),
    bucket: field('bucket', 'bucket'),
    region: field('region', 'region', { placeholder: 'us-east-1' }),
    access: field('access', 'access key id'),
    secret: field('secret', 'secret access key', { type: 'password' }),
    signer: field('signer', 'signer URL', { type: 'url', placeholder: '/api/sign' }),
    prefix: field('prefix', 'prefix in the bucket', { value: 'larder-demo' }),
  };
  const inputs = Object.fromEntries(Object.entries(fields).map(([k, f]) => [k, f.input]));
  const s3Rows = [fields.endpoint, fields.bucket, fields.region, fields.access, fields.secret].map((f) => f.row);
  const showKind = (): void => {
    for (const row of s3Rows) row.hidden = kind.value !== 's3';
    fields.signer.row.hidden = kind.value !== 'presigned';
  };
  kind.addEventListener('change', showKind);
  showKind();
  const overwrite = el('input', { id: 'overwrite', type: 'checkbox' });
  const act = (what: 'push' | 'pull') => () => {
    syncMessage = '';
    void app.run(`${what}ing…`, async () => {
      try {
        const target = targetOf(inputs, kind.value);
        const prefix = inputs['prefix']!.value;
        if (what === 'push') {
          const r = await app.store.sync.push({ target, prefix });
          syncMessage = r.pushed ? `pushed ${r.uploaded.objects} objects (${r.uploaded.bytes} bytes): manifest ${r.manifest}` : `nothing new: HEAD is ${r.manifest}`;
        } else {
          const r = await app.store.sync.pull({ target, prefix, overwrite: overwrite.checked });
          syncMessage = r.applied ? `pulled ${r.downloaded.objects} objects: manifest ${r.manifest}` : `already at ${r.manifest}`;
        }
      } catch (error) {
        syncMessage = messageOf(error);
      }
    });
  };
  const form = el('form', { 'data-testid': 'sync-form', class: 'sync-form' },
    el('p', { class: 'field' }, el('label', { for: 'sync-kind' }, 'target'), kind),
    ...Object.values(fields).map((f) => f.row),
    el('p', { class: 'field' }, el('label', { for: 'overwrite' }, 'pull over local changes'), overwrite),
    el('p', { class: 'toolbar buttons' }, button('Push', 'push', act('push'), 'go'), button('Pull', 'pull', act('pull'))),
  );
  form.addEventListener('submit', (event) => event.preventDefault());
  root.append(form, el('p', { 'data-testid': 'sync-result', 'aria-live': 'polite' }, syncMessage));
  return Promise.resolve();
}
