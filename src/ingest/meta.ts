// What a request says about its events besides the payload: key, client time and ack mode (query
// parameter first, then the X-Sparkngin-* header), event headers (X-Sparkngin-Header-<Name>) and
// the client address. All of it is checked before the body is read, so a bad parameter costs no
// upload.
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { isUtf8 } from 'node:buffer';
import { newHeaders } from '../envelope/envelope';
import { keyProblem } from '../envelope/rules';
import type { Query } from './query';
import { badRequest } from './respond';
import type { AckMode } from './target';

export interface EventMeta {
  key: string | undefined;
  sts: number | undefined;
  ack: AckMode;
  headers: Record<string, string>;
  ip: string;
}

const HEADER_PREFIX = 'x-sparkngin-header-';
// Milliseconds since the epoch as plain digits; 15 digits reach the year 33658 and stay exact in a double.
const EPOCH_MS = /^\d{1,15}$/;

const NO_HEADERS: Record<string, string> = Object.freeze(newHeaders());

/** `defaultAck`: the ack mode when the request names none (the REST Proxy routes have a setting of their own, restProxy.ack). */
export function readMeta(request: IncomingMessage, query: Query, trustProxy: boolean, defaultAck: AckMode = 'spool'): EventMeta {
  return {
    key: eventKey(request, query),
    sts: clientTime(request, query),
    ack: ackMode(request, query, defaultAck),
    headers: eventHeaders(request),
    ip: clientAddress(request, trustProxy),
  };
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Node reads header values as Latin-1 (one character per byte); clients that put UTF-8 in a header
 * (curl does, byte for byte) mean UTF-8, and event text is UTF-8, so a non-ASCII value must be valid
 * UTF-8 and is read as such. Anything else is refused rather than guessed at: read as Latin-1 it
 * would be stored as different characters than a UTF-8 reader of the event expects.
 */
export function headerText(value: string, name: string): string {
  // eslint-disable-next-line no-control-regex
  if (!/[^\x00-\x7f]/.test(value)) return value;
  const bytes = Buffer.from(value, 'latin1');
  if (!isUtf8(bytes)) throw badRequest('INVALID_UTF8', `the value of the header '${name.slice(0, 60)}' is not valid UTF-8`);
  return bytes.toString('utf8');
}

export function eventKey(request: IncomingMessage, query: Query): string | undefined {
  let key = query?.get('key') ?? undefined;
  if (key === undefined) {
    const header = single(request.headers['x-sparkngin-key']);
    if (header === undefined) return undefined;
    key = headerText(header, 'x-sparkngin-key');
  }
  if (key === '') throw badRequest('INVALID_KEY', 'the key is empty; leave out key= (or X-Sparkngin-Key) for events without a key');
  const problem = keyProblem(key);
  if (problem !== undefined) throw badRequest('INVALID_KEY', problem);
  return key;
}

export function clientTime(request: IncomingMessage, query: Query): number | undefined {
  const raw = query?.get('sts') ?? single(request.headers['x-sparkngin-time']);
  if (raw === undefined) return undefined;
  if (!EPOCH_MS.test(raw)) throw badRequest('INVALID_TIME', `the client time must be milliseconds since the epoch (digits only), got '${raw.slice(0, 40)}'`);
  return Number(raw);
}

export function ackMode(request: IncomingMessage, query: Query, defaultAck: AckMode = 'spool'): AckMode {
  const mode = query?.get('ack') ?? single(request.headers['x-sparkngin-ack']) ?? defaultAck;
  if (mode !== 'spool' && mode !== 'sink') throw badRequest('INVALID_ACK', `ack must be 'spool' or 'sink', got '${mode.slice(0, 40)}'`);
  return mode;
}

/**
 * `X-Sparkngin-Header-Trace-Id: abc` → `{"trace-id": "abc"}`; repeated names are joined with ", " as
 * HTTP does. Names are lower-cased (HTTP names are case-insensitive) and may be anything a header name
 * may be, `constructor` and `__proto__` included: the object has no prototype (newHeaders).
 */
export function eventHeaders(request: IncomingMessage): Record<string, string> {
  let headers: Record<string, string> | undefined;
  const raw = request.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    // The first-letter test keeps the common headers (Host, Content-Type…) off the lower-casing path.
    const first = name.charCodeAt(0) | 0x20;
    if (first !== 0x78 || name.length <= HEADER_PREFIX.length || !name.toLowerCase().startsWith(HEADER_PREFIX)) continue;
    const key = name.slice(HEADER_PREFIX.length).toLowerCase();
    const value = headerText(raw[i + 1]!, name);
    headers ??= newHeaders();
    const previous = headers[key];
    headers[key] = previous === undefined ? value : `${previous}, ${value}`;
  }
  return headers ?? NO_HEADERS;
}

/**
 * The socket's peer address, or — only when the operator said a proxy in front is trusted
 * (http.trustProxy) — the first X-Forwarded-For entry, which that proxy vouches for. Anyone can send
 * the header, so it is never read otherwise.
 */
export function clientAddress(request: IncomingMessage, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = single(request.headers['x-forwarded-for']);
    if (forwarded !== undefined) {
      const comma = forwarded.indexOf(',');
      const address = bareAddress((comma === -1 ? forwarded : forwarded.slice(0, comma)).trim());
      if (address !== undefined) return unmapped(address);
    }
  }
  return unmapped(request.socket.remoteAddress ?? '');
}

/** An IP address from an X-Forwarded-For entry, which some proxies write with a port (`1.2.3.4:80`, `[::1]:80`). */
function bareAddress(entry: string): string | undefined {
  if (isIP(entry)) return entry;
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(entry);
  if (bracketed && isIP(bracketed[1]!)) return bracketed[1]!;
  const withPort = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(entry);
  if (withPort && isIP(withPort[1]!)) return withPort[1]!;
  return undefined;
}

/** `::ffff:10.0.0.1` (an IPv4 client on a dual-stack socket) → `10.0.0.1`. */
function unmapped(address: string): string {
  return address.startsWith('::ffff:') && address.indexOf('.') !== -1 ? address.slice(7) : address;
}
