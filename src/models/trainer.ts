import * as Comlink from 'comlink';
import { OperationAbortedError } from '../errors.ts';
import { installErrorTransfer } from '../rpc/transfer.ts';
import type { TrainProgress, TrainRequest, TrainResult } from '../service/train-service.ts';

/** How a training job runs: its abort signal, progress callback and (for bundlers other than Vite) its worker. */
export interface TrainingJobOptions {
  signal?: AbortSignal;
  onProgress?: (progress: TrainProgress) => void;
  /** Creates the training worker, if the default module worker URL does not suit the bundler. */
  createWorker?: () => Worker;
}

/**
 * Runs a training job in a worker of its own and resolves with its result. Aborting terminates the worker at once
 * (tfjs cannot be interrupted mid-batch otherwise) and rejects with OperationAbortedError; nothing outlives it.
 * The request's Arrow buffers are transferred, not copied: do not use them afterwards.
 */
export async function runTrainingJob(request: TrainRequest, options: TrainingJobOptions = {}): Promise<TrainResult> {
  const { signal } = options;
  if (signal?.aborted === true) throw new OperationAbortedError('Training was aborted before it started.', { cause: signal.reason });
  installErrorTransfer();
  const worker = options.createWorker?.() ?? new Worker(new URL('../../workers/train.worker.ts', import.meta.url), { type: 'module', name: 'larder-train' });
  const api = Comlink.wrap<{ train(request: TrainRequest, onProgress: ((p: TrainProgress) => void) | null): Promise<TrainResult> }>(worker);
  let onAbort: (() => void) | null = null;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => {
      worker.terminate();
      reject(new OperationAbortedError('Training was aborted; the training worker was stopped.', { cause: signal?.reason }));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
  const failed = new Promise<never>((_, reject) => {
    worker.addEventListener('error', (event) => reject(new Error(`The training worker failed: ${event.message}`)), { once: true });
  });
  try {
    const progress = options.onProgress === undefined ? null : Comlink.proxy(options.onProgress);
    const job = api.train(Comlink.transfer(request, [request.train.buffer as ArrayBuffer, request.test.buffer as ArrayBuffer]), progress);
    return await Promise.race([job, aborted, failed]);
  } finally {
    if (onAbort !== null) signal?.removeEventListener('abort', onAbort);
    api[Comlink.releaseProxy]();
    worker.terminate();
  }
}
