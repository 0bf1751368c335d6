import { describe, expect, it } from 'vitest';
import {
  ValidationError, ExpectationFailedError, LarderError, StoreLockedError, deserializeError, serializeError, ModelArtifactError,
} from '../../src/errors.ts';

describe('error serialisation', () => {
  it('rebuilds our classes with code, details and cause', () => {
    const original = new ValidationError('bad batch', {
      details: { problems: [{ column: 'x', kind: 'nan', rows: [3], count: 1, message: 'nan' }] },
      cause: new StoreLockedError('inner'),
    });
    const rebuilt = deserializeError(structuredClone(serializeError(original)));
    expect(rebuilt).toBeInstanceOf(ValidationError);
    expect(rebuilt).toBeInstanceOf(LarderError);
    const e = rebuilt as ValidationError;
    expect(e.code).toBe('VALIDATION_FAILED');
    expect(e.name).toBe('ValidationError');
    expect(e.message).toBe('bad batch');
    expect(e.details.problems[0]?.rows).toEqual([3]);
    expect(e.cause).toBeInstanceOf(StoreLockedError);
    expect((e.cause as StoreLockedError).code).toBe('STORE_LOCKED');
  });

  it('keeps foreign errors as plain errors with their name', () => {
    const rebuilt = deserializeError(serializeError(new TypeError('boom')));
    expect(rebuilt.name).toBe('TypeError');
    expect(rebuilt.message).toBe('boom');
    expect(rebuilt).not.toBeInstanceOf(LarderError);
    expect(deserializeError(serializeError('text')).message).toBe('text');
  });

  it('gives every subclass a stable code', () => {
    expect(new ExpectationFailedError('x').code).toBe('EXPECTATION_FAILED');
    const artifact = deserializeError(structuredClone(serializeError(new ModelArtifactError('bad shard', { details: { shard: 0 } }))));
    expect(artifact).toBeInstanceOf(ModelArtifactError);
    expect((artifact as ModelArtifactError).code).toBe('MODEL_ARTIFACT_INVALID');
    expect((artifact as ModelArtifactError).details).toEqual({ shard: 0 });
  });
});
