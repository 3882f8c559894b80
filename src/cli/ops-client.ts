// How a command reaches a daemon's operations endpoints (/stats, /imok, …): the URL (given, or
// worked out from the daemon's configuration: ops.listen when set, else the ingest listener), the
// ops token (--token or SPARKNGIN_OPS_TOKEN, never echoed) and, for HTTPS, the CA to trust.
// The GET itself is src/ops/ops-client.ts's, shared with `check` and `agent`.
import { readFileSync } from 'node:fs';
import type { Config } from '../config/defaults';
import { loadConfig } from '../config/load';
import { getOps, OpsUnreachableError } from '../ops/ops-client';
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

/** GET `path` of the target: the body of a 2xx answer; any other answer is an error naming its status and text. */
export async function opsGet(target: OpsTarget, path: string): Promise<string> {
  const answer = await getOps(target.url, path, { timeoutMs: target.timeoutMs, ...(target.token ? { token: target.token } : {}), ...(target.ca ? { ca: target.ca } : {}) });
  if (answer.status < 200 || answer.status >= 300) throw new OpsUnreachableError(`${target.url}/${path}`, `answered ${answer.status}: ${answer.body.slice(0, 300).trim()}`);
  return answer.body;
}
