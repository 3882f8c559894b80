// The Flume sink's settings (`sinks.flume`, or any instance of `kind: flume`): events to an Apache
// Flume agent's HTTP source (JSONHandler), on once an endpoint is given.
import { type CommonSinkConfig, commonDefaults, DEFAULT_RETRY, MiB, type SinkKind } from '../kind';

export interface FlumeSinkConfig extends CommonSinkConfig {
  /** The agent's HTTP source, `http://HOST:PORT[/PATH]`; setting it turns the sink on unless `enabled: false`. */
  endpoint: string;
  /** Timeout of one request (a batch), in ms: Flume answers once its channel committed the batch. */
  requestTimeoutMs: number;
}

export const FLUME_ENDPOINT = /^https?:\/\/(?:[^\s:[\]/]+|\[[0-9a-fA-F:]+\])(?::\d{1,5})?(?:\/\S*)?$/;

export const flumeKind: SinkKind<FlumeSinkConfig> = {
  kind: 'flume',
  defaults: () => ({
    // Flume's channel takes a batch in one transaction: its transactionCapacity (100 by default for a
    // memory channel, 10 000 for a file channel) must be at least this.
    ...commonDefaults('flume', false, { maxRecords: 100, maxBytes: 1 * MiB }, DEFAULT_RETRY),
    endpoint: '',
    requestTimeoutMs: 30_000,
  }),
  switch: 'endpoint',
  check(config, complain) {
    if (config.endpoint !== '' && !FLUME_ENDPOINT.test(config.endpoint)) complain('endpoint', `expected http://HOST:PORT (a Flume HTTP source), got '${config.endpoint}'`);
    if (config.enabled && config.endpoint === '') complain('endpoint', 'the Flume sink is enabled but no endpoint is given');
  },
  async create(name, config, logger) {
    const { FlumeSink } = await import('./sink');
    return new FlumeSink(name, config, logger);
  },
};
