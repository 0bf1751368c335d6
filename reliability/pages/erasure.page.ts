// In-page half of the erasure drill (reliability/erasure.reliability.ts): one subject (city 'Perth', whose notes are
// the canary) in the offline store, the online store, training datasets, a model's lineage and a pushed snapshot;
// and the searches for anything of it left behind — through the API, in the raw OPFS bytes and in IndexedDB.
import type { Table } from 'apache-arrow';
import type * as Larder from '../../src/index.ts';
import { SUBJECT, erasureRows, populateErasureStore } from '../../test/support/erasure-data.ts';
import { scanIndexedDb, scanOpfs } from '../../test/support/erasure-scans.ts';
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

const json = (value: unknown): string => JSON.stringify(value, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v));
const tableText = (table: Table): string => json(table.toArray().map((r: { toJSON(): unknown }) => r.toJSON()));

/**
 * Fills the store with the erasure scenario ({@link populateErasureStore}: the subject in an online group, two views
 * with training datasets, a model trained on a dataset with the subject and one on a dataset without it); then
 * pushes. Returns the two model versions and the canary and control tokens.
 */
export async function populate({ settings }: { settings: TargetSettings }) {
  const s = store();
  const { trainedWithSubject, trainedWithout } = await populateErasureStore(s, data, SPEC);
  await s.sync.push({ target: target(settings), prefix: '' });
  return { trainedWithSubject: trainedWithSubject.model!.version, trainedWithout: trainedWithout.model!.version, canary: data.notesOf('Perth'), control: data.notesOf('Seattle') };
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

/** With the store closed: which OPFS files (WAL files included) and IndexedDB object stores hold `needle`. */
export async function rawHits({ needle }: { needle: string[] }) {
  const opfs = await scanOpfs(needle);
  const indexedDb = await scanIndexedDb(needle);
  return { opfs: opfs.hits, indexedDb, files: opfs.files.map((f) => `${f.path} (${f.size} bytes)`), busy: opfs.busy };
}
