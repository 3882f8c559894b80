// The HTTP ingest as a client sees it, shared by the ingest-*.test.ts files: a real server on
// 127.0.0.1 (port 0), real HTTP requests (fetch, node:http, raw sockets), and a recording IngestTarget
// standing in for the spool, which can be told to fail or to hold its answers.
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { type Config, defaultConfig } from '../../src/config/defaults';
import type { Envelope } from '../../src/envelope/envelope';
import type { OpsEndpoints } from '../../src/ingest/context';
import { RefusalCounter } from '../../src/ingest/refusals';
import { createIngestServer, type IngestServer, ingestLoad, type IngestServerOptions } from '../../src/ingest/server';
import { tlsEnabled } from '../../src/ingest/tls';
import type { AcceptOptions, AckMode, IngestTarget } from '../../src/ingest/target';
import type { RangePositions } from '../../src/sinks/waiters';
import { createLogger } from '../../src/ops/log';
import { afterAll, beforeAll, beforeEach, expect } from 'vitest';
import { closedByServer, openClient, pipeline } from '../raw-http';
import { settled, until } from '../wait';

export { settled, until } from '../wait';

export const NOW = 1_700_000_000_123;
export const BODY_TIMEOUT_MS = 600;
export const HEADERS_TIMEOUT_MS = 400;
export const MAX_BODY = 64 * 1024;
/**
 * Short deadlines, for the tests whose subject is a deadline (a 408). Every other server has
 * deadlines past any test's own (the default of startServer): short ones also pass whenever a
 * loaded machine stalls the event loop for that long with the client's bytes waiting unread, and
 * end the connection with a 408 in the middle of what such a test checks.
 */
export const SHORT_DEADLINES = { headersTimeoutMs: HEADERS_TIMEOUT_MS, bodyTimeoutMs: BODY_TIMEOUT_MS } as const;
const NO_DEADLINES = { headersTimeoutMs: 600_000, bodyTimeoutMs: 600_000 } as const;

export class RecordingTarget implements IngestTarget {
  calls: Array<{ envelopes: Envelope[]; ack: AckMode; options: AcceptOptions | undefined }> = [];
  failure: unknown;
  reasons: string[] = [];
  /** While set, accept() waits for it before answering (a slow spool, a sink that does not answer). */
  hold: Promise<void> | undefined;

  async accept(envelopes: Envelope[], ack: AckMode, options?: AcceptOptions): Promise<RangePositions | void> {
    this.calls.push({ envelopes, ack, options });
    if (this.hold) await this.hold;
    if (this.failure !== undefined) throw this.failure;
  }

  notReadyReasons(): string[] {
    return this.reasons;
  }

  reset(): void {
    this.calls = [];
    this.failure = undefined;
    this.reasons = [];
    this.hold = undefined;
  }

  /** Every envelope accepted so far, in order. */
  get events(): Envelope[] {
    return this.calls.flatMap((call) => call.envelopes);
  }
}

export interface Harness {
  url: string;
  port: number;
  server: IngestServer;
  target: RecordingTarget;
  refusals: RefusalCounter;
  logs: string[];
  connections: () => number;
  /**
   * Whether the server has read anything of this client's (plain) connection yet. Until it has, it
   * cannot tell it from a connection that has sent nothing, an idle one, which gives way to a new
   * connection past the limit: the kernel may hand it the new connection first.
   */
  hasRead(client: Socket): boolean;
  close(): Promise<void>;
}

export interface MoreOptions {
  /** Changes to the rest of the configuration (tls, auth, …), made last. */
  configure?: (config: Config) => void;
  role?: IngestServerOptions['role'];
}

export async function startServer(http: Partial<Config['http']> = {}, ops?: OpsEndpoints, tracker: Partial<Config['tracker']> = {}, more: MoreOptions = {}): Promise<Harness> {
  const config = defaultConfig();
  config.host = 'ingest-test';
  Object.assign(config.http, { maxBodyBytes: MAX_BODY, ...NO_DEADLINES }, http);
  Object.assign(config.tracker, tracker);
  more.configure?.(config);
  const target = new RecordingTarget();
  const logs: string[] = [];
  const logger = createLogger('debug', {}, (line) => void logs.push(line));
  const refusals = new RefusalCounter();
  const server = createIngestServer({ config, target, logger, refusals, now: () => NOW, ...(ops ? { ops } : {}), ...(more.role ? { role: more.role } : {}) });
  let connections = 0;
  const accepted = new Map<number | undefined, Socket>();
  server.on('connection', (socket: Socket) => {
    connections++;
    accepted.set(socket.remotePort, socket);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `${tlsEnabled(config.tls) && more.role !== 'ops' ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    server,
    target,
    refusals,
    logs,
    connections: () => connections,
    hasRead: (client) => (accepted.get(client.localPort)?.bytesRead ?? 0) > 0,
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

/**
 * One server for a whole test file (started before its first test, closed after its last), its
 * target reset before each test. The object is filled in once the server runs.
 */
export function serverPerFile(...options: Parameters<typeof startServer>): Harness {
  const harness = {} as Harness;
  beforeAll(async () => void Object.assign(harness, await startServer(...options)));
  afterAll(() => harness.close());
  beforeEach(() => harness.target.reset());
  return harness;
}

export interface Answer {
  status: number;
  body: any;
  headers: Headers;
}

export async function sendTo(url: string, path: string, init: RequestInit = {}): Promise<Answer> {
  const response = await fetch(`${url}${path}`, init);
  const text = await response.text();
  return { status: response.status, body: text === '' ? undefined : JSON.parse(text), headers: response.headers };
}

/** A raw exchange over TCP: writes `head` (and then `rest`, if given, after `pauseMs`), returns all the server sent until it closed. */
export function raw(port: number, head: string | Buffer, options: { rest?: string; pauseMs?: number } = {}): Promise<{ text: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = connect(port, '127.0.0.1');
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('end', () => socket.end());
    socket.on('close', () => resolve({ text, ms: Date.now() - started }));
    // A reset after the answer arrived (the server closed with our bytes unread) still has the answer.
    socket.on('error', (error) => (text === '' ? reject(error) : resolve({ text, ms: Date.now() - started })));
    socket.write(head);
    if (options.rest !== undefined) setTimeout(() => socket.write(options.rest!), options.pauseMs ?? 0);
  });
}

/** `count` connections that each had one request answered and have sent nothing since: idle ones. */
export async function idleConnections(port: number, count: number, tls?: ConnectionOptions): Promise<Socket[]> {
  const idle: Socket[] = [];
  for (let i = 0; i < count; i++) {
    const { socket } = await openClient(port, tls);
    const answered = new Promise((resolve) => socket.once('data', resolve));
    socket.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
    await answered;
    idle.push(socket);
  }
  return idle;
}

/**
 * Fills the server (its http.maxConnections being `limit`) with idle connections, then sends one more
 * request on a connection of its own with `another` (its status): it is served, and the connection
 * idle the longest is closed to make room for it, the others kept.
 */
export async function expectLongestIdleGivesWay(harness: Harness, limit: number, another: () => Promise<number>, tls?: ConnectionOptions): Promise<void> {
  const idle = await idleConnections(harness.port, limit, tls);
  expect(ingestLoad(harness.server).connections).toBe(limit);
  expect(await another()).toBe(200);
  await closedByServer(idle[0]!);
  expect(idle.slice(1).every((socket) => !socket.destroyed)).toBe(true);
  for (const socket of idle) socket.destroy();
}

const PIPELINED = 'GET /v1/topics/pipe?data=1 HTTP/1.1\r\nHost: x\r\n\r\n';

/**
 * One client pipelines 5,000 beacons while the target holds its answers: the server stops reading
 * it once `maxPipelined` of its requests are unanswered (give or take what one read of 64 KiB held,
 * which Node parses at once), serves others meanwhile (`another`: a request on a connection of its
 * own, its status), and once the target answers, answers every request, refusing none.
 */
export async function expectPipeliningBounded(harness: Harness, maxPipelined: number, another: () => Promise<number>, tls?: ConnectionOptions): Promise<void> {
  let release!: () => void;
  harness.target.hold = new Promise<void>((resolve) => (release = resolve));
  const client = await openClient(harness.port, tls);
  const total = 5_000;
  pipeline(client.socket, PIPELINED, total);
  const taken = await settled(() => harness.target.calls.length, 'the server stopped taking requests');
  expect(taken).toBeGreaterThanOrEqual(maxPipelined);
  expect(taken).toBeLessThanOrEqual(maxPipelined + Math.ceil((64 * 1024) / PIPELINED.length));
  expect(ingestLoad(harness.server).requestsInFlight).toBe(taken);
  expect(await another()).toBe(200);
  release();
  harness.target.hold = undefined;
  await until(() => client.count(202) === total, `all ${total} requests were answered`);
  expect(harness.target.calls).toHaveLength(total);
  expect(harness.refusals.snapshot()).toEqual([]);
  client.socket.destroy();
}

/** `count` connections each in the middle of a request, its body on its way (one byte of two sent): busy ones. */
export async function busyConnections(port: number, count: number, tls?: ConnectionOptions): Promise<Socket[]> {
  const busy: Socket[] = [];
  for (let i = 0; i < count; i++) {
    const { socket } = await openClient(port, tls);
    socket.write('POST /v1/topics/busy HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{');
    busy.push(socket);
  }
  return busy;
}

/** Sends the rest of each busy connection's body; resolves with the start of each answer's status line. */
export function finishBusy(busy: Socket[]): Promise<string[]> {
  const answered = busy.map((socket) => new Promise<string>((resolve) => socket.once('data', (chunk: Buffer) => resolve(chunk.toString().slice(0, 12)))));
  for (const socket of busy) socket.write('}');
  return Promise.all(answered);
}

export const jsonOf = (rawAnswer: string) => JSON.parse(rawAnswer.slice(rawAnswer.indexOf('\r\n\r\n') + 4));
