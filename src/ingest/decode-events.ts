// Request body → event payloads, by content type. JSON is validated (JSON.parse) but stored as the
// bytes the client sent (re-serialised only for the elements of a JSON array), so the payload that
// reaches Kafka is byte for byte what was posted.
import type { EventType } from '../envelope/envelope';
import { RequestError } from '../errors';
import { badRequest } from './reply';

export interface EventPayload {
  type: EventType;
  data: Buffer;
}

const SUPPORTED = 'application/json, application/x-ndjson (or application/jsonl), text/plain, application/octet-stream';

type Decoder = (body: Buffer) => EventPayload[];

const DECODERS: Record<string, Decoder> = {
  'application/json': decodeJson,
  'application/x-ndjson': decodeNdjson,
  'application/jsonl': decodeNdjson,
  'application/x-jsonlines': decodeNdjson,
  'text/plain': decodeText,
  'application/octet-stream': (body) => [{ type: 'binary', data: body }],
};

/** The media type without parameters, lower-cased: `Application/JSON; charset=utf-8` → `application/json`. */
export function mediaType(header: string | undefined): string {
  if (header === undefined) return '';
  const semicolon = header.indexOf(';');
  return (semicolon === -1 ? header : header.slice(0, semicolon)).trim().toLowerCase();
}

export function decodeEvents(contentType: string | undefined, body: Buffer): EventPayload[] {
  const type = mediaType(contentType);
  const decoder = DECODERS[type];
  if (!decoder) {
    throw new RequestError(415, 'UNSUPPORTED_MEDIA_TYPE', `${type === '' ? 'a Content-Type is required' : `unsupported Content-Type '${type}'`}; use one of: ${SUPPORTED}`);
  }
  if (body.length === 0) throw badRequest('EMPTY_BODY', 'the request body is empty');
  const events = decoder(body);
  if (events.length === 0) throw badRequest('EMPTY_BODY', 'the request body holds no event');
  return events;
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw badRequest('MALFORMED_JSON', `${where} is not valid JSON: ${(error as Error).message}`);
  }
}

function decodeJson(body: Buffer): EventPayload[] {
  const text = body.toString('utf8');
  const value = parseJson(text, 'the body');
  if (!Array.isArray(value)) return [{ type: 'json', data: body }];
  return value.map((element) => ({ type: 'json' as const, data: Buffer.from(JSON.stringify(element)) }));
}

/** Splits into lines (LF or CRLF), skipping empty ones; `handle` gets the line text and its bytes. */
function eachLine(body: Buffer, handle: (line: string, bytes: () => Buffer, number: number) => void): void {
  const text = body.toString('utf8');
  // For pure ASCII, string offsets are byte offsets: a line's bytes are a view of the body, no copy.
  const ascii = text.length === body.length;
  let start = 0;
  let number = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    number++;
    const stop = end > start && text.charCodeAt(end - 1) === 13 ? end - 1 : end;
    if (stop > start) {
      const line = text.slice(start, stop);
      const from = start;
      handle(line, () => (ascii ? body.subarray(from, stop) : Buffer.from(line, 'utf8')), number);
    }
    start = end + 1;
  }
}

function decodeNdjson(body: Buffer): EventPayload[] {
  const events: EventPayload[] = [];
  eachLine(body, (line, bytes, number) => {
    if (line.trim() === '') return;
    parseJson(line, `line ${number}`);
    events.push({ type: 'json', data: bytes() });
  });
  return events;
}

function decodeText(body: Buffer): EventPayload[] {
  const events: EventPayload[] = [];
  eachLine(body, (_line, bytes) => events.push({ type: 'text', data: bytes() }));
  return events;
}

/** A beacon's `data` parameter: JSON if it parses as JSON, text otherwise. */
export function decodeBeacon(data: string): EventPayload {
  try {
    JSON.parse(data);
    return { type: 'json', data: Buffer.from(data, 'utf8') };
  } catch {
    return { type: 'text', data: Buffer.from(data, 'utf8') };
  }
}
