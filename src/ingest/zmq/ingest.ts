// ZeroMQ ingest: a PULL socket and a ROUTER socket (zmq.pull, zmq.router) beside the HTTP listener,
// storing into the same spool through the same IngestTarget.
//
//   PULL    fire and forget: a message is stored as it comes (ack=spool durability) and nothing is
//           answered. A message that cannot be stored for now (spool full, too many ack=sink waits)
//           is kept and tried again, and the socket is not read meanwhile: PUSH peers block at their
//           high-water mark (backpressure, nothing dropped). A bad message is counted and dropped.
//   ROUTER  every message is answered once stored (ack=spool) or once every routed sink has it
//           (ack=sink), with the JSON an HTTP client gets, plus its status:
//           {"status":202,"accepted":N,"ids":[…]} or {"status":4xx|5xx,"error":{"code","message"}}.
//           Answers go out in the order each peer's messages came (a DEALER may pipeline).
//
// Bounds: libzmq's own (ZMQ_MAXMSGSIZE per frame, the high-water marks per peer), then ours: the
// messages in flight (received, not yet stored and answered) and their bytes, for both sockets
// together. At either limit neither socket is read until a message is done: libzmq queues up to the
// HWM per peer and then stops reading the peer's connection, so peers block instead of us holding
// more. A message over zmq.maxMessageBytes in all or with too many events is refused.
//
// A message is never lost silently: PULL drops only what it refuses (counted by code, in /stats and
// /metrics); what a ROUTER peer was answered 202 for is in the spool, synced per spool.fsync, and
// survives kill -9 like an HTTP 202. What sits in libzmq's queues, not yet received, is lost if the
// daemon dies: ZeroMQ has no acknowledgement below ours, and a ROUTER client that got no answer sends
// again (at least once).
import type { Config } from '../../config/defaults';
import { RequestError, SparknginError, SpoolClosedError } from '../../errors';
import type { Logger } from '../../ops/log';
import { topicFilter } from '../../sinks/route';
import { RefusalCounter, type RefusalCount } from '../refusals';
import { acceptedBody, toRequestError } from '../respond';
import type { IngestTarget } from '../target';
import { curveServerOptions, startZapHandler, type ZapHandler } from './curve';
import { decodeMessage, type Framing } from './framing';
import { loadZeromq, type Zeromq } from '../../zeromq/load';

type Kind = 'pull' | 'router';

/** What one socket has done since start (/stats → ingest.zmq.sockets[]; the metrics are in src/ops/catalogue.ts). */
export interface ZmqSocketStats {
  socket: Kind;
  endpoint: string;
  receivedMessages: number;
  storedEvents: number;
  /** PULL: tries again of messages the target could not take then (spool full). */
  retries: number;
  /** ROUTER: answers libzmq could not hand to the peer (it left, or its queue was full); the events were stored. */
  unanswered: number;
}

export interface ZmqStats {
  inFlight: number;
  bufferedBytes: number;
  sockets: ZmqSocketStats[];
  /** Messages refused (PULL: dropped; ROUTER: answered with the error), by socket, status and code. */
  refused: Array<RefusalCount & { socket: Kind }>;
  /** With zmq.curveClients: CURVE handshakes let in and turned away (each refusal also logged, zmq.client_denied). */
  curve?: { allowed: number; denied: number };
}

interface Socket {
  kind: Kind;
  zmq: import('zeromq').Pull | import('zeromq').Router;
  stats: ZmqSocketStats;
  refusals: RefusalCounter;
}

const RETRY_MS = 200;

export class ZmqIngest {
  private readonly sockets: Socket[] = [];
  private inFlight = 0;
  private bufferedBytes = 0;
  private roomWaiters: Array<() => void> = [];
  private stopping = false;
  /** PULL messages waiting to be tried again: while any, PULL is not read (its peers block). */
  private pullRetrying = 0;
  private readonly loops: Array<Promise<void>> = [];
  private readonly messages = new Set<Promise<void>>();
  /** Per ROUTER peer, the answer sent last (or being sent): the next one waits for it. */
  private readonly tails = new Map<string, Promise<void>>();
  private sending: Promise<void> = Promise.resolve();
  private zap: ZapHandler | undefined;
  private readonly framing: Framing;

  private constructor(
    private readonly config: Config,
    private readonly target: IngestTarget,
    private readonly logger: Logger,
    now: () => number,
  ) {
    const { zmq } = config;
    this.framing = { framing: zmq.framing, topic: zmq.topic, type: zmq.type, maxEvents: zmq.maxEventsPerMessage, allowed: topicFilter(config.http.topics), host: config.host, now };
  }

  /** Binds the configured sockets and starts reading them; undefined when no endpoint is configured. */
  static async start(config: Config, target: IngestTarget, logger: Logger, now: () => number = Date.now): Promise<ZmqIngest | undefined> {
    const { zmq: settings } = config;
    if (settings.pull === '' && settings.router === '') return undefined;
    const zmq = await loadZeromq('ZeroMQ ingest (zmq.pull or zmq.router)');
    const ingest = new ZmqIngest(config, target, logger, now);
    try {
      if (settings.curveSecretKey !== '' && settings.curveClients.length > 0) ingest.zap = await startZapHandler(zmq, settings.curveClients, logger);
      if (settings.pull !== '') await ingest.bind(zmq, 'pull', settings.pull);
      if (settings.router !== '') await ingest.bind(zmq, 'router', settings.router);
    } catch (error) {
      ingest.closeSockets();
      throw error;
    }
    if (settings.curveSecretKey === '') {
      // Said loudest when the endpoints can be reached from other machines.
      const endpoints = ingest.sockets.map((socket) => socket.stats.endpoint);
      const local = endpoints.every((endpoint) => /^(ipc|inproc):|^tcp:\/\/(127\.[\d.]+|\[::1\]|localhost):/.test(endpoint));
      logger[local ? 'info' : 'warn']('zmq.unauthenticated', { endpoints, why: 'no zmq.curveSecretKey: anyone who reaches these endpoints can send events' });
    }
    return ingest;
  }

  /** The endpoints bound, as libzmq reports them (a `tcp://…:*` endpoint with its port). */
  endpoints(): Partial<Record<Kind, string>> {
    return Object.fromEntries(this.sockets.map((socket) => [socket.kind, socket.stats.endpoint]));
  }

  stats(): ZmqStats {
    const stats: ZmqStats = {
      inFlight: this.inFlight,
      bufferedBytes: this.bufferedBytes,
      sockets: this.sockets.map((socket) => ({ ...socket.stats })),
      refused: this.sockets.flatMap((socket) => socket.refusals.snapshot().map((refusal) => ({ socket: socket.kind, ...refusal }))),
    };
    if (this.zap !== undefined) stats.curve = this.zap.counts();
    return stats;
  }

  /** Stops reading, lets the messages in flight be stored and answered (until `deadline`), then closes. */
  async stop(deadline: number): Promise<void> {
    this.stopping = true;
    this.wake();
    const left = Math.max(0, deadline - Date.now());
    await Promise.race([Promise.allSettled([...this.messages]).then(() => this.sending), new Promise((resolve) => setTimeout(resolve, left).unref())]);
    this.closeSockets();
    await Promise.allSettled(this.loops);
  }

  private closeSockets(): void {
    for (const socket of this.sockets) socket.zmq.close();
    this.zap?.close();
  }

  private async bind(zmq: Zeromq, kind: Kind, endpoint: string): Promise<void> {
    const { zmq: settings } = this.config;
    const options = { linger: 0, maxMessageSize: settings.maxMessageBytes, receiveHighWaterMark: settings.receiveHighWaterMark, ...curveServerOptions(settings.curveSecretKey) };
    // ROUTER: an answer to a peer that left, or whose queue is full, fails at once (counted) instead
    // of being dropped without a word (mandatory) or holding up the answers to everyone else (sendTimeout 0).
    const socket =
      kind === 'pull' ? new zmq.Pull(options) : new zmq.Router({ ...options, sendHighWaterMark: settings.sendHighWaterMark, mandatory: true, sendTimeout: 0 });
    try {
      await socket.bind(endpoint);
    } catch (error) {
      socket.close();
      throw new ZmqBindError(kind, endpoint, error);
    }
    const stats: ZmqSocketStats = { socket: kind, endpoint: socket.lastEndpoint ?? endpoint, receivedMessages: 0, storedEvents: 0, retries: 0, unanswered: 0 };
    const entry: Socket = { kind, zmq: socket, stats, refusals: new RefusalCounter() };
    this.sockets.push(entry);
    this.loops.push(this.receive(entry));
  }

  /** Reads one message at a time while there is room for it; each is then stored (and answered) on its own. */
  private async receive(socket: Socket): Promise<void> {
    while (!this.stopping) {
      await this.room(socket.kind);
      if (this.stopping) return;
      let frames: Buffer[];
      try {
        frames = await socket.zmq.receive();
      } catch (error) {
        if (this.stopping || socket.zmq.closed) return;
        this.logger.error('zmq.receive_failed', { socket: socket.kind, error });
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
        continue;
      }
      let bytes = 0;
      for (const frame of frames) bytes += frame.length;
      socket.stats.receivedMessages++;
      this.inFlight++;
      this.bufferedBytes += bytes;
      const handled = (socket.kind === 'pull' ? this.pulled(socket, frames, bytes) : this.routed(socket, frames, bytes)).finally(() => {
        this.inFlight--;
        this.bufferedBytes -= bytes;
        this.messages.delete(handled);
        this.wake();
      });
      this.messages.add(handled);
    }
  }

  /**
   * Resolves when another message may be read: fewer in flight than zmq.maxInFlight, and their bytes
   * under zmq.maxBufferedBytes; for PULL also no message waiting to be tried again (the spool is
   * full: reading more would only hold more).
   */
  private room(kind: Kind): Promise<void> {
    const { maxInFlight, maxBufferedBytes } = this.config.zmq;
    if (this.inFlight < maxInFlight && this.bufferedBytes < maxBufferedBytes && (kind === 'router' || this.pullRetrying === 0)) return Promise.resolve();
    return new Promise<void>((resolve) => this.roomWaiters.push(resolve)).then(() => (this.stopping ? undefined : this.room(kind)));
  }

  /** Something that held the sockets back changed: every reader looks again. */
  private wake(): void {
    for (const wake of this.roomWaiters.splice(0)) wake();
  }

  private async pulled(socket: Socket, frames: Buffer[], bytes: number): Promise<void> {
    let decoded;
    try {
      this.checkSize(bytes);
      decoded = decodeMessage(frames, this.framing);
    } catch (error) {
      this.refused(socket, error);
      return;
    }
    let waiting = false;
    try {
      for (;;) {
        try {
          await this.target.accept(decoded.envelopes, 'spool');
          socket.stats.storedEvents += decoded.envelopes.length;
          return;
        } catch (error) {
          // Nobody to answer: what can be taken later is tried again, and PULL is not read meanwhile.
          if (this.stopping || !retriable(error)) {
            this.refused(socket, error);
            return;
          }
          if (!waiting) this.pullRetrying++;
          waiting = true;
          socket.stats.retries++;
          await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
        }
      }
    } finally {
      if (waiting) {
        this.pullRetrying--;
        this.wake();
      }
    }
  }

  private routed(socket: Socket, frames: Buffer[], bytes: number): Promise<void> {
    // [identity][empty delimiter] body…: a REQ peer's delimiter (or a DEALER's that sends one first)
    // is echoed; any other empty frame is part of the body (and refused there as an empty event).
    const routing = frames.slice(0, frames.length > 1 && frames[1]!.length === 0 ? 2 : 1);
    // Its place among the peer's answers is taken now, as it arrives: a refusal known at once must
    // not overtake the answer to an earlier message still being stored (a pipelining DEALER, the
    // client library's, matches answers to its messages by their order).
    return this.answer(socket, routing, this.store(socket, frames.slice(routing.length), bytes));
  }

  /** Stores a ROUTER message's events; resolves with the answer's JSON (never rejects). */
  private async store(socket: Socket, body: Buffer[], bytes: number): Promise<string> {
    try {
      this.checkSize(bytes);
      const decoded = decodeMessage(body, this.framing);
      const ack = decoded.ack ?? this.config.zmq.ack;
      await this.target.accept(decoded.envelopes, ack);
      socket.stats.storedEvents += decoded.envelopes.length;
      return `{"status":202,${acceptedBody(decoded.envelopes.map((envelope) => envelope.id)).slice(1)}`;
    } catch (error) {
      const failure = this.refused(socket, error);
      return JSON.stringify({ status: failure.status, error: { code: failure.code, message: failure.message } });
    }
  }

  /** Sends `answer` after the peer's earlier answers, one send at a time (a zeromq socket takes one at a time). */
  private answer(socket: Socket, routing: Buffer[], answer: Promise<string>): Promise<void> {
    const peer = Buffer.concat(routing).toString('latin1');
    const previous = this.tails.get(peer) ?? Promise.resolve();
    const sent = Promise.all([answer, previous]).then(([text]) => {
      const sending = this.sending.then(() => (socket.zmq as import('zeromq').Router).send([...routing, text]));
      this.sending = sending.catch((error: { code?: string }) => {
        socket.stats.unanswered++;
        this.logger.debug('zmq.unanswered', { code: error.code, why: 'the peer left or its queue is full (zmq.sendHighWaterMark); its events were stored' });
      });
      return this.sending;
    });
    this.tails.set(peer, sent);
    return sent.finally(() => {
      if (this.tails.get(peer) === sent) this.tails.delete(peer);
    });
  }

  private checkSize(bytes: number): void {
    const max = this.config.zmq.maxMessageBytes;
    if (bytes > max) throw new RequestError(413, 'MESSAGE_TOO_LARGE', `the message holds ${bytes} bytes, more than zmq.maxMessageBytes (${max})`);
  }

  /** Counts a refusal and says what it is (anything unexpected is logged, as on HTTP). */
  private refused(socket: Socket, error: unknown): RequestError {
    const failure = toRequestError(error, this.logger);
    socket.refusals.note(failure.status, failure.code);
    this.logger.debug('zmq.refused', { socket: socket.kind, status: failure.status, code: failure.code, message: failure.message });
    return failure;
  }
}

/** A refusal that clears up by itself: spool full, too many ack=sink waits (503). A closing spool does not. */
function retriable(error: unknown): boolean {
  if (error instanceof SpoolClosedError) return false;
  return (error as { retriable?: boolean }).retriable === true || (error instanceof RequestError && error.status === 503);
}

/** An endpoint that cannot be bound (in use, no permission, malformed): the daemon does not start. */
export class ZmqBindError extends SparknginError {
  constructor(kind: Kind, endpoint: string, cause: unknown) {
    super('ZMQ_BIND_FAILED', `cannot bind the ZeroMQ ${kind.toUpperCase()} socket to ${endpoint} (zmq.${kind}): ${(cause as Error).message}`, { cause });
  }
}
