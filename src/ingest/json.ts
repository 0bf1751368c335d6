import { ParseError } from '../errors.ts';

/**
 * Parses JSON text holding an array of row objects, or NDJSON (one object per line). Prototype-safe: JSON.parse
 * creates `__proto__` and `constructor` as plain own properties, and rows are only ever read by own keys.
 */
export function parseJsonRows(text: string): Record<string, unknown>[] {
  const start = text.search(/\S/);
  if (start === -1) return [];
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (body.trimStart().startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch (error) {
      throw new ParseError(`The JSON array could not be parsed: ${(error as Error).message}`, { cause: error });
    }
    if (!Array.isArray(parsed)) throw new ParseError('Expected a JSON array of row objects.');
    return parsed as Record<string, unknown>[];
  }
  const rows: Record<string, unknown>[] = [];
  const lines = body.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    try {
      rows.push(JSON.parse(line) as Record<string, unknown>);
    } catch (error) {
      throw new ParseError(`NDJSON line ${i + 1} could not be parsed: ${(error as Error).message}`, {
        cause: error,
        details: { line: i + 1 },
      });
    }
  }
  return rows;
}
