import type { FeatureGroupDefinition } from '../definitions/feature-group.ts';
import type { FeatureViewDefinition } from '../definitions/feature-view.ts';
import { InvalidArgumentError, NotFoundError } from '../errors.ts';
import type { TrainingDatasetRecord } from '../registry/types.ts';
import type { OnDemandRegistry } from '../transforms/on-demand.ts';
import type { OnlineStore } from './indexeddb.ts';
import { readVectors, type FeatureVector } from './reader.ts';

/** Options of a feature-vector read. */
export interface FeatureVectorOptions {
  /** Request fields of the view's on-demand features. */
  requestData?: Record<string, unknown>;
  /** Values to use instead of stored ones, by feature name (status `passed`). */
  passed?: Record<string, unknown>;
  /** Apply the fitted transformations of the view's latest training dataset. */
  transformed?: boolean;
  /** Apply the fitted transformations of this training dataset version (implies transformed). */
  trainingDataset?: number;
}

/** Where a reader finds definitions and training datasets: the store worker, or the registry database directly. */
export interface DefinitionSource {
  group(name: string, version: number): Promise<FeatureGroupDefinition>;
  /** A view's training datasets, oldest first. */
  datasets(view: string, version: number): Promise<readonly TrainingDatasetRecord[]>;
}

/**
 * Online vectors of one feature view version, for any thread: definitions are read once (they are immutable), the
 * on-demand functions registered on this thread are checked against the view's once, and every read goes to
 * IndexedDB (no cache, so a write from any tab is seen by the next read).
 */
export class OnlineViewReader {
  private groups: Promise<Map<string, FeatureGroupDefinition>> | null = null;
  private verified: Promise<void> | null = null;
  private readonly datasets = new Map<number, TrainingDatasetRecord>();

  constructor(
    private readonly view: FeatureViewDefinition,
    private readonly source: DefinitionSource,
    private readonly online: () => Promise<OnlineStore>,
    private readonly onDemand: OnDemandRegistry,
  ) {}

  async vectors(entities: readonly Record<string, unknown>[], options: FeatureVectorOptions = {}): Promise<FeatureVector[]> {
    if (!Array.isArray(entities)) throw new InvalidArgumentError('Feature vectors take an array of entity objects.');
    const [online, groups, , dataset] = await Promise.all([this.online(), this.definitions(), this.verify(), this.dataset(options)]);
    return readVectors(
      online,
      this.view,
      groups,
      this.view.onDemand.length === 0 ? null : this.onDemand,
      entities,
      {
        ...(options.requestData === undefined ? {} : { requestData: options.requestData }),
        ...(options.passed === undefined ? {} : { passed: options.passed }),
        trainingDataset: dataset,
      },
      Date.now(),
    );
  }

  private definitions(): Promise<Map<string, FeatureGroupDefinition>> {
    this.groups ??= Promise.all(this.view.joins.map((j) => this.source.group(j.group, j.version))).then(
      (list) => new Map(list.map((g) => [`${g.name.toLowerCase()}@${g.version}`, g])),
    );
    this.groups.catch(() => (this.groups = null));
    return this.groups;
  }

  private verify(): Promise<void> {
    if (this.view.onDemand.length === 0) return Promise.resolve();
    this.verified ??= this.onDemand.verify(this.view.onDemand, `feature view ${this.view.name} v${this.view.version}`);
    this.verified.catch(() => (this.verified = null));
    return this.verified;
  }

  private async dataset(options: FeatureVectorOptions): Promise<TrainingDatasetRecord | null> {
    if (options.trainingDataset === undefined && options.transformed !== true) return null;
    // A dataset version never changes once stored: asked for by number, it is looked up once (the latest is not).
    const known = options.trainingDataset === undefined ? undefined : this.datasets.get(options.trainingDataset);
    if (known !== undefined) return known;
    const all = await this.source.datasets(this.view.name, this.view.version);
    for (const d of all) this.datasets.set(d.version, d);
    const wanted = options.trainingDataset ?? all.at(-1)?.version;
    const found = all.find((d) => d.version === wanted);
    if (found === undefined) {
      throw new NotFoundError(
        wanted === undefined
          ? `Feature view ${this.view.name} v${this.view.version} has no training dataset to take transformations from.`
          : `Feature view ${this.view.name} v${this.view.version} has no training dataset ${wanted}.`,
      );
    }
    return found;
  }
}
