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
  /**
   * The Kafka partition the event must go to (0 to 2^31 - 1), when the client chose one (the REST
   * Proxy's `partition`/`partition_id`, an NW1 envelope's). Only the Kafka sink acts on it; without
   * it the Kafka sink partitions by key (or event id). Binary: a trailer after the payload.
   */
  partition?: number;
  /** Payload bytes: UTF-8 JSON text for `json`, UTF-8 text for `text`, anything for `binary`. */
  data: Buffer;
}

/** Kafka partitions are non-negative int32s. */
export const MAX_PARTITION = 0x7fffffff;

export { newEventId } from './id';

/**
 * An empty headers object without a prototype. On a plain `{}`, `headers['__proto__'] = v` would set
 * the prototype instead of a header and `headers['constructor']` would read Object's; a Map would do
 * too, but headers are handed around as a record (JSON.stringify, kafkajs) and this keeps that shape.
 */
export function newHeaders(): Record<string, string> {
  return Object.create(null) as Record<string, string>;
}
