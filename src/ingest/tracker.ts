// The original Sparkngin's tracking pixel: `GET /tracker/{name}/{site}` (an <img> on a page, or in an
// email) answers a 1×1 transparent GIF that no cache may keep, and records the visit as a JSON event
// on tracker.topic:
//   {"name": "signup", "site": "example.com",
//    "visitor": {"id": "…", "visitCount": 3, "firstVisitTime": 1700000000000, "new": false},
//    "headers": {"user-agent": "…", "referer": "…"}}
// keyed by the visitor id (so one visitor's events keep their order in a Kafka partition). The
// visitor is followed with the original's cookies, `id`, `visit-count` (+1 per hit, as the original
// counted) and `first-visit-time` (ms since the epoch here; the original wrote Java's Date.toString()).
// Cookie values we did not write (a malformed id, a count that is not digits) start a new visitor
// rather than refusing: a browser would send them again on every page and never be counted. The
// name, the site and the captured headers are checked like every other input (strict percent-decoding,
// UTF-8, bounded length) and refused with 400.
//
// Access is as for every route that takes events (access.ts): the route is of kind `events`, the
// topic is authorized before anything else, and acceptEvents charges it. A browser sends no
// credential with a pixel, so with auth on the pixel answers only when tracker.topic is one of
// auth.openTopics (the server warns at start when it is not). Headers that carry a credential
// (Authorization, the API-key header) are never captured, whatever tracker.headers says.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { newHeaders } from '../envelope/envelope';
import { acceptEvents } from './accept';
import type { Authenticator } from './auth';
import type { Exchange, IngestContext } from './context';
import { clientAddress, headerText } from './meta';
import { badRequest } from './respond';

export const TRACKER_PREFIX = '/tracker/';

// GIF89a, 1×1, one transparent colour: the smallest image every browser shows (43 bytes).
const PIXEL = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const COUNT = /^\d{1,15}$/;
/** Longest name or site, in UTF-8 bytes: they are labels, not payloads. */
const MAX_LABEL_BYTES = 256;

interface Visitor {
  id: string;
  visitCount: number;
  firstVisitTime: number;
  new: boolean;
}

/** `/tracker/{name}/{site}`; `segments` is what follows the prefix, as sent. */
export async function trackerRoute(exchange: Exchange, context: IngestContext, segments: string): Promise<void> {
  context.access.authorize(exchange, context.tracker.topic);
  const { request, response } = exchange;
  const slash = segments.indexOf('/');
  if (slash === -1 || segments.indexOf('/', slash + 1) !== -1) {
    throw badRequest('INVALID_TRACKER_PATH', 'a tracker path is /tracker/{name}/{site}');
  }
  const name = label(segments.slice(0, slash), 'name');
  const site = label(segments.slice(slash + 1), 'site');
  const now = context.now();
  const visitor = nextVisit(request, now);
  const event = { name, site, visitor, headers: capturedHeaders(request, context.tracker.headers, context.access.auth) };
  const meta = { key: visitor.id, sts: undefined, ack: 'spool' as const, headers: newHeaders(), ip: clientAddress(request, context.trustProxy) };
  await acceptEvents(exchange, context, context.tracker.topic, meta, { type: 'json', items: [Buffer.from(JSON.stringify(event), 'utf8')] });
  const maxAge = Math.round(context.tracker.cookieMaxAgeDays * 86_400);
  const cookie = (cookieName: string, value: string | number) => `${cookieName}=${value}; Max-Age=${maxAge}; Path=/; HttpOnly; SameSite=Lax`;
  response.writeHead(200, {
    'content-type': 'image/gif',
    'content-length': PIXEL.length,
    'cache-control': 'no-store, max-age=0',
    'set-cookie': [cookie('id', visitor.id), cookie('visit-count', visitor.visitCount), cookie('first-visit-time', visitor.firstVisitTime)],
  });
  response.end(PIXEL);
}

/** A path segment, percent-decoded strictly: 1 to MAX_LABEL_BYTES bytes of UTF-8, no control characters. */
function label(segment: string, what: string): string {
  let text: string;
  try {
    text = decodeURIComponent(segment);
  } catch {
    throw badRequest('INVALID_TRACKER_PATH', `the tracker ${what} is not valid percent-encoded UTF-8`);
  }
  // eslint-disable-next-line no-control-regex
  if (text === '' || Buffer.byteLength(text) > MAX_LABEL_BYTES || /[\x00-\x1f\x7f]/.test(text)) {
    throw badRequest('INVALID_TRACKER_PATH', `the tracker ${what} must be 1 to ${MAX_LABEL_BYTES} bytes without control characters`);
  }
  return text;
}

/** This hit's visitor: the one the cookies name, counted once more, or a new one. */
function nextVisit(request: IncomingMessage, now: number): Visitor {
  const cookies = readCookies(request.headers.cookie);
  const id = cookies.get('id');
  const count = cookies.get('visit-count');
  const first = cookies.get('first-visit-time');
  if (id !== undefined && UUID.test(id) && count !== undefined && COUNT.test(count) && first !== undefined && COUNT.test(first) && Number(first) <= now) {
    return { id, visitCount: Number(count) + 1, firstVisitTime: Number(first), new: false };
  }
  return { id: randomUUID(), visitCount: 1, firstVisitTime: now, new: true };
}

/** `a=1; b="2"` → a: '1', b: '2'; the first of a name wins (RFC 6265 sends the most specific first). */
function readCookies(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  if (header === undefined) return cookies;
  for (const pair of header.split(';')) {
    const equals = pair.indexOf('=');
    if (equals === -1) continue;
    const name = pair.slice(0, equals).trim();
    let value = pair.slice(equals + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    if (!cookies.has(name)) cookies.set(name, value);
  }
  return cookies;
}

/** The configured request headers the client sent (lower-cased names; repeated ones joined with ", "), never a credential. */
function capturedHeaders(request: IncomingMessage, names: readonly string[], auth: Pick<Authenticator, 'carriesCredential'>): Record<string, string> {
  const captured = newHeaders();
  for (const name of names) {
    const lower = name.toLowerCase();
    if (auth.carriesCredential(lower)) continue;
    const value = request.headers[lower];
    if (value === undefined) continue;
    captured[lower] = headerText(Array.isArray(value) ? value.join(', ') : value, lower);
  }
  return captured;
}
