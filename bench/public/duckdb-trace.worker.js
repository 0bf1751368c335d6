/* global importScripts, location, BroadcastChannel, URL, performance -- a classic worker script */
// A tracing wrapper around DuckDB-WASM's worker, for the benchmark only: loads the real worker script (URL in the
// `real` query parameter), then times every request it serves (from the moment its handler starts to the moment
// its response is posted) and broadcasts one record per request on the 'larder-bench-trace' channel. Larder uses
// it when the page passes it as `duckdb.workerUrl` to openFeatureStore; nothing else changes.
'use strict';

const channel = new BroadcastChannel('larder-bench-trace');
const started = new Map();
const postResponse = globalThis.postMessage.bind(globalThis);

function describe(request) {
  const data = request.data;
  if (request.type === 'RUN_QUERY' || request.type === 'START_PENDING_QUERY') return String(data[1]);
  if (request.type === 'INSERT_ARROW_FROM_IPC_STREAM') return `${data[2]?.name ?? ''} (${data[1]?.byteLength ?? 0} bytes)`;
  if (request.type === 'REGISTER_FILE_BUFFER') return `${data[0]} (${data[1]?.byteLength ?? 0} bytes)`;
  if (Array.isArray(data) && typeof data[0] === 'string') return data[0];
  return '';
}

globalThis.postMessage = (message, transfer) => {
  const request = message === null || typeof message !== 'object' ? undefined : started.get(message.requestId);
  if (request !== undefined) {
    started.delete(message.requestId);
    channel.postMessage({
      type: request.type,
      text: request.text,
      startedAt: performance.timeOrigin + request.at,
      seconds: (performance.now() - request.at) / 1000,
      ok: message.type !== 'ERROR',
    });
  }
  postResponse(message, transfer);
};

importScripts(new URL(location.href).searchParams.get('real'));

const serve = globalThis.onmessage;
globalThis.onmessage = (event) => {
  const request = event.data;
  if (request !== null && typeof request === 'object' && typeof request.messageId === 'number') {
    started.set(request.messageId, { type: request.type, text: describe(request), at: performance.now() });
  }
  return serve(event);
};
