// The client's options: what a user may set (ClientOptions, documented here and in docs/client.md),
// their defaults, and their checking. Like the daemon's configuration, strict at the edge: an
// unknown option or a value out of range is a ClientOptionError naming it, not a surprise later.
import { Z85_KEY } from '../ingest/zmq/curve';
import { ClientOptionError } from './errors';

/** The daemon's two ack modes (src/ingest/target.ts), named again here so the client's types stand alone. */
export type AckMode = 'spool' | 'sink';
export type Balance = 'round-robin' | 'least-loaded';
export type WhenFull = 'block' | 'fail';
export type DiscoveryTransport = 'http' | 'zmq';

/** Where log lines go: the daemon's Logger fits, so does anything with these two methods. */
export interface ClientLogger {
  warn(event: string, fields?: Record<string, unknown>): void;
  error(event: string, fields?: Record<string, unknown>): void;
}

export interface ClientOptions {
  /**
   * Base URLs of the instances (`http://host:7080`, or with a path behind a proxy), or the ZeroMQ
   * ROUTER of an instance (`tcp://host:7082`: zmq.router with zmq.framing nw1). Without them:
   * `SPARKNGIN_URL` (comma-separated), else instances found on the LAN by DNS-SD (`_sparkngin._tcp`).
   */
  urls?: string | readonly string[];
  /** Bearer token for ingest auth; default `SPARKNGIN_TOKEN`. */
  token?: string;
  /** For https:// instances: the CA to trust (PEM; default Node's), and a client certificate and key for mutual TLS. */
  tls?: { ca?: string | Buffer; cert?: string | Buffer; key?: string | Buffer };
  /**
   * For `tcp://` instances whose ROUTER is a CURVE server (zmq.curveSecretKey): its public key, and
   * this client's key pair (made for the client when not given; give one the server lists in
   * zmq.curveClients). Z85, 40 characters each (`sparkngin zmq-keys`). `maxMessageBytes`: the
   * instances' zmq.maxMessageBytes (default 16 MiB, the daemon's default): a message larger than it
   * is never sent (libzmq would drop the connection, again on every retry); a batch over it is
   * halved, one event over it alone is refused at once (EVENT_REFUSED, 413 MESSAGE_TOO_LARGE), as
   * the daemon answers over HTTP.
   */
  zmq?: { curveServerKey?: string; curvePublicKey?: string; curveSecretKey?: string; maxMessageBytes?: number };
  /** `spool` (default): acknowledged once an instance has the event on its disk; `sink`: once every routed sink (Kafka) has it. */
  ack?: AckMode;
  batch?: {
    /** Most events in one request (default 1000). */
    maxEvents?: number;
    /** Most bytes of encoded events in one request (default 1 MiB). */
    maxBytes?: number;
    /** Longest an event waits for its batch to fill, in ms (default 5; 0: only events sent in the same tick go together). */
    lingerMs?: number;
  };
  /** Most requests in flight, across all instances (default 8). */
  maxInFlight?: number;
  buffer?: {
    /** Most bytes of events held in memory, from send() until acknowledged or spilled (default 64 MiB). */
    maxBytes?: number;
    /** When full: `block` (default) makes send() wait for room, up to maxBlockMs; `fail` rejects at once (BUFFER_FULL). */
    whenFull?: WhenFull;
    /** Longest send() waits for room under `block`, in ms (default 60 000), then BUFFER_FULL. */
    maxBlockMs?: number;
  };
  /** Waits between tries of a batch when no other instance can take it: exponential with jitter, at least what Retry-After asks. */
  retry?: { initialMs?: number; maxMs?: number; factor?: number; jitter?: number };
  /** An event not acknowledged this long after send() is spilled (with `spill`) or rejected (DELIVERY_TIMEOUT); 0 = never (default 120 000). */
  deliveryTimeoutMs?: number;
  /** One request's timeout, in ms (default 35 000: above the daemon's 30 s http.sinkAckTimeoutMs). */
  requestTimeoutMs?: number;
  /** How a batch picks its instance among those up: `round-robin` (default) or `least-loaded` (fewest requests in flight). */
  balance?: Balance;
  /** How often an instance that failed is probed (`GET /health`) until it answers again, in ms (default 1000). */
  healthIntervalMs?: number;
  /**
   * Local disk spill: while no instance can take events, they are written (fsynced) here and
   * delivered when one can, by this process or the next one started on the same dir. The dir is
   * locked: one client per dir.
   */
  spill?: { dir: string; maxBytes?: number };
  /** Discovery of instances on the LAN when no URL is given. */
  discovery?: {
    timeoutMs?: number;
    interfaces?: string[];
    /** `http` (default): each instance's HTTP ingest; `zmq`: its ZeroMQ ROUTER, for instances that advertise one taking nw1. */
    transport?: DiscoveryTransport;
  };
  logger?: ClientLogger;
}

export interface ClientSettings {
  urls: string[] | undefined;
  token: string | undefined;
  tls: { ca?: string | Buffer; cert?: string | Buffer; key?: string | Buffer };
  zmq: ZmqSettings;
  ack: AckMode;
  batch: { maxEvents: number; maxBytes: number; lingerMs: number };
  maxInFlight: number;
  buffer: { maxBytes: number; whenFull: WhenFull; maxBlockMs: number };
  retry: { initialMs: number; maxMs: number; factor: number; jitter: number };
  deliveryTimeoutMs: number;
  requestTimeoutMs: number;
  balance: Balance;
  healthIntervalMs: number;
  spill: { dir: string; maxBytes: number } | undefined;
  discovery: { timeoutMs: number; interfaces: string[] | undefined; transport: DiscoveryTransport };
  logger: ClientLogger;
}

/** For tcp:// instances: CURVE keys (none, or the server's public key with a client key pair; undefined: made per client), and their message size limit. */
export interface ZmqSettings {
  curveServerKey?: string;
  curvePublicKey?: string;
  curveSecretKey?: string;
  maxMessageBytes: number;
}

const MiB = 1024 * 1024;
const silent: ClientLogger = { warn: () => undefined, error: () => undefined };

export const CLIENT_DEFAULTS = {
  ack: 'spool',
  batch: { maxEvents: 1000, maxBytes: 1 * MiB, lingerMs: 5 },
  maxInFlight: 8,
  buffer: { maxBytes: 64 * MiB, whenFull: 'block', maxBlockMs: 60_000 },
  retry: { initialMs: 100, maxMs: 10_000, factor: 2, jitter: 0.2 },
  deliveryTimeoutMs: 120_000,
  requestTimeoutMs: 35_000,
  balance: 'round-robin',
  healthIntervalMs: 1000,
  spillMaxBytes: 1024 * MiB,
  /** The daemon's zmq.maxMessageBytes default (src/config/defaults.ts). */
  zmqMaxMessageBytes: 16 * MiB,
  discoveryTimeoutMs: 2000,
} as const;

const TOP = new Set(['urls', 'token', 'tls', 'zmq', 'ack', 'batch', 'maxInFlight', 'buffer', 'retry', 'deliveryTimeoutMs', 'requestTimeoutMs', 'balance', 'healthIntervalMs', 'spill', 'discovery', 'logger']);
const NESTED: Record<string, Set<string>> = {
  batch: new Set(['maxEvents', 'maxBytes', 'lingerMs']),
  buffer: new Set(['maxBytes', 'whenFull', 'maxBlockMs']),
  retry: new Set(['initialMs', 'maxMs', 'factor', 'jitter']),
  spill: new Set(['dir', 'maxBytes']),
  tls: new Set(['ca', 'cert', 'key']),
  zmq: new Set(['curveServerKey', 'curvePublicKey', 'curveSecretKey', 'maxMessageBytes']),
  discovery: new Set(['timeoutMs', 'interfaces', 'transport']),
};

/** Options + environment → settings, or ClientOptionError naming every problem. */
export function resolveOptions(options: ClientOptions, env: NodeJS.ProcessEnv = process.env): ClientSettings {
  const problems: string[] = [];
  for (const key of Object.keys(options)) {
    if (!TOP.has(key)) problems.push(`unknown option '${key}'`);
    const allowed = NESTED[key];
    const value = (options as Record<string, unknown>)[key];
    if (allowed && value !== undefined) {
      if (typeof value !== 'object' || value === null) problems.push(`${key}: expected an object`);
      else for (const inner of Object.keys(value)) if (!allowed.has(inner)) problems.push(`unknown option '${key}.${inner}'`);
    }
  }
  const number = (name: string, value: number | undefined, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number => {
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) problems.push(`${name}: expected a number from ${min} to ${max}, got ${String(value)}`);
    return value;
  };
  const oneOf = <T extends string>(name: string, value: T | undefined, fallback: T, allowed: readonly T[]): T => {
    if (value === undefined) return fallback;
    if (!allowed.includes(value)) problems.push(`${name}: expected one of ${allowed.join(', ')}, got ${String(value)}`);
    return value;
  };
  const d = CLIENT_DEFAULTS;
  const settings: ClientSettings = {
    urls: endpointUrls(options.urls, env, problems),
    token: options.token ?? (env.SPARKNGIN_TOKEN || undefined),
    tls: { ...options.tls },
    zmq: { ...options.zmq, maxMessageBytes: number('zmq.maxMessageBytes', options.zmq?.maxMessageBytes, d.zmqMaxMessageBytes, 1) },
    ack: oneOf('ack', options.ack, d.ack, ['spool', 'sink']),
    batch: {
      maxEvents: number('batch.maxEvents', options.batch?.maxEvents, d.batch.maxEvents, 1),
      maxBytes: number('batch.maxBytes', options.batch?.maxBytes, d.batch.maxBytes, 1024),
      lingerMs: number('batch.lingerMs', options.batch?.lingerMs, d.batch.lingerMs, 0, 60_000),
    },
    maxInFlight: number('maxInFlight', options.maxInFlight, d.maxInFlight, 1, 1024),
    buffer: {
      maxBytes: number('buffer.maxBytes', options.buffer?.maxBytes, d.buffer.maxBytes, 1024),
      whenFull: oneOf('buffer.whenFull', options.buffer?.whenFull, d.buffer.whenFull, ['block', 'fail']),
      maxBlockMs: number('buffer.maxBlockMs', options.buffer?.maxBlockMs, d.buffer.maxBlockMs, 0),
    },
    retry: {
      initialMs: number('retry.initialMs', options.retry?.initialMs, d.retry.initialMs, 1),
      maxMs: number('retry.maxMs', options.retry?.maxMs, d.retry.maxMs, 1),
      factor: number('retry.factor', options.retry?.factor, d.retry.factor, 1, 100),
      jitter: number('retry.jitter', options.retry?.jitter, d.retry.jitter, 0, 1),
    },
    deliveryTimeoutMs: number('deliveryTimeoutMs', options.deliveryTimeoutMs, d.deliveryTimeoutMs, 0),
    requestTimeoutMs: number('requestTimeoutMs', options.requestTimeoutMs, d.requestTimeoutMs, 1),
    balance: oneOf('balance', options.balance, d.balance, ['round-robin', 'least-loaded']),
    healthIntervalMs: number('healthIntervalMs', options.healthIntervalMs, d.healthIntervalMs, 10),
    spill: undefined,
    discovery: {
      timeoutMs: number('discovery.timeoutMs', options.discovery?.timeoutMs, d.discoveryTimeoutMs, 1),
      interfaces: options.discovery?.interfaces,
      transport: oneOf('discovery.transport', options.discovery?.transport, 'http', ['http', 'zmq']),
    },
    logger: options.logger ?? silent,
  };
  if (options.spill !== undefined) {
    if (typeof options.spill.dir !== 'string' || options.spill.dir === '') problems.push('spill.dir: expected a directory path');
    settings.spill = { dir: options.spill.dir, maxBytes: number('spill.maxBytes', options.spill.maxBytes, d.spillMaxBytes, MiB) };
  }
  for (const name of ['curveServerKey', 'curvePublicKey', 'curveSecretKey'] as const) {
    const key = settings.zmq[name];
    if (key !== undefined && (typeof key !== 'string' || !Z85_KEY.test(key))) problems.push(`zmq.${name}: expected a CURVE key in Z85 (40 characters)`);
  }
  const { curveServerKey, curvePublicKey, curveSecretKey } = settings.zmq;
  if ((curvePublicKey === undefined) !== (curveSecretKey === undefined)) problems.push('zmq: curvePublicKey and curveSecretKey go together (a key pair)');
  if (curvePublicKey !== undefined && curveServerKey === undefined) problems.push('zmq.curvePublicKey: needs zmq.curveServerKey (the key pair is for a CURVE server)');
  if (settings.token !== undefined && !/^[\x21-\x7e]+$/.test(settings.token)) problems.push('token: expected printable ASCII without spaces');
  if (problems.length > 0) throw new ClientOptionError(problems);
  return settings;
}

/** The URLs from the options, else from SPARKNGIN_URL; undefined means "discover them". */
function endpointUrls(given: ClientOptions['urls'], env: NodeJS.ProcessEnv, problems: string[]): string[] | undefined {
  const source = given !== undefined ? 'urls' : 'SPARKNGIN_URL';
  const list = given !== undefined ? (typeof given === 'string' ? [given] : [...given]) : env.SPARKNGIN_URL ? env.SPARKNGIN_URL.split(',') : undefined;
  if (list === undefined) return undefined;
  const urls = list.map((url) => url.trim()).filter((url) => url !== '');
  if (urls.length === 0) problems.push(`${source}: no URL in it`);
  for (const url of urls) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(url);
    } catch {
      // reported below
    }
    if (parsed === undefined || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:' && parsed.protocol !== 'tcp:')) problems.push(`${source}: '${url}' is not an http://, https:// or tcp:// URL`);
    else if (parsed.protocol === 'tcp:' && (parsed.port === '' || parsed.hostname === '' || !['', '/'].includes(parsed.pathname) || parsed.search !== '' || parsed.username !== '')) problems.push(`${source}: '${url}' is not a ZeroMQ endpoint tcp://HOST:PORT`);
    else if (parsed.search !== '' || parsed.hash !== '') problems.push(`${source}: '${url}' has a query or fragment; give the base URL`);
  }
  return urls;
}
