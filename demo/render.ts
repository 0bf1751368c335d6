// DOM rendering of what the store returns: schema, commits, rows and statistics. Text goes in as text nodes only.
import type {
  ColumnStatistics, CommitRecord, Feature, FeatureGroup, FeatureGroupDefinition, FeatureGroupStatistics,
  ValidationReport,
} from '../src/index.ts';
import { histogram } from './charts.ts';
import { el } from './dom.ts';
import {
  describeExpectation, formatCell, formatCommitTime, formatSpread, formatStatistic,
} from './format.ts';

/** What `FeatureGroup.read()` resolves to (an Arrow table). */
export type Rows = Awaited<ReturnType<FeatureGroup['read']>>;

function body(table: HTMLTableElement): HTMLTableSectionElement {
  return table.tBodies[0] ?? table.createTBody();
}

function roleOf(feature: Feature, definition: FeatureGroupDefinition): string {
  if (definition.primaryKey.includes(feature.name)) return 'primary key';
  return feature.name === definition.eventTime ? 'event time' : 'feature';
}

/** The group's columns: name, type, role, nullability. */
export function renderSchema(table: HTMLTableElement, definition: FeatureGroupDefinition): void {
  body(table).replaceChildren(
    ...definition.features.map((f) =>
      el('tr', { 'data-column': f.name },
        el('td', {}, el('code', {}, f.name)),
        el('td', {}, f.type),
        el('td', {}, roleOf(f, definition)),
        el('td', {}, f.nullable ? 'yes' : 'no'),
      ),
    ),
  );
}

function validationCell(report: ValidationReport | null): HTMLTableCellElement {
  if (report === null) return el('td', {}, '–');
  const failed = report.results.filter((r) => !r.success).length;
  const summary = report.success
    ? `✓ ${report.results.length} passed`
    : `✗ ${failed} of ${report.results.length} failed (${report.policy})`;
  const items = report.results.map((r) =>
    el('li', { class: r.success ? 'pass' : 'fail' },
      `${r.success ? '✓' : '✗'} ${describeExpectation(r.expectation)}`,
      r.success ? '' : ` — ${r.unexpectedCount} unexpected`,
    ),
  );
  return el('td', { 'data-field': 'validation', 'data-success': String(report.success) },
    el('details', {}, el('summary', {}, summary), el('ul', {}, ...items)),
  );
}

/** The commit ledger, oldest first. */
export function renderCommits(table: HTMLTableElement, commits: readonly CommitRecord[]): void {
  const rows = commits.map((c) =>
    el('tr', { 'data-testid': 'commit', 'data-commit-id': String(c.commitId) },
      el('td', { 'data-field': 'id' }, String(c.commitId)),
      el('td', { 'data-field': 'kind' }, c.kind),
      el('td', { 'data-field': 'rows', class: 'number' }, String(c.rowCount)),
      el('td', { 'data-field': 'time' }, formatCommitTime(c.committedAt)),
      el('td', { 'data-field': 'batch' }, c.batchId ?? '–'),
      validationCell(c.validation),
    ),
  );
  if (rows.length === 0) rows.push(el('tr', {}, el('td', { colspan: '6', class: 'muted' }, 'no commits yet')));
  body(table).replaceChildren(...rows);
}

/** An Arrow table of feature rows, formatted by the group's column types. */
export function renderRows(table: HTMLTableElement, rows: Rows, definition: FeatureGroupDefinition): void {
  const features = definition.features.filter((f) => rows.getChild(f.name) !== null);
  const head = table.tHead ?? table.createTHead();
  head.replaceChildren(el('tr', {}, ...features.map((f) => el('th', isNumeric(f) ? { class: 'number' } : {}, f.name))));
  const columns = features.map((f) => ({ feature: f, vector: rows.getChild(f.name)! }));
  const lines: HTMLTableRowElement[] = [];
  for (let i = 0; i < rows.numRows; i++) {
    lines.push(
      el('tr', {},
        ...columns.map(({ feature, vector }) =>
          el('td', { 'data-column': feature.name, ...(isNumeric(feature) ? { class: 'number' } : {}) },
            formatCell(vector.get(i), feature.type),
          ),
        ),
      ),
    );
  }
  body(table).replaceChildren(...lines);
}

function isNumeric(feature: Feature): boolean {
  return ['int32', 'int64', 'float32', 'float64'].includes(feature.type);
}

const STATISTICS = ['count', 'nulls', 'distinct', 'min', 'max', 'mean', 'std', 'p05', 'p25', 'p50', 'p75', 'p95'] as const;

function statisticsCells(feature: Feature, s: ColumnStatistics): HTMLTableCellElement[] {
  const value = (v: number | string | boolean | null | undefined): string => formatStatistic(v ?? null, feature.type);
  const texts: Record<(typeof STATISTICS)[number], string> = {
    count: String(s.count),
    nulls: String(s.nulls),
    distinct: String(s.distinct),
    min: value(s.min),
    max: value(s.max),
    mean: value(s.mean),
    std: formatSpread(s.std, feature.type),
    p05: value(s.quantiles?.p05),
    p25: value(s.quantiles?.p25),
    p50: value(s.quantiles?.p50),
    p75: value(s.quantiles?.p75),
    p95: value(s.quantiles?.p95),
  };
  return STATISTICS.map((name) => el('td', { 'data-stat': name, class: 'number' }, texts[name]));
}

/** Equal-width bins as a small Observable Plot chart, each bar titled with its range and count. */
function histogramOf(feature: Feature, bins: NonNullable<ColumnStatistics['histogram']>): SVGSVGElement | HTMLElement {
  const first = formatStatistic(bins.edges[0] ?? null, feature.type);
  const last = formatStatistic(bins.edges[bins.edges.length - 1] ?? null, feature.type);
  return histogram(bins.edges, bins.counts, (v) => formatStatistic(v, feature.type), `histogram of ${feature.name} from ${first} to ${last}`);
}

/** One row per column: the summary numbers and, for numbers and instants, a histogram. */
export function renderStatistics(table: HTMLTableElement, definition: FeatureGroupDefinition, statistics: FeatureGroupStatistics): void {
  const head = table.tHead ?? table.createTHead();
  head.replaceChildren(
    el('tr', {},
      el('th', {}, 'column'), el('th', {}, 'histogram'),
      ...STATISTICS.map((n) => el('th', { class: 'number' }, n)),
    ),
  );
  const rows = definition.features.flatMap((feature) => {
    const s = statistics.columns[feature.name];
    if (s === undefined) return [];
    return [
      el('tr', { 'data-column': feature.name },
        el('th', { scope: 'row', title: feature.type }, el('code', {}, feature.name)),
        el('td', { 'data-stat': 'histogram' }, ...(s.histogram === null ? [] : [histogramOf(feature, s.histogram)])),
        ...statisticsCells(feature, s),
      ),
    ];
  });
  body(table).replaceChildren(...rows);
  table.createCaption().textContent = `${statistics.rowCount} current rows as of commit ${statistics.commitId}`;
}
