import type { FeatureGroupDefinition } from '../definitions/feature-group.ts';
import type { FeatureViewDefinition } from '../definitions/feature-view.ts';
import { validateName } from '../definitions/names.ts';
import { InvalidArgumentError, NotFoundError, StoreClosedError } from '../errors.ts';
import { IndexedDbRegistry } from '../registry/indexeddb.ts';
import { OnDemandRegistry, type OnDemandFeature } from '../transforms/on-demand.ts';
import { OnlineStore, onlineDbName } from './indexeddb.ts';
import { readGroupRows, type FeatureVector, type OnlineRow } from './reader.ts';
import { OnlineViewReader, type FeatureVectorOptions } from './view-reader.ts';
import { InferenceClients } from '../pipelines/inference-client.ts';
import { Deployment, type DeploymentOptions, type DeploymentSource } from '../pipelines/deployment.ts';

/** Options of {@link openOnlineReader}. */
export interface OnlineReaderOptions {
  /** The name of a persistent store (opened with `openFeatureStore` in some tab). */
  name: string;
  /** The on-demand features its views use, as the store worker registers them. */
  onDemand?: readonly OnDemandFeature[];
}

/** Online reads of one feature view version, on the reader's thread. */
export interface OnlineFeatureView {
  readonly definition: FeatureViewDefinition;
  getFeatureVector(entity: Record<string, unknown>, options?: FeatureVectorOptions): Promise<FeatureVector>;
  getFeatureVectors(entities: readonly Record<string, unknown>[], options?: FeatureVectorOptions): Promise<FeatureVector[]>;
}

/** Online reads of one feature group version, on the reader's thread. */
export interface OnlineFeatureGroup {
  readonly definition: FeatureGroupDefinition;
  getOnline(entities: readonly Record<string, unknown>[]): Promise<OnlineRow[]>;
}

/**
 * Online feature reads for any thread — a worker of your own, a service worker, the page — without the store worker
 * or DuckDB: definitions and training datasets come from the store's registry database, values from its online
 * database, both IndexedDB, both shared by every thread of the origin. Writes stay with the tab that has the store
 * open; every read sees them as soon as they are committed.
 */
export class OnlineReader {
  private closed = false;

  private constructor(
    private readonly storeName: string,
    private readonly registry: IndexedDbRegistry,
    private readonly online: OnlineStore,
    private readonly onDemand: OnDemandRegistry,
  ) {}

  /** @internal */
  static async open(options: OnlineReaderOptions): Promise<OnlineReader> {
    if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('openOnlineReader needs { name }.');
    const name = validateName(options.name, 'store');
    const onDemand = new OnDemandRegistry(options.onDemand ?? []);
    const registry = await IndexedDbRegistry.open(name);
    try {
      return new OnlineReader(name, registry, await OnlineStore.open(onlineDbName(name)), onDemand);
    } catch (error) {
      registry.close();
      throw error;
    }
  }

  private check(): void {
    if (this.closed) throw new StoreClosedError('The online reader is closed.');
  }

  async getFeatureGroup(name: string, version?: number): Promise<OnlineFeatureGroup> {
    this.check();
    const definition = await this.registry.getFeatureGroup(name, version);
    if (definition === undefined) throw new NotFoundError(`Feature group '${name}'${version === undefined ? '' : ` v${version}`} does not exist.`);
    return {
      definition,
      getOnline: (entities) => readGroupRows(this.online, definition, entities, Date.now()),
    };
  }

  async getFeatureView(name: string, version?: number): Promise<OnlineFeatureView> {
    this.check();
    const stored = await this.registry.getFeatureView(name, version);
    if (stored === undefined) throw new NotFoundError(`Feature view '${name}'${version === undefined ? '' : ` v${version}`} does not exist.`);
    const definition = { ...stored, request: stored.request ?? [] };
    const reader = new OnlineViewReader(definition, this.source().definitions, () => Promise.resolve(this.online), this.onDemand);
    return {
      definition,
      getFeatureVector: async (entity, options) => (await reader.vectors([entity], options))[0]!,
      getFeatureVectors: (entities, options) => reader.vectors(entities, options),
    };
  }

  /**
   * A deployment served from this thread, without the store worker: the same as `store.deployment`, reading models
   * and definitions from the registry database. It follows its alias when the owning tab moves it.
   *
   * @example
   * ```ts
   * const predictor = await reader.deployment('rain', { alias: 'champion' });
   * ```
   */
  async deployment(name: string, options: DeploymentOptions = {}): Promise<Deployment> {
    this.check();
    const deployment = await Deployment.open(this.source(), name, options);
    this.deployments.add(deployment);
    deployment.onClose = () => this.deployments.delete(deployment);
    return deployment;
  }

  private source(): DeploymentSource {
    const registry = this.registry;
    const definitions = {
      group: async (g: string, v: number) => {
        const found = await registry.getFeatureGroup(g, v);
        if (found === undefined) throw new NotFoundError(`Feature group ${g} v${v} does not exist.`);
        return found;
      },
      datasets: (view: string, v: number) => registry.listTrainingDatasets(view, v),
    };
    this.deploymentSource ??= {
      storeName: this.storeName,
      getAlias: (model, alias) => registry.getAlias(model, alias),
      getModel: (model, version) => registry.getModel(model, version),
      readWeights: (model, version) => registry.readWeights(model, version),
      getFeatureView: async (view, version) => {
        const found = await registry.getFeatureView(view, version);
        if (found === undefined) throw new NotFoundError(`Feature view ${view} v${version} does not exist.`);
        return { ...found, request: found.request ?? [] };
      },
      definitions,
      online: () => Promise.resolve(this.online),
      onDemand: this.onDemand,
      inference: (backend) => {
        this.check();
        this.inference ??= new InferenceClients('larder-inference');
        return this.inference.get(backend);
      },
    };
    return this.deploymentSource;
  }

  private deploymentSource: DeploymentSource | null = null;
  private inference: InferenceClients | null = null;
  private readonly deployments = new Set<Deployment>();

  close(): void {
    if (this.closed) return;
    for (const deployment of [...this.deployments]) deployment.close().catch(() => undefined); // no log to write: nothing to wait for
    this.closed = true;
    this.inference?.terminate();
    this.online.close();
    this.registry.close();
  }
}

/**
 * Opens online reads of a persistent store from any thread.
 *
 * @example
 * ```ts
 * // my-scoring.worker.ts
 * import { openOnlineReader } from 'larder';
 * const reader = await openOnlineReader({ name: 'app', onDemand: [tempRange] });
 * const view = await reader.getFeatureView('rain', 1);
 * const vector = await view.getFeatureVector({ location: 'Seattle' }, { transformed: true });
 * ```
 */
export function openOnlineReader(options: OnlineReaderOptions): Promise<OnlineReader> {
  return OnlineReader.open(options);
}
