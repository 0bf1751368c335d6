import * as Comlink from 'comlink';
import type { FeatureViewDefinition } from '../definitions/feature-view.ts';
import type { FeatureGroupDefinition, FeatureGroupSpec } from '../definitions/feature-group.ts';
import type { FeatureType } from '../definitions/types.ts';
import { nameKey } from '../definitions/names.ts';
import { InvalidArgumentError, NotFoundError, StoreClosedError, errorSummary } from '../errors.ts';
import type { BackendName } from '../models/backend.ts';
import type { AliasChange, AliasRecord, ModelVersionRecord } from '../registry/types.ts';
import { onlineGroupKey } from '../online/materialize.ts';
import type { InferenceService } from '../service/inference-service.ts';
import type { InferenceClient } from './inference-client.ts';
import type { OnDemandRegistry } from '../transforms/on-demand.ts';
import type { OnlineStore } from '../online/indexeddb.ts';
import type { FeatureVector } from '../online/reader.ts';
import { OnlineViewReader, type DefinitionSource } from '../online/view-reader.ts';
import { toReadableStream, type StreamSource } from './streams.ts';

/** The BroadcastChannel on which a store announces alias moves to every tab and worker of the origin. */
export function aliasChannelName(store: string): string {
  return `larder:${nameKey(store)}:aliases`;
}

/** What a store announces when an alias moves. */
export interface AliasMoved {
  model: string;
  alias: string;
  version: number | null;
}

/** Where a deployment reads models and definitions: the store worker (the owning tab) or the registry database. */
export interface DeploymentSource {
  readonly storeName: string;
  getAlias(name: string, alias: string): Promise<AliasRecord | undefined>;
  getModel(name: string, version: number): Promise<ModelVersionRecord | undefined>;
  readWeights(name: string, version: number): Promise<ArrayBuffer>;
  getFeatureView(name: string, version: number): Promise<FeatureViewDefinition>;
  readonly definitions: DefinitionSource;
  online(): Promise<OnlineStore>;
  readonly onDemand: OnDemandRegistry;
  /** The inference worker of this store (or reader), created on first use and shared by its deployments. */
  inference(backend: BackendName): InferenceClient;
}

/** Options of `store.deployment(name, options)`. */
export interface DeploymentOptions {
  /** Serve the version this alias points at, following it when it moves (default 'champion' unless `version`). */
  alias?: string;
  /** Serve this version, fixed. */
  version?: number;
  /** Also predict every request with the version this alias points at: logged, never returned. */
  shadow?: string;
  /** Serve each entity from one alias, by share (`{ champion: 0.9, challenger: 0.1 }`), chosen from a hash of its key. */
  split?: Record<string, number>;
  /** Log every prediction to the model's prediction log (always on with `shadow` or `split`); monitoring reads it. */
  log?: boolean;
  /** tfjs backend of the inference worker: wasm (default), cpu or webgl. */
  backend?: BackendName;
}

/** Options of a prediction. */
export interface PredictOptions {
  /** Request fields of the view's on-demand features. */
  requestData?: Record<string, unknown>;
  /** Return the feature vector the model read (transformed, in the model's input order). */
  withFeatures?: boolean;
}

/** One prediction, with the versions that made it. */
export interface Prediction {
  /** Regression: the value. Binary: the probability of class 1. Multiclass: the most probable class. */
  prediction: number;
  /** Classifiers: the probability of each class (binary: [p0, p1]). */
  probabilities?: number[];
  model: { name: string; version: number };
  featureView: { name: string; version: number };
  /** The model's inputs, by name, as it read them (with `withFeatures`). */
  features?: Record<string, number>;
  /** The arm that served it (shadow and split deployments). */
  arm?: string;
}

/** A model version ready to serve: its view reader and its key in the inference worker. */
interface Target {
  record: ModelVersionRecord;
  view: FeatureViewDefinition;
  reader: OnlineViewReader;
  dataset: number | null;
  key: string;
  /** The tfjs backend the inference worker runs it on (the one asked for, or its fallback). */
  backend: BackendName;
  inputs: string[];
  /** Calls using this version now; a retired version leaves the inference worker once the last one ends. */
  users: number;
  retired: boolean;
}

/** The model's inputs of a vector, as float32 (booleans as 0/1); a missing value names the entity and the feature. */
export function inputRow(vector: FeatureVector, inputs: readonly string[], out: Float32Array, offset: number, entity: unknown): void {
  inputs.forEach((name, j) => {
    const index = vector.names.indexOf(name);
    const value = index < 0 ? undefined : vector.values[index];
    const number = typeof value === 'boolean' ? (value ? 1 : 0) : typeof value === 'bigint' ? Number(value) : value;
    if (typeof number !== 'number' || !Number.isFinite(number)) {
      const status = index < 0 ? 'not in the view' : value !== null && value !== undefined ? `not a number: ${typeof value}` : vector.statuses[index];
      throw new NotFoundError(
        `No value of feature '${name}' to predict for ${JSON.stringify(entity)} (${status}); materialize the view's groups or pass the value.`,
        { details: { entity, feature: name, status } },
      );
    }
    out[offset + j] = number;
  });
}

/** Reads the model's outputs of one row as a prediction. */
export function interpret(record: ModelVersionRecord, outputs: Float32Array, row: number): Pick<Prediction, 'prediction' | 'probabilities'> {
  const { task, classes } = record.signature.output;
  if (task === 'multiclass') {
    return { prediction: argmax(outputs, row, classes), probabilities: Array.from(outputs.subarray(row * classes, (row + 1) * classes)) };
  }
  const value = outputs[row]!;
  return task === 'binary' ? { prediction: value, probabilities: [1 - value, value] } : { prediction: value };
}

/** One arm of a deployment: the alias it follows (or a fixed version) and the version it serves now. */
interface Arm {
  name: string;
  alias: string | null;
  target: Target;
  /** Share of entities (split deployments), cumulative bound in [0, 1]. */
  upTo: number;
  /** Predictions this arm failed (counted for the shadow, whose failures are never thrown to a caller). */
  failures: number;
  /** The last error of this arm: a failed shadow prediction, or a switch to its alias's new target that failed. */
  lastError: ArmState['lastError'];
}

/** One arm of a deployment as {@link Deployment.armsNow} reports it. */
export interface ArmState {
  arm: string;
  alias: string | null;
  shadow: boolean;
  model: { name: string; version: number };
  featureView: { name: string; version: number };
  /** The tfjs backend its model runs on: the deployment's `backend` (default wasm), or the fallback the worker took. */
  backend: BackendName;
  /** Shadow predictions that failed (never thrown to the caller, so counted here). 0 for served arms. */
  failures: number;
  /**
   * The last failure: a shadow prediction, or following the alias (deleted, or pointing at a version that cannot be
   * served) — the arm then keeps serving the version it had. Cleared when the arm next switches.
   */
  lastError: { name: string; code: string | null; message: string } | null;
}

/** Where a deployment with a shadow or a split logs its predictions (the store's prediction log group). */
export interface PredictionLog {
  /** Appends rows (buffered: written in batches). */
  append(rows: readonly Record<string, unknown>[]): void;
  /** Writes what is buffered. */
  flush(): Promise<void>;
}

/**
 * 32-bit FNV-1a of the entity's key values (in the view's key order) as a number in [0, 1): the same entity always
 * lands in the same arm of a split, on every device.
 */
export function entityShare(keys: readonly string[], entity: Record<string, unknown>): number {
  // Numbers and bigints (5 and 5n, as callers type an int64 key either way) hash alike, as do Dates and epoch ms.
  const text = JSON.stringify(keys.map((k) => {
    const v = entity[k];
    return v instanceof Date ? String(v.getTime()) : typeof v === 'bigint' || typeof v === 'number' ? String(v) : v;
  }));
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash / 2 ** 32;
}

/** Writes the `prediction` of `rows` rows of outputs into `out` from `offset` (no object per row: batch inference). */
export function predictionValues(record: ModelVersionRecord, outputs: Float32Array, rows: number, out: Float64Array, offset: number): void {
  const { task, classes } = record.signature.output;
  if (task !== 'multiclass') {
    for (let i = 0; i < rows; i++) out[offset + i] = outputs[i]!;
    return;
  }
  for (let i = 0; i < rows; i++) out[offset + i] = argmax(outputs, i, classes);
}

/** The most probable class of a row of class probabilities (the first on ties). */
function argmax(outputs: Float32Array, row: number, classes: number): number {
  let best = 0;
  for (let c = 1; c < classes; c++) if (outputs[row * classes + c]! > outputs[row * classes + best]!) best = c;
  return best;
}

/**
 * A served model: online feature vectors of the model version's own feature view version (its on-demand features,
 * its training dataset's transformations), predicted by the version kept warm in the inference worker. Arms follow
 * aliases and switch when an alias moves (in this tab or another); a call uses one version per arm throughout.
 * With `shadow` every request is also predicted by a second alias (logged, not returned); with `split` each entity
 * is served by one arm chosen from a hash of its key.
 */
export class Deployment {
  private readonly arms: Arm[];
  private readonly served: Arm[];
  private readonly shadowArm: Arm | null;
  private switching: Promise<void> | null = null;
  private channel: BroadcastChannel | null = null;
  private closed = false;

  private constructor(
    private readonly source: DeploymentSource,
    readonly model: string,
    arms: Arm[],
    shadow: Arm | null,
    private readonly backend: BackendName,
    private readonly log: PredictionLog | null,
  ) {
    this.served = arms;
    this.shadowArm = shadow;
    this.arms = shadow === null ? arms : [...arms, shadow];
    if (this.arms.some((a) => a.alias !== null)) {
      this.channel = new BroadcastChannel(aliasChannelName(source.storeName));
      this.channel.onmessage = (event: MessageEvent<AliasMoved>) => {
        const moved = event.data;
        if (nameKey(moved.model) !== nameKey(this.model)) return;
        if (this.arms.some((a) => a.alias !== null && nameKey(a.alias) === nameKey(moved.alias))) void this.refresh().catch(() => undefined);
      };
    }
  }

  /** @internal */
  static async open(
    source: DeploymentSource,
    model: string,
    options: DeploymentOptions = {},
    log: ((view: FeatureViewDefinition) => Promise<PredictionLog>) | null = null,
  ): Promise<Deployment> {
    const backend = options.backend ?? 'wasm';
    const given = [options.version !== undefined, options.split !== undefined, options.alias !== undefined].filter(Boolean).length;
    if (given > 1) throw new InvalidArgumentError('Give an alias, a version, or a split — one of them (a shadow goes with an alias or a version).');
    if (options.shadow !== undefined && options.split !== undefined) throw new InvalidArgumentError('A split cannot have a shadow: each entity is served by one arm.');
    const prepared: Target[] = [];
    const arm = async (name: string, alias: string | null, version: number | null, upTo: number): Promise<Arm> => {
      const target = await prepare(source, await resolveModelVersion(source, model, alias, version), backend);
      prepared.push(target);
      return { name, alias, upTo, target, failures: 0, lastError: null };
    };
    try {
      let arms: Arm[];
      if (options.split !== undefined) {
        const entries = Object.entries(options.split);
        const total = entries.reduce((sum, [, w]) => sum + w, 0);
        if (entries.length < 2 || entries.some(([, w]) => typeof w !== 'number' || !(w > 0)) || Math.abs(total - 1) > 1e-9) {
          throw new InvalidArgumentError('split maps two or more aliases to positive shares that add up to 1, e.g. { champion: 0.9, challenger: 0.1 }.');
        }
        let upTo = 0;
        const bounds = entries.map(([, w], i) => (upTo = i === entries.length - 1 ? 1 : upTo + w));
        arms = await Promise.all(entries.map(([alias], i) => arm(alias, alias, null, bounds[i]!)));
      } else if (options.version !== undefined) {
        arms = [await arm(`v${options.version}`, null, options.version, 1)];
      } else {
        const alias = options.alias ?? 'champion';
        arms = [await arm(alias, alias, null, 1)];
      }
      const shadow = options.shadow === undefined ? null : await arm(options.shadow, options.shadow, null, 1);
      const logged = shadow !== null || options.split !== undefined || options.log === true;
      if (logged && log === null) throw new InvalidArgumentError('Logged deployments (log, shadow, split) write to the store: open them with store.deployment.');
      const keys = arms[0]!.target.view.spine.keys;
      for (const other of [...arms, ...(shadow === null ? [] : [shadow])]) {
        if (other.target.view.spine.keys.join() !== keys.join()) {
          throw new InvalidArgumentError(`The arms of a deployment must key entities alike; ${other.name} reads ${other.target.view.spine.keys.join(', ')}, not ${keys.join(', ')}.`);
        }
      }
      const deployment = new Deployment(source, model, arms, shadow, backend, logged ? await log!(arms[0]!.target.view) : null);
      // An alias that moved while this deployment loaded (before it listened) is caught up now.
      await deployment.refresh();
      return deployment;
    } catch (error) {
      for (const target of prepared) {
        try {
          source.inference(backend).api.unload(target.key).catch(() => undefined);
        } catch {
          // the worker is gone with its store
        }
      }
      throw error;
    }
  }

  /** The model and feature view versions served now (the first arm's, for a split; see `arms()`). */
  current(): { model: { name: string; version: number }; featureView: { name: string; version: number } } {
    return versionsOf(this.served[0]!.target);
  }

  /**
   * Every arm: its name, the alias it follows, the versions it serves now, and its failures — a shadow's failed
   * predictions and an alias the arm could not follow are never thrown to a caller, so they are reported here.
   *
   * @example
   * ```ts
   * const shadow = predictor.armsNow().find((a) => a.shadow);
   * if (shadow !== undefined && shadow.failures > 0) alertOps(`challenger failing: ${shadow.lastError?.message}`);
   * ```
   */
  armsNow(): ArmState[] {
    return this.arms.map((a) => ({ arm: a.name, alias: a.alias, shadow: a === this.shadowArm, ...versionsOf(a.target), backend: a.target.backend, failures: a.failures, lastError: a.lastError }));
  }

  /**
   * Predicts for one entity (an object with the view's key columns).
   *
   * @example
   * ```ts
   * const { prediction, model } = await predictor.predict({ location: 'Seattle' }, { requestData: { hour: 9 } });
   * ```
   */
  async predict(entity: Record<string, unknown>, options: PredictOptions = {}): Promise<Prediction> {
    const [result] = await this.predictBatch([entity], options.requestData === undefined ? options : { ...options, requestData: [options.requestData] });
    return result!;
  }

  /**
   * Predicts for many entities at once: per arm, one IndexedDB transaction and one call to the inference worker.
   * `requestData` is one object for all entities or one per entity.
   *
   * @example
   * ```ts
   * const results = await predictor.predictBatch([{ location: 'Seattle' }, { location: 'New York' }]);
   * ```
   */
  async predictBatch(
    entities: readonly Record<string, unknown>[],
    options: { requestData?: Record<string, unknown> | readonly Record<string, unknown>[]; withFeatures?: boolean } = {},
  ): Promise<Prediction[]> {
    if (this.closed) throw new StoreClosedError(`The deployment of ${this.model} is closed.`);
    if (!isList(entities)) throw new InvalidArgumentError('predictBatch takes an array of entities.');
    const each = Array.isArray(options.requestData) ? (options.requestData as readonly Record<string, unknown>[]) : null;
    if (each !== null && each.length !== entities.length) throw new InvalidArgumentError('requestData needs one object per entity.');
    const requestOf = (i: number): Record<string, unknown> | undefined => each?.[i] ?? (options.requestData as Record<string, unknown> | undefined);
    // Every arm's version is taken now and kept for the whole call, whatever moves meanwhile.
    const pinned = this.arms.map((arm) => ({ arm, target: arm.target }));
    const keys = pinned[0]!.target.view.spine.keys;
    const servedBy = entities.map((entity) => {
      if (this.served.length === 1) return 0;
      const share = entityShare(keys, entity);
      return this.served.findIndex((a) => share < a.upTo);
    });
    const results: Prediction[] = new Array<Prediction>(entities.length);
    const at = Date.now();
    const call = this.log === null ? '' : crypto.randomUUID(); // names the request in the log only
    const runArm = async ({ arm, target }: { arm: Arm; target: Target }, armIndex: number): Promise<Record<string, unknown>[]> => {
      const shadow = arm === this.shadowArm;
      const mine = entities.map((_, i) => i).filter((i) => shadow || servedBy[i] === armIndex);
      if (mine.length === 0) return [];
      const scored = await this.using(target, () => this.score(target, mine.map((i) => entities[i]!), mine.map(requestOf)));
      const logRows: Record<string, unknown>[] = [];
      mine.forEach((entityIndex, j) => {
        const { prediction, vector } = scored[j]!;
        if (!shadow) {
          const result: Prediction = { ...prediction, ...(this.log === null ? {} : { arm: arm.name }) };
          if (options.withFeatures === true) result.features = featuresOf(vector, target.inputs);
          results[entityIndex] = result;
        }
        if (this.log !== null) {
          const entity = entities[entityIndex]!;
          logRows.push({
            ...Object.fromEntries(keys.map((k) => [k, entity[k]])), ts: at, request_id: `${call}:${entityIndex}`, arm: arm.name, served: !shadow,
            model_version: target.record.version, feature_view_version: target.view.version, prediction: prediction.prediction,
            features: JSON.stringify(featuresOf(vector, target.inputs)),
          });
        }
      });
      return logRows;
    };
    // The shadow arm runs beside the served ones: it never delays or fails what is returned (its failures only
    // leave its rows out of the log).
    const shadowIndex = pinned.findIndex((p) => p.arm === this.shadowArm);
    if (shadowIndex >= 0) {
      const shadow = pinned[shadowIndex]!;
      runArm(shadow, shadowIndex).then(
        (rows) => rows.length > 0 && this.log!.append(rows),
        (error: unknown) => {
          shadow.arm.failures++;
          shadow.arm.lastError = errorSummary(error);
        },
      );
    }
    const served = await Promise.all(pinned.filter((_, i) => i !== shadowIndex).map((p, i) => runArm(p, i)));
    const logRows = served.flat();
    if (logRows.length > 0) this.log!.append(logRows);
    return results;
  }

  /** Runs work on a version, keeping it in the inference worker until the work ends (even if it is retired). */
  private async using<T>(target: Target, work: () => Promise<T>): Promise<T> {
    target.users++;
    try {
      return await work();
    } finally {
      if (--target.users === 0 && target.retired) this.unload(target);
    }
  }

  /** Frees a version in the inference worker (best effort: the worker may be gone with its store). */
  private unload(target: Target): void {
    try {
      this.source.inference(this.backend).api.unload(target.key).catch(() => undefined);
    } catch {
      // The store or reader is closed: its worker, and the model in it, are gone already.
    }
  }

  /** One version's predictions for entities: its vectors, one inference call. */
  private async score(target: Target, entities: readonly Record<string, unknown>[], requests: readonly (Record<string, unknown> | undefined)[]) {
    const options = datasetOption(target);
    const same = requests.every((r) => r === requests[0]);
    const vectors = same
      ? await target.reader.vectors(entities, { ...(requests[0] === undefined ? {} : { requestData: requests[0] }), ...options })
      : await Promise.all(entities.map(async (e, i) => (await target.reader.vectors([e], { ...(requests[i] === undefined ? {} : { requestData: requests[i] }), ...options }))[0]!));
    const width = target.inputs.length;
    const x = new Float32Array(entities.length * width);
    vectors.forEach((vector, i) => inputRow(vector, target.inputs, x, i * width, entities[i]));
    const outputs = await this.source.inference(this.backend).predict(target.key, x, entities.length);
    const versions = versionsOf(target);
    return vectors.map((vector, i) => ({ vector, prediction: { ...interpret(target.record, outputs, i), ...versions } }));
  }

  /**
   * Predicts for a stream of events (entities, or `{ entity, requestData, row? }`): an async iterable or a
   * ReadableStream in, an async iterable of predictions out, one at a time. The source is read only as fast as
   * predictions are consumed, so a slow consumer never makes events pile up. With `writeTo`, each event (its `row`,
   * or the event itself) is also written to a feature group on the way, in micro-batches of `maxRows` (default 500)
   * or `maxWaitMs` (default 1000) — a feature pipeline over the same stream; predictions read the online store as it
   * is, so they see an event's own row once its micro-batch is committed.
   *
   * @example
   * ```ts
   * for await (const p of predictor.predictStream(events, { writeTo: trips })) show(p.prediction);
   * ```
   */
  async *predictStream(
    source: AsyncIterable<unknown> | ReadableStream<unknown>,
    options: { withFeatures?: boolean; writeTo?: { insert(rows: Record<string, unknown>[]): Promise<unknown> }; maxRows?: number; maxWaitMs?: number } = {},
  ): AsyncGenerator<Prediction, void, undefined> {
    const reader = toReadableStream(source as StreamSource, { highWaterMark: 0 }).getReader();
    const sink = options.writeTo === undefined ? null : new BufferedLog((rows) => options.writeTo!.insert(rows), options.maxRows ?? 500, options.maxWaitMs ?? 1000);
    const predictOptions = options.withFeatures === undefined ? {} : { withFeatures: options.withFeatures };
    try {
      for (;;) {
        const next = await reader.read();
        if (next.done) break;
        const event = next.value as { entity?: Record<string, unknown>; requestData?: Record<string, unknown>; row?: Record<string, unknown> } & Record<string, unknown>;
        const isRequest = typeof event === 'object' && event !== null && typeof event.entity === 'object' && event.entity !== null;
        const entity = isRequest ? event.entity! : event;
        sink?.append([isRequest ? (event.row ?? entity) : event]);
        yield await this.predict(entity, { ...(isRequest && event.requestData !== undefined ? { requestData: event.requestData } : {}), ...predictOptions });
      }
      await sink?.flush();
    } finally {
      await reader.cancel().catch(() => undefined); // ended early by the consumer: release the source
      await sink?.flush().catch(() => undefined); // what was read is written even when the consumer stopped early
    }
  }

  /**
   * Looks the aliases up again and switches each arm to the version its alias points at now (done by itself when a
   * store announces a move; call it after moving an alias from somewhere that cannot announce it).
   */
  async refresh(): Promise<void> {
    if (this.closed) return;
    const run = async (): Promise<void> => {
      const failed: unknown[] = [];
      for (const arm of this.arms) {
        if (arm.alias === null || this.closed) continue;
        let next: Target;
        try {
          const record = await resolveModelVersion(this.source, this.model, arm.alias, null);
          if (record.version === arm.target.record.version) continue;
          next = await prepare(this.source, record, this.backend);
        } catch (error) {
          // The arm keeps serving what it has (an alias deleted, a version that cannot be served): reported by
          // armsNow(), thrown to whoever called refresh, and the other arms still switch.
          arm.lastError = errorSummary(error);
          failed.push(error);
          continue;
        }
        if (this.closed) {
          this.unload(next); // closed while it loaded
          return;
        }
        const previous = arm.target;
        arm.target = next; // every call from now on; those under way finish with the version they started with
        arm.lastError = null;
        previous.retired = true;
        if (previous.users === 0) this.unload(previous);
      }
      if (failed.length > 0) throw failed[0];
    };
    // Switches happen one at a time, in order.
    const chained = (this.switching ?? Promise.resolve()).then(run, run);
    this.switching = chained.catch(() => undefined);
    return chained;
  }

  /** Writes the prediction log's buffered rows (logged, shadow and split deployments). */
  async flush(): Promise<void> {
    await this.log?.flush();
  }

  /** Stops following aliases, writes the prediction log and frees the models in the inference worker. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.channel?.close();
    await this.switching; // a switch in progress ends (and frees what it loaded) first
    try {
      await this.log?.flush();
    } finally {
      for (const arm of this.arms) {
        arm.target.retired = true;
        if (arm.target.users === 0) this.unload(arm.target);
      }
      this.onClose?.();
    }
  }

  /** @internal Called once closed (the owner forgets the deployment). */
  onClose: (() => void) | null = null;
}

function versionsOf(target: Target): { model: { name: string; version: number }; featureView: { name: string; version: number } } {
  return { model: { name: target.record.name, version: target.record.version }, featureView: { name: target.view.name, version: target.view.version } };
}

function featuresOf(vector: FeatureVector, inputs: readonly string[]): Record<string, number> {
  return Object.fromEntries(inputs.map((name) => [name, vector.values[vector.names.indexOf(name)] as number]));
}

function datasetOption(target: Target): { trainingDataset?: number } {
  return target.dataset === null ? {} : { trainingDataset: target.dataset };
}

/** The model version an alias points at (or the given version). */
export async function resolveModelVersion(source: DeploymentSource, model: string, alias: string | null, version: number | null): Promise<ModelVersionRecord> {
  let wanted = version;
  if (alias !== null) {
    const found = await source.getAlias(model, alias);
    if (found === undefined) throw new NotFoundError(`Model '${model}' has no alias '${alias}'; promote a version first.`);
    wanted = found.version;
  }
  const record = await source.getModel(model, wanted!);
  if (record === undefined) throw new NotFoundError(`Model '${model}' has no version ${String(wanted)}.`);
  return record;
}

/** Loads a version into the source's inference worker for `backend` (kept there until unloaded); resolves with its key and the backend it runs on. */
export async function loadIntoWorker(source: DeploymentSource, record: ModelVersionRecord, backend: BackendName): Promise<{ key: string; backend: BackendName }> {
  const [loaded] = await loadModel([source.inference(backend).api], record, await source.readWeights(record.name, record.version), backend);
  return loaded!;
}

/**
 * Loads a model version into each of some inference workers (the weights moved to the last, copied to the others);
 * resolves with its key and, per worker, the backend it runs on.
 */
export async function loadModel(
  workers: readonly Comlink.Remote<InferenceService>[],
  record: ModelVersionRecord,
  weights: ArrayBuffer,
  backend: BackendName,
): Promise<{ key: string; backend: BackendName }[]> {
  const key = `${nameKey(record.name)}@${record.version}`;
  const { modelTopology, weightSpecs, sha256 } = record.artifact;
  return Promise.all(
    workers.map(async (api, i) => {
      const weightData = i === workers.length - 1 ? weights : weights.slice(0);
      return { key, backend: await api.load(key, Comlink.transfer({ modelTopology, weightSpecs, weightData, sha256 }, [weightData]), backend) };
    }),
  );
}

/** The key columns of a group as a feature spec (for the groups deployments write, keyed like its entities). */
export function keyFeatures(left: FeatureGroupDefinition): Record<string, FeatureType> {
  return Object.fromEntries(left.primaryKey.map((k) => [k, left.features.find((f) => f.name === k)!.type]));
}

/** Loads a version into the inference worker and builds the reader of its own feature view version. */
async function prepare(source: DeploymentSource, record: ModelVersionRecord, backend: BackendName): Promise<Target> {
  const lineage = record.lineage;
  if (lineage === null) {
    throw new InvalidArgumentError(`Model ${record.name} v${record.version} has no feature view in its lineage; a deployment reads its features through one.`);
  }
  const view = await source.getFeatureView(lineage.featureView, lineage.featureViewVersion);
  const reader = new OnlineViewReader(view, source.definitions, () => source.online(), source.onDemand);
  const loaded = await loadIntoWorker(source, record, backend);
  return { record, view, reader, dataset: lineage.trainingDataset, key: loaded.key, backend: loaded.backend, inputs: record.signature.inputs.map((i) => i.name), users: 0, retired: false };
}

/** Whether every group of a view has rows in the online store to serve (promotion refuses a view that has none). */
export async function viewServes(view: FeatureViewDefinition, definitions: DefinitionSource, online: OnlineStore): Promise<string[]> {
  const missing: string[] = [];
  for (const join of view.joins) {
    const group = await definitions.group(join.group, join.version);
    if (!group.online || (await online.watermark(onlineGroupKey(group))) === 0) missing.push(`${group.name} v${group.version}`);
  }
  return missing;
}


/** The reason a rollback records in the alias history (promotions record theirs, or 'promote'). */
export const ROLLBACK_REASON = 'rollback';

/**
 * Where a rollback of an alias goes: its history replayed as a stack (a promotion pushes its version, a rollback
 * pops back to the one below), so successive rollbacks walk back through the promotions. Null: nothing to go back to.
 */
export function rollbackTarget(history: readonly AliasChange[], alias: string): number | null {
  const stack: (number | null)[] = [];
  for (const change of history) {
    if (nameKey(change.alias) !== nameKey(alias)) continue;
    // Records from before moves had a kind told rollbacks by their reason.
    const kind = change.kind ?? (change.reason.startsWith(ROLLBACK_REASON) ? 'rollback' : 'promote');
    if (kind === 'rollback') stack.pop();
    else stack.push(change.to);
  }
  return stack.length >= 2 ? stack[stack.length - 2]! : null;
}

/** The prediction log group of a model: one row per arm per request, keyed like the entities of its view. */
export function predictionLogSpec(left: FeatureGroupDefinition, model: string): FeatureGroupSpec {
  const keys = keyFeatures(left);
  return {
    name: `${model}_prediction_log`, version: 1, primaryKey: [...left.primaryKey], eventTime: 'ts',
    features: {
      ...keys, ts: 'timestamp', request_id: 'string', arm: 'string', served: 'bool', model_version: 'int32', feature_view_version: 'int32', prediction: 'float64',
      features: 'string',
    },
    description: 'Predictions of shadow and split deployments: one row per arm per request.',
  };
}

/**
 * A buffered prediction log: rows are written as one commit once `maxRows` wait or `maxWaitMs` after the first of
 * them, and on flush.
 */
export class BufferedLog implements PredictionLog {
  private rows: Record<string, unknown>[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;
  private writing: Promise<void> = Promise.resolve();
  /** Rows given up after failed writes, when more than 50 batches' worth waited (memory stays bounded). */
  dropped = 0;

  constructor(
    private readonly write: (rows: Record<string, unknown>[]) => Promise<unknown>,
    private readonly maxRows = 1000,
    private readonly maxWaitMs = 1000,
  ) {}

  append(rows: readonly Record<string, unknown>[]): void {
    this.rows.push(...rows);
    if (this.rows.length >= this.maxRows) void this.flush().catch(() => undefined); // retried at the next flush
    else this.timer ??= setTimeout(() => void this.flush().catch(() => undefined), this.maxWaitMs);
  }

  flush(): Promise<void> {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const rows = this.rows;
    this.rows = [];
    const next = this.writing.then(async () => {
      if (rows.length === 0) return;
      try {
        await this.write(rows);
      } catch (error) {
        this.rows.unshift(...rows); // kept for the next flush, up to a bound
        const excess = this.rows.length - 50 * this.maxRows;
        if (excess > 0) {
          this.rows.splice(0, excess);
          this.dropped += excess;
        }
        throw error;
      }
    });
    this.writing = next.catch(() => undefined);
    return next;
  }
}

/** Array.isArray without narrowing a typed list to any[]. */
function isList(value: unknown): boolean {
  return Array.isArray(value);
}
