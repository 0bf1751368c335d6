// Small DOM helpers: elements from tag, attributes and children; text goes in as text nodes only, never as HTML.

export type Child = Node | string;

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Record<string, string> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

export function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`#${id} is missing from index.html`);
  return found as T;
}

/** A table with a header row and body rows of text cells; `numeric` columns align right. */
export function table(
  headers: readonly string[],
  rows: readonly (readonly Child[])[],
  options: { testid?: string; numeric?: readonly number[]; caption?: string; rowAttributes?: (i: number) => Record<string, string> } = {},
): HTMLTableElement {
  const numeric = new Set(options.numeric ?? []);
  const cls = (j: number): Record<string, string> => (numeric.has(j) ? { class: 'number' } : {});
  const result = el('table', options.testid === undefined ? {} : { 'data-testid': options.testid },
    el('thead', {}, el('tr', {}, ...headers.map((h, j) => el('th', { scope: 'col', ...cls(j) }, h)))),
    el('tbody', {},
      ...rows.map((cells, i) =>
        el('tr', options.rowAttributes?.(i) ?? {}, ...cells.map((c, j) => el('td', { 'data-column': headers[j] ?? '', ...cls(j) }, c))),
      ),
    ),
  );
  if (options.caption !== undefined) result.createCaption().textContent = options.caption;
  return result;
}

/** A scrolling wrapper, for wide or long tables. */
export function scroll(child: Node): HTMLDivElement {
  return el('div', { class: 'scroll' }, child);
}

/** A number to `digits` decimals, or '–'. */
export function fixed(value: number | null | undefined, digits = 2): string {
  return value === null || value === undefined || !Number.isFinite(value) ? '–' : value.toFixed(digits);
}

export function isoDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

export function isoTime(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`;
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
