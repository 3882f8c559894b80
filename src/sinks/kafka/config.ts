// The Kafka sink's settings (`sinks.kafka`, or any instance of `kind: kafka`): on once brokers are
// given. TLS and SASL to the brokers (security.ts reads the files when the sink is made).
import { resolve } from 'node:path';
import { type CommonSinkConfig, commonDefaults, DEFAULT_RETRY, MiB, type SinkKind } from '../kind';

export type KafkaCompression = 'none' | 'gzip' | 'snappy';
export type KafkaValue = 'payload' | 'envelope';
export type SaslMechanism = 'none' | 'plain' | 'scram-sha-256' | 'scram-sha-512';

/** TLS from the Kafka sink to the brokers. */
export interface KafkaTlsConfig {
  enabled: boolean;
  /** CA certificates (PEM file) the brokers' certificates are checked against; '' = the system's. */
  ca: string;
  /** Client certificate (PEM file), for brokers that require one (`ssl.client.auth=required`). */
  cert: string;
  /** Its private key (PEM file). */
  key: string;
  /** Passphrase of an encrypted key. */
  passphrase: string;
  /** Host name expected in the brokers' certificates, when it is not the one in `brokers`. */
  servername: string;
}

export interface KafkaSaslConfig {
  mechanism: SaslMechanism;
  username: string;
  password: string;
}

export interface KafkaSinkConfig extends CommonSinkConfig {
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
  /**
   * Produce requests in flight per broker, 1 to 5 (what an idempotent producer keeps in order): more
   * than 1 splits each batch into that many requests sent together (sink.ts, README.md).
   */
  maxInFlight: number;
  /** Timeout of a connection attempt, in ms. */
  connectionTimeoutMs: number;
  tls: KafkaTlsConfig;
  sasl: KafkaSaslConfig;
}

/** Kafka keeps a partition's order for at most 5 requests in flight from an idempotent producer. */
export const MAX_IN_FLIGHT = 5;

/** `host:port` or `[v6]:port`. */
export const HOST_PORT = /^(?:[^\s:[\]/]+|\[[0-9a-fA-F:]+\]):\d{1,5}$/;

export const kafkaKind: SinkKind<KafkaSinkConfig> = {
  kind: 'kafka',
  defaults: () => ({
    // Small enough that a crash mid-send redelivers little; measured no faster at 10 000. The linger:
    // single events went out ~32 per produce request without it, 119-197 with 10 ms, at 23 % less
    // of the daemon's CPU per request (bench/RESULTS.md, "Linger"); Kafka's own producer waits
    // 5 ms (linger.ms), and ours overlaps the send before it.
    ...commonDefaults('kafka', false, { maxRecords: 2_000, maxBytes: 1 * MiB, lingerMs: 10 }, DEFAULT_RETRY),
    brokers: [],
    clientId: 'sparkngin',
    compression: 'none',
    value: 'payload',
    // No prototype: a topic named `constructor` or `__proto__` must not find an inherited mapping.
    topicMap: Object.create(null) as Record<string, string>,
    topicPrefix: '',
    maxRequestBytes: 900 * 1024,
    requestTimeoutMs: 30_000,
    maxInFlight: 1,
    connectionTimeoutMs: 3_000,
    tls: { enabled: false, ca: '', cert: '', key: '', passphrase: '', servername: '' },
    sasl: { mechanism: 'none', username: '', password: '' },
  }),
  switch: 'brokers',
  enums: {
    compression: ['none', 'gzip', 'snappy'],
    value: ['payload', 'envelope'],
    'sasl.mechanism': ['none', 'plain', 'scram-sha-256', 'scram-sha-512'],
  },
  sizeKeys: ['maxRequestBytes'],
  mapKeys: ['topicMap'],
  secretKeys: ['tls.passphrase', 'sasl.password'],
  check(config, complain, at) {
    for (const broker of config.brokers) if (!HOST_PORT.test(broker)) complain('brokers', `expected host:port, got '${broker}'`);
    if (!Number.isInteger(config.maxInFlight) || config.maxInFlight < 1 || config.maxInFlight > MAX_IN_FLIGHT) complain('maxInFlight', `expected an integer from 1 to ${MAX_IN_FLIGHT} (the most requests an idempotent producer keeps in order), got ${config.maxInFlight}`);
    if (config.enabled && config.brokers.length === 0) complain('brokers', 'the Kafka sink is enabled but no broker is given');
    const { tls, sasl } = config;
    const files = (['ca', 'cert', 'key', 'passphrase', 'servername'] as const).filter((name) => tls[name] !== '');
    if (!tls.enabled && files.length > 0) complain(`tls.${files[0]}`, `set, but ${at('tls.enabled')} is false`);
    if ((tls.cert === '') !== (tls.key === '')) complain('tls.cert, tls.key', 'give both (the client certificate and its private key) or neither');
    if (sasl.mechanism !== 'none' && (sasl.username === '' || sasl.password === '')) complain('sasl', `mechanism '${sasl.mechanism}' needs sasl.username and sasl.password`);
  },
  resolve(config) {
    for (const name of ['cert', 'key', 'ca'] as const) if (config.tls[name] !== '') config.tls[name] = resolve(config.tls[name]);
  },
  async create(name, config, logger) {
    const { KafkaSink } = await import('./sink');
    return new KafkaSink(config, logger, name);
  },
};
