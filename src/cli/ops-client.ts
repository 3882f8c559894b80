// How a command reaches a daemon's operations endpoints (/stats, /imok, …): the URL (given, or
// worked out from the daemon's configuration: ops.listen when set, else the ingest listener), the
// ops token (--token or SPARKNGIN_OPS_TOKEN, never echoed) and, for HTTPS, the CA to trust.
// One GET with a deadline; an answer that is not 2xx is an error naming the status and its text.
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Config } from '../config/defaults';
import { loadConfig } from '../config/load';
import { SparknginError } from '../errors';
import { UsageError } from './command';

export const OPS_TOKEN_VARIABLE = 'SPARKNGIN_OPS_TOKEN';

/** The options every such command takes, for parseOptions. */
export const OPS_CLIENT_OPTIONS = {
  url: { type: 'string' },
  config: { type: 'string' },
  token: { type: 'string' },
  ca: { type: 'string' },
  timeout: { type: 'string' },
} as const;

export const OPS_CLIENT_USAGE = `  --url URL        the daemon's operations endpoints, e.g. http://127.0.0.1:7081 (default: from
                   --config, else http://127.0.0.1:7080)
  --config FILE    the daemon's configuration: ops.listen when set, else listen (and https with tls)
  --token TOKEN    an ops token (ops.tokens); default: the ${OPS_TOKEN_VARIABLE} variable
  --ca FILE        CA certificate (PEM) to trust for https
  --timeout SECS   give up after this long (default 5)`;

export interface OpsTarget {
  url: string;
  token?: string;
  ca?: string;
  timeoutMs: number;
}

/** The daemon cannot be asked: refused, timed out, or it answered with an error. */
export class OpsRequestError extends SparknginError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('OPS_UNREACHABLE', message, options);
  }
}

/** Where a daemon with this configuration answers operations requests (a wildcard address is asked on loopback). */
export function opsUrl(config: Config): string {
  const local = (host: string) => (host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '[::1]' : host.includes(':') && !host.startsWith('[') ? `[${host}]` : host);
  if (config.ops.listen !== '') {
    const colon = config.ops.listen.lastIndexOf(':');
    return `http://${local(config.ops.listen.slice(0, colon).replace(/^\[|\]$/g, ''))}:${config.ops.listen.slice(colon + 1)}`;
  }
  return `${config.tls.cert === '' ? 'http' : 'https'}://${local(config.listen.host)}:${config.listen.port}`;
}

/** The target the options name; a bad --timeout is a usage error of `usage`. */
export function opsTarget(values: { url?: string; config?: string; token?: string; ca?: string; timeout?: string }, usage: string, env: NodeJS.ProcessEnv = process.env): OpsTarget {
  const url = (values.url ?? (values.config !== undefined ? opsUrl(loadConfig({ file: values.config })) : 'http://127.0.0.1:7080')).replace(/\/+$/, '');
  const token = values.token ?? env[OPS_TOKEN_VARIABLE];
  const seconds = values.timeout === undefined ? 5 : Number(values.timeout);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new UsageError(`--timeout: expected seconds, got '${values.timeout}'`, usage);
  return { url, ...(token ? { token } : {}), ...(values.ca === undefined ? {} : { ca: readFileSync(values.ca, 'utf8') }), timeoutMs: seconds * 1000 };
}

/** GET `path` of the target: the body as text, and the status (any 2xx or, when `accept` says so, other statuses too). */
export function opsGet(target: OpsTarget, path: string, accept: (status: number) => boolean = (status) => status < 300): Promise<{ status: number; body: string }> {
  const url = new URL(path, `${target.url}/`);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const request = send(
      url,
      { headers: target.token ? { authorization: `Bearer ${target.token}` } : {}, ...(target.ca ? { ca: target.ca } : {}), agent: false, timeout: target.timeoutMs },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => {
          const status = response.statusCode ?? 0;
          if (accept(status)) resolve({ status, body });
          else reject(new OpsRequestError(`${url.origin}${url.pathname} answered ${status}: ${body.slice(0, 300).trim()}`));
        });
      },
    );
    request.on('timeout', () => request.destroy(new Error(`no answer within ${target.timeoutMs} ms`)));
    request.on('error', (error) => reject(new OpsRequestError(`cannot ask ${url.origin}: ${error.message}`, { cause: error })));
    request.end();
  });
}
