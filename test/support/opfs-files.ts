// Every file of the origin's private file system, byte for byte — for tests that prove something is NOT stored.

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
