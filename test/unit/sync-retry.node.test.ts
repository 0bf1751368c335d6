import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, ObjectStoreError, OperationAbortedError, SyncAuthError } from '../../src/errors.ts';
import { isRetryable, withRetries } from '../../src/sync/retry.ts';

const failure = (status: number | null, retryable: boolean) =>
  new ObjectStoreError(`failed with ${String(status)}`, { details: { operation: 'put', key: 'k', status, retryable } });

/** A call failing with the given errors in turn, then answering 'ok'; counts its attempts. */
function flaky(errors: Error[]) {
  const calls = { n: 0 };
  const attempt = () => {
    calls.n++;
    const error = errors.shift();
    return error === undefined ? Promise.resolve('ok') : Promise.reject(error);
  };
  return { attempt, calls };
}

describe('sync retries', () => {
  it('retries 5xx, 429 and network failures, and never other 4xx, auth failures or argument errors', async () => {
    expect([failure(500, true), failure(503, true), failure(429, true), failure(null, true), new TypeError('Failed to fetch')].every(isRetryable)).toBe(true);
    expect([failure(400, false), failure(404, false), new SyncAuthError('no'), new InvalidArgumentError('no'), new Error('x')].some(isRetryable)).toBe(false);
    const passing = flaky([failure(503, true), failure(null, true), failure(429, true)]);
    expect(await withRetries(passing.attempt, { baseDelayMs: 1 })).toBe('ok');
    expect(passing.calls.n).toBe(4);
    const refused = flaky([failure(403, false)]);
    await expect(withRetries(refused.attempt, { baseDelayMs: 1 })).rejects.toMatchObject({ details: { status: 403 } });
    expect(refused.calls.n).toBe(1);
  });

  it('gives up after the retries it was given, with the last error', async () => {
    const failing = flaky([failure(500, true), failure(502, true), failure(503, true)]);
    await expect(withRetries(failing.attempt, { retries: 2, baseDelayMs: 1 })).rejects.toMatchObject({ details: { status: 503 } });
    expect(failing.calls.n).toBe(3);
  });

  it('waits a jittered, exponentially growing delay capped at maxDelayMs', async () => {
    const delays: number[] = [];
    const original = globalThis.setTimeout;
    globalThis.setTimeout = ((fn: () => void, ms?: number) => {
      delays.push(ms ?? 0);
      return original(fn, 0);
    }) as typeof setTimeout;
    try {
      const failing = flaky(Array.from({ length: 8 }, () => failure(500, true)));
      await withRetries(failing.attempt, { retries: 8, baseDelayMs: 100, maxDelayMs: 1000, random: () => 0.999 });
    } finally {
      globalThis.setTimeout = original;
    }
    // random() ≈ 1: each delay is just under its ceiling: 100, 200, 400, 800, then the 1000 cap.
    expect(delays.map((d) => Math.round(d / 0.999))).toEqual([100, 200, 400, 800, 1000, 1000, 1000, 1000]);
  });

  it('stops waiting when the signal fires', async () => {
    const controller = new AbortController();
    const failing = flaky(Array.from({ length: 5 }, () => failure(500, true)));
    const pending = withRetries(failing.attempt, { baseDelayMs: 10_000, random: () => 1 }, controller.signal);
    setTimeout(() => controller.abort(new Error('user')), 10);
    await expect(pending).rejects.toBeInstanceOf(OperationAbortedError);
    expect(failing.calls.n).toBe(1);
  });
});
