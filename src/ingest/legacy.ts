// The original Sparkngin's HTTP API, so that its clients work unchanged: `POST /message/json` with a
// NeverwinterDP `Message` as the body, or `GET /message/json?data=<the same, URL-encoded>`, answered
// with the original `Ack`.
//
// The Message, as Jackson wrote it (com.neverwinterdp.message.{Message,MessageHeader,MessageData}):
//   {"header": {"version": 0.0, "topic": "t", "key": "k", "traceEnable": false, "instructionEnable": false},
//    "data": {"type": "<Java class name>", "data": "<byte[] as base64>", "serializeType": "json"|"xml"|"binary"|null},
//    "traces": [...], "instructions": [...]}
// `data.data` is a Java byte[], which Jackson writes as base64 (and also reads from an array of
// numbers). `new Message(key, obj, …)` leaves serializeType null with JSON bytes in data.
// The Ack (com.neverwinterdp.sparkngin.Ack): {"messageId": <header.key>, "status": "OK"|"ERROR", "message": <error or null>}.
// The original answered every failure 200 with status ERROR; here the HTTP status tells too (4xx/5xx).
import type { ServerResponse } from 'node:http';
import { isUtf8 } from 'node:buffer';
import { type EventType, newHeaders } from '../envelope/envelope';
import type { RequestError } from '../errors';
import { acceptEvents } from './accept';
import { readBody } from './body';
import type { Exchange, IngestContext } from './context';
import { readMeta } from './meta';
import { isJson, oneLine, trimJsonWhitespace } from './parse';
import { badRequest, sendJson } from './respond';
import { validateTopic } from './topic';

export interface LegacyMessage {
  topic: string;
  key: string | undefined;
  type: EventType;
  data: Buffer;
  /** `data.type`, the Java class name of the payload, which consumers of the original used to decode it. */
  dataType: string | undefined;
}

export interface LegacyAck {
  messageId: string | null;
  status: 'OK' | 'ERROR';
  message: string | null;
}

/** The envelope header that carries `data.type` on. */
export const DATA_TYPE_HEADER = 'nw-data-type';

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

// A lone surrogate (`"\ud800"` in JSON) has no UTF-8 form: written out it would become U+FFFD.
const LONE_SURROGATE = /\p{Surrogate}/u;

const invalid = (message: string) => badRequest('INVALID_MESSAGE', message);

/** `POST /message/json` (the Message is the body) and `GET /message/json?data=<Message>`. */
export async function legacyMessageRoute(exchange: Exchange, context: IngestContext): Promise<void> {
  // Ack mode, client time, event headers and address as on the /v1 routes; the key is the Message's.
  const meta = readMeta(exchange.request, exchange.query, context.trustProxy);
  let message: LegacyMessage;
  if (exchange.method === 'POST') {
    // The original took any Content-Type here (its clients sent none or text/plain), so this does too.
    message = parseLegacyMessage(utf8Text(await readBody(exchange, context.limits)));
  } else {
    const data = exchange.query?.get('data');
    if (data === undefined) throw badRequest('MISSING_DATA', 'GET /message/json needs a data= query parameter holding the Message JSON');
    message = parseLegacyMessage(data);
  }
  const headers = message.dataType === undefined ? meta.headers : Object.assign(newHeaders(), meta.headers, { [DATA_TYPE_HEADER]: message.dataType });
  const { topic, key, type, data } = message;
  const ids = await acceptEvents(exchange, context, topic, { ...meta, key, headers }, { type, items: [data] });
  // The original answered with header.key; a Message without a key gets the event id instead of null.
  sendLegacyAck(exchange.response, key ?? ids[0]!);
}

function utf8Text(body: Buffer): string {
  if (!isUtf8(body)) throw badRequest('INVALID_UTF8', 'the Message is not valid UTF-8');
  return body.toString('utf8');
}

export function parseLegacyMessage(text: string): LegacyMessage {
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch (error) {
    throw badRequest('MALFORMED_JSON', `the Message is not valid JSON: ${(error as Error).message}`);
  }
  if (!isObject(message) || !isObject(message.header)) throw invalid('a Message needs a "header" object with a "topic"');
  const { topic, key } = message.header;
  if (typeof topic !== 'string') throw invalid('header.topic must be a string');
  if (key !== undefined && key !== null && typeof key !== 'string' && typeof key !== 'number') throw invalid('header.key must be a string');
  if (typeof key === 'string' && LONE_SURROGATE.test(key)) throw invalid('header.key holds a lone UTF-16 surrogate, which no UTF-8 text can carry');
  if (message.data !== undefined && message.data !== null && !isObject(message.data)) throw invalid('"data" must be an object');
  const payload = isObject(message.data) ? message.data : {};
  const data = payloadBytes(payload.data);
  const serializeType = typeof payload.serializeType === 'string' ? payload.serializeType.toLowerCase() : undefined;
  const typed = typedPayload(data, serializeType);
  return {
    topic: validateTopic(topic),
    key: key === undefined || key === null || key === '' ? undefined : String(key),
    type: typed.type,
    data: typed.data,
    dataType: typeof payload.type === 'string' && payload.type !== '' && !LONE_SURROGATE.test(payload.type) ? payload.type : undefined,
  };
}

function payloadBytes(bytes: unknown): Buffer {
  if (bytes === undefined || bytes === null) return Buffer.alloc(0);
  if (typeof bytes === 'string') return strictBase64(bytes);
  if (Array.isArray(bytes) && bytes.every((b) => Number.isInteger(b) && b >= -128 && b <= 255)) return Buffer.from(bytes.map((b: number) => b & 0xff));
  throw invalid('data.data must be base64 (a Java byte[] as Jackson writes it) or an array of byte values');
}

/**
 * Base64 as Jackson writes a byte[] (the MIME variant: standard alphabet, `=` padding, line breaks
 * allowed between characters), or the URL-safe alphabet. Buffer.from(…, 'base64') is lenient: it
 * skips characters it does not know and decodes a truncated string to fewer bytes without a word.
 * Here the text must be exactly what encoding the decoded bytes gives back (same alphabet, padded),
 * so that a truncated, mis-padded or damaged payload is refused instead of stored shorter.
 */
function strictBase64(text: string): Buffer {
  const compact = text.replace(/\r?\n/g, '');
  const urlSafe = /[-_]/.test(compact);
  const standard = urlSafe ? compact.replace(/-/g, '+').replace(/_/g, '/') : compact;
  const bytes = Buffer.from(standard, 'base64');
  if ((urlSafe && /[+/]/.test(compact)) || bytes.toString('base64') !== standard) {
    throw invalid('data.data is not valid base64 (a Java byte[] as Jackson writes it: complete, padded with =)');
  }
  return bytes;
}

/**
 * The event type for the payload: `binary` when the Message says so; text for XML that is UTF-8;
 * otherwise JSON when the bytes are JSON (what the original's clients sent almost always), compacted
 * to one line like every JSON payload; binary when they are not, so nothing is lost or mislabelled.
 */
function typedPayload(data: Buffer, serializeType: string | undefined): { type: EventType; data: Buffer } {
  if (data.length === 0 || serializeType === 'binary') return { type: 'binary', data };
  if (serializeType === 'xml') return { type: isUtf8(data) ? 'text' : 'binary', data };
  if (isUtf8(data)) {
    const text = data.toString('utf8');
    const trimmed = trimJsonWhitespace(text);
    if (trimmed !== '' && isJson(trimmed)) {
      const compact = oneLine(trimmed);
      return { type: 'json', data: compact === text ? data : Buffer.from(compact, 'utf8') };
    }
  }
  return { type: 'binary', data };
}

export function sendLegacyAck(response: ServerResponse, messageId: string): void {
  sendJson(response, 200, { messageId, status: 'OK', message: null } satisfies LegacyAck);
}

export function sendLegacyError(response: ServerResponse, error: RequestError): void {
  sendJson(response, error.status, { messageId: null, status: 'ERROR', message: error.message } satisfies LegacyAck, error.headers);
}
