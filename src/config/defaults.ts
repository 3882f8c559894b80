// The whole configuration with its defaults: the shape here is the schema. Every key a user may set
// is a key of DEFAULTS; anything else in a file, env variable or flag is an error (strict at the
// edges). Comments are the documentation `sparkngin config defaults` and the man page carry.
import { hostname } from 'node:os';

export type FsyncMode = 'batch' | 'always' | 'never';
export type FullPolicy = 'reject' | 'drop-oldest';
export type KafkaCompression = 'none' | 'gzip' | 'snappy';
export type KafkaValue = 'payload' | 'envelope';

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
}

export interface FileSinkConfig {
  enabled: boolean;
  /** Output directory; relative paths are under dataDir. One `<topic>.ndjson` per topic (escaped or hashed when the name would clash or be too long). */
  dir: string;
  /** Rotate a topic's file when it grows past this size. */
  rotateBytes: number;
  /** Rotated files kept per topic (older ones are deleted). */
  keepFiles: number;
  /** Most topic files held open at once; the least recently written is closed to open another. */
  maxOpenFiles: number;
  /** Topic patterns (`*` wildcard) this sink takes. */
  topics: string[];
  batch: BatchConfig;
  retry: RetryConfig;
}

export interface KafkaSinkConfig {
  enabled: boolean;
  /** Bootstrap brokers, `host:port`. Setting any turns the sink on unless `enabled: false`. */
  brokers: string[];
  clientId: string;
  compression: KafkaCompression;
  /** What the Kafka record value holds: the event payload, or the whole envelope as JSON. */
  value: KafkaValue;
  /** Event topic → Kafka topic; topics not named go to a Kafka topic of the same name. */
  topicMap: Record<string, string>;
  /** Prefix added to every Kafka topic name (after mapping). */
  topicPrefix: string;
  /** Most bytes (estimated, encoded) in one produce request; keep it below the broker's message.max.bytes. */
  maxRequestBytes: number;
  /** Timeout of one produce request, in ms. */
  requestTimeoutMs: number;
  /** Timeout of a connection attempt, in ms. */
  connectionTimeoutMs: number;
  topics: string[];
  batch: BatchConfig;
  retry: RetryConfig;
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
    /** Longest a group commit waits to gather more appends before it syncs, in ms. */
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
  sinks: {
    file: FileSinkConfig;
    kafka: KafkaSinkConfig;
  };
  /** Least level that is logged (JSON lines on stderr). */
  log: { level: 'debug' | 'info' | 'warn' | 'error' };
  /** Longest a graceful stop waits for sinks to drain, in ms. */
  shutdownTimeoutMs: number;
}

const MiB = 1024 * 1024;

const DEFAULT_RETRY: RetryConfig = { initialMs: 100, maxMs: 30_000, factor: 2, jitter: 0.2 };

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
    },
    tracker: { enabled: true, topic: 'tracker', headers: ['user-agent', 'referer', 'accept-language'], cookieMaxAgeDays: 365 },
    spool: {
      fsync: 'batch',
      commitIntervalMs: 2,
      segmentBytes: 64 * MiB,
      maxBytes: 10 * 1024 * MiB,
      maxAgeSeconds: 0,
      fullPolicy: 'reject',
    },
    sinks: {
      file: {
        enabled: true,
        dir: 'out',
        rotateBytes: 64 * MiB,
        keepFiles: 10,
        maxOpenFiles: 256,
        topics: ['*'],
        batch: { maxRecords: 10_000, maxBytes: 4 * MiB },
        retry: { ...DEFAULT_RETRY },
      },
      kafka: {
        enabled: false,
        brokers: [],
        clientId: 'sparkngin',
        compression: 'none',
        value: 'payload',
        // No prototype: a topic named `constructor` or `__proto__` must not find an inherited mapping.
        topicMap: Object.create(null) as Record<string, string>,
        topicPrefix: '',
        maxRequestBytes: 900 * 1024,
        requestTimeoutMs: 30_000,
        connectionTimeoutMs: 3_000,
        topics: ['*'],
        // Small enough that a crash mid-send redelivers little; measured no faster at 10 000.
        batch: { maxRecords: 2_000, maxBytes: 1 * MiB },
        retry: { ...DEFAULT_RETRY },
      },
    },
    log: { level: 'info' },
    shutdownTimeoutMs: 10_000,
  };
}

/** Keys whose value must be one of a fixed set. */
export const ENUMS: Record<string, readonly string[]> = {
  'spool.fsync': ['batch', 'always', 'never'],
  'spool.fullPolicy': ['reject', 'drop-oldest'],
  'sinks.kafka.compression': ['none', 'gzip', 'snappy'],
  'sinks.kafka.value': ['payload', 'envelope'],
  'log.level': ['debug', 'info', 'warn', 'error'],
};

/** Numeric keys that also take a size with a unit (`64MiB`, `10GB`). */
export const SIZE_KEYS = new Set([
  'http.maxBodyBytes',
  'http.maxBufferedBytes',
  'http.maxUnreadResponseBytes',
  'spool.segmentBytes',
  'spool.maxBytes',
  'sinks.file.rotateBytes',
  'sinks.file.batch.maxBytes',
  'sinks.kafka.batch.maxBytes',
  'sinks.kafka.maxRequestBytes',
]);

/** Keys whose value is a free-form string map rather than a fixed shape. */
export const MAP_KEYS = new Set(['sinks.kafka.topicMap']);
