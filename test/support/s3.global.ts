// Global setup of the browser tests that sync: one s3rver and the gateway in front of it (see s3-servers.ts), for the
// whole run. Tests share the bucket, so each one works under its own key prefix; a test that injects faults limits
// them to its prefix (`pathContains`) through the gateway's control endpoint (`${s3GatewayEndpoint}/__larder/faults`).
import type { TestProject } from 'vitest/node';
import { startS3Stack } from './s3-servers.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** s3rver itself: SigV4 checked, conditional PUTs ignored. */
    s3Endpoint: string;
    /** The gateway: s3rver plus conditional PUTs and fault injection. */
    s3GatewayEndpoint: string;
    s3Bucket: string;
    s3AccessKeyId: string;
    s3SecretAccessKey: string;
    s3Directory: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const stack = await startS3Stack();
  project.provide('s3Endpoint', stack.s3.endpoint);
  project.provide('s3GatewayEndpoint', stack.gateway.endpoint);
  project.provide('s3Bucket', stack.s3.bucket);
  project.provide('s3AccessKeyId', stack.s3.accessKeyId);
  project.provide('s3SecretAccessKey', stack.s3.secretAccessKey);
  project.provide('s3Directory', stack.s3.directory);
  return () => stack.close();
}
