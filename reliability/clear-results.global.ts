import { rm } from 'node:fs/promises';
import { RESULTS_DIRECTORY } from './support.ts';

/** Removes the figures of an earlier run, so that a drill that did not run now cannot pass on old results. */
export default async function clearResults(): Promise<void> {
  await rm(RESULTS_DIRECTORY, { recursive: true, force: true });
}
