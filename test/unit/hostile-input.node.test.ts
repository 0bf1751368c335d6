/**
 * Hostile and broken input that needs no browser (issue 10): generated names, JSON rows with prototype keys, snapshot
 * manifests and HEAD pointers, and mutated model artifacts. Every case must end in its typed error (or be accepted
 * when it is in fact valid) — never another error — and within a generous per-case bound, which guards against hangs
 * and is not a benchmark. The counts each section prints feed the reliability report.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { normalizeFeatureGroup } from '../../src/definitions/feature-group.ts';
import { NAME_PATTERN, validateName } from '../../src/definitions/names.ts';
import { InvalidNameError, ModelArtifactError, ParseError, SnapshotIntegrityError } from '../../src/errors.ts';
import { ProblemCollector, columnsFromRows } from '../../src/ingest/conform.ts';
import { parseJsonRows } from '../../src/ingest/json.ts';
import { assembleShards, parseModelJson, sha256Hex, validateArtifacts, verifySha256, type ValidatedArtifacts } from '../../src/models/artifacts.ts';
import { canonicalJson, parseHead, parseManifest, type Manifest } from '../../src/sync/manifest.ts';
import { parseMetadata } from '../../src/sync/snapshot.ts';
import { seededRandom } from '../../src/util/random.ts';
import { denseModelJson, functionalArtifacts, type ModelJsonFixture } from '../support/artifact-fixtures.ts';

/** The most one case may take. A hang guard: every case here takes milliseconds. */
const CASE_BOUND_MS = 2_000;

/** Tallies of what each section tried, printed once at the end for the reliability report. */
const tally: Record<string, Record<string, number>> = {};
function count(section: string, outcome: string): void {
  const s = (tally[section] ??= {});
  s[outcome] = (s[outcome] ?? 0) + 1;
}
const slowest: Record<string, number> = {};

afterAll(() => {
  for (const [section, outcomes] of Object.entries(tally)) {
    const total = Object.values(outcomes).reduce((a, b) => a + b, 0);
    console.log(`hostile input · ${section}: ${total} cases ${JSON.stringify(outcomes)}, slowest ${(slowest[section] ?? 0).toFixed(1)} ms`);
  }
});

/** Runs one case, timed; returns what it threw (undefined when it returned). */
/** Records how long one case of a section took since `start`, and holds it to the hang bound. */
function bounded(section: string, start: number): void {
  const ms = performance.now() - start;
  slowest[section] = Math.max(slowest[section] ?? 0, ms);
  expect(ms, `${section}: one case took ${ms.toFixed(0)} ms`).toBeLessThan(CASE_BOUND_MS);
}

function timed(section: string, run: () => unknown): unknown {
  const start = performance.now();
  let thrown: unknown;
  try {
    run();
  } catch (error) {
    thrown = error;
  }
  bounded(section, start);
  return thrown;
}

async function timedAsync(section: string, run: () => Promise<unknown>): Promise<unknown> {
  const start = performance.now();
  let thrown: unknown;
  try {
    await run();
  } catch (error) {
    thrown = error;
  }
  bounded(section, start);
  return thrown;
}

/** Fails with the foreign error as the cause, so a crash shows its own stack. */
function expectOnly(error: unknown, type: new (...args: never[]) => Error, what: string): void {
  if (error !== undefined && !(error instanceof type)) throw new Error(`${what}: threw ${(error as Error)?.name ?? typeof error}, not ${type.name}`, { cause: error });
}

/** Own property names and descriptors of the built-in prototypes, to prove nothing was added or changed. */
function prototypesState(): string {
  const protos: [string, object][] = [
    ['Object', Object.prototype], ['Array', Array.prototype], ['Function', Function.prototype], ['String', String.prototype],
  ];
  return JSON.stringify(protos.map(([n, p]) => [n, Reflect.ownKeys(p).map((k) => {
    const d = Object.getOwnPropertyDescriptor(p, k)!;
    return [String(k), typeof d.value, d.writable, d.enumerable, d.configurable, typeof d.get, typeof d.set];
  })]));
}

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
const TEN_MB = 'x'.repeat(10 * 1024 * 1024);
/** Past every 4,096-character limit on manifest strings; the 10 MB cases run a few times, not in every generated case. */
const LONG = 'x'.repeat(5_000);

/** `depth` nested arrays around a value, as JSON text (built without recursion). */
const deepJson = (depth: number, inner = '1'): string => '['.repeat(depth) + inner + ']'.repeat(depth);

// --- Names ------------------------------------------------------------------------------------------------------------

describe('10,000 generated names', () => {
  /** The naming rule, written out independently of NAME_PATTERN: 1–64 ASCII letters, digits, `_`, starting with a letter. */
  function oracle(name: unknown): boolean {
    if (typeof name !== 'string' || name.length < 1 || name.length > 64) return false;
    for (let i = 0; i < name.length; i++) {
      const c = name.charCodeAt(i);
      const letter = (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
      const digit = c >= 48 && c <= 57;
      if (!(letter || (i > 0 && (digit || c === 95)))) return false;
    }
    return true;
  }

  /** Characters that look like, fold to, or hide next to the allowed ones. */
  const LOOKALIKES = [
    '-', ' ', '.', '"', "'", '`', ';', '\0', '\n', '\r', '\t', '$', '[', ']', '(', '/', '\\', '%', '*', 'é', 'ß', 'ſ', '\u212a',
    '\u0130', '\uff21', '\u0430', '\u200b', '\u200d', '\ufeff', '\u00a0', '\ud800', '\udfff', '😀', '\u0301', '\u202e',
  ];
  const HOSTILE = [
    '', '_', '1a', 'a-b', 'a b', 'select', 'SELECT', 'drop table x', "x'; DROP TABLE t; --", 'x"; DROP TABLE t; --', '__proto__',
    'constructor', 'prototype', 'hasOwnProperty', 'toString', '../x', 'x/../../y', 'opfs://x', 'https://evil.example', 'a'.repeat(64),
    'a'.repeat(65), 'a'.repeat(10_000), 'rowid', 'NaN', 'null', 'undefined', 'true', 'Infinity', 'x\0', '\0x', 'x\n', 'x\u2028',
  ];
  const validish = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_]{0,70}$/);
  const name: fc.Arbitrary<unknown> = fc.oneof(
    { weight: 3, arbitrary: validish },
    { weight: 2, arbitrary: fc.tuple(validish, fc.nat(), fc.constantFrom(...LOOKALIKES)).map(([s, at, c]) => s.slice(0, at % (s.length + 1)) + c + s.slice(at % (s.length + 1))) },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 80 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 80 }) },
    { weight: 1, arbitrary: fc.constantFrom(...HOSTILE) },
    { weight: 1, arbitrary: fc.oneof(fc.integer(), fc.double(), fc.constant(null), fc.constant(undefined), fc.boolean(), fc.array(fc.string()), fc.object(), fc.bigInt()) },
  );

  it('each is accepted exactly when it follows the rule, else InvalidNameError, within the bound', () => {
    const values = fc.sample(name, { numRuns: 10_000, seed: 0x6e616d65 });
    values.push('a'.repeat(1_000_000), `A${'_'.repeat(63)}`, { toString: () => 'ok' }, new String('ok'), Symbol('x'));
    for (const value of values) {
      const error = timed('names', () => validateName(value, 'feature'));
      const valid = oracle(value);
      if (valid) {
        expect(error, `'${String(value)}' should be accepted`).toBeUndefined();
        expect(NAME_PATTERN.test(value as string)).toBe(true);
        count('names', 'accepted');
      } else {
        expect(error, `${typeof value} ${JSON.stringify(String(value).slice(0, 40))} should be refused`).toBeInstanceOf(InvalidNameError);
        expect((error as InvalidNameError).code).toBe('INVALID_NAME');
        // The message stays short whatever the name's length.
        expect((error as InvalidNameError).message.length).toBeLessThan(400);
        count('names', 'refused');
      }
    }
    expect(tally['names']!['accepted']).toBeGreaterThan(1_000);
    expect(tally['names']!['refused']).toBeGreaterThan(4_000);
  });
});

// --- JSON rows with prototype keys ---------------------------------------------------------------------------------------

describe('JSON rows with __proto__, constructor and prototype keys', () => {
  const definition = normalizeFeatureGroup({
    name: 'proto_rows',
    version: 1,
    primaryKey: 'id',
    eventTime: 'ts',
    features: { id: 'int32', ts: 'timestamp', constructor: 'string', prototype: 'string', x: 'float64' },
  } as const, 0);
  const KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', 'isAdmin', 'polluted', 'id', 'ts', 'x'];
  const leaf = fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.boolean(), fc.constant(null));
  /** JSON text of an object whose keys may be the prototype handles, nested a few levels. */
  const objectText: fc.Arbitrary<string> = fc.letrec<{ value: string; object: string }>((tie) => ({
    value: fc.oneof({ depthSize: 'small' }, leaf.map((v) => JSON.stringify(v)), tie('object'), fc.array(tie('value'), { maxLength: 3 }).map((a) => `[${a.join(',')}]`)),
    object: fc
      .uniqueArray(fc.tuple(fc.constantFrom(...KEYS), tie('value')), { selector: ([k]) => k, maxLength: 6 })
      .map((entries) => `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`),
  })).object;
  const batch = fc.record({
    rows: fc.array(fc.oneof({ weight: 5, arbitrary: objectText }, { weight: 1, arbitrary: leaf.map((v) => JSON.stringify(v)) }), { maxLength: 8 }),
    ndjson: fc.boolean(),
    bom: fc.boolean(),
    cut: fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.nat() }),
  });

  it('parse to plain own data or a ParseError, and never touch a prototype', () => {
    const before = prototypesState();
    fc.assert(
      fc.property(batch, ({ rows, ndjson, bom, cut }) => {
        let text = (bom ? '\ufeff' : '') + (ndjson ? rows.join('\n') : `[${rows.join(',')}]`);
        if (cut !== null) text = text.slice(0, cut % (text.length + 1));
        let parsed: Record<string, unknown>[] = [];
        const error = timed('json rows', () => {
          parsed = parseJsonRows(text);
        });
        expectOnly(error, ParseError, 'parseJsonRows');
        count('json rows', error === undefined ? 'parsed' : 'ParseError');
        if (error !== undefined) return;
        if (cut === null) {
          expect(parsed).toHaveLength(rows.length);
          parsed.forEach((row, i) => {
            const reference = JSON.parse(rows[i]!) as unknown;
            expect(row).toEqual(reference);
            if (typeof row === 'object' && row !== null && !Array.isArray(row)) {
              // A "__proto__" key is an own data property, not the prototype.
              expect(Object.getPrototypeOf(row)).toBe(Object.prototype);
              expect(Reflect.ownKeys(row)).toEqual(Reflect.ownKeys(reference as object));
            }
          });
        }
        const problems = new ProblemCollector();
        const columns = columnsFromRows(definition, parsed, problems);
        if (problems.empty) {
          // Keys are plain data: a string under "constructor" is stored as that string, nothing inherited is.
          const stored = columns[2]!.toArray() as (string | null)[];
          parsed.forEach((row, i) => {
            const own = Object.hasOwn(row, 'constructor') ? row['constructor'] : null;
            expect(stored[i] ?? null).toBe(own ?? null);
          });
        }
        expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
        expect(({} as Record<string, unknown>)['isAdmin']).toBeUndefined();
      }),
      { seed: 0x70726f74, numRuns: 1_500 },
    );
    expect(prototypesState()).toBe(before);
  });

  it('a 10 MB value and 100,000-deep nesting in a row are data or a ParseError, within the bound', () => {
    const before = prototypesState();
    const cases = [
      `[{"id": 1, "ts": "2024-01-01", "constructor": "${TEN_MB}"}]`,
      `{"id": 1, "ts": "2024-01-01", "__proto__": ${deepJson(100_000)}}`,
      `[{"id": 1, "ts": "2024-01-01", "prototype": ${deepJson(100_000, '{"__proto__": {"polluted": 1}}')}}]`,
      deepJson(1_000_000),
      '{"__proto__": {"polluted": 1}}\n{"constructor": {"prototype": {"polluted": 1}}}',
    ];
    for (const text of cases) {
      let rows: Record<string, unknown>[] = [];
      const error = timed('json rows', () => {
        rows = parseJsonRows(text);
        columnsFromRows(definition, rows, new ProblemCollector());
      });
      expectOnly(error, ParseError, 'parseJsonRows');
      count('json rows', error === undefined ? 'parsed' : 'ParseError');
    }
    expect(prototypesState()).toBe(before);
  });
});

// --- Snapshot manifests and HEAD ---------------------------------------------------------------------------------------

describe('snapshot manifests and HEAD', () => {
  const hex = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(''));
  const nat = (max = 1_000_000): fc.Arbitrary<number> => fc.integer({ min: 0, max });
  const groupName = fc.stringMatching(/^[a-z][a-z0-9_]{0,12}$/);
  const entry = (ext: string) => fc.record({ sha: hex, size: nat(2 ** 40) }).map(({ sha, size }) => ({ key: `objects/${sha}.${ext}`, sha256: sha, size }));

  /** Disjoint, ordered commit ranges starting above 0. */
  const parts = fc.array(fc.tuple(entry('parquet'), fc.integer({ min: 1, max: 50 }), fc.nat(50), nat()), { maxLength: 4 }).map((list) => {
    let previous = 0;
    return list.map(([e, gap, length, rows]) => {
      const firstCommit = previous + gap;
      previous = firstCommit + length;
      return { ...e, rows, firstCommit, lastCommit: previous };
    });
  });
  const group = fc.record({ name: groupName, version: fc.integer({ min: 1, max: 9 }), parts, kinds: fc.array(fc.constantFrom('append', 'upsert', 'delete'), { maxLength: 3 }), replaced: fc.array(hex, { maxLength: 2 }) })
    .map(({ name, version, parts: p, kinds, replaced }) => ({
      name,
      version,
      parts: p,
      commits: kinds.map((kind, i) => ({ commitId: i + 1, group: name.toUpperCase(), version, kind, committedAt: 1_700_000_000_000 + i, rowCount: i, batchId: null, validation: null })),
      tombstones: replaced.length === 0 ? [] : [{ commitId: 9, committedAt: 1_700_000_000_009, rows: 3, replaced: replaced.map((s) => `objects/${s}.parquet`) }],
    }));
  const dataset = fc.record({ e: entry('parquet'), table: fc.stringMatching(/^td_[a-z0-9_]{1,12}$/), createdAt: nat(2 ** 45), rows: nat() }).map(({ e, ...rest }) => ({ ...e, ...rest }));
  const model = fc.record({ e: entry('bin'), name: groupName, version: fc.integer({ min: 1, max: 99 }) }).map(({ e, ...rest }) => ({ ...e, ...rest }));
  const include = fc.option(fc.record({ featureGroups: fc.array(groupName, { maxLength: 3 }), models: fc.array(groupName, { maxLength: 3 }) }, { requiredKeys: [] }));

  /** A valid manifest, with its own key (which its parent never equals). */
  const validManifest = fc
    .record({ own: hex, parent: fc.option(hex), store: groupName, createdAt: nat(2 ** 45), commitHigh: nat(), include, metadata: entry('json'), groups: fc.array(group, { maxLength: 3 }), datasets: fc.array(dataset, { maxLength: 2 }), models: fc.array(model, { maxLength: 2 }) })
    .filter(({ own, parent }) => own !== parent)
    .map(({ own, parent, ...rest }) => ({
      key: `manifests/${own}.json`,
      manifest: { format: 'larder-snapshot', formatVersion: 1, metadataSchema: 4, parent: parent === null ? null : `manifests/${parent}.json`, ...rest },
    }));

  /** Every object key a parsed manifest hands on: each must be inside the snapshot's own objects/ folder. */
  function keysOf(m: Manifest): string[] {
    return [m.metadata.key, ...m.groups.flatMap((g) => [...g.parts.map((p) => p.key), ...g.tombstones.flatMap((t) => t.replaced)]), ...m.datasets.map((d) => d.key), ...m.models.map((x) => x.key)];
  }
  const SAFE_OBJECT = /^objects\/[0-9a-f]{64}\.(parquet|json|bin)$/;

  /** Parses, timed; a result must keep every key safe and survive a second parse unchanged. */
  function parseChecked(key: string, bytes: Uint8Array, section = 'manifests'): { error: unknown; manifest?: Manifest } {
    let manifest: Manifest | undefined;
    const error = timed(section, () => {
      manifest = parseManifest(key, bytes);
    });
    expectOnly(error, SnapshotIntegrityError, 'parseManifest');
    if (error !== undefined) {
      expect((error as SnapshotIntegrityError).code).toBe('SNAPSHOT_INTEGRITY');
      expect((error as SnapshotIntegrityError).message.length).toBeLessThan(5_000);
      count(section, 'SnapshotIntegrityError');
      return { error };
    }
    count(section, 'accepted');
    for (const k of keysOf(manifest!)) expect(k).toMatch(SAFE_OBJECT);
    if (manifest!.parent !== null) expect(manifest!.parent).toMatch(/^manifests\/[0-9a-f]{64}\.json$/);
    expect(manifest!.parent).not.toBe(key);
    expect(parseManifest(key, utf8(canonicalJson(manifest)))).toEqual(manifest);
    return { error, manifest: manifest! };
  }

  it('valid manifests parse to themselves', () => {
    fc.assert(
      fc.property(validManifest, ({ key, manifest }) => {
        const { manifest: parsed } = parseChecked(key, utf8(JSON.stringify(manifest)));
        expect(parsed).toEqual({ ...manifest, include: manifest.include ?? null });
      }),
      { seed: 0x6d616e31, numRuns: 300 },
    );
  });

  /** Keys that leave the snapshot's objects/ folder, name another prefix, or smuggle in a byte: none is valid. */
  const hostileKeys = (sha: string, ext: string): string[] => [
    `../objects/${sha}.${ext}`, `objects/../objects/${sha}.${ext}`, `objects/../../${sha}.${ext}`, `/objects/${sha}.${ext}`,
    `https://evil.example/objects/${sha}.${ext}`, `//evil.example/objects/${sha}.${ext}`, `file:///objects/${sha}.${ext}`,
    `other-store/objects/${sha}.${ext}`, `manifests/${sha}.json`, `HEAD`, `objects\\${sha}.${ext}`, `objects/..\\${sha}.${ext}`,
    `objects/${sha}.${ext}\0`, `objects/${sha}\0.${ext}`, `\0objects/${sha}.${ext}`, `objects/${sha.toUpperCase()}.${ext}`,
    `objects/${sha}.${ext}/`, `objects/${sha}.${ext}?x-id=1`, `objects/${sha}.${ext}#x`, ` objects/${sha}.${ext}`,
    `objects/${sha}.${ext}\n`, `OBJECTS/${sha}.${ext}`, `objects/${sha.slice(1)}.${ext}`, `objects/${sha}0.${ext}`,
    `objects/%2e%2e/${sha}.${ext}`, `objects/${sha}.exe`, `objects/${sha}.${ext === 'bin' ? 'parquet' : 'bin'}`, '', LONG,
  ];
  const BAD_COUNTS = ['-1', '1.5', '-0.5', '9007199254740993', '1e400', '-1e400', '1e21', '"12"', 'null', 'true', '[]', '{}', '{"toString": 1}'];

  type Mutation = (m: Record<string, unknown>, own: string, choose: (n: number) => number) => string | undefined;
  /** A placeholder replaced by raw JSON text after stringifying (numbers JSON.stringify cannot write). */
  const RAW = '@@raw@@';
  const rawIn = (text: string, raw: string): string => text.replace(`"${RAW}"`, raw);

  const anyEntry = (m: Record<string, unknown>, choose: (n: number) => number): [Record<string, unknown>, string] => {
    const man = m as unknown as Manifest;
    const entries: [Record<string, unknown>, string][] = [[man.metadata as unknown as Record<string, unknown>, 'json']];
    for (const g of man.groups) for (const p of g.parts) entries.push([p as unknown as Record<string, unknown>, 'parquet']);
    for (const d of man.datasets) entries.push([d as unknown as Record<string, unknown>, 'parquet']);
    for (const x of man.models) entries.push([x as unknown as Record<string, unknown>, 'bin']);
    return entries[choose(entries.length)]!;
  };

  /** Each mutation makes a valid manifest invalid (or returns raw text that is). */
  const MUTATIONS: Record<string, Mutation> = {
    'hostile object key': (m, _own, choose) => {
      const [e, ext] = anyEntry(m, choose);
      const keys = hostileKeys(e['sha256'] as string, ext);
      e['key'] = keys[choose(keys.length)];
      return undefined;
    },
    'hostile replaced-part key': (m, _own, choose) => {
      const sha = 'ab'.repeat(32);
      const keys = [...hostileKeys(sha, 'parquet'), { toString: 1 }, 42, null, ['x']];
      (m['groups'] as unknown[]).push({ name: 'g', version: 1, parts: [], commits: [], tombstones: [{ commitId: 1, committedAt: 1, rows: 1, replaced: [keys[choose(keys.length)]] }] });
      return undefined;
    },
    'hostile parent': (m, own, choose) => {
      const parents = [`manifests/${own}.json`, ...hostileKeys(own, 'json').filter((k) => k !== `manifests/${own}.json`), 'manifests/x.json', 7, {}, ['manifests']];
      m['parent'] = parents[choose(parents.length)];
      return undefined;
    },
    'a SHA-256 that is not the key\'s': (m, _own, choose) => {
      const [e] = anyEntry(m, choose);
      const shas = ['0'.repeat(64), (e['sha256'] as string).toUpperCase(), (e['sha256'] as string).slice(1), `${e['sha256'] as string} `, null, 1];
      const sha = shas[choose(shas.length)];
      if (sha === e['sha256']) e['sha256'] = 'f'.repeat(63) + 'e';
      else e['sha256'] = sha;
      return undefined;
    },
    'an absurd count': (m, _own, choose) => {
      const man = m as unknown as Manifest;
      const places: Record<string, unknown>[] = [m, man.metadata as unknown as Record<string, unknown>];
      for (const g of man.groups) places.push(g as unknown as Record<string, unknown>, ...(g.parts as unknown as Record<string, unknown>[]), ...(g.tombstones as unknown as Record<string, unknown>[]));
      for (const d of man.datasets) places.push(d as unknown as Record<string, unknown>);
      for (const x of man.models) places.push(x as unknown as Record<string, unknown>);
      const place = places[choose(places.length)]!;
      const fields = ['size', 'rows', 'firstCommit', 'lastCommit', 'version', 'commitId', 'committedAt', 'createdAt', 'commitHigh'].filter((f) => f in place);
      place[fields[choose(fields.length)]!] = RAW;
      return rawIn(JSON.stringify(m), BAD_COUNTS[choose(BAD_COUNTS.length)]!);
    },
    'a size past 2^40': (m, _own, choose) => {
      anyEntry(m, choose)[0]['size'] = 2 ** 40 + 1 + choose(1000);
      return undefined;
    },
    'overlapping or reversed parts': (m, _own, choose) => {
      const p = (n: number, first: number, last: number) => ({ key: `objects/${String(n).repeat(64)}.parquet`, sha256: String(n).repeat(64), size: 1, rows: 1, firstCommit: first, lastCommit: last });
      const shapes = [[p(1, 1, 5), p(2, 5, 9)], [p(1, 4, 5), p(2, 1, 2)], [p(1, 3, 2)], [p(1, 0, 0)], [p(1, 1, 9), p(2, 2, 3)], [p(1, 1, 1), p(1, 1, 1)]];
      (m['groups'] as unknown[]).push({ name: 'overlap', version: 1, parts: shapes[choose(shapes.length)], commits: [], tombstones: [] });
      return undefined;
    },
    'a commit naming another group': (m, _own, choose) => {
      const commits = [{ commitId: 1, group: 'other', version: 1, kind: 'append' }, { commitId: 1, group: 'g', version: 2, kind: 'append' }, { commitId: 1, group: 'g', version: 1, kind: 'drop' }, { commitId: 1, group: 'g', version: 1, kind: { toString: 1 } }, { commitId: -1, group: 'g', version: 1, kind: 'append' }, 'commit'];
      (m['groups'] as unknown[]).push({ name: 'g', version: 1, parts: [], commits: [commits[choose(commits.length)]], tombstones: [] });
      return undefined;
    },
    'a foreign dataset table': (m, _own, choose) => {
      const tables = ['td_x; DROP TABLE t', '../td_x', 'TD_X', 'fg_weather_1', 'td_', 'td_x\0', 'td_x"', 7, LONG];
      (m['datasets'] as unknown[]).push({ key: `objects/${'c'.repeat(64)}.parquet`, sha256: 'c'.repeat(64), size: 1, table: tables[choose(tables.length)], createdAt: 1, rows: 1 });
      return undefined;
    },
    'a wrong format, version or schema': (m, _own, choose) => {
      const changes: [string, unknown][] = [['format', 'larder-snapshot-head'], ['format', undefined], ['formatVersion', 2], ['formatVersion', '1'], ['formatVersion', { toString: 1 }], ['metadataSchema', 3], ['metadataSchema', { valueOf: 1, toString: 1 }], ['metadataSchema', [4]]];
      const [field, value] = changes[choose(changes.length)]!;
      m[field] = value;
      return undefined;
    },
    'a list or field of the wrong type': (m, _own, choose) => {
      const fields = ['groups', 'datasets', 'models', 'metadata', 'include', 'store', 'parent'];
      const values = [{}, 'x', 7, true, { length: 1, 0: {} }, [[]], LONG];
      const field = fields[choose(fields.length)]!;
      let value = values[choose(values.length)];
      // An object is a valid include, and a short string a valid store name.
      if (field === 'include' && typeof value === 'object' && !Array.isArray(value)) value = [[]];
      if (field === 'store' && value === 'x') value = 8;
      m[field] = value;
      return undefined;
    },
    'an over-long string where a name goes': (m, _own, choose) => {
      const man = m as unknown as Manifest;
      if (man.groups.length > 0 && choose(2) === 0) (man.groups[0] as unknown as Record<string, unknown>)['name'] = LONG;
      else m['store'] = LONG;
      return undefined;
    },
    'deep nesting': (m, _own, choose) => {
      const fields = ['groups', 'datasets', 'models', 'include', 'metadata'];
      m[fields[choose(fields.length)]!] = RAW;
      return rawIn(JSON.stringify(m), deepJson(1_000 + choose(5_000), '{}'));
    },
    'not JSON': (m, _own, choose) => {
      const text = JSON.stringify(m);
      const variants = [text.slice(0, choose(text.length)), `${text}}`, text.replace('{', '{,'), `${text.slice(0, -1)},}`, '', 'null', '[]', '"larder-snapshot"', `\ufeff\ufeff${text}`, `${text}\0`];
      return variants[choose(variants.length)];
    },
  };

  it('every mutation of a valid manifest is refused with SnapshotIntegrityError', () => {
    const names = Object.keys(MUTATIONS);
    fc.assert(
      fc.property(validManifest, fc.constantFrom(...names), fc.infiniteStream(fc.nat()), ({ key, manifest }, name, choices) => {
        const m = structuredClone(manifest) as unknown as Record<string, unknown>;
        const choose = (n: number): number => (n <= 0 ? 0 : choices.next().value % n);
        const raw = MUTATIONS[name]!(m, key.slice('manifests/'.length, -'.json'.length), choose);
        const { error } = parseChecked(key, utf8(raw ?? JSON.stringify(m)));
        expect(error, `${name}: ${(raw ?? JSON.stringify(m)).slice(0, 300)}`).toBeInstanceOf(SnapshotIntegrityError);
        count('manifest mutations', name);
      }),
      { seed: 0x6d616e32, numRuns: 1_500 },
    );
    for (const name of names) expect(tally['manifest mutations']![name], name).toBeGreaterThan(20);
  });

  it('random byte damage and arbitrary JSON end in SnapshotIntegrityError or a manifest that is safe', () => {
    fc.assert(
      fc.property(validManifest, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), ({ key, manifest }, edits) => {
        const bytes = utf8(JSON.stringify(manifest));
        for (const [at, value] of edits) bytes[at % bytes.length] = value;
        parseChecked(key, bytes, 'manifest byte damage');
      }),
      { seed: 0x6d616e33, numRuns: 1_000 },
    );
    const key = `manifests/${'e'.repeat(64)}.json`;
    fc.assert(
      fc.property(fc.oneof(fc.json(), fc.string({ unit: 'binary' }), fc.uint8Array().map((b) => new TextDecoder().decode(b))), (text) => {
        parseChecked(key, utf8(text), 'manifest arbitrary');
      }),
      { seed: 0x6d616e34, numRuns: 1_000 },
    );
    // Bytes that are not UTF-8 at all.
    for (const bytes of [Uint8Array.of(0xff, 0xfe, 0x7b, 0x7d), Uint8Array.of(0x7b, 0xc3, 0x28, 0x7d), Uint8Array.of(0xef, 0xbb, 0xbf), new Uint8Array(1024)]) {
      expect(parseChecked(key, bytes, 'manifest arbitrary').error).toBeInstanceOf(SnapshotIntegrityError);
    }
  });

  it('regression: a field whose own toString is not a function is an integrity error, not a TypeError', () => {
    // parseManifest used String() on untrusted values for its messages; {"toString": 1} made that throw TypeError.
    const key = `manifests/${'a'.repeat(64)}.json`;
    const base = { format: 'larder-snapshot', formatVersion: 1, metadataSchema: 4, parent: null };
    const tombstone = { commitId: 1, committedAt: 1, rows: 1, replaced: [{ toString: 1 }] };
    for (const value of [
      { ...base, formatVersion: { toString: 1 } },
      { ...base, metadataSchema: { toString: 1, valueOf: 1 } },
      { ...base, groups: [{ name: 'g', version: 1, parts: [], commits: [], tombstones: [tombstone] }] },
    ]) {
      expect(timed('manifests', () => parseManifest(key, utf8(JSON.stringify(value))))).toBeInstanceOf(SnapshotIntegrityError);
    }
  });

  it('a manifest key that is not manifests/<sha256>.json is refused before its bytes are read', () => {
    const body = utf8('{}');
    for (const key of [...hostileKeys('d'.repeat(64), 'json').filter((k) => !k.startsWith('manifests/')), `manifests/${'d'.repeat(64)}.json/../x`, `../manifests/${'d'.repeat(64)}.json`]) {
      const error = timed('manifests', () => parseManifest(key, body));
      expect(error, JSON.stringify(key.slice(0, 80))).toBeInstanceOf(SnapshotIntegrityError);
    }
  });

  it('10 MB strings and deep nesting, in a manifest and in HEAD, are refused within the bound', () => {
    const own = 'a'.repeat(64);
    const key = `manifests/${own}.json`;
    const head = { format: 'larder-snapshot-head', manifest: `manifests/${own}.json`, createdAt: 1 };
    const manifest = {
      format: 'larder-snapshot', formatVersion: 1, metadataSchema: 4, parent: null, store: 's', createdAt: 1, commitHigh: 0, include: null,
      metadata: { key: `objects/${'b'.repeat(64)}.json`, sha256: 'b'.repeat(64), size: 1 }, groups: [], datasets: [], models: [],
    };
    const texts = [
      JSON.stringify({ ...manifest, store: TEN_MB }),
      JSON.stringify({ ...manifest, metadata: { ...manifest.metadata, key: `objects/${'b'.repeat(64)}.json${TEN_MB}` } }),
      JSON.stringify({ ...manifest, parent: `manifests/${TEN_MB}.json` }),
      JSON.stringify({ ...manifest, groups: [{ name: TEN_MB, version: 1, parts: [], commits: [], tombstones: [] }] }),
      JSON.stringify(manifest).replace('"groups":[]', `"groups":${deepJson(100_000, '{}')}`),
      JSON.stringify(manifest).replace('"include":null', `"include":${deepJson(1_000_000)}`),
      deepJson(1_000_000, '{}'),
      `{${'"a":1,'.repeat(1_000_000)}"format":"larder-snapshot"}`,
    ];
    for (const text of texts) expect(parseChecked(key, utf8(text)).error).toBeInstanceOf(SnapshotIntegrityError);
    for (const text of [JSON.stringify({ ...head, manifest: TEN_MB }), JSON.stringify({ ...head, format: TEN_MB }), deepJson(1_000_000), `"${TEN_MB}"`]) {
      expect(timed('HEAD', () => parseHead(utf8(text)))).toBeInstanceOf(SnapshotIntegrityError);
    }
  });

  it('HEAD: valid pointers parse, every hostile one is refused', () => {
    const validHead = fc.record({ sha: hex, createdAt: nat(2 ** 45) }).map(({ sha, createdAt }) => ({ format: 'larder-snapshot-head', manifest: `manifests/${sha}.json`, createdAt }));
    fc.assert(
      fc.property(validHead, (head) => {
        let parsed: unknown;
        const error = timed('HEAD', () => {
          parsed = parseHead(utf8(JSON.stringify(head)));
        });
        expect(error).toBeUndefined();
        expect(parsed).toEqual(head);
        count('HEAD', 'accepted');
      }),
      { seed: 0x68656164, numRuns: 200 },
    );
    const hostile = fc.tuple(validHead, fc.nat(), fc.nat()).map(([head, a, b]) => {
      const keys = [...hostileKeys(head.manifest.slice(10, 74), 'json').filter((k) => k !== head.manifest), `../${head.manifest}`, `${head.manifest}/..`, 7, null, {}, [head.manifest]];
      const variants: string[] = [
        JSON.stringify({ ...head, manifest: keys[a % keys.length] }),
        rawIn(JSON.stringify({ ...head, createdAt: RAW }), BAD_COUNTS[b % BAD_COUNTS.length]!),
        JSON.stringify({ ...head, format: 'larder-snapshot' }),
        JSON.stringify([head]),
        JSON.stringify(head).slice(0, b % JSON.stringify(head).length),
        deepJson(1_000 + (b % 5_000)),
        JSON.stringify({ ...head, manifest: LONG }),
      ];
      return variants[(a + b) % variants.length]!;
    });
    fc.assert(
      fc.property(hostile, (text) => {
        const error = timed('HEAD', () => parseHead(utf8(text)));
        expect(error, text.slice(0, 200)).toBeInstanceOf(SnapshotIntegrityError);
        count('HEAD', 'SnapshotIntegrityError');
      }),
      { seed: 0x68656164, numRuns: 500 },
    );
  });

  it('snapshot metadata: anything is registry records or SnapshotIntegrityError', () => {
    const key = `objects/${'f'.repeat(64)}.json`;
    const records = fc.dictionary(fc.constantFrom('featureGroups', 'commits', 'statistics', 'featureViews', 'trainingDatasets', 'runs', 'models', 'modelNames', 'aliases', 'aliasHistory', 'pipelines', 'pipelineRuns', '__proto__', 'constructor'), fc.oneof(fc.array(fc.jsonValue(), { maxLength: 2 }), fc.jsonValue()));
    const before = prototypesState();
    fc.assert(
      fc.property(fc.oneof(records.map((r) => JSON.stringify(r)), fc.json(), fc.string()), (text) => {
        const error = timed('metadata', () => parseMetadata(key, utf8(text)));
        expectOnly(error, SnapshotIntegrityError, 'parseMetadata');
        count('metadata', error === undefined ? 'accepted' : 'SnapshotIntegrityError');
      }),
      { seed: 0x6d657461, numRuns: 500 },
    );
    expect(prototypesState()).toBe(before);
  });
});

// --- Model artifacts ----------------------------------------------------------------------------------------------------

describe('1,000 mutants of a valid model artifact', () => {
  const BYTES_PER = { float32: 4, int32: 4, bool: 1 } as Record<string, number>;
  type Spec = { name: string; shape: number[]; dtype: string };
  type Doc = ModelJsonFixture['json'];

  /** The import path a model.json takes (ModelRegistry.importModel), then the load path's hash check. */
  async function importAndLoad(text: string, shards: ArrayBuffer[], sha: string): Promise<ValidatedArtifacts> {
    const parsed = parseModelJson(text);
    const weightData = assembleShards(shards, parsed.weightBytes);
    const checked = validateArtifacts({ modelTopology: parsed.modelTopology, weightSpecs: parsed.weightSpecs, weightData, trainingConfig: parsed.trainingConfig });
    await verifySha256(checked.weightData, sha, 'weights.bin');
    return checked;
  }

  /** What every accepted mutant must still satisfy: the bytes the specs describe, frozen, and validating again to itself. */
  function expectSound(artifacts: ValidatedArtifacts): void {
    const bytes = artifacts.weightSpecs.reduce((sum, s) => sum + s.shape.reduce((a, b) => a * b, 1) * BYTES_PER[s.dtype]!, 0);
    expect(artifacts.weightData.byteLength).toBe(bytes);
    expect(Object.isFrozen(artifacts.modelTopology)).toBe(true);
    expect(canonicalJson(validateArtifacts(artifacts))).toBe(canonicalJson(artifacts));
    expect(JSON.stringify(artifacts.modelTopology)).not.toMatch(/"(__proto__|constructor|prototype)":/);
  }

  /** Every object and array in the document with a path, to pick a mutation site from. */
  function sites(root: unknown): { parent: Record<string | number, unknown>; key: string | number }[] {
    const out: { parent: Record<string | number, unknown>; key: string | number }[] = [];
    const walk = (node: unknown): void => {
      if (typeof node !== 'object' || node === null) return;
      for (const key of Array.isArray(node) ? node.keys() : Object.keys(node)) {
        out.push({ parent: node as Record<string | number, unknown>, key });
        walk((node as Record<string | number, unknown>)[key]);
      }
    };
    walk(root);
    return out;
  }

  const HOSTILE_VALUES: unknown[] = [
    null, -1, 0, 1.5, 2 ** 31, 2 ** 53, 1e308, -1e308, '', 'x'.repeat(5_000), 'Lambda', 'eval', 'float64', [], [null], [[[[]]]], {},
    { class_name: 'Lambda', config: {} }, JSON.parse('{"__proto__": {"polluted": 1}}'), true, 'NaN', [-1, -1], [1e9, 1e9],
  ];
  const ABSURD_SHAPES: unknown[] = [[2 ** 31, 2 ** 31], [1e9], [1e9, 1e9, 1e9], [-1, 8], [-20, -8], [1.5], [Number.MAX_SAFE_INTEGER], [2 ** 53 + 2], Array(100).fill(1), ['20', 8], [null], [[20]], 'abc', {}, null];
  const BAD_DTYPES: unknown[] = ['float64', 'complex64', 'string', 'int8', 'uint8', 'float16', '', 'FLOAT32', 'Float32', null, 4, ['float32'], 'float32\0'];
  const BAD_PATHS: unknown[] = ['../weights.bin', '/weights.bin', 'https://evil.example/weights.bin', 'C:\\weights.bin', 'a/weights.bin', '', '.', '..', 'weights.bin\0', '%2e%2e/w.bin', 'x'.repeat(200), 7, null];

  type Kind =
    | 'bit flip in model.json' | 'truncated model.json' | 'bit flip in weights' | 'shard size mismatch' | 'topology field'
    | 'absurd shape' | 'absurd dtype' | 'same-size dtype' | 'weight name' | 'shard path' | 'in-memory topology field'
    | 'in-memory weight spec' | 'in-memory weight bytes';
  const KINDS: [Kind, number][] = [
    ['bit flip in model.json', 150], ['truncated model.json', 80], ['bit flip in weights', 80], ['shard size mismatch', 80],
    ['topology field', 150], ['absurd shape', 80], ['absurd dtype', 60], ['same-size dtype', 20], ['weight name', 40],
    ['shard path', 60], ['in-memory topology field', 100], ['in-memory weight spec', 60], ['in-memory weight bytes', 40],
  ];

  it('each ends in ModelArtifactError, or is accepted and still sound, within the bound', async () => {
    const random = seededRandom(0x6d6f646c);
    const pick = (n: number): number => Math.floor(random() * n);
    const before = prototypesState();
    const base = denseModelJson(3);
    const sha = await sha256Hex(base.shards[0]!);
    const functional = functionalArtifacts(4);
    let total = 0;
    for (const [kind, n] of KINDS) {
      for (let i = 0; i < n; i++) {
        total++;
        const doc = structuredClone<Doc>(base.json);
        const specs = doc.weightsManifest[0]!.weights as Spec[];
        let text = JSON.stringify(doc);
        let shards = [base.shards[0]!.slice(0)];
        /** Whether the mutant is certainly invalid (else it may be accepted, and must then be sound). */
        let invalid = true;
        let run: () => Promise<ValidatedArtifacts> = () => importAndLoad(text, shards, sha);
        switch (kind) {
          case 'bit flip in model.json': {
            const at = pick(text.length);
            text = text.slice(0, at) + String.fromCharCode(text.charCodeAt(at) ^ (1 << pick(7))) + text.slice(at + 1);
            invalid = false;
            break;
          }
          case 'truncated model.json':
            text = text.slice(0, pick(text.length));
            break;
          case 'bit flip in weights': {
            const bytes = new Uint8Array(shards[0]!);
            bytes[pick(bytes.length)]! ^= 1 << pick(8);
            break;
          }
          case 'shard size mismatch': {
            const bytes = new Uint8Array(shards[0]!);
            const delta = (1 + pick(64)) * (pick(2) === 0 ? -1 : 1);
            const resized = new Uint8Array(Math.max(0, bytes.length + delta));
            resized.set(bytes.subarray(0, resized.length));
            shards = pick(4) === 0 ? [resized.buffer, new ArrayBuffer(pick(3))] : [resized.buffer];
            if (shards.length === 2 && resized.length + shards[1]!.byteLength === bytes.length) shards = [resized.buffer];
            break;
          }
          case 'topology field': {
            const all = sites(doc.modelTopology);
            const site = all[pick(all.length)]!;
            if (pick(5) === 0) delete site.parent[site.key];
            else site.parent[site.key] = structuredClone(HOSTILE_VALUES[pick(HOSTILE_VALUES.length)]);
            text = JSON.stringify(doc);
            invalid = false;
            break;
          }
          case 'absurd shape':
            specs[pick(specs.length)]!.shape = ABSURD_SHAPES[pick(ABSURD_SHAPES.length)] as number[];
            text = JSON.stringify(doc);
            break;
          case 'absurd dtype': {
            const spec = specs[pick(specs.length)]!;
            spec.dtype = BAD_DTYPES[pick(BAD_DTYPES.length)] as string;
            text = JSON.stringify(doc);
            break;
          }
          case 'same-size dtype':
            // int32 has float32's size: structurally valid (tfjs reads other numbers, which the hash check catches on load).
            specs[pick(specs.length)]!.dtype = 'int32';
            text = JSON.stringify(doc);
            invalid = false;
            break;
          case 'weight name': {
            const spec = specs[pick(specs.length)]!;
            const names: unknown[] = [specs[(specs.indexOf(spec) + 1) % specs.length]!.name, '', 'x'.repeat(300), 7, null, ['a']];
            spec.name = names[pick(names.length)] as string;
            text = JSON.stringify(doc);
            break;
          }
          case 'shard path':
            doc.weightsManifest[0]!.paths = [BAD_PATHS[pick(BAD_PATHS.length)] as string];
            text = JSON.stringify(doc);
            break;
          case 'in-memory topology field': {
            const topology = structuredClone(functional.modelTopology);
            const all = sites(topology);
            const site = all[pick(all.length)]!;
            site.parent[site.key] = structuredClone(HOSTILE_VALUES[pick(HOSTILE_VALUES.length)]);
            invalid = false;
            run = () => Promise.resolve(validateArtifacts({ ...functional, modelTopology: topology, weightData: functional.weightData.slice(0) }));
            break;
          }
          case 'in-memory weight spec': {
            const memSpecs = structuredClone(functional.weightSpecs) as Spec[];
            const spec = memSpecs[pick(memSpecs.length)]!;
            if (pick(2) === 0) spec.shape = ABSURD_SHAPES[pick(ABSURD_SHAPES.length)] as number[];
            else spec.dtype = BAD_DTYPES[pick(BAD_DTYPES.length)] as string;
            run = () => Promise.resolve(validateArtifacts({ ...functional, weightSpecs: memSpecs, weightData: functional.weightData.slice(0) }));
            break;
          }
          case 'in-memory weight bytes': {
            const length = functional.weightData.byteLength + (1 + pick(16)) * (pick(2) === 0 ? -1 : 1);
            const data: unknown[] = [new ArrayBuffer(length), new Uint8Array(length), new Float32Array(3), 'bytes', null, [new ArrayBuffer(4)]];
            const weightData = data[pick(data.length)];
            run = () => Promise.resolve(validateArtifacts({ ...functional, weightData }));
            break;
          }
        }
        let result: ValidatedArtifacts | undefined;
        const error = await timedAsync('model artifacts', async () => {
          result = await run();
        });
        expectOnly(error, ModelArtifactError, `${kind} #${i}`);
        if (error === undefined) {
          expect(invalid, `${kind} #${i} was accepted: ${text.slice(0, 300)}`).toBe(false);
          expectSound(result!);
          count('model artifacts', `${kind}: accepted`);
        } else {
          const reason = (error as ModelArtifactError).details['reason'];
          expect(reason, `${kind} #${i}`).toEqual(expect.any(String));
          if (kind === 'bit flip in weights') expect(reason).toBe('hash-mismatch');
          count('model artifacts', `${kind}: refused`);
        }
      }
    }
    expect(total).toBe(1_000);
    expect(prototypesState()).toBe(before);
    // The bit flips and field mutations are not all harmless: most of them are refused.
    const outcomes = tally['model artifacts']!;
    expect(outcomes['bit flip in model.json: refused'] ?? 0).toBeGreaterThan(50);
    expect(outcomes['topology field: refused'] ?? 0).toBeGreaterThan(50);
  });
});
