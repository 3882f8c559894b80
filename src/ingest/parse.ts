// Request body → event payloads, by content type. This is the hot path of NDJSON batches, so:
//  - every payload of a request has the same type, and a batch is one type plus a list of Buffers
//    (no object per event here);
//  - JSON is validated with JSON.parse but stored as the bytes the client sent: a line or a body is
//    a view (subarray) of the request body, no copy, and what reaches Kafka is byte for byte what was
//    posted; array elements are cut out of the original text as well (no re-serialisation, so big
//    integers and key order survive);
//  - a pure-ASCII body (the common case, checked natively) is decoded once and sliced, string
//    offsets being byte offsets; other bodies are checked to be UTF-8 and cut by byte offsets.
// A JSON payload never holds a line break: the codecs embed it as is into NDJSON output, where a raw
// newline would split a record. Raw CR/LF in valid JSON can only be whitespace between tokens, so
// pretty-printed JSON is compacted by dropping them (and the indentation after them) — nothing else.
import { isAscii, isUtf8 } from 'node:buffer';
import type { EventType } from '../envelope/envelope';
import { RequestError } from '../errors';
import { badRequest } from './respond';

export interface Batch {
  type: EventType;
  items: Buffer[];
}

export type BodyParser = (body: Buffer) => Batch;

const SUPPORTED = 'application/json, application/x-ndjson (or application/jsonl), text/plain, application/octet-stream';

const PARSERS: Record<string, BodyParser> = {
  'application/json': parseJson,
  'application/x-ndjson': parseNdjson,
  'application/jsonl': parseNdjson,
  'application/x-jsonlines': parseNdjson,
  'application/jsonlines': parseNdjson,
  'text/plain': parseText,
  'application/octet-stream': parseBinary,
};

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
  const parser = PARSERS[media];
  if (!parser) {
    const problem = media === '' ? 'a Content-Type header is required' : `the Content-Type '${media}' is not supported`;
    throw new RequestError(415, 'UNSUPPORTED_MEDIA_TYPE', `${problem}; use one of: ${SUPPORTED}`);
  }
  if (charset === undefined || parser === parseBinary || AS_UTF8.has(charset)) return parser;
  if (LATIN1.has(charset)) return (body) => parser(Buffer.from(body.toString('latin1'), 'utf8'));
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
  const trimmed = data.trim();
  if (trimmed !== '' && isJson(trimmed)) return { type: 'json', items: [Buffer.from(oneLine(trimmed), 'utf8')] };
  return { type: 'text', items: [Buffer.from(data, 'utf8')] };
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

function parseBinary(body: Buffer): Batch {
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
const noEvent = () => badRequest('EMPTY_BODY', 'the request body holds no event (only empty lines or an empty array)');

function parseError(error: unknown, where: string): RequestError {
  return badRequest('MALFORMED_JSON', `${where} is not valid JSON: ${(error as Error).message}`);
}

const isWhitespace = (code: number) => code === 32 || code === 10 || code === 13 || code === 9;

function parseJson(raw: Buffer): Batch {
  const { body, ascii } = utf8Body(raw);
  const text = ascii ? body.toString('latin1') : body.toString('utf8');
  let start = 0;
  let end = text.length;
  while (start < end && isWhitespace(text.charCodeAt(start))) start++;
  while (end > start && isWhitespace(text.charCodeAt(end - 1))) end--;
  if (start === end) throw emptyBody();
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw parseError(error, 'the body');
  }
  // A part of the body as a payload: a view when the text is ASCII and one line, a copy otherwise.
  const payload = (from: number, to: number): Buffer => {
    const part = text.slice(from, to);
    const compact = oneLine(part);
    if (ascii && compact === part) return body.subarray(from, to);
    return Buffer.from(compact, 'utf8');
  };
  if (!Array.isArray(value)) return { type: 'json', items: [payload(start, end)] };
  const items: Buffer[] = [];
  for (const [from, to] of arrayElements(text, start)) items.push(payload(from, to));
  if (items.length === 0) throw noEvent();
  return { type: 'json', items };
}

/**
 * The [from, to) text ranges of the top-level elements of a JSON array that JSON.parse has already
 * accepted (so only strings and nesting need tracking), each without surrounding whitespace.
 */
function arrayElements(text: string, open: number): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  let depth = 0;
  let from = open + 1;
  const push = (to: number) => {
    let a = from;
    let b = to;
    while (a < b && isWhitespace(text.charCodeAt(a))) a++;
    while (b > a && isWhitespace(text.charCodeAt(b - 1))) b--;
    if (a < b) ranges.push([a, b]);
  };
  for (let i = open + 1; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0x22) {
      // Skip the string, escapes included.
      for (i++; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (c === 0x5c) i++;
        else if (c === 0x22) break;
      }
    } else if (code === 0x5b || code === 0x7b) {
      depth++;
    } else if (code === 0x5d || code === 0x7d) {
      if (depth === 0) {
        push(i);
        break;
      }
      depth--;
    } else if (code === 0x2c && depth === 0) {
      push(i);
      from = i + 1;
    }
  }
  return ranges;
}

function parseNdjson(raw: Buffer): Batch {
  const { body, ascii } = utf8Body(raw);
  const items: Buffer[] = [];
  if (ascii) {
    // One decode, then slices: for ASCII a string offset is a byte offset.
    const text = body.toString('latin1');
    const length = text.length;
    let start = 0;
    let number = 0;
    while (start < length) {
      let end = text.indexOf('\n', start);
      if (end === -1) end = length;
      number++;
      const stop = end > start && text.charCodeAt(end - 1) === 13 ? end - 1 : end;
      if (stop > start) {
        const line = text.slice(start, stop);
        try {
          JSON.parse(line);
          items.push(body.subarray(start, stop));
        } catch (error) {
          if (line.trim() !== '') throw parseError(error, `line ${number}`);
        }
      }
      start = end + 1;
    }
  } else {
    eachLine(body, (start, stop, number) => {
      const line = body.toString('utf8', start, stop);
      try {
        JSON.parse(line);
        items.push(body.subarray(start, stop));
      } catch (error) {
        if (line.trim() !== '') throw parseError(error, `line ${number}`);
      }
    });
  }
  if (items.length === 0) throw noEvent();
  return { type: 'json', items };
}

function parseText(raw: Buffer): Batch {
  const { body } = utf8Body(raw);
  const items: Buffer[] = [];
  eachLine(body, (start, stop) => void items.push(body.subarray(start, stop)));
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
