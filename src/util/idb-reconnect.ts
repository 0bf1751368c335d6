import { StorageError, StoreClosedError } from '../errors.ts';

/** Whether an IndexedDB failure means the connection was closed (by an upgrade elsewhere, or by the browser). */
export function connectionClosed(error: unknown): boolean {
  const cause = error instanceof StorageError ? error.cause : error;
  return cause instanceof DOMException && cause.name === 'InvalidStateError';
}

/**
 * Wraps an object whose promise-returning methods use one IndexedDB connection: a call that finds the connection
 * closed underneath (another tab upgrading or deleting the database, or the browser) has `reconnect` open a new one
 * and is made once more — unless the object's own `close` was called: then such a call fails with StoreClosedError.
 * Methods named in `direct` (synchronous ones) are passed through as they are.
 */
export function reconnecting<T extends object>(target: T, reconnect: () => Promise<void>, direct: readonly string[] = []): T {
  let reconnection: Promise<void> | null = null;
  /** Closed on purpose (its `close` was called): a call finding the connection closed then fails, it never reopens. */
  let closed = false;
  return new Proxy(target, {
    get(object, property, receiver) {
      const value: unknown = Reflect.get(object, property, receiver);
      if (property === 'close' && typeof value === 'function') {
        return (...args: unknown[]) => {
          closed = true;
          return (value as (...a: unknown[]) => unknown).apply(object, args);
        };
      }
      if (typeof value !== 'function' || property === 'constructor' || direct.includes(String(property))) return value;
      return async (...args: unknown[]) => {
        const call = () => (value as (...a: unknown[]) => Promise<unknown>).apply(object, args);
        try {
          return await call();
        } catch (error) {
          if (!connectionClosed(error)) throw error;
          if (closed) throw new StoreClosedError('The store is closed; open it again with openFeatureStore().', { cause: error });
          // Calls failing together share one new connection.
          reconnection ??= reconnect().finally(() => {
            reconnection = null;
          });
          await reconnection;
          return call();
        }
      };
    },
  });
}
