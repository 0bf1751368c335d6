// Charts with Observable Plot, made to live under the demo's Content-Security-Policy (`style-src 'self'`): Plot puts
// a <style> element inside each SVG, which that policy refuses. It is removed before the chart reaches the document;
// style.css carries the equivalent rules for the `chart` class.
import * as Plot from '@observablehq/plot';

export type ChartOptions = Plot.PlotOptions;

export function chart(options: ChartOptions, label: string): SVGSVGElement | HTMLElement {
  const node = Plot.plot({ ...options, className: 'chart' });
  for (const style of node.querySelectorAll('style')) style.remove();
  node.setAttribute('role', 'img');
  node.setAttribute('aria-label', label);
  return node;
}

export interface Point {
  x: number;
  y: number;
  series: string;
}

/** Lines per series, with dots and a text label at each line's end (readable without colour). */
export function lines(points: readonly Point[], options: { x: string; y: string; label: string; width?: number; height?: number }): SVGSVGElement | HTMLElement {
  const names = [...new Set(points.map((p) => p.series))];
  const last = new Map<string, Point>();
  for (const p of points) last.set(p.series, p);
  return chart({
    width: options.width ?? 560,
    height: options.height ?? 220,
    marginRight: 90,
    x: { label: options.x },
    y: { label: options.y, grid: true },
    marks: [
      ...names.map((name, k) => Plot.line(points.filter((p) => p.series === name), { x: 'x', y: 'y', stroke: 'series', strokeDasharray: DASHES[k % DASHES.length] })),
      Plot.dot(points, { x: 'x', y: 'y', stroke: 'series', symbol: 'series', r: 2.5 }),
      Plot.text([...last.values()], { x: 'x', y: 'y', text: 'series', dx: 6, textAnchor: 'start' }),
    ],
  }, options.label);
}

/** Each series its own dash pattern (and dot symbol), so lines are told apart without colour. */
const DASHES = ['none', '6,3', '2,2', '8,2,2,2'];

/** A histogram from equal-width bins, each bar titled with its range and count. */
export function histogram(
  edges: readonly number[],
  counts: readonly number[],
  format: (value: number) => string,
  label: string,
): SVGSVGElement | HTMLElement {
  const bins = counts.map((count, i) => ({ x1: edges[i]!, x2: edges[i + 1]!, count, title: `${format(edges[i]!)} – ${format(edges[i + 1]!)}: ${count}` }));
  const node = chart({
    width: 140, height: 36, margin: 1, axis: null,
    x: { domain: [edges[0]!, edges[edges.length - 1]!] },
    marks: [Plot.rectY(bins, { x1: 'x1', x2: 'x2', y: 'count', title: 'title', inset: 0.5 })],
  }, label);
  node.classList.add('histogram');
  return node;
}

/** Horizontal bars with their values written next to them. */
export function bars(data: readonly { name: string; value: number }[], label: string, x: string): SVGSVGElement | HTMLElement {
  return chart({
    width: 560, height: 40 + data.length * 22, marginLeft: 170, marginRight: 60,
    x: { label: x, grid: true },
    y: { label: null },
    marks: [
      Plot.barX(data, { x: 'value', y: 'name', sort: { y: 'x', reverse: true } }),
      Plot.text(data, { x: 'value', y: 'name', text: (d: { value: number }) => d.value.toFixed(3), dx: 4, textAnchor: 'start' }),
    ],
  }, label);
}
