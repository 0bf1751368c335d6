// The main-thread side of an inference worker: comlink for loading and unloading model versions, and a port of its
// own for predictions (see InferenceService.attach).
import * as Comlink from 'comlink';
import { StoreClosedError, deserializeError } from '../errors.ts';
import type { BackendName } from '../models/backend.ts';
import type { InferenceService, PredictAnswer, PredictRequest } from '../service/inference-service.ts';

/**
 * An inference worker and the two ways to talk to it: `api` (comlink) to load and unload versions, and
 * {@link predict}, which skips comlink's per-call wrapping (a request id, a listener added and removed, the reply
 * wrapped and unwrapped): a bare message each way.
 */
export class InferenceClient {
  readonly worker: Worker;
  readonly api: Comlink.Remote<InferenceService>;
  private readonly port: MessagePort;
  private readonly pending = new Map<number, { resolve(outputs: Float32Array): void; reject(error: Error): void }>();
  private next = 0;
  private closed = false;

  constructor(name: string) {
    this.worker = new Worker(new URL('../../workers/inference.worker.ts', import.meta.url), { type: 'module', name });
    this.api = Comlink.wrap<InferenceService>(this.worker);
    const channel = new MessageChannel();
    this.port = channel.port1;
    this.port.onmessage = (event: MessageEvent<PredictAnswer>) => {
      const answer = event.data;
      const waiting = this.pending.get(answer.id);
      if (waiting === undefined) return;
      this.pending.delete(answer.id);
      if ('error' in answer) waiting.reject(deserializeError(answer.error));
      else waiting.resolve(answer.outputs);
    };
    // Sent before any load: requests on the port can only come after a load has resolved, so after this arrived.
    this.api.attach(Comlink.transfer(channel.port2, [channel.port2])).catch(() => undefined);
  }

  /** Predictions of `rows` rows of `x` (row-major; its buffer is moved to the worker) by the version loaded as `key`. */
  predict(key: string, x: Float32Array, rows: number): Promise<Float32Array> {
    if (this.closed) return Promise.reject(new StoreClosedError('The inference worker is closed.'));
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const request: PredictRequest = { id, key, x, rows };
      this.port.postMessage(request, [x.buffer]);
    });
  }

  /** Stops the worker; predictions still waiting fail with StoreClosedError (they would never be answered). */
  terminate(): void {
    if (this.closed) return;
    this.closed = true;
    this.api[Comlink.releaseProxy]();
    this.worker.terminate();
    this.port.close();
    for (const waiting of this.pending.values()) waiting.reject(new StoreClosedError('The inference worker was closed before it answered.'));
    this.pending.clear();
  }
}

/**
 * The inference workers of a store (or online reader), one per tfjs backend, created on first use: a worker's
 * backend is fixed by its first load, so a deployment asking for another backend gets a worker of its own.
 */
export class InferenceClients {
  private readonly clients = new Map<BackendName, InferenceClient>();

  /** @param name names the workers (`<name>-<backend>`, shown in the browser's task manager and profiles). */
  constructor(private readonly name: string) {}

  /** The worker for `backend`, started now if there is none yet. */
  get(backend: BackendName): InferenceClient {
    let client = this.clients.get(backend);
    if (client === undefined) {
      client = new InferenceClient(`${this.name}-${backend}`);
      this.clients.set(backend, client);
    }
    return client;
  }

  /** Stops every worker (see {@link InferenceClient.terminate}). */
  terminate(): void {
    for (const client of this.clients.values()) client.terminate();
    this.clients.clear();
  }
}
