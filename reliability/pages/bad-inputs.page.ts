// In-page half of the bad-inputs drill (reliability/bad-inputs.reliability.ts): the hostile-input corpus of issue 10,
// generated here (the generators of test/unit/hostile-input.node.test.ts and test/browser/hostile-input.browser.test.ts
// live inside those test files; these are smaller re-implementations), sent through the public API of a real store.
// Every case must end within its time bound, either refused with a LarderError or — where the input may be valid —
// accepted soundly; a refused case must leave the store as it was.
import { Float64, Int32, Table, Utf8, vectorFromArray } from 'apache-arrow';
import type * as Larder from '../../src/index.ts';
import { denseArtifacts, denseModelJson, functionalArtifacts, type ArtifactFixture } from '../../test/support/artifact-fixtures.ts';
import { toParquet } from '../../test/support/data-all-types.ts';
import { seededRandom } from '../random.ts';

interface DrillWindow {
  drillStore?: Larder.FeatureStore;
}

export interface CategoryStats {
  tried: number;
  refused: number;
  accepted: number;
  crashes: number;
  hangs: number;
  changedStores: number;
  wrongVerdicts: number;
  slowestMs: number;
  examples: string[];
}

const NAME_RULE = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
const MB = 1024 * 1024;
const encode = (text: string): Uint8Array<ArrayBuffer> => new TextEncoder().encode(text);

function store(): Larder.FeatureStore {
  const s = (window as DrillWindow).drillStore;
  if (s === undefined) throw new Error('the drill store is not open');
  return s;
}

const json = (value: unknown): string =>
  JSON.stringify(value, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v instanceof ArrayBuffer || ArrayBuffer.isView(v) ? `bytes:${(v as ArrayBuffer).byteLength}` : v));

/** What a store holds, as text: groups with their ledgers and rows (the drill's groups are small), views, models. */
async function stateOf(s: Larder.FeatureStore): Promise<string> {
  const groups = [];
  for (const d of await s.listFeatureGroups()) {
    const g = await s.getFeatureGroup(d.name, d.version);
    groups.push({ d: d.name, v: d.version, commits: await g.commits(), rows: (await g.read({ withCommitIds: true })).toArray().map((r: { toJSON(): unknown }) => r.toJSON()) });
  }
  const models = (await s.models.list()).map((m) => [m.name, m.version, m.artifact.sha256]);
  return json({ groups, views: await s.listFeatureViews(), models });
}

class Counter {
  readonly stats: CategoryStats = { tried: 0, refused: 0, accepted: 0, crashes: 0, hangs: 0, changedStores: 0, wrongVerdicts: 0, slowestMs: 0, examples: [] };
  note(text: string): void {
    if (this.stats.examples.length < 8) this.stats.examples.push(text.slice(0, 400));
  }

  /**
   * Runs one case within `boundMs`. `expect`: 'refuse' (a LarderError is the only right end), 'either' (a LarderError,
   * or acceptance that `sound` then checks). A non-Larder error is a crash. For refused cases, `state` (when given)
   * must read the same before and after.
   */
  async run(what: string, call: () => Promise<unknown>, options: { boundMs: number; expect: 'refuse' | 'either' | 'accept'; state?: () => Promise<string>; sound?: (value: unknown) => Promise<string | null>; isRight?: (error: unknown) => boolean }): Promise<void> {
    this.stats.tried++;
    const before = options.state === undefined ? null : await options.state();
    const started = performance.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const outcome = await Promise.race([
      call().then((value) => ({ kind: 'accepted' as const, value }), (error: unknown) => ({ kind: 'error' as const, error })),
      new Promise<{ kind: 'hang' }>((resolve) => (timer = setTimeout(() => resolve({ kind: 'hang' }), options.boundMs))),
    ]);
    clearTimeout(timer);
    const ms = performance.now() - started;
    this.stats.slowestMs = Math.max(this.stats.slowestMs, Math.round(ms));
    if (outcome.kind === 'hang') {
      this.stats.hangs++;
      this.note(`${what}: no answer within ${options.boundMs} ms`);
      return;
    }
    if (outcome.kind === 'error') {
      const error = outcome.error as { code?: unknown; name?: string; message?: string };
      if (!(outcome.error instanceof window.larder.LarderError)) {
        this.stats.crashes++;
        this.note(`${what}: untyped ${error?.name ?? typeof error}: ${typeof error?.message === 'string' ? error.message : typeof error}`);
        return;
      }
      this.stats.refused++;
      if (options.expect === 'accept' || (options.isRight !== undefined && !options.isRight(outcome.error))) {
        this.stats.wrongVerdicts++;
        this.note(`${what}: refused with ${error.name} ${String(error.code)}: ${String(error.message).slice(0, 200)}`);
      }
      if (before !== null && (await options.state!()) !== before) {
        this.stats.changedStores++;
        this.note(`${what}: refused (${error.name}) but the store changed`);
      }
      return;
    }
    this.stats.accepted++;
    if (options.expect === 'refuse') {
      this.stats.wrongVerdicts++;
      this.note(`${what}: accepted`);
      return;
    }
    let soundTimer: ReturnType<typeof setTimeout> | undefined;
    const problem = options.sound === undefined ? null : await Promise.race([
      options.sound(outcome.value),
      new Promise<string>((resolve) => (soundTimer = setTimeout(() => resolve(`hang: no answer from using it within ${options.boundMs} ms`), options.boundMs))),
    ]);
    clearTimeout(soundTimer);
    if (problem?.startsWith('hang') === true) {
      this.stats.hangs++;
      this.note(`${what}: accepted, but ${problem}`);
      return;
    }
    if (problem !== null) {
      // Accepted, then failing later with an error that is not a LarderError: a crash deferred to the next call.
      if (problem.startsWith('untyped')) this.stats.crashes++;
      else this.stats.wrongVerdicts++;
      this.note(`${what}: accepted, but ${problem}`);
    }
  }
}

const GROUP = { version: 1, primaryKey: 'id', eventTime: 'ts', features: { id: 'int32', ts: 'timestamp', x: 'float64', s: 'string' } } as const;
const HEADER = 'id,ts,x,s';
const csvRow = (i: number): string => `${i},2024-03-${String(1 + (i % 28)).padStart(2, '0')}T10:00:00Z,${i * 1.5},"row ${i}"`;
const csvOf = (from: number, n: number): string => [HEADER, ...Array.from({ length: n }, (_, i) => csvRow(from + i))].join('\n') + '\n';

let scratchCount = 0;
async function target(): Promise<Larder.FeatureGroup> {
  const s = store();
  const found = (await s.listFeatureGroups()).find((d) => d.name === 'target');
  if (found !== undefined) return s.getFeatureGroup('target', 1);
  const g = await s.createFeatureGroup({ name: 'target', ...GROUP });
  await g.insert(encode(csvOf(0, 5)), { format: 'csv' });
  return g;
}
async function scratch(): Promise<Larder.FeatureGroup> {
  return store().createFeatureGroup({ name: `scratch_${Date.now().toString(36)}_${++scratchCount}`, ...GROUP });
}

/** Names: `count` generated strings through lookup (all of them) and through a group's column names (some). */
export async function names({ count, seed }: { count: number; seed: number }): Promise<CategoryStats> {
  const random = seededRandom(seed);
  const alphabet = ['a', 'Z', '_', '0', '9', ' ', '-', '.', '"', "'", ';', '\\', '/', '\0', '\n', 'é', 'ß', 'İ', '😀', '\u202e', '%', '*', '$', '`', '[', ']'];
  const generated: string[] = ['', 'a'.repeat(64), 'a'.repeat(65), 'select', 'DROP TABLE x', '__proto__', 'constructor', '_a', '1a', 'a b', 'a;b', 'a"b', 'A'];
  while (generated.length < count) {
    const plain = random() < 0.5;
    const length = Math.floor(random() * (plain ? 70 : 20));
    let name = plain ? 'abcdefghij'[Math.floor(random() * 10)]! : '';
    for (let i = 0; i < length; i++) name += plain && random() < 0.9 ? 'abcXYZ019_'[Math.floor(random() * 10)]! : alphabet[Math.floor(random() * alphabet.length)]!;
    generated.push(name);
  }
  const counter = new Counter();
  const s = store();
  await target();
  const state = () => stateOf(s);
  const initial = await state();
  for (const name of generated) {
    const valid = NAME_RULE.test(name);
    await counter.run(`lookup of ${JSON.stringify(name)}`, () => s.getFeatureGroup(name, 1), {
      boundMs: 10_000, expect: 'refuse',
      isRight: (e) => (e as { code?: string }).code === (valid ? 'NOT_FOUND' : 'INVALID_NAME'),
    });
  }
  if ((await state()) !== initial) {
    counter.stats.changedStores++;
    counter.note('lookups changed the store');
  }
  // Some of them as a column name of a new group: created exactly when the name follows the rule.
  for (const name of generated.slice(0, Math.min(300, generated.length))) {
    const valid = NAME_RULE.test(name) && !['id', 'ts', 'x', 's'].includes(name.toLowerCase());
    await counter.run(`column ${JSON.stringify(name)}`, () => s.createFeatureGroup({ name: `cols_${++scratchCount}`, version: 1, primaryKey: 'id', eventTime: 'ts', features: { id: 'int32', ts: 'timestamp', [name]: 'float64' } }), {
      boundMs: 10_000, expect: valid ? 'accept' : 'refuse', state: valid ? undefined : state,
      isRight: (e) => (e as { code?: string }).code === 'INVALID_NAME',
    });
  }
  return counter.stats;
}

/** CSV: a huge line, a million columns, unbalanced quotes, a BOM, NUL bytes. */
export async function csv({ hugeLineBytes }: { hugeLineBytes: number }): Promise<CategoryStats> {
  const counter = new Counter();
  const t = await target();
  const s = store();
  const state = () => stateOf(s);
  const refuse = (what: string, bytes: Uint8Array<ArrayBuffer>, boundMs = 10_000) =>
    counter.run(what, () => t.insert(bytes, { format: 'csv', transfer: true }), { boundMs, expect: 'refuse', state });
  // One line of hugeLineBytes in the float column (unquoted and quoted), and a file that is that one line.
  for (const variant of ['unquoted', 'quoted', 'whole file'] as const) {
    const head = encode(variant === 'whole file' ? '' : `${HEADER}\n1,2024-03-02T10:00:00Z,${variant === 'quoted' ? '"' : ''}`);
    const tail = encode(variant === 'whole file' ? '' : `${variant === 'quoted' ? '"' : ''},"s"\n`);
    const bytes = new Uint8Array(head.length + hugeLineBytes + tail.length);
    bytes.set(head);
    bytes.fill(0x37, head.length, head.length + hugeLineBytes);
    bytes.set(tail, head.length + hugeLineBytes);
    await refuse(`${hugeLineBytes / MB} MB line (${variant})`, bytes, 120_000);
  }
  // A million columns: without the group's columns (refused) and with them first (may be stored: extra columns are ignored).
  const million = Array.from({ length: 1_000_000 }, (_, i) => `c${i}`).join(',');
  await refuse('10^6 columns, none of the group', encode(`${million}\n${Array(1_000_000).fill('1').join(',')}\n`), 60_000);
  const wide = await scratch();
  await counter.run('10^6 columns after the group\'s', () => wide.insert(encode(`${HEADER},${million}\n${csvRow(1)},${Array(1_000_000).fill('1').join(',')}\n`), { format: 'csv' }), {
    boundMs: 60_000, expect: 'either', sound: async () => ((await wide.read()).numRows === 1 ? null : 'the row is not stored once'),
  });
  for (const [what, text] of [
    ['unterminated quote', `${HEADER}\n1,2024-03-02T10:00:00Z,1.5,"never closed\n2,2024-03-03T10:00:00Z,3,"b"\n`],
    ['quote inside a number', `${HEADER}\n1,2024-03-02T10:00:00Z,1"5,"a"\n`],
    ['stray quote in the header', `"id,ts,x,s\n1,2024-03-02T10:00:00Z,1.5,"a"\n`],
    ['doubled quotes then an unclosed one', `${HEADER}\n1,2024-03-02T10:00:00Z,1.5,"a""b\n`],
    ['NUL in the key', `${HEADER}\n1\0,2024-03-02T10:00:00Z,1.5,"a"\n`],
    ['NUL in the event time', `${HEADER}\n1,2024-03-02\0T10:00:00Z,1.5,"a"\n`],
    ['NUL in the header', `id\0,ts,x,s\n1,2024-03-02T10:00:00Z,1.5,"a"\n`],
    ['only NUL bytes', '\0'.repeat(4096)],
  ] as const) await refuse(what, encode(text));
  // May be stored: a byte-order mark (must be), a NUL inside a quoted string value.
  const bom = await scratch();
  await counter.run('byte-order mark', () => bom.insert(encode(`\uFEFF${csvOf(0, 3)}`), { format: 'csv' }), {
    boundMs: 10_000, expect: 'accept',
    sound: async () => {
      const ids = Array.from((await bom.read()).getChild('id')!.toArray() as Int32Array, Number);
      return ids.join() === '0,1,2' ? null : `read back ids ${ids.join()}`;
    },
  });
  const nul = await scratch();
  await counter.run('NUL inside a quoted value', () => nul.insert(encode(`${HEADER}\n1,2024-03-02T10:00:00Z,1.5,"a\0b"\n`), { format: 'csv' }), {
    boundMs: 10_000, expect: 'either', sound: async () => ((await nul.read()).numRows === 1 ? null : 'not one row'),
  });
  return counter.stats;
}

/** Parquet: truncated footers, bad magic numbers, absurd declared footer sizes, random damage in the footer. */
export async function parquet({ damaged, seed }: { damaged: number; seed: number }): Promise<CategoryStats> {
  const counter = new Counter();
  const t = await target();
  const s = store();
  const state = () => stateOf(s);
  const ids = Array.from({ length: 200 }, (_, i) => 100 + i);
  const good = await toParquet(new Table({
    id: vectorFromArray(ids, new Int32()),
    ts: vectorFromArray(ids.map((i) => `2024-03-${String(1 + (i % 28)).padStart(2, '0')}T10:00:00Z`), new Utf8()),
    x: vectorFromArray(ids.map((i) => i * 1.5), new Float64()),
    s: vectorFromArray(ids.map((i) => `row ${i}`), new Utf8()),
  }));
  const footer = new DataView(good.buffer).getUint32(good.length - 8, true);
  const refuse = (what: string, bytes: Uint8Array<ArrayBuffer>) => counter.run(what, () => t.insert(bytes, { format: 'parquet' }), { boundMs: 10_000, expect: 'refuse', state });
  for (const cut of [1, 4, 7, 8, 9, 12, Math.floor(footer / 2), footer, footer + 7, good.length - 4, good.length - 1]) await refuse(`cut ${cut} bytes off the end`, good.slice(0, good.length - cut));
  const magic = (offset: number, text: string) => {
    const copy = good.slice();
    copy.set(encode(text), offset);
    return copy;
  };
  await refuse('bad magic at the start', magic(0, 'PAR0'));
  await refuse('bad magic at the end', magic(good.length - 4, 'PARX'));
  const neither = magic(0, 'XXXX');
  neither.set(encode('XXXX'), neither.length - 4);
  await refuse('both magics wrong', neither);
  await refuse('just the magics', encode('PAR1PAR1'));
  for (const length of [0, 1, good.length, good.length - 7, 0x7fffffff, 0xffffffff, 2 ** 31]) {
    const copy = good.slice();
    new DataView(copy.buffer).setUint32(copy.length - 8, length >>> 0, true);
    await refuse(`declared footer length ${length}`, copy);
  }
  // Random damage inside the footer: refused, or it still decodes into rows (then into a scratch group).
  const random = seededRandom(seed);
  for (let i = 0; i < damaged; i++) {
    const copy = good.slice();
    const flips = 1 + Math.floor(random() * 4);
    for (let f = 0; f < flips; f++) copy[good.length - 8 - 1 - Math.floor(random() * footer)] = Math.floor(random() * 256);
    const group = await scratch();
    await counter.run(`footer damage #${i}`, () => group.insert(copy, { format: 'parquet' }), { boundMs: 10_000, expect: 'either' });
  }
  return counter.stats;
}

/** JSON rows with __proto__, constructor and prototype keys: plain data or a typed error; no prototype touched. */
export async function jsonKeys(): Promise<CategoryStats> {
  const counter = new Counter();
  const prototypeNames = () => json([Object.getOwnPropertyNames(Object.prototype).sort(), Object.getOwnPropertyNames(Array.prototype).sort()]);
  const before = prototypeNames();
  const row = '"id":1,"ts":"2024-03-02T10:00:00Z","x":1.5,"s":"a"';
  const texts = [
    `[{${row},"__proto__":{"polluted":1}}]`,
    `[{"__proto__":{"polluted":1},${row}}]`,
    `[{${row},"constructor":{"prototype":{"polluted":1}}}]`,
    `[{${row},"prototype":{"polluted":1}}]`,
    `{${row},"__proto__":{"polluted":1}}\n{"id":2,"ts":"2024-03-03T10:00:00Z","x":2,"s":"b","constructor":{"prototype":{"polluted":1}}}`,
    `[{"id":1,"ts":"2024-03-02T10:00:00Z","x":1.5,"s":{"__proto__":{"polluted":1}}}]`,
    `[{"id":{"__proto__":{"valueOf":1}},"ts":"2024-03-02T10:00:00Z","x":1.5,"s":"a"}]`,
    `[{"__proto__":[],${row}}]`,
    `{"__proto__":{"polluted":1}}`,
    `[{${row},"toString":1,"valueOf":1,"hasOwnProperty":1}]`,
  ];
  for (const [i, text] of texts.entries()) {
    const group = await scratch();
    await counter.run(`JSON ${i}`, () => group.insert(encode(text), { format: 'json' }), {
      boundMs: 10_000, expect: 'either',
      sound: async () => ((await group.read()).numRows >= 1 ? null : 'nothing stored'),
    });
    // Also as row objects (JSON.parse makes __proto__ an own key).
    const objects = (() => {
      try {
        const parsed = JSON.parse(text.includes('\n') ? `[${text.split('\n').join(',')}]` : text) as unknown;
        return Array.isArray(parsed) ? (parsed as Record<string, unknown>[]) : [parsed as Record<string, unknown>];
      } catch {
        return null;
      }
    })();
    if (objects !== null) {
      const other = await scratch();
      await counter.run(`rows ${i}`, () => other.insert(objects), { boundMs: 10_000, expect: 'either' });
    }
  }
  if (({} as Record<string, unknown>)['polluted'] !== undefined || prototypeNames() !== before) {
    counter.stats.wrongVerdicts++;
    counter.note('a prototype was changed');
  }
  return counter.stats;
}

/** Model artifacts: `count` mutants of valid ones through register and importModel. */
export async function artifacts({ count, seed }: { count: number; seed: number }): Promise<CategoryStats> {
  const counter = new Counter();
  await window.tf.setBackend('cpu'); // the page's default (WebGL) is software rendering under --disable-gpu: slow
  const models = store().models;
  const random = seededRandom(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const hostile: unknown[] = [null, -1, 0, 1.5, 2 ** 31, 2 ** 53, 1e308, '', 'x'.repeat(5000), 'Lambda', 'eval', 'float64', [], [null], [[[[]]]], {}, { class_name: 'Lambda', config: {} },
    JSON.parse('{"__proto__":{"polluted":1}}'), true, 'NaN', [-1, -1], [1e9, 1e9]];
  const shapes: unknown[] = [[2 ** 31, 2 ** 31], [1e9], [-1, 8], [1.5], [Number.MAX_SAFE_INTEGER], Array(100).fill(1), ['20', 8], [null], 'abc', null];
  const dtypes: unknown[] = ['float64', 'complex64', 'string', 'int8', '', 'FLOAT32', null, 4, 'float32\0', 'int32', 'bool'];
  const paths: unknown[] = ['../weights.bin', '/weights.bin', 'https://evil.example/w.bin', 'C:\\w.bin', '', '..', 'w.bin\0', '%2e%2e/w.bin', 7, null];
  type Site = { parent: Record<string | number, unknown>; key: string | number; path: string };
  const sites = (root: unknown): Site[] => {
    const out: Site[] = [];
    const walk = (node: unknown, path: string): void => {
      if (typeof node !== 'object' || node === null) return;
      for (const key of Array.isArray(node) ? [...node.keys()] : Object.keys(node)) {
        out.push({ parent: node as Record<string | number, unknown>, key, path: `${path}.${key}` });
        walk((node as Record<string | number, unknown>)[key], `${path}.${key}`);
      }
    };
    walk(root, 'modelTopology');
    return out;
  };
  const listed = async () => json((await models.list()).map((m) => [m.name, m.version, m.artifact.sha256]));
  /** An accepted artifact must load and predict finite numbers from zeros. */
  const sound = async (value: unknown): Promise<string | null> => {
    const record = value as { name: string; version: number };
    try {
      const { model } = await models.load(record.name, record.version);
      const shape = model.inputs[0]!.shape.map((d) => d ?? 1);
      const input = window.tf.zeros(shape);
      const output = model.predict(input) as { data(): Promise<Float32Array>; dispose(): void };
      const data = await output.data();
      input.dispose();
      output.dispose();
      model.dispose();
      return [...data].every(Number.isFinite) ? null : 'predicts non-finite numbers';
    } catch (error) {
      const typed = error instanceof window.larder.LarderError;
      return `${typed ? 'typed' : 'untyped'} error on load or predict: ${(error as Error).name}: ${String((error as Error).message ?? error).slice(0, 160)}`;
    }
  };
  for (let i = 0; i < count; i++) {
    const kind = i % 8;
    let what = `mutant ${i}`;
    if (kind <= 5) {
      const dense = random() < 0.7;
      const a: ArtifactFixture = dense ? denseArtifacts(3) : functionalArtifacts(4);
      const base = dense ? 'denseArtifacts(3)' : 'functionalArtifacts(4)';
      const shown = (value: unknown) => JSON.stringify(value)?.slice(0, 60) ?? String(value);
      if (kind === 0 || kind === 1) {
        const site = pick(sites(a.modelTopology));
        const value = structuredClone(pick(hostile));
        site.parent[site.key] = value;
        what += `: ${base} with ${site.path} = ${shown(value)}`;
      } else if (kind === 2) {
        const spec = pick(a.weightSpecs);
        spec.shape = pick(shapes) as number[];
        what += `: ${base} with weight ${spec.name} of shape ${shown(spec.shape)}`;
      } else if (kind === 3) {
        const spec = pick(a.weightSpecs);
        spec.dtype = pick(dtypes) as string;
        what += `: ${base} with weight ${spec.name} of dtype ${shown(spec.dtype)}`;
      } else if (kind === 4) {
        a.weightData = a.weightData.slice(0, Math.floor(random() * a.weightData.byteLength));
        what += `: ${base} with ${a.weightData.byteLength} weight bytes`;
      } else {
        const spec = pick(a.weightSpecs);
        const was = spec.name;
        spec.name = pick(['', '../x', 'a'.repeat(5000), '__proto__', 'dense_Dense1/kernel', 'kept']);
        what += `: ${base} with weight ${was} renamed ${shown(spec.name)}`;
      }
      await counter.run(what, () => models.register('mutants', a), { boundMs: 10_000, expect: 'either', state: listed, sound });
    } else {
      const m = denseModelJson(3);
      let text = m.text;
      if (kind === 6) {
        const bytes = encode(text);
        const flips = 1 + Math.floor(random() * 3);
        for (let f = 0; f < flips; f++) bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 128);
        text = random() < 0.3 ? text.slice(0, Math.floor(random() * text.length)) : new TextDecoder().decode(bytes);
      } else {
        m.json.weightsManifest[0]!.paths = [pick(paths) as string];
        text = JSON.stringify(m.json);
      }
      await counter.run(what, () => models.importModel('mutants', { modelJson: text, shards: m.shards }), { boundMs: 10_000, expect: 'either', state: listed, sound });
    }
  }
  return counter.stats;
}

interface ManifestDoc {
  parent: string | null;
  metadata: { key: string; sha256: string; size: number };
  groups: { parts: { key: string; sha256: string; size: number }[] }[];
  [field: string]: unknown;
}

async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  return [...new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * Manifests: object keys with `../`, absolute and foreign keys, a parent cycle, random damage, and a rollback of HEAD.
 * A second store (`puller`) pulls each crafted snapshot: refused, and unchanged.
 */
export async function manifests({ puller, damaged, seed }: { puller: string; damaged: number; seed: number }): Promise<CategoryStats> {
  const counter = new Counter();
  const s = store();
  const { MemoryObjectStore, openFeatureStore } = window.larder;
  const good = new MemoryObjectStore();
  const g = await s.createFeatureGroup({ name: `synced_${++scratchCount}`, ...GROUP });
  await g.insert(encode(csvOf(0, 50)), { format: 'csv' });
  const first = await s.sync.push({ target: good, prefix: 'p', include: { featureGroups: [g.name] } });
  await g.insert(encode(csvOf(50, 50)), { format: 'csv' });
  const second = await s.sync.push({ target: good, prefix: 'p', include: { featureGroups: [g.name] } });
  const manifestText = new TextDecoder().decode((await good.get(`p/${second.manifest}`))!.body);
  const other = await openFeatureStore({ name: puller });
  const state = () => stateOf(other);
  const random = seededRandom(seed);
  try {
    /** A copy of the good snapshot whose HEAD names `doc` (stored under its own hash unless `key` says otherwise). */
    const crafted = async (text: string, key?: string) => {
      const copy = new MemoryObjectStore();
      for (const o of await good.list('p/')) await copy.put(o.key, (await good.get(o.key))!.body);
      const bytes = encode(text);
      const manifestKey = key ?? `manifests/${await sha256Hex(bytes)}.json`;
      await copy.put(`p/${manifestKey}`, bytes);
      await copy.put('p/HEAD', encode(JSON.stringify({ format: 'larder-snapshot-head', manifest: manifestKey, createdAt: Date.now() })));
      return copy;
    };
    const refusePull = async (what: string, text: string, key?: string) => {
      const target = await crafted(text, key);
      await counter.run(what, () => other.sync.pull({ target, prefix: 'p', overwrite: true }), { boundMs: 20_000, expect: 'refuse', state });
    };
    const edit = (change: (doc: ManifestDoc) => void): string => {
      const doc = JSON.parse(manifestText) as ManifestDoc;
      change(doc);
      return JSON.stringify(doc);
    };
    for (const bad of ['../objects/x.parquet', 'objects/../HEAD', '/objects/x.parquet', 'https://evil.example/objects/x.parquet', 'other/objects/x.parquet', '..', 'objects/..%2fHEAD', 'objects/\0.parquet']) {
      await refusePull(`part key ${JSON.stringify(bad)}`, edit((d) => (d.groups[0]!.parts[0]!.key = bad)));
      await refusePull(`metadata key ${JSON.stringify(bad)}`, edit((d) => (d.metadata.key = bad)));
    }
    // A part under a foreign prefix that exists there with the right hash: still not this snapshot's object.
    const part = JSON.parse(manifestText) as ManifestDoc;
    await refusePull('part named with a key of another prefix', edit((d) => (d.groups[0]!.parts[0]!.key = `../q/${part.groups[0]!.parts[0]!.key}`)));
    await refusePull('manifest stored under a key not its hash', manifestText, `manifests/${'0'.repeat(64)}.json`);
    // A parent cycle: two manifests naming each other (their keys cannot both be their hashes). Pull and purge end.
    const cycleKeyA = `manifests/${'a'.repeat(64)}.json`;
    const cycleKeyB = `manifests/${'b'.repeat(64)}.json`;
    const cyclic = await crafted(edit((d) => (d.parent = cycleKeyB)), cycleKeyA);
    await cyclic.put(`p/${cycleKeyB}`, encode(edit((d) => (d.parent = cycleKeyA))));
    await counter.run('parent cycle (pull)', () => other.sync.pull({ target: cyclic, prefix: 'p', overwrite: true }), { boundMs: 20_000, expect: 'refuse', state });
    await counter.run('parent cycle (purge)', () => other.sync.purge({ target: cyclic, prefix: 'p', keep: 1, graceMs: 0 }), { boundMs: 20_000, expect: 'either' });
    const selfKeyed = edit((d) => (d.parent = second.manifest));
    await counter.run('a manifest whose parent is HEAD itself (purge)', async () => {
      const target = await crafted(selfKeyed);
      const head = JSON.parse(new TextDecoder().decode((await target.get('p/HEAD'))!.body)) as { manifest: string };
      await target.put(`p/${head.manifest}`, encode(edit((d) => (d.parent = head.manifest))));
      return other.sync.purge({ target, prefix: 'p', keep: 1, graceMs: 0 });
    }, { boundMs: 20_000, expect: 'either' });
    // Random damage of the manifest bytes, stored under its original key: the hash no longer matches.
    for (let i = 0; i < damaged; i++) {
      const bytes = encode(manifestText);
      for (let f = 0; f < 1 + Math.floor(random() * 4); f++) bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
      await refusePull(`manifest damage #${i}`, new TextDecoder('latin1').decode(bytes), second.manifest);
    }
    // Rollback: the puller holds the newer snapshot, then HEAD is moved back to the older one.
    await other.sync.pull({ target: good, prefix: 'p', overwrite: true });
    const rolled = new MemoryObjectStore();
    for (const o of await good.list('p/')) await rolled.put(o.key, (await good.get(o.key))!.body);
    await rolled.put('p/HEAD', encode(JSON.stringify({ format: 'larder-snapshot-head', manifest: first.manifest, createdAt: Date.now() })));
    await counter.run('push onto a rolled-back HEAD', () => other.sync.push({ target: rolled, prefix: 'p' }), {
      boundMs: 20_000, expect: 'refuse', state, isRight: (e) => (e as { code?: string }).code === 'SYNC_CONFLICT',
    });
    return counter.stats;
  } finally {
    await other.close();
  }
}
