/// <reference lib="webworker" />
// Does in a fresh module worker what Larder's store worker does on its first Parquet insert: load parquet-wasm,
// then decode the bytes it is sent to an Arrow IPC stream. Reports both times, measured inside the worker.
import initParquet, { readParquet } from 'parquet-wasm/esm';
import parquetWasmUrl from 'parquet-wasm/esm/parquet_wasm_bg.wasm?url';

self.onmessage = async (event: MessageEvent<Uint8Array>) => {
  const started = performance.now();
  await initParquet({ module_or_path: parquetWasmUrl });
  const loaded = performance.now();
  const ipc = readParquet(event.data, { batchSize: 1 << 20 }).intoIPCStream();
  const decoded = performance.now();
  postMessage({ loadSeconds: (loaded - started) / 1000, decodeSeconds: (decoded - loaded) / 1000, ipcBytes: ipc.byteLength });
};
