// Reading a daemon's (or the agent's) operations endpoints from outside, for `sparkngin check`,
// `sparkngin agent` and `sparkngin status|top` (src/cli/ops-client.ts): GET a path, with the ops token and TLS settings an operator gives, within a
// deadline and a bound on the answer's size. Node's http/https rather than fetch: fetch cannot be
// given a CA, a client certificate or "do not check the certificate" per request.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { SparknginError } from '../errors';

export interface OpsClientOptions {
  /** Ops token (`ops.tokens`), sent as `Authorization: Bearer`. */
  token?: string;
  /** PEM: CA certificates the server's certificate must chain to (default: the system's). */
  ca?: string | Buffer;
  /** PEM: client certificate and key, for a listener that asks for one. */
  cert?: Buffer;
  key?: Buffer;
  /** Do not check the server's certificate. */
  insecure?: boolean;
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface OpsAnswer {
  status: number;
  /** The body as text. */
  body: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: unknown;
  /** Time from the request to the end of the answer, in ms. */
  elapsedMs: number;
}

/** Nothing answered: refused, unreachable, timed out, TLS failed, or an answer too large. */
export class OpsUnreachableError extends SparknginError {
  constructor(url: string, why: string, cause?: unknown) {
    super('OPS_UNREACHABLE', `${url}: ${why}`, { cause, retriable: true });
  }
}

/** Largest answer read: /stats of a daemon with many sinks is a few kB. */
const MAX_BODY_BYTES = 4 * 1024 * 1024;

export function getOps(base: string, path: string, options: OpsClientOptions): Promise<OpsAnswer> {
  const url = new URL(path, base.endsWith('/') ? base : `${base}/`);
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const secure = url.protocol === 'https:';
    const headers: Record<string, string> = { accept: 'application/json' };
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
    const tls = secure ? { ca: options.ca, cert: options.cert, key: options.key, rejectUnauthorized: options.insecure !== true } : {};
    const fail = (why: string, cause?: unknown) => reject(new OpsUnreachableError(url.origin + url.pathname, why, cause));
    const request = (secure ? httpsRequest : httpRequest)(url, { method: 'GET', agent: false, headers, ...tls, ...(options.signal ? { signal: options.signal } : {}) }, (response: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_BODY_BYTES) request.destroy(new Error(`answer larger than ${MAX_BODY_BYTES} bytes`));
        else chunks.push(chunk);
      });
      response.on('error', (error) => fail(error.message, error));
      response.on('end', () => {
        clearTimeout(deadline);
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: response.statusCode ?? 0, body: text, json, elapsedMs: Date.now() - started });
      });
    });
    const deadline = setTimeout(() => request.destroy(new Error(`no answer within ${options.timeoutMs} ms`)), options.timeoutMs);
    request.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(deadline);
      fail(CONNECTION_ERRORS[error.code ?? ''] ?? error.message, error);
    });
    request.end();
  });
}

/** What a check prints for the ways a process that is not (or no longer) there fails a request. */
const CONNECTION_ERRORS: Readonly<Record<string, string>> = { ECONNREFUSED: 'connection refused', ECONNRESET: 'connection reset' };
