// The deployment benchmark's on-demand feature, as an app would write it: one module, imported by the store worker
// (deploy-store.worker.ts) and by the page (deploy.ts), so training rows and online vectors run the same function.
import { defineOnDemand } from '../src/index.ts';

/** f0 of the first group plus b_f1 of the second plus the request's `bias`. */
export const deployOnDemand = [
  defineOnDemand({
    name: 'od_sum', inputs: ['f0', 'b_f1'], request: { bias: 'float64' }, type: 'float64',
    fn: ({ f0, b_f1, bias }) => (f0 === null || b_f1 === null || bias === null ? null : (f0 as number) + (b_f1 as number) + (bias as number)),
  }),
];
