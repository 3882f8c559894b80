// The ZeroMQ transport: the same NW1 bodies transport.ts POSTs, sent instead through a DEALER to an
// instance's ROUTER (zmq.router, zmq.framing nw1; the frames byte by byte in docs/zeromq.md), for
// instances given as `tcp://host:port`. Each message is `?ack=spool|sink` then the body; each answer
// is one frame of JSON, `{"status":202,"accepted":N,"ids":[…]}` or `{"status":…,"error":{…}}`,
// mapped to the same Outcome as an HTTP answer (failureOutcome).
//
// Matching answers to requests: the ROUTER answers each peer's messages in the order they came, so
// the answers are matched first in, first out, and several requests may be in flight on the one
// connection (the client's maxInFlight bounds them). A 202 is checked against its request (the count,
// the first and the last event id, read from the body): the one way an answer can be missing on a
// live connection is the ROUTER dropping it (its queue for us full), and a match off by one must
// never acknowledge a batch that was not stored. Anything that breaks the order — a connection lost,
// an answer late past requestTimeoutMs, an answer that does not fit — closes the socket and answers
// every request on it "retry, instance down": a new socket (a new peer identity, so no stale answer
// can reach it) takes the next request. The daemon stored or did not store each of those batches;
// sent again with the same ids, what arrives twice is recognisable (at least once, as over HTTP).
//
// Why a fresh socket rather than libzmq's own reconnection: after a reconnect the ROUTER sees a new
// peer, and the answers to what was sent before are dropped there; waiting for them would only mean
// waiting for requestTimeoutMs. Why not a REQ socket: one request at a time.
//
// zeromq (a native addon) is loaded on first use, so that clients that only speak HTTP never load it.
import type { Dealer } from 'zeromq';
import { ID_AT } from '../envelope/codec-binary';
import { eventIdText } from '../envelope/id';
import { FRAME_HEADER, NW1_OVERHEAD } from '../envelope/nw1';
import { loadZeromq, type Zeromq } from '../zeromq/load';
import type { AckMode, ZmqSettings } from './options';
import { failureOutcome, type Outcome } from './transport';

export interface ZmqRequest {
  ack: AckMode;
  /** An NW1 body ("SNW1", then u32 LE length + envelope, …). */
  body: Buffer;
  events: number;
  timeoutMs: number;
  /** Aborting gives the request up (answered as a failure to retry). */
  signal?: AbortSignal;
}

/** zeromq for the client: loaded once, on first use; rejects with ZmqUnavailableError (ZMQ_UNAVAILABLE). */
export const loadClientZeromq = (): Promise<Zeromq> => loadZeromq('a tcp:// instance (the client over ZeroMQ)');

export const isZmqUrl = (url: URL): boolean => url.protocol === 'tcp:';

/** The ZeroMQ endpoint of a `tcp://host:port` URL. */
const endpointOf = (url: URL): string => `tcp://${url.hostname}:${url.port}`;

interface Waiting {
  count: number;
  firstId: string;
  lastId: string;
  resolve: (outcome: Outcome) => void;
  timer: NodeJS.Timeout | undefined;
}

/** One connection (one DEALER at a time) to one instance's ROUTER. */
export class ZmqChannel {
  private socket: Dealer | undefined;
  /** Resolves once the ZMTP handshake is done; rejects with why the connection failed. */
  private connected: Promise<void> | undefined;
  private readonly waiting: Waiting[] = [];
  /** zeromq takes one send at a time per socket. */
  private sending: Promise<unknown> = Promise.resolve();
  private closed = false;

  /** CURVE options of its sockets (none without a server key). */
  private curve: Record<string, string> | undefined;

  constructor(
    private readonly url: URL,
    private readonly keys: ZmqSettings,
  ) {}

  /** Options of every socket to this instance: IPv6 when its address is one (libzmq's default is IPv4 only), and CURVE. */
  private socketOptions(zmq: Zeromq): Record<string, string | boolean> {
    return { ipv6: this.url.hostname.startsWith('['), ...this.curveOptions(zmq) };
  }

  /** The socket options CURVE needs: the server's key and ours (a pair made once per channel unless given). */
  private curveOptions(zmq: Zeromq): Record<string, string> {
    const { curveServerKey, curvePublicKey, curveSecretKey } = this.keys;
    if (curveServerKey === undefined) return {};
    if (this.curve === undefined) {
      const pair = curvePublicKey !== undefined && curveSecretKey !== undefined ? { publicKey: curvePublicKey, secretKey: curveSecretKey } : zmq.curveKeyPair();
      this.curve = { curveServerKey, curvePublicKey: pair.publicKey, curveSecretKey: pair.secretKey };
    }
    return this.curve;
  }

  async request(request: ZmqRequest): Promise<Outcome> {
    if (request.signal?.aborted || this.closed) return givenUp;
    const ackFrame = request.ack === 'sink' ? ACK_SINK : ACK_SPOOL;
    // What the daemon would refuse (413) or libzmq drop the connection for (a frame over its
    // ZMQ_MAXMSGSIZE, again on every retry), refused here as the daemon refuses it over HTTP.
    const bytes = ackFrame.length + request.body.length;
    if (bytes > this.keys.maxMessageBytes) {
      return { kind: 'refused', status: 413, code: 'MESSAGE_TOO_LARGE', message: `the message holds ${bytes} bytes, more than the instance's zmq.maxMessageBytes (${this.keys.maxMessageBytes}: the client's zmq.maxMessageBytes)`, split: true };
    }
    const ids = bodyIds(request.body);
    // Never so for a body the client made; refused loudly rather than sent with no way to check its answer.
    if (ids === undefined || ids.count !== request.events) return { kind: 'refused', status: 0, code: 'INVALID_BODY', message: `the NW1 body does not hold the ${request.events} events it is said to`, split: false };
    let opened: Dealer | undefined;
    try {
      opened = await this.open();
      await withTimeout(this.connected!, request.timeoutMs, `no connection within ${request.timeoutMs} ms`);
    } catch (error) {
      if (opened !== undefined && this.socket === opened) this.reset((error as Error).message);
      return { kind: 'retry', instance: 'down', afterMs: 0, why: (error as Error).message };
    }
    const socket = opened;
    if (this.socket !== socket) return { kind: 'retry', instance: 'down', afterMs: 0, why: 'connection lost' };
    return new Promise<Outcome>((resolve) => {
      const entry: Waiting = { count: ids.count, firstId: ids.first, lastId: ids.last, resolve, timer: undefined };
      const onAbort = () => this.reset('given up: the client closed', 'fine');
      request.signal?.addEventListener('abort', onAbort, { once: true });
      entry.resolve = (outcome) => {
        clearTimeout(entry.timer);
        request.signal?.removeEventListener('abort', onAbort);
        resolve(outcome);
      };
      this.waiting.push(entry);
      const frames = [ackFrame, request.body];
      // A send queued behind others may come after a reset closed its socket (its request was
      // answered there): skipped then. zeromq throws at once on a closed socket, so the send is
      // made inside the chain's callback, where a throw is a rejection the next step handles,
      // never an unhandled one that would leave the chain rejected for every later send.
      this.sending = this.sending
        .then(() => (this.socket === socket ? socket.send(frames) : undefined))
        .then(
          () => {
            // Timed from the send: a request queued behind others waits for them without its clock running.
            if (this.waiting.includes(entry)) entry.timer = setTimeout(() => this.reset(`no answer within ${request.timeoutMs} ms`), request.timeoutMs);
          },
          (error: Error) => {
            if (this.socket === socket) this.reset(`send failed: ${error.message}`);
          },
        );
    });
  }

  /** The socket, made and connecting if there is none. */
  private async open(): Promise<Dealer> {
    if (this.socket !== undefined) return this.socket;
    const zmq = await loadClientZeromq();
    if (this.socket !== undefined) return this.socket;
    if (this.closed) throw new Error('the client closed');
    // immediate: messages go only to a completed connection, never into a queue for one that may never come.
    const socket = new zmq.Dealer({ linger: 0, immediate: true, ...this.socketOptions(zmq) });
    this.socket = socket;
    this.connected = new Promise<void>((resolve, reject) => {
      socket.events.on('handshake', () => resolve());
      // Refused (nothing listens) or another failure: libzmq would keep trying; we say so at once.
      socket.events.on('connect:retry', () => reject(new Error(`cannot connect to ${endpointOf(this.url)}`)));
      for (const failure of ['handshake:error:protocol', 'handshake:error:auth', 'handshake:error:other'] as const) {
        socket.events.on(failure, (event) => reject(new Error(`the handshake with ${endpointOf(this.url)} failed (${event.error.message}): CURVE keys (zmq.curve*) wrong or missing?`)));
      }
    });
    this.connected.catch(() => undefined);
    socket.events.on('disconnect', () => {
      if (this.socket === socket) this.reset('connection lost');
    });
    socket.connect(endpointOf(this.url));
    void this.readAnswers(socket);
    return socket;
  }

  private async readAnswers(socket: Dealer): Promise<void> {
    try {
      for await (const frames of socket) {
        if (this.socket !== socket) return;
        const entry = this.waiting.shift();
        const outcome = entry === undefined ? undefined : answerOutcome(frames, entry);
        if (entry === undefined || outcome === undefined) {
          if (entry !== undefined) this.waiting.unshift(entry);
          this.reset(entry === undefined ? 'an answer to no request' : 'an answer that does not fit its request');
          return;
        }
        entry.resolve(outcome);
      }
    } catch {
      // the socket closed (reset or close): its requests were answered there
    }
  }

  /** Closes the socket and answers every request on it: try again (`down`: another instance, after a probe). */
  private reset(why: string, instance: 'down' | 'fine' = 'down'): void {
    const socket = this.socket;
    this.socket = undefined;
    this.connected = undefined;
    this.sending = Promise.resolve();
    socket?.close();
    for (const entry of this.waiting.splice(0)) entry.resolve({ kind: 'retry', instance, afterMs: 0, why });
  }

  /** Whether the ROUTER answers a ZMTP handshake within `timeoutMs` (the down instance's probe, as GET /health is over HTTP). */
  async probe(timeoutMs: number): Promise<boolean> {
    let zmq: Zeromq;
    try {
      zmq = await loadClientZeromq();
    } catch {
      return false;
    }
    const socket = new zmq.Dealer({ linger: 0, ...this.socketOptions(zmq) });
    const answered = new Promise<boolean>((resolve) => {
      socket.events.on('handshake', () => resolve(true));
      for (const failure of ['connect:retry', 'handshake:error:protocol', 'handshake:error:auth', 'handshake:error:other'] as const) socket.events.on(failure, () => resolve(false));
    });
    socket.connect(endpointOf(this.url));
    try {
      return await withTimeout(answered, timeoutMs, 'timeout').catch(() => false);
    } finally {
      socket.close();
    }
  }

  close(): void {
    this.closed = true;
    this.reset('given up: the client closed', 'fine');
  }
}

const ACK_SPOOL = Buffer.from('?ack=spool');
const ACK_SINK = Buffer.from('?ack=sink');

const givenUp: Outcome = { kind: 'retry', instance: 'fine', afterMs: 0, why: 'given up: the client closed' };

/** An answer → its Outcome, or undefined when it cannot be this request's answer (the order is broken). */
function answerOutcome(frames: Buffer[], expected: Waiting): Outcome | undefined {
  if (frames.length !== 1) return undefined;
  const text = frames[0]!.toString('utf8');
  let answer: { status?: unknown; accepted?: unknown; ids?: unknown };
  try {
    answer = JSON.parse(text) as typeof answer;
  } catch {
    return undefined;
  }
  if (typeof answer.status !== 'number') return undefined;
  if (answer.status !== 202) return failureOutcome(answer.status, text, undefined);
  const ids = answer.ids;
  const fits = answer.accepted === expected.count && Array.isArray(ids) && ids.length === expected.count && ids[0] === expected.firstId && ids.at(-1) === expected.lastId;
  return fits ? { kind: 'acked' } : undefined;
}

/** The count and the first and last event ids of an NW1 body (what a 202 for it lists), or undefined if it is cut. */
export function bodyIds(body: Buffer): { count: number; first: string; last: string } | undefined {
  let at = NW1_OVERHEAD;
  let count = 0;
  let firstAt = -1;
  let lastAt = -1;
  while (at + FRAME_HEADER <= body.length) {
    const length = body.readUInt32LE(at);
    const start = at + FRAME_HEADER;
    if (start + length > body.length || length < ID_AT + 16) return undefined;
    lastAt = start + ID_AT;
    if (firstAt < 0) firstAt = lastAt;
    count++;
    at = start + length;
  }
  return firstAt < 0 || at !== body.length ? undefined : { count, first: eventIdText(body, firstAt), last: eventIdText(body, lastAt) };
}

function withTimeout<T>(promise: Promise<T>, ms: number, why: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(why)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
