import initParquet, { readParquet } from 'parquet-wasm/esm';
import parquetWasmUrl from 'parquet-wasm/esm/parquet_wasm_bg.wasm?url';
import { ParseError } from '../errors.ts';

let ready: Promise<unknown> | undefined;

/** Loads parquet-wasm once per thread, from the app's own origin. */
export function loadParquetWasm(): Promise<unknown> {
  ready ??= initParquet({ module_or_path: parquetWasmUrl });
  return ready;
}

/** Decodes Parquet bytes to an Arrow IPC stream (large batches: the default of 1024 rows is ~30 % slower). */
export async function readParquetToIpc(bytes: Uint8Array): Promise<Uint8Array> {
  await loadParquetWasm();
  try {
    return readParquet(bytes, { batchSize: 1 << 20 }).intoIPCStream();
  } catch (error) {
    throw new ParseError(`The Parquet file could not be read: ${String(error)}`, { cause: error });
  }
}
