import { describe, expect, it } from 'vitest';
import type { Table } from 'apache-arrow';
import { MemoryObjectStore, openFeatureStore, type FeatureStore } from '../../src/index.ts';
import { BASE, DAY, SUBJECT, erasureRows, populateErasureStore } from '../support/erasure-data.ts';
import { holds, scanIndexedDb, scanOpfs } from '../support/erasure-scans.ts';
import { uniqueStoreName } from '../support/names.ts';

// The right-to-erasure drill: one subject (city 'Perth', its notes a canary string) in the offline store, the online
// store, training datasets, a pushed snapshot and a second device. After erase, push, purge and pull, nothing of it
// is left anywhere we can read — down to the bytes of the OPFS files — and the models trained on it are named.

const base = BASE;
const spec = { task: 'regression' as const, layers: [{ units: 4, activation: 'relu' as const }], optimizer: { name: 'adam' as const, learningRate: 0.02 }, seed: 1 };

const data = erasureRows();

const textOf = (table: Table): string => JSON.stringify(table.toArray().map((r: { toJSON(): unknown }) => r.toJSON()), (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v));

/** Everything of the subject one store still gives back through its API, as descriptions ([] when none). */
async function subjectHits(store: FeatureStore, canary: readonly string[]): Promise<string[]> {
  const hits: string[] = [];
  const weather = await store.getFeatureGroup('weather', 1);
  const look = (where: string, text: string): void => {
    if (canary.some((token) => text.includes(token))) hits.push(`canary in ${where}`);
    if (text.includes('"Perth"')) hits.push(`Perth in ${where}`);
  };
  look('read()', textOf(await weather.read()));
  for (const commit of await weather.commits()) look(`read({ asOfCommit: ${commit.commitId} })`, textOf(await weather.read({ asOfCommit: commit.commitId })));
  const [online] = await weather.getOnline([SUBJECT]);
  if (online!.status !== 'not_found') hits.push(`online row (${online!.status})`);
  look('statistics', JSON.stringify(await weather.statistics()));
  for (const definition of await store.listFeatureViews()) {
    const view = await store.getFeatureView(definition.name, definition.version);
    for (const record of await view.listTrainingDatasets()) {
      const data = await view.getTrainingDataset(record.version);
      const where = `${definition.name} dataset ${record.version}`;
      look(`${where} record`, JSON.stringify(record));
      for (const split of [data.train, data.test, data.validation]) if (split !== null && split !== undefined) look(where, textOf(split));
    }
  }
  return hits;
}

async function bucketHits(target: MemoryObjectStore, needle: readonly string[]): Promise<string[]> {
  const found = [];
  for (const o of await target.list('')) if (holds((await target.get(o.key))!.body, needle)) found.push(o.key);
  return found;
}

describe('right to erasure', () => {
  it('leaves no row, value or byte of a subject in either device, the bucket or any dataset, and names the models to retrain', async () => {
    const canary = data.notesOf('Perth');
    const control = data.notesOf('Seattle'); // what the scans must still find
    const [nameA, nameB] = [uniqueStoreName('erasure_a'), uniqueStoreName('erasure_b')];
    const a = await openFeatureStore({ name: nameA, persist: true });
    const b = await openFeatureStore({ name: nameB, persist: true });
    try {
      // A view trained on (its dataset holds Perth's keys), one whose dataset holds the notes themselves, and a
      // model trained on a dataset without Perth (an explicit spine): it must not be named.
      const { weather, rain, withSubject: withPerth, trainedWithSubject: trained, trainedWithout: other } = await populateErasureStore(a, data, spec);

      const target = new MemoryObjectStore();
      await a.sync.push({ target, prefix: 'drill' });
      await b.sync.pull({ target, prefix: 'drill' });
      // The subject is everywhere to begin with (else the drill proves nothing).
      for (const store of [a, b]) {
        const before = await subjectHits(store, canary);
        expect(before).toEqual(expect.arrayContaining(['canary in read()', 'online row (present)', 'canary in notes dataset 1', 'Perth in rain dataset 1']));
      }
      expect((await bucketHits(target, canary)).length).toBeGreaterThan(0);

      const erasure = await weather.erase([SUBJECT]);
      expect(erasure.commit).toMatchObject({ kind: 'delete', rowCount: 45 }); // Perth's 40 appended rows and 5 upserted ones
      expect(erasure.datasets.map((d) => `${d.view} v${d.viewVersion} #${d.version}`).sort()).toEqual(['notes v1 #1', 'rain v1 #1']);
      expect(erasure.datasets.every((d) => (d.rows ?? 0) > 0)).toBe(true);
      expect(erasure.models).toEqual([{ name: 'rain', version: trained.model!.version, view: 'rain', viewVersion: 1, trainingDataset: withPerth.dataset.version }]);
      expect(erasure.models.map((m) => m.version)).not.toContain(other.model!.version);
      expect((await weather.commits()).at(-1)).toEqual(erasure.commit);
      // The datasets' records follow their rows.
      const [record] = (await rain.listTrainingDatasets()).filter((d) => d.version === withPerth.dataset.version);
      const total = (r: typeof record) => r!.rowCounts.train + r!.rowCounts.test + r!.rowCounts.validation;
      expect(total(record)).toBe(total(withPerth.dataset as typeof record) - erasure.datasets.find((d) => d.view === 'rain')!.rows!);

      await a.sync.push({ target, prefix: 'drill' });
      await a.sync.purge({ target, prefix: 'drill', keep: 1, graceMs: 0 });
      await b.sync.pull({ target, prefix: 'drill' });

      expect(await subjectHits(a, canary)).toEqual([]);
      expect(await subjectHits(b, canary)).toEqual([]);
      expect(await bucketHits(target, canary)).toEqual([]);
      expect((await bucketHits(target, control)).length).toBeGreaterThan(0);
      // Other subjects are untouched.
      const kept = textOf(await (await b.getFeatureGroup('weather', 1)).read());
      expect(control.some((token) => kept.includes(token))).toBe(true);
    } finally {
      await a.close();
      await b.close();
    }

    // At rest: the stores closed (their files checkpointed and released), every byte the origin keeps.
    const opfs = await scanOpfs(canary);
    const ours = opfs.files.map((f) => f.path).filter((f) => f.includes(nameA) || f.includes(nameB));
    // Every file of both stores was read, the write-ahead logs included (none busy, none skipped): the logs held the
    // subject's rows past their end until the stores closed after the erasure.
    expect(opfs.busy.filter((f) => f.includes(nameA) || f.includes(nameB))).toEqual([]);
    expect(ours).toEqual(expect.arrayContaining([`larder-${nameA}.duckdb`, `larder-${nameA}.duckdb.wal`, `larder-${nameB}.duckdb`, `larder-${nameB}.duckdb.wal`]));
    // Nothing anywhere, the write-ahead logs included (emptied when a store closes after its checkpoint).
    expect(opfs.hits).toEqual([]);
    expect((await scanOpfs(control)).hits.filter((f) => f.includes(nameA) || f.includes(nameB)).length).toBeGreaterThan(0);
    expect(await scanIndexedDb(canary)).toEqual([]);

    // Both stores open again and take writes (a new log is created), the subject still absent.
    for (const name of [nameA, nameB]) {
      const store = await openFeatureStore({ name, persist: true });
      try {
        const weather = await store.getFeatureGroup('weather', 1);
        await weather.insert([{ city: 'Oslo', day: base + 100 * DAY, humidity: 0.5, note: 'after', rain: 2.5 }]);
        expect((await weather.read({ where: { city: 'Oslo' } })).numRows).toBe(41);
        expect(await subjectHits(store, canary)).toEqual([]);
      } finally {
        await store.close();
      }
    }
  });
});
