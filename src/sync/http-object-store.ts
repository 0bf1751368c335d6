/**
 * Object stores reached over HTTP: an S3-compatible bucket signed with SigV4 ({@link S3ObjectStore}), a bucket reached
 * through URLs the app signs on its own server ({@link PresignedObjectStore}), and a snapshot published read-only on
 * any static host or CDN ({@link HttpObjectStore}).
 *
 * The three differ only in how one operation becomes a URL and headers (an {@link HttpTarget}); sending it, reading
 * the answer and turning HTTP failures into Larder errors is one shared core (the `http*` functions below). Each call
 * makes exactly one request (a list, one per page): retries belong to the sync engine.
 */
import { AwsClient } from 'aws4fetch';
import { InvalidArgumentError, ObjectStoreError, SyncAuthError, type LarderError } from '../errors.ts';
import { checkKey, type ObjectInfo, type ObjectStore, type PutOptions, type RequestOptions } from './object-store.ts';

/**
 * The `fetch` the stores call: the global one by default, or one you inject (a test double, a proxying fetch).
 *
 * @example
 * ```ts
 * const traced: FetchFunction = (url, init) => { log(init.method, url); return fetch(url, init); };
 * ```
 */
export type FetchFunction = (input: string, init: RequestInit) => Promise<Response>;

type ObjectMethod = 'GET' | 'HEAD' | 'PUT' | 'DELETE';
type Operation = 'get' | 'head' | 'put' | 'list' | 'delete';

/** A request ready to send: where, and with which headers (signature included when the target signs). */
interface PreparedRequest {
  url: string;
  headers: Headers;
}

/** What a PUT asks of the target beyond the bytes. */
interface PutHeaders {
  ifNoneMatch?: string;
  ifMatch?: string;
  sha256?: string;
  contentType?: string;
}

/** How one kind of target turns an operation into a request. Everything else is shared. */
interface HttpTarget {
  readonly description: string;
  readonly fetch: FetchFunction;
  /** The browser cache mode of reads: `no-store` for buckets (pointers change in place), `no-cache` for static hosts. */
  readonly cache: RequestCache;
  /** False for static hosts, whose ETag may be missing or not exposed to the page (reported as ''). */
  readonly etagRequired: boolean;
  /** The part of listed keys that lies above the store's root, stripped from them. */
  readonly listedKeyRoot: string;
  object(method: ObjectMethod, key: string, put: PutHeaders | undefined, signal: AbortSignal | undefined): Promise<PreparedRequest>;
  listPage(prefix: string, continuationToken: string | undefined, signal: AbortSignal | undefined): Promise<PreparedRequest>;
}

// ---------------------------------------------------------------------------------------------------------------
// The shared core
// ---------------------------------------------------------------------------------------------------------------

/** Where a failure happened, for messages and `details`. */
interface Context {
  target: HttpTarget;
  operation: Operation;
  key: string;
}

/** What an error response said: its status and, when the body is S3's XML error document, its Code and Message. */
interface FailureReport {
  status: number;
  s3Code: string | undefined;
  s3Message: string | undefined;
}

function describeOperation(context: Context): string {
  return context.operation === 'list'
    ? `list of prefix ${JSON.stringify(context.key)}`
    : `${context.operation} of ${JSON.stringify(context.key)}`;
}

function storeError(context: Context, message: string, status: number | null, retryable: boolean, extra: Record<string, unknown> = {}, cause?: unknown): ObjectStoreError {
  return new ObjectStoreError(`${context.target.description}: ${describeOperation(context)} ${message}`, {
    details: { operation: context.operation, key: context.key, status, retryable, ...extra },
    ...(cause === undefined ? {} : { cause }),
  });
}

function isAbort(error: unknown, signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true || (error instanceof Error && error.name === 'AbortError');
}

/** An abort surfaces as the signal's own reason (a DOMException named AbortError unless the caller gave another). */
function abortError(error: unknown, signal: AbortSignal | undefined): unknown {
  return signal?.aborted === true ? signal.reason : error;
}

/** Sends one request. Only an abort or a failure to get any answer throws here; statuses are the callers' business. */
async function send(context: Context, method: ObjectMethod, prepared: PreparedRequest, body: Uint8Array | undefined, signal: AbortSignal | undefined): Promise<Response> {
  signal?.throwIfAborted();
  try {
    return await context.target.fetch(prepared.url, {
      method,
      headers: prepared.headers,
      ...(body === undefined ? {} : { body: body as Uint8Array<ArrayBuffer> }),
      ...(method === 'GET' || method === 'HEAD' ? { cache: context.target.cache } : {}),
      ...(signal === undefined ? {} : { signal }),
    });
  } catch (error) {
    if (isAbort(error, signal)) throw abortError(error, signal);
    // A browser reports a CORS refusal exactly like a network failure: say both.
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    throw storeError(
      context,
      `got no answer (${reason}). Either the network failed or, in a browser, the store refused this origin (CORS): its ` +
        'CORS rules must allow the page origin, the methods GET, PUT, HEAD and DELETE, these request headers, and expose ETag. ' +
        'It can be retried.',
      null,
      true,
      {},
      error,
    );
  }
}

/** The whole body; a body cut short (the connection broke, or fewer bytes than Content-Length) is a retryable error. */
async function readBody(context: Context, response: Response, signal: AbortSignal | undefined): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await response.arrayBuffer());
  } catch (error) {
    if (isAbort(error, signal)) throw abortError(error, signal);
    throw storeError(context, `broke off while the body was arriving (HTTP ${response.status}); it can be retried.`, response.status, true, {}, error);
  }
  // Content-Length counts the encoded bytes: with a Content-Encoding the decoded body is another length.
  const declared = response.headers.get('content-length');
  const encoding = response.headers.get('content-encoding');
  if (declared !== null && /^\d+$/.test(declared.trim()) && (encoding === null || encoding.trim().toLowerCase() === 'identity')) {
    const expected = Number(declared.trim());
    if (expected !== bytes.byteLength) {
      throw storeError(context, `received ${bytes.byteLength} of the ${expected} bytes the store announced (a truncated body); it can be retried.`, response.status, true);
    }
  }
  return bytes;
}

/** Reads an error response for its S3 Code and Message (best effort: HEAD answers have no body). */
async function readFailure(response: Response, signal: AbortSignal | undefined): Promise<FailureReport> {
  let text = '';
  try {
    text = await response.text();
  } catch (error) {
    if (isAbort(error, signal)) throw abortError(error, signal);
    // The body of an error is only a detail of the message: the status alone decides what happens next.
  }
  const head = text.slice(0, 64 * 1024);
  return {
    status: response.status,
    s3Code: xmlText(head, 'Code') ?? response.headers.get('x-amz-error-code') ?? undefined,
    s3Message: xmlText(head, 'Message'),
  };
}

// S3 error codes worth retrying whatever their status (S3 answers RequestTimeout with a 400; a 409
// ConditionalRequestConflict is a concurrent conditional write and AWS documents it as "retry").
const RETRYABLE_CODES = new Set(['RequestTimeout', 'ConditionalRequestConflict', 'InternalError', 'SlowDown', 'ServiceUnavailable']);

/** Turns an unexpected status into the documented error: 401/403 auth, 429/5xx retryable, other 4xx final. */
function failureError(context: Context, report: FailureReport): LarderError {
  const { status, s3Code, s3Message } = report;
  const said = s3Code === undefined ? `HTTP ${status}` : `HTTP ${status} ${s3Code}${s3Message === undefined ? '' : `: ${s3Message}`}`;
  const extra = s3Code === undefined ? {} : { s3Code };
  if (status === 401 || status === 403) {
    const hint =
      s3Code === 'RequestTimeTooSkewed'
        ? 'the device clock is too far from the store\'s'
        : 'check the access key id, the secret, the region and the device clock (or, for presigned URLs, the signer and the URL expiry)';
    return new SyncAuthError(`${context.target.description} refused the credentials or the request signature for ${describeOperation(context)} (${said}): ${hint}.`, {
      details: { operation: context.operation, key: context.key, status, retryable: false, ...extra },
    });
  }
  const retryable = status === 429 || status >= 500 || (s3Code !== undefined && RETRYABLE_CODES.has(s3Code));
  let advice = retryable ? 'it can be retried.' : 'retrying will not help.';
  if (s3Code === 'NoSuchBucket') advice = 'the bucket does not exist: create it, or fix the bucket name and endpoint.';
  else if (status === 301 || status === 307 || s3Code === 'PermanentRedirect') advice = 'the bucket lives elsewhere: check the endpoint and the region.';
  return storeError(context, `failed (${said}); ${advice}`, status, retryable, extra);
}

function etagOf(context: Context, response: Response): string {
  const etag = response.headers.get('etag');
  if (etag !== null) return etag;
  if (!context.target.etagRequired) return '';
  throw storeError(
    context,
    'succeeded but the answer carries no ETag the page can read. In a browser, add ETag to the ExposeHeaders of the ' +
      "bucket's CORS rules (conditional writes need it).",
    response.status,
    false,
  );
}

async function httpGet(target: HttpTarget, key: string, options: RequestOptions = {}): Promise<{ body: Uint8Array; etag: string } | null> {
  const context: Context = { target, operation: 'get', key: checkKey(key) };
  const prepared = await target.object('GET', key, undefined, options.signal);
  const response = await send(context, 'GET', prepared, undefined, options.signal);
  if (response.status === 404) {
    const report = await readFailure(response, options.signal);
    if (report.s3Code === 'NoSuchBucket') throw failureError(context, report);
    return null;
  }
  if (response.status !== 200) throw failureError(context, await readFailure(response, options.signal));
  const etag = etagOf(context, response);
  return { body: await readBody(context, response, options.signal), etag };
}

async function httpHead(target: HttpTarget, key: string, options: RequestOptions = {}): Promise<ObjectInfo | null> {
  const context: Context = { target, operation: 'head', key: checkKey(key) };
  const prepared = await target.object('HEAD', key, undefined, options.signal);
  const response = await send(context, 'HEAD', prepared, undefined, options.signal);
  if (response.status === 404) return null;
  if (response.status !== 200) throw failureError(context, await readFailure(response, options.signal));
  const length = response.headers.get('content-length');
  const size = length !== null && /^\d+$/.test(length.trim()) ? Number(length.trim()) : Number.NaN;
  const lastModified = parseTime(response.headers.get('last-modified'));
  return { key, size, etag: etagOf(context, response), ...(lastModified === undefined ? {} : { lastModified }) };
}

/** Epoch milliseconds of an HTTP date or an ISO 8601 timestamp; undefined when absent or unreadable. */
function parseTime(text: string | null | undefined): number | undefined {
  if (text === null || text === undefined || text.trim() === '') return undefined;
  const time = Date.parse(text.trim());
  return Number.isNaN(time) ? undefined : time;
}

async function httpPut(target: HttpTarget, key: string, body: Uint8Array, options: PutOptions = {}): Promise<string | null> {
  const context: Context = { target, operation: 'put', key: checkKey(key) };
  if (!(body instanceof Uint8Array)) throw new InvalidArgumentError(`The body of ${JSON.stringify(key)} must be a Uint8Array.`);
  if (options.ifNoneMatch !== undefined && options.ifNoneMatch !== '*') {
    throw new InvalidArgumentError(`ifNoneMatch can only be '*' (create only), not ${JSON.stringify(options.ifNoneMatch)}.`);
  }
  const put: PutHeaders = {
    ...(options.ifNoneMatch === undefined ? {} : { ifNoneMatch: options.ifNoneMatch }),
    ...(options.ifMatch === undefined ? {} : { ifMatch: options.ifMatch }),
    ...(options.sha256 === undefined ? {} : { sha256: options.sha256 }),
    ...(options.contentType === undefined ? {} : { contentType: options.contentType }),
  };
  const prepared = await target.object('PUT', key, put, options.signal);
  const response = await send(context, 'PUT', prepared, body, options.signal);
  if (response.status === 412) {
    await response.body?.cancel().catch(() => undefined); // nothing in a 412 body matters
    return null;
  }
  if (response.status >= 200 && response.status < 300) {
    const etag = etagOf(context, response);
    await response.body?.cancel().catch(() => undefined); // a PUT answer has no body worth reading
    return etag;
  }
  const report = await readFailure(response, options.signal);
  // If-Match on a key that does not exist: RFC 9110 answers 412, some stores (S3 among them) 404 NoSuchKey. Either
  // way the condition did not hold.
  if (response.status === 404 && options.ifMatch !== undefined && report.s3Code === 'NoSuchKey') return null;
  throw failureError(context, report);
}

async function httpDelete(target: HttpTarget, key: string, options: RequestOptions = {}): Promise<void> {
  const context: Context = { target, operation: 'delete', key: checkKey(key) };
  const prepared = await target.object('DELETE', key, undefined, options.signal);
  const response = await send(context, 'DELETE', prepared, undefined, options.signal);
  if (response.status === 200 || response.status === 204) {
    await response.body?.cancel().catch(() => undefined); // nothing to read in a delete answer
    return;
  }
  const report = await readFailure(response, options.signal);
  if (response.status === 404 && report.s3Code !== 'NoSuchBucket') return;
  throw failureError(context, report);
}

async function httpList(target: HttpTarget, prefix: string, options: RequestOptions = {}): Promise<ObjectInfo[]> {
  const context: Context = { target, operation: 'list', key: checkPrefix(prefix) };
  const found: ObjectInfo[] = [];
  const seenTokens = new Set<string>();
  let token: string | undefined;
  for (;;) {
    const prepared = await target.listPage(prefix, token, options.signal);
    const response = await send(context, 'GET', prepared, undefined, options.signal);
    if (response.status !== 200) throw failureError(context, await readFailure(response, options.signal));
    const page = parseListPage(new TextDecoder().decode(await readBody(context, response, options.signal)));
    if (page === null) throw storeError(context, 'got an answer that is not a ListObjectsV2 result (no <ListBucketResult>); is the URL a bucket?', 200, false);
    for (const entry of page.contents) {
      if (!entry.key.startsWith(target.listedKeyRoot)) {
        throw storeError(context, `listed the key ${JSON.stringify(entry.key)}, which lies outside the store's root ${JSON.stringify(target.listedKeyRoot)}.`, 200, false);
      }
      found.push({ ...entry, key: entry.key.slice(target.listedKeyRoot.length) });
    }
    if (!page.isTruncated) break;
    if (page.nextContinuationToken === undefined || seenTokens.has(page.nextContinuationToken)) {
      throw storeError(context, 'got a truncated page without a new continuation token; the listing cannot go on.', 200, false);
    }
    seenTokens.add(page.nextContinuationToken);
    token = page.nextContinuationToken;
  }
  return found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

function checkPrefix(prefix: string): string {
  if (typeof prefix !== 'string') throw new InvalidArgumentError(`A list prefix must be a string, not ${typeof prefix}.`);
  if (prefix.startsWith('/')) throw new InvalidArgumentError(`The list prefix ${JSON.stringify(prefix)} must be relative (no leading '/').`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\\]/.test(prefix)) throw new InvalidArgumentError(`The list prefix ${JSON.stringify(prefix)} holds control characters or backslashes.`);
  return prefix;
}

// ---------------------------------------------------------------------------------------------------------------
// ListObjectsV2 XML, without DOMParser (absent from workers and Node)
// ---------------------------------------------------------------------------------------------------------------

const XML_NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/**
 * Resolves the five XML entities, character references and CDATA sections of an element's text.
 *
 * @example
 * ```ts
 * decodeXmlText('&quot;etag&quot; &amp; &#x27;more&#39;'); // '"etag" & \'more\''
 * ```
 */
export function decodeXmlText(text: string): string {
  return text
    .split(/(<!\[CDATA\[[\s\S]*?\]\]>)/)
    .map((part) =>
      part.startsWith('<![CDATA[')
        ? part.slice(9, -3)
        : part.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);/g, (entity: string, name: string) => {
            if (name.startsWith('#x') || name.startsWith('#X')) return String.fromCodePoint(Number.parseInt(name.slice(2), 16));
            if (name.startsWith('#')) return String.fromCodePoint(Number.parseInt(name.slice(1), 10));
            return XML_NAMED[name] ?? entity;
          }),
    )
    .join('');
}

/** The raw inner text of each `<tag>…</tag>` (or `<tag/>`) in `xml`, in order. Tags of S3 results never nest in themselves. */
function xmlElements(xml: string, tag: string): string[] {
  const pattern = new RegExp(`<${tag}(?:\\s[^>]*)?(?:/>|>([\\s\\S]*?)</${tag}\\s*>)`, 'g');
  return Array.from(xml.matchAll(pattern), (match) => match[1] ?? '');
}

function xmlText(xml: string, tag: string): string | undefined {
  const [first] = xmlElements(xml, tag);
  return first === undefined ? undefined : decodeXmlText(first);
}

/**
 * One page of a ListObjectsV2 answer (keys as the bucket names them, `lastModified` in epoch milliseconds); null when
 * the text is not one. A small extraction of the few elements sync needs, so that it runs where DOMParser does not
 * (workers, Node).
 *
 * @example
 * ```ts
 * parseListPage('<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>a&amp;b</Key><Size>3</Size>' +
 *   '<ETag>&quot;x&quot;</ETag></Contents></ListBucketResult>');
 * // { contents: [{ key: 'a&b', size: 3, etag: '"x"' }], isTruncated: false, nextContinuationToken: undefined }
 * ```
 */
export function parseListPage(xml: string): { contents: ObjectInfo[]; isTruncated: boolean; nextContinuationToken: string | undefined } | null {
  const [result] = xmlElements(xml, 'ListBucketResult');
  if (result === undefined) return null;
  const contents = xmlElements(result, 'Contents').map((entry): ObjectInfo => {
    const lastModified = parseTime(xmlText(entry, 'LastModified'));
    return {
      key: xmlText(entry, 'Key') ?? '',
      size: Number(xmlText(entry, 'Size') ?? Number.NaN),
      etag: xmlText(entry, 'ETag') ?? '',
      ...(lastModified === undefined ? {} : { lastModified }),
    };
  });
  // <Contents> may hold elements that reuse the page-level names (it does not today); look outside them.
  const outside = result.replace(/<Contents(?:\s[^>]*)?>[\s\S]*?<\/Contents\s*>/g, '');
  return {
    contents,
    isTruncated: (xmlText(outside, 'IsTruncated') ?? 'false').trim() === 'true',
    nextContinuationToken: xmlText(outside, 'NextContinuationToken'),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// URLs and option checks shared by the targets
// ---------------------------------------------------------------------------------------------------------------

/** Percent-encodes one path segment the way SigV4 canonicalises it (RFC 3986: `!'()*` too). */
function encodeSegment(segment: string): string {
  return encodeURIComponent(segment).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * Encodes a key for a URL path, segment by segment, keeping the slashes (RFC 3986, as SigV4 expects).
 *
 * @example
 * ```ts
 * encodeKeyPath('snapshots/a b/(1).bin'); // 'snapshots/a%20b/%281%29.bin'
 * ```
 */
export function encodeKeyPath(key: string): string {
  return key.split('/').map(encodeSegment).join('/');
}

function defaultFetch(): FetchFunction {
  return (input, init) => globalThis.fetch(input, init);
}

function checkFetch(fetch: unknown): FetchFunction {
  if (fetch === undefined) return defaultFetch();
  if (typeof fetch !== 'function') throw new InvalidArgumentError('The fetch option must be a function like globalThis.fetch.');
  return fetch as FetchFunction;
}

/** A folder inside the bucket: '' or a valid key ending in '/'. */
function normalisePrefix(prefix: string | undefined): string {
  if (prefix === undefined || prefix === '' || prefix === '/') return '';
  if (typeof prefix !== 'string') throw new InvalidArgumentError('The prefix option must be a string.');
  const trimmed = prefix.replace(/^\/+|\/+$/g, '');
  checkKey(trimmed);
  return `${trimmed}/`;
}

function requireString(value: unknown, option: string, what: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new InvalidArgumentError(`The ${option} option is required: ${what}.`);
  return value;
}

// ---------------------------------------------------------------------------------------------------------------
// S3 with SigV4
// ---------------------------------------------------------------------------------------------------------------

/** Options of {@link S3ObjectStore}. */
export interface S3ObjectStoreOptions {
  /** The service root, without the bucket: `https://s3.eu-west-1.amazonaws.com`, `http://127.0.0.1:4568`, an R2 or MinIO URL. */
  endpoint: string;
  bucket: string;
  /** The signing region. Default `'us-east-1'` (R2 wants `'auto'`). */
  region?: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** For temporary credentials (STS, Cognito). */
  sessionToken?: string;
  /** `'path'` (default): `endpoint/bucket/key`; `'virtual-hosted'`: `bucket.endpoint-host/key`. */
  style?: 'path' | 'virtual-hosted';
  /** A folder inside the bucket that holds this store; keys are relative to it. */
  prefix?: string;
  /** Keys per list request (ListObjectsV2 `max-keys`, 1 to 1000). Default: the store's own page size (1000 on S3). */
  pageSize?: number;
  fetch?: FetchFunction;
}

/** A writable store over the shared HTTP core: each subclass only says how a request is addressed and signed. */
abstract class SignedHttpStore implements ObjectStore {
  readonly writable = true;
  abstract readonly description: string;
  protected abstract readonly target: HttpTarget;

  get(key: string, options?: RequestOptions): Promise<{ body: Uint8Array; etag: string } | null> {
    return httpGet(this.target, key, options);
  }

  head(key: string, options?: RequestOptions): Promise<ObjectInfo | null> {
    return httpHead(this.target, key, options);
  }

  put(key: string, body: Uint8Array, options?: PutOptions): Promise<string | null> {
    return httpPut(this.target, key, body, options);
  }

  list(prefix: string, options?: RequestOptions): Promise<ObjectInfo[]> {
    return httpList(this.target, prefix, options);
  }

  delete(key: string, options?: RequestOptions): Promise<void> {
    return httpDelete(this.target, key, options);
  }
}

/**
 * An S3-compatible bucket (AWS S3, R2, MinIO, Ceph, …) reached from the page with SigV4-signed requests. The secret
 * lives in the page: use it with short-lived credentials or in trusted settings, and prefer
 * {@link PresignedObjectStore} for public apps. The bucket's CORS rules must allow the page origin and expose `ETag`.
 *
 * @example
 * ```ts
 * const target = new S3ObjectStore({
 *   endpoint: 'https://s3.eu-west-1.amazonaws.com',
 *   region: 'eu-west-1',
 *   bucket: 'team-features',
 *   prefix: 'larder/weather',
 *   accessKeyId: session.accessKeyId,
 *   secretAccessKey: session.secretAccessKey,
 *   sessionToken: session.sessionToken,
 * });
 * const etag = await target.put('manifest.json', bytes, { ifNoneMatch: '*' }); // null: it already exists
 * ```
 */
export class S3ObjectStore extends SignedHttpStore {
  readonly description: string;
  protected readonly target: HttpTarget;

  constructor(options: S3ObjectStoreOptions) {
    super();
    const endpoint = parseEndpoint(requireString(options?.endpoint, 'endpoint', "the service root, e.g. 'https://s3.eu-west-1.amazonaws.com'"));
    const bucket = requireString(options.bucket, 'bucket', 'the bucket name');
    if (/[/\s]/.test(bucket)) throw new InvalidArgumentError(`The bucket name ${JSON.stringify(bucket)} cannot hold slashes or spaces.`);
    const style = options.style ?? 'path';
    if (style !== 'path' && style !== 'virtual-hosted') throw new InvalidArgumentError(`The style option must be 'path' or 'virtual-hosted', not ${JSON.stringify(style)}.`);
    if (style === 'virtual-hosted' && !/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(bucket)) {
      throw new InvalidArgumentError(`The bucket ${JSON.stringify(bucket)} is not a valid host name, so it cannot be addressed virtual-hosted style; use style 'path'.`);
    }
    const pageSize = options.pageSize;
    if (pageSize !== undefined && (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000)) {
      throw new InvalidArgumentError(`pageSize must be an integer from 1 to 1000, not ${String(pageSize)}.`);
    }
    const root = normalisePrefix(options.prefix);
    const client = new AwsClient({
      accessKeyId: requireString(options.accessKeyId, 'accessKeyId', 'the access key id'),
      secretAccessKey: requireString(options.secretAccessKey, 'secretAccessKey', 'the secret access key'),
      ...(options.sessionToken === undefined ? {} : { sessionToken: options.sessionToken }),
      service: 's3',
      region: options.region ?? 'us-east-1',
    });
    // The bucket's base URL: `http://host/base/bucket` (path) or `http://bucket.host/base` (virtual-hosted).
    const bucketUrl = style === 'path' ? `${endpoint.origin}${endpoint.path}/${encodeSegment(bucket)}` : `${endpoint.protocol}//${bucket}.${endpoint.host}${endpoint.path}`;
    // The endpoint's host is part of it: two services with a bucket of the same name are two targets (sync keeps its
    // state per description). No credential is.
    this.description = `s3://${bucket}${root === '' ? '' : `/${root.slice(0, -1)}`} at ${endpoint.host}`;
    const sign = async (method: ObjectMethod, url: string, headers: Headers, signal: AbortSignal | undefined): Promise<PreparedRequest> => {
      signal?.throwIfAborted();
      // The payload is not hashed into the signature (UNSIGNED-PAYLOAD, as browsers' S3 clients do); the optional
      // x-amz-checksum-sha256 header, which is signed, is what lets the store reject a damaged upload.
      headers.set('x-amz-content-sha256', 'UNSIGNED-PAYLOAD');
      const signed = await client.sign(url, { method, headers });
      return { url: signed.url, headers: signed.headers };
    };
    this.target = {
      description: this.description,
      fetch: checkFetch(options.fetch),
      cache: 'no-store',
      etagRequired: true,
      listedKeyRoot: root,
      object: (method, key, put, signal) => sign(method, `${bucketUrl}/${encodeKeyPath(root + key)}`, putHeaders(put, true), signal),
      listPage: (prefix, token, signal) => {
        let query = `list-type=2&prefix=${encodeSegment(root + prefix)}`;
        if (pageSize !== undefined) query += `&max-keys=${pageSize}`;
        if (token !== undefined) query += `&continuation-token=${encodeSegment(token)}`;
        return sign('GET', `${bucketUrl}${style === 'path' ? '' : '/'}?${query}`, new Headers(), signal);
      },
    };
  }

}

function parseEndpoint(text: string): { origin: string; protocol: string; host: string; path: string } {
  let url: URL;
  try {
    url = new URL(text);
  } catch (error) {
    throw new InvalidArgumentError(`The endpoint ${JSON.stringify(text)} is not an absolute URL (e.g. 'https://s3.eu-west-1.amazonaws.com').`, { cause: error });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidArgumentError(`The endpoint ${JSON.stringify(text)} must be an http or https URL.`);
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    throw new InvalidArgumentError(`The endpoint ${JSON.stringify(text)} must not carry a query, fragment or credentials.`);
  }
  return { origin: url.origin, protocol: url.protocol, host: url.host, path: url.pathname.replace(/\/+$/, '') };
}

/** The headers of a PUT: conditions, content type and, when `withChecksum`, the SHA-256 the store should check. */
function putHeaders(put: PutHeaders | undefined, withChecksum: boolean): Headers {
  const headers = new Headers();
  if (put === undefined) return headers;
  if (put.contentType !== undefined) headers.set('content-type', put.contentType);
  if (put.ifNoneMatch !== undefined) headers.set('if-none-match', put.ifNoneMatch);
  if (put.ifMatch !== undefined) headers.set('if-match', put.ifMatch);
  if (withChecksum && put.sha256 !== undefined) headers.set('x-amz-checksum-sha256', put.sha256);
  return headers;
}

// ---------------------------------------------------------------------------------------------------------------
// Presigned URLs
// ---------------------------------------------------------------------------------------------------------------

/**
 * What {@link PresignedObjectStore} asks its signer for. Object requests name a key relative to the store; a PUT may
 * carry the base64 SHA-256 of its body (`checksumSha256`). A LIST asks for one page of a ListObjectsV2 request
 * (`list-type=2`, the given `prefix` and, after the first page, `continuation-token`).
 */
export type PresignRequest =
  | { method: 'GET' | 'HEAD' | 'DELETE'; key: string }
  | { method: 'PUT'; key: string; checksumSha256?: string }
  | { method: 'LIST'; prefix: string; continuationToken?: string };

/** A signed request: its URL and the headers to send with it (those the signature covers, if any). */
export interface PresignedRequest {
  url: string;
  headers?: Record<string, string>;
}

/** Options of {@link PresignedObjectStore}. */
export interface PresignedObjectStoreOptions {
  /** Returns a signed URL for one request, usually by asking the app's own server. Called once per request. */
  sign: (request: PresignRequest, options: { signal?: AbortSignal }) => Promise<PresignedRequest>;
  /** For messages. Default `'presigned object store'`. */
  description?: string;
  /**
   * The folder inside the bucket under which the signer places keys, when it adds one. Listed keys come back
   * relative to the bucket; this part is stripped from them so that `list` returns keys relative to the store.
   */
  prefix?: string;
  fetch?: FetchFunction;
}

/**
 * A bucket reached through URLs the app signs on its own server, so that no secret ever lives in the page: the
 * recommended way to sync from a public app. The signer decides what each user may touch (its own folder, say) and
 * for how long. Conditions (`If-None-Match`, `If-Match`) and `Content-Type` are sent as plain headers; the checksum
 * header `x-amz-checksum-sha256` is sent only when the signer returns it among `headers` — S3 refuses a presigned
 * request carrying `x-amz-*` headers its signature does not cover, so sign it (the request's `checksumSha256`) to use it.
 *
 * A rejected signer call is passed on unchanged when it is an `ObjectStoreError`, a `SyncAuthError` or an abort;
 * anything else becomes a retryable `ObjectStoreError` (the signing endpoint was unreachable, most often). Throw a
 * `SyncAuthError` from the signer when the user may not sync at all.
 *
 * @example
 * ```ts
 * // In the page: ask the app's server for each URL.
 * const target = new PresignedObjectStore({
 *   description: 'team bucket via /api/sign',
 *   sign: async (request, { signal }) => {
 *     const response = await fetch('/api/sign', { method: 'POST', body: JSON.stringify(request), signal });
 *     if (response.status === 401) throw new SyncAuthError('Sign in again to sync.');
 *     return (await response.json()) as { url: string; headers?: Record<string, string> };
 *   },
 * });
 *
 * // On the server (aws4fetch shown; any S3 SDK presigner works). `userRoot` confines the user to its folder.
 * const aws = new AwsClient({ accessKeyId, secretAccessKey, service: 's3', region });
 * async function sign(request: PresignRequest) {
 *   const bucketUrl = `https://s3.${region}.amazonaws.com/${bucket}`;
 *   const query = { aws: { signQuery: true } };
 *   if (request.method === 'LIST') {
 *     const url = new URL(bucketUrl);
 *     url.searchParams.set('list-type', '2');
 *     url.searchParams.set('prefix', userRoot + request.prefix);
 *     if (request.continuationToken) url.searchParams.set('continuation-token', request.continuationToken);
 *     return { url: (await aws.sign(url.href, { method: 'GET', ...query })).url };
 *   }
 *   const url = `${bucketUrl}/${encodeKeyPath(userRoot + request.key)}`;
 *   const headers: Record<string, string> = {};
 *   if (request.method === 'PUT' && request.checksumSha256) headers['x-amz-checksum-sha256'] = request.checksumSha256;
 *   const signed = await aws.sign(url, { method: request.method, headers, ...query });
 *   return { url: signed.url, headers };
 * }
 * ```
 */
export class PresignedObjectStore extends SignedHttpStore {
  readonly description: string;
  protected readonly target: HttpTarget;

  constructor(options: PresignedObjectStoreOptions) {
    super();
    if (typeof options?.sign !== 'function') throw new InvalidArgumentError('The sign option is required: a function that returns a signed URL for one request.');
    const signer = options.sign;
    const description = options.description ?? 'presigned object store';
    this.description = description;
    const fetch = checkFetch(options.fetch);
    const sign = async (request: PresignRequest, operation: Operation, key: string, headers: Headers, signal: AbortSignal | undefined): Promise<PreparedRequest> => {
      signal?.throwIfAborted();
      let signed: PresignedRequest;
      try {
        signed = await signer(request, signal === undefined ? {} : { signal });
      } catch (error) {
        if (isAbort(error, signal)) throw abortError(error, signal);
        if (error instanceof ObjectStoreError || error instanceof SyncAuthError) throw error;
        const reason = error instanceof Error ? error.message : String(error);
        throw new ObjectStoreError(`${description}: the signer failed for ${operation} of ${JSON.stringify(key)} (${reason}); it can be retried.`, {
          details: { operation, key, status: null, retryable: true },
          cause: error,
        });
      }
      if (typeof signed?.url !== 'string') {
        throw new InvalidArgumentError(`${description}: the signer must return { url, headers? } for ${operation} of ${JSON.stringify(key)}.`);
      }
      for (const [name, value] of Object.entries(signed.headers ?? {})) headers.set(name, value);
      return { url: signed.url, headers };
    };
    this.target = {
      description,
      fetch,
      cache: 'no-store',
      etagRequired: true,
      listedKeyRoot: normalisePrefix(options.prefix),
      object: (method, key, put, signal) => {
        const operation = method.toLowerCase() as Operation;
        const request: PresignRequest =
          method === 'PUT' ? { method, key, ...(put?.sha256 === undefined ? {} : { checksumSha256: put.sha256 }) } : { method, key };
        return sign(request, operation, key, putHeaders(put, false), signal);
      },
      listPage: (prefix, token, signal) =>
        sign({ method: 'LIST', prefix, ...(token === undefined ? {} : { continuationToken: token }) }, 'list', prefix, new Headers(), signal),
    };
  }

}

// ---------------------------------------------------------------------------------------------------------------
// Read-only HTTP
// ---------------------------------------------------------------------------------------------------------------

/** Options of {@link HttpObjectStore}. */
export interface HttpObjectStoreOptions {
  /** The folder URL the snapshot was published under; relative URLs resolve against the page. */
  baseUrl: string;
  fetch?: FetchFunction;
}

/**
 * A snapshot published on any static host or CDN (GitHub Pages, Netlify, an S3 website, the app's own `public/`),
 * read with plain GETs. Read-only: `put` and `delete` reject, and so does `list`, because a static host has no way
 * to enumerate a folder — a reader starts from a known key (the snapshot pointer) and follows the manifest.
 *
 * Reads revalidate with the host (`cache: 'no-cache'`) so that a moved pointer is seen. When the host sends no ETag,
 * or a cross-origin host does not expose it, `etag` is `''`; when a HEAD answer has no Content-Length, `head` reads
 * the object to learn its size.
 *
 * @example
 * ```ts
 * const published = new HttpObjectStore({ baseUrl: 'https://example.github.io/weather-demo/snapshot/' });
 * const pointer = await published.get('HEAD.json'); // null when nothing was published there
 * ```
 */
export class HttpObjectStore implements ObjectStore {
  readonly writable = false;
  readonly description: string;
  private readonly target: HttpTarget;

  constructor(options: HttpObjectStoreOptions) {
    const text = requireString(options?.baseUrl, 'baseUrl', 'the folder URL of the published snapshot');
    let base: URL;
    try {
      base = new URL(text, typeof location === 'undefined' ? undefined : location.href);
    } catch (error) {
      throw new InvalidArgumentError(`The baseUrl ${JSON.stringify(text)} is not a URL.`, { cause: error });
    }
    if (base.search !== '' || base.hash !== '') throw new InvalidArgumentError(`The baseUrl ${JSON.stringify(text)} must not carry a query or fragment.`);
    // A credential in the URL would end up in descriptions, messages and the store's sync state.
    if (base.username !== '' || base.password !== '') throw new InvalidArgumentError('The baseUrl must not carry a user name or password.');
    const folder = base.href.endsWith('/') ? base.href : `${base.href}/`;
    this.description = folder;
    this.target = {
      description: folder,
      fetch: checkFetch(options.fetch),
      cache: 'no-cache',
      etagRequired: false,
      listedKeyRoot: '',
      object: (_method, key) => Promise.resolve({ url: folder + encodeKeyPath(key), headers: new Headers() }),
      listPage: () => Promise.reject(new Error('unreachable: HttpObjectStore never lists')),
    };
  }

  get(key: string, options?: RequestOptions): Promise<{ body: Uint8Array; etag: string } | null> {
    return httpGet(this.target, key, options);
  }

  async head(key: string, options?: RequestOptions): Promise<ObjectInfo | null> {
    const info = await httpHead(this.target, key, options);
    if (info === null || !Number.isNaN(info.size)) return info;
    const object = await httpGet(this.target, key, options);
    return object === null ? null : { key, size: object.body.byteLength, etag: object.etag || info.etag };
  }

  put(key: string, _body: Uint8Array, _options?: PutOptions): Promise<string | null> {
    return Promise.reject(this.readOnly('put', key, 'publish snapshots with an S3ObjectStore or a PresignedObjectStore and serve the files as they are'));
  }

  list(prefix: string, _options?: RequestOptions): Promise<ObjectInfo[]> {
    return Promise.reject(this.readOnly('list', prefix, 'a static host cannot enumerate a folder; read the snapshot pointer and its manifest by key instead'));
  }

  delete(key: string, _options?: RequestOptions): Promise<void> {
    return Promise.reject(this.readOnly('delete', key, 'remove the files on the host itself'));
  }

  private readOnly(operation: Operation, key: string, advice: string): ObjectStoreError {
    return new ObjectStoreError(`${this.description} is a read-only HTTP snapshot: ${operation} is not possible; ${advice}.`, {
      details: { operation, key, status: null, retryable: false, readOnly: true },
    });
  }
}
