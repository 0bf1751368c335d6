import type { FeatureGroupDefinition } from '../definitions/feature-group.ts';
import { nameKey } from '../definitions/names.ts';
import type { FeatureViewDefinition } from '../definitions/feature-view.ts';
import { NotFoundError } from '../errors.ts';
import { assertUnaliased, byStart, joinChunks, lineageView, validateAlias, weightChunks } from './models.ts';
import type {
  AliasChange, AliasMoveKind, AliasRecord, CommitRecord, FeatureGroupStatistics, ModelVersionRecord, PipelineDefinition, PipelineRunRecord, Registry, RunRecord,
  RegistryDump, TrainingDatasetRecord,
} from './types.ts';
import { weightsKey } from './types.ts';

const groupId = (name: string, version: number): string => `${nameKey(name)}\u0000${version}`;

/** The registry in memory, for `persist: false` stores. Values are cloned in and out like IndexedDB does. */
export class MemoryRegistry implements Registry {
  private readonly groups = new Map<string, FeatureGroupDefinition>();
  private readonly commits = new Map<number, CommitRecord>();
  private readonly statistics = new Map<string, FeatureGroupStatistics>();
  private readonly views = new Map<string, FeatureViewDefinition>();
  private readonly datasets = new Map<string, TrainingDatasetRecord>();
  private readonly runs = new Map<string, RunRecord>();
  private readonly models = new Map<string, ModelVersionRecord>();
  private readonly lastVersions = new Map<string, number>();
  private readonly chunks = new Map<string, ArrayBuffer[]>();
  private readonly aliases = new Map<string, AliasRecord>();
  private readonly history: AliasChange[] = [];
  private readonly pipelines = new Map<string, PipelineDefinition>();
  private readonly pipelineRuns = new Map<string, PipelineRunRecord>();

  putFeatureGroup(definition: FeatureGroupDefinition): Promise<void> {
    this.groups.set(groupId(definition.name, definition.version), structuredClone(definition));
    return Promise.resolve();
  }

  getFeatureGroup(name: string, version?: number): Promise<FeatureGroupDefinition | undefined> {
    if (version !== undefined) return Promise.resolve(clone(this.groups.get(groupId(name, version))));
    const versions = [...this.groups.values()].filter((g) => nameKey(g.name) === nameKey(name));
    versions.sort((a, b) => b.version - a.version);
    return Promise.resolve(clone(versions[0]));
  }

  listFeatureGroups(): Promise<FeatureGroupDefinition[]> {
    const all = [...this.groups.values()].sort((a, b) =>
      nameKey(a.name) === nameKey(b.name) ? a.version - b.version : nameKey(a.name) < nameKey(b.name) ? -1 : 1,
    );
    return Promise.resolve(all.map((g) => structuredClone(g)));
  }

  deleteFeatureGroup(name: string, version: number): Promise<void> {
    this.groups.delete(groupId(name, version));
    for (const [id, commit] of this.commits) {
      if (nameKey(commit.group) === nameKey(name) && commit.version === version) this.commits.delete(id);
    }
    for (const [id, stats] of this.statistics) {
      if (nameKey(stats.group) === nameKey(name) && stats.version === version) this.statistics.delete(id);
    }
    return Promise.resolve();
  }

  putCommits(commits: readonly CommitRecord[]): Promise<void> {
    for (const commit of commits) this.commits.set(commit.commitId, structuredClone(commit));
    return Promise.resolve();
  }

  listCommits(name: string, version: number): Promise<CommitRecord[]> {
    const list = [...this.commits.values()]
      .filter((c) => nameKey(c.group) === nameKey(name) && c.version === version)
      .sort((a, b) => a.commitId - b.commitId);
    return Promise.resolve(list.map((c) => structuredClone(c)));
  }

  putStatistics(statistics: FeatureGroupStatistics): Promise<void> {
    this.statistics.set(`${groupId(statistics.group, statistics.version)}\u0000${statistics.commitId}`, structuredClone(statistics));
    return Promise.resolve();
  }

  getStatistics(name: string, version: number, commitId: number): Promise<FeatureGroupStatistics | undefined> {
    return Promise.resolve(clone(this.statistics.get(`${groupId(name, version)}\u0000${commitId}`)));
  }

  putFeatureView(definition: FeatureViewDefinition): Promise<void> {
    this.views.set(groupId(definition.name, definition.version), structuredClone(definition));
    return Promise.resolve();
  }

  getFeatureView(name: string, version?: number): Promise<FeatureViewDefinition | undefined> {
    if (version !== undefined) return Promise.resolve(clone(this.views.get(groupId(name, version))));
    const versions = [...this.views.values()].filter((v) => nameKey(v.name) === nameKey(name)).sort((a, b) => b.version - a.version);
    return Promise.resolve(clone(versions[0]));
  }

  listFeatureViews(): Promise<FeatureViewDefinition[]> {
    const all = [...this.views.values()].sort((a, b) =>
      nameKey(a.name) === nameKey(b.name) ? a.version - b.version : nameKey(a.name) < nameKey(b.name) ? -1 : 1,
    );
    return Promise.resolve(all.map((v) => structuredClone(v)));
  }

  deleteFeatureView(name: string, version: number): Promise<void> {
    this.views.delete(groupId(name, version));
    for (const [id, d] of this.datasets) if (nameKey(d.view) === nameKey(name) && d.viewVersion === version) this.datasets.delete(id);
    return Promise.resolve();
  }

  putTrainingDataset(record: TrainingDatasetRecord): Promise<void> {
    this.datasets.set(`${groupId(record.view, record.viewVersion)}\u0000${record.version}`, structuredClone(record));
    return Promise.resolve();
  }

  listTrainingDatasets(view: string, viewVersion: number): Promise<TrainingDatasetRecord[]> {
    const list = [...this.datasets.values()]
      .filter((d) => nameKey(d.view) === nameKey(view) && d.viewVersion === viewVersion)
      .sort((a, b) => a.version - b.version);
    return Promise.resolve(list.map((d) => structuredClone(d)));
  }

  putRun(run: RunRecord): Promise<void> {
    this.runs.set(run.id, structuredClone(run));
    return Promise.resolve();
  }

  getRun(id: string): Promise<RunRecord | undefined> {
    return Promise.resolve(clone(this.runs.get(id)));
  }

  listRuns(model?: string): Promise<RunRecord[]> {
    const list = [...this.runs.values()]
      .filter((r) => model === undefined || nameKey(r.model) === nameKey(model))
      .sort(byStart);
    return Promise.resolve(list.map((r) => structuredClone(r)));
  }

  registerModel(
    record: Omit<ModelVersionRecord, 'version' | 'artifact'> & { artifact: Omit<ModelVersionRecord['artifact'], 'chunks' | 'bytes'> },
    weightData: ArrayBuffer,
  ): Promise<ModelVersionRecord> {
    const key = nameKey(record.name);
    const version = (this.lastVersions.get(key) ?? 0) + 1;
    const chunks = weightChunks(weightData);
    const stored: ModelVersionRecord = structuredClone({ ...record, version, artifact: { ...record.artifact, bytes: weightData.byteLength, chunks: chunks.length } });
    this.lastVersions.set(key, version);
    this.models.set(groupId(record.name, version), stored);
    this.chunks.set(groupId(record.name, version), chunks);
    return Promise.resolve(structuredClone(stored));
  }

  getModel(name: string, version?: number): Promise<ModelVersionRecord | undefined> {
    if (version !== undefined) return Promise.resolve(clone(this.models.get(groupId(name, version))));
    const versions = [...this.models.values()].filter((m) => nameKey(m.name) === nameKey(name)).sort((a, b) => b.version - a.version);
    return Promise.resolve(clone(versions[0]));
  }

  listModels(name?: string): Promise<ModelVersionRecord[]> {
    const list = [...this.models.values()]
      .filter((m) => name === undefined || nameKey(m.name) === nameKey(name))
      .sort((a, b) => (nameKey(a.name) === nameKey(b.name) ? a.version - b.version : nameKey(a.name) < nameKey(b.name) ? -1 : 1));
    return Promise.resolve(list.map((m) => structuredClone(m)));
  }

  async readWeights(name: string, version: number): Promise<ArrayBuffer> {
    const record = this.models.get(groupId(name, version));
    if (record === undefined) throw new NotFoundError(`Model ${name} has no version ${version}.`);
    return Promise.resolve(joinChunks(this.chunks.get(groupId(name, version)) ?? [], record));
  }

  async deleteModel(name: string, version: number): Promise<void> {
    assertUnaliased(name, version, await this.listAliases(name));
    this.models.delete(groupId(name, version));
    this.chunks.delete(groupId(name, version));
  }

  async setAlias(name: string, alias: string, version: number | null, reason: string, kind: AliasMoveKind = 'set'): Promise<AliasChange> {
    await Promise.resolve(); // errors below reject the promise, as with IndexedDB
    const id = `${nameKey(name)}\u0000${nameKey(validateAlias(alias))}`;
    const target = version === null ? undefined : this.models.get(groupId(name, version));
    if (version !== null && target === undefined) throw new NotFoundError(`Model ${name} has no version ${version}.`);
    const change: AliasChange = { name, alias, at: Date.now(), from: this.aliases.get(id)?.version ?? null, to: version, reason, featureView: lineageView(target), kind };
    if (version === null) this.aliases.delete(id);
    else this.aliases.set(id, { name, alias, version, updatedAt: change.at });
    this.history.push(structuredClone(change));
    return change;
  }

  getAlias(name: string, alias: string): Promise<AliasRecord | undefined> {
    return Promise.resolve(clone(this.aliases.get(`${nameKey(name)}\u0000${nameKey(alias)}`)));
  }

  listAliases(name: string): Promise<AliasRecord[]> {
    const list = [...this.aliases.values()].filter((a) => nameKey(a.name) === nameKey(name)).sort((a, b) => (nameKey(a.alias) < nameKey(b.alias) ? -1 : 1));
    return Promise.resolve(list.map((a) => structuredClone(a)));
  }

  aliasHistory(name: string): Promise<AliasChange[]> {
    return Promise.resolve(this.history.filter((c) => nameKey(c.name) === nameKey(name)).map((c) => structuredClone(c)));
  }

  putPipeline(definition: PipelineDefinition): Promise<void> {
    this.pipelines.set(nameKey(definition.name), structuredClone(definition));
    return Promise.resolve();
  }

  getPipeline(name: string): Promise<PipelineDefinition | undefined> {
    return Promise.resolve(clone(this.pipelines.get(nameKey(name))));
  }

  listPipelines(): Promise<PipelineDefinition[]> {
    const list = [...this.pipelines.values()].sort((a, b) => (nameKey(a.name) < nameKey(b.name) ? -1 : 1));
    return Promise.resolve(list.map((p) => structuredClone(p)));
  }

  putPipelineRun(run: PipelineRunRecord): Promise<void> {
    this.pipelineRuns.set(run.id, structuredClone(run));
    return Promise.resolve();
  }

  getPipelineRun(id: string): Promise<PipelineRunRecord | undefined> {
    return Promise.resolve(clone(this.pipelineRuns.get(id)));
  }

  listPipelineRuns(pipeline?: string): Promise<PipelineRunRecord[]> {
    const list = [...this.pipelineRuns.values()]
      .filter((r) => pipeline === undefined || nameKey(r.pipeline) === nameKey(pipeline))
      .sort(byStart);
    return Promise.resolve(list.map((r) => structuredClone(r)));
  }

  dump(): Promise<RegistryDump> {
    const values = <T>(map: Map<unknown, T>): T[] => [...map.values()].map((v) => structuredClone(v));
    return Promise.resolve({
      featureGroups: values(this.groups),
      commits: values(this.commits).sort((a, b) => a.commitId - b.commitId),
      statistics: values(this.statistics),
      featureViews: values(this.views),
      trainingDatasets: values(this.datasets),
      runs: values(this.runs),
      models: values(this.models),
      modelNames: [...this.lastVersions].map(([name, lastVersion]) => ({ name, lastVersion })),
      aliases: values(this.aliases),
      aliasHistory: this.history.map((h) => structuredClone(h)),
      pipelines: values(this.pipelines),
      pipelineRuns: values(this.pipelineRuns),
    });
  }

  async restore(dump: RegistryDump, weights: ReadonlyMap<string, ArrayBuffer>): Promise<void> {
    await Promise.resolve(); // errors below reject the promise, as with IndexedDB
    for (const m of dump.models) {
      if (!weights.has(weightsKey(m.name, m.version))) throw new NotFoundError(`The weights of model ${m.name} v${m.version} are missing.`);
    }
    this.close();
    this.lastVersions.clear();
    this.history.length = 0;
    for (const g of dump.featureGroups) this.groups.set(groupId(g.name, g.version), structuredClone(g));
    for (const c of dump.commits) this.commits.set(c.commitId, structuredClone(c));
    for (const s of dump.statistics) this.statistics.set(`${groupId(s.group, s.version)}\u0000${s.commitId}`, structuredClone(s));
    for (const v of dump.featureViews) this.views.set(groupId(v.name, v.version), structuredClone(v));
    for (const d of dump.trainingDatasets) this.datasets.set(`${groupId(d.view, d.viewVersion)}\u0000${d.version}`, structuredClone(d));
    for (const r of dump.runs) this.runs.set(r.id, structuredClone(r));
    for (const m of dump.models) {
      this.models.set(groupId(m.name, m.version), structuredClone(m));
      this.chunks.set(groupId(m.name, m.version), weightChunks(weights.get(weightsKey(m.name, m.version))!));
    }
    for (const n of dump.modelNames) this.lastVersions.set(nameKey(n.name), n.lastVersion);
    for (const a of dump.aliases) this.aliases.set(`${nameKey(a.name)}\u0000${nameKey(a.alias)}`, structuredClone(a));
    for (const h of dump.aliasHistory) this.history.push(structuredClone(h));
    for (const p of dump.pipelines) this.pipelines.set(nameKey(p.name), structuredClone(p));
    for (const r of dump.pipelineRuns) this.pipelineRuns.set(r.id, structuredClone(r));
  }

  close(): void {
    this.pipelines.clear();
    this.pipelineRuns.clear();
    this.runs.clear();
    this.models.clear();
    this.chunks.clear();
    this.aliases.clear();
    this.views.clear();
    this.datasets.clear();
    this.groups.clear();
    this.commits.clear();
    this.statistics.clear();
  }
}

function clone<T>(value: T | undefined): T | undefined {
  return value === undefined ? undefined : structuredClone(value);
}
