import type { FeatureGroupDefinition } from '../definitions/feature-group.ts';
import type { FeatureViewDefinition } from '../definitions/feature-view.ts';
import type { FeatureType } from '../definitions/types.ts';
import { InvalidArgumentError } from '../errors.ts';
import type { TrainingDatasetRecord } from '../registry/types.ts';
import { applyTransformsToRow } from '../transforms/model-dependent.ts';
import type { OnDemandRegistry } from '../transforms/on-demand.ts';
import type { EntityKey, OnlineRecord, OnlineStore } from './indexeddb.ts';
import { encodeEntityKey } from './keys.ts';

/**
 * What an online value is: `present` (a stored value within the group's TTL), `null` (the stored row has null
 * there), `not_found` (no row for the entity), `expired` (the latest row is older than the TTL: its value is not
 * returned). On-demand features are `present` or `null` from their result; passed values are `passed`.
 */
export type FeatureStatus = 'present' | 'null' | 'not_found' | 'expired' | 'passed';

/** An online feature vector: the view's features (and on-demand features) in view order. */
export interface FeatureVector {
  names: string[];
  values: unknown[];
  statuses: FeatureStatus[];
}

/** One group's latest row for an entity, as `fg.getOnline` returns it. */
export interface OnlineRow {
  /** The row's values by column (keys and event time included), or null when not found or expired. */
  values: Record<string, unknown> | null;
  status: 'present' | 'not_found' | 'expired';
  /** Event time of the stored row (ms since the epoch), also when expired. */
  eventTime: number | null;
  commitId: number | null;
}

/** Options of a vector read. */
export interface VectorOptions {
  /** Request fields of the view's on-demand features. */
  requestData?: Record<string, unknown>;
  /** Values to use instead of stored ones, by feature name (status `passed`). */
  passed?: Record<string, unknown>;
  /** Apply a training dataset's fitted transformations: its version. */
  trainingDataset?: TrainingDatasetRecord | null;
}

const groupKeyOf = (name: string, version: number): string => `${name.toLowerCase()}@${version}`;

function keyColumns(group: FeatureGroupDefinition): { name: string; type: FeatureType }[] {
  return group.primaryKey.map((k) => ({ name: k, type: group.features.find((f) => f.name === k)!.type }));
}

/** A stored row's values by column name (records keep them in the group's column order). */
export function recordValues(record: OnlineRecord, group: FeatureGroupDefinition): Record<string, unknown> {
  return Object.fromEntries(group.features.map((f, i) => [f.name, record.v[i] ?? null]));
}

const columnIndexes = new WeakMap<FeatureGroupDefinition, Map<string, number>>();

/** Where a column's value is in a group's records. */
function columnIndex(group: FeatureGroupDefinition, column: string): number {
  let indexes = columnIndexes.get(group);
  if (indexes === undefined) {
    indexes = new Map(group.features.map((f, i) => [f.name, i]));
    columnIndexes.set(group, indexes);
  }
  return indexes.get(column) ?? -1;
}

/** Whether a stored row is outside the group's TTL at `nowMs` (an event exactly `ttl` old is still valid). */
function expired(record: OnlineRecord, group: FeatureGroupDefinition, nowMs: number): boolean {
  return group.ttlSeconds !== null && record.t < nowMs * 1000 - group.ttlSeconds * 1e6;
}

/** One group's rows for entities, in one transaction. */
export async function readGroupRows(store: OnlineStore, group: FeatureGroupDefinition, entities: readonly Record<string, unknown>[], nowMs: number): Promise<OnlineRow[]> {
  const columns = keyColumns(group);
  const keys = entities.map((e) => encodeEntityKey(e, columns));
  const gk = groupKeyOf(group.name, group.version);
  const [found = []] = await store.read([() => keys.map((k) => [gk, k] as const)]);
  return keys.map((_, i) => {
    const record = found[i];
    if (record === undefined) return { values: null, status: 'not_found', eventTime: null, commitId: null };
    const late = expired(record, group, nowMs);
    return { values: late ? null : recordValues(record, group), status: late ? 'expired' : 'present', eventTime: record.t / 1000, commitId: record.c };
  });
}

/**
 * Feature vectors of a view for entities, read in one IndexedDB transaction: the left group by the entity's key,
 * each joined group by its spine columns (from the entity, or else from the left group's row), then on-demand
 * features and, if asked, a training dataset's transformations — the same code as training rows.
 */
export async function readVectors(
  store: OnlineStore,
  view: FeatureViewDefinition,
  groups: ReadonlyMap<string, FeatureGroupDefinition>,
  onDemand: OnDemandRegistry | null,
  entities: readonly Record<string, unknown>[],
  options: VectorOptions,
  nowMs: number,
): Promise<FeatureVector[]> {
  const groupOf = (name: string, version: number): FeatureGroupDefinition => {
    const g = groups.get(groupKeyOf(name, version));
    if (g === undefined) throw new InvalidArgumentError(`Feature group ${name} v${version} of view ${view.name} is unknown here.`);
    return g;
  };
  const left = groupOf(view.spine.group, view.spine.version);
  const leftColumns = keyColumns(left);
  // The spine columns a join needs, from the entity when it has them all, or else from the left group's row.
  const joinKey = (entity: Record<string, unknown>, joinIndex: number, leftRecord: OnlineRecord | undefined): EntityKey | null => {
    const join = view.joins[joinIndex]!;
    const group = groupOf(join.group, join.version);
    // The left row is not there for the join when it is missing or expired (as its values would not be).
    const leftRow = leftRecord === undefined || expired(leftRecord, left, nowMs) ? undefined : recordValues(leftRecord, left);
    const source = join.spineKeys.every((k) => k in entity) ? entity : leftRow;
    if (source === undefined || join.spineKeys.some((k) => source[k] === null || source[k] === undefined)) return null;
    const types = keyColumns(group).map((c) => c.type);
    return encodeEntityKey(source, join.spineKeys.map((k, i) => ({ name: k, type: types[i]! })));
  };
  const direct = view.joins.map((j, i) => i === 0 || j.spineKeys.every((k) => entities.every((e) => k in e)));
  const leftKeys = entities.map((e) => encodeEntityKey(e, leftColumns));
  const targets = (wanted: (joinIndex: number) => boolean, leftFound: readonly (OnlineRecord | undefined)[] | null) =>
    entities.flatMap((entity, e) =>
      view.joins.map((j, i) => {
        if (!wanted(i)) return null;
        const key = i === 0 ? leftKeys[e]! : joinKey(entity, i, leftFound?.[e * view.joins.length]);
        return key === null ? null : ([groupKeyOf(j.group, j.version), key] as const);
      }),
    );
  const [first = [], second = []] = await store.read([
    () => targets((i) => direct[i]!, null),
    (found) => targets((i) => !direct[i]!, found[0]!),
  ]);
  const record = (e: number, i: number): OnlineRecord | undefined => (direct[i] ? first : second)[e * view.joins.length + i];

  const passed = options.passed ?? {};
  const fitted = options.trainingDataset?.transforms ?? null;
  return entities.map((entity, e) => {
    const names: string[] = [];
    const values: unknown[] = [];
    const statuses: FeatureStatus[] = [];
    const row: Record<string, unknown> = {};
    for (const f of view.features) {
      names.push(f.name);
      if (f.name in passed) {
        values.push(passed[f.name]);
        statuses.push('passed');
      } else {
        const r = record(e, f.join);
        const group = groupOf(f.group, f.version);
        if (r === undefined) {
          values.push(null);
          statuses.push('not_found');
        } else if (expired(r, group, nowMs)) {
          values.push(null);
          statuses.push('expired');
        } else {
          const v = r.v[columnIndex(group, f.column)] ?? null;
          values.push(v);
          statuses.push(v === null ? 'null' : 'present');
        }
      }
      row[f.name] = values[values.length - 1];
    }
    if (view.onDemand.length > 0) {
      if (onDemand === null) throw new InvalidArgumentError(`Feature view ${view.name} has on-demand features: register their functions where you read vectors.`);
      // Inputs an on-demand function may read besides features: spine keys and event time (now), labels are absent online.
      for (const k of view.spine.keys) row[k] = entity[k];
      row[view.spine.eventTime] = nowMs;
      const request = options.requestData ?? {};
      for (const field of view.request) {
        if (!(field.name in request)) throw new InvalidArgumentError(`Feature view ${view.name} needs request field '${field.name}' (${field.type}) in requestData.`);
      }
      for (const reference of view.onDemand) {
        const feature = onDemand.get(reference.name);
        const args: Record<string, unknown> = {};
        for (const input of reference.inputs) args[input] = row[input] ?? null;
        for (const field of Object.keys(reference.request ?? {})) args[field] = request[field] ?? null;
        const value = reference.name in passed ? passed[reference.name] : (feature.fn(args) ?? null);
        names.push(reference.name);
        values.push(value);
        statuses.push(reference.name in passed ? 'passed' : value === null ? 'null' : 'present');
        row[reference.name] = value;
      }
    }
    if (fitted !== null) {
      const transformed = applyTransformsToRow(fitted, row);
      const out: FeatureVector = { names: [], values: [], statuses: [] };
      names.forEach((name, i) => {
        const produced = fitted.transforms.find((t) => t.kind === 'oneHotEncoder' && t.column === name) as { outputColumns?: string[] } | undefined;
        for (const n of produced?.outputColumns ?? [name]) {
          out.names.push(n);
          out.values.push(n in transformed ? transformed[n] : values[i]);
          out.statuses.push(statuses[i]!);
        }
      });
      return out;
    }
    return { names, values, statuses };
  });
}
