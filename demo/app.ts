// What every screen gets (the store and the page's task runner) and the few elements they all build.
import type { FeatureStore, TrainProgress } from '../src/index.ts';
import type { Point } from './charts.ts';
import { el } from './dom.ts';
import type { Report, TrainListener } from './setup.ts';

export interface TrainingState {
  what: string | null;
  points: Point[];
  last: TrainProgress | null;
  listeners: Set<() => void>;
}

export interface App {
  store: FeatureStore;
  run(label: string, task: () => Promise<void>): Promise<boolean>;
  report: Report;
  training: TrainingState;
  onTrain: TrainListener;
  isBusy(): boolean;
}

export interface Screen {
  title: string;
  render(root: HTMLElement, app: App): Promise<void>;
}

export function section(title: string, testid: string, ...children: (Node | string)[]): HTMLElement {
  const id = `${testid}-title`;
  return el('section', { 'aria-labelledby': id, 'data-testid': testid }, el('h3', { id }, title), ...children);
}

export function heading(root: HTMLElement, title: string, intro: string): void {
  root.append(el('h2', {}, title), el('p', { class: 'intro' }, intro));
}

export function button(label: string, testid: string, onClick: () => void, kind: 'plain' | 'go' | 'stop' = 'plain'): HTMLButtonElement {
  const node = el('button', { type: 'button', 'data-testid': testid, class: kind }, label);
  node.addEventListener('click', onClick);
  return node;
}

