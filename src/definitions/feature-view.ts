import { InvalidArgumentError, NotFoundError } from '../errors.ts';
import type { FeatureGroupDefinition } from './feature-group.ts';
import { deepFreeze, validateVersion } from './feature-group.ts';
import { assertUniqueNames, nameKey, validateName } from './names.ts';
import type { FeatureType } from './types.ts';
import { validateTransformSpecs, type TransformSpec } from '../transforms/model-dependent.ts';
import type { OnDemandReference } from '../transforms/on-demand.ts';

/** Features selected from one pinned feature-group version. */
export interface SelectSpec {
  group: string;
  version: number;
  features: string[];
}

/** A joined selection: matched on `on` columns (default: the joined group's primary key), output names prefixed. */
export interface JoinSpec {
  select: SelectSpec;
  on: string[] | null;
  prefix: string;
}

/** The serialisable form of a {@link Query}. */
export interface QuerySpec {
  left: SelectSpec;
  joins: JoinSpec[];
}

/**
 * Which features a feature view reads: a selection from the left group (whose rows are the spine by default) joined
 * with selections from other groups. Build one with `fg.select([...])` and `.join(...)`; it pins group versions.
 *
 * @example
 * ```ts
 * const query = weather.select(['temp_max', 'precipitation']).join(air.select(['pm25']), { on: ['city'], prefix: 'air_' });
 * ```
 */
export class Query {
  constructor(readonly spec: QuerySpec) {}

  /** Adds the features of another query's left selection, matched point-in-time on `on` (default its primary key). */
  join(other: Query, options: { on?: string[]; prefix?: string } = {}): Query {
    if (!(other instanceof Query)) throw new InvalidArgumentError('join() takes a query made with fg.select([...]).');
    if (other.spec.joins.length > 0) throw new InvalidArgumentError('Join a plain selection (fg.select([...])), not a joined query.');
    const joined: JoinSpec = { select: other.spec.left, on: options.on ?? null, prefix: options.prefix ?? '' };
    return new Query({ left: this.spec.left, joins: [...this.spec.joins, joined] });
  }
}

/** What `createFeatureView` takes. */
export interface FeatureViewSpec {
  name: string;
  version: number;
  query: Query | QuerySpec;
  /** Label columns of the left group (or, at retrieval time, of an explicit spine). */
  labels?: string[];
  /** Model-dependent transformations, fitted on the train split of each training dataset. */
  transforms?: TransformSpec[];
  /** Names of on-demand features registered in the store worker (`serveStore({ onDemand })`), computed per row. */
  onDemand?: string[];
  description?: string;
}

/** One output column of a feature view. */
export interface ViewFeature {
  /** The column name in training data. */
  readonly name: string;
  readonly type: FeatureType;
  readonly group: string;
  readonly version: number;
  /** The column in the group. */
  readonly column: string;
  /** Which of the view's joins it comes from (0: the left group); a group may be joined more than once. */
  readonly join: number;
}

/** A joined group as stored in the view: which spine columns match which group keys. */
export interface ViewJoin {
  readonly group: string;
  readonly version: number;
  /** Spine (left group) columns, in the order of the joined group's primary key. */
  readonly spineKeys: readonly string[];
}

/** The immutable definition of a feature view version. */
export interface FeatureViewDefinition {
  readonly name: string;
  readonly version: number;
  readonly query: QuerySpec;
  /** The left group: its primary key and event time are the spine's. */
  readonly spine: { readonly group: string; readonly version: number; readonly keys: readonly string[]; readonly eventTime: string };
  /** Every group of the view, left first, with its key mapping. */
  readonly joins: readonly ViewJoin[];
  readonly features: readonly ViewFeature[];
  readonly labels: readonly { readonly name: string; readonly type: FeatureType }[];
  readonly transforms: readonly TransformSpec[];
  /** On-demand features, computed after the join, with the hash of the function each was defined with. */
  readonly onDemand: readonly OnDemandReference[];
  /** Request fields the on-demand features read (not view columns: supplied with each request or spine row). */
  readonly request: readonly { readonly name: string; readonly type: FeatureType }[];
  readonly description: string;
  readonly createdAt: number;
}

type GroupResolver = (name: string, version: number) => FeatureGroupDefinition | undefined;

function column(group: FeatureGroupDefinition, name: string, what: string) {
  const found = group.features.find((f) => nameKey(f.name) === nameKey(name));
  if (found === undefined) {
    throw new InvalidArgumentError(`${what} '${name}' is not a column of ${group.name} v${group.version}.`);
  }
  return found;
}

function checkSelect(select: SelectSpec, resolve: GroupResolver): FeatureGroupDefinition {
  validateName(select.group, 'feature group');
  validateVersion(select.version, 'feature group version');
  const group = resolve(select.group, select.version);
  if (group === undefined) throw new NotFoundError(`Feature group ${select.group} v${select.version} does not exist.`);
  if (!Array.isArray(select.features) || select.features.length === 0) {
    throw new InvalidArgumentError(`Select at least one feature of ${group.name} v${group.version}.`);
  }
  return group;
}

/** Validates a feature view spec against the groups it names and returns its frozen definition. Pure. */
export function normalizeFeatureView(
  spec: FeatureViewSpec,
  resolve: GroupResolver,
  createdAt: number,
  onDemand: readonly OnDemandReference[] = [],
): FeatureViewDefinition {
  if (typeof spec !== 'object' || spec === null) throw new InvalidArgumentError('createFeatureView needs a spec object.');
  const name = validateName(spec.name, 'feature view');
  const version = validateVersion(spec.version);
  const query: QuerySpec = spec.query instanceof Query ? spec.query.spec : spec.query;
  if (typeof query !== 'object' || query === null || typeof query.left !== 'object' || query.left === null) {
    throw new InvalidArgumentError('query must be made with fg.select([...]).join(...).');
  }
  const left = checkSelect(query.left, resolve);
  const features: ViewFeature[] = [];
  const joins: ViewJoin[] = [{ group: left.name, version: left.version, spineKeys: [...left.primaryKey] }];
  const reserved = new Set([...left.primaryKey, left.eventTime].map(nameKey));
  const addFeatures = (group: FeatureGroupDefinition, select: SelectSpec, prefix: string, join: number): void => {
    for (const f of select.features) {
      const c = column(group, f, 'Feature');
      const outName = validateName(`${prefix}${c.name}`, 'feature view column');
      features.push({ name: outName, type: c.type, group: group.name, version: group.version, column: c.name, join });
    }
  };
  addFeatures(left, query.left, '', 0);
  for (const joinSpec of query.joins ?? []) {
    const group = checkSelect(joinSpec.select, resolve);
    const prefix = joinSpec.prefix ?? '';
    if (prefix !== '' && !/^[A-Za-z][A-Za-z0-9_]*$/.test(prefix)) throw new InvalidArgumentError(`prefix '${prefix}' must be letters, digits and underscores.`);
    const on = joinSpec.on ?? [...group.primaryKey];
    if (on.length !== group.primaryKey.length) {
      throw new InvalidArgumentError(
        `Join ${group.name} v${group.version} on its whole primary key (${group.primaryKey.join(', ')}); got on: [${on.join(', ')}].`,
      );
    }
    const spineKeys = on.map((k, i) => {
      const spineColumn = column(left, k, 'Join key');
      const groupKey = group.features.find((f) => nameKey(f.name) === nameKey(group.primaryKey[i]!))!;
      if (spineColumn.type !== groupKey.type) {
        throw new InvalidArgumentError(`Join key '${spineColumn.name}' is ${spineColumn.type} but ${group.name}.${groupKey.name} is ${groupKey.type}.`);
      }
      return spineColumn.name;
    });
    joins.push({ group: group.name, version: group.version, spineKeys });
    addFeatures(group, joinSpec.select, prefix, joins.length - 1);
  }
  const labels = (spec.labels ?? []).map((l) => {
    const c = column(left, l, 'Label');
    return { name: c.name, type: c.type };
  });
  const outputs = [...left.primaryKey, left.eventTime, ...features.map((f) => f.name), ...labels.map((l) => l.name)];
  const request = new Map<string, { name: string; type: FeatureType }>();
  for (const od of onDemand) {
    for (const input of od.inputs) {
      if (!outputs.some((o) => nameKey(o) === nameKey(input))) {
        throw new InvalidArgumentError(`On-demand feature '${od.name}' reads '${input}', which is not a column of the view.`);
      }
    }
    for (const [field, type] of Object.entries(od.request ?? {})) {
      if (outputs.some((o) => nameKey(o) === nameKey(field)) || onDemand.some((o) => nameKey(o.name) === nameKey(field))) {
        throw new InvalidArgumentError(`Request field '${field}' of on-demand feature '${od.name}' is also a column of the view; read it as an input.`);
      }
      const known = request.get(nameKey(field));
      if (known !== undefined && known.type !== type) {
        throw new InvalidArgumentError(`Request field '${field}' is ${known.type} in one on-demand feature and ${type} in '${od.name}'.`);
      }
      request.set(nameKey(field), { name: known?.name ?? field, type });
    }
  }
  outputs.push(...onDemand.map((od) => od.name));
  for (const f of features) {
    if (reserved.has(nameKey(f.name))) throw new InvalidArgumentError(`Feature '${f.name}' clashes with a spine key or event time; use a prefix.`);
  }
  assertUniqueNames(outputs, 'feature view column');
  const transforms = spec.transforms ?? [];
  validateTransformSpecs(transforms);
  const transformable = new Set([...features.map((f) => nameKey(f.name)), ...onDemand.map((od) => nameKey(od.name))]);
  for (const t of transforms) {
    if (!transformable.has(nameKey(t.column))) {
      throw new InvalidArgumentError(`Transformation '${t.kind}' reads '${t.column}', which is not a feature or on-demand feature of the view.`);
    }
  }
  if (spec.description !== undefined && typeof spec.description !== 'string') throw new InvalidArgumentError('description must be a string.');
  return deepFreeze({
    name,
    version,
    query: structuredClone(query),
    spine: { group: left.name, version: left.version, keys: [...left.primaryKey], eventTime: left.eventTime },
    joins,
    features,
    labels,
    transforms: structuredClone(transforms),
    onDemand: structuredClone([...onDemand]),
    request: [...request.values()],
    description: spec.description ?? '',
    createdAt,
  });
}

/** Whether two view definitions are the same version (ignoring creation time). */
export function sameView(a: FeatureViewDefinition, b: FeatureViewDefinition): boolean {
  return JSON.stringify({ ...a, createdAt: 0 }) === JSON.stringify({ ...b, createdAt: 0 });
}
