// The HTTP ingest (Node's own http): routes, request → envelopes, answers. Events are handed to an
// IngestTarget (the spool) and the answer waits for it, so a 202 means "stored" per the ack mode.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Config } from '../config/defaults';
import type { Envelope } from '../envelope/envelope';
import { newEventId } from '../envelope/id';
import { RequestError, SinkError, SpoolClosedError, SpoolFullError } from '../errors';
import type { Logger } from '../ops/log';
import { decodeBeacon, decodeEvents, type EventPayload } from './decode-events';
import { type LegacyAck, parseLegacyMessage } from './neverwinter';
import { readBody } from './read-body';
import { badRequest, replyError, replyJson } from './reply';
import type { AckMode, IngestTarget } from './target';
import { checkTopic } from './topic-name';

export interface IngestServerOptions {
  config: Config;
  target: IngestTarget;
  logger: Logger;
  /** Operations endpoints served beside ingest. */
  ops?: { stats(): unknown; metrics(): string };
  now?: () => number;
}

const TOPICS_PREFIX = '/v1/topics/';
const HEADER_PREFIX = 'x-sparkngin-header-';

interface Request {
  request: IncomingMessage;
  response: ServerResponse;
  path: string;
  query: URLSearchParams;
}

export function createIngestServer(options: IngestServerOptions): Server {
  const { config, target, logger } = options;
  const now = options.now ?? Date.now;
  const limits = { maxBytes: config.http.maxBodyBytes, timeoutMs: config.http.bodyTimeoutMs };

  const envelopes = (req: Request, topic: string, payloads: EventPayload[], key?: string): Envelope[] => {
    const ts = now();
    const ip = clientAddress(req.request);
    const headers = eventHeaders(req.request);
    const sts = clientTime(req);
    return payloads.map(({ type, data }) => {
      const envelope: Envelope = { id: newEventId(ts), topic, ts, ip, host: config.host, headers, type, data };
      if (key !== undefined) envelope.key = key;
      if (sts !== undefined) envelope.sts = sts;
      return envelope;
    });
  };

  const accept = async (req: Request, events: Envelope[]): Promise<void> => {
    await target.accept(events, ackMode(req));
    replyJson(req.response, 202, { accepted: events.length, ids: events.map((event) => event.id) });
  };

  const topicRoute = async (req: Request, topic: string): Promise<void> => {
    if (req.request.method === 'POST') {
      const body = await readBody(req.request, limits);
      return accept(req, envelopes(req, topic, decodeEvents(req.request.headers['content-type'], body), eventKey(req)));
    }
    const data = req.query.get('data');
    if (data === null) throw badRequest('MISSING_DATA', 'a GET event needs a data= query parameter');
    req.response.setHeader('cache-control', 'no-store');
    return accept(req, envelopes(req, topic, [decodeBeacon(data)], eventKey(req)));
  };

  const legacyRoute = async (req: Request): Promise<void> => {
    let text: string;
    if (req.request.method === 'POST') text = (await readBody(req.request, limits)).toString('utf8');
    else text = req.query.get('data') ?? '';
    let ack: LegacyAck;
    try {
      const message = parseLegacyMessage(text);
      const [event] = envelopes(req, message.topic, [message], message.key);
      await target.accept([event!], 'spool');
      ack = { messageId: message.key ?? event!.id, status: 'OK', message: null };
      replyJson(req.response, 200, ack);
    } catch (error) {
      const failure = asRequestError(error, logger);
      replyJson(req.response, failure.status, { messageId: null, status: 'ERROR', message: failure.message } satisfies LegacyAck, failure.headers);
    }
  };

  const handle = async (req: Request): Promise<void> => {
    const { path } = req;
    const method = req.request.method ?? 'GET';
    if (path.startsWith(TOPICS_PREFIX)) {
      allow(method, ['POST', 'GET']);
      return topicRoute(req, checkTopic(path.slice(TOPICS_PREFIX.length)));
    }
    switch (path) {
      case '/message/json':
        allow(method, ['POST', 'GET']);
        return legacyRoute(req);
      case '/health':
        allow(method, ['GET', 'HEAD']);
        return replyJson(req.response, 200, { status: 'ok' });
      case '/ready': {
        allow(method, ['GET', 'HEAD']);
        const reasons = target.notReadyReasons();
        return replyJson(req.response, reasons.length === 0 ? 200 : 503, reasons.length === 0 ? { status: 'ready' } : { status: 'not ready', reasons });
      }
      case '/stats':
        if (!options.ops) break;
        allow(method, ['GET']);
        return replyJson(req.response, 200, options.ops.stats());
      case '/metrics': {
        if (!options.ops) break;
        allow(method, ['GET']);
        const text = options.ops.metrics();
        req.response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'content-length': Buffer.byteLength(text) });
        return void req.response.end(text);
      }
    }
    throw new RequestError(404, 'NOT_FOUND', `no route for ${method} ${path}; events go to POST /v1/topics/{topic}`);
  };

  const server = createServer((request, response) => {
    const url = request.url ?? '/';
    const q = url.indexOf('?');
    const req: Request = {
      request,
      response,
      path: q === -1 ? url : url.slice(0, q),
      query: new URLSearchParams(q === -1 ? '' : url.slice(q + 1)),
    };
    handle(req).catch((error: unknown) => {
      const failure = asRequestError(error, logger);
      if (response.headersSent) return void response.destroy();
      if (failure.headers.connection === 'close') {
        // Let the client finish sending (discarded) so it reads the answer instead of a reset.
        request.resume();
        setTimeout(() => request.socket.destroy(), 2000).unref();
      }
      replyError(response, failure);
    });
  });
  server.headersTimeout = config.http.headersTimeoutMs;
  server.requestTimeout = config.http.headersTimeoutMs + config.http.bodyTimeoutMs + 1000;
  server.keepAliveTimeout = config.http.keepAliveTimeoutMs;
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    if (!socket.writable || error.code === 'ECONNRESET') return void socket.destroy();
    const body = JSON.stringify({ error: { code: 'BAD_REQUEST', message: `malformed HTTP request (${error.code ?? 'parse error'})` } });
    const status = error.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
    socket.end(`HTTP/1.1 ${status}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
  });
  return server;
}

function allow(method: string, allowed: string[]): void {
  if (!allowed.includes(method)) throw new RequestError(405, 'METHOD_NOT_ALLOWED', `${method} is not allowed here; use ${allowed.join(' or ')}`, { allow: allowed.join(', ') });
}

function asRequestError(error: unknown, logger: Logger): RequestError {
  if (error instanceof RequestError) return error;
  if (error instanceof SpoolFullError) return new RequestError(503, error.code, 'the spool is full; retry later', { 'retry-after': String(error.retryAfterSeconds) });
  if (error instanceof SpoolClosedError) return new RequestError(503, error.code, 'the daemon is shutting down; retry later', { 'retry-after': '1' });
  if (error instanceof SinkError) return new RequestError(502, error.code, error.message);
  logger.error('ingest.internal_error', { error, stack: (error as Error)?.stack });
  return new RequestError(500, 'INTERNAL', 'internal error; the event was not accepted');
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function eventKey(req: Request): string | undefined {
  return req.query.get('key') ?? single(req.request.headers['x-sparkngin-key']);
}

function ackMode(req: Request): AckMode {
  const mode = req.query.get('ack') ?? single(req.request.headers['x-sparkngin-ack']) ?? 'spool';
  if (mode !== 'spool' && mode !== 'sink') throw badRequest('INVALID_ACK', `ack must be 'spool' or 'sink', got '${mode}'`);
  return mode;
}

function clientTime(req: Request): number | undefined {
  const raw = req.query.get('sts') ?? single(req.request.headers['x-sparkngin-time']);
  if (raw === undefined || raw === null) return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw badRequest('INVALID_TIME', `client time must be milliseconds since the epoch, got '${raw}'`);
  return value;
}

function eventHeaders(request: IncomingMessage): Record<string, string> {
  let headers: Record<string, string> | undefined;
  const raw = request.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length > HEADER_PREFIX.length && name.toLowerCase().startsWith(HEADER_PREFIX)) {
      (headers ??= {})[name.slice(HEADER_PREFIX.length).toLowerCase()] = raw[i + 1]!;
    }
  }
  return headers ?? EMPTY;
}

const EMPTY: Record<string, string> = Object.freeze({}) as Record<string, string>;

function clientAddress(request: IncomingMessage): string {
  const address = request.socket.remoteAddress ?? '';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}
