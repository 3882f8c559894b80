// Request body → event payloads, by content type. This is the hot path of NDJSON batches, so:
//  - every payload of a request has the same type, and a batch is one type plus a list of Buffers
//    (no object per event here);
//  - JSON is validated (NDJSON lines and one-line single-value bodies by json-scan.ts, an
//    allocation-free scanner of the bytes that accepts exactly what JSON.parse does; other JSON
//    bodies and array elements by JSON.parse) but stored
//    as the bytes the client sent: a line or a body is a view (subarray) of the request body, no
//    copy, and what reaches Kafka is byte for byte what was posted; array elements are cut out of the
//    original text as well (no re-serialisation, so big integers and key order survive);
//  - a body is checked to be UTF-8 once, natively (a pure-ASCII JSON body is decoded once and
//    sliced, string offsets being byte offsets); NDJSON lines are cut and scanned as bytes;
//  - a request holds at most `maxEvents` events (http.maxEventsPerRequest, 413 beyond), counted while
//    cutting, so that a body of tiny events (`[0,0,0,…]`: 8 million in 16 MiB) is refused before an
//    object is made per event; a JSON array is cut first and its elements parsed one by one, so that
//    no parsed copy of the whole array is ever held.
// A request is all or nothing: one bad line or element refuses the whole request (nothing is stored),
// so that a client retries it whole and never duplicates the part that was good.
// A JSON payload never holds a line break: the codecs embed it as is into NDJSON output, where a raw
// newline would split a record. Raw CR/LF in valid JSON can only be whitespace between tokens, so
// pretty-printed JSON is compacted by dropping them (and the indentation after them) — nothing else.
import { isAscii, isUtf8 } from 'node:buffer';
import type { EventType } from '../envelope/envelope';
import { NW1_CONTENT_TYPE } from '../envelope/nw1';
import { RequestError } from '../errors';
import { scanJson } from './json-scan';
import { parseEnvelopes } from './nw1';
import { badRequest, tooManyEvents } from './respond';

export interface Batch {
  type: EventType;
  items: Buffer[];
  /**
   * Set for NW1 envelopes (nw1.ts), whose events each carry their own id, type, key, client time and
   * headers: then `given[i]` describes `items[i]`, and `type` and the request's parameters are unused.
   */
  given?: GivenFields[];
  /**
   * Set for NW1 envelopes beside `given` (which are then whole Envelopes): each envelope's own bytes,
   * from which its spool record is made by splicing in the server's fields (receivedRecords).
   */
  frames?: Buffer[];
}

/** What a client-made envelope says of its event beyond the payload. */
export interface GivenFields {
  id: string;
  type: EventType;
  key?: string;
  sts?: number;
  /** The Kafka partition the client chose (NW1, the REST Proxy routes). */
  partition?: number;
  headers: Record<string, string>;
}

/** Body → payloads, at most `maxEvents` of them (413 TOO_MANY_EVENTS beyond); `topic` is the path's. */
export type BodyParser = (body: Buffer, maxEvents: number, topic: string) => Batch;

const SUPPORTED = `application/json, application/x-ndjson (or application/jsonl), text/plain, application/octet-stream, ${NW1_CONTENT_TYPE}`;

// A Map, not an object literal: the media type is the client's, and `constructor` must not find Object.
const PARSERS = new Map<string, BodyParser>([
  ['application/json', parseJson],
  ['application/x-ndjson', parseNdjson],
  ['application/jsonl', parseNdjson],
  ['application/x-jsonlines', parseNdjson],
  ['application/jsonlines', parseNdjson],
  ['text/plain', parseText],
  ['application/octet-stream', parseBinary],
  [NW1_CONTENT_TYPE, parseEnvelopes],
]);

// Charsets we read as they are (US-ASCII is a subset of UTF-8), and Latin-1, which is what Java's
// HTTP clients label text with unless told otherwise: transcoded to UTF-8 before parsing.
const AS_UTF8 = new Set(['utf-8', 'utf8', 'us-ascii', 'ascii']);
const LATIN1 = new Set(['iso-8859-1', 'latin1', 'l1']);

/**
 * The parser for a Content-Type header, chosen before the body is read so that an unsupported type
 * is refused (415) without reading it. Parameters other than `charset` are ignored.
 */
export function bodyParser(contentType: string | undefined): BodyParser {
  const { media, charset } = splitContentType(contentType);
  const parser = PARSERS.get(media);
  if (!parser) {
    const problem = media === '' ? 'a Content-Type header is required' : `the Content-Type '${media}' is not supported`;
    throw new RequestError(415, 'UNSUPPORTED_MEDIA_TYPE', `${problem}; use one of: ${SUPPORTED}`);
  }
  // Binary bodies have no charset: a label on them (some clients add one to everything) changes nothing.
  if (charset === undefined || parser === parseBinary || parser === parseEnvelopes || AS_UTF8.has(charset)) return parser;
  if (LATIN1.has(charset)) return (body, maxEvents, topic) => parser(Buffer.from(body.toString('latin1'), 'utf8'), maxEvents, topic);
  throw new RequestError(415, 'UNSUPPORTED_CHARSET', `the charset '${charset}' is not supported; send UTF-8 (or ISO-8859-1)`);
}

function splitContentType(header: string | undefined): { media: string; charset: string | undefined } {
  if (header === undefined) return { media: '', charset: undefined };
  const semicolon = header.indexOf(';');
  if (semicolon === -1) return { media: header.trim().toLowerCase(), charset: undefined };
  const match = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(header);
  return { media: header.slice(0, semicolon).trim().toLowerCase(), charset: match?.[1]?.toLowerCase() };
}

/** A beacon's `data` parameter: JSON if it parses as JSON, text otherwise. */
export function parseBeacon(data: string): Batch {
  const trimmed = trimJsonWhitespace(data);
  if (trimmed !== '' && isJson(trimmed)) return { type: 'json', items: [Buffer.from(oneLine(trimmed), 'utf8')] };
  return { type: 'text', items: [Buffer.from(data, 'utf8')] };
}

/**
 * Cuts JSON's own white space (space, tab, CR, LF: RFC 8259 §2) from both ends. Not String.trim(),
 * which also cuts U+00A0, U+FEFF and others that JSON does not allow there: those must make the text
 * not JSON (kept as sent), never be dropped.
 */
export function trimJsonWhitespace(text: string): string {
  return text.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '');
}

export function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** Removes raw line breaks (and the indentation after them) from valid JSON text; see the top. */
export function oneLine(json: string): string {
  return json.indexOf('\n') === -1 && json.indexOf('\r') === -1 ? json : json.replace(/[\r\n]+[ \t]*/g, '');
}

function parseBinary(body: Buffer, _maxEvents: number): Batch {
  if (body.length === 0) throw emptyBody();
  return { type: 'binary', items: [body] };
}

/** Drops a UTF-8 byte order mark (editors and some Windows tools write one) and checks the encoding. */
function utf8Body(body: Buffer): { body: Buffer; ascii: boolean } {
  if (body.length >= 3 && body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf) body = body.subarray(3);
  if (body.length === 0) throw emptyBody();
  if (isAscii(body)) return { body, ascii: true };
  if (!isUtf8(body)) throw badRequest('INVALID_UTF8', 'the request body is not valid UTF-8');
  return { body, ascii: false };
}

const emptyBody = () => badRequest('EMPTY_BODY', 'the request body is empty');
const malformed = (message: string) => badRequest('MALFORMED_JSON', message);

/** Adds a payload, refusing the request once it would hold more than `maxEvents`. */
function push(items: Buffer[], item: Buffer, maxEvents: number): void {
  if (items.length >= maxEvents) throw tooManyEvents(maxEvents);
  items.push(item);
}
const noEvent = () => badRequest('EMPTY_BODY', 'the request body holds no event (only empty lines or an empty array)');

function parseError(error: unknown, where: string): RequestError {
  return badRequest('MALFORMED_JSON', `${where} is not valid JSON: ${(error as Error).message}`);
}

const isWhitespace = (code: number) => code === 32 || code === 10 || code === 13 || code === 9;

function parseJson(raw: Buffer, maxEvents: number): Batch {
  const { body, ascii } = utf8Body(raw);
  const single = singleValue(body);
  if (single !== undefined) return { type: 'json', items: [single] };
  const text = ascii ? body.toString('latin1') : body.toString('utf8');
  let start = 0;
  let end = text.length;
  while (start < end && isWhitespace(text.charCodeAt(start))) start++;
  while (end > start && isWhitespace(text.charCodeAt(end - 1))) end--;
  if (start === end) throw emptyBody();
  // A part of the body as a payload: a view when the text is ASCII and one line, a copy otherwise.
  const payload = (from: number, to: number): Buffer => {
    const part = text.slice(from, to);
    const compact = oneLine(part);
    if (ascii && compact === part) return body.subarray(from, to);
    return Buffer.from(compact, 'utf8');
  };
  if (text.charCodeAt(start) !== 0x5b /* [ */) {
    try {
      JSON.parse(text);
    } catch (error) {
      throw parseError(error, 'the body');
    }
    return { type: 'json', items: [payload(start, end)] };
  }
  const items: Buffer[] = [];
  eachArrayElement(text, start, end, (from, to, number) => {
    try {
      JSON.parse(text.slice(from, to));
    } catch (error) {
      throw parseError(error, `element ${number} of the array`);
    }
    push(items, payload(from, to), maxEvents);
  });
  if (items.length === 0) throw noEvent();
  return { type: 'json', items };
}

/**
 * The commonest body, one JSON value that is not an array and holds no line break, checked on the
 * bytes by the scanner: its payload is the body less the white space around it, a view, as the text
 * path below makes it (the bytes are valid UTF-8, so a view and a re-encoded copy are the same bytes),
 * without decoding the body or building the value (a fifth of a single-event request's parsing).
 * Undefined for anything else (arrays, line breaks to compact, invalid JSON and its message): the
 * text path decides those.
 */
function singleValue(body: Buffer): Buffer | undefined {
  let start = 0;
  let end = body.length;
  while (start < end && isWhitespace(body[start]!)) start++;
  while (end > start && isWhitespace(body[end - 1]!)) end--;
  if (start === end || body[start] === 0x5b /* [ */) return undefined;
  for (let i = start; i < end; i++) if (body[i] === 0x0a || body[i] === 0x0d) return undefined;
  return scanJson(body, start, end) === 'json' ? body.subarray(start, end) : undefined;
}

/**
 * Calls `element` with the [from, to) range (without surrounding whitespace) and 1-based number of
 * each top-level element of the JSON array text[open..end). Only the array's own structure is checked
 * here (commas, the closing bracket, nothing after it); each element is left to JSON.parse. That is
 * enough for the whole to be valid JSON: an element JSON.parse accepts has balanced brackets and
 * closed strings, so the depth-0 commas found here are exactly the array's separators.
 */
function eachArrayElement(text: string, open: number, end: number, element: (from: number, to: number, number: number) => void): void {
  let depth = 0;
  let from = open + 1;
  let number = 0;
  const cut = (to: number, closing: boolean) => {
    let a = from;
    let b = to;
    while (a < b && isWhitespace(text.charCodeAt(a))) a++;
    while (b > a && isWhitespace(text.charCodeAt(b - 1))) b--;
    // `[]` is an empty array; `[1,]`, `[,1]` and `[1,,2]` are malformed.
    if (a === b) {
      if (closing && number === 0) return;
      throw malformed(`the body is not valid JSON: element ${number + 1} of the array is missing`);
    }
    element(a, b, ++number);
  };
  for (let i = open + 1; i < end; i++) {
    const code = text.charCodeAt(i);
    if (code === 0x22) {
      // Skip the string, escapes included.
      for (i++; i < end; i++) {
        const c = text.charCodeAt(i);
        if (c === 0x5c) i++;
        else if (c === 0x22) break;
      }
    } else if (code === 0x5b || code === 0x7b) {
      depth++;
    } else if (code === 0x5d || code === 0x7d) {
      if (depth > 0) {
        depth--;
        continue;
      }
      if (code !== 0x5d) throw malformed(`the body is not valid JSON: unexpected '}' in the array`);
      if (i !== end - 1) throw malformed('the body is not valid JSON: text after the end of the array');
      cut(i, true);
      return;
    } else if (code === 0x2c && depth === 0) {
      cut(i, false);
      from = i + 1;
    }
  }
  throw malformed('the body is not valid JSON: the array is not closed');
}

function parseNdjson(raw: Buffer, maxEvents: number): Batch {
  const { body } = utf8Body(raw);
  const items: Buffer[] = [];
  eachLine(body, (start, stop, number) => {
    const scan = scanJson(body, start, stop);
    if (scan === 'json' || (scan === 'invalid' && isJsonLine(body.toString('utf8', start, stop), number))) push(items, body.subarray(start, stop), maxEvents);
  });
  if (items.length === 0) throw noEvent();
  return { type: 'json', items };
}

/**
 * For a line the scanner refused: JSON.parse's verdict and message. It refuses the line too (the
 * scanner accepts exactly what JSON.parse does); were they ever to differ, JSON.parse would win.
 */
function isJsonLine(line: string, number: number): boolean {
  try {
    JSON.parse(line);
    return true;
  } catch (error) {
    throw parseError(error, `line ${number}`);
  }
}

function parseText(raw: Buffer, maxEvents: number): Batch {
  const { body } = utf8Body(raw);
  const items: Buffer[] = [];
  eachLine(body, (start, stop) => push(items, body.subarray(start, stop), maxEvents));
  if (items.length === 0) throw noEvent();
  return { type: 'text', items };
}

/**
 * Calls `line` with the byte range of each non-empty line (LF or CRLF; the break itself excluded)
 * and its 1-based line number. A LF byte never occurs inside a UTF-8 multi-byte character.
 */
function eachLine(body: Buffer, line: (start: number, stop: number, number: number) => void): void {
  const length = body.length;
  let start = 0;
  let number = 0;
  while (start < length) {
    let end = body.indexOf(10, start);
    if (end === -1) end = length;
    number++;
    const stop = end > start && body[end - 1] === 13 ? end - 1 : end;
    if (stop > start) line(start, stop, number);
    start = end + 1;
  }
}
