// The oracle of the HTTP fuzz suite: what the daemon must answer to a request, and which events must
// then reach the file sink, byte for byte. Written from the documented contract (src/ingest/README.md,
// docs/guide.md, issue 7's rules for bad input), not from the code: it sees the request as bytes on
// the wire, as the daemon does, and decides independently.
//
// Where the contract leaves a choice, the expectation lists every right answer: a gzip body may be
// decoded or refused with 415, but if it is accepted the event must be the decoded bytes. Bad input
// is any 4xx (which one is the daemon's choice) with a JSON error, never a 2xx and never a 5xx.
import { isUtf8 } from 'node:buffer';
import { maxHeaderSize, METHODS } from 'node:http';
import { brotliDecompressSync, gunzipSync, inflateRawSync, inflateSync } from 'node:zlib';

export interface FuzzRequest {
  method: string;
  /** Request target as sent: path and query, already percent-encoded where needed. */
  target: string;
  /** Header fields in order, as Latin-1 strings (one char per byte on the wire); Host and Content-Length are added when sent. */
  headers: Array<[string, string]>;
  body: Buffer;
}

export type EventType = 'json' | 'text' | 'binary';

export interface ExpectedEvent {
  topic: string;
  key: string | undefined;
  sts: number | undefined;
  /** Event headers in the order their names first appear. */
  headers: Array<[string, string]>;
  type: EventType;
  /** json: the exact JSON text stored; text: the string; binary: the bytes. */
  data: string | Buffer;
}

export interface Expectation {
  /** Right statuses: 'refused' means any 4xx (never a 5xx for bad input). */
  statuses: Array<number | 'refused'>;
  /** Events that must reach the file sink if the answer accepted them; undefined: not modelled. */
  events?: ExpectedEvent[];
  /** Whether the answer uses the original Sparkngin's Ack shape (the legacy route). */
  legacy: boolean;
  /** Why, for failure messages. */
  why: string;
}

const refused = (why: string, legacy = false): Expectation => ({ statuses: ['refused'], legacy, why });

export function statusAllowed(expectation: Expectation, status: number): boolean {
  return expectation.statuses.some((allowed) => (allowed === 'refused' ? status >= 400 && status < 500 : allowed === status));
}

// ---- the request line ---------------------------------------------------------------------------

const TOPICS = '/v1/topics/';
const EXACT_ROUTES = new Map<string, string[]>([
  ['/message/json', ['POST', 'GET']],
  ['/health', ['GET', 'HEAD']],
  ['/ready', ['GET', 'HEAD']],
  ['/stats', ['GET', 'HEAD']],
  ['/metrics', ['GET', 'HEAD']],
  ['/imok', ['GET', 'HEAD']],
  ['/', ['GET', 'HEAD']],
  ['/status', ['GET', 'HEAD']],
]);

/** application/x-www-form-urlencoded decoding to bytes (WHATWG), so that invalid UTF-8 stays visible. */
function formBytes(text: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '+') bytes.push(0x20);
    else if (c === '%' && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(...Buffer.from(c, 'utf8'));
  }
  return Buffer.from(bytes);
}

/** Whether a query name or value is well-formed percent-encoding of UTF-8. */
const strictlyEncoded = (text: string) => !/%(?![0-9a-fA-F]{2})/.test(text) && isUtf8(formBytes(text));

/**
 * First value of each query parameter, as bytes; undefined when any part of the query is not
 * strictly percent-encoded UTF-8: the whole query is bad input then, even a parameter the route does
 * not read or a repeat of one (src/ingest/README.md).
 */
function queryParams(query: string): Map<string, Buffer> | undefined {
  const params = new Map<string, Buffer>();
  for (const part of query.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const [name, value] = eq === -1 ? [part, ''] : [part.slice(0, eq), part.slice(eq + 1)];
    if (!strictlyEncoded(name) || !strictlyEncoded(value)) return undefined;
    const key = formBytes(name).toString('utf8');
    if (!params.has(key)) params.set(key, formBytes(value));
  }
  return params;
}

// ---- headers ------------------------------------------------------------------------------------

/**
 * A header value the ingest reads (key, time, ack, event headers) as text: its bytes must be UTF-8
 * (src/ingest/README.md: a value outside ASCII that is not UTF-8 is 400 INVALID_UTF8, never read as
 * Latin-1). Headers the ingest does not read may carry any bytes.
 */
function headerText(latin1: string, name: string): string | Error {
  const bytes = Buffer.from(latin1, 'latin1');
  return isUtf8(bytes) ? bytes.toString('utf8') : new Error(`${name} is not UTF-8`);
}

/** HTTP's optional white space around a field value: spaces and tabs only (not U+00A0, which is a byte of UTF-8 too). */
const trimOws = (value: string) => value.replace(/^[ \t]+|[ \t]+$/g, '');

/** All values of a header (case-insensitive name), joined with ', ' as HTTP folds repeated fields. */
function headerValue(request: FuzzRequest, name: string): string | undefined {
  const values = request.headers.filter(([field]) => field.toLowerCase() === name).map(([, value]) => trimOws(value));
  return values.length === 0 ? undefined : values.join(', ');
}

const EVENT_HEADER = 'x-sparkngin-header-';

function eventHeaders(request: FuzzRequest): Array<[string, string]> | Error {
  const out = new Map<string, string>();
  for (const [field, value] of request.headers) {
    const lower = field.toLowerCase();
    if (!lower.startsWith(EVENT_HEADER) || lower.length === EVENT_HEADER.length) continue;
    const name = lower.slice(EVENT_HEADER.length);
    const text = headerText(trimOws(value), field);
    if (text instanceof Error) return text;
    out.set(name, out.has(name) ? `${out.get(name)}, ${text}` : text);
  }
  return [...out];
}

// ---- bodies -------------------------------------------------------------------------------------

const JSON_WS = new Set([0x20, 0x09, 0x0a, 0x0d]);
const isWs = (text: string, i: number) => JSON_WS.has(text.charCodeAt(i));
const skipWs = (text: string, i: number) => {
  while (i < text.length && isWs(text, i)) i++;
  return i;
};

/** End of the JSON value starting at `i`, in text JSON.parse has accepted. */
function valueEnd(text: string, i: number): number {
  const c = text[i];
  if (c === '"') {
    for (i++; text[i] !== '"'; i += text[i] === '\\' ? 2 : 1);
    return i + 1;
  }
  if (c === '[' || c === '{') {
    const close = c === '[' ? ']' : '}';
    i = skipWs(text, i + 1);
    while (text[i] !== close) {
      if (c === '{') i = skipWs(text, skipWs(text, valueEnd(text, i)) + 1); // the name and ':'
      i = skipWs(text, valueEnd(text, i));
      if (text[i] === ',') i = skipWs(text, i + 1);
    }
    return i + 1;
  }
  while (i < text.length && !isWs(text, i) && !',]}'.includes(text[i]!)) i++;
  return i;
}

function isJsonText(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function trimWs(text: string): string {
  const start = skipWs(text, 0);
  let end = text.length;
  while (end > start && isWs(text, end - 1)) end--;
  return text.slice(start, end);
}

/** Raw line breaks in valid JSON are whitespace; stored JSON holds none (nor the indentation after one). */
const oneLine = (json: string) => json.replace(/[\r\n]+[ \t]*/g, '');

function jsonEvents(text: string): string[] | 'bad' | 'unknown' {
  const start = skipWs(text, 0);
  let end = text.length;
  while (end > start && isWs(text, end - 1)) end--;
  if (start === end) return 'bad';
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'bad';
  }
  if (!Array.isArray(value)) return [oneLine(text.slice(start, end))];
  try {
    const items: string[] = [];
    let i = skipWs(text, start + 1);
    while (text[i] !== ']') {
      const to = valueEnd(text, i);
      items.push(oneLine(text.slice(i, to)));
      i = skipWs(text, to);
      if (text[i] === ',') i = skipWs(text, i + 1);
    }
    return items.length === 0 ? 'bad' : items;
  } catch {
    return 'unknown'; // nesting deeper than this scanner's stack: only the generic checks apply
  }
}

function lines(body: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  while (start <= body.length) {
    let end = body.indexOf(0x0a, start);
    if (end === -1) end = body.length;
    const stop = end > start && body[end - 1] === 0x0d ? end - 1 : end;
    out.push(body.subarray(start, stop));
    start = end + 1;
  }
  return out;
}

function ndjsonEvents(body: Buffer): string[] | 'bad' | 'either' {
  const items: string[] = [];
  let lenient = false;
  for (const line of lines(body)) {
    const text = line.toString('utf8');
    if (/^[ \t\r\n]*$/.test(text)) continue;
    try {
      JSON.parse(text);
      items.push(text);
    } catch {
      // A line of non-JSON white space (U+00A0, U+FEFF…) may be skipped as blank or refused.
      if (text.trim() === '') lenient = true;
      else return 'bad';
    }
  }
  if (items.length === 0) return 'bad';
  return lenient ? 'either' : items;
}

const MEDIA = new Set(['application/json', 'application/x-ndjson', 'application/jsonl', 'application/x-jsonlines', 'application/jsonlines', 'text/plain', 'application/octet-stream']);

/** Media type and charset of a Content-Type value; undefined when it is not one well-formed media type. */
function contentType(value: string): { media: string; charset: string | undefined } | undefined {
  const [head, ...params] = value.split(';');
  const media = head!.trim().toLowerCase();
  if (!/^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/.test(media)) return undefined;
  let charset: string | undefined;
  for (const param of params) {
    const match = /^\s*([^=\s]+)\s*=\s*"?([^"]*)"?\s*$/.exec(param);
    if (match && match[1]!.toLowerCase() === 'charset' && match[2] !== '') charset = match[2]!.toLowerCase();
  }
  return { media, charset };
}

/** The body after Content-Encoding: the decoded bytes, 'refuse' (must be refused), or 'either'-decoded. */
function decodeBody(request: FuzzRequest): { body: Buffer; optional: boolean } | 'refuse' {
  const header = headerValue(request, 'content-encoding');
  if (header === undefined) return { body: request.body, optional: false };
  const codings = header
    .split(',')
    .map((coding) => coding.trim().toLowerCase())
    .filter((coding) => coding !== '');
  let body = request.body;
  let decoded = false;
  for (const coding of codings.reverse()) {
    try {
      if (coding === 'identity') continue;
      if (coding === 'gzip' || coding === 'x-gzip') body = gunzipSync(body);
      else if (coding === 'deflate') {
        try {
          body = inflateSync(body);
        } catch {
          body = inflateRawSync(body);
        }
      } else if (coding === 'br') body = brotliDecompressSync(body);
      else return 'refuse';
      decoded = true;
    } catch {
      return 'refuse';
    }
  }
  // A decoding daemon must store the decoded bytes; one that does not decode must refuse (415).
  return { body, optional: decoded };
}

// ---- the oracle ---------------------------------------------------------------------------------

const KEY_LIMIT = 4096;

interface Meta {
  key: string | undefined;
  sts: number | undefined;
  ack: 'spool' | 'sink';
  headers: Array<[string, string]>;
}

/** Key, client time, ack mode and event headers, or why the request is bad. */
function meta(request: FuzzRequest, params: Map<string, Buffer>): Meta | string {
  const textParam = (name: string, header: string): string | undefined | Error => {
    const raw = params.get(name);
    if (raw !== undefined) return raw.toString('utf8');
    const value = headerValue(request, header);
    return value === undefined ? undefined : headerText(value, header);
  };
  const key = textParam('key', 'x-sparkngin-key');
  if (key instanceof Error) return key.message;
  if (key === '') return 'empty key';
  if (key !== undefined && Buffer.byteLength(key) > KEY_LIMIT) return 'key too long';
  const sts = textParam('sts', 'x-sparkngin-time');
  if (sts instanceof Error) return sts.message;
  if (sts !== undefined && !/^\d{1,15}$/.test(sts)) return 'sts not digits';
  const ack = textParam('ack', 'x-sparkngin-ack') ?? 'spool';
  if (ack !== 'spool' && ack !== 'sink') return 'bad ack';
  const headers = eventHeaders(request);
  if (headers instanceof Error) return headers.message;
  return { key, sts: sts === undefined ? undefined : Number(sts), ack, headers };
}

function topicOf(segment: string): string | undefined {
  let topic = segment;
  if (segment.includes('%')) {
    try {
      topic = decodeURIComponent(segment);
    } catch {
      return undefined;
    }
  }
  return /^[a-zA-Z0-9._-]{1,249}$/.test(topic) && topic !== '.' && topic !== '..' ? topic : undefined;
}

/** What the daemon must do with `request` (limits: `maxHeaderBytes` of Node's parser). */
export function expectationOf(request: FuzzRequest): Expectation {
  // An absolute-form target (as sent to a proxy) means its path.
  const target = request.target.replace(/^https?:\/\/[^/]*/i, '') || '/';
  // Node's client sends the method upper-cased.
  const method = request.method.toUpperCase();
  // The transport first: Node's parser knows a fixed set of methods and takes at most
  // maxHeaderSize bytes of request head as it counts them (431 beyond; near the limit, where leading
  // white space of values it does not count blurs the line, either answer is right).
  if (!METHODS.includes(method)) return refused(`method ${method} unknown to HTTP parsers`);
  const head = headBytes(request);
  if (head > maxHeaderSize + 512) return { statuses: [431], legacy: false, why: `request head of ${head} bytes` };
  const nearLimit = head > maxHeaderSize - 512;
  const expectation = routeExpectation(request, target, method);
  if (nearLimit && !expectation.statuses.includes(431)) expectation.statuses.push(431);
  return expectation;
}

/**
 * The request head's bytes as Node's parser counts them against maxHeaderSize: the request target
 * and every header name and value (Host and Content-Length included), not the method, the
 * protocol, the separators or the line ends (node_http_parser.cc, TrackHeader).
 */
export function headBytes(request: FuzzRequest): number {
  let bytes = request.target.length + 'Host127.0.0.1:65535'.length + 'Content-Length'.length + String(request.body.length).length;
  for (const [name, value] of request.headers) bytes += name.length + value.length;
  return bytes;
}

function routeExpectation(request: FuzzRequest, target: string, method: string): Expectation {
  const expect = headerValue(request, 'expect');
  if (expect !== undefined && expect.toLowerCase() !== '100-continue') return refused(`Expect: ${expect}`);
  const q = target.indexOf('?');
  const path = q === -1 ? target : target.slice(0, q);
  const params = queryParams(q === -1 ? '' : target.slice(q + 1));

  if (path.startsWith(TOPICS)) {
    if (method !== 'POST' && method !== 'GET') return { statuses: [405], legacy: false, why: `${method} on a topic` };
    if (params === undefined) return refused('query not strictly percent-encoded UTF-8');
    const topic = topicOf(path.slice(TOPICS.length));
    if (topic === undefined) return refused('invalid topic');
    const m = meta(request, params);
    if (typeof m === 'string') return refused(m);
    const ok = m.ack === 'sink' ? [202, 504] : [202];
    const event = (type: EventType, data: string | Buffer): ExpectedEvent => ({ topic, key: m.key, sts: m.sts, headers: m.headers, type, data });
    if (method === 'GET') {
      const data = params.get('data');
      if (data === undefined) return refused('beacon without data');
      const text = data.toString('utf8');
      if (isJsonText(text)) return { statuses: ok, legacy: false, events: [event('json', oneLine(trimWs(text)))], why: 'JSON beacon' };
      // White space JSON does not know (U+00A0…) around JSON: read as JSON or as text, both fine.
      if (isJsonText(text.trim())) return { statuses: ok, legacy: false, why: 'beacon, JSON inside non-JSON white space' };
      return { statuses: ok, legacy: false, events: [event('text', text)], why: 'text beacon' };
    }
    return postExpectation(request, ok, event);
  }
  const methods = EXACT_ROUTES.get(path);
  if (methods === undefined) return { statuses: [404], legacy: false, why: 'no such route' };
  if (!methods.includes(method)) return { statuses: [405], legacy: path === '/message/json', why: `${method} on ${path}` };
  if (params === undefined) return refused('query not strictly percent-encoded UTF-8', path === '/message/json');
  if (path === '/message/json') return legacyExpectation(request, params);
  // /imok is 503 with the problems while a sink is not delivering (the fuzz's own sink may lag).
  return { statuses: path === '/imok' ? [200, 503] : [200], legacy: false, why: path };
}

function postExpectation(request: FuzzRequest, ok: number[], event: (type: EventType, data: string | Buffer) => ExpectedEvent): Expectation {
  const typeHeader = headerValue(request, 'content-type');
  const type = typeHeader === undefined ? undefined : contentType(typeHeader);
  if (type === undefined || !MEDIA.has(type.media)) return { statuses: [415], legacy: false, why: `content type ${typeHeader}` };
  const binary = type.media === 'application/octet-stream';
  const charset = type.charset;
  const latin1 = charset !== undefined && ['iso-8859-1', 'latin1', 'l1'].includes(charset);
  const utf8 = charset === undefined || ['utf-8', 'utf8', 'us-ascii', 'ascii'].includes(charset);
  // A charset on binary means nothing: ignoring it and refusing it are both right.
  if (!binary && !latin1 && !utf8) return { statuses: [415], legacy: false, why: `charset ${charset}` };
  const decoded = decodeBody(request);
  if (decoded === 'refuse') return { statuses: [415, 'refused'], legacy: false, why: 'content encoding that cannot be decoded' };
  const statuses: Array<number | 'refused'> = decoded.optional ? [...ok, 415] : [...ok];
  if (binary && charset !== undefined && !utf8) statuses.push(415);
  let body = decoded.body;
  if (binary) {
    if (body.length === 0) return refused('empty body');
    return { statuses, legacy: false, events: [event('binary', body)], why: 'binary' };
  }
  if (latin1) body = Buffer.from(body.toString('latin1'), 'utf8');
  if (body.length >= 3 && body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf) body = body.subarray(3);
  if (body.length === 0) return refused('empty body');
  if (!isUtf8(body)) return refused('not UTF-8');
  if (type.media === 'text/plain') {
    const items = lines(body).filter((line) => line.length > 0);
    if (items.length === 0) return refused('no text lines');
    return { statuses, legacy: false, events: items.map((line) => event('text', line.toString('utf8'))), why: 'text' };
  }
  if (type.media === 'application/json') {
    const items = jsonEvents(body.toString('utf8'));
    if (items === 'bad') return refused('not JSON');
    if (items === 'unknown') return { statuses: [...statuses, 'refused'], legacy: false, why: 'deeply nested JSON' };
    return { statuses, legacy: false, events: items.map((text) => event('json', text)), why: 'json' };
  }
  const items = ndjsonEvents(body);
  if (items === 'bad') return refused('not NDJSON');
  if (items === 'either') return { statuses: [...statuses, 'refused'], legacy: false, why: 'NDJSON with a non-JSON blank line' };
  return { statuses, legacy: false, events: items.map((text) => event('json', text)), why: 'ndjson' };
}

/**
 * Base64 as Jackson writes a byte[]: the standard alphabet or the URL-safe one (not both), padded
 * with `=` to a multiple of 4 characters, MIME line breaks (CRLF or LF) allowed; the text an encoder
 * gives for the bytes it decodes to (src/ingest/README.md). Unpadded text is refused: it cannot be
 * told from text cut short, which must never be stored shorter.
 */
function strictBase64(text: string): Buffer | undefined {
  const clean = text.replace(/\r?\n/g, '');
  const digits = clean.replace(/={1,2}$/, '');
  const alphabet = /[-_]/.test(digits) ? /^[A-Za-z0-9_-]*$/ : /^[A-Za-z0-9+/]*$/;
  if (clean.length % 4 !== 0 || !alphabet.test(digits)) return undefined;
  const standard = clean.replace(/-/g, '+').replace(/_/g, '/');
  const bytes = Buffer.from(standard, 'base64');
  // Bits past the last byte that are not zero: no encoder wrote that.
  return bytes.toString('base64') === standard ? bytes : undefined;
}

function legacyExpectation(request: FuzzRequest, params: Map<string, Buffer>): Expectation {
  let raw: Buffer;
  if (request.method === 'POST') raw = request.body;
  else {
    const data = params.get('data');
    if (data === undefined) return refused('legacy GET without data', true);
    raw = data;
  }
  if (!isUtf8(raw)) return refused('legacy message not UTF-8', true);
  let message: any;
  try {
    message = JSON.parse(raw.toString('utf8'));
  } catch {
    return refused('legacy message not JSON', true);
  }
  const isObject = (value: unknown) => typeof value === 'object' && value !== null && !Array.isArray(value);
  if (!isObject(message) || !isObject(message.header) || typeof message.header.topic !== 'string') return refused('legacy message without a header.topic', true);
  const { topic, key } = message.header;
  if (key !== undefined && key !== null && typeof key !== 'string' && typeof key !== 'number') return refused('legacy key', true);
  if (message.data !== undefined && message.data !== null && !isObject(message.data)) return refused('legacy data', true);
  if (!/^[a-zA-Z0-9._-]{1,249}$/.test(topic) || topic === '.' || topic === '..') return refused('legacy topic', true);
  const payload = isObject(message.data) ? message.data : {};
  let bytes: Buffer;
  if (payload.data === undefined || payload.data === null) bytes = Buffer.alloc(0);
  else if (typeof payload.data === 'string') {
    const decoded = strictBase64(payload.data);
    if (decoded === undefined) return refused('legacy data not base64', true);
    bytes = decoded;
  } else if (Array.isArray(payload.data) && payload.data.every((b: unknown) => Number.isInteger(b) && (b as number) >= -128 && (b as number) <= 255)) {
    bytes = Buffer.from(payload.data.map((b: number) => b & 0xff));
  } else return refused('legacy data.data', true);
  // Ack mode, client time and event headers as on /v1; the key is the Message's, so a key parameter
  // is ignored, and refusing a bad one is as right as ignoring it.
  const m = meta({ ...request, headers: request.headers.filter(([name]) => name.toLowerCase() !== 'x-sparkngin-key') }, new Map([...params].filter(([name]) => name !== 'key')));
  if (typeof m === 'string') return refused(m, true);
  const strict = typeof meta(request, params) === 'string';
  const serialize = typeof payload.serializeType === 'string' ? payload.serializeType.toLowerCase() : undefined;
  let type: EventType = 'binary';
  let data: string | Buffer = bytes;
  if (bytes.length > 0 && serialize !== 'binary') {
    if (serialize === 'xml') {
      if (isUtf8(bytes)) [type, data] = ['text', bytes.toString('utf8')];
    } else if (isUtf8(bytes)) {
      const text = bytes.toString('utf8');
      if (trimWs(text) !== '' && isJsonText(text)) [type, data] = ['json', oneLine(trimWs(text))];
    }
  }
  const headers: Array<[string, string]> = typeof payload.type === 'string' && payload.type !== '' ? [...m.headers.filter(([name]) => name !== 'nw-data-type'), ['nw-data-type', payload.type]] : m.headers;
  const event: ExpectedEvent = { topic, key: key === undefined || key === null || key === '' ? undefined : String(key), sts: m.sts, headers, type, data };
  const statuses: Array<number | 'refused'> = m.ack === 'sink' ? [200, 504] : [200];
  if (strict) statuses.push('refused');
  return { statuses, legacy: true, events: [event], why: 'legacy message' };
}
