/// <reference lib="webworker" />
// The default store worker: owns DuckDB-WASM (the offline store) and the registry for one store; no on-demand
// features (apps that have some write their own entry with serveStore, see src/worker.ts).
import { serveStore } from '../src/worker.ts';

serveStore();
