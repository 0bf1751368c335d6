// In-page half of the push-kill drill (reliability/push-kill.reliability.ts): batches of rows, pushes to and pulls
// from an S3-compatible server, and a summary of what a store holds that two stores can be compared by.
import type * as Larder from '../../src/index.ts';

interface DrillWindow {
  drillStore?: Larder.FeatureStore;
}

export interface TargetSettings {
  endpoint: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  prefix: string;
}

const DAY = 86_400_000;
const BASE = Date.UTC(2024, 0, 1);

function store(): Larder.FeatureStore {
  const s = (window as DrillWindow).drillStore;
  if (s === undefined) throw new Error('the drill store is not open');
  return s;
}

function target(settings: TargetSettings): Larder.S3ObjectStore {
  return new window.larder.S3ObjectStore(settings);
}

/** Creates the drill's group in the open store. */
export async function setup(): Promise<void> {
  const s = store();
  await s.createFeatureGroup({
    name: 'events', version: 1, primaryKey: 'id', eventTime: 'ts',
    features: { id: 'int64', ts: 'timestamp', value: 'float64', label: 'string' },
  });
}

/** Rows of batch b: ids b·rows … (b+1)·rows − 1. Every fifth batch is an upsert over the previous batch's rows. */
export async function insertBatch({ batch, rows }: { batch: number; rows: number }): Promise<number> {
  const group = await store().getFeatureGroup('events', 1);
  const upsert = batch > 0 && batch % 5 === 0;
  const from = upsert ? (batch - 1) * rows : batch * rows;
  const data = Array.from({ length: rows }, (_, i) => {
    const id = from + i;
    return { id, ts: BASE + (id % 1000) * DAY, value: id / 8 + batch, label: `b${batch}r${id}` };
  });
  return (await group.insert(data, { batchId: `batch-${batch}`, mode: upsert ? 'upsert' : 'append' })).commitId;
}

export async function push({ settings }: { settings: TargetSettings }): Promise<{ pushed: boolean; manifest: string; reused: number }> {
  const r = await store().sync.push({ target: target(settings), prefix: '' });
  return { pushed: r.pushed, manifest: r.manifest, reused: r.reused.objects };
}

export async function pull({ settings }: { settings: TargetSettings }): Promise<void> {
  await store().sync.pull({ target: target(settings), prefix: '' });
}

export interface StoreSummary {
  commits: [number, string, number, string | null][];
  rows: number;
  idSum: string;
  valueSum: number;
  labelChars: number;
  history: number[];
}

/** The group's ledger, its current rows summed column by column, and its row count as of every commit. */
export async function summary(): Promise<StoreSummary> {
  const group = await store().getFeatureGroup('events', 1);
  const commits = await group.commits();
  const table = await group.read();
  let idSum = 0n;
  let valueSum = 0;
  let labelChars = 0;
  const ids = table.getChild('id')!.toArray() as BigInt64Array;
  const values = table.getChild('value')!.toArray() as Float64Array;
  const labels = table.getChild('label')!.toArray() as string[];
  for (let i = 0; i < table.numRows; i++) {
    idSum += ids[i]!;
    valueSum += values[i]!;
    labelChars += labels[i]!.length;
  }
  const history: number[] = [];
  for (const c of commits) history.push((await group.read({ asOfCommit: c.commitId, columns: ['id'] })).numRows);
  return { commits: commits.map((c) => [c.commitId, c.kind, c.rowCount, c.batchId]), rows: table.numRows, idSum: String(idSum), valueSum, labelChars, history };
}
