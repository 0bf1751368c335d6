// Node-only test servers for the sync tests: a real S3-compatible server (@20minutes/s3rver 4, which checks SigV4
// signatures) and a gateway in front of it that adds what s3rver lacks — conditional PUTs — and can inject faults.
//
//   client ──► gateway (127.0.0.1:G) ──► s3rver (127.0.0.1:S) ──► temp directory
//
// Things about s3rver 4.0.4 that shaped this file (read in node_modules/@20minutes/s3rver/lib):
// - Credentials are not an option: accounts live in a process-wide registry (`models/account.js`,
//   `AWSAccount.registry`), seeded with S3RVER/S3RVER; startS3 registers ours there, in the s3rver child process.
// - A request without any signature is let through as anonymous, with full access (`middleware/authentication.js`
//   returns early). So objects are public for plain GETs, and the gateway can read the current ETag with an unsigned
//   HEAD.
// - It ignores If-None-Match / If-Match on PUT (it only honours If-None-Match on GET, answering 304), and it checks
//   neither x-amz-checksum-sha256 nor Content-MD5.
// - CORS is a bucket sub-resource given as S3's XML document (`configureBuckets: [{ name, configs: [xml] }]`).
//   Every response of a matching rule gets `Access-Control-Allow-Origin: *`, errors included.
// - It writes an object in place (no temporary file), so a read racing a write can see a partial object: the gateway
//   serialises all requests for one key.
// - Virtual-hosted requests (`bucket.s3.localhost`) are routed, but their SigV4 check puts the bucket into the
//   canonical URI, so a correctly signed virtual-hosted request fails with SignatureDoesNotMatch.
// - ListObjectsV2 continuation tokens are DES-encrypted, which needs OpenSSL's legacy provider on Node 17+ (see
//   startS3), and listed keys are XML-escaped twice (`&` comes back as `&amp;amp;`): keys with & < > ' do not list
//   back as written. Keys with spaces, quotes, '+' and non-ASCII letters do.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const require = createRequire(import.meta.url);

export const TEST_BUCKET = 'larder';
export const TEST_ACCESS_KEY_ID = 'LARDERTEST';
export const TEST_SECRET_ACCESS_KEY = 'larder-test-secret';

/** Headers browsers may read from cross-origin answers; ETag is what conditional writes need. */
const EXPOSED_HEADERS = ['ETag', 'x-amz-checksum-sha256', 'x-amz-request-id', 'x-amz-version-id'];

function corsXml(): string {
  const methods = ['GET', 'PUT', 'HEAD', 'DELETE', 'POST'].map((m) => `<AllowedMethod>${m}</AllowedMethod>`).join('');
  const exposed = EXPOSED_HEADERS.map((h) => `<ExposeHeader>${h}</ExposeHeader>`).join('');
  return (
    '<?xml version="1.0" encoding="UTF-8"?>' +
    `<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin>${methods}<AllowedHeader>*</AllowedHeader>${exposed}` +
    '<MaxAgeSeconds>600</MaxAgeSeconds></CORSRule></CORSConfiguration>'
  );
}

export interface StartS3Options {
  bucket?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  /** Where objects are stored; default a fresh temp directory, removed by `close()`. */
  directory?: string;
}

export interface S3Server {
  /** `http://127.0.0.1:PORT` — path-style requests go to `${endpoint}/${bucket}/${key}`. */
  endpoint: string;
  port: number;
  directory: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  close(): Promise<void>;
}

/**
 * The program of the s3rver child process. It reads its settings from argv, registers the key pair, starts s3rver,
 * prints `{"port":N}` and stops when its stdin closes (so it never outlives the test process).
 */
const S3RVER_CHILD = `
const settings = JSON.parse(process.argv[1]);
const S3rver = require(settings.s3rverPath);
const AWSAccount = require(settings.accountPath);
new AWSAccount(123456789012, 'Larder tests').createKeyPair(settings.accessKeyId, settings.secretAccessKey);
const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: true,
  directory: settings.directory,
  serviceEndpoint: 'localhost',
  configureBuckets: [{ name: settings.bucket, configs: [settings.cors] }],
});
server.run().then(({ port }) => process.stdout.write(JSON.stringify({ port }) + '\\n'), (error) => {
  process.stderr.write(String(error && error.stack || error));
  process.exit(1);
});
process.stdin.resume();
process.stdin.on('end', () => {
  if (server.httpServer) server.httpServer.closeAllConnections();
  server.close().finally(() => process.exit(0));
});
`;

/**
 * Starts s3rver on 127.0.0.1 (a free port) with one bucket open to any origin, and our test credentials.
 *
 * s3rver runs in a child Node process started with `--openssl-legacy-provider`: its ListObjectsV2 continuation
 * tokens are DES-encrypted, which OpenSSL 3 (Node 17+) refuses, so without the flag every truncated listing answers
 * 500 InternalError (https://github.com/jamhall/s3rver/issues/818). The child also keeps s3rver's process-wide account
 * registry and logger out of the test process.
 */
export async function startS3(options: StartS3Options = {}): Promise<S3Server> {
  const bucket = options.bucket ?? TEST_BUCKET;
  const accessKeyId = options.accessKeyId ?? TEST_ACCESS_KEY_ID;
  const secretAccessKey = options.secretAccessKey ?? TEST_SECRET_ACCESS_KEY;
  const ownDirectory = options.directory === undefined;
  const directory = options.directory ?? (await mkdtemp(join(tmpdir(), 'larder-s3-')));
  const settings = {
    s3rverPath: require.resolve('@20minutes/s3rver'),
    accountPath: require.resolve('@20minutes/s3rver/lib/models/account'),
    directory,
    bucket,
    accessKeyId,
    secretAccessKey,
    cors: corsXml(),
  };
  const flags = process.allowedNodeEnvironmentFlags.has('--openssl-legacy-provider') ? ['--openssl-legacy-provider'] : [];
  const child = spawn(process.execPath, [...flags, '-e', S3RVER_CHILD, JSON.stringify(settings)], { stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const port = await new Promise<number>((resolve, reject) => {
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      const line = stdout.split('\n')[0];
      if (stdout.includes('\n') && line !== undefined) resolve((JSON.parse(line) as { port: number }).port);
    });
    child.once('exit', (code) => reject(new Error(`s3rver exited (code ${String(code)}) before listening: ${stderr}`)));
    child.once('error', reject);
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    directory,
    bucket,
    accessKeyId,
    secretAccessKey,
    async close() {
      child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
      if (ownDirectory) await rm(directory, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The gateway
// ---------------------------------------------------------------------------------------------------------------

/**
 * - `reset`: the connection is destroyed before any answer (the request never reaches s3rver).
 * - `500`, `503`, `429`: an S3 XML error answer from the gateway (the request never reaches s3rver).
 * - `truncate`: forwarded; the answer goes out with its full Content-Length but only half its body, then the
 *   connection is destroyed. Applies only to answers with a body; on others it is not injected (and not counted).
 * - `drop-after`: forwarded — so a write happens — then the client connection is destroyed before the answer.
 */
export type FaultKind = 'reset' | '500' | '503' | '429' | 'truncate' | 'drop-after';

export const FAULT_KINDS: readonly FaultKind[] = ['reset', '500', '503', '429', 'truncate', 'drop-after'];

export interface FaultConfig {
  /** Seed of the generator that picks, request by request in arrival order, whether and which fault strikes. */
  seed: number;
  /** Probability (0..1) that a request gets a fault. */
  rate: number;
  kinds: FaultKind[];
  /** Only requests with these methods get faults (default: all but OPTIONS, which never do). */
  methods?: string[];
  /** Only requests whose path (query excluded, percent-encoded as sent) contains this text — e.g. a test's own key prefix. */
  pathContains?: string;
}

export interface GatewayStats {
  /** Requests seen (preflights and control requests excluded). */
  requests: number;
  /** Conditional PUTs refused with 412 by the gateway. */
  preconditionFailures: number;
  /** Faults injected, by kind. */
  faults: Record<FaultKind, number>;
}

export interface S3Gateway {
  endpoint: string;
  port: number;
  /** Sets the fault plan (and restarts the counts), or turns faults off with null (counts are kept for reading). */
  setFaults(config: FaultConfig | null): void;
  stats(): GatewayStats;
  close(): Promise<void>;
}

export interface StartGatewayOptions {
  upstreamHost?: string;
}

/** Hop-by-hop headers a proxy must not pass on (RFC 9110 §7.6.1); everything else goes through byte for byte. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer']);

function endToEnd(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  return out;
}

/** CORS headers of the answers the gateway makes itself. */
function gatewayCors(): Record<string, string> {
  return { 'access-control-allow-origin': '*', 'access-control-expose-headers': EXPOSED_HEADERS.join(', '), vary: 'Origin' };
}

function xmlEscape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function sendS3Error(res: ServerResponse, status: number, code: string, message: string): void {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${xmlEscape(message)}</Message></Error>`;
  res.writeHead(status, { ...gatewayCors(), 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    'access-control-allow-origin': '*',
    'access-control-allow-methods': 'GET, POST, OPTIONS',
    'access-control-allow-headers': 'content-type',
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

/** A small seeded generator (32-bit state, splitmix-style mixing): the same seed replays the same faults. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return ((z ^ (z >>> 16)) >>> 0) / 4294967296;
  };
}

/** Runs tasks one at a time per key, in arrival order. */
class KeyedQueue {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const done = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => done);
    this.tails.set(key, tail);
    await previous;
    try {
      return await task();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}

function readAll(stream: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

/** `"abc"`, `W/"abc"` and `abc` name the same entity tag here (S3 compares strongly, quotes optional). */
function sameTag(a: string, b: string): boolean {
  const bare = (tag: string): string => tag.trim().replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
  return bare(a) === bare(b);
}

function listMatches(header: string, current: string): boolean {
  return header.split(',').some((tag) => tag.trim() === '*' || sameTag(tag, current));
}

/**
 * Starts the gateway in front of s3rver at `upstreamPort`. Every request is forwarded unchanged (method, path,
 * query, Host and all end-to-end headers, the body streamed), so SigV4 signatures still verify upstream.
 *
 * Conditional PUTs (`If-None-Match`, `If-Match`) are evaluated here, atomically: all requests for one key (host +
 * path) run one at a time, so nothing can slip between reading the current ETag and writing. The current ETag comes
 * from an unsigned HEAD of the same host and path upstream — s3rver serves anonymous requests — which keeps the
 * gateway free of s3rver's on-disk layout and routes exactly like the PUT (path or virtual-hosted). When the
 * condition fails, real S3 would still check the signature first (a wrong secret must not look like a lost race),
 * so the gateway asks s3rver to authenticate the very request without letting it write: it forwards it with an extra,
 * unsigned `x-amz-storage-class` that s3rver rejects (400 InvalidStorageClass) only after the signature check and
 * before storing anything. A 400 InvalidStorageClass therefore means "authenticated": the gateway answers 412
 * PreconditionFailed; any other answer (403 SignatureDoesNotMatch, 404 NoSuchBucket) is passed on. If-Match on a
 * missing key answers 412, as RFC 9110 says (AWS documents 404 NoSuchKey; clients should take both).
 *
 * Control endpoints (not forwarded, CORS-enabled for browser tests): `POST /__larder/faults` with a JSON
 * {@link FaultConfig} or `null`; `GET /__larder/stats`.
 */
export async function startGateway(upstreamPort: number, options: StartGatewayOptions = {}): Promise<S3Gateway> {
  const upstreamHost = options.upstreamHost ?? '127.0.0.1';
  const agent = new Agent({ keepAlive: true });
  const queue = new KeyedQueue();
  const emptyFaults = (): Record<FaultKind, number> => ({ reset: 0, '500': 0, '503': 0, '429': 0, truncate: 0, 'drop-after': 0 });
  let counts: GatewayStats = { requests: 0, preconditionFailures: 0, faults: emptyFaults() };
  let plan: { config: FaultConfig; random: () => number } | null = null;

  function setFaults(config: FaultConfig | null): void {
    if (config === null) {
      plan = null;
      return;
    }
    if (!(config.rate >= 0 && config.rate <= 1)) throw new Error(`Fault rate must be within 0..1, not ${config.rate}.`);
    if (!Array.isArray(config.kinds) || config.kinds.length === 0 || config.kinds.some((k) => !FAULT_KINDS.includes(k))) {
      throw new Error(`Fault kinds must be a non-empty list among ${FAULT_KINDS.join(', ')}.`);
    }
    plan = { config: { ...config, kinds: [...config.kinds] }, random: seededRandom(config.seed) };
    counts = { requests: 0, preconditionFailures: 0, faults: emptyFaults() };
  }

  function pickFault(method: string, path: string): FaultKind | null {
    if (plan === null) return null;
    const { config, random } = plan;
    if (config.methods !== undefined && !config.methods.includes(method)) return null;
    if (config.pathContains !== undefined && !path.includes(config.pathContains)) return null;
    if (random() >= config.rate) return null;
    return config.kinds[Math.floor(random() * config.kinds.length)] ?? null;
  }

  function upstream(method: string, path: string, headers: OutgoingHttpHeaders): ReturnType<typeof httpRequest> {
    return httpRequest({ host: upstreamHost, port: upstreamPort, method, path, headers, agent });
  }

  /** The current ETag of the object the request addresses, or null when there is none (unsigned HEAD, see above). */
  function currentEtag(req: IncomingMessage, path: string): Promise<string | null> {
    return new Promise((resolve, reject) => {
      const head = upstream('HEAD', path, { host: req.headers.host ?? `127.0.0.1:${upstreamPort}` });
      head.on('response', (answer) => {
        answer.resume();
        if (answer.statusCode === 404) resolve(null);
        else if (answer.statusCode === 200 && typeof answer.headers.etag === 'string') resolve(answer.headers.etag);
        else reject(new Error(`HEAD ${path} upstream answered ${answer.statusCode ?? '?'} without an ETag.`));
      });
      head.on('error', reject);
      head.end();
    });
  }

  /** Forwards the request with a poisoned storage class: s3rver authenticates it, then refuses to store it. */
  function authenticateOnly(req: IncomingMessage): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
    return new Promise((resolve, reject) => {
      const probe = upstream(req.method ?? 'PUT', req.url ?? '/', { ...endToEnd(req.headers), 'x-amz-storage-class': 'LARDER-PRECONDITION-PROBE' });
      probe.on('response', (answer) => {
        readAll(answer).then((body) => resolve({ status: answer.statusCode ?? 502, headers: answer.headers, body }), reject);
      });
      // s3rver answers before reading the body; the rest of the upload may then be refused, which is fine.
      probe.on('error', (error) => reject(error));
      req.pipe(probe);
    });
  }

  /** Forwards the request and relays the answer, or spoils the answer as `fault` says. */
  function forward(req: IncomingMessage, res: ServerResponse, fault: FaultKind | null): Promise<void> {
    return new Promise((resolve) => {
      const out = upstream(req.method ?? 'GET', req.url ?? '/', endToEnd(req.headers));
      out.on('response', (answer) => {
        const status = answer.statusCode ?? 502;
        if (fault === 'drop-after') {
          answer.resume();
          answer.on('end', () => {
            counts.faults['drop-after'] += 1;
            req.socket.destroy();
            resolve();
          });
          return;
        }
        if (fault === 'truncate') {
          readAll(answer).then(
            (body) => {
              if (req.method === 'HEAD' || body.length === 0) {
                res.writeHead(status, endToEnd(answer.headers));
                res.end(body);
                resolve();
                return;
              }
              counts.faults.truncate += 1;
              res.writeHead(status, { ...endToEnd(answer.headers), 'content-length': body.length });
              res.write(body.subarray(0, Math.floor(body.length / 2)), () => {
                res.socket?.destroy();
                resolve();
              });
            },
            () => {
              res.destroy();
              resolve();
            },
          );
          return;
        }
        res.writeHead(status, endToEnd(answer.headers));
        answer.pipe(res);
        res.on('close', () => resolve());
      });
      out.on('error', (error) => {
        if (!res.headersSent) sendS3Error(res, 502, 'BadGateway', `s3rver did not answer: ${error.message}`);
        else res.destroy();
        resolve();
      });
      // The client went away before the answer: do not leave the upstream request hanging.
      res.on('close', () => {
        if (!res.writableFinished && fault !== 'drop-after') out.destroy();
      });
      req.pipe(out);
    });
  }

  async function conditionalPut(req: IncomingMessage, res: ServerResponse, path: string, fault: FaultKind | null): Promise<void> {
    const ifNoneMatch = req.headers['if-none-match'];
    const ifMatch = req.headers['if-match'];
    const current = await currentEtag(req, path);
    let holds = true;
    if (ifNoneMatch !== undefined && current !== null && listMatches(ifNoneMatch, current)) holds = false;
    if (ifMatch !== undefined && (current === null || !listMatches(ifMatch, current))) holds = false;
    if (holds) return forward(req, res, fault);
    const probe = await authenticateOnly(req);
    if (probe.status === 400 && probe.body.toString('utf8').includes('<Code>InvalidStorageClass</Code>')) {
      counts.preconditionFailures += 1;
      sendS3Error(res, 412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold');
      return;
    }
    res.writeHead(probe.status, { ...endToEnd(probe.headers), 'content-length': probe.body.length });
    res.end(probe.body);
  }

  async function control(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    if (req.method === 'OPTIONS') return sendJson(res, 200, null);
    if (path === '/__larder/stats' && req.method === 'GET') return sendJson(res, 200, counts);
    if (path === '/__larder/faults' && req.method === 'POST') {
      const text = (await readAll(req)).toString('utf8');
      try {
        setFaults(JSON.parse(text === '' ? 'null' : text) as FaultConfig | null);
      } catch (error) {
        return sendJson(res, 400, { error: error instanceof Error ? error.message : String(error) });
      }
      return sendJson(res, 200, { faults: plan?.config ?? null });
    }
    sendJson(res, 404, { error: `No control endpoint ${req.method ?? ''} ${path}; use POST /__larder/faults or GET /__larder/stats.` });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (path.startsWith('/__larder/')) return control(req, res, path);
    // Preflights go straight through: s3rver answers them from the bucket's CORS rules.
    if (method === 'OPTIONS') return forward(req, res, null);
    counts.requests += 1;
    const fault = pickFault(method, path);
    if (fault === 'reset') {
      counts.faults.reset += 1;
      req.socket.destroy();
      return;
    }
    if (fault === '500' || fault === '503' || fault === '429') {
      counts.faults[fault] += 1;
      req.resume();
      const [code, message] =
        fault === '500' ? ['InternalError', 'We encountered an internal error. Please try again.'] : fault === '503' ? ['SlowDown', 'Please reduce your request rate.'] : ['TooManyRequests', 'Too many requests.'];
      sendS3Error(res, Number(fault), code, message);
      return;
    }
    await queue.run(`${req.headers.host ?? ''}${path}`, () =>
      method === 'PUT' && (req.headers['if-none-match'] !== undefined || req.headers['if-match'] !== undefined)
        ? conditionalPut(req, res, path, fault)
        : forward(req, res, fault),
    );
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendS3Error(res, 500, 'InternalError', `Gateway failure: ${error instanceof Error ? error.message : String(error)}`);
      else res.destroy();
    });
  });
  const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    setFaults,
    stats: () => structuredClone(counts),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}

export interface S3Stack {
  s3: S3Server;
  gateway: S3Gateway;
  close(): Promise<void>;
}

/** s3rver and the gateway in front of it; `close()` stops both and removes the data. */
export async function startS3Stack(options: StartS3Options = {}): Promise<S3Stack> {
  const s3 = await startS3(options);
  const gateway = await startGateway(s3.port);
  return {
    s3,
    gateway,
    async close() {
      await gateway.close();
      await s3.close();
    },
  };
}
