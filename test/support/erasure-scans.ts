// The raw scans of the right-to-erasure test and drill (test/browser/erasure.browser.test.ts, the erasure drill's
// page): which bytes the origin keeps — OPFS files, IndexedDB values — still hold any of a list of tokens. They run in
// the page, with the stores closed, so that every file is checkpointed and can be read.
import { forEachIndexedDb, readOpfsFiles } from './origin-storage.ts';

/** Whether `haystack` holds any of `texts`, as UTF-8 or as UTF-16LE (ASCII texts only). */
export function holds(haystack: Uint8Array, texts: readonly string[]): boolean {
  return texts.some((text) => holdsOne(haystack, text));
}

function holdsOne(haystack: Uint8Array, text: string): boolean {
  const utf8 = new TextEncoder().encode(text);
  const utf16 = new Uint8Array(text.length * 2);
  for (let i = 0; i < text.length; i++) utf16[i * 2] = text.charCodeAt(i);
  return [utf8, utf16].some((needle) => {
    outer: for (let i = haystack.indexOf(needle[0]!); i >= 0 && i <= haystack.length - needle.length; i = haystack.indexOf(needle[0]!, i + 1)) {
      for (let j = 1; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
      return true;
    }
    return false;
  });
}

/** What a scan of every OPFS file of the origin found. */
export interface OpfsScan {
  /** The files that hold one of the tokens. */
  hits: string[];
  /** Every file read, with its size in bytes. */
  files: { path: string; size: number }[];
  /** The files another open store holds, which could not be read. */
  busy: string[];
}

/**
 * Reads every OPFS file of the origin, byte for byte, and tells which hold any of `needle`.
 *
 * @example
 * const scan = await scanOpfs(canary); // scan.hits: [] once the subject is erased and the stores are closed
 */
export async function scanOpfs(needle: readonly string[]): Promise<OpfsScan> {
  const scan: OpfsScan = { hits: [], files: [], busy: [] };
  for (const { path, bytes } of await readOpfsFiles()) {
    if (bytes === null) {
      scan.busy.push(path);
      continue;
    }
    scan.files.push({ path, size: bytes.length });
    if (holds(bytes, needle)) scan.hits.push(path);
  }
  return scan;
}

/**
 * Every value of every object store of every IndexedDB database of the origin, as JSON text (binary values as
 * Latin-1): the `database/objectStore` names whose values hold any of `needle`.
 *
 * @example
 * expect(await scanIndexedDb(canary)).toEqual([]);
 */
export async function scanIndexedDb(needle: readonly string[]): Promise<string[]> {
  const hits: string[] = [];
  await forEachIndexedDb(async (name, db) => {
    for (const storeName of [...db.objectStoreNames]) {
      const request = db.transaction(storeName, 'readonly').objectStore(storeName).getAll();
      const values = await new Promise<unknown[]>((resolve, reject) => {
        request.onsuccess = () => resolve(request.result as unknown[]);
        request.onerror = () => reject(request.error ?? new Error(`cannot read ${name}/${storeName}`));
      });
      const text = JSON.stringify(values, (_, v: unknown) =>
        typeof v === 'bigint' ? String(v) : v instanceof ArrayBuffer || ArrayBuffer.isView(v) ? new TextDecoder('latin1').decode(v) : v);
      if (needle.some((n) => text.includes(n))) hits.push(`${name}/${storeName}`);
    }
  });
  return hits;
}
