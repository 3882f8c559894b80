// What one client can make the ingest hold through its connections, bounded:
//
//  - Connections (http.maxConnections, lowered to fit the descriptor limit). Past the limit a new
//    connection takes the place of the connection idle the longest (a keep-alive connection between
//    requests, or one that has sent nothing yet), as nginx reuses its keep-alive connections; only
//    when none is idle is it answered 503 TOO_MANY_CONNECTIONS and closed. Idle connections therefore
//    never lock out a client with something to send, and the daemon never runs out of descriptors.
//    Node's own server.maxConnections was the alternative: it drops the connection without a word and
//    cannot tell an idle connection from a busy one.
//  - Pipelined requests per connection. Node parses every request a client pipelines and hands each
//    to us at once; with answers waiting on a sink, 300,000 of them on one connection took 2.8 GB.
//    Here a connection is no longer read while http.maxPipelinedRequests of its requests are
//    unanswered, or while more than http.maxUnreadResponseBytes of answers wait in its socket for
//    the client to read them. Node pauses a connection for queued answers too, but resumes it as
//    soon as its own queue moves, unread answers or not: pipelined ack=spool requests whose answers
//    were never read grew the daemon by 800 MB. (Node hands a pipelined answer to the socket only
//    once the one before reached the kernel, so unread small answers stay unanswered requests and
//    the first bound holds them; the second holds large ones.) TCP then pushes back on the client.
//    Requests already read when the limit is reached (at most one read, 64 KiB) are still answered;
//    the body of the request read last is always read (or that request could never finish); and
//    Node's header deadline for a request we stopped reading starts again once the connection is
//    read again (deferTimeout).
//  - TLS changes none of this: a TLS connection is counted from its first byte (a refused one is
//    closed, as there is no HTTP to answer in before the handshake, which gets http.headersTimeoutMs),
//    and its requests are tracked and paused on the TLS socket that carries them.
//  - The operations listener (ops.listen) has a guard of its own with OPS_MAX_CONNECTIONS.
//  - Sockets we close after an answer (408, 413, a malformed request, a refused connection) linger for
//    LINGER_MS, reading and discarding, so that the client reads our answer instead of a reset, and
//    are destroyed after that even if the client keeps its end open.
//  - Once a connection's last answer is decided, no request read after it is served (RFC 9112 §9.6):
//    Node's parser goes on parsing what a pipelining client sent, and its events would be stored with
//    no answer to tell the client, which would send them again (a request that came too late, 408,
//    was stored all the same). Such a request ends the reading. An answer of ours (400, 408, 431:
//    Node's parser failed, or a deadline passed) follows the answers to the requests read before it,
//    in order; written at once, it took the place of the first of them.
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from '../ops/log';
import type { RefusalCounter } from './refusals';

export interface ConnectionLimits {
  maxConnections: number;
  /** Where maxConnections comes from, for the refusal's message. */
  maxConnectionsSetting: string;
  maxPipelinedRequests: number;
  maxUnreadResponseBytes: number;
}

/** How long a socket we close after an answer keeps draining what the client still sends. */
export const LINGER_MS = 2_000;
/** Refused connections lingering at once; past this a refused connection is closed without an answer. */
const MAX_LINGERING_REFUSALS = 64;
/** Descriptors kept for everything but client connections: spool segments, sink files, broker connections, logs. */
const RESERVED_DESCRIPTORS = 256;
/**
 * Connections of the separate operations listener (ops.listen) at once: Prometheus, a status page,
 * health checks. A limit of its own, not taken from http.maxConnections, so that a flood on either
 * listener cannot lock the other out; the ingest's limit keeps descriptors for it (connectionLimit).
 */
export const OPS_MAX_CONNECTIONS = 64;

/**
 * Sockets whose last answer is decided (it says `connection: close`, or is one of ours written by
 * closeLingering): a request read on one after that is not served (ConnectionGuard.track).
 */
const closing = new WeakSet<Socket>();

interface Connection {
  unanswered: number;
  /** Stopped reading by us (Node may stop it too, for its own reasons). */
  paused: boolean;
  /** A request came after the connection's last answer: it is read no more, whatever resumes it. */
  stopped: boolean;
  /** The request read last: while its body is on its way the connection is read, or it could never finish. */
  last: IncomingMessage | undefined;
  /** Responses not yet closed. */
  pending: Set<ServerResponse>;
  /**
   * What waits for the requests read so far to be answered, all but `upTo` of them: a request
   * deadline Node reported meanwhile, restarted then (deferTimeout), or an answer of ours (endWith).
   */
  waiting: { upTo: number; run: () => void } | undefined;
  timer: NodeJS.Timeout | undefined;
  /** When the connection last had everything answered, or was read again after a pause (Date.now()). */
  freeSince: number;
}

export class ConnectionGuard {
  private open = 0;
  private inFlight = 0;
  private lingeringRefusals = 0;
  private readonly connections = new WeakMap<Socket, Connection>();
  /** Connections with no request in progress, longest idle first, with their bytesRead when they went idle. */
  private readonly idle = new Map<Socket, number>();

  constructor(
    private readonly limits: ConnectionLimits,
    private readonly refusals: RefusalCounter,
  ) {}

  /** Open client connections, and requests read but not yet answered. */
  load(): { connections: number; requestsInFlight: number } {
    return { connections: this.open, requestsInFlight: this.inFlight };
  }

  /**
   * A new connection (the server's 'connection' event): counted while it is open, and refused past
   * the limit. A refused plain connection is answered 503; a TLS one (`speaksHttp` false: no
   * handshake yet, so no HTTP to answer in) is closed, and counted as the same refusal. True when it
   * is let in; its HTTP socket is then handed to serve().
   */
  admit(socket: Socket, speaksHttp: boolean): boolean {
    this.open++;
    socket.once('close', () => this.open--);
    if (this.open > this.limits.maxConnections && !this.evictIdle()) {
      this.refuse(socket, speaksHttp);
      return false;
    }
    return true;
  }

  /**
   * The socket that carries an admitted connection's HTTP: the connection's own, or its TLS socket
   * once the handshake is done. From here its requests are tracked, and it may be evicted when idle.
   */
  serve(socket: Socket): void {
    const connection: Connection = { unanswered: 0, paused: false, stopped: false, last: undefined, pending: new Set(), waiting: undefined, timer: undefined, freeSince: Date.now() };
    this.connections.set(socket, connection);
    socket.once('close', () => {
      this.idle.delete(socket);
      clearTimeout(connection.timer);
      // Node closes the response that holds the socket, but not the pipelined ones queued behind it:
      // they would never emit 'close', and what waits for it (this count, the memory budget, an
      // ack=sink wait) would wait forever. Closed here, as their connection is.
      for (const response of connection.pending) response.emit('close');
    });
    this.idle.set(socket, 0);
    // Node resumes a connection it paused itself without asking us: stop it again while our reason holds.
    socket.on('resume', () => {
      if (connection.paused || connection.stopped) socket.pause();
    });
    socket.on('drain', () => this.update(socket, connection));
  }

  /**
   * A request was read (the server's 'request' event). False if it came after the connection's last
   * answer (a connection refused at admission, or one whose answer said `connection: close`): the
   * request is ignored, nothing of it stored, and the connection is read no more.
   */
  track(request: IncomingMessage, response: ServerResponse): boolean {
    const socket = request.socket;
    const connection = this.connections.get(socket);
    if (connection === undefined || closing.has(socket)) {
      if (connection !== undefined) connection.stopped = true;
      socket.pause();
      return false;
    }
    this.idle.delete(socket);
    clearTimeout(connection.timer);
    connection.waiting = undefined;
    connection.unanswered++;
    this.inFlight++;
    connection.last = request;
    if (hasBody(request)) request.once('end', () => this.update(socket, connection));
    this.update(socket, connection);
    connection.pending.add(response);
    response.once('close', () => {
      connection.pending.delete(response);
      connection.unanswered--;
      this.inFlight--;
      if (connection.last === request) connection.last = undefined;
      if (connection.unanswered === 0 && !socket.destroyed) {
        connection.freeSince = Date.now();
        this.idle.set(socket, socket.bytesRead);
      }
      const waiting = connection.waiting;
      if (waiting !== undefined && connection.unanswered <= waiting.upTo && !socket.destroyed) {
        connection.waiting = undefined;
        waiting.run();
      }
      this.update(socket, connection);
    });
    return true;
  }

  /**
   * Node's header or request deadline passed for the request the client is sending now. Node counts
   * it from the request's first byte; but while earlier requests of the connection are unanswered the
   * client is waiting for us, and we may have stopped reading it so that its request cannot arrive.
   * The deadline therefore counts from when the connection was last free (everything answered, or
   * read again): with requests unanswered it starts again once they are answered; shortly after, it
   * runs for what is left of it. `expire` runs when it passes. False when the deadline is the
   * client's own doing (the connection was free long enough): expire now.
   */
  deferTimeout(socket: Socket, ms: number, expire: () => void): boolean {
    const connection = this.connections.get(socket);
    if (connection === undefined || socket.destroyed || closing.has(socket)) return false;
    const arm = (delay: number) => {
      clearTimeout(connection.timer);
      connection.timer = setTimeout(expire, delay);
      connection.timer.unref();
    };
    if (connection.unanswered > 0) {
      connection.waiting = { upTo: 0, run: () => arm(ms) };
      return true;
    }
    const left = connection.freeSince + ms - Date.now();
    if (left <= 0) return false;
    arm(left);
    return true;
  }

  /**
   * Ends a connection with an answer of ours, which `answer` writes (a request Node could not parse,
   * or that came too late): no request read after this is served, and the answer waits until those
   * read before it are answered, as HTTP/1.1 answers in order (written at once, it would take the
   * place of the first of them: its client would read it as that request's answer, and lose the
   * real one). Not waited for: the request whose body the error cut off, whose answer it is.
   */
  endWith(socket: Socket, answer: () => void): void {
    closing.add(socket);
    const connection = this.connections.get(socket);
    if (connection === undefined || socket.destroyed) return answer();
    const upTo = bodyPending(connection) ? 1 : 0;
    if (connection.unanswered <= upTo) return answer();
    connection.waiting = { upTo, run: answer };
  }

  /** Stops or resumes reading a connection per its unanswered requests and unread answers. */
  private update(socket: Socket, connection: Connection): void {
    const over = !bodyPending(connection) && (connection.unanswered >= this.limits.maxPipelinedRequests || socket.writableLength > this.limits.maxUnreadResponseBytes);
    if (connection.stopped || over === connection.paused || socket.destroyed) return;
    connection.paused = over;
    if (over) {
      socket.pause();
    } else {
      connection.freeSince = Date.now();
      socket.resume();
    }
  }

  /**
   * Closes the connection idle the longest to make room, if there is one. A connection counts as
   * idle when it has no request in progress and has sent nothing since its last answer (its
   * bytesRead has not moved); those that did are mid-request and keep their place.
   */
  private evictIdle(): boolean {
    for (const [socket, bytesRead] of this.idle) {
      this.idle.delete(socket);
      if (socket.destroyed || socket.bytesRead !== bytesRead) continue;
      socket.destroy();
      return true;
    }
    return false;
  }

  private refuse(socket: Socket, speaksHttp: boolean): void {
    this.refusals.note(503, 'TOO_MANY_CONNECTIONS');
    if (!speaksHttp || this.lingeringRefusals >= MAX_LINGERING_REFUSALS) {
      socket.destroy();
      return;
    }
    this.lingeringRefusals++;
    socket.once('close', () => this.lingeringRefusals--);
    const message = `more than ${this.limits.maxConnections} connections are open and none is idle (${this.limits.maxConnectionsSetting}); retry later`;
    closeLingering(socket, rawAnswer('503 Service Unavailable', 'TOO_MANY_CONNECTIONS', message, 'retry-after: 1\r\n'));
  }
}

/**
 * Works around a bug of Node's https server (seen on Node 20 and 22, not on plain http): when a
 * pipelining client's answers back up, Node pauses the connection and its HTTP parser after the
 * chunk at hand; but a TLS socket hands the parser every record decrypted from one read of the
 * network, and the next record then meets the paused parser, which fails the connection with 400
 * (HPE_PAUSED) though every request in it was well-formed. Here the parser of a TLS connection is
 * not paused: the records of that one read are parsed (bounded, as for a plain connection, by one
 * read) and nothing more is read while Node, or this guard, holds the socket paused. The parser is
 * pooled by Node and used again for later connections: it gets its own pause back when this one
 * closes. Called with the TLS socket once the http server has given it a parser.
 */
export function keepTlsParserRunning(socket: Socket): void {
  const parser = (socket as Socket & { parser?: { pause(): void } }).parser;
  if (parser === undefined || typeof parser.pause !== 'function') return;
  parser.pause = () => {};
  socket.once('close', () => delete (parser as { pause?: unknown }).pause);
}

/** The request read last is still sending its body: the connection is read, or it could never finish. */
function bodyPending(connection: Connection): boolean {
  return connection.last !== undefined && !connection.last.complete && hasBody(connection.last);
}

/** Whether a request has a body to read (RFC 9112 §6.3: a length, or chunked). */
function hasBody(request: IncomingMessage): boolean {
  const length = request.headers['content-length'];
  return (length !== undefined && length !== '0') || request.headers['transfer-encoding'] !== undefined;
}

/** A whole HTTP/1.1 answer with our JSON error body, for a socket Node's parser can no longer frame. */
export function rawAnswer(status: string, code: string, message: string, extraHeaders = ''): string {
  const body = JSON.stringify({ error: { code, message } });
  return `HTTP/1.1 ${status}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${extraHeaders}connection: close\r\n\r\n${body}`;
}

/**
 * The answer being made is the connection's last (it says `connection: close`): no request read
 * after it is served. Node ends such a connection with socket.destroySoon(): FIN, then destroy as
 * soon as the answer is flushed. If the client is still sending its body then, the kernel answers
 * the unread bytes with a reset, and a client busy writing often reports that reset instead of our
 * 413/408. Here destroySoon closes lingering (closeLingering; the parser drops the rest of the
 * body). If a Node version stops calling destroySoon, this is simply not used and the close is
 * immediate.
 */
export function closeAfterAnswer(socket: Socket): void {
  closing.add(socket);
  socket.destroySoon = function lingeringClose(this: Socket) {
    closeLingering(this);
  };
}

/**
 * Ends the socket after `answer` (FIN), keeps reading and discarding what the client still sends so
 * that the kernel does not answer it with a reset that would hide our answer (Apache's "lingering
 * close"), and destroys it after LINGER_MS whatever the client does. A request read meanwhile is
 * not served, and ends the reading.
 */
export function closeLingering(socket: Socket, answer?: string): void {
  closing.add(socket);
  if (socket.writable) {
    if (answer === undefined) socket.end();
    else socket.end(answer);
  }
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
  socket.resume();
}

/**
 * http.maxConnections, lowered when the process's descriptor limit (Linux: /proc/self/limits; Node
 * raises the soft limit to the hard one at start) would run out first: a daemon out of descriptors
 * can neither accept nor open a spool segment.
 */
export function connectionLimit(configured: number, logger: Logger, alsoReserved = 0, limitsText = readLimits()): number {
  const soft = /^Max open files\s+(\d+)/m.exec(limitsText ?? '')?.[1];
  if (soft === undefined) return configured;
  const reserved = RESERVED_DESCRIPTORS + alsoReserved;
  const fitting = Math.max(16, Number(soft) - reserved);
  if (configured <= fitting) return configured;
  logger.warn('ingest.connection_limit_lowered', { configured, used: fitting, descriptorLimit: Number(soft), reserved });
  return fitting;
}

function readLimits(): string | undefined {
  try {
    return readFileSync('/proc/self/limits', 'utf8');
  } catch {
    return undefined;
  }
}
