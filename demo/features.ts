// The demo's feature computations: plain functions of plain rows, run by its pipeline workers.
import { DAY_MS, WEATHER_LABEL } from './specs.ts';

export interface WeatherDay {
  location: string;
  /** Epoch milliseconds of the day's UTC midnight. */
  date: number;
  precipitation: number;
  temp_max: number;
  temp_min: number;
  wind: number;
}

const YEAR_DAYS = 365.25;

function dayOfYear(ms: number): number {
  const date = new Date(ms);
  return (ms - Date.UTC(date.getUTCFullYear(), 0, 1)) / DAY_MS;
}

function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

/**
 * One feature row per city and day in [from, to) that has a next day (its label). `days` must hold, per city, the
 * days of the window plus the six before it (rolling features) and the one after it (the label).
 */
export function weatherFeatures(days: readonly WeatherDay[], rolling: boolean, from: number, to: number): Record<string, unknown>[] {
  const byCity = new Map<string, WeatherDay[]>();
  for (const day of days) {
    const list = byCity.get(day.location) ?? [];
    list.push(day);
    byCity.set(day.location, list);
  }
  const rows: Record<string, unknown>[] = [];
  for (const [location, list] of byCity) {
    list.sort((a, b) => a.date - b.date);
    list.forEach((day, i) => {
      const next = list[i + 1];
      if (day.date < from || day.date >= to || next === undefined || next.date !== day.date + DAY_MS) return;
      const angle = (2 * Math.PI * dayOfYear(day.date)) / YEAR_DAYS;
      const row: Record<string, unknown> = {
        location,
        day: day.date,
        ts: day.date,
        is_seattle: location === 'Seattle' ? 1 : 0,
        temp_max: day.temp_max,
        temp_min: day.temp_min,
        precipitation: day.precipitation,
        wind: day.wind,
        season_sin: Math.sin(angle),
        season_cos: Math.cos(angle),
        [WEATHER_LABEL]: next.temp_max,
      };
      if (rolling) {
        // The seven days ending on this one (fewer at the start of the data).
        const week = list.slice(0, i + 1).filter((d) => d.date > day.date - 7 * DAY_MS);
        row['temp_max_mean7'] = mean(week.map((d) => d.temp_max));
        row['temp_min_mean7'] = mean(week.map((d) => d.temp_min));
        row['precipitation_sum7'] = week.reduce((a, d) => a + d.precipitation, 0);
        row['wind_mean7'] = mean(week.map((d) => d.wind));
      }
      rows.push(row);
    });
  }
  return rows;
}

export interface Match {
  match_id: number;
  /** Epoch milliseconds of the match day (UTC midnight). */
  date: number;
  home_team: string;
  away_team: string;
  home_score: number;
  away_score: number;
}

/** 0 home win, 1 draw, 2 away win. */
export function outcomeOf(homeScore: number, awayScore: number): number {
  return homeScore > awayScore ? 0 : homeScore === awayScore ? 1 : 2;
}

interface Played {
  date: number;
  goalsFor: number;
  goalsAgainst: number;
}

function points(p: Played): number {
  return p.goalsFor > p.goalsAgainst ? 3 : p.goalsFor === p.goalsAgainst ? 1 : 0;
}

/**
 * Each team's form after each of its match days: over its last five matches up to and including that day, known
 * from the next midnight (the event time). A match's own result is in the row dated the day after it.
 */
export function teamForm(matches: readonly Match[]): Record<string, unknown>[] {
  const byTeam = new Map<string, Played[]>();
  const add = (team: string, played: Played): void => {
    const list = byTeam.get(team) ?? [];
    list.push(played);
    byTeam.set(team, list);
  };
  for (const m of matches) {
    add(m.home_team, { date: m.date, goalsFor: m.home_score, goalsAgainst: m.away_score });
    add(m.away_team, { date: m.date, goalsFor: m.away_score, goalsAgainst: m.home_score });
  }
  const rows: Record<string, unknown>[] = [];
  for (const [team, list] of byTeam) {
    list.sort((a, b) => a.date - b.date);
    list.forEach((played, i) => {
      // One row per match day, after the day's last match.
      if (list[i + 1]?.date === played.date) return;
      const last = list.slice(Math.max(0, i - 4), i + 1);
      rows.push({
        team,
        known_from: played.date + DAY_MS,
        played5: last.length,
        goals_for5: last.reduce((a, p) => a + p.goalsFor, 0),
        goals_against5: last.reduce((a, p) => a + p.goalsAgainst, 0),
        points5: last.reduce((a, p) => a + points(p), 0),
      });
    });
  }
  return rows;
}
