import { nameKey } from '../definitions/names.ts';

/** Field delimiters a CSV file may use, in order of preference. */
export const CSV_DELIMITERS = [',', '\t', ';', '|'] as const;

export type CsvDelimiter = (typeof CSV_DELIMITERS)[number];

/** The header line of a CSV file: its first line, without a byte-order mark. Reads at most the first 64 KiB. */
export function csvHeaderLine(bytes: Uint8Array): string {
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes.subarray(0, 65_536)).replace(/^\uFEFF/, '');
  return /^[^\r\n]*/.exec(text)?.[0] ?? '';
}

/**
 * The delimiter of a CSV file, chosen by the header line: the one that splits it into the most of the expected
 * column names (comma on a tie). The dialect is fixed up front rather than guessed by DuckDB's sniffer, which
 * falls back to other quoting or a single column when a file is malformed — and then reports the wrong problem.
 */
export function csvDelimiter(headerLine: string, columns: readonly string[]): CsvDelimiter {
  const wanted = new Set(columns.map(nameKey));
  const score = (delimiter: string): number =>
    headerLine.split(delimiter).filter((field) => wanted.has(nameKey(field.trim().replace(/^"(.*)"$/, '$1')))).length;
  let best: CsvDelimiter = ',';
  for (const delimiter of CSV_DELIMITERS) if (score(delimiter) > score(best)) best = delimiter;
  return best;
}
