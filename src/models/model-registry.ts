import type * as tf from '@tensorflow/tfjs';
import type * as Comlink from 'comlink';
import { InvalidArgumentError, NotFoundError } from '../errors.ts';
import type { AliasChange, ModelVersionRecord, RunRecord } from '../registry/types.ts';
import type { StoreWorkerApi } from '../rpc/store-api.ts';
import { assembleShards, loadValidatedArtifacts, parseModelJson, sha256Hex, validateArtifacts, verifySha256 } from './artifacts.ts';

/** A version number, or an alias name. */
export type ModelRef = number | string;

/** A model version ready to predict on this thread, with the feature transformations it was trained with. */
export interface LoadedModel {
  record: ModelVersionRecord;
  model: tf.LayersModel;
}

/**
 * The model registry of a store: immutable versions per model name, aliases with an append-only history, load,
 * export to and import from standard tfjs files. Every artifact is checked (hash, shapes, layer classes, sizes)
 * before tfjs sees it.
 */
export class ModelRegistry {
  /** @internal */
  constructor(private readonly api: () => Comlink.Remote<StoreWorkerApi>) {}

  /**
   * A version by number or alias; the latest when no reference is given.
   *
   * @example
   * ```ts
   * const champion = await store.models.get('rain', 'champion');
   * ```
   */
  async get(name: string, ref?: ModelRef): Promise<ModelVersionRecord> {
    let version: number | undefined;
    if (typeof ref === 'string') {
      const alias = await this.api().getAlias(name, ref);
      if (alias === undefined) throw new NotFoundError(`Model '${name}' has no alias '${ref}'.`);
      version = alias.version;
    } else {
      version = ref;
    }
    const record = await this.api().getModel(name, version);
    if (record === undefined) throw new NotFoundError(version === undefined ? `Model '${name}' does not exist.` : `Model '${name}' has no version ${version}.`);
    return record;
  }

  /** Versions of one model (or of all), by name then version. */
  list(name?: string): Promise<ModelVersionRecord[]> {
    return this.api().listModels(name);
  }

  /**
   * The version with the best value of a metric (versions without it are skipped).
   *
   * @example
   * ```ts
   * const best = await store.models.best('rain', 'rmse', 'min');
   * ```
   */
  async best(name: string, metric: string, direction: 'min' | 'max'): Promise<ModelVersionRecord> {
    if (direction !== 'min' && direction !== 'max') throw new InvalidArgumentError("direction must be 'min' or 'max'.");
    const scored = (await this.list(name)).filter((m) => typeof m.metrics[metric] === 'number');
    if (scored.length === 0) throw new NotFoundError(`No version of model '${name}' has metric '${metric}'.`);
    return scored.reduce((a, b) => ((direction === 'min' ? b.metrics[metric]! < a.metrics[metric]! : b.metrics[metric]! > a.metrics[metric]!) ? b : a));
  }

  /** Deletes a version; refused while an alias points at it. */
  delete(name: string, version: number): Promise<void> {
    return this.api().deleteModel(name, version);
  }

  /** Points an alias at a version (strictly durable, recorded in the alias history); null removes it. */
  setAlias(name: string, alias: string, version: number | null, options: { reason?: string } = {}): Promise<AliasChange> {
    return this.api().setAlias(name, alias, version, options.reason ?? '');
  }

  /** Every move of the model's aliases, oldest first. */
  aliasHistory(name: string): Promise<AliasChange[]> {
    return this.api().aliasHistory(name);
  }

  /** The checked artifacts of a version: weights verified against their SHA-256, then shapes, sizes and layers. */
  private async artifacts(record: ModelVersionRecord) {
    const weights = await this.api().readWeights(record.name, record.version);
    await verifySha256(weights, record.artifact.sha256, `the weights of ${record.name} v${record.version}`);
    return validateArtifacts({ modelTopology: record.artifact.modelTopology, weightSpecs: record.artifact.weightSpecs, weightData: weights });
  }

  /**
   * Loads a version into tfjs on this thread.
   *
   * @example
   * ```ts
   * const { model, record } = await store.models.load('rain', 'champion');
   * ```
   */
  async load(name: string, ref?: ModelRef): Promise<LoadedModel> {
    const record = await this.get(name, ref);
    const artifacts = await this.artifacts(record);
    const tfjs = await import('@tensorflow/tfjs'); // loaded on first use: opening a store does not pull in tfjs
    const model = await loadValidatedArtifacts(tfjs, artifacts, `${record.name} v${record.version}`);
    return { record, model };
  }

  /**
   * A version as standard tfjs files: `model.json` (topology and weights manifest) and `weights.bin`, which plain
   * `tf.loadLayersModel` loads.
   */
  async exportModel(name: string, ref?: ModelRef): Promise<{ modelJson: string; weights: ArrayBuffer }> {
    const record = await this.get(name, ref);
    const artifacts = await this.artifacts(record);
    const modelJson = JSON.stringify({
      modelTopology: artifacts.modelTopology,
      format: 'layers-model',
      generatedBy: 'Larder',
      convertedBy: null,
      weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
    });
    return { modelJson, weights: artifacts.weightData };
  }

  /**
   * Registers model artifacts (tfjs `ModelArtifacts` with the weights in one buffer, as a save handler receives
   * them) as the next version of `name`, after checking them. `store.train` registers its models the same way.
   *
   * @example
   * ```ts
   * await model.save(tf.io.withSaveHandler(async (a) => {
   *   await store.models.register('rain', { modelTopology: a.modelTopology, weightSpecs: a.weightSpecs, weightData: a.weightData });
   *   return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
   * }));
   * ```
   */
  async register(
    name: string,
    artifacts: { modelTopology: unknown; weightSpecs: unknown; weightData: ArrayBuffer },
    options: { description?: string; tags?: Record<string, string>; signature?: ModelVersionRecord['signature']; metrics?: Record<string, number | null> } = {},
  ): Promise<ModelVersionRecord> {
    const checked = validateArtifacts(artifacts);
    // What tfjs would refuse to load is refused now, not at the first load: a trial load, then let go.
    const tfjs = await import('@tensorflow/tfjs');
    (await loadValidatedArtifacts(tfjs, checked, `The artifacts of ${name}`)).dispose();
    return this.api().registerModel(
      {
        name,
        createdAt: Date.now(),
        runId: null,
        description: options.description ?? '',
        tags: { ...options.tags },
        signature: options.signature ?? { inputs: [], output: { name: '', task: 'unknown', classes: 0 } },
        metrics: { ...options.metrics },
        lineage: null,
        spec: null,
        artifact: { modelTopology: checked.modelTopology, weightSpecs: checked.weightSpecs.map((w) => ({ ...w, shape: [...w.shape] })), sha256: await sha256Hex(checked.weightData) },
      },
      checked.weightData,
    );
  }

  /**
   * Registers a tfjs model saved elsewhere (model.json and its weight shards, in manifest order) as the next
   * version of `name`, after checking every part of it.
   */
  async importModel(
    name: string,
    files: { modelJson: string; shards: readonly ArrayBuffer[] },
    options: { description?: string; tags?: Record<string, string>; signature?: ModelVersionRecord['signature'] } = {},
  ): Promise<ModelVersionRecord> {
    const manifest = parseModelJson(files.modelJson);
    const weightData = assembleShards(files.shards, manifest.weightBytes);
    return this.register(name, { modelTopology: manifest.modelTopology, weightSpecs: manifest.weightSpecs, weightData }, options);
  }
}

/** The experiment tracker of a store: training runs with their params, metric series, status and outcome. */
export class Runs {
  /** @internal */
  constructor(private readonly api: () => Comlink.Remote<StoreWorkerApi>) {}

  /** Runs, oldest first; of one model when given. */
  list(model?: string): Promise<RunRecord[]> {
    return this.api().listRuns(model);
  }

  async get(id: string): Promise<RunRecord> {
    const run = await this.api().getRun(id);
    if (run === undefined) throw new NotFoundError(`There is no run ${id}.`);
    return run;
  }

  /**
   * Runs side by side: one row per run with its status, params and final metrics, and the union of metric names.
   *
   * @example
   * ```ts
   * const { metrics, rows } = await store.runs.compare([a.id, b.id]);
   * ```
   */
  async compare(ids: readonly string[]): Promise<{ metrics: string[]; rows: { id: string; status: string; params: Record<string, unknown>; metrics: Record<string, number | null> }[] }> {
    const runs = await Promise.all(ids.map((id) => this.get(id)));
    const metrics = [...new Set(runs.flatMap((r) => Object.keys(r.metrics)))].sort();
    return {
      metrics,
      rows: runs.map((r) => ({ id: r.id, status: r.status, params: r.params, metrics: Object.fromEntries(metrics.map((m) => [m, r.metrics[m] ?? null])) })),
    };
  }
}
