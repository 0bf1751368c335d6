import { describe, expect, it } from 'vitest';
import { normalizeModelSpec, outputUnits } from '../../src/models/spec.ts';
import { InvalidArgumentError } from '../../src/errors.ts';

describe('normalizeModelSpec', () => {
  it('fills in defaults per task', () => {
    const r = normalizeModelSpec({ task: 'regression', layers: [{ units: 64 }, { units: 32, activation: 'tanh', dropout: 0.1 }] });
    expect(r).toEqual({
      task: 'regression',
      layers: [{ units: 64, activation: 'relu', dropout: 0, l2: 0 }, { units: 32, activation: 'tanh', dropout: 0.1, l2: 0 }],
      classes: 1,
      optimizer: { name: 'adam', learningRate: 0.001 },
      loss: 'meanSquaredError',
      metrics: [],
      seed: 42,
    });
    expect(outputUnits(r)).toBe(1);
    const b = normalizeModelSpec({ task: 'binary', layers: [], optimizer: { name: 'sgd' } });
    expect([b.loss, b.classes, b.optimizer.learningRate, outputUnits(b)]).toEqual(['binaryCrossentropy', 2, 0.01, 1]);
    const m = normalizeModelSpec({ task: 'multiclass', classes: 3, layers: [{ units: 8 }], loss: 'categoricalCrossentropy' });
    expect([m.loss, outputUnits(m)]).toEqual(['categoricalCrossentropy', 3]);
    expect(normalizeModelSpec({ task: 'regression', layers: [], loss: 'huberLoss' }).loss).toBe('huberLoss');
  });

  it('rejects malformed specs with InvalidArgumentError', () => {
    const bad: unknown[] = [
      null, [], 'dense', {}, { task: 'clustering', layers: [] }, { task: 'regression' }, { task: 'regression', layers: {} },
      { task: 'regression', layers: [{ units: 0 }] }, { task: 'regression', layers: [{ units: 1.5 }] }, { task: 'regression', layers: [{ units: 1e6 }] },
      { task: 'regression', layers: [{ units: 4, activation: 'eval' }] }, { task: 'regression', layers: [{ units: 4, dropout: 1 }] },
      { task: 'regression', layers: [{ units: 4, l2: -1 }] }, { task: 'regression', layers: [{ units: 4, kernel: 'x' }] },
      { task: 'regression', layers: Array.from({ length: 65 }, () => ({ units: 1 })) },
      { task: 'multiclass', layers: [] }, { task: 'multiclass', classes: 2, layers: [] }, { task: 'binary', classes: 3, layers: [] },
      { task: 'regression', layers: [], loss: 'binaryCrossentropy' }, { task: 'binary', layers: [], loss: 'meanSquaredError' },
      { task: 'regression', layers: [], loss: 'rmse' }, { task: 'regression', layers: [], optimizer: { name: 'lbfgs' } },
      { task: 'regression', layers: [], optimizer: { name: 'adam', learningRate: 0 } }, { task: 'regression', layers: [], seed: 1.5 },
      { task: 'regression', layers: [], extra: true }, { task: 'regression', layers: [], metrics: ['accuracy'] },
      { task: 'binary', layers: [], metrics: ['auc'] }, { task: 'binary', layers: [], metrics: 'mae' },
    ];
    for (const spec of bad) expect(() => normalizeModelSpec(spec), JSON.stringify(spec)?.slice(0, 80)).toThrow(InvalidArgumentError);
  });
});
