// The event envelope ("NW protocol v1"): one model, two encodings (codec-json.ts, codec-binary.ts).

export type EventType = 'json' | 'text' | 'binary';

export interface Envelope {
  /** Time-ordered unique id (UUIDv7, canonical text form). */
  id: string;
  topic: string;
  key?: string;
  /** Server receive time, ms since the epoch. */
  ts: number;
  /** Client submit time, ms since the epoch, when the client gave one. */
  sts?: number;
  /** Client address as the ingest saw it. */
  ip: string;
  /** Ingest host name. */
  host: string;
  /**
   * Event headers (lower-cased names). Names come from clients, so this is a null-prototype object
   * (see newHeaders): `constructor` or `__proto__` are names like any other, never Object.prototype's.
   */
  headers: Record<string, string>;
  type: EventType;
  /** Payload bytes: UTF-8 JSON text for `json`, UTF-8 text for `text`, anything for `binary`. */
  data: Buffer;
}

export { newEventId } from './id';

/**
 * An empty headers object without a prototype. On a plain `{}`, `headers['__proto__'] = v` would set
 * the prototype instead of a header and `headers['constructor']` would read Object's; a Map would do
 * too, but headers are handed around as a record (JSON.stringify, kafkajs) and this keeps that shape.
 */
export function newHeaders(): Record<string, string> {
  return Object.create(null) as Record<string, string>;
}
