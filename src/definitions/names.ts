import { InvalidNameError } from '../errors.ts';

/** Letters, digits and underscore, starting with a letter; at most 64 characters. */
export const NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

/**
 * Checks a user-given name (store, feature group, feature, key, event time) against the allowlist.
 * Names are compared case-insensitively elsewhere, as DuckDB does.
 */
export function validateName(name: unknown, what: string): string {
  if (typeof name !== 'string') {
    throw new InvalidNameError(`The ${what} name must be a string, got ${typeof name}.`, { details: { what } });
  }
  if (!NAME_PATTERN.test(name)) {
    const shown = name.length > 80 ? `${name.slice(0, 80)}… (${name.length} characters)` : name;
    throw new InvalidNameError(
      `Invalid ${what} name ${JSON.stringify(shown)}: use 1–64 letters, digits or underscores, starting with a letter.`,
      { details: { what, name: shown } },
    );
  }
  return name;
}

/** The case-insensitive identity of a name. */
export function nameKey(name: string): string {
  return name.toLowerCase();
}

/** Throws when two names in the list are equal ignoring case. */
export function assertUniqueNames(names: readonly string[], what: string): void {
  const seen = new Map<string, string>();
  for (const name of names) {
    const previous = seen.get(nameKey(name));
    if (previous !== undefined) {
      throw new InvalidNameError(
        previous === name
          ? `The ${what} name ${JSON.stringify(name)} appears twice; use a prefix or another name.`
          : `The ${what} names ${JSON.stringify(previous)} and ${JSON.stringify(name)} differ only by case; names are case-insensitive.`,
        { details: { what, names: [previous, name] } },
      );
    }
    seen.set(nameKey(name), name);
  }
}
