// Raw DuckDB-WASM for the baseline: the eh bundle in its own worker on the page, an OPFS file, no Larder code.
import * as duckdb from '@duckdb/duckdb-wasm';
import ehWasmUrl from '@duckdb/duckdb-wasm/dist/duckdb-eh.wasm?url';
import ehWorkerUrl from '@duckdb/duckdb-wasm/dist/duckdb-browser-eh.worker.js?url';

export interface RawDuckDb {
  db: duckdb.AsyncDuckDB;
  conn: duckdb.AsyncDuckDBConnection;
  /** Runs SQL and returns the first row's first column as a number. */
  scalar(text: string): Promise<number>;
  close(): Promise<void>;
}

/** Starts DuckDB-WASM on `opfs://<file>` (read-write) with extension autoload/autoinstall off. */
export async function startRawDuckDb(file: string): Promise<RawDuckDb> {
  const worker = new Worker(ehWorkerUrl);
  const db = new duckdb.AsyncDuckDB(new duckdb.VoidLogger(), worker);
  try {
    await db.instantiate(ehWasmUrl);
    await db.open({ path: `opfs://${file}`, accessMode: duckdb.DuckDBAccessMode.READ_WRITE });
    const conn = await db.connect();
    await conn.query('SET autoinstall_known_extensions=false; SET autoload_known_extensions=false;');
    return {
      db,
      conn,
      async scalar(text) {
        const table = await conn.query(text);
        const value: unknown = table.getChildAt(0)?.get(0);
        return typeof value === 'bigint' ? Number(value) : Number(value);
      },
      async close() {
        await conn.close();
        await db.terminate();
      },
    };
  } catch (error) {
    await db.terminate();
    throw error;
  }
}
