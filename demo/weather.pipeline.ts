/// <reference lib="webworker" />
// The weather feature pipeline (a worker module): reads weather_raw and writes the daily features of `weather` v1, or
// with `rolling` those of v2. Window runs compute their window; incremental runs recompute the days that rows
// committed since the last run touch (a late or corrected day changes its own features, the label of the day before
// and the rolling features of the week after).
import type { Table } from 'apache-arrow';
import { servePipeline } from '../src/pipeline.ts';
import { weatherFeatures, type WeatherDay } from './features.ts';
import { DAY_MS } from './specs.ts';

interface Params {
  rolling?: boolean;
}

function days(table: Table): WeatherDay[] {
  const column = (name: string) => table.getChild(name)!;
  const [location, date, precipitation, tempMax, tempMin, wind] =
    ['location', 'date', 'precipitation', 'temp_max', 'temp_min', 'wind'].map(column);
  return Array.from({ length: table.numRows }, (_, i) => ({
    location: location!.get(i) as string,
    date: Number(date!.get(i)),
    precipitation: precipitation!.get(i) as number,
    temp_max: tempMax!.get(i) as number,
    temp_min: tempMin!.get(i) as number,
    wind: wind!.get(i) as number,
  }));
}

servePipeline<Params>({
  async run(ctx) {
    const rolling = ctx.params.rolling === true;
    let from = ctx.window.start?.getTime() ?? Number.NEGATIVE_INFINITY;
    let to = ctx.window.end?.getTime() ?? Number.POSITIVE_INFINITY;
    if (ctx.mode === 'incremental') {
      const changed = days(await ctx.changes('weather_raw'));
      if (changed.length === 0) {
        ctx.log.info('no new weather rows since the last run');
        return;
      }
      const times = changed.map((d) => d.date);
      from = Math.min(...times) - DAY_MS;
      to = Math.max(...times) + 7 * DAY_MS;
      ctx.log.info(`${changed.length} new or changed days: recomputing ${new Date(from).toISOString().slice(0, 10)} – ${new Date(to).toISOString().slice(0, 10)}`);
    }
    const input = ctx.inputs['weather_raw']!;
    const raw = await ctx.store.getFeatureGroup('weather_raw', input.version);
    const table = await raw.read({
      ...(Number.isFinite(from) ? { start: from - 7 * DAY_MS } : {}),
      ...(Number.isFinite(to) ? { end: to + DAY_MS } : {}),
      asOfCommit: input.throughCommit,
    });
    const rows = weatherFeatures(days(table), rolling, from, to);
    ctx.write('weather', rows);
    ctx.log.info(`${rows.length} feature rows${rolling ? ' with rolling 7-day features' : ''}`);
  },
});
