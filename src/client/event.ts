// send()/sendRaw() arguments → one encoded envelope, checked against the rules every instance applies
// (src/envelope/rules.ts), so that a bad event is refused on its own here and never makes an instance
// refuse the whole batch it would have gone into. The id is made here, once: every retry of the
// event, through any instance or from the spill, carries the same one.
import { isUtf8 } from 'node:buffer';
import { EnvelopeEncoder } from '../envelope/codec-binary';
import { type Envelope, type EventType, newEventId, newHeaders } from '../envelope/envelope';
import { eventIdProblem } from '../envelope/nw1';
import { eventProblem, metaProblem } from '../envelope/rules';
import type { AckMode } from './options';
import { InvalidEventError } from './errors';

const NO_HEADERS: Record<string, string> = Object.freeze(newHeaders());
/** Events mostly share topic, key and headers: their encoded fields are made once (one thread, one encoder). */
const encoder = new EnvelopeEncoder();

export interface SendOptions {
  /** Kafka record key. */
  key?: string;
  /** Event headers; names are lower-cased (as every route stores them). */
  headers?: Record<string, string>;
  /** Client time: a Date or ms since the epoch (whole ms). */
  time?: Date | number;
  /** This event's ack mode, over the client's. */
  ack?: AckMode;
}

export interface RawSendOptions extends SendOptions {
  /** What the bytes are: `binary` (default), `text` (UTF-8) or `json` (one line of JSON). */
  type?: EventType;
}

export interface EncodedEvent {
  id: string;
  topic: string;
  /** The binary envelope (codec-binary.ts), as an instance or the spill takes it. */
  bytes: Buffer;
}

/** A JSON value → an encoded `json` event. */
export function jsonEvent(topic: string, value: unknown, options: SendOptions = {}): EncodedEvent {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw new InvalidEventError(`the value cannot be written as JSON: ${(error as Error).message}`);
  }
  if (text === undefined) throw new InvalidEventError(`the value cannot be written as JSON (${typeof value})`);
  // JSON.stringify writes JSON on one line: only the rest needs checking.
  return encodedEvent(topic, 'json', Buffer.from(text, 'utf8'), options, metaProblem);
}

/** Bytes (or a string, as UTF-8) → an encoded event of `options.type`. */
export function rawEvent(topic: string, data: Uint8Array | string, options: RawSendOptions = {}): EncodedEvent {
  const type = options.type ?? 'binary';
  if (type !== 'binary' && type !== 'text' && type !== 'json') throw new InvalidEventError(`type must be binary, text or json, got ${String(type)}`);
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (type !== 'binary' && !isUtf8(bytes)) throw new InvalidEventError(`a ${type} event must be UTF-8`);
  return encodedEvent(topic, type, bytes, options, eventProblem);
}

function encodedEvent(topic: string, type: EventType, data: Buffer, options: SendOptions, check: typeof eventProblem): EncodedEvent {
  if (typeof topic !== 'string') throw new InvalidEventError('the topic must be a string');
  const headers = options.headers === undefined ? NO_HEADERS : newHeaders();
  if (options.headers !== undefined) {
    for (const [name, value] of Object.entries(options.headers)) {
      if (typeof value !== 'string') throw new InvalidEventError(`the header '${name.slice(0, 60)}' must have a string value`);
      const lower = name.toLowerCase();
      if (lower in headers) throw new InvalidEventError(`the header '${lower.slice(0, 60)}' is given twice (names are case-insensitive)`);
      headers[lower] = value;
    }
  }
  if (options.key !== undefined && typeof options.key !== 'string') throw new InvalidEventError('the key must be a string');
  const sts = options.time instanceof Date ? options.time.getTime() : options.time;
  const envelope = { id: newEventId(), topic, key: options.key, ts: 0, sts, ip: '', host: '', headers, type, data };
  const problem = check(envelope);
  if (problem !== undefined) throw new InvalidEventError(problem);
  return { id: envelope.id, topic, bytes: encoder.encode(envelope) };
}

/**
 * An event received elsewhere, sent on as it is (a relay: `sparkngin drain`): id, type, key, client
 * time, headers and payload kept; receive time, address and host left for the receiving instance.
 */
export function relayedEvent(envelope: Envelope): EncodedEvent {
  const relayed = { ...envelope, ts: 0, ip: '', host: '' };
  const problem = eventIdProblem(envelope.id) ?? eventProblem(relayed);
  if (problem !== undefined) throw new InvalidEventError(problem);
  return { id: envelope.id, topic: envelope.topic, bytes: encoder.encode(relayed) };
}
