/// <reference lib="webworker" />
// The deployment benchmark's store worker: Larder's own store service, with the bench's on-demand feature registered.
import { serveStore } from '../src/worker.ts';
import { deployOnDemand } from './deploy-features.ts';

serveStore({ onDemand: deployOnDemand });
