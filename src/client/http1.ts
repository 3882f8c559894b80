// POSTs to an http:// instance over keep-alive sockets of our own: one request at a time per
// socket, at most maxSockets of them, the head of each request written from a prefix made once per
// (instance, topic, ack mode), and the answer read by a small HTTP/1.1 response parser.
//
// Why not node:http: measured with the same 100-event NW1 body POSTed to a real daemon, 64 requests
// in flight (bench/micro/client-cpu.mjs is the end-to-end measure), node:http's ClientRequest,
// IncomingMessage and Agent cost the client process 112–140 µs of CPU per request; undici 7's
// Pool/Client (with or without pipelining) 111–137 µs, no cheaper, and a dependency bundled into the
// client; this writer and parser 37–39 µs. At batches of 100 that was about a third of the client's
// CPU per event. What the client needs of HTTP is narrow: a POST with a known length, an answer
// whose status, Retry-After and first bytes it reads. https:// instances keep node:https (TLS, client
// certificates: transport.ts), where the handshake, not the framing, dominates.
//
// The parser takes what an HTTP/1.1 server or proxy may answer: Content-Length, chunked transfer
// coding (trailers skipped), a body ending with the connection (HTTP/1.0, or no length), interim 1xx
// answers (skipped), `Connection: close`. Anything else (a head over 64 KiB, a bad status line or
// chunk size, an answer nobody asked for, a connection closed mid-answer) fails the request and
// drops the socket: the client tries again, as after any connection failure. Answers are bounded
// (maxAnswerBytes read at most; only the first bytes `keep` asks for kept).
import { connect, type Socket } from 'node:net';

export interface Answer {
  status: number;
  /** Header names lower-cased; a repeated header keeps its last value. */
  headers: Record<string, string>;
  /** The first bytes of the answer's body (as many as Http1Request.keep says), as UTF-8. */
  text: string;
}

export interface Http1Request {
  /** The request head up to its Content-Length (request line, Host, other headers), each line ending CRLF. */
  head: string;
  body: Buffer;
  /** Bytes of the answer's body kept, by its status (the rest is read and dropped). */
  keep: (status: number) => number;
  timeoutMs: number;
}

/** Why a request failed: the connection (refused, reset, closed mid-answer, a broken answer), no answer in time, or the client gave it up. */
export class Http1Error extends Error {
  constructor(
    message: string,
    readonly reason: 'connection' | 'timeout' | 'given-up' = 'connection',
  ) {
    super(message);
  }
}

const MAX_HEAD_BYTES = 64 * 1024;
const CRLF_CRLF = Buffer.from('\r\n\r\n');

/** One request waiting for its answer on a connection. */
interface Exchange {
  request: Http1Request;
  resolve(answer: Answer): void;
  reject(error: Http1Error): void;
  timer: NodeJS.Timeout;
}

/** A keep-alive connection: at most one exchange at a time. */
class Connection {
  readonly socket: Socket;
  exchange: Exchange | undefined;
  private readonly parser = new ResponseParser();
  private closed = false;

  constructor(
    host: string,
    port: number,
    private readonly maxAnswerBytes: number,
    private readonly gone: (connection: Connection) => void,
    private readonly idle: (connection: Connection) => void,
  ) {
    this.socket = connect({ host, port, noDelay: true });
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('end', () => this.onEnd());
    this.socket.on('error', (error: NodeJS.ErrnoException) => this.fail(new Http1Error(error.code ?? error.message)));
    this.socket.on('close', () => this.fail(new Http1Error('connection closed before the answer')));
  }

  send(exchange: Exchange): void {
    this.exchange = exchange;
    this.parser.reset(exchange.request.keep, this.maxAnswerBytes);
    const { head, body } = exchange.request;
    this.socket.cork();
    this.socket.write(`${head}Content-Length: ${body.length}\r\n\r\n`, 'latin1');
    this.socket.write(body);
    this.socket.uncork();
  }

  private onData(chunk: Buffer): void {
    if (this.exchange === undefined) return this.fail(new Http1Error('an answer to no request'));
    let result: ParseResult;
    try {
      result = this.parser.push(chunk);
    } catch (error) {
      return this.fail(error as Http1Error);
    }
    if (result === 'more') return;
    this.complete(result === 'done-close');
  }

  /** The server closed its side: the end of an answer that runs to the close, or a failure. */
  private onEnd(): void {
    if (this.exchange !== undefined && this.parser.endsAtClose()) return this.complete(true);
    this.fail(new Http1Error('connection closed before the answer'));
  }

  private complete(close: boolean): void {
    const exchange = this.exchange!;
    this.exchange = undefined;
    clearTimeout(exchange.timer);
    const answer = this.parser.answer();
    if (close || this.parser.hasRest()) this.destroy();
    else this.idle(this);
    exchange.resolve(answer);
  }

  /** Drops the connection; its exchange, if any, fails with `error`. */
  fail(error: Http1Error): void {
    const exchange = this.exchange;
    this.exchange = undefined;
    this.destroy();
    if (exchange !== undefined) {
      clearTimeout(exchange.timer);
      exchange.reject(error);
    }
  }

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
    this.gone(this);
  }
}

/** Keep-alive connections to one host:port, at most `maxSockets`, requests beyond them queued. */
export class Http1Pool {
  private readonly idleConnections: Connection[] = [];
  private readonly all = new Set<Connection>();
  private readonly queue: Exchange[] = [];
  private destroyed = false;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly maxSockets: number,
    private readonly maxAnswerBytes: number,
  ) {}

  request(request: Http1Request): Promise<Answer> {
    if (this.destroyed) return Promise.reject(new Http1Error('given up: the client closed', 'given-up'));
    return new Promise<Answer>((resolve, reject) => {
      const exchange: Exchange = { request, resolve, reject, timer: undefined as unknown as NodeJS.Timeout };
      exchange.timer = setTimeout(() => this.timeOut(exchange), request.timeoutMs);
      this.queue.push(exchange);
      this.next();
    });
  }

  /** Sends queued requests on idle connections (the most recently used first), or new ones up to maxSockets. */
  private next(): void {
    while (this.queue.length > 0) {
      let connection = this.idleConnections.pop();
      if (connection === undefined) {
        if (this.all.size >= this.maxSockets) return;
        connection = new Connection(this.host, this.port, this.maxAnswerBytes, (gone) => this.forget(gone), (idle) => this.release(idle));
        this.all.add(connection);
      }
      connection.send(this.queue.shift()!);
    }
  }

  private release(connection: Connection): void {
    if (this.destroyed) return connection.destroy();
    this.idleConnections.push(connection);
    this.next();
  }

  private forget(connection: Connection): void {
    this.all.delete(connection);
    const at = this.idleConnections.indexOf(connection);
    if (at !== -1) this.idleConnections.splice(at, 1);
    if (!this.destroyed) this.next();
  }

  private timeOut(exchange: Exchange): void {
    const at = this.queue.indexOf(exchange);
    const error = new Http1Error(`no answer within ${exchange.request.timeoutMs} ms`, 'timeout');
    if (at !== -1) {
      this.queue.splice(at, 1);
      return exchange.reject(error);
    }
    for (const connection of this.all) if (connection.exchange === exchange) return connection.fail(error);
  }

  /** Fails every request with `why` and closes every connection; later requests are refused. */
  destroy(why = 'given up: the client closed'): void {
    this.destroyed = true;
    for (const exchange of this.queue.splice(0)) {
      clearTimeout(exchange.timer);
      exchange.reject(new Http1Error(why, 'given-up'));
    }
    for (const connection of [...this.all]) connection.fail(new Http1Error(why, 'given-up'));
  }
}

type ParseResult = 'more' | 'done' | 'done-close';

/**
 * An HTTP/1.1 response, pushed chunk by chunk: head, then a body framed by Content-Length, chunked
 * coding, or the end of the connection. Throws Http1Error on what is not HTTP.
 */
export class ResponseParser {
  private pending: Buffer | undefined;
  private state: 'head' | 'length' | 'chunk-size' | 'chunk-data' | 'chunk-end' | 'trailers' | 'to-close' = 'head';
  private status = 0;
  private headers: Record<string, string> = {};
  private close = false;
  private remaining = 0;
  private kept: Buffer[] = [];
  private keptBytes = 0;
  private readBytes = 0;
  private keep = 0;
  private keepOf: (status: number) => number = () => 0;
  private max = 0;
  private rest = false;

  reset(keepOf: (status: number) => number, max: number): void {
    this.pending = undefined;
    this.state = 'head';
    this.kept = [];
    this.keptBytes = 0;
    this.readBytes = 0;
    this.keepOf = keepOf;
    this.max = max;
    this.rest = false;
  }

  answer(): Answer {
    return { status: this.status, headers: this.headers, text: this.kept.length === 1 ? this.kept[0]!.toString('utf8') : Buffer.concat(this.kept).toString('utf8') };
  }

  /** Bytes came after the answer (nothing was asked): the connection cannot be trusted for the next one. */
  hasRest(): boolean {
    return this.rest;
  }

  endsAtClose(): boolean {
    return this.state === 'to-close';
  }

  push(chunk: Buffer): ParseResult {
    let data = this.pending === undefined ? chunk : Buffer.concat([this.pending, chunk]);
    this.pending = undefined;
    let at = 0;
    for (;;) {
      if (this.state === 'head') {
        const end = data.indexOf(CRLF_CRLF, at);
        if (end === -1) {
          if (data.length - at > MAX_HEAD_BYTES) throw new Http1Error(`an answer head over ${MAX_HEAD_BYTES} bytes`);
          this.pending = data.subarray(at);
          return 'more';
        }
        const interim = this.head(data.toString('latin1', at, end));
        at = end + 4;
        if (interim) continue;
        if (this.state === 'head') return this.done(data, at);
      } else if (this.state === 'length' || this.state === 'chunk-data' || this.state === 'to-close') {
        const take = this.state === 'to-close' ? data.length - at : Math.min(this.remaining, data.length - at);
        this.body(data, at, at + take);
        at += take;
        if (this.state === 'to-close') return 'more';
        this.remaining -= take;
        if (this.remaining > 0) return 'more';
        if (this.state === 'length') return this.done(data, at);
        this.state = 'chunk-end';
      } else {
        // chunk-size, chunk-end (the CRLF after a chunk's data), trailers: one line at a time.
        const end = data.indexOf('\r\n', at, 'latin1');
        if (end === -1) {
          if (data.length - at > MAX_HEAD_BYTES) throw new Http1Error('a chunk line over 64 KiB');
          this.pending = data.subarray(at);
          return 'more';
        }
        const line = data.toString('latin1', at, end);
        at = end + 2;
        if (this.state === 'chunk-end') {
          if (line !== '') throw new Http1Error('a chunk longer than its size');
          this.state = 'chunk-size';
        } else if (this.state === 'chunk-size') {
          const size = /^([0-9a-fA-F]{1,8})(?:[ \t]*;.*)?[ \t]*$/.exec(line);
          if (size === null) throw new Http1Error(`a bad chunk size '${line.slice(0, 40)}'`);
          this.remaining = Number.parseInt(size[1]!, 16);
          this.state = this.remaining === 0 ? 'trailers' : 'chunk-data';
        } else if (line === '') {
          return this.done(data, at);
        }
      }
    }
  }

  /** Reads a head; true when it is an interim (1xx) answer, to be skipped. */
  private head(text: string): boolean {
    const lines = text.split('\r\n');
    const status = /^HTTP\/1\.([01]) ([1-9]\d\d)(?: |$)/.exec(lines[0]!);
    if (status === null) throw new Http1Error(`not an HTTP/1.x answer: '${lines[0]!.slice(0, 40)}'`);
    this.status = Number(status[2]);
    if (this.status < 200) return true;
    this.keep = this.keepOf(this.status);
    const headers: Record<string, string> = Object.create(null) as Record<string, string>;
    for (let i = 1; i < lines.length; i++) {
      const colon = lines[i]!.indexOf(':');
      if (colon <= 0) throw new Http1Error('a bad header line in the answer');
      headers[lines[i]!.slice(0, colon).trim().toLowerCase()] = lines[i]!.slice(colon + 1).trim();
    }
    this.headers = headers;
    const connection = headers.connection?.toLowerCase() ?? '';
    this.close = status[1] === '0' ? !connection.includes('keep-alive') : connection.includes('close');
    const coding = headers['transfer-encoding']?.toLowerCase();
    const length = headers['content-length'];
    if (this.status === 204 || this.status === 304) {
      this.state = 'head';
    } else if (coding !== undefined && coding !== 'identity') {
      if (!/(?:^|,)\s*chunked\s*$/.test(coding)) {
        this.state = 'to-close';
        this.close = true;
      } else {
        this.state = 'chunk-size';
      }
    } else if (length !== undefined) {
      if (!/^\d{1,15}$/.test(length)) throw new Http1Error(`a bad Content-Length '${length.slice(0, 40)}'`);
      this.remaining = Number(length);
      this.state = this.remaining === 0 ? 'head' : 'length';
    } else {
      this.state = 'to-close';
      this.close = true;
    }
    return false;
  }

  private body(data: Buffer, from: number, to: number): void {
    this.readBytes += to - from;
    if (this.readBytes > this.max) throw new Http1Error(`an answer over ${this.max} bytes`);
    if (this.keptBytes < this.keep && to > from) {
      const end = Math.min(to, from + this.keep - this.keptBytes);
      this.kept.push(data.subarray(from, end));
      this.keptBytes += end - from;
    }
  }

  private done(data: Buffer, at: number): ParseResult {
    this.rest = at < data.length;
    this.state = 'head';
    return this.close ? 'done-close' : 'done';
  }
}
