import { describe, expect, it } from 'vitest';
import { inputRow, interpret, predictionValues, rollbackTarget } from '../../src/pipelines/deployment.ts';
import type { AliasChange, ModelVersionRecord } from '../../src/registry/types.ts';
import { NotFoundError } from '../../src/errors.ts';

const change = (alias: string, from: number | null, to: number | null, reason: string): AliasChange => ({ name: 'm', alias, at: 0, from, to, reason });

const record = (task: 'regression' | 'binary' | 'multiclass', classes = 1) =>
  ({ signature: { inputs: [], output: { name: 'y', task, classes } } }) as unknown as ModelVersionRecord;

describe('rollbackTarget', () => {
  it('walks back through promotions, one rollback at a time', () => {
    const history = [change('champion', null, 1, 'promote'), change('champion', 1, 2, 'promote'), change('champion', 2, 3, 'better')];
    expect(rollbackTarget(history, 'champion')).toBe(2);
    const once = [...history, change('champion', 3, 2, 'rollback')];
    expect(rollbackTarget(once, 'champion')).toBe(1);
    const twice = [...once, change('champion', 2, 1, 'rollback: bad data')];
    expect(rollbackTarget(twice, 'champion')).toBeNull();
  });

  it('keeps each alias to its own history (case-insensitively) and has nothing to go back to after one promotion', () => {
    const history = [change('champion', null, 1, 'promote'), change('Challenger', null, 5, 'promote'), change('challenger', 5, 6, 'promote')];
    expect(rollbackTarget(history, 'champion')).toBeNull();
    expect(rollbackTarget(history, 'CHALLENGER')).toBe(5);
    expect(rollbackTarget([], 'champion')).toBeNull();
  });
});

describe('interpret', () => {
  it('reads regression values, binary probabilities and multiclass argmax per row', () => {
    expect(interpret(record('regression'), new Float32Array([1.5, -2]), 1)).toEqual({ prediction: -2 });
    const binary = interpret(record('binary'), new Float32Array([0.25, 0.75]), 1);
    expect(binary).toEqual({ prediction: 0.75, probabilities: [0.25, 0.75] });
    const multi = interpret(record('multiclass', 3), new Float32Array([0.1, 0.7, 0.2, 0.5, 0.2, 0.3]), 1);
    expect(multi.prediction).toBe(0);
    expect(multi.probabilities!.map((p) => Math.round(p * 10) / 10)).toEqual([0.5, 0.2, 0.3]);
  });
});

describe('predictionValues', () => {
  it('gives the same predictions as interpret, row by row, at an offset', () => {
    const outputs = new Float32Array([0.1, 0.7, 0.2, 0.5, 0.2, 0.3, 0.3, 0.3, 0.4]);
    for (const [task, classes, rows] of [['regression', 1, 9], ['binary', 1, 9], ['multiclass', 3, 3]] as const) {
      const out = new Float64Array(rows + 2);
      predictionValues(record(task, classes), outputs, rows, out, 2);
      expect(Array.from(out.subarray(2))).toEqual(Array.from({ length: rows }, (_, i) => interpret(record(task, classes), outputs, i).prediction));
      expect(out[0]).toBe(0);
    }
  });
});

describe('inputRow', () => {
  it('writes the model inputs in signature order (booleans as 0/1) and names a missing one', () => {
    const out = new Float32Array(6);
    const vector = { names: ['b', 'a', 'flag'], values: [2, 1, true], statuses: ['present', 'present', 'present'] } as const;
    inputRow({ ...vector, names: [...vector.names], values: [...vector.values], statuses: [...vector.statuses] }, ['a', 'b', 'flag'], out, 3, {});
    expect(Array.from(out)).toEqual([0, 0, 0, 1, 2, 1]);
    expect(() => inputRow({ names: ['a'], values: [null], statuses: ['not_found'] }, ['a'], out, 0, { id: 7 })).toThrow(NotFoundError);
    expect(() => inputRow({ names: ['a'], values: [null], statuses: ['not_found'] }, ['a'], out, 0, { id: 7 })).toThrow(/'a'.*"id":7.*not_found/);
  });
});
