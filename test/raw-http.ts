// HTTP/1.1 as a hostile or broken client speaks it, over a plain TCP socket (or TLS over it): requests
// pipelined as fast as the connection takes them, answers counted by status, an end never closed by
// the client.
import { connect, type Socket } from 'node:net';
import { connect as connectTls, type ConnectionOptions } from 'node:tls';

export interface RawClient {
  socket: Socket;
  /** The first 64 KiB the server sent. */
  text(): string;
  /** Answers received with this status so far. */
  count(status: number): number;
}

const STATUS_LINE = /HTTP\/1\.1 (\d{3}) /g;
/** A status line is 13 characters: at most 12 of one can end a chunk unfinished. */
const PARTIAL = 12;

/**
 * A connection that, like a hostile client, never closes its own end (its FIN is never sent back);
 * with `tls`, a TLS connection (resolved once its handshake is done; Node's TLS sockets do not stay
 * half-open, so this one ends when the server's does).
 */
export function openClient(port: number, tls?: ConnectionOptions): Promise<RawClient> {
  return new Promise((resolve, reject) => {
    const counts = new Map<string, number>();
    let head = '';
    let tail = '';
    const ready = () => resolve({ socket, text: () => head, count: (status) => counts.get(String(status)) ?? 0 });
    const socket: Socket = tls ? connectTls({ port, host: '127.0.0.1', ...tls }, ready) : connect({ port, host: '127.0.0.1', allowHalfOpen: true }, ready);
    socket.on('error', reject);
    socket.on('data', (chunk: Buffer) => {
      const text = tail + chunk.toString('latin1');
      if (head.length < 64 * 1024) head += chunk.toString('latin1');
      let consumed = Math.max(0, text.length - PARTIAL);
      for (const match of text.matchAll(STATUS_LINE)) {
        counts.set(match[1]!, (counts.get(match[1]!) ?? 0) + 1);
        consumed = Math.max(consumed, match.index + match[0].length);
      }
      tail = text.slice(consumed);
    });
  });
}

/** Writes `count` copies of `request` as fast as the connection takes them (backpressure respected). */
export function pipeline(socket: Socket, request: string, count: number): void {
  const batch = request.repeat(200);
  let sent = 0;
  const pump = () => {
    while (sent < count) {
      const n = Math.min(200, count - sent);
      sent += n;
      if (!socket.write(n === 200 ? batch : request.repeat(n))) return void socket.once('drain', pump);
    }
  };
  pump();
}

/** Resolves once the server closed the connection (its FIN, or a reset). */
export function closedByServer(socket: Socket): Promise<void> {
  if (socket.destroyed || socket.readableEnded) return Promise.resolve();
  return new Promise((resolve) => {
    socket.once('end', resolve);
    socket.once('close', resolve);
  });
}
