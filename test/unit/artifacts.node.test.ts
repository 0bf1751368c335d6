import { afterAll, beforeAll, describe, expect, it, vi, type MockInstance } from 'vitest';
import fc from 'fast-check';
import { InvalidArgumentError, ModelArtifactError } from '../../src/errors.ts';
import {
  ARTIFACT_LIMITS, assembleShards, parseModelJson, sha256Hex, validateArtifacts, verifySha256,
} from '../../src/models/artifacts.ts';
import { seededRandom } from '../../src/util/random.ts';
import {
  denseArtifacts, denseArtifactsWithTraining, denseModelJson, functionalArtifacts,
  type ArtifactFixture, type ModelJsonFixture,
} from '../support/artifact-fixtures.ts';

// --- Helpers -------------------------------------------------------------------------------------------------------

type Json = Record<string, unknown>;

/** Walks into a fixture by keys; tests know the fixture's shape. */
function dig(root: unknown, ...keys: (string | number)[]): Json {
  let node = root;
  for (const key of keys) node = (node as Record<string | number, unknown>)[key];
  return node as Json;
}
/** The fixture as an untyped record, for mutations the types would not allow. */
const loose = (value: object): Json => value as unknown as Json;
const layersOf = (a: ArtifactFixture): Json[] => dig(a.modelTopology, 'config', 'layers') as unknown as Json[];
const layerConfig = (a: ArtifactFixture, i: number): Json => dig(a.modelTopology, 'config', 'layers', i, 'config');

/** Nested arrays `depth` levels deep, built without recursion. */
function deepArrays(depth: number): unknown[] {
  let node: unknown[] = [];
  for (let i = 0; i < depth; i++) node = [node];
  return node;
}
function deepObjects(depth: number): Json {
  let node: Json = {};
  for (let i = 0; i < depth; i++) node = { a: node };
  return node;
}
function bytesOf(buffer: ArrayBuffer): number[] {
  return Array.from(new Uint8Array(buffer));
}
function caught(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  return undefined;
}
/** Rethrows anything that is not a ModelArtifactError; the property tests' predicate. */
function onlyArtifactErrors(run: () => unknown): true {
  const error = caught(run);
  if (error !== undefined && !(error instanceof ModelArtifactError)) throw new Error('not a ModelArtifactError', { cause: error });
  return true;
}

// --- The mutation corpus -------------------------------------------------------------------------------------------

type Thunk = () => unknown;
interface Mutant {
  readonly name: string;
  /** Builds the corrupted input (untimed) and returns the timed call that must reject it. */
  readonly prepare: () => Thunk | Promise<Thunk>;
}

const corpus: Mutant[] = [];
const random = seededRandom(0x1a2de5);
const pick = (n: number): number => Math.floor(random() * n);

function mutant(name: string, prepare: () => Thunk | Promise<Thunk>): void {
  corpus.push({ name, prepare });
}
/** Corrupts a fresh dense fixture in place (or replaces it by returning a value) and validates it. */
function artifactMutant(name: string, mutate: (a: ArtifactFixture) => unknown, seed = 1): void {
  mutant(`artifacts: ${name}`, () => {
    const fixture = denseArtifacts(seed);
    const replaced = mutate(fixture);
    const input = replaced === undefined ? fixture : replaced;
    return () => validateArtifacts(input);
  });
}
function functionalMutant(name: string, mutate: (a: ArtifactFixture) => void): void {
  mutant(`functional: ${name}`, () => {
    const fixture = functionalArtifacts();
    mutate(fixture);
    return () => validateArtifacts(fixture);
  });
}
/** Corrupts a fresh model.json object, serializes it, and parses it. */
function manifestMutant(name: string, mutate: (json: ModelJsonFixture['json']) => unknown): void {
  mutant(`model.json: ${name}`, () => {
    const { json } = denseModelJson();
    const replaced = mutate(json);
    const text = JSON.stringify(replaced === undefined ? json : replaced);
    return () => parseModelJson(text);
  });
}
function textMutant(name: string, text: () => unknown): void {
  mutant(`model.json text: ${name}`, () => {
    const input = text() as string;
    return () => parseModelJson(input);
  });
}
/** Replaces a fixture layer config field with `value`, in layer `layer` (a seeded pick when absent). */
function layerField(name: string, field: string, value: unknown, layer?: number): void {
  const index = layer ?? pick(2);
  artifactMutant(`layers[${index}].config.${field} = ${name}`, (a) => {
    layerConfig(a, index)[field] = value;
  });
}

// weightData: truncated, extended, wrong kinds
for (let n = 1; n <= 8; n++) artifactMutant(`weightData truncated by ${n} bytes`, (a) => { a.weightData = a.weightData.slice(0, a.weightData.byteLength - n); });
artifactMutant('weightData empty', (a) => { a.weightData = new ArrayBuffer(0); });
artifactMutant('weightData halved', (a) => { a.weightData = a.weightData.slice(0, a.weightData.byteLength / 2); });
for (let n = 1; n <= 8; n++) artifactMutant(`weightData extended by ${n} bytes`, (a) => { a.weightData = new Uint8Array([...bytesOf(a.weightData), ...new Array<number>(n).fill(7)]).buffer; });
artifactMutant('weightData doubled', (a) => { a.weightData = new Uint8Array([...bytesOf(a.weightData), ...bytesOf(a.weightData)]).buffer; });
const weightDataKinds: [string, (a: ArtifactFixture) => unknown][] = [
  ['a string', () => 'AAAA'],
  ['a number', () => 708],
  ['null', () => null],
  ['a plain array of numbers', (a) => bytesOf(a.weightData)],
  ['an object faking byteLength', () => ({ byteLength: 708 })],
  ['a SharedArrayBuffer', () => new SharedArrayBuffer(708)],
  ['a Float64Array of the wrong length', () => new Float64Array(177)],
  ['a DataView one byte short', (a) => new DataView(a.weightData, 1)],
  ['a Float32Array whose byteLength is faked', (a) => {
    const view = new Float32Array(a.weightData, 0, 100);
    Object.defineProperty(view, 'byteLength', { value: 708 });
    return view;
  }],
  ['buffers that sum one byte short', (a) => [a.weightData.slice(0, 400), a.weightData.slice(400, 707)]],
  ['a list holding a string', (a) => [a.weightData.slice(0, 400), 'rest']],
  ['a proxy of an ArrayBuffer', (a) => new Proxy(a.weightData, {})],
  ['a Blob', (a) => new Blob([a.weightData])],
];
for (const [name, make] of weightDataKinds) artifactMutant(`weightData is ${name}`, (a) => { a.weightData = make(a) as ArrayBuffer; });
artifactMutant('weightData missing', (a) => { delete (a as Partial<ArtifactFixture>).weightData; });

// weightSpecs: dtypes, shapes, names, structure
for (const dtype of ['float64', 'int64', 'string', 'complex64', 'float16', 'uint8', '', 'FLOAT32', 42, null]) {
  const index = pick(4);
  artifactMutant(`weightSpecs[${index}].dtype = ${JSON.stringify(dtype)}`, (a) => { (a.weightSpecs[index] as Json).dtype = dtype; });
}
for (let index = 0; index < 4; index++) artifactMutant(`weightSpecs[${index}].dtype = "bool" (bytes no longer add up)`, (a) => { a.weightSpecs[index]!.dtype = 'bool'; });
const badDims: [string, unknown][] = [
  ['-4', -4], ['-1', -1], ['1.5', 1.5], ['NaN', NaN], ['Infinity', Infinity], ['-Infinity', -Infinity], ['"8"', '8'],
  ['null', null], ['undefined', undefined], ['2**53', 2 ** 53], ['1e300', 1e300], ['true', true], ['[8]', [8]], ['{}', {}],
  ['-0.5', -0.5], ['a bigint', 8n],
];
for (const [name, dim] of badDims) {
  const index = pick(4);
  const spec = denseArtifacts().weightSpecs[index]!;
  const axis = pick(spec.shape.length);
  artifactMutant(`weightSpecs[${index}].shape[${axis}] = ${name}`, (a) => { (a.weightSpecs[index]!.shape as unknown[])[axis] = dim; });
}
for (const rank of [9, 20, 1000]) artifactMutant(`weightSpecs[1].shape has rank ${rank} (all ones)`, (a) => { a.weightSpecs[1]!.shape = [...new Array<number>(rank - 1).fill(1), 8]; });
const hugeShapes: [string, number[]][] = [
  ['[2**31, 2**31]', [2 ** 31, 2 ** 31]],
  ['[2**26, 2**26, 2**26]', [2 ** 26, 2 ** 26, 2 ** 26]],
  ['[2**53 - 1, 2]', [2 ** 53 - 1, 2]],
  ['[65536, 65536, 65536, 65536]', [65536, 65536, 65536, 65536]],
  ['[2**26 + 1]', [2 ** 26 + 1]],
  ['[1, 2**40, 0.5]', [1, 2 ** 40, 0.5]],
];
for (const [name, shape] of hugeShapes) artifactMutant(`weightSpecs[0].shape = ${name}`, (a) => { a.weightSpecs[0]!.shape = shape; });
artifactMutant('three weights of 2**25 elements (total cap)', (a) => {
  a.weightSpecs = [0, 1, 2].map((i) => ({ name: `w${i}`, shape: [2 ** 25], dtype: 'float32' }));
});
artifactMutant('two bool weights of 2**27 elements (byte and element caps)', (a) => {
  a.weightSpecs = [0, 1].map((i) => ({ name: `b${i}`, shape: [2 ** 27], dtype: 'bool' }));
});
artifactMutant('an extra bool weight of 3 elements', (a) => {
  a.weightSpecs.push({ name: 'flags', shape: [3], dtype: 'bool' });
});
artifactMutant('duplicate weight names (adjacent)', (a) => { a.weightSpecs[1]!.name = a.weightSpecs[0]!.name; });
artifactMutant('duplicate weight names (first and last)', (a) => { a.weightSpecs[3]!.name = a.weightSpecs[0]!.name; });
artifactMutant('empty weight name', (a) => { a.weightSpecs[2]!.name = ''; });
artifactMutant('weight name of 300 characters', (a) => { a.weightSpecs[2]!.name = 'w'.repeat(300); });
artifactMutant('weight name is a number', (a) => { (a.weightSpecs[2] as Json).name = 7; });
artifactMutant('weight name with a newline', (a) => { a.weightSpecs[2]!.name = 'dense\n/kernel'; });
artifactMutant('weight name missing', (a) => { delete (a.weightSpecs[2] as Json).name; });
artifactMutant('weight shape missing', (a) => { delete (a.weightSpecs[0] as Json).shape; });
artifactMutant('weight shape is a string', (a) => { (a.weightSpecs[0] as Json).shape = '20,8'; });
artifactMutant('weight shape is a number', (a) => { (a.weightSpecs[0] as Json).shape = 160; });
artifactMutant('weight shape is an array-like object', (a) => { (a.weightSpecs[0] as Json).shape = { 0: 20, 1: 8, length: 2 }; });
artifactMutant('weight dtype missing', (a) => { delete (a.weightSpecs[0] as Json).dtype; });
artifactMutant('weight spec is quantized', (a) => { (a.weightSpecs[0] as Json).quantization = { dtype: 'uint8', min: 0, scale: 1 }; });
artifactMutant('weight spec is null', (a) => { (a.weightSpecs as unknown[])[1] = null; });
artifactMutant('weight spec is a string', (a) => { (a.weightSpecs as unknown[])[1] = 'dense/bias'; });
artifactMutant('weight spec is an array', (a) => { (a.weightSpecs as unknown[])[1] = ['dense/bias', [8], 'float32']; });
artifactMutant('a weight spec removed', (a) => { a.weightSpecs.pop(); });
artifactMutant('a weight spec added', (a) => { a.weightSpecs.push({ name: 'extra', shape: [4], dtype: 'float32' }); });
for (const [name, value] of [['null', null], ['an object', { 0: {} }], ['a string', '[]'], ['a number', 4], ['an array-like', { length: 4 }]] as const) {
  artifactMutant(`weightSpecs is ${name}`, (a) => { loose(a).weightSpecs = value; });
}
artifactMutant('weightSpecs missing', (a) => { delete (a as Partial<ArtifactFixture>).weightSpecs; });
artifactMutant('weightSpecs is a sparse array of length 2**32 - 1', (a) => { loose(a).weightSpecs = new Array(2 ** 32 - 1); });
artifactMutant('weightSpecs lists 5,000 weights', (a) => {
  a.weightSpecs = Array.from({ length: 5000 }, (_, i) => ({ name: `w${i}`, shape: [1], dtype: 'float32' }));
});
artifactMutant('weight name behind a throwing getter', (a) => {
  Object.defineProperty(a.weightSpecs[0], 'name', { get: () => { throw new Error('boom'); }, enumerable: true });
});
artifactMutant('weight spec is a proxy whose traps throw', (a) => {
  (a.weightSpecs as unknown[])[0] = new Proxy({}, { getPrototypeOf: () => { throw new TypeError('trap'); } });
});
artifactMutant('weightSpecs is a revoked proxy', (a) => {
  const { proxy, revoke } = Proxy.revocable([], {});
  revoke();
  loose(a).weightSpecs = proxy;
});
artifactMutant('weightSpecs is a proxy lying about its length', (a) => {
  loose(a).weightSpecs = new Proxy(a.weightSpecs, { get: (t, k) => (k === 'length' ? 1e12 : Reflect.get(t, k) as unknown) });
});

// The artifacts object itself
for (const [name, value] of [
  ['undefined', undefined], ['null', null], ['a string', '{"modelTopology":{}}'], ['a number', 42], ['an array', []],
  ['a function', () => ({})], ['a Map', new Map()], ['a class instance', new (class Artifacts {})()],
] as const) {
  mutant(`artifacts: the artifacts are ${name}`, () => () => validateArtifacts(value));
}
artifactMutant('the artifacts are a proxy whose descriptor trap throws', (a) => new Proxy(a, { getOwnPropertyDescriptor: () => { throw new Error('nope'); } }));
artifactMutant('the artifacts throw a proxy that fakes ModelArtifactError', (a) => {
  const fake = new Proxy({}, { getPrototypeOf: () => ModelArtifactError.prototype });
  // eslint-disable-next-line @typescript-eslint/only-throw-error -- the hostile non-Error throw is the point
  return new Proxy(a, { getOwnPropertyDescriptor: () => { throw fake; } });
});
artifactMutant('modelTopology behind a throwing getter', (a) => {
  Object.defineProperty(a, 'modelTopology', { get: () => { throw new Error('getter'); }, enumerable: true });
});

// modelTopology: not an object, wrong classes
for (const [name, value] of [
  ['null', null], ['a JSON string', '{"class_name":"Sequential"}'], ['a number', 1], ['an array', []], ['true', true],
  ['a function', () => undefined], ['a Date', new Date(0)],
] as const) {
  artifactMutant(`modelTopology is ${name}`, (a) => { loose(a).modelTopology = value; });
}
artifactMutant('modelTopology missing', (a) => { delete (a as Partial<ArtifactFixture>).modelTopology; });
for (const className of ['Lambda', 'Foo', 'sequential', 42, undefined]) {
  artifactMutant(`model class_name = ${String(className)}`, (a) => { a.modelTopology.class_name = className; });
}
for (const className of ['Lambda', 'Conv2D', 'LSTM', 'TFOpLambda', 'Custom>MyLayer', 'dense', '', 42, null, undefined]) {
  const index = pick(2);
  artifactMutant(`layers[${index}].class_name = ${String(className)}`, (a) => { layersOf(a)[index]!.class_name = className; });
}
artifactMutant('a Lambda layer with a function body', (a) => {
  layersOf(a).push({ class_name: 'Lambda', config: { name: 'evil', function: ['lambda x: __import__("os")', null, null] } });
});
artifactMutant('kernel_initializer with an unknown class', (a) => { layerConfig(a, 0).kernel_initializer = { class_name: 'MyInit', config: {} }; });
artifactMutant('kernel_regularizer with a layer class', (a) => { layerConfig(a, 1).kernel_regularizer = { class_name: 'Dense', config: {} }; });
artifactMutant('layer config missing', (a) => { delete layersOf(a)[0]!.config; });
artifactMutant('layer is a string', (a) => { (layersOf(a) as unknown[])[1] = 'Dense'; });
artifactMutant('Sequential layers is an object', (a) => { dig(a.modelTopology, 'config').layers = { 0: layersOf(a)[0] }; });
artifactMutant('Sequential config missing', (a) => { delete a.modelTopology.config; });
artifactMutant('601 Dense layers', (a) => {
  dig(a.modelTopology, 'config').layers = Array.from({ length: 601 }, (_, i) => ({ class_name: 'Dense', config: { units: 1, name: `d${i}` } }));
});
for (const value of ['evil', 'Relu', '', 42, null, { class_name: 'relu' }, 'hard_sigmoid']) layerField(JSON.stringify(value), 'activation', value);
layerField('"leaky" (recurrent_activation)', 'recurrent_activation', 'leaky', 1);
for (const [name, value] of [['-1', -1], ['1.5', 1.5], ['NaN', NaN], ['Infinity', Infinity], ['"8"', '8'], ['2**53', 2 ** 53], ['null', null], ['2**40', 2 ** 40]] as const) {
  layerField(name, 'units', value);
}
for (const [name, value] of [
  ['[null, -20]', [null, -20]], ['[null, 20.5]', [null, 20.5]], ['"abc"', 'abc'], ['[null, "20"]', [null, '20']],
  ['rank 20', new Array<number>(20).fill(1)], ['[null, NaN]', [null, NaN]],
] as const) {
  layerField(name, 'batch_input_shape', value, 0);
}
layerField('"float64"', 'dtype', 'float64', 0);
layerField('"string"', 'dtype', 'string', 1);
layerField('two -1s (target_shape)', 'target_shape', [-1, -1, 4]);
layerField('[2, -2] (target_shape)', 'target_shape', [2, -2]);
layerField('1.5 (axis)', 'axis', 1.5);
layerField('99 (axis)', 'axis', 99);
layerField('-2 (input_dim)', 'input_dim', -2);
layerField('"all" (noise_shape)', 'noise_shape', 'all');

// Non-JSON values, cycles, forbidden keys, bombs
layerField('a function', 'name', () => 'dense');
layerField('a symbol', 'name', Symbol('dense'));
layerField('a bigint', 'trainable', 1n);
layerField('a Date', 'created', new Date(0));
layerField('a Map', 'extra', new Map([['a', 1]]));
layerField('a class instance', 'extra', new (class Config { x = 1; })());
layerField('a typed array', 'extra', new Float32Array(4));
layerField('an array holding undefined', 'extra', [1, undefined, 3]);
const sparse: number[] = [];
sparse[0] = 1;
sparse[2] = 3;
layerField('a sparse array', 'extra', sparse);
layerField('a boxed string', 'name', Object('dense'));
artifactMutant('a getter inside a layer config', (a) => { Object.defineProperty(layerConfig(a, 0), 'units', { get: () => 8, enumerable: true }); });
artifactMutant('a throwing getter inside a layer config', (a) => {
  Object.defineProperty(layerConfig(a, 1), 'name', { get: () => { throw new RangeError('deep'); }, enumerable: true });
});
artifactMutant('a layer config that is a proxy with throwing ownKeys', (a) => {
  layersOf(a)[0]!.config = new Proxy(layerConfig(a, 0), { ownKeys: () => { throw new Error('keys'); } });
});
artifactMutant('a layer config that refers to itself', (a) => { const c = layerConfig(a, 0); c.self = c; });
artifactMutant('a layers array that contains itself', (a) => { const layers = layersOf(a) as unknown[]; layers.push(layers); });
artifactMutant('nested arrays 10,000 deep', (a) => { layerConfig(a, 0).extra = deepArrays(10_000); });
artifactMutant('nested objects 10,000 deep', (a) => { layerConfig(a, 0).extra = deepObjects(10_000); });
artifactMutant('nested objects 65 deep', (a) => { a.modelTopology.extra = deepObjects(64); });
artifactMutant('a 50 MB layer name', (a) => { layerConfig(a, 0).name = 'x'.repeat(50_000_000); });
artifactMutant('an array of 5 million zeros', (a) => { layerConfig(a, 0).extra = new Array<number>(5_000_000).fill(0); });
artifactMutant('a sparse array of length 2**32 - 1', (a) => { layerConfig(a, 0).extra = new Array(2 ** 32 - 1); });
artifactMutant('one 1 KB object shared 2,000 × 2,000 times (each visit counts)', (a) => {
  const leaf = { v: 'x'.repeat(1000) };
  const row = new Array<unknown>(2000).fill(leaf);
  layerConfig(a, 0).extra = new Array<unknown>(2000).fill(row);
});
artifactMutant('a 100,000-key object with 48-character keys', (a) => {
  const big: Json = {};
  for (let i = 0; i < 100_000; i++) big[`key_${String(i).padStart(44, '0')}`] = i;
  layerConfig(a, 0).extra = big;
});
for (const [name, json] of [
  ['topology __proto__', '{"__proto__": {"polluted": true}, "class_name": "Sequential"}'],
  ['nested __proto__', '{"class_name": "Sequential", "config": {"layers": [], "__proto__": {"polluted": true}}}'],
  ['constructor key', '{"class_name": "Sequential", "config": {"layers": [], "constructor": {"prototype": {"polluted": true}}}}'],
  ['prototype key', '{"class_name": "Sequential", "config": {"layers": []}, "prototype": {"polluted": true}}'],
] as const) {
  artifactMutant(`${name} via JSON text`, (a) => { a.modelTopology = JSON.parse(json) as Json; });
}
artifactMutant('__proto__ key in a layer config via JSON text', (a) => {
  layersOf(a)[0]!.config = JSON.parse('{"units": 8, "__proto__": {"polluted": true}}') as Json;
});

// trainingConfig
artifactMutant('trainingConfig is a string', (a) => { loose(a).trainingConfig = 'adam'; });
artifactMutant('trainingConfig names an unknown optimizer', (a) => {
  a.trainingConfig = { loss: 'meanSquaredError', optimizer_config: { class_name: 'Evil', config: {} } };
});
artifactMutant('trainingConfig with a __proto__ key', (a) => { a.trainingConfig = JSON.parse('{"__proto__": {"polluted": 1}}') as Json; });

// Functional topologies
functionalMutant('input_layers names an unknown layer', (a) => { dig(a.modelTopology, 'config').input_layers = [['ghost', 0, 0]]; });
functionalMutant('inbound node names an unknown layer', (a) => { (layersOf(a)[4]!.inbound_nodes as unknown[][][])[0]![0]![0] = 'ghost'; });
functionalMutant('duplicate layer names', (a) => { layersOf(a)[2]!.name = 'branch_a'; });
functionalMutant('inbound node is a string', (a) => { layersOf(a)[1]!.inbound_nodes = ['features']; });
functionalMutant('input_layers missing', (a) => { delete dig(a.modelTopology, 'config').input_layers; });
functionalMutant('output reference with a negative node index', (a) => { dig(a.modelTopology, 'config').output_layers = [['head', -1, 0]]; });
functionalMutant('layer name missing', (a) => { delete layersOf(a)[3]!.name; });
functionalMutant('Concatenate axis is a string', (a) => { layerConfig(a, 3).axis = '-1'; });

// model.json
textMutant('a number', () => 42);
textMutant('null', () => null);
textMutant('undefined', () => undefined);
textMutant('an object', () => denseModelJson().json);
textMutant('50 MB of spaces', () => `${' '.repeat(50_000_000)}{}`);
textMutant('4 MiB + 1 characters', () => ' '.repeat(4 * 1024 * 1024 + 1));
for (const text of ['', '{', 'NaN', '{"a": 1,}', "{'a': 1}", '[1, 2', '{"modelTopology": undefined}']) textMutant(`invalid JSON ${JSON.stringify(text)}`, () => text);
textMutant('10,000 nested arrays', () => '['.repeat(10_000) + ']'.repeat(10_000));
textMutant('10,000 nested objects', () => '{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000));
textMutant('200,000 unclosed brackets', () => '['.repeat(200_000));
for (const text of ['[]', '"model"', '42', 'null', 'true']) textMutant(`root is ${text}`, () => text);
textMutant('__proto__ at the top', () => denseModelJson().text.replace('{', '{"__proto__": {"polluted": true},'));
textMutant('__proto__ in modelTopology', () => denseModelJson().text.replace('"modelTopology":{', '"modelTopology":{"__proto__":{"polluted":true},'));
textMutant('__proto__ in a weight spec', () => denseModelJson().text.replace('"weights":[{', '"weights":[{"__proto__":{"polluted":true},'));
textMutant('__proto__ spelled with unicode escapes', () => denseModelJson().text.replace('{', '{"\\u005f\\u005fproto\\u005f\\u005f": {"polluted": true},'));
textMutant('constructor in userDefinedMetadata', () => denseModelJson().text.replace('{', '{"userDefinedMetadata": {"constructor": {"prototype": {"polluted": true}}},'));
manifestMutant('format "graph-model"', (j) => { j.format = 'graph-model'; });
manifestMutant('format 42', (j) => { loose(j).format = 42; });
manifestMutant('weightsManifest missing', (j) => { delete loose(j).weightsManifest; });
manifestMutant('weightsManifest is an object', (j) => { loose(j).weightsManifest = { paths: ['weights.bin'] }; });
manifestMutant('a manifest group is a string', (j) => { (j.weightsManifest as unknown[])[0] = 'weights.bin'; });
manifestMutant('paths missing', (j) => { delete (j.weightsManifest[0] as Json).paths; });
manifestMutant('paths empty', (j) => { j.weightsManifest[0]!.paths = []; });
manifestMutant('paths is a string', (j) => { (j.weightsManifest[0] as Json).paths = 'weights.bin'; });
for (const path of [
  '../x', '../../etc/passwd', '/etc/passwd', 'C:\\weights.bin', 'C:weights.bin', 'a/b.bin', 'a\\b.bin', '..', '.', '',
  'x'.repeat(300), 'http://evil.example/w.bin', '//evil.example/w.bin', '%2e%2e', 'weights.bin\u0000', '.hidden',
  'weights..bin', 'file:weights.bin', 'weights.bin?x=1', 'wei ghts.bin', 42, null,
]) {
  manifestMutant(`shard path ${JSON.stringify(path)}`, (j) => { (j.weightsManifest[0]!.paths as unknown[])[0] = path; });
}
manifestMutant('duplicate shard paths', (j) => { j.weightsManifest[0]!.paths = ['weights.bin', 'weights.bin']; });
manifestMutant('duplicate shard paths across groups', (j) => { j.weightsManifest.push({ paths: ['weights.bin'], weights: [] }); });
manifestMutant('300 shard paths', (j) => { j.weightsManifest[0]!.paths = Array.from({ length: 300 }, (_, i) => `group1-shard${i}of300.bin`); });
manifestMutant('weights is an object', (j) => { (j.weightsManifest[0] as Json).weights = {}; });
manifestMutant('duplicate weight names across groups', (j) => {
  j.weightsManifest.push({ paths: ['more.bin'], weights: [{ name: 'dense_Dense1/bias', shape: [8], dtype: 'float32' }] });
});
manifestMutant('a float64 weight', (j) => { j.weightsManifest[0]!.weights[0]!.dtype = 'float64'; });
manifestMutant('a negative dimension', (j) => { j.weightsManifest[0]!.weights[1]!.shape = [-8]; });
manifestMutant('modelTopology is a string', (j) => { loose(j).modelTopology = JSON.stringify(j.modelTopology); });
manifestMutant('a Lambda layer', (j) => { dig(j.modelTopology, 'config', 'layers', 1).class_name = 'Lambda'; });
manifestMutant('trainingConfig names an unknown optimizer', (j) => { j.trainingConfig = { optimizer_config: { class_name: 'Evil', config: {} } }; });

// Shards
const shardCases: [string, (bytes: ArrayBuffer) => [unknown, unknown]][] = [
  ['a shard missing', (b) => [[b.slice(0, 400)], 708]],
  ['the shard truncated by one byte', (b) => [[b.slice(0, 707)], 708]],
  ['an extra shard', (b) => [[b, new ArrayBuffer(4)], 708]],
  ['a shard that is a string', () => [['AAAA'], 708]],
  ['shards not an array', (b) => [b, 708]],
  ['expectedBytes negative', (b) => [[b], -1]],
  ['expectedBytes NaN', (b) => [[b], NaN]],
  ['expectedBytes over the byte cap', () => [[], 2 ** 40]],
  ['300 shards', () => [Array.from({ length: 300 }, () => new ArrayBuffer(0)), 0]],
];
for (const [name, make] of shardCases) {
  mutant(`shards: ${name}`, () => {
    const [shards, expected] = make(denseModelJson().shards[0]!);
    return () => assembleShards(shards as ArrayBuffer[], expected as number);
  });
}

// Hashes
mutant('hash: one weight byte flipped', async () => {
  const { weightData } = denseArtifacts();
  const expected = await sha256Hex(weightData);
  const copy = new Uint8Array(weightData.slice(0));
  copy[pick(copy.length)]! ^= 0x01;
  return () => verifySha256(copy, expected, 'weights.bin');
});
mutant('hash: the hash of other bytes', () => () => verifySha256(denseArtifacts().weightData, 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', 'weights.bin'));
mutant('hash: expected is not hex', () => () => verifySha256(denseArtifacts().weightData, 'z'.repeat(64), 'weights.bin'));
mutant('hash: expected has 63 digits', () => () => verifySha256(denseArtifacts().weightData, 'a'.repeat(63), 'weights.bin'));
mutant('hash: data is a string', () => () => verifySha256('bytes' as unknown as ArrayBuffer, 'a'.repeat(64), 'weights.bin'));
mutant('hash: sha256Hex of a number', () => () => sha256Hex(42 as unknown as ArrayBuffer));

// --- Tests ---------------------------------------------------------------------------------------------------------

const consoleSpies: MockInstance[] = [];
beforeAll(() => {
  for (const method of ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const) {
    consoleSpies.push(vi.spyOn(console, method).mockImplementation(() => undefined));
  }
});
afterAll(() => {
  for (const spy of consoleSpies) {
    expect(spy).not.toHaveBeenCalled();
    spy.mockRestore();
  }
});

describe('valid artifacts', () => {
  it('accepts the dense fixture and returns a frozen, private copy', () => {
    const fixture = denseArtifacts();
    const result = validateArtifacts(fixture);
    expect(Object.isFrozen(result)).toBe(true);
    expect(Object.isFrozen(result.modelTopology)).toBe(true);
    expect(Object.isFrozen(result.weightSpecs[0]!.shape)).toBe(true);
    expect(result.modelTopology).toEqual(fixture.modelTopology);
    expect(result.modelTopology).not.toBe(fixture.modelTopology);
    expect(result.weightSpecs).toEqual(fixture.weightSpecs);
    expect(result.weightData).not.toBe(fixture.weightData);
    expect(bytesOf(result.weightData)).toEqual(bytesOf(fixture.weightData));
    expect('trainingConfig' in result).toBe(false);
  });

  it('accepts the functional fixture and a training config', () => {
    expect(validateArtifacts(functionalArtifacts()).weightSpecs).toHaveLength(6);
    expect(validateArtifacts(denseArtifactsWithTraining()).trainingConfig).toMatchObject({ loss: 'meanSquaredError' });
  });

  it('normalizes a typed-array view and a list of buffers into one ArrayBuffer', () => {
    const fixture = denseArtifacts();
    const padded = new Uint8Array(fixture.weightData.byteLength + 16);
    padded.set(new Uint8Array(fixture.weightData), 8);
    const fromView = validateArtifacts({ ...fixture, weightData: new Uint8Array(padded.buffer, 8, fixture.weightData.byteLength) });
    expect(fromView.weightData).toBeInstanceOf(ArrayBuffer);
    expect(bytesOf(fromView.weightData)).toEqual(bytesOf(fixture.weightData));
    const split = [fixture.weightData.slice(0, 100), fixture.weightData.slice(100)];
    expect(bytesOf(validateArtifacts({ ...fixture, weightData: split }).weightData)).toEqual(bytesOf(fixture.weightData));
  });

  it('accepts the other allowlisted layers with their shape conventions', () => {
    const fixture = denseArtifacts();
    fixture.modelTopology = {
      class_name: 'Sequential',
      config: {
        name: 'kitchen_sink',
        layers: [
          { class_name: 'Embedding', config: { input_dim: 100, output_dim: 4, input_length: null, batch_input_shape: [null, null], dtype: 'int32', embeddings_initializer: { class_name: 'RandomUniform', config: { minval: -0.05, maxval: 0.05, seed: null } } } },
          { class_name: 'Reshape', config: { target_shape: [-1, 2] } },
          { class_name: 'Flatten', config: {} },
          { class_name: 'BatchNormalization', config: { axis: -1, momentum: 0.99, epsilon: 0.001, gamma_initializer: { class_name: 'Ones', config: {} } } },
          { class_name: 'LayerNormalization', config: { axis: [-1], epsilon: 0.001 } },
          { class_name: 'Dropout', config: { rate: 0.2, noise_shape: null, seed: null } },
          { class_name: 'Activation', config: { activation: 'gelu' } },
          { class_name: 'Dense', config: { units: 3, activation: 'softmax', kernel_constraint: { class_name: 'MaxNorm', config: { maxValue: 2, axis: 0 } } } },
        ],
      },
    };
    fixture.weightSpecs = [{ name: 'embedding/embeddings', shape: [100, 4], dtype: 'float32' }, { name: 'steps', shape: [2], dtype: 'int32' }, { name: 'mask', shape: [3], dtype: 'bool' }];
    fixture.weightData = new ArrayBuffer(100 * 4 * 4 + 8 + 3);
    expect(validateArtifacts(fixture).weightSpecs).toHaveLength(3);
  });

  it('accepts a model without weights, and Keras-converter topologies wrapped in model_config', () => {
    const wrapped = denseArtifacts();
    wrapped.modelTopology = { keras_version: '2.15.0', backend: 'tensorflow', model_config: wrapped.modelTopology, training_config: { loss: 'mse', optimizer_config: { class_name: 'SGD', config: {} } } };
    expect(() => validateArtifacts(wrapped)).not.toThrow();
    const empty = { modelTopology: { class_name: 'Sequential', config: { layers: [{ class_name: 'Flatten', config: { batch_input_shape: [null, 2, 2] } }] } }, weightSpecs: [], weightData: new ArrayBuffer(0) };
    expect(validateArtifacts(empty).weightSpecs).toEqual([]);
  });

  it('parses the model.json form, assembles its shards and validates the result', () => {
    const fixture = denseModelJson();
    const parsed = parseModelJson(fixture.text);
    expect(parsed.shardPaths).toEqual(['weights.bin']);
    expect(parsed.weightBytes).toBe(708);
    expect(parsed.weightSpecs).toEqual(fixture.json.weightsManifest[0]!.weights);
    const weightData = assembleShards(fixture.shards, parsed.weightBytes);
    const artifacts = validateArtifacts({ modelTopology: parsed.modelTopology, weightSpecs: parsed.weightSpecs, weightData });
    expect(bytesOf(artifacts.weightData)).toEqual(bytesOf(fixture.shards[0]!));
    expect(parseModelJson(`\uFEFF${fixture.text}`).shardPaths).toEqual(['weights.bin']);
  });

  it('flattens a manifest of several groups and shards in order', () => {
    const { json, shards } = denseModelJson();
    const specs = json.weightsManifest[0]!.weights;
    json.weightsManifest = [
      { paths: ['group1-shard1of2.bin', 'group1-shard2of2.bin'], weights: specs.slice(0, 2) },
      { paths: ['group2-shard1of1.bin'], weights: specs.slice(2) },
    ];
    const parsed = parseModelJson(JSON.stringify(json));
    expect(parsed.shardPaths).toEqual(['group1-shard1of2.bin', 'group1-shard2of2.bin', 'group2-shard1of1.bin']);
    expect(parsed.weightSpecs.map((s) => s.name)).toEqual(specs.map((s) => s.name));
    const bytes = shards[0]!;
    const assembled = assembleShards([bytes.slice(0, 300), bytes.slice(300, 672), new Uint8Array(bytes, 672)], parsed.weightBytes);
    expect(bytesOf(assembled)).toEqual(bytesOf(bytes));
  });

  it('hashes with SHA-256 and verifies case-insensitively', async () => {
    expect(await sha256Hex(new TextEncoder().encode('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(await sha256Hex(new ArrayBuffer(0))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    const { weightData } = denseArtifacts();
    const hex = await sha256Hex(weightData);
    await expect(verifySha256(weightData, hex.toUpperCase(), 'weights.bin')).resolves.toBeUndefined();
  });

  it('applies overridden limits, and refuses malformed ones as an invalid argument', () => {
    expect(() => validateArtifacts(denseArtifacts(), { maxWeightBytes: 700 })).toThrow(ModelArtifactError);
    const noise = denseArtifacts();
    layersOf(noise).splice(1, 0, { class_name: 'GaussianNoise', config: { stddev: 0.1 } });
    expect(() => validateArtifacts(noise)).toThrow(ModelArtifactError);
    expect(() => validateArtifacts(noise, { layerClasses: [...ARTIFACT_LIMITS.layerClasses, 'GaussianNoise'] })).not.toThrow();
    expect(() => validateArtifacts(denseArtifacts(), { maxLayers: -1 })).toThrow(InvalidArgumentError);
    expect(() => validateArtifacts(denseArtifacts(), { dtypes: ['float64'] as never })).toThrow(InvalidArgumentError);
    expect(() => validateArtifacts(denseArtifacts(), { maxLayer: 3 } as never)).toThrow(InvalidArgumentError);
  });
});

describe('error messages', () => {
  it('names the place and the rule, with details for programs', () => {
    const fixture = denseArtifacts();
    fixture.weightSpecs[3]!.shape = [-4];
    const error = caught(() => validateArtifacts(fixture)) as ModelArtifactError;
    expect(error).toBeInstanceOf(ModelArtifactError);
    expect(error.message).toBe('weightSpecs[3].shape[0] is -4; shapes are non-negative integers.');
    expect(error.details).toMatchObject({ path: 'weightSpecs[3].shape[0]', reason: 'bad-dimension' });
  });

  it('reports the byte shortfall', () => {
    const fixture = denseArtifacts();
    fixture.weightData = fixture.weightData.slice(0, 704);
    const error = caught(() => validateArtifacts(fixture)) as ModelArtifactError;
    expect(error.message).toContain('704 bytes but weightSpecs describe 708 bytes (4 bytes missing)');
    expect(error.details).toMatchObject({ path: 'weightData', reason: 'byte-length-mismatch', expected: 708, actual: 704 });
  });

  it('wraps foreign throws without passing the thrown value on', () => {
    const fixture = denseArtifacts();
    const hostile = new Proxy({}, { getPrototypeOf: () => ModelArtifactError.prototype });
    // eslint-disable-next-line @typescript-eslint/only-throw-error -- the hostile non-Error throw is the point
    const error = caught(() => validateArtifacts(new Proxy(fixture, { getOwnPropertyDescriptor: () => { throw hostile; } }))) as ModelArtifactError;
    expect(error).not.toBe(hostile);
    expect(Object.getPrototypeOf(error)).toBe(ModelArtifactError.prototype);
    expect(error.details).toMatchObject({ reason: 'unreadable' });
    expect(error.cause).toBeInstanceOf(Error);
  });
});

describe('corrupted artifacts', () => {
  it(`the corpus has at least 120 distinct, named mutants (${corpus.length})`, () => {
    expect(corpus.length).toBeGreaterThanOrEqual(120);
    expect(new Set(corpus.map((m) => m.name)).size).toBe(corpus.length);
  });

  it.each(corpus.map((m) => [m.name, m] as const))('rejects %s', async (_name, m) => {
    const run = await m.prepare();
    const started = performance.now();
    let thrown: unknown;
    try {
      await run();
    } catch (error) {
      thrown = error;
    }
    const elapsed = performance.now() - started;
    expect(thrown).toBeInstanceOf(ModelArtifactError);
    const error = thrown as ModelArtifactError;
    expect(Object.getPrototypeOf(error)).toBe(ModelArtifactError.prototype);
    expect(error.code).toBe('MODEL_ARTIFACT_INVALID');
    expect(typeof error.details.path).toBe('string');
    expect(typeof error.details.reason).toBe('string');
    // A guard against hangs (an artifact must end in a typed error, never spin), not a performance assertion.
    expect(elapsed).toBeLessThan(5_000);
  });
});

describe('prototype pollution', () => {
  it('leaves Object.prototype alone after hostile JSON', () => {
    const hostile = [
      '{"__proto__": {"polluted": "yes"}}',
      '{"modelTopology": {"__proto__": {"polluted": "yes"}}, "weightsManifest": []}',
      '{"modelTopology": {"class_name": "Sequential", "config": {"layers": [{"class_name": "Dense", "config": {"constructor": {"prototype": {"polluted": "yes"}}}}]}}, "weightsManifest": []}',
      '{"weightsManifest": [{"paths": ["w.bin"], "weights": [{"name": "a", "shape": [1], "dtype": "float32", "__proto__": {"polluted": "yes"}}]}]}',
    ];
    for (const text of hostile) {
      expect(() => parseModelJson(text)).toThrow(ModelArtifactError);
      const parsed = JSON.parse(text) as Json;
      expect(() => validateArtifacts({ modelTopology: parsed.modelTopology ?? parsed, weightSpecs: [], weightData: new ArrayBuffer(0) })).toThrow(ModelArtifactError);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });
});

describe('properties', () => {
  const anything = fc.anything({
    maxDepth: 4, withBigInt: true, withBoxedValues: true, withDate: true, withMap: true, withSet: true,
    withNullPrototype: true, withObjectString: true, withSparseArray: true, withTypedArray: true,
  });
  const dim = fc.oneof(fc.integer({ min: -3, max: 6 }), fc.constantFrom(NaN, Infinity, 1.5, 2 ** 31, 2 ** 53), anything);
  const spec = fc.record(
    { name: fc.oneof(fc.string({ maxLength: 8 }), anything), shape: fc.oneof(fc.array(dim, { maxLength: 10 }), anything), dtype: fc.oneof(fc.constantFrom('float32', 'int32', 'bool', 'float64'), anything) },
    { requiredKeys: [] },
  );
  const layer = fc.record(
    { class_name: fc.oneof(fc.constantFrom('Dense', 'Lambda', 'Sequential', 'InputLayer'), anything), config: fc.oneof(fc.dictionary(fc.constantFrom('units', 'activation', 'batch_input_shape', 'axis', 'target_shape', 'kernel_initializer', '__proto__', 'name'), anything), anything) },
    { requiredKeys: [] },
  );
  const topology = fc.oneof(
    fc.record({ class_name: fc.constantFrom('Sequential', 'Model', 'Functional', 'Evil'), config: fc.oneof(fc.record({ layers: fc.array(layer, { maxLength: 4 }) }), fc.array(layer, { maxLength: 4 }), anything) }, { requiredKeys: [] }),
    anything,
  );
  const artifactLike = fc.record(
    {
      modelTopology: topology,
      weightSpecs: fc.oneof(fc.array(spec, { maxLength: 5 }), anything),
      weightData: fc.oneof(fc.integer({ min: 0, max: 64 }).map((n) => new ArrayBuffer(n)), fc.uint8Array({ maxLength: 32 }), anything),
      trainingConfig: anything,
    },
    { requiredKeys: [] },
  );

  it('arbitrary values as artifacts throw nothing but ModelArtifactError', () => {
    fc.assert(fc.property(anything, (value) => onlyArtifactErrors(() => validateArtifacts(value))), { seed: 7, numRuns: 500 });
    fc.assert(fc.property(artifactLike, (value) => onlyArtifactErrors(() => validateArtifacts(value))), { seed: 8, numRuns: 1000 });
  });

  it('arbitrary text as model.json throws nothing but ModelArtifactError', () => {
    const valid = denseModelJson().text;
    const mangled = fc.tuple(fc.nat({ max: valid.length }), fc.nat({ max: 20 }), fc.string({ maxLength: 6 })).map(([at, cut, insert]) => valid.slice(0, at) + insert + valid.slice(at + cut));
    const text = fc.oneof(fc.string(), fc.jsonValue().map((v) => JSON.stringify(v)), mangled, fc.json());
    fc.assert(fc.property(text, (t) => onlyArtifactErrors(() => parseModelJson(t))), { seed: 9, numRuns: 1000 });
  });

  it('well-formed specs are accepted exactly when the bytes add up (oracle: the sum of element × dtype size)', () => {
    const bytesPer = { float32: 4, int32: 4, bool: 1 } as const;
    const goodSpec = fc.record({ shape: fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 4 }), dtype: fc.constantFrom<keyof typeof bytesPer>('float32', 'int32', 'bool') });
    fc.assert(
      fc.property(fc.array(goodSpec, { maxLength: 6 }), fc.integer({ min: -3, max: 3 }), (specs, delta) => {
        const named = specs.map((s, i) => ({ ...s, name: `w${i}` }));
        const expected = named.reduce((sum, s) => sum + s.shape.reduce((a, b) => a * b, 1) * bytesPer[s.dtype], 0);
        const length = Math.max(0, expected + delta);
        const input = { ...denseArtifacts(), weightSpecs: named, weightData: new ArrayBuffer(length) };
        const error = caught(() => validateArtifacts(input));
        if (length === expected) expect(error).toBeUndefined();
        else expect(error).toBeInstanceOf(ModelArtifactError);
      }),
      { seed: 10, numRuns: 300 },
    );
  });
});
