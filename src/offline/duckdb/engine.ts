import * as duckdb from '@duckdb/duckdb-wasm';
import { StorageError, StoreLockedError } from '../../errors.ts';
import { literal, sql } from '../../sql/index.ts';
import { INGEST_DIRECTORY } from './csv-sql.ts';

/**
 * Run once at start-up, before any input is seen: no extension is downloaded or loaded, the only files DuckDB may open
 * besides its own database are those registered under {@link INGEST_DIRECTORY} (no URL, no other OPFS file, no
 * ATTACH of either), and then the configuration is locked so no later statement can change any of it.
 */
const LOCKDOWN = sql`SET autoinstall_known_extensions = false;
  SET autoload_known_extensions = false;
  SET allowed_directories = [${literal(INGEST_DIRECTORY)}];
  SET enable_external_access = false;
  SET lock_configuration = true;`;

/** Where the DuckDB-WASM assets are served from. Defaults to the files bundled with the package (through Vite). */
export interface DuckDbAssets {
  wasmUrl: string;
  workerUrl: string;
}

export async function defaultDuckDbAssets(): Promise<DuckDbAssets> {
  const [wasm, worker] = await Promise.all([
    import('@duckdb/duckdb-wasm/dist/duckdb-eh.wasm?url'),
    import('@duckdb/duckdb-wasm/dist/duckdb-browser-eh.worker.js?url'),
  ]);
  return { wasmUrl: wasm.default, workerUrl: worker.default };
}

/** A running DuckDB-WASM instance with a writer and a reader connection. */
export interface DuckDbEngine {
  readonly db: duckdb.AsyncDuckDB;
  /** The writer connection; a new one after an Arrow insert failed (see insertArrow). */
  readonly writer: duckdb.AsyncDuckDBConnection;
  readonly reader: duckdb.AsyncDuckDBConnection;
  /**
   * Inserts an Arrow IPC stream through the writer. When it fails, the writer connection is replaced (which rolls
   * back its open transaction): duckdb-wasm 1.32 lets an OPFS write error such as QuotaExceededError escape as a
   * JavaScript exception, which skips the connection's reset of its Arrow insert state, and the next insert on that
   * connection would replay the failed batch into the failed insert's table.
   */
  insertArrow(ipc: Uint8Array, options: { name: string; create: boolean }): Promise<void>;
  /**
   * Checkpoints and stops DuckDB. With `emptyLog`, a database file's write-ahead log is then zeroed (after an erasure:
   * DuckDB-WASM never shrinks the log, so erased rows lingered past its end). Not by default: it rewrites the whole
   * log file.
   */
  close(options?: { emptyLog?: boolean }): Promise<void>;
}

/**
 * Loads and compiles DuckDB-WASM in its own worker, with no database open yet: the slow half of a start, which a
 * store waiting to take over from another tab does while it waits.
 */
export async function instantiateDuckDb(assets: DuckDbAssets): Promise<duckdb.AsyncDuckDB> {
  const db = new duckdb.AsyncDuckDB(new duckdb.VoidLogger(), new Worker(assets.workerUrl));
  try {
    await db.instantiate(assets.wasmUrl);
    return db;
  } catch (error) {
    await db.terminate().catch(() => undefined); // the original error is the one worth reporting
    throw new StorageError(`DuckDB-WASM could not start: ${String(error)}`, { cause: error });
  }
}

/**
 * Overwrites a closed database's write-ahead log file with zeros. DuckDB-WASM does not shrink the OPFS file after a
 * checkpoint: past the log's logical end it keeps whatever was logged before, erased rows included. Only after a
 * successful checkpoint and once DuckDB let go of the file (its worker is gone; the handle may take a moment to be
 * released). Overwritten, not truncated or removed: duckdb-wasm 1.32 then opens the store so that its next commit
 * fails ("File is not opened in write mode").
 */
async function scrubWal(path: string): Promise<void> {
  const name = `${path.slice('opfs://'.length)}.wal`;
  const root = await navigator.storage.getDirectory();
  let file: FileSystemFileHandle;
  try {
    file = await root.getFileHandle(name);
  } catch {
    return; // no log file
  }
  for (let attempt = 0; ; attempt++) {
    let handle: FileSystemSyncAccessHandle | undefined;
    try {
      handle = await file.createSyncAccessHandle();
      const size = handle.getSize();
      const zeros = new Uint8Array(Math.min(size, 1 << 20));
      for (let at = 0; at < size; at += zeros.length) handle.write(zeros.subarray(0, Math.min(zeros.length, size - at)), { at });
      handle.flush();
      return;
    } catch (error) {
      // Still held by the terminated DuckDB worker for a moment; give up quietly after a second (the log is then
      // overwritten at a later close after an erasure).
      if (attempt >= 20 || !(error instanceof DOMException && error.name === 'NoModificationAllowedError')) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      handle?.close();
    }
  }
}

/**
 * Starts DuckDB-WASM (in its own worker, nested in the store worker) on an OPFS file or in memory, locked down so it
 * never reaches for the network or for files other than its own and the ones Larder registers (see LOCKDOWN).
 */
export async function startDuckDb(options: { path: string | null; assets: DuckDbAssets; instance?: Promise<duckdb.AsyncDuckDB> }): Promise<DuckDbEngine> {
  const db = await (options.instance ?? instantiateDuckDb(options.assets));
  try {
    if (options.path !== null) {
      try {
        await db.open({ path: options.path, accessMode: duckdb.DuckDBAccessMode.READ_WRITE });
      } catch (error) {
        // Chromium says "Access Handles cannot be created…"; other engines name the DOMException.
        if (/Access Handle|NoModificationAllowed/i.test(String(error))) {
          throw new StoreLockedError(
            `The database file ${options.path} is held by another tab or worker. Close the other store first.`,
            { cause: error },
          );
        }
        throw error;
      }
    } else {
      await db.open({});
    }
    let writer = await db.connect();
    await writer.query(LOCKDOWN);
    await writer.query(sql`SELECT 1`);
    const reader = await db.connect();
    return {
      db,
      get writer() {
        return writer;
      },
      reader,
      async insertArrow(ipc, insertOptions) {
        try {
          await writer.insertArrowFromIPCStream(ipc, insertOptions);
        } catch (error) {
          const stale = writer;
          writer = await db.connect();
          await stale.close().catch(() => undefined); // the insert's own error is the one to report
          throw error;
        }
      },
      async close(closeOptions = {}) {
        // A checkpoint first: once it succeeded, nothing in the write-ahead log is needed any more.
        const checkpointed = await writer.query(sql`CHECKPOINT`).then(() => true, () => false);
        await writer.close();
        await reader.close();
        await db.terminate();
        if (options.path !== null && checkpointed && closeOptions.emptyLog === true) await scrubWal(options.path);
      },
    };
  } catch (error) {
    await db.terminate().catch(() => undefined); // the original error is the one worth reporting
    if (error instanceof StoreLockedError) throw error;
    throw new StorageError(`DuckDB-WASM could not start: ${String(error)}`, { cause: error });
  }
}
