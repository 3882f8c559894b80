// The ZeroMQ sink (zeromq v6): one socket, PUSH or PUB, bound or connected to `endpoint`.
//
// - PUSH: messages go round-robin to the connected PULL peers. At the high-water mark (or with no
//   peer at all) a send waits: backpressure, nothing dropped. A message that finds no room within
//   `sendTimeoutMs` fails the send retriably (health down: "no peer took a message"); the sink keeps
//   how far into the batch it got, so the retry of the same batch goes on from there rather than
//   sending the messages before it again.
// - PUB (an XPUB with ZMQ_XPUB_NODROP, so that a full subscriber is seen rather than silently
//   skipped): the topic is the first frame, for subscriptions by prefix. A subscriber's queue at the
//   high-water mark drops the message (for every subscriber: libzmq's no-drop check is all or
//   nothing) and counts it in `droppedMessages`; delivery never waits for a live tap.
//
// ZeroMQ has no acknowledgements: a batch counts as delivered when libzmq has queued every message
// of it for a peer. What its queues hold (at most sendHighWaterMark per peer) is lost if the process
// dies, as with any PUSH (README.md beside this file).
import type { Push, XPublisher } from 'zeromq';
import { encodeEnvelope } from '../../envelope/codec-binary';
import type { Envelope } from '../../envelope/envelope';
import { frameEnvelopes } from '../../envelope/nw1';
import { SinkError } from '../../errors';
import type { Logger } from '../../ops/log';
import type { FailureClass, Sink, SinkHealth } from '../sink';
import { classifyZeromqError } from './classify';
import type { ZeromqSinkConfig } from './config';

/** How far into a batch a PUSH send got before it failed: the same batch sent again goes on from there. */
interface Progress {
  firstId: string;
  length: number;
  sent: number;
}

export class ZeromqSink implements Sink {
  private socket: Push | XPublisher | undefined;
  private healthState: SinkHealth = { state: 'starting' };
  private progress: Progress | undefined;
  private peers = 0;
  private droppedMessages = 0;
  private subscriptions = 0;

  constructor(
    readonly name: string,
    private readonly config: ZeromqSinkConfig,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    const zmq = await import('zeromq');
    const { config } = this;
    // immediate: messages are queued only for peers whose connection is complete. Without it a
    // connecting socket queues up to the high-water mark for a peer that is not there yet, and the
    // sink would count those as delivered though they go nowhere if the process stops first.
    const options = { sendHighWaterMark: config.sendHighWaterMark, linger: 2_000, immediate: true };
    const socket = config.socket === 'push' ? new zmq.Push({ ...options, sendTimeout: config.sendTimeoutMs }) : new zmq.XPublisher({ ...options, noDrop: true, sendTimeout: 0 });
    socket.events.on('accept', () => this.peers++);
    socket.events.on('connect', () => this.peers++);
    socket.events.on('disconnect', () => (this.peers = Math.max(0, this.peers - 1)));
    if (config.bind) await socket.bind(config.endpoint);
    else socket.connect(config.endpoint);
    this.socket = socket;
    if (socket instanceof zmq.XPublisher) void this.readSubscriptions(socket);
    this.healthState = { state: 'up' };
  }

  async send(batch: Envelope[]): Promise<void> {
    const socket = this.socket!;
    const resume = this.progress !== undefined && this.progress.firstId === batch[0]?.id && this.progress.length === batch.length ? this.progress.sent : 0;
    const progress: Progress = { firstId: batch[0]?.id ?? '', length: batch.length, sent: resume };
    this.progress = progress;
    const pub = this.config.socket === 'pub';
    for (let i = resume; i < batch.length; i++) {
      const envelope = batch[i]!;
      const body = this.config.framing === 'nw1' ? frameEnvelopes([encodeEnvelope(envelope)]) : envelope.data;
      try {
        await socket.send(pub ? [envelope.topic, body] : body);
      } catch (error) {
        if (pub && (error as { code?: string }).code === 'EAGAIN') {
          this.droppedMessages++;
        } else {
          this.healthState = { state: 'down', detail: describe(error, this.config) };
          throw new SinkError(this.name, describe(error, this.config), { cause: error });
        }
      }
      progress.sent = i + 1;
    }
    this.progress = undefined;
    this.healthState = { state: 'up' };
  }

  classify(error: unknown): FailureClass {
    return classifyZeromqError(error);
  }

  counters(): Record<string, number> {
    return { peers: this.peers, ...(this.config.socket === 'pub' ? { droppedMessages: this.droppedMessages, subscriptions: this.subscriptions } : {}) };
  }

  /** XPUB hands up (un)subscriptions: counted for /stats, and read so that they never pile up. */
  private async readSubscriptions(socket: XPublisher): Promise<void> {
    try {
      for await (const [message] of socket) {
        if (message?.[0] === 1) this.subscriptions++;
        else if (message?.[0] === 0) this.subscriptions = Math.max(0, this.subscriptions - 1);
      }
    } catch (error) {
      if (!socket.closed) this.logger.warn('zeromq.subscriptions_unread', { sink: this.name, error });
    }
  }

  async stop(): Promise<void> {
    const socket = this.socket;
    this.socket = undefined;
    socket?.close();
  }

  health(): SinkHealth {
    return this.healthState;
  }
}

function describe(error: unknown, config: ZeromqSinkConfig): string {
  if ((error as { code?: string }).code === 'EAGAIN') return `no peer took a message within ${config.sendTimeoutMs} ms (none connected to ${config.endpoint}, or all at the high-water mark)`;
  return (error as Error).message;
}
