/// <reference lib="webworker" />
// The inference worker: model versions kept warm for deployments (one worker per store or online reader).
import * as Comlink from 'comlink';
import { installErrorTransfer } from '../src/rpc/transfer.ts';
import { InferenceService } from '../src/service/inference-service.ts';

installErrorTransfer();
Comlink.expose(new InferenceService());
