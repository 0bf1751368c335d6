/// <reference lib="webworker" />
// A feature pipeline as an app would write one: rolling one-hour features of sensor readings, recomputed for the
// window it is given and, in incremental runs, for every reading a late one changes.
import type { Table } from 'apache-arrow';
import { servePipeline } from '../../../src/pipeline.ts';

const HOUR = 3_600_000;

interface Params {
  /** Throw in this chunk while the group 'switches' has no rows (a failure the test can lift before resuming). */
  failAtChunk?: number;
  /** Wait this long (ms) before computing: a slow pipeline. */
  delayMs?: number;
  /** Write a value of the wrong type (a validation failure). */
  writeBadValue?: boolean;
  /** How the features are written (default upsert). */
  writeMode?: 'append' | 'upsert';
  /** Also write a row to the 'switches' group, valid or not (for pipelines with two outputs). */
  alsoWriteSwitch?: 'valid' | 'invalid';
}

function readingsOf(table: Table): { sensor: string; ts: number; value: number }[] {
  const sensor = table.getChild('sensor')!;
  const ts = table.getChild('ts')!;
  const value = table.getChild('value')!;
  return Array.from({ length: table.numRows }, (_, i) => ({ sensor: sensor.get(i) as string, ts: ts.get(i) as number, value: value.get(i) as number }));
}

servePipeline<Params>({
  async run(ctx) {
    if (ctx.params.delayMs !== undefined) await new Promise((resolve) => setTimeout(resolve, ctx.params.delayMs));
    if (ctx.params.failAtChunk === ctx.chunk.index) {
      const switches = await (await ctx.store.getFeatureGroup('switches', 1)).read();
      if (switches.numRows === 0) throw new Error(`planned failure in chunk ${ctx.chunk.index}`);
    }
    const input = ctx.inputs['readings']!;
    let from = ctx.window.start?.getTime() ?? Number.NEGATIVE_INFINITY;
    if (ctx.mode === 'incremental') {
      // Late readings change the features of their own time and of the hour after it.
      for (const r of readingsOf(await ctx.changes('readings'))) from = Math.min(from, r.ts);
      ctx.log.info(Number.isFinite(from) ? `recomputing from ${new Date(from).toISOString()}` : 'recomputing everything');
    }
    const readings = await ctx.store.getFeatureGroup('readings', input.version);
    const raw = readingsOf(
      await readings.read({
        ...(Number.isFinite(from) ? { start: from - HOUR } : {}),
        ...(ctx.window.end === null ? {} : { end: ctx.window.end }),
        asOfCommit: input.throughCommit,
      }),
    );
    // Per sensor, in time order (the read is ordered by time): a sliding window over (ts − 1h, ts].
    const bySensor = new Map<string, { ts: number; value: number }[]>();
    for (const r of raw) {
      const list = bySensor.get(r.sensor) ?? [];
      list.push(r);
      bySensor.set(r.sensor, list);
    }
    const rows: Record<string, unknown>[] = [];
    for (const [sensor, list] of bySensor) {
      // Values have two decimals: summing whole cents keeps the sliding sum exact, whatever window it slides over.
      const cents = list.map((r) => Math.round(r.value * 100));
      let first = 0;
      let sum = 0;
      for (let i = 0; i < list.length; i++) {
        sum += cents[i]!;
        while (list[first]!.ts <= list[i]!.ts - HOUR) sum -= cents[first++]!;
        if (list[i]!.ts < from) continue;
        let max = Number.NEGATIVE_INFINITY;
        for (let j = first; j <= i; j++) max = Math.max(max, list[j]!.value);
        rows.push({ sensor, ts: list[i]!.ts, sum_1h: sum / 100, count_1h: i - first + 1, max_1h: max });
      }
      ctx.progress({ message: `sensor ${sensor}` });
    }
    if (ctx.params.writeBadValue === true && rows.length > 0) rows[0]!['sum_1h'] = 'not a number';
    ctx.write('sensor_features', rows, { mode: ctx.params.writeMode ?? 'upsert' });
    if (ctx.params.alsoWriteSwitch !== undefined) {
      ctx.write('switches', [{ id: ctx.params.alsoWriteSwitch === 'valid' ? 7 : 'seven', ts: ctx.window.start ?? 0 }]);
    }
    ctx.log.info(`chunk ${ctx.chunk.index}: ${rows.length} rows`);
  },

  async onBatch(events, ctx) {
    // Stream events are raw readings; an optional delay stands for a slow sink.
    if (typeof ctx.params['delayMs'] === 'number') await new Promise((resolve) => setTimeout(resolve, ctx.params.delayMs));
    ctx.write('readings', events as Record<string, unknown>[], { mode: 'append' });
  },
});
