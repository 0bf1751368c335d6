// Global setup of the browser tests: a real WebSocket server and a real Server-Sent Events server on 127.0.0.1, for
// the stream pipeline tests. Each sends `count` readings as fast as it can, then ends the stream.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import type { TestProject } from 'vitest/node';
import { streamedReading } from './pipelines/sensors.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    wsPort: number;
    ssePort: number;
  }
}


function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // ws://…/?count=N&close=clean|unclean
  const wsHttp = createServer();
  const wss = new WebSocketServer({ server: wsHttp });
  wss.on('connection', (socket, request) => {
    const params = new URL(request.url ?? '/', 'http://localhost').searchParams;
    const count = Number(params.get('count') ?? '10');
    for (let i = 0; i < count; i++) socket.send(JSON.stringify(streamedReading(i)));
    // Unclean: the connection is dropped (no close frame) once the messages have arrived and whole micro-batches of
    // them have had time to commit (events still queued when a source fails are not committed).
    if (params.get('close') === 'unclean') setTimeout(() => socket.terminate(), 1500);
    else socket.close(1000, 'done');
  });
  // http://…/events?count=N: the events, then 204 to the browser's reconnection (which ends an EventSource).
  const sse = createServer((request, response) => {
    const params = new URL(request.url ?? '/', 'http://localhost').searchParams;
    if (request.headers['last-event-id'] !== undefined) {
      response.writeHead(204, { 'access-control-allow-origin': '*' }).end();
      return;
    }
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', 'access-control-allow-origin': '*' });
    const count = Number(params.get('count') ?? '10');
    let text = 'retry: 50\n\n';
    for (let i = 0; i < count; i++) text += `id: ${i}\ndata: ${JSON.stringify(streamedReading(i))}\n\n`;
    response.end(text);
  });
  project.provide('wsPort', await listen(wsHttp));
  project.provide('ssePort', await listen(sse));
  return async () => {
    for (const client of wss.clients) client.terminate();
    await new Promise((resolve) => wss.close(resolve));
    await new Promise((resolve) => wsHttp.close(resolve));
    sse.closeAllConnections();
    await new Promise((resolve) => sse.close(resolve));
  };
}
