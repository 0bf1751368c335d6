// The app's server, as the tests play it: it signs each object-store request with query parameters (aws4fetch
// `signQuery`), so the page gets a URL and never the secret. Works in Node and in the browser.
import { AwsClient } from 'aws4fetch';
import { encodeKeyPath, type PresignRequest, type PresignedRequest } from '../../src/sync/http-object-store.ts';

export interface TestSignerOptions {
  /** `${endpoint}/${bucket}` (path style). */
  bucketUrl: string;
  /** The folder the signer confines the page to. */
  prefix: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Keys per list page (small pages make lists paginate). */
  pageSize?: number;
}

export function testSigner(options: TestSignerOptions): (request: PresignRequest) => Promise<PresignedRequest> {
  const aws = new AwsClient({ accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey, service: 's3', region: 'us-east-1' });
  const { bucketUrl, prefix } = options;
  return async (request) => {
    if (request.method === 'LIST') {
      const url = new URL(bucketUrl);
      url.searchParams.set('list-type', '2');
      url.searchParams.set('prefix', `${prefix}/${request.prefix}`);
      if (options.pageSize !== undefined) url.searchParams.set('max-keys', String(options.pageSize));
      if (request.continuationToken !== undefined) url.searchParams.set('continuation-token', request.continuationToken);
      return { url: (await aws.sign(url.href, { method: 'GET', aws: { signQuery: true } })).url };
    }
    // The checksum header is signed, so it is returned to be sent as is.
    const headers: Record<string, string> = {};
    if (request.method === 'PUT' && request.checksumSha256 !== undefined) headers['x-amz-checksum-sha256'] = request.checksumSha256;
    const signed = await aws.sign(`${bucketUrl}/${encodeKeyPath(`${prefix}/${request.key}`)}`, { method: request.method, headers, aws: { signQuery: true } });
    return { url: signed.url, headers };
  };
}
