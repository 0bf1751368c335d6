/**
 * Validation of TensorFlow.js layers-model artifacts before tfjs ever sees them.
 *
 * A model comes back from the registry as `{ modelTopology, weightSpecs, weightData }` or arrives from outside as a
 * `model.json` plus weight shards. Either way it is untrusted input: tfjs would happily allocate whatever a weight spec
 * claims, instantiate any registered class a topology names, and read past or short of the weight bytes. The
 * functions here check every part cheaply and in a fixed order, cap every size before spending work on it, and hand
 * back frozen, normalized copies, so that what was checked is exactly what gets loaded.
 *
 * Every failure is a {@link ModelArtifactError} with `details.path` (where, e.g. `weightSpecs[3].shape[1]`) and
 * `details.reason` (a short stable tag, e.g. `negative-dimension`). Nothing else escapes, whatever the input: throwing
 * getters, proxies, cycles, NaN, giant arrays or strings are all reported as a {@link ModelArtifactError}. Only a
 * malformed `limits` argument, which is a programming error rather than a bad artifact, throws
 * {@link InvalidArgumentError}.
 *
 * Pure: no tfjs, no DOM; hashing uses `crypto.subtle`, present in browsers (secure contexts) and Node 20.
 *
 * @example
 * ```ts
 * const parsed = parseModelJson(await (await fetch(url)).text());
 * const shards = await Promise.all(parsed.shardPaths.map(async (p) => (await fetch(new URL(p, url))).arrayBuffer()));
 * const artifacts = validateArtifacts({
 *   modelTopology: parsed.modelTopology,
 *   weightSpecs: parsed.weightSpecs,
 *   weightData: assembleShards(shards, parsed.weightBytes),
 * });
 * ```
 *
 * @module
 */
import type * as Tf from '@tensorflow/tfjs';
import { InvalidArgumentError, ModelArtifactError } from '../errors.ts';

// --- Types -------------------------------------------------------------------------------------------------------

/** Bytes per element of every weight dtype Larder can account for. */
const BYTES_PER_ELEMENT = { float32: 4, int32: 4, bool: 1 } as const;

/** A weight dtype whose byte size Larder knows. */
export type WeightDtype = keyof typeof BYTES_PER_ELEMENT;

/** A JSON value as it comes out of validation: plain, acyclic, finite, deeply frozen. */
export type JsonValue = null | boolean | number | string | readonly JsonValue[] | JsonObject;

/** A plain JSON object (see {@link JsonValue}). */
export interface JsonObject {
  readonly [key: string]: JsonValue;
}

/** One weight tensor of a model, in the order its bytes appear in the weight data. */
export interface WeightSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: WeightDtype;
}

/** What {@link validateArtifacts} returns: a frozen copy holding only the checked fields. */
export interface ValidatedArtifacts {
  readonly modelTopology: JsonObject;
  readonly weightSpecs: readonly WeightSpec[];
  /** A private copy of the weight bytes (a view or a list of buffers is concatenated into one buffer). */
  readonly weightData: ArrayBuffer;
  readonly trainingConfig?: JsonObject;
}

/** What {@link parseModelJson} returns: the checked manifest, before any weight bytes are fetched. */
export interface ParsedModelJson {
  readonly modelTopology: JsonObject;
  /** All groups' weight specs, concatenated in manifest order (the order of the bytes across all shards). */
  readonly weightSpecs: readonly WeightSpec[];
  /** All groups' shard file names, in manifest order; concatenated they are the weight data. */
  readonly shardPaths: readonly string[];
  /** The exact byte length the concatenated shards must have (pass it to {@link assembleShards}). */
  readonly weightBytes: number;
  readonly trainingConfig?: JsonObject;
}

/**
 * Caps and allowlists applied by every function here. Override any subset per call; an allowlist given replaces the
 * default one (spread the default to extend it).
 */
export interface ArtifactLimits {
  /** Longest model.json text, and the largest topology + training config measured as JSON characters. */
  readonly maxJsonChars: number;
  /** Deepest nesting of objects and arrays in a topology (the model.json wrapper may add one level). */
  readonly maxJsonDepth: number;
  /** Most layers in a topology, counting those of nested models. */
  readonly maxLayers: number;
  /** Most weight specs. */
  readonly maxWeights: number;
  /** Most shard files (and manifest groups) in a model.json, and buffers in a composite weight data. */
  readonly maxShards: number;
  /** Highest rank of a weight shape or layer shape; also bounds `axis` values. */
  readonly maxRank: number;
  /** Longest weight name. */
  readonly maxNameLength: number;
  /** Longest shard file name. */
  readonly maxShardPathLength: number;
  /** Most elements in one weight; also the largest single dimension or unit count in a layer config. */
  readonly maxElementsPerWeight: number;
  /** Most elements across all weights. */
  readonly maxTotalElements: number;
  /** Most weight bytes in total. */
  readonly maxWeightBytes: number;
  /** Layer class names a topology may use (nested `Sequential`/`Model`/`Functional` are always allowed). */
  readonly layerClasses: readonly string[];
  /** Class names allowed for initializers, regularizers and constraints inside a layer config. */
  readonly componentClasses: readonly string[];
  /** Optimizer class names allowed in a training config. */
  readonly optimizerClasses: readonly string[];
  /** Weight (and layer) dtypes allowed. */
  readonly dtypes: readonly WeightDtype[];
  /** Activation names allowed for `activation` and `*_activation` layer fields. */
  readonly activations: readonly string[];
}

const MIB = 1024 * 1024;

/**
 * The default limits. Sized for the tabular models Larder trains in a tab: a few hundred layers and up to 64 Mi
 * float32 parameters (256 MiB) is far beyond them, yet small enough that a hostile artifact cannot exhaust memory.
 *
 * @example
 * ```ts
 * // A bigger model, and Conv2D on top of the default layers:
 * validateArtifacts(artifacts, {
 *   maxWeightBytes: 512 * 1024 * 1024,
 *   maxTotalElements: 128 * 1024 * 1024,
 *   layerClasses: [...ARTIFACT_LIMITS.layerClasses, 'Conv2D'],
 * });
 * ```
 */
export const ARTIFACT_LIMITS: ArtifactLimits = Object.freeze({
  maxJsonChars: 4 * MIB,
  maxJsonDepth: 64,
  maxLayers: 512,
  maxWeights: 4096,
  maxShards: 256,
  maxRank: 8,
  maxNameLength: 256,
  maxShardPathLength: 128,
  maxElementsPerWeight: 64 * MIB,
  maxTotalElements: 64 * MIB,
  maxWeightBytes: 256 * MIB,
  layerClasses: Object.freeze([
    'InputLayer', 'Dense', 'Dropout', 'BatchNormalization', 'Activation', 'Flatten', 'Reshape', 'Concatenate', 'Add',
    'Embedding', 'LayerNormalization',
  ]),
  componentClasses: Object.freeze([
    // initializers
    'Zeros', 'Ones', 'Constant', 'RandomUniform', 'RandomNormal', 'TruncatedNormal', 'VarianceScaling',
    'GlorotUniform', 'GlorotNormal', 'HeUniform', 'HeNormal', 'LeCunUniform', 'LeCunNormal', 'Orthogonal', 'Identity',
    // regularizers
    'L1L2', 'L1', 'L2',
    // constraints
    'MaxNorm', 'UnitNorm', 'NonNeg', 'MinMaxNorm',
  ]),
  optimizerClasses: Object.freeze(['SGD', 'Momentum', 'Adam', 'Adamax', 'Adagrad', 'Adadelta', 'RMSProp']),
  dtypes: Object.freeze(['float32', 'int32', 'bool'] as const),
  activations: Object.freeze([
    'linear', 'relu', 'sigmoid', 'tanh', 'softmax', 'elu', 'selu', 'softplus', 'softsign', 'swish', 'gelu',
  ]),
});

/** Model (container) class names; always allowed, at the top and nested as a layer. */
const MODEL_CLASSES: ReadonlySet<string> = new Set(['Sequential', 'Model', 'Functional']);

/** Keys refused anywhere: they are the handles of prototype pollution in code that later merges configs. */
const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

const NUMERIC_LIMIT_KEYS = [
  'maxJsonChars', 'maxJsonDepth', 'maxLayers', 'maxWeights', 'maxShards', 'maxRank', 'maxNameLength',
  'maxShardPathLength', 'maxElementsPerWeight', 'maxTotalElements', 'maxWeightBytes',
] as const;
const LIST_LIMIT_KEYS = ['layerClasses', 'componentClasses', 'optimizerClasses', 'dtypes', 'activations'] as const;

/** Limit values stay far below 2^53 so that every sum and product of them is exact. */
const MAX_LIMIT_VALUE = 2 ** 48;

/** The allowlist fields of {@link ArtifactLimits}. */
type AllowlistKey = 'layerClasses' | 'componentClasses' | 'optimizerClasses' | 'dtypes' | 'activations';

/** Resolved limits: the numbers as given, the allowlists as sets. */
type Limits = Omit<ArtifactLimits, AllowlistKey> & { readonly [K in AllowlistKey]: ReadonlySet<string> };

// --- Errors --------------------------------------------------------------------------------------------------------

/** Errors created here; recognised by identity, since a hostile proxy can fake `instanceof`. */
const OWN_ERRORS = new WeakSet<object>();

function fail(path: string, reason: string, message: string, extra: Record<string, unknown> = {}): never {
  const error = new ModelArtifactError(message, { details: { path, reason, ...extra } });
  OWN_ERRORS.add(error);
  throw error;
}

function isOwnError(error: unknown): error is ModelArtifactError {
  return typeof error === 'object' && error !== null && OWN_ERRORS.has(error);
}

/** A short description of a foreign thrown value; never throws and never calls user code twice. */
function describeThrown(error: unknown): string {
  try {
    if (error instanceof Error) {
      const name: unknown = error.name;
      const message: unknown = error.message;
      return `${typeof name === 'string' ? clip(name, 40) : 'Error'}: ${typeof message === 'string' ? clip(message, 200) : ''}`;
    }
  } catch {
    // A proxy or a throwing getter; fall through to the generic description.
  }
  return 'a value that is not an Error was thrown';
}

/**
 * Runs `body`, turning anything but our own errors into a {@link ModelArtifactError}. The original is described in
 * the message and a plain `Error` copy becomes the cause: a hostile thrown value is never passed on.
 */
function guard<T>(what: string, body: () => T): T {
  try {
    return body();
  } catch (error) {
    throw wrapThrown(error, what);
  }
}

function wrapThrown(error: unknown, what: string): ModelArtifactError {
  if (isOwnError(error)) return error;
  const description = describeThrown(error);
  const wrapped = new ModelArtifactError(
    `${what} could not be read (${description}); artifacts must be plain data without getters, proxies or exotic objects.`,
    { details: { path: what, reason: 'unreadable', thrown: description }, cause: new Error(description) },
  );
  OWN_ERRORS.add(wrapped);
  return wrapped;
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}

/** A value as it should appear in a message: short, and without running user code. */
function show(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(clip(value, 60));
    case 'number':
      return Object.is(value, -0) ? '-0' : String(value);
    case 'bigint':
      return `${clip(String(value), 40)}n`;
    case 'boolean':
      return String(value);
    case 'undefined':
      return 'missing';
    case 'symbol':
      return 'a symbol';
    case 'function':
      return 'a function';
    default:
      break;
  }
  if (value === null) return 'null';
  try {
    if (Array.isArray(value)) return 'an array';
    const tag = Object.prototype.toString.call(value).slice(8, -1);
    return tag === 'Object' ? 'an object' : `a ${clip(tag, 40)}`;
  } catch {
    return 'an unreadable object';
  }
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

function keyPath(path: string, key: string): string {
  return IDENTIFIER.test(key) && key.length <= 64 ? `${path}.${key}` : `${path}[${JSON.stringify(clip(key, 64))}]`;
}

function plural(n: number, word: string): string {
  return `${n.toLocaleString('en-US')} ${word}${n === 1 ? '' : 's'}`;
}

function listing(values: ReadonlySet<string>): string {
  return [...values].join(', ');
}

// --- Limits --------------------------------------------------------------------------------------------------------

function resolveLimits(overrides: Partial<ArtifactLimits> | undefined): Limits {
  if (overrides === undefined) return DEFAULT_LIMITS;
  if (typeof overrides !== 'object' || overrides === null || Array.isArray(overrides)) {
    throw new InvalidArgumentError(`limits must be an object of ArtifactLimits fields, not ${show(overrides)}.`);
  }
  const merged: Record<string, unknown> = { ...ARTIFACT_LIMITS };
  for (const key of Object.keys(overrides)) {
    if (!(NUMERIC_LIMIT_KEYS as readonly string[]).includes(key) && !(LIST_LIMIT_KEYS as readonly string[]).includes(key)) {
      throw new InvalidArgumentError(`limits.${clip(key, 64)} is not an artifact limit; known: ${[...NUMERIC_LIMIT_KEYS, ...LIST_LIMIT_KEYS].join(', ')}.`);
    }
    const value = (overrides as Record<string, unknown>)[key];
    if (value !== undefined) merged[key] = value;
  }
  for (const key of NUMERIC_LIMIT_KEYS) {
    const value = merged[key];
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1 || value > MAX_LIMIT_VALUE) {
      throw new InvalidArgumentError(`limits.${key} is ${show(value)}; use a whole number from 1 to 2^48.`);
    }
  }
  const sets: Record<string, ReadonlySet<string>> = {};
  for (const key of LIST_LIMIT_KEYS) {
    const value = merged[key];
    if (!Array.isArray(value) || !value.every((item): item is string => typeof item === 'string')) {
      throw new InvalidArgumentError(`limits.${key} must be an array of strings, not ${show(value)}.`);
    }
    sets[key] = new Set(value);
  }
  for (const dtype of sets.dtypes!) {
    if (!Object.hasOwn(BYTES_PER_ELEMENT, dtype)) {
      throw new InvalidArgumentError(
        `limits.dtypes has ${show(dtype)}, whose byte size Larder does not know; use a subset of ${Object.keys(BYTES_PER_ELEMENT).join(', ')}.`,
      );
    }
  }
  const numbers = merged as Record<(typeof NUMERIC_LIMIT_KEYS)[number], number>;
  return {
    ...numbers,
    layerClasses: sets.layerClasses!,
    componentClasses: sets.componentClasses!,
    optimizerClasses: sets.optimizerClasses!,
    dtypes: sets.dtypes!,
    activations: sets.activations!,
  };
}

const DEFAULT_LIMITS: Limits = resolveLimits({});

// --- Reading untrusted objects -------------------------------------------------------------------------------------

function isPlainObject(value: unknown): value is object {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function isPlainArray(value: unknown): value is readonly unknown[] {
  return Array.isArray(value) && Object.getPrototypeOf(value) === Array.prototype;
}

/** An own data property, read once through its descriptor so a getter never runs. */
function ownData(target: object, key: string | number, path: string): unknown {
  const descriptor = Object.getOwnPropertyDescriptor(target, key);
  if (descriptor === undefined) return undefined;
  if (!('value' in descriptor)) {
    fail(path, 'accessor', `${path} is a getter/setter; artifacts are plain data, so store the value itself.`);
  }
  return descriptor.value as unknown;
}

/** An own property of a validated (already copied) JSON object. */
function own(target: JsonObject, key: string): JsonValue | undefined {
  return Object.hasOwn(target, key) ? target[key] : undefined;
}

function isJsonArray(value: JsonValue | undefined): value is readonly JsonValue[] {
  return Array.isArray(value);
}

function isJsonObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The array length, checked against a cap before any element is touched. */
function arrayLength(value: readonly unknown[], path: string, max: number, what: string): number {
  const length = value.length;
  if (!Number.isSafeInteger(length) || length < 0) fail(path, 'bad-length', `${path} reports length ${show(length)}.`);
  if (length > max) {
    fail(path, 'too-many', `${path} has ${plural(length, 'entry')}; at most ${plural(max, what)} are allowed.`, {
      length,
      limit: max,
    });
  }
  return length;
}

// --- JSON copy: the structural pass --------------------------------------------------------------------------------

interface JsonBudget {
  remaining: number;
  readonly limit: number;
  readonly maxDepth: number;
}

function newBudget(limits: Limits): JsonBudget {
  return { remaining: limits.maxJsonChars, limit: limits.maxJsonChars, maxDepth: limits.maxJsonDepth };
}

/**
 * Where the copy is, as a chain of keys up to a root name; turned into text (`a.b[3]`) only for an error message,
 * so walking a large topology builds no path strings.
 */
interface PathNode {
  readonly up: At;
  readonly key: string | number;
}
type At = PathNode | string;

function pathText(at: At): string {
  const keys: (string | number)[] = [];
  let node = at;
  while (typeof node !== 'string') {
    keys.push(node.key);
    node = node.up;
  }
  let text = node;
  for (let i = keys.length - 1; i >= 0; i--) {
    const key = keys[i]!;
    text = typeof key === 'number' ? `${text}[${key}]` : keyPath(text, key);
  }
  return text;
}

function spend(budget: JsonBudget, chars: number, at: At): void {
  budget.remaining -= chars;
  if (budget.remaining < 0) {
    const path = pathText(at);
    fail(
      path,
      'too-large',
      `${path} takes the model's JSON past ${plural(budget.limit, 'character')} (limits.maxJsonChars); the topology is oversized or hostile.`,
      { limit: budget.limit },
    );
  }
}

/**
 * Copies an untrusted value into plain, frozen-able JSON, checking as it walks: only plain objects and arrays, no
 * accessors, holes, cycles or forbidden keys, finite numbers, and depth and size caps measured on the way (each value
 * counts roughly its serialized length, so shared references are paid for every time they are reached).
 * Object properties holding `undefined` are dropped, as JSON.stringify would.
 */
function copyJson(value: unknown, at: At, depth: number, budget: JsonBudget, ancestors: object[]): JsonValue {
  switch (typeof value) {
    case 'string':
      spend(budget, value.length + 2, at);
      return value;
    case 'number':
      if (!Number.isFinite(value)) {
        const path = pathText(at);
        fail(path, 'not-finite', `${path} is ${show(value)}; JSON numbers are finite.`);
      }
      spend(budget, String(value).length, at);
      return value;
    case 'boolean':
      spend(budget, 5, at);
      return value;
    case 'object':
      if (value === null) {
        spend(budget, 4, at);
        return null;
      }
      break;
    default: {
      const path = pathText(at);
      fail(path, 'not-json', `${path} is ${show(value)}; artifacts hold only JSON values (objects, arrays, strings, finite numbers, booleans, null).`);
    }
  }
  if (depth >= budget.maxDepth) {
    const path = pathText(at);
    fail(path, 'too-deep', `${path} nests deeper than ${budget.maxDepth} levels (limits.maxJsonDepth).`, {
      limit: budget.maxDepth,
    });
  }
  // At most maxJsonDepth ancestors: a short scan beats hashing every node into a set.
  if (ancestors.includes(value)) {
    const path = pathText(at);
    fail(path, 'cycle', `${path} refers back to one of its own ancestors; JSON has no cycles.`);
  }
  spend(budget, 2, at);
  ancestors.push(value);
  try {
    if (Array.isArray(value)) {
      if (Object.getPrototypeOf(value) !== Array.prototype) {
        const path = pathText(at);
        fail(path, 'not-plain', `${path} is an array subclass; only plain arrays are JSON.`);
      }
      const length = (value as unknown[]).length;
      if (!Number.isSafeInteger(length) || length < 0) {
        const path = pathText(at);
        fail(path, 'bad-length', `${path} reports length ${show(length)}.`);
      }
      spend(budget, length, at); // one separator each: refuses huge (even sparse) arrays before iterating
      const copy: JsonValue[] = [];
      for (let i = 0; i < length; i++) {
        const descriptor = Object.getOwnPropertyDescriptor(value, i);
        const item = descriptor?.value as unknown;
        if (descriptor === undefined || !('value' in descriptor) || item === undefined) {
          const path = pathText({ up: at, key: i });
          if (descriptor === undefined) fail(path, 'hole', `${path} is a hole in a sparse array; JSON arrays are dense.`);
          if (!('value' in descriptor)) fail(path, 'accessor', `${path} is a getter/setter; artifacts are plain data.`);
          fail(path, 'not-json', `${path} is undefined; JSON arrays hold no undefined.`);
        }
        copy.push(copyJson(item, { up: at, key: i }, depth + 1, budget, ancestors));
      }
      return copy;
    }
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      const path = pathText(at);
      fail(path, 'not-plain', `${path} is ${show(value)}, not a plain object; artifacts hold only JSON values.`);
    }
    const keys = Object.keys(value);
    // Every member costs its key, quotes, colon and comma: a huge object is refused before any value is read.
    let keyChars = 0;
    for (const key of keys) keyChars += key.length + 4;
    spend(budget, keyChars, at);
    const copy: Record<string, JsonValue> = {};
    for (const key of keys) {
      if (FORBIDDEN_KEYS.has(key)) {
        const path = pathText(at);
        fail(`${path}[${JSON.stringify(key)}]`, 'forbidden-key', `${path} has a ${JSON.stringify(key)} key, which is refused anywhere in an artifact (prototype pollution).`);
      }
      const descriptor = Object.getOwnPropertyDescriptor(value, key);
      if (descriptor === undefined) continue; // removed while walking (a proxy); as if absent
      if (!('value' in descriptor)) {
        const path = pathText({ up: at, key });
        fail(path, 'accessor', `${path} is a getter/setter; artifacts are plain data, so store the value itself.`);
      }
      const child = descriptor.value as unknown;
      if (child === undefined) continue;
      copy[key] = copyJson(child, { up: at, key }, depth + 1, budget, ancestors);
    }
    return copy;
  } finally {
    ancestors.pop();
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

// --- Topology: the semantic pass (on the copy) ---------------------------------------------------------------------

interface TopologyContext {
  readonly limits: Limits;
  layers: number;
}

function checkTopology(topology: JsonObject, path: string, limits: Limits): void {
  const context: TopologyContext = { limits, layers: 0 };
  // Keras files converted by tfjs-converter wrap the model as { model_config, training_config }.
  const wrapped = own(topology, 'model_config');
  if (wrapped !== undefined) {
    const modelPath = `${path}.model_config`;
    if (!isJsonObject(wrapped)) fail(modelPath, 'not-object', `${modelPath} is ${show(wrapped)}; expected the model config object.`);
    checkModel(wrapped, modelPath, context);
    const training = own(topology, 'training_config');
    if (training !== undefined && training !== null) checkTrainingConfig(training, `${path}.training_config`, limits);
    return;
  }
  checkModel(topology, path, context);
}

function checkModel(model: JsonObject, path: string, context: TopologyContext): void {
  const className = own(model, 'class_name');
  if (typeof className !== 'string' || !MODEL_CLASSES.has(className)) {
    fail(`${path}.class_name`, 'class-not-allowed', `${path}.class_name is ${show(className)}; a model is one of ${listing(MODEL_CLASSES)}.`);
  }
  const config = own(model, 'config');
  const configPath = `${path}.config`;
  if (className === 'Sequential') {
    // Sequential configs come as { name, layers } and, from older Keras, as the bare layer list.
    let layers = config;
    let layersPath = configPath;
    if (isJsonObject(config)) {
      layers = own(config, 'layers');
      layersPath = `${configPath}.layers`;
    }
    if (!isJsonArray(layers)) fail(layersPath, 'not-array', `${layersPath} is ${show(layers)}; a Sequential model lists its layers.`);
    checkLayers(layers, layersPath, context, false);
    return;
  }
  if (!isJsonObject(config)) fail(configPath, 'not-object', `${configPath} is ${show(config)}; a ${className} model has a config object.`);
  const layers = own(config, 'layers');
  const layersPath = `${configPath}.layers`;
  if (!isJsonArray(layers)) fail(layersPath, 'not-array', `${layersPath} is ${show(layers)}; a ${className} model lists its layers.`);
  const names = checkLayers(layers, layersPath, context, true);
  for (const key of ['input_layers', 'output_layers']) {
    const refs = own(config, key);
    const refsPath = `${configPath}.${key}`;
    if (!isJsonArray(refs) || refs.length === 0) {
      fail(refsPath, 'bad-reference', `${refsPath} is ${show(refs)}; a ${className} model names its ${key.replace('_', ' ')} as [layerName, nodeIndex, tensorIndex].`);
    }
    refs.forEach((ref, i) => checkLayerReference(ref, `${refsPath}[${i}]`, names, 3));
  }
}

/** Checks a list of layer entries; returns the entry names (functional models reference layers by them). */
function checkLayers(layers: readonly JsonValue[], path: string, context: TopologyContext, functional: boolean): Set<string> {
  const { limits } = context;
  context.layers += layers.length;
  if (context.layers > limits.maxLayers) {
    fail(path, 'too-many-layers', `${path} brings the model to ${plural(context.layers, 'layer')}; at most ${limits.maxLayers} are allowed (limits.maxLayers).`, {
      limit: limits.maxLayers,
    });
  }
  const names = new Set<string>();
  layers.forEach((layer, i) => {
    const layerPath = `${path}[${i}]`;
    if (!isJsonObject(layer)) fail(layerPath, 'not-object', `${layerPath} is ${show(layer)}; a layer is { class_name, config }.`);
    const className = own(layer, 'class_name');
    if (typeof className === 'string' && MODEL_CLASSES.has(className)) {
      checkModel(layer, layerPath, context);
    } else if (typeof className !== 'string' || !limits.layerClasses.has(className)) {
      fail(`${layerPath}.class_name`, 'class-not-allowed', `${layerPath}.class_name is ${show(className)}; Larder loads only these layers: ${listing(limits.layerClasses)} (limits.layerClasses).`, {
        className: typeof className === 'string' ? clip(className, 100) : null,
      });
    } else {
      checkLayerConfig(own(layer, 'config'), `${layerPath}.config`, limits);
    }
    if (functional) {
      const name = own(layer, 'name');
      if (typeof name !== 'string' || name === '') {
        fail(`${layerPath}.name`, 'bad-name', `${layerPath}.name is ${show(name)}; layers of a functional model are named.`);
      }
      if (names.has(name)) fail(`${layerPath}.name`, 'duplicate-name', `${layerPath}.name ${show(name)} is used by an earlier layer; layer names are unique.`);
      names.add(name);
    }
  });
  if (functional) {
    layers.forEach((layer, i) => {
      const nodesPath = `${path}[${i}].inbound_nodes`;
      const nodes = own(layer as JsonObject, 'inbound_nodes');
      if (!isJsonArray(nodes)) fail(nodesPath, 'bad-reference', `${nodesPath} is ${show(nodes)}; expected a list of nodes.`);
      nodes.forEach((node, n) => {
        const nodePath = `${nodesPath}[${n}]`;
        if (!isJsonArray(node)) fail(nodePath, 'bad-reference', `${nodePath} is ${show(node)}; a node lists its inputs.`);
        node.forEach((ref, r) => checkLayerReference(ref, `${nodePath}[${r}]`, names, 4));
      });
    });
  }
  return names;
}

/** `[layerName, nodeIndex, tensorIndex]`, plus an optional kwargs object in inbound nodes. */
function checkLayerReference(ref: JsonValue, path: string, names: ReadonlySet<string>, maxLength: number): void {
  const shape = `[layerName, nodeIndex, tensorIndex${maxLength === 4 ? ', kwargs?' : ''}]`;
  if (!isJsonArray(ref) || ref.length < 3 || ref.length > maxLength) {
    fail(path, 'bad-reference', `${path} is ${show(ref)}; a layer reference is ${shape}.`);
  }
  const [name, nodeIndex, tensorIndex, kwargs] = ref;
  if (typeof name !== 'string' || !names.has(name)) {
    fail(`${path}[0]`, 'unknown-layer', `${path}[0] is ${show(name)}, which is not a layer of this model.`);
  }
  for (const [index, value] of [[1, nodeIndex], [2, tensorIndex]] as const) {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      fail(`${path}[${index}]`, 'bad-reference', `${path}[${index}] is ${show(value)}; node and tensor indices are non-negative integers.`);
    }
  }
  if (ref.length === 4 && !isJsonObject(kwargs)) fail(`${path}[3]`, 'bad-reference', `${path}[3] is ${show(kwargs)}; node kwargs are an object.`);
}

/** Unit and size fields: non-negative integers. */
const COUNT_KEYS: ReadonlySet<string> = new Set(['units', 'input_dim', 'output_dim']);
/** Input shapes: null marks a dimension known only at run time (the batch, or a variable sequence length). */
const INPUT_SHAPE_KEYS: ReadonlySet<string> = new Set(['batch_input_shape', 'batch_shape', 'input_shape']);

function checkLayerConfig(config: JsonValue | undefined, path: string, limits: Limits): void {
  if (!isJsonObject(config)) fail(path, 'not-object', `${path} is ${show(config)}; a layer has a config object.`);
  for (const key of Object.keys(config)) {
    const value = config[key]!;
    const fieldPath = keyPath(path, key);
    if (COUNT_KEYS.has(key)) {
      checkDimension(value, fieldPath, limits, false);
    } else if (key === 'input_length') {
      if (value !== null) checkDimension(value, fieldPath, limits, false);
    } else if (INPUT_SHAPE_KEYS.has(key)) {
      checkShapeList(value, fieldPath, limits, true);
    } else if (key === 'noise_shape') {
      if (value !== null) checkShapeList(value, fieldPath, limits, true);
    } else if (key === 'target_shape') {
      checkTargetShape(value, fieldPath, limits);
    } else if (key === 'axis') {
      checkAxis(value, fieldPath, limits);
    } else if (key === 'activation' || key.endsWith('_activation')) {
      if (typeof value !== 'string' || !limits.activations.has(value)) {
        fail(fieldPath, 'activation-not-allowed', `${fieldPath} is ${show(value)}; Larder allows the activations ${listing(limits.activations)} (limits.activations).`);
      }
    } else if (key === 'dtype') {
      if (value !== null && (typeof value !== 'string' || !limits.dtypes.has(value))) {
        fail(fieldPath, 'dtype-not-allowed', `${fieldPath} is ${show(value)}; layer dtypes are ${listing(limits.dtypes)}.`);
      }
    } else {
      checkComponents(value, fieldPath, limits);
    }
  }
}

/** Initializers, regularizers and constraints inside a layer config: every `class_name` found must be allowlisted. */
function checkComponents(value: JsonValue, path: string, limits: Limits): void {
  if (isJsonArray(value)) {
    value.forEach((item, i) => checkComponents(item, `${path}[${i}]`, limits));
    return;
  }
  if (!isJsonObject(value)) return;
  if (Object.hasOwn(value, 'class_name')) {
    const className = value.class_name;
    if (typeof className !== 'string' || !limits.componentClasses.has(className)) {
      fail(`${path}.class_name`, 'class-not-allowed', `${path}.class_name is ${show(className)}; initializers, regularizers and constraints must be one of ${listing(limits.componentClasses)} (limits.componentClasses).`);
    }
  }
  for (const key of Object.keys(value)) checkComponents(value[key]!, keyPath(path, key), limits);
}

function checkDimension(value: JsonValue | undefined, path: string, limits: Limits, allowNull: boolean): void {
  if (allowNull && value === null) return;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    fail(path, 'bad-dimension', `${path} is ${show(value)}; shapes and unit counts are non-negative integers${allowNull ? ' (or null for a dimension known at run time)' : ''}.`);
  }
  if (value > limits.maxElementsPerWeight) {
    fail(path, 'dimension-too-large', `${path} is ${value}; no dimension may exceed ${plural(limits.maxElementsPerWeight, 'element')} (limits.maxElementsPerWeight).`);
  }
}

function checkShapeList(value: JsonValue, path: string, limits: Limits, allowNull: boolean): void {
  if (!isJsonArray(value)) fail(path, 'not-array', `${path} is ${show(value)}; a shape is an array of dimensions.`);
  if (value.length > limits.maxRank) {
    fail(path, 'rank-too-high', `${path} has rank ${value.length}; at most ${limits.maxRank} dimensions are allowed (limits.maxRank).`);
  }
  value.forEach((dim, i) => checkDimension(dim, `${path}[${i}]`, limits, allowNull));
}

/** Reshape's target shape: non-negative dimensions, with at most one -1 for "whatever is left". */
function checkTargetShape(value: JsonValue, path: string, limits: Limits): void {
  if (!isJsonArray(value)) fail(path, 'not-array', `${path} is ${show(value)}; a shape is an array of dimensions.`);
  if (value.length > limits.maxRank) {
    fail(path, 'rank-too-high', `${path} has rank ${value.length}; at most ${limits.maxRank} dimensions are allowed (limits.maxRank).`);
  }
  let inferred = 0;
  value.forEach((dim, i) => {
    if (dim === -1 && ++inferred === 1) return;
    if (dim === -1) fail(`${path}[${i}]`, 'bad-dimension', `${path}[${i}] is a second -1; a reshape infers at most one dimension.`);
    checkDimension(dim, `${path}[${i}]`, limits, false);
  });
}

function checkAxis(value: JsonValue, path: string, limits: Limits): void {
  const axes = isJsonArray(value) ? value : [value];
  if (axes.length > limits.maxRank) fail(path, 'rank-too-high', `${path} lists ${axes.length} axes; at most ${limits.maxRank}.`);
  axes.forEach((axis, i) => {
    if (typeof axis !== 'number' || !Number.isSafeInteger(axis) || Math.abs(axis) > limits.maxRank) {
      const where = Array.isArray(value) ? `${path}[${i}]` : path;
      fail(where, 'bad-axis', `${where} is ${show(axis)}; an axis is an integer from -${limits.maxRank} to ${limits.maxRank}.`);
    }
  });
}

function checkTrainingConfig(config: JsonValue, path: string, limits: Limits): JsonObject {
  if (!isJsonObject(config)) fail(path, 'not-object', `${path} is ${show(config)}; a training config is an object.`);
  const optimizer = own(config, 'optimizer_config');
  const optimizerPath = `${path}.optimizer_config`;
  if (optimizer !== undefined && optimizer !== null) {
    if (!isJsonObject(optimizer)) fail(optimizerPath, 'not-object', `${optimizerPath} is ${show(optimizer)}; expected { class_name, config }.`);
    const className = own(optimizer, 'class_name');
    if (typeof className !== 'string' || !limits.optimizerClasses.has(className)) {
      fail(`${optimizerPath}.class_name`, 'class-not-allowed', `${optimizerPath}.class_name is ${show(className)}; optimizers are ${listing(limits.optimizerClasses)} (limits.optimizerClasses).`);
    }
    const optimizerConfig = own(optimizer, 'config');
    if (optimizerConfig !== undefined && !isJsonObject(optimizerConfig)) {
      fail(`${optimizerPath}.config`, 'not-object', `${optimizerPath}.config is ${show(optimizerConfig)}; expected an object.`);
    }
  }
  return config;
}

// --- Weight specs --------------------------------------------------------------------------------------------------

interface SpecTally {
  readonly specs: WeightSpec[];
  readonly names: Map<string, string>;
  elements: number;
  bytes: number;
}

function newTally(): SpecTally {
  return { specs: [], names: new Map(), elements: 0, bytes: 0 };
}

/** Reads an untrusted list of weight specs into `tally`, checking each spec and the running totals. */
function addWeightSpecs(raw: unknown, path: string, tally: SpecTally, limits: Limits): void {
  if (!isPlainArray(raw)) {
    fail(path, 'not-array', `${path} is ${show(raw)}; expected an array of { name, shape, dtype }.`);
  }
  const length = arrayLength(raw, path, limits.maxWeights - tally.specs.length, 'weight spec');
  for (let i = 0; i < length; i++) {
    const specPath = `${path}[${i}]`;
    tally.specs.push(readWeightSpec(ownData(raw, i, specPath), specPath, tally, limits));
  }
}

function readWeightSpec(raw: unknown, path: string, tally: SpecTally, limits: Limits): WeightSpec {
  if (!isPlainObject(raw)) fail(path, 'not-object', `${path} is ${show(raw)}; a weight spec is { name, shape, dtype }.`);

  const name = ownData(raw, 'name', `${path}.name`);
  if (typeof name !== 'string' || name.length === 0 || name.length > limits.maxNameLength) {
    const got = typeof name === 'string' ? `${plural(name.length, 'character')} long` : show(name);
    fail(`${path}.name`, 'bad-name', `${path}.name is ${got}; a weight name is a string of 1 to ${limits.maxNameLength} characters.`);
  }
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (/[\u0000-\u001f\u007f]/.test(name)) {
    fail(`${path}.name`, 'bad-name', `${path}.name ${show(name)} contains control characters.`);
  }
  const earlier = tally.names.get(name);
  if (earlier !== undefined) {
    fail(`${path}.name`, 'duplicate-name', `${path}.name ${show(name)} repeats ${earlier}.name; weight names are unique.`, { name });
  }
  tally.names.set(name, path);

  const shapePath = `${path}.shape`;
  const rawShape = ownData(raw, 'shape', shapePath);
  if (!isPlainArray(rawShape)) fail(shapePath, 'not-array', `${shapePath} is ${show(rawShape)}; a shape is an array of dimensions.`);
  const rank = rawShape.length;
  if (!Number.isSafeInteger(rank) || rank > limits.maxRank) {
    fail(shapePath, 'rank-too-high', `${shapePath} has rank ${show(rank)}; at most ${limits.maxRank} dimensions are allowed (limits.maxRank).`, { limit: limits.maxRank });
  }
  const shape: number[] = [];
  for (let d = 0; d < rank; d++) {
    const dimPath = `${shapePath}[${d}]`;
    const dim = ownData(rawShape, d, dimPath);
    if (typeof dim !== 'number' || !Number.isSafeInteger(dim) || dim < 0) {
      fail(dimPath, 'bad-dimension', `${dimPath} is ${show(dim)}; shapes are non-negative integers.`, { value: typeof dim === 'number' ? dim : show(dim) });
    }
    shape.push(dim);
  }

  const dtypePath = `${path}.dtype`;
  const dtype = ownData(raw, 'dtype', dtypePath);
  if (typeof dtype !== 'string' || !limits.dtypes.has(dtype)) {
    fail(dtypePath, 'dtype-not-allowed', `${dtypePath} is ${show(dtype)}; Larder loads ${listing(limits.dtypes)} weights (limits.dtypes).`);
  }
  if (ownData(raw, 'quantization', `${path}.quantization`) !== undefined) {
    fail(`${path}.quantization`, 'quantized', `${path} is quantized; Larder loads only unquantized weights (save without quantization).`);
  }

  const elements = countElements(shape, shapePath, limits);
  tally.elements += elements;
  if (tally.elements > limits.maxTotalElements) {
    fail(shapePath, 'too-many-elements', `${path} brings the weights to ${plural(tally.elements, 'element')}; at most ${plural(limits.maxTotalElements, 'element')} in total (limits.maxTotalElements).`, {
      limit: limits.maxTotalElements,
    });
  }
  tally.bytes += elements * BYTES_PER_ELEMENT[dtype as WeightDtype];
  if (tally.bytes > limits.maxWeightBytes) {
    fail(path, 'too-many-bytes', `${path} brings the weights to ${plural(tally.bytes, 'byte')}; at most ${plural(limits.maxWeightBytes, 'byte')} (limits.maxWeightBytes).`, {
      limit: limits.maxWeightBytes,
    });
  }
  return { name, shape, dtype: dtype as WeightDtype };
}

/** The product of the dimensions, refused as soon as a partial product would pass the per-weight cap. */
function countElements(shape: readonly number[], path: string, limits: Limits): number {
  if (shape.includes(0)) return 0;
  const cap = limits.maxElementsPerWeight;
  let product = 1;
  for (const dim of shape) {
    if (dim > cap / product) {
      fail(path, 'too-many-elements', `${path} [${shape.join(', ')}] has more than ${plural(cap, 'element')} (limits.maxElementsPerWeight).`, {
        limit: cap,
      });
    }
    product *= dim;
  }
  return product;
}

// --- Bytes ---------------------------------------------------------------------------------------------------------

// Intrinsic getters, captured once: an own `byteLength` property on a hostile view cannot lie to them.
function intrinsicGetter<T>(proto: object, key: string): (this: unknown) => T {
  const descriptor: { get?: unknown } | undefined = Object.getOwnPropertyDescriptor(proto, key);
  const getter = descriptor?.get;
  if (typeof getter !== 'function') throw new Error(`missing intrinsic ${key}`);
  return getter as (this: unknown) => T;
}
const TYPED_ARRAY_PROTOTYPE = Object.getPrototypeOf(Uint8Array.prototype) as object;
const bufferByteLength = intrinsicGetter<number>(ArrayBuffer.prototype, 'byteLength');
const typedArrayBuffer = intrinsicGetter<ArrayBufferLike>(TYPED_ARRAY_PROTOTYPE, 'buffer');
const typedArrayOffset = intrinsicGetter<number>(TYPED_ARRAY_PROTOTYPE, 'byteOffset');
const typedArrayLength = intrinsicGetter<number>(TYPED_ARRAY_PROTOTYPE, 'byteLength');
const dataViewBuffer = intrinsicGetter<ArrayBufferLike>(DataView.prototype, 'buffer');
const dataViewOffset = intrinsicGetter<number>(DataView.prototype, 'byteOffset');
const dataViewLength = intrinsicGetter<number>(DataView.prototype, 'byteLength');

/** The byte length of a real (non-shared) ArrayBuffer, or undefined for anything else, proxies included. */
function arrayBufferLength(value: unknown): number | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  try {
    return bufferByteLength.call(value);
  } catch {
    return undefined;
  }
}

interface ByteRange {
  readonly buffer: ArrayBufferLike;
  readonly offset: number;
  readonly length: number;
}

/** An ArrayBuffer or a view on one (shared buffers only through a view, which is copied), read via intrinsics. */
function byteRange(value: unknown): ByteRange | undefined {
  const length = arrayBufferLength(value);
  if (length !== undefined) return { buffer: value as ArrayBuffer, offset: 0, length };
  if (!ArrayBuffer.isView(value)) return undefined;
  try {
    return { buffer: typedArrayBuffer.call(value), offset: typedArrayOffset.call(value), length: typedArrayLength.call(value) };
  } catch {
    return { buffer: dataViewBuffer.call(value), offset: dataViewOffset.call(value), length: dataViewLength.call(value) };
  }
}

function copyRange(range: ByteRange, into: Uint8Array, at: number): void {
  into.set(new Uint8Array(range.buffer, range.offset, range.length), at);
}

function expectBytes(value: unknown, path: string, what: string): ByteRange {
  const range = byteRange(value);
  if (range === undefined) fail(path, 'not-bytes', `${path} is ${show(value)}; ${what}.`);
  return range;
}

/** The weight data as one private ArrayBuffer, after its length matched the specs exactly. */
function readWeightData(raw: unknown, expectedBytes: number, limits: Limits): ArrayBuffer {
  const path = 'weightData';
  const ranges: ByteRange[] = [];
  if (isPlainArray(raw)) {
    // tfjs >= 4.10 may hand over large weights as a list of buffers.
    const count = arrayLength(raw, path, limits.maxShards, 'buffer');
    for (let i = 0; i < count; i++) {
      const itemPath = `${path}[${i}]`;
      ranges.push(expectBytes(ownData(raw, i, itemPath), itemPath, 'weight data lists ArrayBuffers'));
    }
  } else {
    ranges.push(expectBytes(raw, path, 'weight data is an ArrayBuffer, a typed-array view of one, or a list of ArrayBuffers'));
  }
  const actual = ranges.reduce((sum, range) => sum + range.length, 0);
  if (actual !== expectedBytes) {
    const gap = actual < expectedBytes ? `${plural(expectedBytes - actual, 'byte')} missing` : `${plural(actual - expectedBytes, 'byte')} extra`;
    fail(path, 'byte-length-mismatch', `${path} has ${plural(actual, 'byte')} but weightSpecs describe ${plural(expectedBytes, 'byte')} (${gap}); the weights are truncated, padded, or belong to another model.`, {
      expected: expectedBytes,
      actual,
    });
  }
  const only = ranges[0];
  if (ranges.length === 1 && only !== undefined && only.offset === 0 && arrayBufferLength(only.buffer) === only.length) {
    return new Uint8Array(only.buffer as ArrayBuffer).slice().buffer;
  }
  const out = new Uint8Array(actual);
  let at = 0;
  for (const range of ranges) {
    copyRange(range, out, at);
    at += range.length;
  }
  return out.buffer;
}

// --- Public API ----------------------------------------------------------------------------------------------------

/**
 * Checks in-memory model artifacts (as a tfjs save handler receives them, or as the registry stores them) and returns
 * a frozen copy holding only `modelTopology`, `weightSpecs`, `weightData` and `trainingConfig`. Checks run in this
 * order, each cheap and capped before the next: the artifacts are a plain object; the topology is plain, acyclic,
 * finite JSON within the depth and size caps and without `__proto__`/`constructor`/`prototype` keys; model, layer,
 * initializer and activation names are allowlisted; layer units and shapes are non-negative integers; weight specs are
 * well formed with unique names; element and byte counts stay under the caps; and the weight bytes are exactly as
 * many as the specs describe. Weight specs and weight data are required (an empty list and an empty buffer for a
 * model without weights); other tfjs fields are dropped.
 *
 * @param artifacts - untrusted input; anything at all.
 * @param limits - overrides of {@link ARTIFACT_LIMITS}.
 * @returns the validated, normalized, frozen copy; `weightData` is always a private ArrayBuffer.
 * @throws ModelArtifactError for anything wrong with `artifacts`, with `details.path` and `details.reason`.
 * @throws InvalidArgumentError when `limits` itself is malformed.
 *
 * @example
 * ```ts
 * const saved = await registry.loadArtifacts('churn', 3);
 * const artifacts = validateArtifacts(saved); // throws ModelArtifactError before tfjs sees anything odd
 * const model = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
 * ```
 */
export function validateArtifacts(artifacts: unknown, limits?: Partial<ArtifactLimits>): ValidatedArtifacts {
  const resolved = resolveLimits(limits);
  return guard('artifacts', () => {
    if (!isPlainObject(artifacts)) {
      fail('artifacts', 'not-object', `The artifacts are ${show(artifacts)}; expected a plain object { modelTopology, weightSpecs, weightData }.`);
    }
    const budget = newBudget(resolved);
    const rawTopology = ownData(artifacts, 'modelTopology', 'modelTopology');
    if (!isPlainObject(rawTopology)) {
      fail('modelTopology', 'not-object', `modelTopology is ${show(rawTopology)}; expected the model's JSON config object (a string must be parsed first).`);
    }
    const modelTopology = copyJson(rawTopology, 'modelTopology', 0, budget, []) as JsonObject;
    checkTopology(modelTopology, 'modelTopology', resolved);

    const tally = newTally();
    addWeightSpecs(ownData(artifacts, 'weightSpecs', 'weightSpecs'), 'weightSpecs', tally, resolved);
    const weightData = readWeightData(ownData(artifacts, 'weightData', 'weightData'), tally.bytes, resolved);

    const rawTraining = ownData(artifacts, 'trainingConfig', 'trainingConfig');
    let trainingConfig: JsonObject | undefined;
    if (rawTraining !== undefined && rawTraining !== null) {
      trainingConfig = checkTrainingConfig(copyJson(rawTraining, 'trainingConfig', 0, budget, []), 'trainingConfig', resolved);
    }
    const result: ValidatedArtifacts = {
      modelTopology,
      weightSpecs: tally.specs,
      weightData,
      ...(trainingConfig === undefined ? {} : { trainingConfig }),
    };
    // Freezing the buffer is pointless (its bytes stay writable); it is a private copy instead.
    deepFreeze(modelTopology);
    deepFreeze(tally.specs);
    if (trainingConfig !== undefined) deepFreeze(trainingConfig);
    return Object.freeze(result);
  });
}

/** Shard names: a plain file name next to model.json; letters, digits, `_`, `-` and inner dots only. */
const SHARD_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

function checkShardPath(value: unknown, path: string, limits: Limits): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > limits.maxShardPathLength) {
    const got = typeof value === 'string' ? `${plural(value.length, 'character')} long` : show(value);
    fail(path, 'bad-shard-path', `${path} is ${got}; a shard path is a file name of 1 to ${limits.maxShardPathLength} characters.`);
  }
  if (!SHARD_NAME.test(value) || value.includes('..')) {
    fail(path, 'bad-shard-path', `${path} is ${show(value)}; a shard must be a plain file name beside model.json (letters, digits, '.', '_', '-'; no directories, '..', drive letters, URLs or escapes).`, {
      shardPath: clip(value, 100),
    });
  }
  return value;
}

/** Refuses object nesting beyond `maxDepth` by a linear scan, before JSON.parse builds anything. */
function scanDepth(text: string, maxDepth: number): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > maxDepth) {
        fail('model.json', 'too-deep', `model.json nests deeper than ${maxDepth} levels at character ${i} (limits.maxJsonDepth, plus one for the wrapper).`, {
          limit: maxDepth,
        });
      }
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
}

function refuseForbiddenKeys(key: string, value: unknown): unknown {
  if (FORBIDDEN_KEYS.has(key)) {
    fail('model.json', 'forbidden-key', `model.json has a ${JSON.stringify(key)} key, which is refused anywhere in an artifact (prototype pollution).`);
  }
  return value;
}

/**
 * Parses and checks an imported `model.json` (tfjs `format: 'layers-model'`). The text is size- and depth-checked
 * before `JSON.parse`, which runs with a reviver refusing `__proto__`, `constructor` and `prototype` keys; then the
 * topology is checked as in {@link validateArtifacts}, and the weights manifest is flattened: specs in group order,
 * shard paths that are plain file names (no directories, `..`, absolute paths or URLs), unique, and capped.
 *
 * @param text - the model.json text (a leading byte-order mark is ignored).
 * @param limits - overrides of {@link ARTIFACT_LIMITS}.
 * @returns the frozen topology, specs, shard paths, the exact weight byte count, and the training config if any.
 * @throws ModelArtifactError for anything wrong with the text, with `details.path` and `details.reason`.
 *
 * @example
 * ```ts
 * const manifest = parseModelJson(await files.get('model.json')!.text());
 * const shards = await Promise.all(manifest.shardPaths.map((p) => files.get(p)!.arrayBuffer()));
 * const weightData = assembleShards(shards, manifest.weightBytes);
 * const artifacts = validateArtifacts({ ...manifest, weightData });
 * ```
 */
export function parseModelJson(text: string, limits?: Partial<ArtifactLimits>): ParsedModelJson {
  const resolved = resolveLimits(limits);
  return guard('model.json', () => {
    if (typeof text !== 'string') fail('model.json', 'not-text', `model.json is ${show(text)}; pass its text.`);
    if (text.length > resolved.maxJsonChars) {
      fail('model.json', 'too-large', `model.json is ${plural(text.length, 'character')}; at most ${plural(resolved.maxJsonChars, 'character')} are allowed (limits.maxJsonChars).`, {
        length: text.length,
        limit: resolved.maxJsonChars,
      });
    }
    const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
    scanDepth(body, resolved.maxJsonDepth + 1);
    let parsed: unknown;
    try {
      parsed = JSON.parse(body, refuseForbiddenKeys);
    } catch (error) {
      if (isOwnError(error)) throw error;
      fail('model.json', 'not-json', `model.json is not valid JSON (${describeThrown(error)}).`);
    }
    if (!isPlainObject(parsed)) fail('model.json', 'not-object', `model.json holds ${show(parsed)}; expected an object with modelTopology and weightsManifest.`);
    const root = parsed as Record<string, unknown>;

    const format = ownData(root, 'format', 'format');
    if (format !== undefined && format !== null && format !== 'layers-model') {
      fail('format', 'wrong-format', `format is ${show(format)}; Larder loads only 'layers-model' artifacts (graph models are not supported).`);
    }
    const budget = newBudget(resolved);
    const rawTopology = ownData(root, 'modelTopology', 'modelTopology');
    if (!isPlainObject(rawTopology)) fail('modelTopology', 'not-object', `modelTopology is ${show(rawTopology)}; expected the model's config object.`);
    const modelTopology = copyJson(rawTopology, 'modelTopology', 0, budget, []) as JsonObject;
    checkTopology(modelTopology, 'modelTopology', resolved);

    const manifest = ownData(root, 'weightsManifest', 'weightsManifest');
    if (!isPlainArray(manifest)) {
      fail('weightsManifest', 'not-array', `weightsManifest is ${show(manifest)}; expected [{ paths: [...], weights: [...] }] (an empty list for a model without weights).`);
    }
    const groups = arrayLength(manifest, 'weightsManifest', resolved.maxShards, 'group');
    const tally = newTally();
    const shardPaths: string[] = [];
    const seen = new Map<string, string>();
    for (let g = 0; g < groups; g++) {
      const groupPath = `weightsManifest[${g}]`;
      const group = ownData(manifest, g, groupPath);
      if (!isPlainObject(group)) fail(groupPath, 'not-object', `${groupPath} is ${show(group)}; a group is { paths, weights }.`);
      const pathsPath = `${groupPath}.paths`;
      const paths = ownData(group, 'paths', pathsPath);
      if (!isPlainArray(paths) || paths.length === 0) {
        fail(pathsPath, 'not-array', `${pathsPath} is ${show(paths)}; a group lists at least one shard file.`);
      }
      const count = arrayLength(paths, pathsPath, resolved.maxShards - shardPaths.length, 'shard');
      for (let p = 0; p < count; p++) {
        const shardPath = `${pathsPath}[${p}]`;
        const name = checkShardPath(ownData(paths, p, shardPath), shardPath, resolved);
        const earlier = seen.get(name);
        if (earlier !== undefined) fail(shardPath, 'duplicate-shard', `${shardPath} ${show(name)} repeats ${earlier}; each shard is listed once.`);
        seen.set(name, shardPath);
        shardPaths.push(name);
      }
      addWeightSpecs(ownData(group, 'weights', `${groupPath}.weights`), `${groupPath}.weights`, tally, resolved);
    }

    const rawTraining = ownData(root, 'trainingConfig', 'trainingConfig');
    let trainingConfig: JsonObject | undefined;
    if (rawTraining !== undefined && rawTraining !== null) {
      trainingConfig = checkTrainingConfig(copyJson(rawTraining, 'trainingConfig', 0, budget, []), 'trainingConfig', resolved);
    }
    return deepFreeze({
      modelTopology,
      weightSpecs: tally.specs,
      shardPaths,
      weightBytes: tally.bytes,
      ...(trainingConfig === undefined ? {} : { trainingConfig }),
    });
  });
}

/**
 * Concatenates weight shards, in order, into one new ArrayBuffer of exactly `expectedBytes` bytes (the
 * `weightBytes` of {@link parseModelJson}). A shard list that is short, long or not made of buffers is refused
 * before anything is allocated.
 *
 * @param shards - the shard contents, in manifest order (ArrayBuffers or views of them).
 * @param expectedBytes - the byte count the specs describe.
 * @param limits - overrides of {@link ARTIFACT_LIMITS} (`maxShards`, `maxWeightBytes` apply).
 * @throws ModelArtifactError naming the shard where the bytes run over, or the shortfall.
 *
 * @example
 * ```ts
 * const weightData = assembleShards([await a.arrayBuffer(), await b.arrayBuffer()], manifest.weightBytes);
 * ```
 */
export function assembleShards(
  shards: readonly (ArrayBuffer | ArrayBufferView)[],
  expectedBytes: number,
  limits?: Partial<ArtifactLimits>,
): ArrayBuffer {
  const resolved = resolveLimits(limits);
  return guard('shards', () => {
    if (typeof expectedBytes !== 'number' || !Number.isSafeInteger(expectedBytes) || expectedBytes < 0) {
      fail('expectedBytes', 'bad-length', `expectedBytes is ${show(expectedBytes)}; expected a non-negative integer byte count.`);
    }
    if (expectedBytes > resolved.maxWeightBytes) {
      fail('expectedBytes', 'too-many-bytes', `expectedBytes is ${plural(expectedBytes, 'byte')}; at most ${plural(resolved.maxWeightBytes, 'byte')} (limits.maxWeightBytes).`);
    }
    if (!isPlainArray(shards)) fail('shards', 'not-array', `shards is ${show(shards)}; expected an array of ArrayBuffers.`);
    const count = arrayLength(shards, 'shards', resolved.maxShards, 'shard');
    const ranges: ByteRange[] = [];
    let total = 0;
    for (let i = 0; i < count; i++) {
      const path = `shards[${i}]`;
      const range = expectBytes(ownData(shards, i, path), path, 'a shard is an ArrayBuffer');
      total += range.length;
      if (total > expectedBytes) {
        fail(path, 'byte-length-mismatch', `${path} takes the shards to ${plural(total, 'byte')}, past the ${plural(expectedBytes, 'byte')} the manifest describes; a shard is extra, padded, or from another model.`, {
          expected: expectedBytes,
          actual: total,
        });
      }
      ranges.push(range);
    }
    if (total !== expectedBytes) {
      fail('shards', 'byte-length-mismatch', `The shards hold ${plural(total, 'byte')} but the manifest describes ${plural(expectedBytes, 'byte')} (${plural(expectedBytes - total, 'byte')} missing); a shard is truncated or missing.`, {
        expected: expectedBytes,
        actual: total,
      });
    }
    const out = new Uint8Array(expectedBytes);
    let at = 0;
    for (const range of ranges) {
      copyRange(range, out, at);
      at += range.length;
    }
    return out.buffer;
  });
}

function digestInput(data: unknown): Uint8Array<ArrayBuffer> {
  const range = byteRange(data);
  if (range === undefined) fail('data', 'not-bytes', `The data to hash is ${show(data)}; expected an ArrayBuffer or a Uint8Array.`);
  if (arrayBufferLength(range.buffer) !== undefined) return new Uint8Array(range.buffer as ArrayBuffer, range.offset, range.length);
  const copy = new Uint8Array(range.length); // WebCrypto refuses shared memory
  copyRange(range, copy, 0);
  return copy;
}

/**
 * The SHA-256 digest of some bytes, as 64 lowercase hex digits, via `crypto.subtle` (browsers in a secure context,
 * Node 20+).
 *
 * @throws ModelArtifactError when `data` is not bytes, or `crypto.subtle` is unavailable (a page served over plain
 * http has none).
 *
 * @example
 * ```ts
 * const hash = await sha256Hex(artifacts.weightData); // stored with the model version, checked on every load
 * ```
 */
export async function sha256Hex(data: ArrayBuffer | Uint8Array): Promise<string> {
  const bytes = guard('data', () => digestInput(data));
  const subtle = (globalThis as { crypto?: { subtle?: SubtleCrypto } }).crypto?.subtle;
  if (subtle === undefined) {
    fail('crypto.subtle', 'no-crypto', 'crypto.subtle is unavailable, so weights cannot be hashed; serve the page over https (or localhost).');
  }
  let digest: ArrayBuffer;
  try {
    digest = await subtle.digest('SHA-256', bytes);
  } catch (error) {
    throw wrapThrown(error, 'data');
  }
  let hex = '';
  for (const byte of new Uint8Array(digest)) hex += byte.toString(16).padStart(2, '0');
  return hex;
}

const SHA256_HEX = /^[0-9a-f]{64}$/i;

/**
 * Hashes `data` and compares it with `expectedHex` (case-insensitive); resolves when they match.
 *
 * @param what - names the data in the error message, e.g. `'weights.bin'` or `"model 'churn' v3 weights"`.
 * @throws ModelArtifactError when the digests differ (`details.reason` `'hash-mismatch'`, with both digests) or
 * `expectedHex` is not a SHA-256 hex digest.
 *
 * @example
 * ```ts
 * await verifySha256(weightData, version.weightsSha256, `model '${name}' v${version.version} weights`);
 * ```
 */
export async function verifySha256(data: ArrayBuffer | Uint8Array, expectedHex: string, what: string): Promise<void> {
  const label = typeof what === 'string' && what !== '' ? clip(what, 200) : 'data';
  if (typeof expectedHex !== 'string' || !SHA256_HEX.test(expectedHex)) {
    fail(label, 'bad-hash', `The expected hash of ${label} is ${show(expectedHex)}; expected 64 hex digits of SHA-256.`);
  }
  const actual = await sha256Hex(data);
  const expected = expectedHex.toLowerCase();
  if (actual !== expected) {
    fail(label, 'hash-mismatch', `${label} has SHA-256 ${actual}, expected ${expected}; the bytes are corrupt or not the ones recorded. Re-download or re-save the model.`, {
      expected,
      actual,
    });
  }
}

/**
 * Loads checked artifacts into TensorFlow.js. tfjs can still refuse what passed {@link validateArtifacts} — a class it
 * does not know in an initializer, regularizer or constraint, a weight the topology does not name — and any such
 * failure is a {@link ModelArtifactError} (`details.reason` 'unloadable'), never tfjs's own error.
 */
export async function loadValidatedArtifacts(tfjs: typeof Tf, artifacts: ValidatedArtifacts, what: string): Promise<Tf.LayersModel> {
  try {
    return await tfjs.loadLayersModel(tfjs.io.fromMemory({
      modelTopology: artifacts.modelTopology as unknown as Tf.io.ModelJSON['modelTopology'],
      weightSpecs: artifacts.weightSpecs as Tf.io.WeightsManifestEntry[],
      weightData: artifacts.weightData,
    }));
  } catch (error) {
    const description = describeThrown(error);
    throw new ModelArtifactError(`${what} does not load into TensorFlow.js (${description}).`, {
      details: { path: what, reason: 'unloadable', thrown: description },
      cause: new Error(description),
    });
  }
}
