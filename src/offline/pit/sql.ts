/**
 * The point-in-time join as DuckDB SQL, for when the join runs inside DuckDB. Pure functions: they build the query
 * text (only through src/sql) and never run it. Same semantics as {@link pointInTimeIndices} in ./join.ts, cell for
 * cell, including ties (greatest event time, then highest commit id, then the later row of one commit).
 *
 * Two formulations:
 * - without `asOfKnown`, one `ASOF LEFT JOIN` per group over its current rows, deduplicated on (keys, event time)
 *   first — DuckDB's ASOF JOIN picks an arbitrary row among equal event times — with the TTL applied to the match;
 * - with `asOfKnown`, which rows are candidates depends on the spine time, which ASOF cannot express: an inequality
 *   join per group, keeping the best candidate per spine row with `QUALIFY row_number() ... = 1`.
 */
import { InvalidArgumentError } from '../../errors.ts';
import { ident, join, literal, raw, sql, type Sql } from '../../sql/index.ts';

/** The spine table: one row per requested training row. */
export interface PitSqlSpine {
  /** Table (or view) name. */
  readonly table: string;
  /**
   * Column giving the spine order (the output is sorted by it). With `asOfKnown` it must be unique and non-null,
   * since features are joined back on it.
   */
  readonly rowNumber: string;
  /** The spine time column, of type TIMESTAMP. */
  readonly time: string;
  /** Spine columns to pass through to the output, in this order, under the same names. */
  readonly columns: readonly string[];
}

/** One selected feature: a group column and its name in the output. */
export interface PitSqlFeature {
  readonly column: string;
  readonly as: string;
}

/** One feature group version taking part in the join. */
export interface PitSqlGroup {
  /** The group's table: feature columns plus the hidden commit and superseded columns. */
  readonly table: string;
  /** Key mapping, spine column to group column; an empty list joins on time alone. */
  readonly keys: readonly { readonly spine: string; readonly group: string }[];
  /** The event time column, of type TIMESTAMP. */
  readonly eventTime: string;
  readonly features: readonly PitSqlFeature[];
  /** Maximum age of a value in microseconds (a non-negative integer), or null for none. */
  readonly ttl: number | null;
  /** Commit id column (BIGINT); default `_larder_commit`. */
  readonly commitColumn?: string;
  /** Column with the id of the commit that replaced the row, NULL when current; default `_larder_superseded`. */
  readonly supersededColumn?: string;
  /**
   * Orders rows written by one commit (the later row wins an exact tie). Default: DuckDB's `rowid` pseudo-column,
   * which is insertion order. A real column named `rowid` hides the pseudo-column: name another column then.
   */
  readonly rowOrder?: string;
}

/** The commit ledger: when each commit happened (epoch milliseconds, DOUBLE). */
export interface PitSqlLedger {
  readonly table: string;
  readonly commitId: string;
  readonly committedAt: string;
}

/** The ledger of the DuckDB offline store. */
export const DEFAULT_LEDGER: PitSqlLedger = { table: '_larder_commits', commitId: 'commit_id', committedAt: 'committed_at' };

/** What {@link pointInTimeSql} joins. */
export interface PitSqlRequest {
  readonly spine: PitSqlSpine;
  readonly groups: readonly PitSqlGroup[];
  /** Only rows committed at or before the spine time, as known then (upserts undone); needs the ledger. */
  readonly asOfKnown: boolean;
  /** Default {@link DEFAULT_LEDGER}. */
  readonly ledger?: PitSqlLedger;
}

function checkTtl(ttl: number | null, table: string): void {
  if (ttl !== null && !(Number.isSafeInteger(ttl) && ttl >= 0)) {
    throw new InvalidArgumentError(`The TTL of ${table} must be a non-negative whole number of microseconds or null, got ${String(ttl)}.`);
  }
}

function checkOutputNames(request: PitSqlRequest): void {
  const seen = new Set<string>();
  const names = [...request.spine.columns, ...request.groups.flatMap((g) => g.features.map((f) => f.as))];
  for (const name of names) {
    // DuckDB compares identifiers case-insensitively.
    const key = name.toLowerCase();
    if (seen.has(key)) {
      throw new InvalidArgumentError(`The output column ${JSON.stringify(name)} appears twice; give features distinct names (e.g. a prefix).`);
    }
    seen.add(key);
  }
}

/** `epoch µs >= ts - ttl` as SQL over a TIMESTAMP expression. */
function withinTtl(eventTime: Sql, spineTime: Sql, ttl: number): Sql {
  return sql`${eventTime} >= ${spineTime} - to_microseconds(${literal(ttl)})`;
}

/**
 * A group's candidate rows under generated column names (`_k0…`, `_t`, `_c`, `_o`, `_f0…`), so user names never
 * meet each other or ours in one scope.
 */
function candidateColumns(group: PitSqlGroup, alias: Sql): Sql[] {
  const order = group.rowOrder === undefined ? raw('rowid') : ident(group.rowOrder);
  return [
    ...group.keys.map((k, i) => sql`${alias}.${ident(k.group)} AS ${ident(`_k${i}`)}`),
    sql`${alias}.${ident(group.eventTime)} AS "_t"`,
    sql`${alias}.${ident(group.commitColumn ?? '_larder_commit')} AS "_c"`,
    sql`${alias}.${order} AS "_o"`,
    ...group.features.map((f, i) => sql`${alias}.${ident(f.column)} AS ${ident(`_f${i}`)}`),
  ];
}

function keyConditions(group: PitSqlGroup, spineAlias: Sql, groupAlias: Sql): Sql[] {
  return group.keys.map((k, i) => sql`${spineAlias}.${ident(k.spine)} = ${groupAlias}.${ident(`_k${i}`)}`);
}

/** The group's current rows, one per (keys, event time): the latest commit, then the last row of that commit. */
function currentRows(group: PitSqlGroup): Sql {
  const g = raw('g');
  const partition = join([...group.keys.map((k) => sql`${g}.${ident(k.group)}`), sql`${g}.${ident(group.eventTime)}`]);
  const order = group.rowOrder === undefined ? raw('rowid') : ident(group.rowOrder);
  return sql`SELECT ${join(candidateColumns(group, g))}
    FROM ${ident(group.table)} AS ${g}
    WHERE ${g}.${ident(group.supersededColumn ?? '_larder_superseded')} IS NULL
    QUALIFY row_number() OVER (PARTITION BY ${partition} ORDER BY ${g}.${ident(group.commitColumn ?? '_larder_commit')} DESC, ${g}.${order} DESC) = 1`;
}

/** Per spine row number, the chosen row's features under `asOfKnown` (rows without a match are absent). */
function knownRows(spine: PitSqlSpine, group: PitSqlGroup, ledger: PitSqlLedger): Sql {
  const g = raw('g');
  const s = raw('s');
  const c = raw('c');
  const commit = ident(group.commitColumn ?? '_larder_commit');
  const superseded = ident(group.supersededColumn ?? '_larder_superseded');
  const ledgerTable = ident(ledger.table);
  const ledgerId = ident(ledger.commitId);
  const ledgerAt = ident(ledger.committedAt);
  const candidates = sql`SELECT ${join([
    ...candidateColumns(group, g),
    sql`lc.${ledgerAt} * 1000 AS "_known"`,
    sql`ls.${ledgerAt} * 1000 AS "_replaced"`,
    sql`${g}.${superseded} IS NULL AS "_current"`,
  ])}
      FROM ${ident(group.table)} AS ${g}
      JOIN ${ledgerTable} AS lc ON lc.${ledgerId} = ${g}.${commit}
      LEFT JOIN ${ledgerTable} AS ls ON ls.${ledgerId} = ${g}.${superseded}`;
  const ts = sql`${s}.${ident(spine.time)}`;
  const conditions = [
    ...keyConditions(group, s, c),
    sql`${c}."_t" <= ${ts}`,
    ...(group.ttl === null ? [] : [withinTtl(sql`${c}."_t"`, ts, group.ttl)]),
    // Known at ts: committed at or before it, and not replaced by an upsert committed at or before it.
    sql`${c}."_known" <= epoch_us(${ts})`,
    sql`(${c}."_current" OR ${c}."_replaced" > epoch_us(${ts}))`,
  ];
  const features = group.features.map((_, i) => sql`${c}.${ident(`_f${i}`)}`);
  return sql`SELECT ${join([sql`${s}.${ident(spine.rowNumber)} AS "_rn"`, ...features])}
    FROM ${ident(spine.table)} AS ${s}
    JOIN (${candidates}) AS ${c} ON ${join(conditions, ' AND ')}
    QUALIFY row_number() OVER (PARTITION BY ${s}.${ident(spine.rowNumber)} ORDER BY ${c}."_t" DESC, ${c}."_c" DESC, ${c}."_o" DESC) = 1`;
}

/**
 * Builds the point-in-time join of a spine with feature groups as one DuckDB SELECT: every spine row exactly once,
 * sorted by the spine's row number, with its pass-through columns and then each group's features (NULL when the
 * group has no row for it). Semantics as in ARCHITECTURE.md, "Point-in-time semantics".
 *
 * @param request - the spine table, the groups with their key mapping, features and TTL, `asOfKnown` and the ledger
 * @returns the query text
 *
 * @example
 * ```ts
 * const query = pointInTimeSql({
 *   spine: { table: 'spine', rowNumber: 'rn', time: 'ts', columns: ['city', 'ts', 'label'] },
 *   groups: [{
 *     table: 'fg_weather_v1', keys: [{ spine: 'city', group: 'city' }], eventTime: 'day',
 *     features: [{ column: 'temp_max', as: 'temp_max' }], ttl: 86_400_000_000,
 *   }],
 *   asOfKnown: false,
 * });
 * ```
 */
export function pointInTimeSql(request: PitSqlRequest): Sql {
  const { spine, groups, asOfKnown } = request;
  const ledger = request.ledger ?? DEFAULT_LEDGER;
  for (const group of groups) checkTtl(group.ttl, group.table);
  checkOutputNames(request);
  const s = raw('s');
  const selected: Sql[] = spine.columns.map((name) => sql`${s}.${ident(name)} AS ${ident(name)}`);
  const joins: Sql[] = [];
  groups.forEach((group, gi) => {
    const alias = ident(`g${gi}`);
    if (asOfKnown) {
      joins.push(sql`LEFT JOIN (${knownRows(spine, group, ledger)}) AS ${alias} ON ${alias}."_rn" = ${s}.${ident(spine.rowNumber)}`);
      group.features.forEach((f, i) => selected.push(sql`${alias}.${ident(`_f${i}`)} AS ${ident(f.as)}`));
      return;
    }
    const ts = sql`${s}.${ident(spine.time)}`;
    const on = [...keyConditions(group, s, alias), sql`${ts} >= ${alias}."_t"`];
    joins.push(sql`ASOF LEFT JOIN (${currentRows(group)}) AS ${alias} ON ${join(on, ' AND ')}`);
    group.features.forEach((f, i) => {
      const value = sql`${alias}.${ident(`_f${i}`)}`;
      // The ASOF match is the latest row at or before ts; if it is too old, every other candidate is older still.
      selected.push(
        group.ttl === null
          ? sql`${value} AS ${ident(f.as)}`
          : sql`CASE WHEN ${withinTtl(sql`${alias}."_t"`, ts, group.ttl)} THEN ${value} END AS ${ident(f.as)}`,
      );
    });
  });
  const columns = selected.length > 0 ? join(selected) : raw('NULL AS "_none"');
  return sql`SELECT ${columns}
FROM ${ident(spine.table)} AS ${s}
${join(joins, '\n')}
ORDER BY ${s}.${ident(spine.rowNumber)}`;
}
