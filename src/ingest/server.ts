// The HTTP ingest on Node's own http server: request → route → handler, and the one place where a
// failure becomes an answer. Events are handed to an IngestTarget (the spool) and the answer waits
// for it, so a 202 means "stored" per the ack mode. The server is returned unstarted; the daemon
// calls listen().
//
// Connections: keep-alive is the norm (load balancers, benchmark tools, client libraries), errors
// included. A request whose body is too large or too slow, or was never asked for (Expect:
// 100-continue refused), gets `Connection: close`; the socket then lingers a moment, reading and
// discarding, so the client sees our answer rather than a reset, and serves no request read after
// it (connections.ts closeAfterAnswer). How many connections, and how many requests per connection,
// are held at once is bounded (connections.ts).
//
// Security (tls.ts, access.ts) hooks in at two points: the server is an https one when tls.cert is
// set, and every request passes access.admit once its route is known. Both kinds of server are made
// here alike: the same timeouts, header limits and connection guard, so that TLS changes nothing of
// what a client can make the ingest hold.
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerOptions, type ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { Config } from '../config/defaults';
import { RequestError } from '../errors';
import { Access } from './access';
import { MemoryBudget } from './budget';
import { closeAfterAnswer, closeLingering, ConnectionGuard, connectionLimit, keepTlsParserRunning, OPS_MAX_CONNECTIONS, rawAnswer } from './connections';
import type { Logger } from '../ops/log';
import type { Exchange, IngestContext, OpsEndpoints } from './context';
import { sendLegacyError } from './legacy';
import { sendKafkaRestError } from './rest-proxy/errors';
import { parseQuery } from './query';
import { findRoute, type Route } from './routes';
import { sendError, toRequestError } from './respond';
import { RefusalCounter } from './refusals';
import { AcceptedCounter } from './accepted';
import type { IngestTarget } from './target';
import { createTlsServer, tlsEnabled } from './tls';

export interface IngestServerOptions {
  config: Config;
  target: IngestTarget;
  logger: Logger;
  /** `/stats` and `/metrics`; without them those paths are 404. */
  ops?: OpsEndpoints;
  /** Clock for envelope `ts` (tests pin it). */
  now?: () => number;
  /** Where refusals are counted (the daemon reads it for /stats and /metrics). */
  refusals?: RefusalCounter;
  /** Where acknowledged requests are counted (likewise). */
  accepted?: AcceptedCounter;
  /**
   * `all` (default): events and the operations endpoints; `events`: events only (the operations
   * endpoints have a listener of their own, ops.listen); `ops`: that listener, plain HTTP.
   */
  role?: 'all' | 'events' | 'ops';
}

/** How often Node checks headersTimeout/requestTimeout (its default, 30 s, lets a stalled client sit for that long past its deadline). */
const CONNECTION_CHECK_MS = 1_000;

/** What the ingest holds right now, for /stats and /metrics. */
export interface IngestLoad {
  connections: number;
  requestsInFlight: number;
  /** Bytes charged to the memory budget (http.maxBufferedBytes) by the requests in flight. */
  bufferedBytes: number;
}

export type IngestServer = HttpServer | HttpsServer;

const loads = new WeakMap<IngestServer, () => IngestLoad>();

/** The load of a server made by createIngestServer. */
export function ingestLoad(server: IngestServer): IngestLoad {
  return loads.get(server)?.() ?? { connections: 0, requestsInFlight: 0, bufferedBytes: 0 };
}

export function createIngestServer(options: IngestServerOptions): IngestServer {
  const { config, target, logger } = options;
  const { http } = config;
  const role = options.role ?? 'all';
  const budget = new MemoryBudget(http.maxBufferedBytes);
  const context: IngestContext = {
    target,
    logger,
    now: options.now ?? Date.now,
    host: config.host,
    limits: { maxBytes: http.maxBodyBytes, timeoutMs: http.bodyTimeoutMs, budget },
    maxEvents: http.maxEventsPerRequest,
    trustProxy: http.trustProxy,
    ops: options.ops,
    refusals: options.refusals ?? new RefusalCounter(),
    accepted: options.accepted ?? new AcceptedCounter(),
    tracker: config.tracker,
    restProxy: config.restProxy,
    access: new Access(config, options.now),
    serves: { events: role !== 'ops', ops: role !== 'events' },
  };
  if (context.serves.events) warnIfTrackerClosed(context);
  const serverOptions: ServerOptions = {
    headersTimeout: http.headersTimeoutMs,
    // A backstop only: our own body deadline (bodyTimeoutMs, counted from the end of the headers)
    // answers 408 first; this one also covers a client that stalls where we are not reading.
    requestTimeout: http.bodyTimeoutMs > 0 ? http.headersTimeoutMs + http.bodyTimeoutMs + 1_000 : 0,
    connectionsCheckingInterval: CONNECTION_CHECK_MS,
    noDelay: true,
  };
  const tls = role !== 'ops' && tlsEnabled(config.tls);
  const server = tls ? createTlsServer(serverOptions, config.tls, logger) : createServer(serverOptions);
  server.keepAliveTimeout = http.keepAliveTimeoutMs;
  // Node keeps only the first 2,000 headers of a request and drops the rest without a word (a key or
  // an ack mode sent after them would be lost). Every header is kept: the header size limit (16 KiB,
  // 431 beyond) is what bounds them.
  server.maxHeadersCount = 0;
  const guard = guardConnections(server, context, http, role, tls);
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    if (guard.track(request, response)) handle(context, request, response, false);
  });
  // With a listener here Node leaves `100 Continue` to us: it is sent only once the request passed
  // every check that needs no body (route, topic, parameters, content type, announced length).
  server.on('checkContinue', (request: IncomingMessage, response: ServerResponse) => {
    if (guard.track(request, response)) handle(context, request, response, true);
  });
  // Any other expectation: Node would answer 417 with an empty body; ours is the JSON error.
  server.on('checkExpectation', (request: IncomingMessage, response: ServerResponse) => {
    if (guard.track(request, response)) refuseExpectation(context, request, response);
  });
  loads.set(server, () => ({ ...guard.load(), bufferedBytes: budget.heldBytes() }));
  return server;
}

/**
 * The connection-level part of the server (connections.ts): admission within http.maxConnections,
 * requests Node could not parse, failed TLS handshakes and accept failures. The guard also tracks
 * each request (see the 'request' listener). A TLS connection is counted from its first byte, as a
 * plain one, but its HTTP is carried by the TLS socket made after the handshake: that is the one
 * whose requests are tracked and paused. The ops listener has a guard of its own with a small fixed
 * limit (OPS_MAX_CONNECTIONS), so that scrapers never take a place of the ingest's clients nor the
 * other way round; the ingest's limit keeps descriptors for it.
 */
function guardConnections(server: IngestServer, context: IngestContext, http: Config['http'], role: IngestServerOptions['role'], tls: boolean): ConnectionGuard {
  const guard = new ConnectionGuard(
    {
      maxConnections: role === 'ops' ? OPS_MAX_CONNECTIONS : connectionLimit(http.maxConnections, context.logger, role === 'events' ? OPS_MAX_CONNECTIONS : 0),
      maxConnectionsSetting: role === 'ops' ? `the operations listener's ${OPS_MAX_CONNECTIONS}` : 'http.maxConnections',
      maxPipelinedRequests: http.maxPipelinedRequests,
      maxUnreadResponseBytes: http.maxUnreadResponseBytes,
    },
    context.refusals,
  );
  if (tls) {
    server.on('connection', (socket: Socket) => guard.admit(socket, false));
    server.on('secureConnection', (socket: Socket) => {
      keepTlsParserRunning(socket);
      guard.serve(socket);
    });
    server.on('tlsClientError', (error: NodeJS.ErrnoException, socket: Socket) => onTlsClientError(context, error, socket));
  } else {
    server.on('connection', (socket: Socket) => {
      if (guard.admit(socket, true)) guard.serve(socket);
    });
  }
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    const answer = () => onClientError(guard, context.refusals, error, socket);
    // Node's header deadline passed while the connection waited for us: it starts again (connections.ts).
    if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT' && guard.deferTimeout(socket, http.headersTimeoutMs, answer)) return;
    answer();
  });
  server.on('error', acceptFailed(server, context.logger));
  return guard;
}

/**
 * The tracking pixel is a route like the others (access.ts): browsers fetch it with no credential, so
 * with auth on it answers only if its topic is one of auth.openTopics (and in http.topics). Said at
 * start, rather than found out from 401s in a browser's network tab.
 */
function warnIfTrackerClosed(context: IngestContext): void {
  const { tracker, access, logger } = context;
  if (tracker.enabled && !access.openToAnyone(tracker.topic)) {
    logger.warn('tracker.needs_credential', {
      topic: tracker.topic,
      why: 'browsers send no credential with a pixel: it will answer 401 or 403',
      fix: 'list tracker.topic in auth.openTopics (and http.topics), or set tracker.enabled: false',
    });
  }
}

/**
 * Errors of a listening server are failures to accept a connection (EMFILE, ENFILE: out of
 * descriptors, which the connection limit is there to prevent). Without a listener Node would throw
 * them and end the daemon; they are logged (at most once a second) and the server goes on. Errors
 * before it listens are listen()'s to report.
 */
function acceptFailed(server: IngestServer, logger: Logger): (error: NodeJS.ErrnoException) => void {
  let lastLogged = 0;
  return (error) => {
    if (!server.listening || Date.now() - lastLogged < 1_000) return;
    lastLogged = Date.now();
    logger.error('ingest.accept_failed', { code: error.code, error });
  };
}

function handle(context: IngestContext, request: IncomingMessage, response: ServerResponse, expectsContinue: boolean): void {
  const method = request.method ?? 'GET';
  const { path, search } = splitUrl(request.url ?? '/');
  const exchange: Exchange = { request, response, method, path, query: undefined, expectsContinue, memory: undefined, client: undefined, receivedAt: performance.now() };
  let route: Route | undefined;
  try {
    const found = findRoute(path, context);
    if (found === undefined) {
      throw new RequestError(404, 'NOT_FOUND', `no route for ${method} ${path.slice(0, 200)}; events go to POST /v1/topics/{topic}`);
    }
    route = found.route;
    if (!route.methods.includes(method)) {
      const allow = route.methods.join(', ');
      throw new RequestError(405, 'METHOD_NOT_ALLOWED', `${method} is not allowed on ${path.slice(0, 200)}; use ${allow}`, { allow });
    }
    context.access.admit(exchange, route.kind);
    exchange.query = parseQuery(search);
    const pending = route.handle(exchange, context, found.param);
    if (pending !== undefined) pending.then(undefined, (error: unknown) => fail(context, exchange, route, error));
  } catch (error) {
    fail(context, exchange, route, error);
  }
}

/** `Expect:` with anything but `100-continue` (RFC 9110 §10.1.1): 417, and the body, if any, is not read. */
function refuseExpectation(context: IngestContext, request: IncomingMessage, response: ServerResponse): void {
  const { path } = splitUrl(request.url ?? '/');
  const exchange: Exchange = { request, response, method: request.method ?? 'GET', path, query: undefined, expectsContinue: true, memory: undefined, client: undefined, receivedAt: performance.now() };
  const expectation = String(request.headers.expect ?? '').slice(0, 100);
  fail(context, exchange, undefined, new RequestError(417, 'EXPECTATION_FAILED', `the expectation '${expectation}' is not supported; only 'Expect: 100-continue' is`));
}

function fail(context: IngestContext, exchange: Exchange, route: Route | undefined, error: unknown): void {
  const { request, response } = exchange;
  const failure = toRequestError(error, context.logger);
  context.refusals.note(failure.status, failure.code);
  // Refusals are the client's business, not an operator's, unless someone is looking (debug).
  context.logger.debug('ingest.refused', { status: failure.status, code: failure.code, method: exchange.method, path: exchange.path.slice(0, 200) });
  if (response.headersSent) {
    // Too late for an answer (a handler failed mid-response): end the connection rather than hang it.
    response.destroy();
    return;
  }
  // A body we did not read is usually drained by Node after the answer, which keeps the connection
  // for the next request. Not when it is too large or too slow (that is the reason we answer), nor
  // when the client waits for `100 Continue` and may never send it: then the connection closes.
  if (!request.complete && (failure.status === 413 || failure.status === 408 || failure.code === 'INGEST_BUSY' || exchange.expectsContinue)) {
    response.setHeader('connection', 'close');
    closeAfterAnswer(request.socket);
  }
  if (route?.errors === 'legacy') sendLegacyError(response, failure);
  else if (route?.errors === 'kafka-v2' || route?.errors === 'kafka-v3') sendKafkaRestError(response, route.errors === 'kafka-v2' ? 'v2' : 'v3', failure, error);
  else sendError(response, failure);
}

/** `/path?query` → path and query; an absolute-form target (`http://host/path`, sent to proxies) is cut to its path. */
function splitUrl(url: string): { path: string; search: string } {
  if (url.charCodeAt(0) !== 47 /* / */ && /^https?:\/\//i.test(url)) {
    const slash = url.indexOf('/', url.indexOf('//') + 2);
    url = slash === -1 ? '/' : url.slice(slash);
  }
  const q = url.indexOf('?');
  return q === -1 ? { path: url, search: '' } : { path: url.slice(0, q), search: url.slice(q + 1) };
}

/**
 * A connection whose TLS handshake failed (no or a bad client certificate, plain HTTP on the TLS
 * port, no common protocol version, too slow): there is no HTTP to answer in, so it is counted and
 * closed. One closed before its handshake ended (ECONNRESET: a TCP health check, a client gone, or
 * one the connection guard refused, counted as that) was refused nothing, and is not counted.
 */
function onTlsClientError(context: IngestContext, error: NodeJS.ErrnoException, socket: Socket): void {
  socket.destroy();
  if (error.code === 'ECONNRESET') return;
  context.refusals.note(400, 'TLS_HANDSHAKE_FAILED');
  context.logger.debug('ingest.tls_handshake_failed', { code: error.code, reason: error.message });
}

/** Sockets answered by onClientError: Node calls it again for every later chunk the broken parser refuses. */
const answered = new WeakSet<Socket>();

/**
 * A request Node could not parse (bad syntax, headers too large, headers too slow): answered here in
 * our JSON shape, after the requests before it (ConnectionGuard.endWith), and closed lingering, since
 * the connection's framing can no longer be trusted.
 */
function onClientError(guard: ConnectionGuard, refusals: RefusalCounter, error: NodeJS.ErrnoException, socket: Socket): void {
  if (answered.has(socket)) return;
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  answered.add(socket);
  const [status, code, message] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? ['431 Request Header Fields Too Large', 'HEADERS_TOO_LARGE', 'the request headers are too large']
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? ['408 Request Timeout', 'REQUEST_TIMEOUT', 'the request did not arrive in time']
        : ['400 Bad Request', 'BAD_REQUEST', `malformed HTTP request (${error.code ?? 'parse error'})`];
  refusals.note(Number(status.slice(0, 3)), code);
  guard.endWith(socket, () => closeLingering(socket, rawAnswer(status, code, message)));
}
