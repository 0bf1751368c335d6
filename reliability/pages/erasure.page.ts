// In-page half of the erasure drill (reliability/erasure.reliability.ts): one subject (city 'Perth', whose notes are
// the canary) in the offline store, the online store, training datasets, a model's lineage and a pushed snapshot;
// and the searches for anything of it left behind — through the API, in the raw OPFS bytes and in IndexedDB.
import type { Table } from 'apache-arrow';
import type * as Larder from '../../src/index.ts';
import { BASE, CITIES, DAY, SUBJECT, erasureRows } from '../../test/support/erasure-data.ts';
import { forEachIndexedDb, readOpfsFiles } from '../../test/support/origin-storage.ts';
import type { TargetSettings } from './push.page.ts';

interface DrillWindow {
  drillStore?: Larder.FeatureStore;
}

const SPEC = { task: 'regression' as const, layers: [{ units: 4, activation: 'relu' as const }], seed: 1 };

function store(): Larder.FeatureStore {
  const s = (window as DrillWindow).drillStore;
  if (s === undefined) throw new Error('the drill store is not open');
  return s;
}

function target(settings: TargetSettings): Larder.S3ObjectStore {
  return new window.larder.S3ObjectStore(settings);
}

const data = erasureRows();
const rows = data.rows;

const json = (value: unknown): string => JSON.stringify(value, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v));
const tableText = (table: Table): string => json(table.toArray().map((r: { toJSON(): unknown }) => r.toJSON()));

/**
 * Fills the store: the subject in an online group (appends and an upsert), two views with training datasets (one
 * holding the notes), a model trained on a dataset with the subject and one on a dataset without it; then pushes.
 * Returns the two model versions and the canary and control tokens.
 */
export async function populate({ settings }: { settings: TargetSettings }) {
  const s = store();
  const weather = await s.createFeatureGroup({
    name: 'weather', version: 1, primaryKey: 'city', eventTime: 'day', online: true,
    features: { city: 'string', day: 'timestamp', humidity: 'float64', note: 'string', rain: 'float64' },
  });
  await weather.insert(rows(0, 30));
  await weather.insert(rows(10, 5), { mode: 'upsert' });
  await weather.insert(rows(30, 10));
  const rain = await s.createFeatureView({ name: 'rain', version: 1, query: weather.select(['humidity']), labels: ['rain'] });
  const notes = await s.createFeatureView({ name: 'notes', version: 1, query: weather.select(['humidity', 'note']), labels: ['rain'] });
  const withSubject = await rain.trainingData({ split: { kind: 'random', test: 0.2, seed: 1 } });
  await withSubject.persisted;
  const spine = Array.from({ length: 40 }, (_, d) => CITIES.map((city, i) => ({ city, day: BASE + d * DAY, rain: 3 * (((d * 7 + i * 3) % 10) / 10) + 1 }))).flat().filter((r) => r.city !== 'Perth')
  const withoutSubject = await rain.trainingData({ spine, split: { kind: 'random', test: 0.2, seed: 1 } });
  await withoutSubject.persisted;
  await (await notes.trainingData({ split: { kind: 'random', test: 0.2, seed: 2 } })).persisted;
  const trained = await s.train({ featureView: rain, trainingDataset: withSubject.dataset.version, model: { name: 'rain', spec: SPEC }, fit: { epochs: 1 } });
  const other = await s.train({ featureView: rain, trainingDataset: withoutSubject.dataset.version, model: { name: 'rain', spec: SPEC }, fit: { epochs: 1 } });
  await s.sync.push({ target: target(settings), prefix: '' });
  return { trainedWithSubject: trained.model!.version, trainedWithout: other.model!.version, canary: data.notesOf('Perth'), control: data.notesOf('Seattle') };
}

export async function pull({ settings }: { settings: TargetSettings }): Promise<void> {
  await store().sync.pull({ target: target(settings), prefix: '' });
}

/** Erases the subject, pushes and purges every older snapshot. Returns the models lineage names for retraining. */
export async function eraseAndPush({ settings }: { settings: TargetSettings }) {
  const s = store();
  const weather = await s.getFeatureGroup('weather', 1);
  const report = await weather.erase([SUBJECT]);
  await s.sync.push({ target: target(settings), prefix: '' });
  await s.sync.purge({ target: target(settings), prefix: '', keep: 1, graceMs: 0 });
  return {
    erasedRows: report.commit.rowCount,
    datasets: report.datasets.map((d) => ({ view: d.view, version: d.version, rows: d.rows })),
    models: report.models.map((m) => ({ name: m.name, version: m.version })),
  };
}

/** Everything of the subject the store still gives back through its API (descriptions; [] when none). */
export async function apiHits({ canary }: { canary: string[] }): Promise<string[]> {
  const s = store();
  const hits: string[] = [];
  const look = (where: string, text: string): void => {
    if (canary.some((token) => text.includes(token))) hits.push(`canary in ${where}`);
    if (text.includes('"Perth"')) hits.push(`Perth in ${where}`);
  };
  const weather = await s.getFeatureGroup('weather', 1);
  look('read()', tableText(await weather.read()));
  for (const c of await weather.commits()) look(`read({ asOfCommit: ${c.commitId} })`, tableText(await weather.read({ asOfCommit: c.commitId })));
  const [online] = await weather.getOnline([SUBJECT]);
  if (online!.status !== 'not_found') hits.push(`online row (${online!.status})`);
  look('statistics', json(await weather.statistics()));
  for (const definition of await s.listFeatureViews()) {
    const view = await s.getFeatureView(definition.name, definition.version);
    for (const record of await view.listTrainingDatasets()) {
      const data = await view.getTrainingDataset(record.version);
      const where = `${definition.name} dataset ${record.version}`;
      look(`${where} record`, json(record));
      for (const split of [data.train, data.test, data.validation]) if (split !== null && split !== undefined) look(where, tableText(split));
    }
    const vector = await view.getFeatureVector(SUBJECT).catch(() => null);
    if (vector !== null && vector.statuses.some((st) => st === 'present')) hits.push(`${definition.name} feature vector present`);
  }
  return hits;
}

function holds(haystack: Uint8Array, texts: readonly string[]): boolean {
  return texts.some((text) => holdsOne(haystack, text));
}

function holdsOne(haystack: Uint8Array, text: string): boolean {
  const utf8 = new TextEncoder().encode(text);
  const utf16 = new Uint8Array(text.length * 2);
  for (let i = 0; i < text.length; i++) utf16[i * 2] = text.charCodeAt(i);
  return [utf8, utf16].some((needle) => {
    outer: for (let i = haystack.indexOf(needle[0]!); i >= 0 && i <= haystack.length - needle.length; i = haystack.indexOf(needle[0]!, i + 1)) {
      for (let j = 1; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
      return true;
    }
    return false;
  });
}

/** With the store closed: which OPFS files (WAL files included) and IndexedDB object stores hold `needle`. */
export async function rawHits({ needle }: { needle: string[] }) {
  const opfs: string[] = [];
  const files: string[] = [];
  const busy: string[] = [];
  for (const { path, bytes } of await readOpfsFiles()) {
    if (bytes === null) {
      busy.push(path);
      continue;
    }
    files.push(`${path} (${bytes.length} bytes)`);
    if (holds(bytes, needle)) opfs.push(path);
  }
  const indexedDb: string[] = [];
  await forEachIndexedDb(async (name, db) => {
    for (const storeName of [...db.objectStoreNames]) {
      const request = db.transaction(storeName, 'readonly').objectStore(storeName).getAll();
      const values = await new Promise<unknown[]>((resolve, reject) => {
        request.onsuccess = () => resolve(request.result as unknown[]);
        request.onerror = () => reject(request.error ?? new Error(`cannot read ${name}/${storeName}`));
      });
      const text = JSON.stringify(values, (_, v: unknown) =>
        typeof v === 'bigint' ? String(v) : v instanceof ArrayBuffer || ArrayBuffer.isView(v) ? new TextDecoder('latin1').decode(v) : v);
      if (needle.some((n) => text.includes(n))) indexedDb.push(`${name}/${storeName}`);
    }
  });
  return { opfs, indexedDb, files, busy };
}
