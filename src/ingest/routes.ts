// The route table: which path and methods go to which handler. Topic routes take events; the rest
// are the original Sparkngin's route and the operations endpoints. A handler validates everything it
// can before reading the body (topic, parameters, content type), so that a bad request costs no upload.
import { STATUS_PAGE } from '../ops/status-page';
import { acceptEvents } from './accept';
import type { RouteKind } from './access';
import { readBody } from './body';
import type { Exchange, IngestContext } from './context';
import { legacyMessageRoute } from './legacy';
import { readMeta } from './meta';
import { parseEnvelopes, refuseRequestMeta } from './nw1';
import { bodyParser, parseBeacon } from './parse';
import { acceptedBody, badRequest, sendJson, sendText } from './respond';
import { findRestProxyRoute } from './rest-proxy/routes';
import { topicFromPath } from './topic';
import { TRACKER_PREFIX, trackerRoute } from './tracker';

export interface Route {
  /** Methods answered here; any other is a 405 naming these in `Allow`. */
  methods: readonly string[];
  /**
   * `legacy`: errors are answered as the original's Ack (`status: "ERROR"`), not `{error:{…}}`;
   * `kafka-v2`/`kafka-v3`: as the REST Proxy's `{error_code, message}` (rest-proxy/errors.ts).
   */
  errors: 'json' | 'legacy' | 'kafka-v2' | 'kafka-v3';
  /** Which checks it needs (access.ts): `events` routes take events, `ops` ones expose operations data. */
  kind: RouteKind;
  handle(exchange: Exchange, context: IngestContext, param: string): Promise<void> | void;
}

export const TOPICS_PREFIX = '/v1/topics/';

const topicRoute: Route = {
  methods: ['POST', 'GET'],
  errors: 'json',
  kind: 'events',
  handle: (exchange, context, segment) => (exchange.method === 'POST' ? postEvents(exchange, context, segment) : getBeacon(exchange, context, segment)),
};

const pixelRoute: Route = { methods: ['GET'], errors: 'json', kind: 'events', handle: trackerRoute };

const EXACT = new Map<string, Route>([
  ['/message/json', { methods: ['POST', 'GET'], errors: 'legacy', kind: 'events', handle: legacyMessageRoute }],
  ['/health', { methods: ['GET', 'HEAD'], errors: 'json', kind: 'open', handle: ({ response }) => sendJson(response, 200, { status: 'ok' }) }],
  ['/ready', { methods: ['GET', 'HEAD'], errors: 'json', kind: 'ops', handle: ready }],
  ['/stats', { methods: ['GET', 'HEAD'], errors: 'json', kind: 'ops', handle: stats }],
  ['/metrics', { methods: ['GET', 'HEAD'], errors: 'json', kind: 'ops', handle: metrics }],
  ['/imok', { methods: ['GET', 'HEAD'], errors: 'json', kind: 'ops', handle: imok }],
  ['/', { methods: ['GET', 'HEAD'], errors: 'json', kind: 'ops', handle: statusPage }],
  ['/status', { methods: ['GET', 'HEAD'], errors: 'json', kind: 'ops', handle: statusPage }],
]);

/** The handlers that show what the daemon's OpsEndpoints give: absent (404) without them. */
const NEEDS_OPS: ReadonlySet<Route['handle']> = new Set([stats, metrics, imok, statusPage]);

/** The route for a path and the path parameter it carries (the topic segment), or undefined (404). */
export function findRoute(path: string, context: IngestContext): { route: Route; param: string } | undefined {
  if (path.startsWith(TOPICS_PREFIX)) return context.serves.events ? { route: topicRoute, param: path.slice(TOPICS_PREFIX.length) } : undefined;
  if (path.startsWith(TRACKER_PREFIX)) return context.serves.events && context.tracker.enabled ? { route: pixelRoute, param: path.slice(TRACKER_PREFIX.length) } : undefined;
  const proxied = findRestProxyRoute(path, context);
  if (proxied !== undefined) return proxied;
  const route = EXACT.get(path);
  if (route === undefined || (route.kind !== 'open' && !context.serves[route.kind])) return undefined;
  if (context.ops === undefined && NEEDS_OPS.has(route.handle)) return undefined;
  return { route, param: '' };
}

/**
 * `POST /v1/topics/{topic}`: the body is one event, a JSON array of events, NDJSON, text lines, binary
 * or NW1 envelopes. A chain of promises, not an async function: the hot path of single events spares
 * the function's own promise and its resumption (a refusal before the body is thrown, and answered
 * by the caller as one from the chain).
 */
function postEvents(exchange: Exchange, context: IngestContext, segment: string): Promise<void> {
  const topic = topicFromPath(segment);
  context.access.authorize(exchange, topic);
  const meta = readMeta(exchange.request, exchange.query, context.trustProxy);
  const parse = bodyParser(exchange.request.headers['content-type']);
  if (parse === parseEnvelopes) refuseRequestMeta(meta);
  // The body is a parameter of the callback, not a local here: nothing keeps it while the answer waits.
  return readBody(exchange, context.limits)
    .then((body) => acceptEvents(exchange, context, topic, meta, parse(body, context.maxEvents, topic)))
    .then((ids) => sendText(exchange.response, 202, acceptedBody(ids)));
}

/** `GET /v1/topics/{topic}?data=…`: a beacon (an image tag, `navigator.sendBeacon`, a link in an email). */
async function getBeacon(exchange: Exchange, context: IngestContext, segment: string): Promise<void> {
  const topic = topicFromPath(segment);
  context.access.authorize(exchange, topic);
  const meta = readMeta(exchange.request, exchange.query, context.trustProxy);
  const data = exchange.query?.get('data');
  if (data === undefined) throw badRequest('MISSING_DATA', 'a GET event needs a data= query parameter (the event, URL-encoded)');
  // Caches between a browser and us must not answer a beacon themselves: it would never arrive.
  exchange.response.setHeader('cache-control', 'no-store');
  sendText(exchange.response, 202, acceptedBody(await acceptEvents(exchange, context, topic, meta, parseBeacon(data))));
}

function ready({ response }: Exchange, context: IngestContext): void {
  const reasons = context.target.notReadyReasons();
  if (reasons.length === 0) sendJson(response, 200, { status: 'ready' });
  else sendJson(response, 503, { status: 'not ready', reasons });
}

async function stats({ response }: Exchange, context: IngestContext): Promise<void> {
  sendJson(response, 200, await context.ops!.stats());
}

/**
 * The original's planned four-letter word, after ZooKeeper's `ruok`: `imok` in plain text while the
 * instance takes events and every sink delivers; 503 with what is wrong, one line each, otherwise.
 */
async function imok({ response }: Exchange, context: IngestContext): Promise<void> {
  const problems = (await context.ops!.problems?.()) ?? [];
  const text = problems.length === 0 ? 'imok\n' : `${problems.join('\n')}\n`;
  response.writeHead(problems.length === 0 ? 200 : 503, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  response.end(text);
}

/** The status page (src/ops/status-page.ts): it polls /stats from the browser. */
function statusPage({ response }: Exchange): void {
  response.writeHead(200, { ...STATUS_PAGE.headers, 'content-length': Buffer.byteLength(STATUS_PAGE.html) });
  response.end(STATUS_PAGE.html);
}

async function metrics({ response }: Exchange, context: IngestContext): Promise<void> {
  const text = await context.ops!.metrics();
  response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}
