// For Node tests and drills that sync two devices through a real S3-compatible server: the S3 stack (s3-servers.ts)
// and a second Chromium profile on disk, next to the harness's (useHarness) as the first device. Kept apart from
// s3-servers.ts, which the browser tests' global setup and the sync bench load outside any test file.
import { afterAll, beforeAll } from 'vitest';
import { PersistentBrowser } from './harness.ts';
import { startS3Stack, type S3Stack } from './s3-servers.ts';

/**
 * For one test file: s3rver with the gateway in front of it, and a second browser profile, started before its tests
 * and disposed after them (the profile first). Read `stack` and `second` inside tests.
 *
 * @example
 * const harness = useHarness();
 * const devices = useSyncDevices();
 * it('pulls what the first device pushed', async () => {
 *   const b = await devices.second.open(harness.url); // devices.stack.gateway.endpoint is the S3 endpoint
 * });
 */
export function useSyncDevices(): { readonly stack: S3Stack; readonly second: PersistentBrowser } {
  let stack: S3Stack | undefined;
  let second: PersistentBrowser | undefined;
  beforeAll(async () => {
    stack = await startS3Stack();
    second = await PersistentBrowser.create();
    await second.launch();
  });
  afterAll(async () => {
    await second?.dispose();
    await stack?.close();
  });
  return {
    get stack() {
      if (stack === undefined) throw new Error('the S3 stack is not started yet');
      return stack;
    },
    get second() {
      if (second === undefined) throw new Error('the second profile is not launched yet');
      return second;
    },
  };
}
