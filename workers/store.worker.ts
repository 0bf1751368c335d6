/// <reference lib="webworker" />
// The store worker: owns DuckDB-WASM (the offline store) and the registry for one store.
import * as Comlink from 'comlink';
import { installErrorTransfer } from '../src/rpc/transfer.ts';
import { StoreService } from '../src/service/store-service.ts';

installErrorTransfer();
Comlink.expose(new StoreService());
