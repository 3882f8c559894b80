// The ZeroMQ sink's settings (`sinks.zeromq`, or any instance of `kind: zeromq`): on once an
// endpoint is given. What happens at the high-water mark is the socket's: PUSH waits (backpressure,
// nothing dropped), PUB drops and counts (README.md beside this file).
import { type CommonSinkConfig, commonDefaults, DEFAULT_RETRY, MiB, type SinkKind } from '../kind';

export type ZmqSinkSocket = 'push' | 'pub';
export type ZmqSinkFraming = 'raw' | 'nw1';

export interface ZeromqSinkConfig extends CommonSinkConfig {
  /** `tcp://HOST:PORT` or `ipc:///PATH`; setting it turns the sink on unless `enabled: false`. */
  endpoint: string;
  /** `push`: load-balanced to the connected PULL workers, waiting while none takes more; `pub`: to every subscriber by topic prefix, dropping (and counting) what a full subscriber cannot take. */
  socket: ZmqSinkSocket;
  /** Bind the endpoint (peers connect to us) or connect to it (a peer binds). */
  bind: boolean;
  /** `raw`: the payload; `nw1`: the whole envelope as an NW1 body (src/envelope/README.md). PUB sends the topic as a frame before it. */
  framing: ZmqSinkFraming;
  /** ZMQ_SNDHWM: messages queued per peer before PUSH waits or PUB drops. */
  sendHighWaterMark: number;
  /** PUSH: how long one message may wait for a peer with room before the batch is retried (the sink shows down meanwhile), in ms. */
  sendTimeoutMs: number;
}

export const ZMQ_ENDPOINT = /^(?:tcp:\/\/(?:[^\s:[\]/]+|\[[0-9a-fA-F:]+\]|\*):\d{1,5}|ipc:\/\/\S+)$/;

export const zeromqKind: SinkKind<ZeromqSinkConfig> = {
  kind: 'zeromq',
  defaults: () => ({
    ...commonDefaults('zeromq', false, { maxRecords: 1_000, maxBytes: 1 * MiB, lingerMs: 0 }, DEFAULT_RETRY),
    endpoint: '',
    socket: 'push',
    bind: true,
    framing: 'raw',
    sendHighWaterMark: 1_000,
    sendTimeoutMs: 5_000,
  }),
  switch: 'endpoint',
  enums: { socket: ['push', 'pub'], framing: ['raw', 'nw1'] },
  check(config, complain) {
    if (config.endpoint !== '' && !ZMQ_ENDPOINT.test(config.endpoint)) complain('endpoint', `expected tcp://HOST:PORT or ipc:///PATH, got '${config.endpoint}'`);
    if (config.enabled && config.endpoint === '') complain('endpoint', 'the ZeroMQ sink is enabled but no endpoint is given');
    if (config.sendTimeoutMs < 1) complain('sendTimeoutMs', 'expected at least 1');
  },
  async create(name, config, logger) {
    const { ZeromqSink } = await import('./sink');
    return new ZeromqSink(name, config, logger);
  },
};
