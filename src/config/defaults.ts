// The whole configuration with its defaults: the shape here is the schema. Every key a user may set
// is a key of DEFAULTS; anything else in a file, env variable or flag is an error (strict at the
// edges). Comments are the documentation `sparkngin config defaults` and the man page carry.
import { hostname } from 'node:os';
import type { FileSinkConfig } from '../sinks/file/config';
import type { FlumeSinkConfig } from '../sinks/flume/config';
import type { KafkaSinkConfig } from '../sinks/kafka/config';
import { DEFAULT_RETRY, MiB } from '../sinks/kind';
import { SINK_KINDS } from '../sinks/kinds';
import type { SyslogSinkConfig } from '../sinks/syslog/config';
import type { ZeromqSinkConfig } from '../sinks/zeromq/config';

// Each sink kind's settings live in its folder (src/sinks/<kind>/config.ts); re-exported here for
// the code that reads them as part of the whole configuration.
export type { FileSinkConfig } from '../sinks/file/config';
export type { KafkaCompression, KafkaSaslConfig, KafkaSinkConfig, KafkaTlsConfig, KafkaValue, SaslMechanism } from '../sinks/kafka/config';
export type { FlumeSinkConfig, SyslogSinkConfig, ZeromqSinkConfig };
export { DEFAULT_RETRY, MiB };

/** A sink instance's settings, of whichever kind (`kind` tells). */
export type AnySinkConfig = FileSinkConfig | KafkaSinkConfig | ZeromqSinkConfig | SyslogSinkConfig | FlumeSinkConfig;

/**
 * The sink instances by name. One instance of each kind is always there under the kind's name (the
 * file sink on, the others off until their endpoint is given); more are added by name with a `kind`.
 */
export type SinksConfig = { file: FileSinkConfig; kafka: KafkaSinkConfig; zeromq: ZeromqSinkConfig; syslog: SyslogSinkConfig; flume: FlumeSinkConfig } & Record<string, AnySinkConfig>;

/** A route: events whose topic matches one of `topics` go to each of `sinks` (fan-out). */
export interface RouteConfig {
  topics: string[];
  sinks: string[];
}

export type FsyncMode = 'batch' | 'always' | 'never';
export type FullPolicy = 'reject' | 'drop-oldest';
export type ClientCertMode = 'none' | 'request' | 'require';
export type AckSetting = 'spool' | 'sink';
export type ZmqFraming = 'raw' | 'nw1';
export type ZmqEventType = 'binary' | 'text' | 'json';

/** A credential for writing events: the SHA-256 of a token (`sparkngin token new`) and its topics. */
export interface TokenGrant {
  /** Who holds it: rate limits and logs use the name, never the token. */
  name: string;
  /** SHA-256 of the token, 64 hex digits. */
  sha256: string;
  /** Topic patterns (`*` wildcard) the token may write. */
  topics: string[];
}

/** A token for the operations endpoints (`/stats`, `/metrics`, `/ready`). */
export interface OpsTokenGrant {
  name: string;
  sha256: string;
}

/** Topics a verified client certificate may write, by its subject's common name (mutual TLS). */
export interface CertificateGrant {
  cn: string;
  topics: string[];
}

export interface RetryConfig {
  /** First wait after a failed send, in ms. */
  initialMs: number;
  /** Longest wait between tries, in ms; retries never stop, only slow down to this. */
  maxMs: number;
  /** Growth of the wait per failure. */
  factor: number;
  /** Random spread of each wait, 0..1 (0.2 = ±20%), so that restarts do not synchronise. */
  jitter: number;
}

export interface BatchConfig {
  /** Most records a sink is handed in one send. */
  maxRecords: number;
  /** Most payload bytes in one send. */
  maxBytes: number;
  /**
   * Once the sink has caught up with the spool, how long its next read waits, so that events
   * arriving meanwhile go out in the same send instead of one send each (0: no wait).
   */
  lingerMs: number;
}

export interface Config {
  /** Address and port the HTTP ingest listens on. */
  listen: { host: string; port: number };
  /** Where the spool, cursors, dead letters and file sink output live. */
  dataDir: string;
  /** Host name written into every envelope. */
  host: string;
  http: {
    /** Largest request body accepted (413 beyond). */
    maxBodyBytes: number;
    /** Most bytes of request bodies held in memory by all requests in flight together (503 beyond). */
    maxBufferedBytes: number;
    /** A request whose body has not fully arrived by then is answered 408 and closed. */
    bodyTimeoutMs: number;
    /** Time allowed for a client to send its request headers. */
    headersTimeoutMs: number;
    /** Idle keep-alive connections are closed after this. */
    keepAliveTimeoutMs: number;
    /** Longest an `ack=sink` request waits for its sinks before it is answered 504 (the events stay spooled). */
    sinkAckTimeoutMs: number;
    /** Most `ack=sink` requests waiting for their sinks at once (503 beyond). */
    maxSinkAckRequests: number;
    /** Most client connections open at once (lowered to fit the descriptor limit); past it an idle one is closed, or 503. */
    maxConnections: number;
    /** A connection is not read while this many of its (pipelined) requests are unanswered. */
    maxPipelinedRequests: number;
    /** A connection is not read while more than this many bytes of answers wait for the client to read them. */
    maxUnreadResponseBytes: number;
    /** Most events in one request (413 beyond). */
    maxEventsPerRequest: number;
    /**
     * A reverse proxy in front sets X-Forwarded-For: take its first entry as the client address. Only
     * when every request comes through that proxy — anyone can send the header.
     */
    trustProxy: boolean;
    /** Topic patterns the ingest takes; any other topic is answered 403 TOPIC_NOT_ALLOWED. */
    topics: string[];
    /**
     * Threads that serve HTTP on the events port (SO_REUSEPORT; src/ingest/threads/): 1 = the main
     * thread alone. The connection and memory bounds are split between them.
     */
    threads: number;
  };
  /** HTTPS on the ingest listener: on when `cert` is set. Files are read again on SIGHUP. */
  tls: {
    /** Certificate (PEM file), followed by its intermediate CA certificates. */
    cert: string;
    /** Its private key (PEM file). */
    key: string;
    /** Passphrase of an encrypted key. */
    passphrase: string;
    /** CA certificates (PEM file) that client certificates must chain to (mutual TLS). */
    ca: string;
    /** `none`; `request`: a client certificate is checked when sent; `require`: no connection without a valid one. */
    clientCerts: ClientCertMode;
  };
  /** Who may write events. With no tokens and no certificates, anyone who reaches the port may (as before). */
  auth: {
    /** Tokens, sent as `Authorization: Bearer <token>` or in `apiKeyHeader`. */
    tokens: TokenGrant[];
    /** Header that carries a token as an API key. */
    apiKeyHeader: string;
    /** Topic patterns anyone may write without a credential (browser beacons cannot send one). */
    openTopics: string[];
    /** Client certificate CN → topics (needs `tls.ca` and `tls.clientCerts`). */
    certificates: CertificateGrant[];
  };
  /** Per client (credential, else address) token buckets; 0 turns a limit off. Answered 429 with Retry-After. */
  rateLimit: {
    requestsPerSecond: number;
    eventsPerSecond: number;
    bytesPerSecond: number;
    /** A bucket holds this many seconds of its rate: the burst a quiet client may send at once. */
    burstSeconds: number;
    /** Clients remembered at most (least recently seen forgotten first), so many addresses cannot grow memory. */
    maxClients: number;
  };
  /** The operations endpoints (`/ready`, `/stats`, `/metrics`); `/health` is always open. */
  ops: {
    /** `HOST:PORT` of a separate plain-HTTP listener for them; '' = served on the ingest listener. */
    listen: string;
    /** When any is given, they need `Authorization: Bearer <token>` with one of these. */
    tokens: OpsTokenGrant[];
  };
  /** The tracking pixel, `GET /tracker/{name}/{site}`: a 1×1 GIF that records a visit as an event. */
  tracker: {
    enabled: boolean;
    /** Topic the visits go to. */
    topic: string;
    /** Request headers copied into each visit event (names, case-insensitive). */
    headers: string[];
    /** Lifetime of the visitor cookies (`id`, `visit-count`, `first-visit-time`), in days. */
    cookieMaxAgeDays: number;
  };
  spool: {
    /** `batch`: one fdatasync per group of appends (default); `always`: one per request; `never`: leave it to the OS. */
    fsync: FsyncMode;
    /**
     * Longest a group commit waits to gather more appends before it syncs, in ms. 0 (default): none
     * beyond the one in progress, whose write and sync is what the next group gathers during.
     */
    commitIntervalMs: number;
    /** Size at which a segment file is closed and a new one started. */
    segmentBytes: number;
    /** Total spool size limit; what happens at the limit is `fullPolicy`. */
    maxBytes: number;
    /** Segments older than this are deleted even if a sink has not read them (0 = keep until delivered). */
    maxAgeSeconds: number;
    /** `reject`: answer 503 with Retry-After while full; `drop-oldest`: delete the oldest segment and count the loss. */
    fullPolicy: FullPolicy;
  };
  /** The sink instances by name (src/sinks/README.md). */
  sinks: SinksConfig;
  /**
   * Which topics go to which sinks: each route sends the topics its patterns match to every sink it
   * names. A sink no route names takes what its own `topics` match (by default everything).
   */
  routes: RouteConfig[];
  /** The Confluent REST Proxy's produce routes (`POST /topics/{topic}`, `POST /v3/clusters/{c}/topics/{t}/records`) on the ingest listener. */
  restProxy: {
    enabled: boolean;
    /** Ack mode of a request that names none: `spool` (offsets null) or `sink` (wait for Kafka; its offsets). */
    ack: AckSetting;
  };
  /**
   * ZeroMQ ingest: a PULL socket (fire and forget) and a ROUTER socket (each message answered once
   * stored). Unauthenticated unless CURVE keys are set. On when an endpoint is set.
   */
  zmq: {
    /** Endpoint the PULL socket binds (`tcp://127.0.0.1:7081`, `ipc:///run/sparkngin/pull`); '' = none. */
    pull: string;
    /** Endpoint the ROUTER socket binds; '' = none. */
    router: string;
    /** `raw`: frames are payloads (topic from zmq.topic or the first frame); `nw1`: frames are NW1 bodies (src/envelope/README.md). */
    framing: ZmqFraming;
    /** raw: the topic of every message; '' = the first frame of each message names it (`topic?key=…`). */
    topic: string;
    /** raw: the event type of payload frames (json and text are checked: JSON on one line, UTF-8). */
    type: ZmqEventType;
    /** ROUTER: the ack mode of a message that names none. */
    ack: AckSetting;
    /** Largest message, all frames together (also each frame's limit, ZMQ_MAXMSGSIZE: a peer sending a larger frame is disconnected). */
    maxMessageBytes: number;
    /** Most events in one message. */
    maxEventsPerMessage: number;
    /** Messages received and not yet stored (and answered), both sockets together; at the limit the sockets are not read and peers block. */
    maxInFlight: number;
    /** Bytes of those messages; at the limit the sockets are not read. */
    maxBufferedBytes: number;
    /** ZMQ_RCVHWM: messages libzmq queues per peer before it stops reading that peer. */
    receiveHighWaterMark: number;
    /** ZMQ_SNDHWM of the ROUTER: answers queued per peer; past it an answer is dropped and counted (the event is stored). */
    sendHighWaterMark: number;
    /** CURVE: this server's secret key (Z85, 40 characters); '' = no CURVE, anyone who reaches the endpoints may send. */
    curveSecretKey: string;
    /** CURVE: the public keys (Z85) of the clients let in; empty = any client that knows the server's public key. */
    curveClients: string[];
  };
  /** Advertising on the LAN over mDNS/DNS-SD (`_sparkngin._tcp`), so that clients and `sparkngin discover` find this instance. */
  discovery: {
    /** Advertise when the ingest listens on an address other machines can reach (not on 127.0.0.1 or ::1). */
    enabled: boolean;
    /** Interfaces to advertise on, by name (eth0); empty = every interface the ingest can be reached on. */
    interfaces: string[];
    /** Instance name shown by browsers; '' = `Sparkngin on HOST`. On a conflict, ` (2)`, ` (3)`, … is added. */
    name: string;
  };
  /** What a destination refused for good, kept per sink in `<dataDir>/dead-letter/<sink>.ndjson`: bounded. */
  deadLetter: {
    /** Past this size a sink's file becomes `<sink>.1.ndjson`, replacing (and dropping) the one before: at most about twice this per sink; 0 = no cap. */
    maxBytes: number;
    /** A file whose newest line is older than this is deleted; 0 = kept until the size cap. */
    maxAgeSeconds: number;
  };
  /**
   * A heartbeat event from this instance every intervalSeconds, into `topic`, through the spool and
   * the sinks like any event: whoever reads it knows the whole path works (and how this instance is).
   */
  heartbeat: {
    /** Off by default: the heartbeat goes to your destinations (create the Kafka topic first). */
    enabled: boolean;
    intervalSeconds: number;
    /** Topic of the heartbeat events (routed to the sinks whose `topics` take it). */
    topic: string;
  };
  /** Publishing the metrics (the catalogue's, as /metrics shows them) to Ganglia's gmond over UDP: on when `hosts` is set. */
  ganglia: {
    /** gmond udp_recv_channels, `host:port` (port 8649 when left out). A multicast address (239.2.11.71) sends multicast; any other, unicast. */
    hosts: string[];
    /** Seconds between two rounds of values (each metric's tmax). */
    intervalSeconds: number;
    /** Seconds between two sendings of each metric's metadata: a gmond that restarted shows nothing of ours until then. */
    metadataIntervalSeconds: number;
    /** Seconds without a value after which gmond forgets a metric (dmax); 0 keeps it. */
    dmaxSeconds: number;
    /** `IP:NAME` the metrics are reported for (gmetric --spoof); '' = the host the packets come from. */
    spoofHost: string;
    /** Hops a multicast datagram may take (1: the local link). */
    multicastTtl: number;
    /** Address of the interface multicast leaves by; '' = the system's choice. */
    multicastInterface: string;
  };
  /**
   * `sparkngin agent`: watches a fleet of instances (polling /health and /stats; heartbeats from Kafka
   * when sinks.kafka.brokers is set) and flags those whose heartbeat is late, whose lag grows or
   * whose sink is down. The daemon itself reads none of this.
   */
  agent: {
    /** `HOST:PORT` the agent serves its fleet view on (`GET /fleet`, the page at `/`, `/health`). */
    listen: string;
    /** The instances' ops endpoints to watch (`http://ingest-01:7080`: ops.listen's address when they have one). */
    instances: string[];
    /** Also watch the instances advertised on the LAN (mDNS `_sparkngin._tcp`, as `sparkngin discover` finds them). */
    discover: boolean;
    /** Interfaces to discover on, by name; empty = every interface with an IPv4 address but loopback. */
    discoverInterfaces: string[];
    /** How often each instance's /health and /stats are read, in ms. */
    pollIntervalMs: number;
    /** An instance is flagged once its last heartbeat (from Kafka) or its last answer is older than this, in seconds. */
    lateAfterSeconds: number;
    /** A sink is flagged once its lag has grown this many polls in a row. */
    lagGrowthPolls: number;
    /** Ops token the instances want (their ops.tokens), sent to each. */
    opsToken: string;
    /** CA certificates (PEM file) of instances that serve HTTPS; '' = the system's. */
    ca: string;
    /** A Sparkngin ingest URL the findings are sent to as events (`http://127.0.0.1:7080`); '' = not sent. */
    eventsUrl: string;
    /** Topic of those events. */
    eventsTopic: string;
    /** Token for writing them (auth.tokens of that instance), if it wants one. */
    eventsToken: string;
  };
  /** JSON lines on stderr. */
  log: {
    /** Least level that is logged. */
    level: 'debug' | 'info' | 'warn' | 'error';
    /** `auto`: lines for journald (priority prefix, no time field) when stderr is the journal; `on`, `off`: always, never. */
    journald: 'auto' | 'on' | 'off';
    /** A file for the lines instead of stderr ('' = stderr); relative paths are under dataDir. Reopened on SIGHUP. */
    file: string;
    /** Rotate log.file when it grows past this size (0 = never: leave it to logrotate or newsyslog). */
    rotateBytes: number;
    /** Rotated log files kept (FILE.1 the newest). */
    keepFiles: number;
  };
  /** Longest a graceful stop waits for sinks to drain, in ms. */
  shutdownTimeoutMs: number;
}

export function defaultConfig(): Config {
  return {
    listen: { host: '127.0.0.1', port: 7080 },
    dataDir: './data',
    host: hostname(),
    http: {
      maxBodyBytes: 16 * MiB,
      maxBufferedBytes: 256 * MiB,
      bodyTimeoutMs: 30_000,
      headersTimeoutMs: 10_000,
      keepAliveTimeoutMs: 65_000,
      sinkAckTimeoutMs: 30_000,
      trustProxy: false,
      maxSinkAckRequests: 10_000,
      maxConnections: 10_000,
      maxPipelinedRequests: 16,
      maxUnreadResponseBytes: 1 * MiB,
      maxEventsPerRequest: 100_000,
      topics: ['*'],
      threads: 1,
    },
    tls: { cert: '', key: '', passphrase: '', ca: '', clientCerts: 'none' },
    auth: { tokens: [], apiKeyHeader: 'x-api-key', openTopics: [], certificates: [] },
    rateLimit: { requestsPerSecond: 0, eventsPerSecond: 0, bytesPerSecond: 0, burstSeconds: 1, maxClients: 100_000 },
    ops: { listen: '', tokens: [] },
    tracker: { enabled: true, topic: 'tracker', headers: ['user-agent', 'referer', 'accept-language'], cookieMaxAgeDays: 365 },
    spool: {
      fsync: 'batch',
      commitIntervalMs: 0,
      segmentBytes: 64 * MiB,
      maxBytes: 10 * 1024 * MiB,
      maxAgeSeconds: 0,
      fullPolicy: 'reject',
    },
    sinks: Object.fromEntries(SINK_KINDS.map((kind) => [kind.kind, kind.defaults()])) as SinksConfig,
    routes: [],
    restProxy: { enabled: true, ack: 'spool' },
    zmq: {
      pull: '',
      router: '',
      framing: 'raw',
      topic: '',
      type: 'binary',
      ack: 'spool',
      maxMessageBytes: 16 * MiB,
      maxEventsPerMessage: 100_000,
      maxInFlight: 10_000,
      maxBufferedBytes: 256 * MiB,
      receiveHighWaterMark: 1_000,
      sendHighWaterMark: 1_000,
      curveSecretKey: '',
      curveClients: [],
    },
    discovery: { enabled: true, interfaces: [], name: '' },
    deadLetter: { maxBytes: 64 * MiB, maxAgeSeconds: 30 * 24 * 3600 },
    heartbeat: { enabled: false, intervalSeconds: 30, topic: 'sparkngin-heartbeat' },
    ganglia: { hosts: [], intervalSeconds: 15, metadataIntervalSeconds: 60, dmaxSeconds: 0, spoofHost: '', multicastTtl: 1, multicastInterface: '' },
    agent: {
      listen: '127.0.0.1:7090',
      instances: [],
      discover: false,
      discoverInterfaces: [],
      pollIntervalMs: 5_000,
      lateAfterSeconds: 30,
      lagGrowthPolls: 3,
      opsToken: '',
      ca: '',
      eventsUrl: '',
      eventsTopic: 'sparkngin.findings',
      eventsToken: '',
    },
    log: { level: 'info', journald: 'auto', file: '', rotateBytes: 64 * MiB, keepFiles: 5 },
    shutdownTimeoutMs: 10_000,
  };
}

/** Keys whose value must be one of a fixed set. */
export const ENUMS: Record<string, readonly string[]> = {
  'spool.fsync': ['batch', 'always', 'never'],
  'spool.fullPolicy': ['reject', 'drop-oldest'],
  'tls.clientCerts': ['none', 'request', 'require'],
  'log.level': ['debug', 'info', 'warn', 'error'],
  'log.journald': ['auto', 'on', 'off'],
  'restProxy.ack': ['spool', 'sink'],
  'zmq.framing': ['raw', 'nw1'],
  'zmq.type': ['binary', 'text', 'json'],
  'zmq.ack': ['spool', 'sink'],
};

/** Numeric keys that also take a size with a unit (`64MiB`, `10GB`). */
export const SIZE_KEYS = new Set([
  'http.maxBodyBytes',
  'http.maxBufferedBytes',
  'http.maxUnreadResponseBytes',
  'spool.segmentBytes',
  'spool.maxBytes',
  'rateLimit.bytesPerSecond',
  'deadLetter.maxBytes',
  'log.rotateBytes',
  'zmq.maxMessageBytes',
  'zmq.maxBufferedBytes',
]);

/** Keys whose value is a free-form string map rather than a fixed shape. */
export const MAP_KEYS = new Set<string>([]);

/** Keys whose value is a list of records: each field's type (`strings` = a list of strings; every field required). */
export const RECORD_LIST_KEYS: Record<string, Record<string, 'string' | 'sha256' | 'strings'>> = {
  'auth.tokens': { name: 'string', sha256: 'sha256', topics: 'strings' },
  'auth.certificates': { cn: 'string', topics: 'strings' },
  'ops.tokens': { name: 'string', sha256: 'sha256' },
  routes: { topics: 'strings', sinks: 'strings' },
};

/** Settings that hold secrets: never logged, never echoed in an error, redacted by `config show`. */
export const SECRET_KEYS = new Set(['tls.passphrase', 'agent.opsToken', 'agent.eventsToken', 'zmq.curveSecretKey']);

// Each kind's key rules, under `sinks.<kind>.`: the key of an instance of another name is looked up
// by its kind's (`sinkRuleKey`).
for (const kind of SINK_KINDS) {
  const at = (key: string) => `sinks.${kind.kind}.${key}`;
  for (const [key, values] of Object.entries(kind.enums ?? {})) ENUMS[at(key)] = values;
  for (const key of ['batch.maxBytes', ...(kind.sizeKeys ?? [])]) SIZE_KEYS.add(at(key));
  for (const key of ['filter.headers', ...(kind.mapKeys ?? [])]) MAP_KEYS.add(at(key));
  for (const key of kind.secretKeys ?? []) SECRET_KEYS.add(at(key));
}

/**
 * The key whose rules (ENUMS, SIZE_KEYS, MAP_KEYS, SECRET_KEYS) apply to `key`: a key of a sink
 * instance (`sinks.analytics.compression`) is its kind's (`sinks.kafka.compression`); any other is itself.
 */
export function sinkRuleKey(key: string, sinks: Record<string, { kind: string } | undefined>): string {
  if (!key.startsWith('sinks.')) return key;
  const dot = key.indexOf('.', 6);
  if (dot === -1) return key;
  const name = key.slice(6, dot);
  const instance = Object.hasOwn(sinks, name) ? sinks[name] : undefined;
  return instance === undefined ? key : `sinks.${instance.kind}${key.slice(dot)}`;
}
