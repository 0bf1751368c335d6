/// <reference lib="webworker" />
// The training worker: one per training job, terminated when the job ends or is aborted (tfjs state goes with it).
import * as Comlink from 'comlink';
import { installErrorTransfer } from '../src/rpc/transfer.ts';
import { trainModel } from '../src/service/train-service.ts';

installErrorTransfer();
Comlink.expose({ train: trainModel });
