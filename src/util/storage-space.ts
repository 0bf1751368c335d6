import { QuotaExceededError } from '../errors.ts';

function megabytes(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MB`;
}

function refusal(what: string, bytes: number, free: number | null, cause?: unknown): QuotaExceededError {
  const left = free === null ? 'not that much left' : `${megabytes(free)} left`;
  return new QuotaExceededError(
    `${what} needs about ${megabytes(bytes)} of storage and the origin has ${left}; nothing was written. ` +
      'Free space (delete old versions, call navigator.storage.persist()) and retry.',
    { details: { neededBytes: bytes, freeBytes: free }, cause },
  );
}

/**
 * Refuses, before anything is written, an operation that needs about `bytes` of storage when the origin has less
 * left: a QuotaExceededError at once instead of a failure deep inside a storage engine's commit. It asks
 * `navigator.storage.estimate()`, then, in a worker, reserves the bytes for a moment in the OPFS file `probe` (growing
 * a file meets the quota the way the real writes will, including a quota the estimate does not show yet) and lets go.
 * `probe` is a name of the caller's own, one per store: a probe left by a tab that died is removed with
 * {@link removeStorageProbe} when the store opens again.
 */
export async function ensureStorageSpace(bytes: number, what: string, probe: string): Promise<void> {
  if (bytes <= 0) return;
  const estimate = await navigator.storage?.estimate?.().catch(() => null);
  if (estimate?.quota !== undefined && estimate.usage !== undefined && bytes > estimate.quota - estimate.usage) {
    throw refusal(what, bytes, Math.max(0, estimate.quota - estimate.usage));
  }
  const root = await navigator.storage?.getDirectory?.().catch(() => null);
  if (root === null || root === undefined || !('createSyncAccessHandle' in FileSystemFileHandle.prototype)) return;
  let handle: FileSystemSyncAccessHandle | undefined;
  try {
    const file = await root.getFileHandle(probe, { create: true });
    handle = await file.createSyncAccessHandle();
    handle.truncate(bytes);
  } catch (error) {
    if (error instanceof DOMException && error.name === 'QuotaExceededError') throw refusal(what, bytes, null, error);
    // Any other trouble with the probe says nothing about the space: the operation goes ahead and meets it itself.
  } finally {
    handle?.close();
    await root.removeEntry(probe).catch(() => undefined);
  }
}

/** Removes a probe file a tab that died between reserving and letting go may have left (see ensureStorageSpace). */
export async function removeStorageProbe(probe: string): Promise<void> {
  const root = await navigator.storage?.getDirectory?.().catch(() => null);
  await root?.removeEntry(probe).catch(() => undefined);
}
