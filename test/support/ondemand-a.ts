// On-demand features as an app would write them: one module, imported by the store worker and by the page.
import { defineOnDemand } from '../../src/index.ts';

export const onDemandA = [
  defineOnDemand({ name: 'temp_f', inputs: ['temp'], type: 'float64', fn: ({ temp }) => (temp === null ? null : (temp as number) * 1.8 + 32) }),
  defineOnDemand({ name: 'is_a', inputs: ['device'], type: 'bool', fn: ({ device }) => device === 'a' }),
  // A request field: the setpoint comes with each request (or spine row), not from a stored feature.
  defineOnDemand({
    name: 'over_setpoint', inputs: ['temp'], request: { setpoint: 'float64' }, type: 'float64',
    fn: ({ temp, setpoint }) => (temp === null || setpoint === null ? null : (temp as number) - (setpoint as number)),
  }),
];
