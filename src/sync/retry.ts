/**
 * Retries of object-store calls: capped exponential backoff with full jitter, on failures that can pass (HTTP 5xx and
 * 429, dropped connections, truncated bodies) and never on others (4xx, integrity errors, aborts).
 */
import { ObjectStoreError, OperationAbortedError } from '../errors.ts';

/** How sync retries a failed object-store call. */
export interface RetryOptions {
  /** Attempts after the first (default 6). */
  retries?: number;
  /** The first delay's ceiling in milliseconds (default 100); each retry doubles it. */
  baseDelayMs?: number;
  /** The largest delay in milliseconds (default 5000). */
  maxDelayMs?: number;
  /** Random numbers in [0, 1) for the jitter (default Math.random; tests pass a seeded one). */
  random?: () => number;
}

/** Whether an error from an object store may pass if the call is made again. */
export function isRetryable(error: unknown): boolean {
  if (error instanceof ObjectStoreError) return error.details['retryable'] === true;
  // A fetch that never got a response (connection refused or reset) rejects with a TypeError.
  return error instanceof TypeError;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(abortError(signal));
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortError(signal!));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function abortError(signal: AbortSignal): OperationAbortedError {
  return new OperationAbortedError('The sync was aborted.', { cause: signal.reason });
}

/**
 * Calls `attempt` until it succeeds, it fails with an error that is not retryable, or the retries run out (the last
 * error is thrown). Delay before retry n: uniform in [0, min(maxDelay, base · 2^n)].
 */
export async function withRetries<T>(attempt: () => Promise<T>, options: RetryOptions = {}, signal?: AbortSignal): Promise<T> {
  const retries = options.retries ?? 6;
  const base = options.baseDelayMs ?? 100;
  const cap = options.maxDelayMs ?? 5000;
  const random = options.random ?? Math.random;
  const aborted = (): boolean => signal?.aborted === true;
  for (let n = 0; ; n++) {
    if (aborted()) throw abortError(signal!);
    try {
      return await attempt();
    } catch (error) {
      if (aborted()) throw abortError(signal!);
      if (n >= retries || !isRetryable(error)) throw error;
      await sleep(random() * Math.min(cap, base * 2 ** n), signal);
    }
  }
}
