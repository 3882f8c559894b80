// The Flume sink's settings (`sinks.flume`, or any instance of `kind: flume`): events to an Apache
// Flume agent through its HTTP source (JSONHandler) or its Avro source (`protocol`), on once an
// endpoint is given.
//
// One kind with a `protocol` rather than a kind per source: the destination is the same agent, with
// the same events (headers and body), batches, timeout, health and classification; only the wire
// differs, as with Flume's own RPC client (`client.type`). Two agents, or both sources of one, are
// two named instances.
import { type CommonSinkConfig, commonDefaults, DEFAULT_RETRY, MiB, type SinkKind } from '../kind';

export const FLUME_PROTOCOLS = ['http', 'avro'] as const;

export interface FlumeSinkConfig extends CommonSinkConfig {
  /** `http`: the agent's HTTP source (JSONHandler); `avro`: its Avro source (Flume's own RPC, as an upstream agent's Avro sink sends). */
  protocol: (typeof FLUME_PROTOCOLS)[number];
  /** http: `http://HOST:PORT[/PATH]`; avro: `HOST:PORT`. Setting it turns the sink on unless `enabled: false`. */
  endpoint: string;
  /** Timeout of one request (a batch), in ms: Flume answers once its channel committed the batch. Avro: connection and handshake included. */
  requestTimeoutMs: number;
  /** Avro: an event with more bytes of body and headers is dead-lettered, never sent (the agent holds a whole request in its heap: keep it well under the agent's -Xmx). */
  maxEventBytes: number;
}

export const FLUME_ENDPOINT = /^https?:\/\/(?:[^\s:[\]/]+|\[[0-9a-fA-F:]+\])(?::\d{1,5})?(?:\/\S*)?$/;
export const FLUME_AVRO_ENDPOINT = /^(?:\[([0-9a-fA-F:]+)\]|([^\s:[\]/]+)):(\d{1,5})$/;

/** An Avro endpoint, `HOST:PORT` or `[IPv6]:PORT` (as the config check accepts it) → host and port. */
export function parseAvroEndpoint(endpoint: string): { host: string; port: number } {
  const match = FLUME_AVRO_ENDPOINT.exec(endpoint);
  if (match === null) throw new RangeError(`not HOST:PORT: ${endpoint}`);
  return { host: match[1] ?? match[2]!, port: Number(match[3]) };
}

export const flumeKind: SinkKind<FlumeSinkConfig> = {
  kind: 'flume',
  defaults: () => ({
    // Flume's channel takes a batch in one transaction: its transactionCapacity (100 by default for a
    // memory channel, 10 000 for a file channel) must be at least this.
    ...commonDefaults('flume', false, { maxRecords: 100, maxBytes: 1 * MiB, lingerMs: 0 }, DEFAULT_RETRY),
    protocol: 'http',
    endpoint: '',
    requestTimeoutMs: 30_000,
    maxEventBytes: 16 * MiB,
  }),
  switch: 'endpoint',
  enums: { protocol: FLUME_PROTOCOLS },
  sizeKeys: ['maxEventBytes'],
  check(config, complain) {
    if (config.protocol === 'avro') {
      const port = FLUME_AVRO_ENDPOINT.exec(config.endpoint)?.[3];
      if (config.endpoint !== '' && (port === undefined || Number(port) > 65535)) complain('endpoint', `expected HOST:PORT (a Flume Avro source, protocol avro), got '${config.endpoint}'`);
    } else if (config.endpoint !== '' && !FLUME_ENDPOINT.test(config.endpoint)) {
      const avroForm = FLUME_AVRO_ENDPOINT.test(config.endpoint) ? "; an Avro source's HOST:PORT needs protocol: avro" : '';
      complain('endpoint', `expected http://HOST:PORT (a Flume HTTP source${avroForm}), got '${config.endpoint}'`);
    }
    if (config.enabled && config.endpoint === '') complain('endpoint', 'the Flume sink is enabled but no endpoint is given');
    if (!(config.maxEventBytes > 0)) complain('maxEventBytes', `expected a size above 0, got ${config.maxEventBytes}`);
  },
  async create(name, config, logger) {
    const { FlumeSink } = await import('./sink');
    // Only the transport in use is loaded (avsc only for the Avro source).
    const transport = config.protocol === 'avro' ? new (await import('./avro')).FlumeAvroTransport(config) : new (await import('./http')).FlumeHttpTransport(config);
    return new FlumeSink(name, config, logger, transport);
  },
};
