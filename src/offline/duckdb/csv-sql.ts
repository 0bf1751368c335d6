import type { Feature } from '../../definitions/feature-group.ts';
import type { ValidationProblem } from '../../errors.ts';
import type { CsvDelimiter } from '../../ingest/csv.ts';
import { join, literal, raw, sql, type Sql } from '../../sql/index.ts';
import { sqlTypeOf } from '../../sql/types.ts';

/**
 * The folder of DuckDB-WASM's file registry under which CSV batches are registered for `read_csv`: the engine is
 * started allowing no other path (see startDuckDb).
 */
export const INGEST_DIRECTORY = 'larder-ingest/';

/**
 * `read_csv` over a registered file in a fixed RFC 4180 dialect, every column as text. A quoted empty field is an
 * empty string; an unquoted empty field is null. Values are converted afterwards (see {@link csvConversion}), so
 * that every bad value is reported with its data row number, and nothing is rounded on the way (DuckDB's own
 * CSV typing reads "7.5" into an INTEGER column as 8).
 */
export function readCsvSql(file: string, delimiter: CsvDelimiter): Sql {
  return sql`read_csv(${literal(file)}, header = true, all_varchar = true, delim = ${literal(delimiter)},
    quote = '"', escape = '"', allow_quoted_nulls = false, sample_size = 2048)`;
}

/**
 * The fast path: `read_csv` in the same fixed dialect with the schema's types given up front (no sniffing), each
 * column converted on the way into the table. Any bad value raises an error, which sends the caller to the
 * diagnostic path ({@link readCsvSql} + {@link csvConversion}) to report every problem with its row number. Integer
 * and embedding columns are read as text and checked here, so nothing is rounded silently.
 */
export function readCsvTypedSql(file: string, delimiter: CsvDelimiter, header: readonly string[], typeOf: (column: string) => Feature | undefined): Sql {
  const columns = join(header.map((h) => sql`${literal(h)}: ${literal(csvReadType(typeOf(h)))}`));
  return sql`read_csv(${literal(file)}, header = true, auto_detect = false, delim = ${literal(delimiter)},
    quote = '"', escape = '"', allow_quoted_nulls = false, columns = {${columns}})`;
}

function csvReadType(feature: Feature | undefined): Sql {
  switch (feature?.type) {
    case 'float32':
    case 'float64':
    case 'bool':
    case 'date':
      return sqlTypeOf(feature.type);
    case 'timestamp':
      return raw('TIMESTAMPTZ');
    default:
      return raw('VARCHAR');
  }
}

/**
 * The fast path's conversion of one column read by {@link readCsvTypedSql}: the value, or an error that aborts the
 * insert — for text that does not convert, and for nulls and NaN where the schema does not allow them.
 */
export function csvFastConversion(feature: Feature, column: Sql): Sql {
  const fail = (what: string): Sql => sql`error(${literal(`column '${feature.name}' ${what}`)})`;
  const badValue = fail(`has a value that does not convert to ${feature.type}`);
  const guards: Sql[] = [];
  if (!feature.nullable) guards.push(sql`WHEN ${column} IS NULL THEN ${fail('has a null')}`);
  let value: Sql;
  switch (feature.type) {
    case 'int32':
    case 'int64':
      guards.push(sql`WHEN NOT regexp_full_match(${column}, ${INTEGER_TEXT}) THEN ${badValue}`);
      value = sql`CAST(trim(${column}) AS ${sqlTypeOf(feature.type)})`;
      break;
    case 'timestamp':
      guards.push(sql`WHEN isinf(${column}) THEN ${badValue}`);
      value = sql`CAST(${column} AS TIMESTAMP)`;
      break;
    case 'date':
      guards.push(sql`WHEN isinf(${column}) THEN ${badValue}`);
      value = column;
      break;
    case 'list<float32>':
      value = sql`CAST(${column} AS FLOAT[])`;
      break;
    case 'float32':
    case 'float64':
      if (!feature.allowNaN) guards.push(sql`WHEN isnan(${column}) THEN ${fail('has NaN')}`);
      value = column;
      break;
    default:
      value = column;
  }
  return guards.length === 0 ? value : sql`CASE ${join(guards, ' ')} ELSE ${value} END`;
}

/** Values of a CSV column that do not convert to the feature type, as a problem kind and a row predicate. */
export interface CsvCheck {
  kind: ValidationProblem['kind'];
  predicate: Sql;
  message: string;
}

const INTEGER_TEXT = literal('\\s*[+-]?[0-9]+\\s*');
const ISO_DATE_TEXT = literal('^\\s*[0-9]{4}-[0-9]{2}-[0-9]{2}');

/** The expression converting the text of a CSV column to the feature type, and the checks finding values that do not. */
export function csvConversion(feature: Feature, text: Sql): { value: Sql; checks: CsvCheck[] } {
  const present = sql`${text} IS NOT NULL`;
  // Instants must start with a calendar date, as everywhere else in Larder; DuckDB would also take 'infinity' or 'epoch'.
  const isoDate = sql`regexp_matches(${text}, ${ISO_DATE_TEXT})`;
  const unconverted = (value: Sql, kind: ValidationProblem['kind'], message: string): CsvCheck => ({
    kind,
    predicate: sql`${present} AND ${value} IS NULL`,
    message: `column '${feature.name}': ${message}`,
  });
  switch (feature.type) {
    case 'int32':
    case 'int64': {
      const target = sqlTypeOf(feature.type);
      const integral = sql`regexp_full_match(${text}, ${INTEGER_TEXT})`;
      return {
        value: sql`CASE WHEN ${integral} THEN TRY_CAST(${text} AS ${target}) END`,
        checks: [
          { kind: 'wrong_type', predicate: sql`${present} AND NOT ${integral}`, message: `column '${feature.name}': expected ${feature.type}, got text that is not an integer` },
          { kind: 'out_of_range', predicate: sql`${integral} AND TRY_CAST(${text} AS ${target}) IS NULL`, message: `column '${feature.name}': integer out of the ${feature.type} range` },
        ],
      };
    }
    case 'timestamp': {
      // Without the ICU extension TIMESTAMPTZ is UTC: offsets are applied, text without one is read as UTC.
      const value = sql`CASE WHEN ${isoDate} THEN CAST(TRY_CAST(${text} AS TIMESTAMPTZ) AS TIMESTAMP) END`;
      return { value, checks: [unconverted(value, 'unparseable_timestamp', 'text that is not an ISO-8601 date or time')] };
    }
    case 'date': {
      const value = sql`CASE WHEN ${isoDate} THEN TRY_CAST(${text} AS DATE) END`;
      return { value, checks: [unconverted(value, 'unparseable_timestamp', 'text that is not a date (YYYY-MM-DD)')] };
    }
    case 'string':
      return { value: text, checks: [] };
    default: {
      const value = sql`TRY_CAST(${text} AS ${sqlTypeOf(feature.type)})`;
      return { value, checks: [unconverted(value, 'wrong_type', `expected ${feature.type}, got text that does not convert`)] };
    }
  }
}
