import { describe, expect, it } from 'vitest';
import { makeVector, tableFromArrays, vectorFromArray, Table, Bool, Utf8 } from 'apache-arrow';
import { numeric, trainingMatrix } from '../../src/models/matrix.ts';
import { normalizeModelSpec } from '../../src/models/spec.ts';
import { InvalidArgumentError } from '../../src/errors.ts';

const regression = normalizeModelSpec({ task: 'regression', layers: [] });
const binary = normalizeModelSpec({ task: 'binary', layers: [] });
const multiclass = normalizeModelSpec({ task: 'multiclass', classes: 3, layers: [] });

describe('trainingMatrix', () => {
  it('reads features in the given order, row-major, from float, int, int64 and boolean columns', () => {
    const table = new Table({
      a: vectorFromArray([1.5, 2.5, 3.5]),
      b: vectorFromArray(new Int32Array([10, 20, 30])),
      c: vectorFromArray([7n, 8n, 9n]),
      d: vectorFromArray([true, false, true], new Bool()),
      y: vectorFromArray([0.1, 0.2, 0.3]),
    });
    const m = trainingMatrix(table, ['d', 'a', 'c', 'b'], 'y', regression);
    expect(m.rows).toBe(3);
    expect(Array.from(m.x)).toEqual([1, 1.5, 7, 10, 0, 2.5, 8, 20, 1, 3.5, 9, 30]);
    expect(Array.from(m.y)).toEqual(Array.from(new Float32Array([0.1, 0.2, 0.3])));
  });

  it('one-hot encodes multiclass targets and keeps binary ones as 0/1', () => {
    const table = tableFromArrays({ a: new Float64Array([1, 2, 3]), y: new Float64Array([2, 0, 1]) });
    expect(Array.from(trainingMatrix(table, ['a'], 'y', multiclass).y)).toEqual([0, 0, 1, 1, 0, 0, 0, 1, 0]);
    const b = tableFromArrays({ a: new Float64Array([1, 2]), y: new Float64Array([1, 0]) });
    expect(Array.from(trainingMatrix(b, ['a'], 'y', binary).y)).toEqual([1, 0]);
  });

  it('names the column and row of a missing value, a string feature or a bad label', () => {
    const withNull = new Table({ a: vectorFromArray([1, null, 3]), y: vectorFromArray([1, 2, 3]) });
    expect(() => trainingMatrix(withNull, ['a'], 'y', regression)).toThrow(/Feature 'a' is missing .* row 1; add an imputer/);
    const nan = tableFromArrays({ a: new Float64Array([1, Number.NaN]), y: new Float64Array([1, 2]) });
    expect(() => trainingMatrix(nan, ['a'], 'y', regression)).toThrow(InvalidArgumentError);
    const text = new Table({ a: vectorFromArray(['x', 'y'], new Utf8()), y: vectorFromArray([1, 2]) });
    expect(() => trainingMatrix(text, ['a'], 'y', regression)).toThrow(/labelEncoder or oneHotEncoder/);
    const t = tableFromArrays({ a: new Float64Array([1, 2]), y: new Float64Array([0, 2]) });
    expect(() => trainingMatrix(t, ['a'], 'y', binary)).toThrow(/is 2 in row 1; a binary model needs 0 or 1/);
    expect(() => trainingMatrix(t, ['a'], 'y', normalizeModelSpec({ task: 'multiclass', classes: 3, layers: [] }))).not.toThrow();
    const far = tableFromArrays({ a: new Float64Array([1]), y: new Float64Array([3]) });
    expect(() => trainingMatrix(far, ['a'], 'y', multiclass)).toThrow(/classes 0 to 2/);
    expect(() => trainingMatrix(t, ['nope'], 'y', regression)).toThrow(/no feature column 'nope'/);
    expect(() => trainingMatrix(t, ['a'], 'nope', regression)).toThrow(/no label column 'nope'/);
    expect(() => trainingMatrix(t, [], 'y', regression)).toThrow(/at least one feature/);
    const noLabel = new Table({ a: vectorFromArray([1, 2]), y: vectorFromArray([1, null]) });
    expect(() => trainingMatrix(noLabel, ['a'], 'y', regression)).toThrow(/Label 'y' is missing in row 1/);
  });
});

describe('numeric', () => {
  it('reads chunked and sliced columns, with and without nulls, value for value', () => {
    const floats = makeVector(Float64Array.from({ length: 50 }, (_, i) => i / 4)).slice(7, 43).concat(makeVector(Float64Array.of(-1, 2e300)));
    const ints = makeVector(Int32Array.from({ length: 20 }, (_, i) => i * 3 - 9)).slice(3, 17).concat(makeVector(Int32Array.of(5)).slice(0, 1));
    const withNulls = vectorFromArray([1.25, null, 3]).concat(makeVector(Float64Array.of(4, 5)).slice(1));
    expect(floats.data.length).toBe(2);
    expect(Array.from(numeric(floats, 'f'))).toEqual([...Array.from({ length: 36 }, (_, i) => (i + 7) / 4), -1, 2e300]);
    expect(Array.from(numeric(ints, 'i'))).toEqual([...Array.from({ length: 14 }, (_, i) => (i + 3) * 3 - 9), 5]);
    expect(Array.from(numeric(withNulls, 'n'))).toEqual([1.25, NaN, 3, 5]);
  });
});
