import * as Comlink from 'comlink';
import type { FeatureViewDefinition } from '../definitions/feature-view.ts';
import { nameKey } from '../definitions/names.ts';
import { InvalidArgumentError, NotFoundError, StoreClosedError } from '../errors.ts';
import type { BackendName } from '../models/backend.ts';
import type { AliasChange, AliasRecord, ModelVersionRecord } from '../registry/types.ts';
import { onlineGroupKey } from '../online/materialize.ts';
import type { InferenceService } from '../service/inference-service.ts';
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
  inference(): Comlink.Remote<InferenceService>;
}

/** Options of `store.deployment(name, options)`. */
export interface DeploymentOptions {
  /** Serve the version this alias points at, following it when it moves (default 'champion' unless `version`). */
  alias?: string;
  /** Serve this version, fixed. */
  version?: number;
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
}

/** A model version ready to serve: its view reader and its key in the inference worker. */
interface Target {
  record: ModelVersionRecord;
  view: FeatureViewDefinition;
  reader: OnlineViewReader;
  dataset: number | null;
  key: string;
  inputs: string[];
}

/** The model's inputs of a vector, as float32 (booleans as 0/1); a missing value names the entity and the feature. */
export function inputRow(vector: FeatureVector, inputs: readonly string[], out: Float32Array, offset: number, entity: unknown): void {
  inputs.forEach((name, j) => {
    const index = vector.names.indexOf(name);
    const value = index < 0 ? undefined : vector.values[index];
    const number = typeof value === 'boolean' ? (value ? 1 : 0) : typeof value === 'bigint' ? Number(value) : value;
    if (typeof number !== 'number' || !Number.isFinite(number)) {
      const status = index < 0 ? 'not in the view' : vector.statuses[index];
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
    const probabilities = Array.from(outputs.subarray(row * classes, (row + 1) * classes));
    let best = 0;
    for (let c = 1; c < probabilities.length; c++) if (probabilities[c]! > probabilities[best]!) best = c;
    return { prediction: best, probabilities };
  }
  const value = outputs[row]!;
  return task === 'binary' ? { prediction: value, probabilities: [1 - value, value] } : { prediction: value };
}

/**
 * A served model: online feature vectors of the model version's own feature view version (its on-demand features,
 * its training dataset's transformations), predicted by the version kept warm in the inference worker. Following an
 * alias, it switches to the new version when the alias moves (in this tab or another); a prediction always uses
 * one version throughout.
 */
export class Deployment {
  private target: Target;
  private switching: Promise<void> | null = null;
  private channel: BroadcastChannel | null = null;
  private closed = false;

  private constructor(
    private readonly source: DeploymentSource,
    readonly model: string,
    readonly alias: string | null,
    first: Target,
    private readonly backend: BackendName,
  ) {
    this.target = first;
    if (alias !== null) {
      this.channel = new BroadcastChannel(aliasChannelName(source.storeName));
      this.channel.onmessage = (event: MessageEvent<AliasMoved>) => {
        const moved = event.data;
        if (nameKey(moved.model) === nameKey(this.model) && nameKey(moved.alias) === nameKey(alias)) void this.refresh().catch(() => undefined);
      };
    }
  }

  /** @internal */
  static async open(source: DeploymentSource, model: string, options: DeploymentOptions = {}): Promise<Deployment> {
    if (options.alias !== undefined && options.version !== undefined) throw new InvalidArgumentError('Give an alias or a version, not both.');
    const alias = options.version === undefined ? (options.alias ?? 'champion') : null;
    const backend = options.backend ?? 'wasm';
    const record = await resolveModelVersion(source, model, alias, options.version ?? null);
    return new Deployment(source, model, alias, await prepare(source, record, backend), backend);
  }

  /** The model and feature view versions served now. */
  current(): { model: { name: string; version: number }; featureView: { name: string; version: number } } {
    const { record, view } = this.target;
    return { model: { name: record.name, version: record.version }, featureView: { name: view.name, version: view.version } };
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
   * Predicts for many entities at once: one IndexedDB transaction, one call to the inference worker.
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
    if (!Array.isArray(entities)) throw new InvalidArgumentError('predictBatch takes an array of entities.');
    const target = this.target; // one version for the whole call, whatever moves meanwhile
    const requestData = options.requestData;
    let vectors: FeatureVector[];
    if (Array.isArray(requestData)) {
      const each = requestData as readonly Record<string, unknown>[];
      if (each.length !== entities.length) throw new InvalidArgumentError('requestData needs one object per entity.');
      vectors = await Promise.all(entities.map(async (e, i) => (await target.reader.vectors([e], { requestData: each[i]!, ...datasetOption(target) }))[0]!));
    } else {
      vectors = await target.reader.vectors(entities, { ...(requestData === undefined ? {} : { requestData: requestData as Record<string, unknown> }), ...datasetOption(target) });
    }
    const width = target.inputs.length;
    const x = new Float32Array(entities.length * width);
    vectors.forEach((vector, i) => inputRow(vector, target.inputs, x, i * width, entities[i]));
    const outputs = entities.length === 0 ? new Float32Array(0) : await this.source.inference().predict(target.key, Comlink.transfer(x, [x.buffer]), entities.length);
    const model = { name: target.record.name, version: target.record.version };
    const featureView = { name: target.view.name, version: target.view.version };
    return vectors.map((vector, i) => {
      const result: Prediction = { ...interpret(target.record, outputs, i), model, featureView };
      if (options.withFeatures === true) {
        result.features = Object.fromEntries(target.inputs.map((name) => [name, vector.values[vector.names.indexOf(name)] as number]));
      }
      return result;
    });
  }

  /**
   * Predicts for a stream of events (entities, or `{ entity, requestData }`): an async iterable or a ReadableStream
   * in, an async iterable of predictions out, one at a time. The source is read only as fast as predictions are
   * consumed, so a slow consumer never makes events pile up.
   *
   * @example
   * ```ts
   * for await (const p of predictor.predictStream(events)) show(p.prediction);
   * ```
   */
  async *predictStream(source: AsyncIterable<unknown> | ReadableStream<unknown>, options: { withFeatures?: boolean } = {}): AsyncGenerator<Prediction, void, undefined> {
    const reader = toReadableStream(source as StreamSource, { highWaterMark: 0 }).getReader();
    try {
      for (;;) {
        const next = await reader.read();
        if (next.done) return;
        const event = next.value as { entity?: Record<string, unknown>; requestData?: Record<string, unknown> } & Record<string, unknown>;
        const isRequest = typeof event === 'object' && event !== null && typeof event.entity === 'object' && event.entity !== null;
        const entity = isRequest ? event.entity! : event;
        yield await this.predict(entity, { ...(isRequest && event.requestData !== undefined ? { requestData: event.requestData } : {}), ...options });
      }
    } finally {
      await reader.cancel().catch(() => undefined); // ended early by the consumer: release the source
    }
  }

  /**
   * Looks the alias up again and switches to the version it points at now (done by itself when a store announces
   * a move; call it after moving an alias from somewhere that cannot announce it). Resolves once switched.
   */
  async refresh(): Promise<void> {
    if (this.alias === null || this.closed) return;
    const run = async (): Promise<void> => {
      const record = await resolveModelVersion(this.source, this.model, this.alias, null);
      if (record.version === this.target.record.version) return;
      const next = await prepare(this.source, record, this.backend);
      const previous = this.target;
      this.target = next; // every prediction from now on; those under way finish with the version they started with
      if (previous.key !== next.key) this.source.inference().unload(previous.key).catch(() => undefined); // best effort
    };
    // Switches happen one at a time, in order.
    const chained = (this.switching ?? Promise.resolve()).then(run, run);
    this.switching = chained.catch(() => undefined);
    return chained;
  }

  /** Stops following the alias and frees the model in the inference worker. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.channel?.close();
    this.source.inference().unload(this.target.key).catch(() => undefined); // the worker may be gone with its store
  }
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

/** Loads a version into the source's inference worker (kept there until unloaded); resolves with its key. */
export async function loadIntoWorker(source: DeploymentSource, record: ModelVersionRecord, backend: BackendName): Promise<string> {
  const key = `${nameKey(record.name)}@${record.version}`;
  const weights = await source.readWeights(record.name, record.version);
  const { modelTopology, weightSpecs, sha256 } = record.artifact;
  await source.inference().load(key, Comlink.transfer({ modelTopology, weightSpecs, weightData: weights, sha256 }, [weights]), backend);
  return key;
}

/** Loads a version into the inference worker and builds the reader of its own feature view version. */
async function prepare(source: DeploymentSource, record: ModelVersionRecord, backend: BackendName): Promise<Target> {
  const lineage = record.lineage;
  if (lineage === null) {
    throw new InvalidArgumentError(`Model ${record.name} v${record.version} has no feature view in its lineage; a deployment reads its features through one.`);
  }
  const view = await source.getFeatureView(lineage.featureView, lineage.featureViewVersion);
  const reader = new OnlineViewReader(view, source.definitions, () => source.online(), source.onDemand);
  const key = await loadIntoWorker(source, record, backend);
  return { record, view, reader, dataset: lineage.trainingDataset, key, inputs: record.signature.inputs.map((i) => i.name) };
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
    if (change.reason.startsWith(ROLLBACK_REASON)) stack.pop();
    else stack.push(change.to);
  }
  return stack.length >= 2 ? stack[stack.length - 2]! : null;
}
