/// <reference lib="webworker" />
// The same feature names as ondemand-a.worker.ts, but temp_f computed by different code.
import { serveStore, defineOnDemand } from '../../src/worker.ts';

serveStore({
  onDemand: [
    defineOnDemand({ name: 'temp_f', inputs: ['temp'], type: 'float64', fn: ({ temp }) => (temp === null ? null : (temp as number) * 2 + 30) }),
    defineOnDemand({ name: 'is_a', inputs: ['device'], type: 'bool', fn: ({ device }) => device === 'a' }),
  ],
});
