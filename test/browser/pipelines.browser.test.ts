import { afterEach, describe, expect, inject, it } from 'vitest';
import {
  OperationAbortedError, PipelineRunError, expect as expectation, openFeatureStore, type FeatureGroup, type FeatureStore, type PipelineProgress, type PipelineRunRecord,
} from '../../src/index.ts';
import {
  HOUR, expectedFeatures, featuresSpec, makeReadings, readingsSpec, streamedReading, type Reading, type SensorFeatures,
} from '../support/pipelines/sensors.ts';
import { uniqueStoreName } from '../support/names.ts';
import { markServiceWorkerDue } from '../../src/pipelines/background-sync.ts';

const rolling = (): Worker => new Worker(new URL('../support/pipelines/rolling.pipeline.ts', import.meta.url), { type: 'module' });

const DAY = 24 * HOUR;
const FROM = Date.UTC(2024, 0, 1);

const opened: FeatureStore[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
});

async function setup(options: { featureVersions?: number[] } = {}) {
  const store = await openFeatureStore({ name: uniqueStoreName('pipelines'), persist: false });
  opened.push(store);
  const readings = await store.createFeatureGroup(readingsSpec());
  const features: FeatureGroup[] = [];
  for (const version of options.featureVersions ?? [1]) features.push(await store.createFeatureGroup(featuresSpec(version)));
  await store.createFeatureGroup({ name: 'switches', version: 1, primaryKey: 'id', eventTime: 'ts', features: { id: 'int32', ts: 'timestamp' } });
  return { store, readings, features };
}

async function featureRows(group: FeatureGroup): Promise<SensorFeatures[]> {
  const table = await group.read();
  const column = (name: string) => table.getChild(name)!;
  return Array.from({ length: table.numRows }, (_, i) => ({
    sensor: column('sensor').get(i) as string,
    ts: column('ts').get(i) as number,
    sum_1h: column('sum_1h').get(i) as number,
    count_1h: column('count_1h').get(i) as number,
    max_1h: column('max_1h').get(i) as number,
  }));
}

/** Same rows in the same order; sums compared to 1e-9 (the pipeline slides its window, the oracle sums afresh). */
function expectSameFeatures(actual: SensorFeatures[], expected: SensorFeatures[]): void {
  expect(actual.map((r) => [r.sensor, r.ts, r.count_1h, r.max_1h])).toEqual(expected.map((r) => [r.sensor, r.ts, r.count_1h, r.max_1h]));
  actual.forEach((r, i) => expect(r.sum_1h).toBeCloseTo(expected[i]!.sum_1h, 9));
}

async function register(store: FeatureStore, name: string, options: { version?: number; chunk?: string } = {}) {
  return store.pipelines.register({
    name, module: rolling,
    inputs: [{ name: 'readings', version: 1 }],
    outputs: [{ name: 'sensor_features', version: options.version ?? 1 }],
    ...(options.chunk === undefined ? {} : { chunk: options.chunk }),
  });
}

async function rejection(promise: Promise<unknown>): Promise<Error & { code?: string; details?: { run?: PipelineRunRecord } }> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

describe('feature pipelines', () => {
  it('computes rolling features from raw rows equal to a naive computation, in a worker, with a full run record', async () => {
    const { store, readings, features } = await setup();
    const raw = makeReadings({ sensors: 3, perSensor: 150, from: FROM, spanMs: 3 * DAY, seed: 1 });
    const commit = await readings.insert(raw);
    await register(store, 'rolling');
    const progress: PipelineProgress[] = [];
    const logs: string[] = [];
    const run = await store.pipelines.run('rolling', {
      start: FROM, end: FROM + 3 * DAY, onProgress: (p) => progress.push(p), onLog: (e) => logs.push(e.message),
    });
    expectSameFeatures(await featureRows(features[0]!), expectedFeatures(raw));
    expect(run).toMatchObject({
      pipeline: 'rolling', status: 'succeeded', mode: 'window', trigger: 'manual', window: { start: FROM, end: FROM + 3 * DAY },
      inputs: [{ group: 'readings', version: 1, afterCommit: 0, throughCommit: commit.commitId }], error: null, resumeOf: null,
    });
    const commits = await features[0]!.commits();
    expect(run.outputs).toEqual([{ group: 'sensor_features', version: 1, rows: 450, commitIds: commits.map((c) => c.commitId), validation: [] }]);
    expect(run.chunks).toEqual([{ index: 0, start: FROM, end: FROM + 3 * DAY, status: 'committed', commitIds: [commits[0]!.commitId], rows: 450 }]);
    expect(commits.map((c) => [c.kind, c.rowCount])).toEqual([['upsert', 450]]);
    expect(run.durationMs).toBe(run.endedAt! - run.startedAt);
    expect(logs).toEqual(['chunk 0: 450 rows']);
    expect(run.logs.map((l) => l.message)).toEqual(logs);
    expect(progress.map((p) => p.phase)).toEqual(['running', 'running', 'running', 'running', 'committed']);
    expect(progress.at(-1)).toMatchObject({ runId: run.id, chunk: 0, chunks: 1, rowsWritten: 450 });
    expect(await store.pipelines.runs('ROLLING')).toEqual([run]);
  });

  it('gives the same rows from a backfill in chunks as from one full run, one commit per chunk', async () => {
    const { store, readings, features } = await setup({ featureVersions: [1, 2] });
    const raw = makeReadings({ sensors: 4, perSensor: 120, from: FROM, spanMs: 2 * DAY, seed: 2 });
    await readings.insert(raw);
    await register(store, 'full', { version: 1 });
    await register(store, 'chunked', { version: 2, chunk: '5h' });
    await store.pipelines.run('full', { start: FROM, end: FROM + 2 * DAY });
    const backfill = await store.pipelines.run('chunked', { start: FROM, end: FROM + 2 * DAY });
    const full = await featureRows(features[0]!);
    expect(await featureRows(features[1]!)).toEqual(full);
    expectSameFeatures(full, expectedFeatures(raw));
    expect(backfill.chunkMs).toBe(5 * HOUR);
    expect(backfill.chunks.map((c) => [c.start, c.end])).toEqual(
      Array.from({ length: 10 }, (_, i) => [FROM + i * 5 * HOUR, Math.min(FROM + 2 * DAY, FROM + (i + 1) * 5 * HOUR)]),
    );
    const commits = await features[1]!.commits();
    expect(commits).toHaveLength(10);
    expect(backfill.chunks.map((c) => c.commitIds[0])).toEqual(commits.map((c) => c.commitId));
    expect(backfill.chunks.reduce((sum, c) => sum + c.rows, 0)).toBe(raw.length);
  });

  it('incremental runs pick up only new data, late-arriving rows included', async () => {
    const { store, readings, features } = await setup();
    const T1 = FROM + DAY;
    const T2 = FROM + 2 * DAY;
    const early = makeReadings({ sensors: 3, perSensor: 100, from: FROM, spanMs: DAY, seed: 3 });
    await readings.insert(early);
    await register(store, 'rolling');
    const first = await store.pipelines.run('rolling', { end: T1 });
    expect(first.window).toEqual({ start: null, end: T1 });
    // New readings after T1, and late ones: event times before T1, committed after the first run.
    const fresh = makeReadings({ sensors: 3, perSensor: 100, from: T1, spanMs: DAY, seed: 4 });
    const late = makeReadings({ sensors: 3, perSensor: 10, from: T1 - 2 * HOUR, spanMs: 2 * HOUR, seed: 16 })
      .filter((r) => !early.some((e) => e.sensor === r.sensor && e.ts === r.ts));
    await readings.insert(fresh);
    const lateCommit = await readings.insert(late);
    const second = await store.pipelines.run('rolling', { mode: 'incremental', end: T2 });
    const all = [...early, ...fresh, ...late];
    expectSameFeatures(await featureRows(features[0]!), expectedFeatures(all));
    expect(second.window).toEqual({ start: T1, end: T2 });
    expect(second.inputs).toEqual([{ group: 'readings', version: 1, afterCommit: first.inputs[0]!.throughCommit, throughCommit: lateCommit.commitId }]);
    // Only what changed was recomputed: the readings from the earliest late one on.
    const earliestLate = Math.min(...late.map((r) => r.ts));
    expect(second.outputs[0]!.rows).toBe(all.filter((r) => r.ts >= earliestLate).length);
    expect(second.outputs[0]!.rows).toBeLessThan(all.length);
    // Nothing new: an incremental run finds no changes and rewrites nothing before its window.
    const third = await store.pipelines.run('rolling', { mode: 'incremental', end: T2 + HOUR });
    expect(third.window).toEqual({ start: T2, end: T2 + HOUR });
    expect(third.inputs[0]!.afterCommit).toBe(lateCommit.commitId);
    expect(third.outputs[0]!.rows).toBe(0);
  });

  it('records a failed chunk with its error and no partial commit; resume skips the committed chunks', async () => {
    const { store, readings, features } = await setup();
    const raw = makeReadings({ sensors: 2, perSensor: 80, from: FROM, spanMs: DAY, seed: 6 });
    await readings.insert(raw);
    await register(store, 'rolling', { chunk: '6h' });
    const error = await rejection(store.pipelines.run('rolling', { start: FROM, end: FROM + DAY, params: { failAtChunk: 2 } }));
    expect(error).toBeInstanceOf(PipelineRunError);
    expect(error.code).toBe('PIPELINE_FAILED');
    const failed = error.details!.run!;
    expect(failed.status).toBe('failed');
    expect(failed.error).toEqual({ name: 'Error', code: null, message: 'planned failure in chunk 2' });
    expect(failed.chunks.map((c) => [c.index, c.status])).toEqual([[0, 'committed'], [1, 'committed']]);
    expect(await store.pipelines.runs('rolling')).toEqual([failed]);
    const afterFailure = await features[0]!.commits();
    expect(afterFailure.map((c) => c.commitId)).toEqual(failed.chunks.map((c) => c.commitIds[0]));
    expect(await featureRows(features[0]!)).toEqual(expectedFeatures(raw).filter((r) => r.ts < FROM + 12 * HOUR).map((r) => expect.objectContaining({ sensor: r.sensor, ts: r.ts }) as SensorFeatures));

    await (await store.getFeatureGroup('switches', 1)).insert([{ id: 1, ts: 0 }]);
    const resumed = await store.pipelines.resume(failed.id);
    expect(resumed).toMatchObject({ status: 'succeeded', trigger: 'resume', resumeOf: failed.id, window: failed.window, params: { failAtChunk: 2 } });
    expect(resumed.chunks.map((c) => [c.index, c.status])).toEqual([[0, 'skipped'], [1, 'skipped'], [2, 'committed'], [3, 'committed']]);
    expect(resumed.chunks.slice(0, 2).map((c) => c.commitIds)).toEqual(failed.chunks.map((c) => c.commitIds));
    const commits = await features[0]!.commits();
    expect(commits).toHaveLength(4);
    expect(commits.slice(0, 2)).toEqual(afterFailure);
    expect(resumed.outputs).toEqual([{ group: 'sensor_features', version: 1, rows: raw.length, commitIds: commits.map((c) => c.commitId), validation: [] }]);
    expect(resumed.chunkCount).toBe(4);
    expectSameFeatures(await featureRows(features[0]!), expectedFeatures(raw));
    await expect(store.pipelines.resume(resumed.id)).rejects.toThrow(/only failed or aborted runs/);
  });

  it('records the validation report of every commit of an output with an expectation suite', async () => {
    const { store, readings } = await setup();
    // Five readings in ten minutes (counts up to 5), then two far apart in the next hour (counts 1 and 2).
    const minutes = [0, 2, 4, 6, 8, 90, 110];
    await readings.insert(minutes.map((m, i) => ({ sensor: 's0', ts: FROM + m * 60_000, value: i })));
    const checked = await store.createFeatureGroup({
      ...featuresSpec(3), expectations: { policy: 'warn', expectations: [expectation.between('count_1h', 1, 3)] },
    });
    await store.pipelines.register({ name: 'checked', module: rolling, inputs: [readings], outputs: [checked], chunk: '1h' });
    const run = await store.pipelines.run('checked', { start: FROM, end: FROM + 2 * HOUR });
    const commits = await checked.commits();
    expect(run.outputs[0]!.validation).toHaveLength(2);
    expect(run.outputs[0]!.validation).toEqual(commits.map((c) => c.validation));
    // Independently: which chunks hold a reading with more than 3 readings in its hour.
    const rows = await featureRows(checked);
    const failing = [0, 1].map((i) => rows.some((r) => r.ts >= FROM + i * HOUR && r.ts < FROM + (i + 1) * HOUR && r.count_1h > 3));
    expect(failing).toEqual([true, false]);
    expect(run.outputs[0]!.validation.map((v) => v.success)).toEqual([false, true]);
  });

  it('commits nothing of a chunk whose rows fail validation, and records the typed error', async () => {
    const { store, readings, features } = await setup();
    await readings.insert(makeReadings({ sensors: 1, perSensor: 10, from: FROM, spanMs: HOUR, seed: 7 }));
    await register(store, 'rolling');
    const error = await rejection(store.pipelines.run('rolling', { start: FROM, end: FROM + HOUR, params: { writeBadValue: true } }));
    expect(error).toBeInstanceOf(PipelineRunError);
    expect(error.details!.run!.error).toMatchObject({ name: 'ValidationError', code: 'VALIDATION_FAILED' });
    expect(error.details!.run!.chunks).toEqual([]);
    expect(await features[0]!.commits()).toEqual([]);
  });

  it('aborts through the signal: recorded as aborted, nothing of the chunk committed', async () => {
    const { store, readings, features } = await setup();
    await readings.insert(makeReadings({ sensors: 1, perSensor: 10, from: FROM, spanMs: HOUR, seed: 8 }));
    await register(store, 'rolling');
    const controller = new AbortController();
    const running = store.pipelines.run('rolling', {
      start: FROM, end: FROM + HOUR, params: { delayMs: 400 }, signal: controller.signal,
      onProgress: (p) => p.phase === 'running' && controller.abort(),
    });
    const error = await rejection(running);
    expect(error).toBeInstanceOf(OperationAbortedError);
    expect(error.details!.run!.status).toBe('aborted');
    expect((await store.pipelines.runs('rolling'))[0]!.status).toBe('aborted');
    expect(await features[0]!.commits()).toEqual([]);
  });

  it('aborts a run still waiting for the pipeline\'s lock without recording it, and close() stops running and queued runs', async () => {
    const { store, readings } = await setup();
    await readings.insert(makeReadings({ sensors: 1, perSensor: 10, from: FROM, spanMs: HOUR, seed: 12 }));
    await register(store, 'rolling');
    const first = store.pipelines.run('rolling', { start: FROM, end: FROM + HOUR, params: { delayMs: 600 } });
    const controller = new AbortController();
    const queued = store.pipelines.run('rolling', { start: FROM, end: FROM + HOUR, signal: controller.signal });
    await new Promise((resolve) => setTimeout(resolve, 100));
    controller.abort();
    const error = await rejection(queued);
    expect(error).toBeInstanceOf(OperationAbortedError);
    expect(error.message).toMatch(/waited/);
    expect((await first).status).toBe('succeeded');
    expect((await store.pipelines.runs('rolling')).map((r) => r.status)).toEqual(['succeeded']);

    const running = rejection(store.pipelines.run('rolling', { start: FROM, end: FROM + HOUR, params: { delayMs: 1000 } }));
    const waiting = rejection(store.pipelines.run('rolling', { start: FROM, end: FROM + HOUR }));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const runs = await store.pipelines.runs('rolling');
    await store.close();
    expect(await running).toBeInstanceOf(OperationAbortedError);
    expect(await waiting).toBeInstanceOf(OperationAbortedError);
    expect(runs.map((r) => r.status)).toEqual(['succeeded', 'running']);
    await expect(store.pipelines.run('rolling')).rejects.toMatchObject({ code: 'STORE_CLOSED' });
  });

  it('fails with a recorded error when the module cannot be loaded, and refuses unknown outputs at registration', async () => {
    const { store } = await setup();
    await store.pipelines.register({ name: 'broken', module: '/no/such/module.js', outputs: [{ name: 'sensor_features', version: 1 }] });
    const error = await rejection(store.pipelines.run('broken', { start: FROM, end: FROM + HOUR }));
    expect(error).toBeInstanceOf(PipelineRunError);
    expect((await store.pipelines.runs('broken'))[0]).toMatchObject({ status: 'failed', error: { name: 'PipelineRunError' } });
    await expect(store.pipelines.register({ name: 'x', module: rolling, outputs: [{ name: 'nope', version: 1 }] })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(store.pipelines.register({ name: 'x', module: rolling, outputs: [] })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(store.pipelines.run('unknown')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('feature pipelines with several outputs', () => {
  it('commits a chunk to every output at once, or to none when one batch fails', async () => {
    const { store, readings, features } = await setup();
    await readings.insert(makeReadings({ sensors: 2, perSensor: 20, from: FROM, spanMs: 2 * HOUR, seed: 16 }));
    const switches = await store.getFeatureGroup('switches', 1);
    await store.pipelines.register({
      name: 'two', module: rolling, inputs: [readings], outputs: [features[0]!, switches], chunk: '1h',
    });
    const error = await rejection(store.pipelines.run('two', { start: FROM, end: FROM + 2 * HOUR, params: { alsoWriteSwitch: 'invalid' } }));
    expect(error.details!.run!.error).toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(await features[0]!.commits()).toEqual([]);
    expect(await switches.commits()).toEqual([]);

    const run = await store.pipelines.run('two', { start: FROM, end: FROM + 2 * HOUR, params: { alsoWriteSwitch: 'valid' } });
    const [featureCommits, switchCommits] = [await features[0]!.commits(), await switches.commits()];
    expect(run.chunks.map((c) => c.commitIds)).toEqual([0, 1].map((i) => [featureCommits[i]!.commitId, switchCommits[i]!.commitId]));
    expect(run.outputs.map((o) => [o.group, o.rows])).toEqual([['sensor_features', 40], ['switches', 2]]);
    expect(switchCommits.map((c) => c.batchId)).toEqual(featureCommits.map((c) => c.batchId));
  });
});

describe('stream pipelines', () => {
  async function streamSetup() {
    const { store, readings } = await setup();
    await store.pipelines.register({ name: 'ingest', module: rolling, outputs: [readings] });
    return { store, readings };
  }

  async function streamedRows(readings: FeatureGroup): Promise<Reading[]> {
    const table = await readings.read();
    return Array.from({ length: table.numRows }, (_, i) => ({
      sensor: table.getChild('sensor')!.get(i) as string, ts: table.getChild('ts')!.get(i) as number, value: table.getChild('value')!.get(i) as number,
    }));
  }

  const expected = (n: number) => Array.from({ length: n }, (_, i) => streamedReading(i));

  for (const kind of ['async iterable', 'ReadableStream'] as const) {
    it(`reads a slow-committing ${kind} only as fast as micro-batches commit (backpressure), one commit each`, async () => {
      const { store, readings } = await streamSetup();
      const total = 600;
      let produced = 0;
      async function* events() {
        for (let i = 0; i < total; i++) {
          await Promise.resolve(); // always ready: only the consumer sets the pace
          produced++;
          yield streamedReading(i);
        }
      }
      let index = 0;
      const source = kind === 'async iterable'
        ? events()
        : new ReadableStream({
          pull(controller) {
            if (index === total) controller.close();
            else {
              produced++;
              controller.enqueue(streamedReading(index++));
            }
          },
        }, { highWaterMark: 4 });
      const ahead: number[] = [];
      const run = await store.pipelines.stream('ingest', source, {
        maxRows: 25, maxWaitMs: 5_000, highWaterMark: 4, params: { delayMs: 30 },
        onProgress: (p) => p.phase === 'committed' && ahead.push(produced - p.rowsWritten),
      });
      expect(run).toMatchObject({ status: 'succeeded', mode: 'stream', window: null });
      expect(run.chunks).toHaveLength(total / 25);
      expect(run.chunks.every((c) => c.rows === 25 && c.start === null)).toBe(true);
      expect(await readings.commits()).toHaveLength(total / 25);
      expect(await streamedRows(readings)).toEqual(expected(total));
      // Never more than a few micro-batches ahead of what is committed (an unbounded reader would be 575 ahead).
      expect(ahead).toHaveLength(total / 25);
      expect(Math.max(...ahead)).toBeLessThanOrEqual(2 * 25 + 4 + 4 + 2);
    });
  }

  it('consumes a WebSocket in micro-batches until it closes cleanly', async () => {
    const { store, readings } = await streamSetup();
    const socket = new WebSocket(`ws://127.0.0.1:${inject('wsPort')}/?count=500`);
    const run = await store.pipelines.stream('ingest', socket, { maxRows: 100, maxWaitMs: 10_000 });
    expect(run.status).toBe('succeeded');
    expect(run.chunks.map((c) => c.rows)).toEqual([100, 100, 100, 100, 100]);
    expect(await streamedRows(readings)).toEqual(expected(500));
  });

  it('fails a WebSocket stream that closes uncleanly, keeping only whole micro-batches', async () => {
    const { store, readings } = await streamSetup();
    const socket = new WebSocket(`ws://127.0.0.1:${inject('wsPort')}/?count=250&close=unclean`);
    const error = await rejection(store.pipelines.stream('ingest', socket, { maxRows: 100, maxWaitMs: 10_000 }));
    expect(error).toBeInstanceOf(PipelineRunError);
    const run = error.details!.run!;
    expect(run.status).toBe('failed');
    expect(run.error!.message).toMatch(/1006/);
    // Two whole micro-batches committed; the 50 events of the third were in flight when the connection broke.
    expect(run.chunks.map((c) => c.rows)).toEqual([100, 100]);
    expect(await streamedRows(readings)).toEqual(expected(200));
  });

  it('fails with StreamOverflowError when a push source outruns a slow pipeline beyond maxBuffered', async () => {
    const { store } = await streamSetup();
    const socket = new WebSocket(`ws://127.0.0.1:${inject('wsPort')}/?count=3000`);
    const error = await rejection(store.pipelines.stream('ingest', socket, { maxRows: 10, maxWaitMs: 10_000, maxBuffered: 100, params: { delayMs: 300 } }));
    expect(error).toBeInstanceOf(PipelineRunError);
    expect(error.details!.run!.error).toMatchObject({ name: 'StreamOverflowError', code: 'STREAM_OVERFLOW' });
    expect(socket.readyState).toBeGreaterThanOrEqual(WebSocket.CLOSING);
  });

  it('consumes an EventSource until the server ends it', async () => {
    const { store, readings } = await streamSetup();
    const events = new EventSource(`http://127.0.0.1:${inject('ssePort')}/events?count=300`);
    const run = await store.pipelines.stream('ingest', events, { maxRows: 1000, maxWaitMs: 200 });
    expect(run.status).toBe('succeeded');
    expect(await streamedRows(readings)).toEqual(expected(300));
    expect(events.readyState).toBe(EventSource.CLOSED);
  });
});

describe('scheduled pipelines', () => {
  /** Resolves once `count` runs have ended (as subscribers see them), failing after `timeoutMs`. */
  function collectRuns(store: FeatureStore, count: number, timeoutMs = 30_000): Promise<PipelineRunRecord[]> {
    const runs: PipelineRunRecord[] = [];
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${runs.length} of ${count} runs ended`)), timeoutMs);
      const stop = store.pipelines.subscribe((run) => {
        runs.push(run);
        if (runs.length === count) {
          clearTimeout(timer);
          stop();
          resolve(runs);
        }
      });
    });
  }

  it('runs at its interval, incrementally, never overlapping itself, manual runs included', async () => {
    const { store, readings } = await setup();
    await readings.insert(makeReadings({ sensors: 2, perSensor: 20, from: FROM, spanMs: DAY, seed: 10 }));
    const everyMs = 300;
    const ended = collectRuns(store, 6);
    await store.pipelines.register({
      name: 'rolling', module: rolling, inputs: [readings], outputs: [{ name: 'sensor_features', version: 1 }],
      schedule: { every: everyMs / 1000, params: { delayMs: 450 } }, // each run takes longer than the interval
    });
    // A manual run while scheduled ones are due waits for the pipeline's lock instead of overlapping.
    const manual = store.pipelines.run('rolling', { mode: 'incremental', params: { delayMs: 450 } });
    const runs = await ended;
    await manual;
    await store.pipelines.register({ name: 'rolling', module: rolling, inputs: [readings], outputs: [{ name: 'sensor_features', version: 1 }] });
    const history = await store.pipelines.runs('rolling');
    expect(history.length).toBeGreaterThanOrEqual(6);
    expect(history.every((r) => r.status === 'succeeded')).toBe(true);
    for (let i = 1; i < history.length; i++) {
      expect(history[i]!.startedAt).toBeGreaterThanOrEqual(history[i - 1]!.endedAt!); // never overlapping
      expect(history[i]!.window!.start).toBe(history[i - 1]!.window!.end); // each continues where the last ended
    }
    const triggers = new Set(runs.map((r) => r.trigger));
    expect(triggers).toEqual(new Set(['schedule', 'manual']));
    // Scheduled runs start on the interval's ticks: never closer together than the interval.
    const scheduled = history.filter((r) => r.trigger === 'schedule');
    expect(scheduled.length).toBeGreaterThanOrEqual(3);
    for (let i = 1; i < scheduled.length; i++) expect(scheduled[i]!.startedAt - scheduled[i - 1]!.startedAt).toBeGreaterThanOrEqual(everyMs - 30);
    // Unscheduled: no more runs.
    const count = (await store.pipelines.runs('rolling')).length;
    await new Promise((resolve) => setTimeout(resolve, 3 * everyMs));
    expect((await store.pipelines.runs('rolling')).length).toBe(count);
  });

  it('runs a scheduled pipeline when its service worker asks the page (the periodic sync path)', async () => {
    const { store, readings } = await setup();
    await readings.insert(makeReadings({ sensors: 1, perSensor: 5, from: FROM, spanMs: HOUR, seed: 11 }));
    const options = { name: 'rolling', module: rolling, inputs: [readings], outputs: [{ name: 'sensor_features', version: 1 }] };
    await store.pipelines.register(options);
    await store.pipelines.run('rolling', { mode: 'incremental' });
    await store.pipelines.register({ ...options, schedule: { every: '1h' } }); // ran just now: not due
    const ended = collectRuns(store, 1);
    const registration = await navigator.serviceWorker.register(new URL('../support/pipelines/test-sw.ts', import.meta.url), {
      type: 'module', scope: '/test/support/pipelines/',
    });
    try {
      const worker = registration.installing ?? registration.waiting ?? registration.active!;
      if (worker.state !== 'activated') {
        await new Promise<void>((resolve) => worker.addEventListener('statechange', () => worker.state === 'activated' && resolve()));
      }
      // The service worker runs the same code as on a periodicsync event (the e2e suite fires a real one).
      worker.postMessage({ type: 'test:run-pipelines' });
      const [run] = await ended;
      expect(run).toMatchObject({ pipeline: 'rolling', status: 'succeeded', trigger: 'service-worker', mode: 'incremental' });
    } finally {
      await registration.unregister();
    }
  });

  it('runs when the browser comes back online', async () => {
    const { store, readings } = await setup();
    const options = { name: 'rolling', module: rolling, inputs: [readings], outputs: [{ name: 'sensor_features', version: 1 }] };
    await store.pipelines.register(options);
    await store.pipelines.run('rolling', { mode: 'incremental' });
    await store.pipelines.register({ ...options, schedule: { every: '1h' } }); // ran just now: not due
    const ended = collectRuns(store, 1);
    window.dispatchEvent(new Event('online'));
    expect((await ended)[0]).toMatchObject({ trigger: 'online', status: 'succeeded' });
    await store.pipelines.register({ ...options, schedule: { every: '1h', onOnline: false } });
    window.dispatchEvent(new Event('online'));
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await store.pipelines.runs('rolling')).toHaveLength(2);
  });

  it('runs at once, on registration, the pipelines a service worker marked due while no page was open', async () => {
    const { store, readings } = await setup();
    const options = { name: 'rolling', module: rolling, inputs: [readings], outputs: [{ name: 'sensor_features', version: 1 }] };
    await store.pipelines.register(options);
    await store.pipelines.run('rolling', { mode: 'incremental' });
    await markServiceWorkerDue(store.name);
    const ended = collectRuns(store, 1);
    await store.pipelines.register({ ...options, schedule: { every: '1h' } });
    expect((await ended)[0]).toMatchObject({ trigger: 'service-worker', status: 'succeeded' });
    expect(await store.pipelines.runs('rolling')).toHaveLength(2);
  });
});
