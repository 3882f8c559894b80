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
  headers: Record<string, string>;
  type: EventType;
  /** Payload bytes: UTF-8 JSON text for `json`, UTF-8 text for `text`, anything for `binary`. */
  data: Buffer;
}

export { newEventId } from './id';
