// What the origin stores — every OPFS file, every IndexedDB database — for tests that prove something is NOT stored.

/** One OPFS file: its path, and its bytes, or null when another open store holds it (it cannot be read then). */
export interface OpfsFile {
  path: string;
  bytes: Uint8Array | null;
}

/** Reads every OPFS file of the origin, recursing into folders. */
export async function readOpfsFiles(): Promise<OpfsFile[]> {
  const files: OpfsFile[] = [];
  const walk = async (dir: FileSystemDirectoryHandle, prefix: string): Promise<void> => {
    for await (const [name, handle] of (dir as unknown as { entries(): AsyncIterable<[string, FileSystemHandle]> }).entries()) {
      const path = `${prefix}${name}`;
      if (handle.kind === 'directory') {
        await walk(handle as FileSystemDirectoryHandle, `${path}/`);
        continue;
      }
      try {
        files.push({ path, bytes: new Uint8Array(await (await (handle as FileSystemFileHandle).getFile()).arrayBuffer()) });
      } catch {
        files.push({ path, bytes: null });
      }
    }
  };
  await walk(await navigator.storage.getDirectory(), '');
  return files;
}

/** Opens every IndexedDB database of the origin in turn (at its current version), hands it to `visit`, closes it. */
export async function forEachIndexedDb(visit: (name: string, db: IDBDatabase) => Promise<void>): Promise<void> {
  for (const info of await indexedDB.databases()) {
    const name = info.name!;
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const request = indexedDB.open(name);
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error ?? new Error(`cannot open ${name}`));
    });
    try {
      await visit(name, db);
    } finally {
      db.close();
    }
  }
}
