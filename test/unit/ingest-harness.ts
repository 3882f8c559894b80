// The HTTP ingest as a client sees it, shared by the ingest-*.test.ts files: a real server on
// 127.0.0.1 (port 0), real HTTP requests (fetch, node:http, raw sockets), and a recording IngestTarget
// standing in for the spool, which can be told to fail or to hold its answers.
import { once } from 'node:events';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { type Config, defaultConfig } from '../../src/config/defaults';
import type { Envelope } from '../../src/envelope/envelope';
import type { OpsEndpoints } from '../../src/ingest/context';
import { RefusalCounter } from '../../src/ingest/refusals';
import { createIngestServer, type IngestServer, type IngestServerOptions } from '../../src/ingest/server';
import { tlsEnabled } from '../../src/ingest/tls';
import type { AcceptOptions, AckMode, IngestTarget } from '../../src/ingest/target';
import { createLogger } from '../../src/ops/log';
import { afterAll, beforeAll, beforeEach } from 'vitest';

export { settled, until } from '../wait';

export const NOW = 1_700_000_000_123;
export const BODY_TIMEOUT_MS = 600;
export const HEADERS_TIMEOUT_MS = 400;
export const MAX_BODY = 64 * 1024;

export class RecordingTarget implements IngestTarget {
  calls: Array<{ envelopes: Envelope[]; ack: AckMode; options: AcceptOptions | undefined }> = [];
  failure: unknown;
  reasons: string[] = [];
  /** While set, accept() waits for it before answering (a slow spool, a sink that does not answer). */
  hold: Promise<void> | undefined;

  async accept(envelopes: Envelope[], ack: AckMode, options?: AcceptOptions): Promise<void> {
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
  Object.assign(config.http, { maxBodyBytes: MAX_BODY, bodyTimeoutMs: BODY_TIMEOUT_MS, headersTimeoutMs: HEADERS_TIMEOUT_MS }, http);
  Object.assign(config.tracker, tracker);
  more.configure?.(config);
  const target = new RecordingTarget();
  const logs: string[] = [];
  const logger = createLogger('debug', {}, (line) => void logs.push(line));
  const refusals = new RefusalCounter();
  const server = createIngestServer({ config, target, logger, refusals, now: () => NOW, ...(ops ? { ops } : {}), ...(more.role ? { role: more.role } : {}) });
  let connections = 0;
  server.on('connection', () => connections++);
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

export const jsonOf = (rawAnswer: string) => JSON.parse(rawAnswer.slice(rawAnswer.indexOf('\r\n\r\n') + 4));
