/// <reference lib="webworker" />
// The football feature pipeline (a worker module): reads the matches and writes each team's form after each of its
// match days to team_form. Form looks back five matches, so any new match changes rows after it: runs recompute
// every team from all matches (6,508 rows, well under a second) and upsert, which rewrites nothing twice.
import type { Table } from 'apache-arrow';
import { servePipeline } from '../src/pipeline.ts';
import { teamForm, type Match } from './features.ts';

function matches(table: Table): Match[] {
  const column = (name: string) => table.getChild(name)!;
  const [id, date, home, away, homeScore, awayScore] =
    ['match_id', 'date', 'home_team', 'away_team', 'home_score', 'away_score'].map(column);
  return Array.from({ length: table.numRows }, (_, i) => ({
    match_id: id!.get(i) as number,
    date: Number(date!.get(i)),
    home_team: home!.get(i) as string,
    away_team: away!.get(i) as string,
    home_score: homeScore!.get(i) as number,
    away_score: awayScore!.get(i) as number,
  }));
}

servePipeline({
  async run(ctx) {
    if (ctx.mode === 'incremental' && (await ctx.changes('matches', { columns: ['match_id'] })).numRows === 0) {
      ctx.log.info('no new matches since the last run');
      return;
    }
    const input = ctx.inputs['matches']!;
    const group = await ctx.store.getFeatureGroup('matches', input.version);
    const all = matches(await group.read({ asOfCommit: input.throughCommit }));
    // Stable sort: matches of one day keep their file order (their ids).
    all.sort((a, b) => a.date - b.date || a.match_id - b.match_id);
    const rows = teamForm(all);
    ctx.write('team_form', rows);
    ctx.log.info(`${all.length} matches → ${rows.length} form rows`);
  },
});
