import { rm } from 'node:fs/promises';
import { RESULTS_DIRECTORY } from './support.ts';

/**
 * Removes the figures of an earlier run, so that a drill that did not run now cannot pass on old results.
 * `RELIABILITY_KEEP_RESULTS=1` keeps them: for running one drill again (or a few) into a card the others filled.
 */
export default async function clearResults(): Promise<void> {
  if (process.env['RELIABILITY_KEEP_RESULTS'] === '1') return;
  await rm(RESULTS_DIRECTORY, { recursive: true, force: true });
}
