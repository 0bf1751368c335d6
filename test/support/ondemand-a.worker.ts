/// <reference lib="webworker" />
// A store worker with on-demand features, as an app would write one.
import { serveStore } from '../../src/worker.ts';
import { onDemandA } from './ondemand-a.ts';

serveStore({ onDemand: onDemandA });
