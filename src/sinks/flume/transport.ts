// What the Flume sink needs of a way to reach an agent (its HTTP source, http.ts; its Avro source,
// avro.ts), and the Flume event headers both give every event.
import type { Envelope } from '../../envelope/envelope';

export interface FlumeTransport {
  /** Resolves once the agent's channel committed the whole batch. */
  send(batch: Envelope[]): Promise<void>;
  /** Resolves when the agent answers again. */
  probe(): Promise<void>;
  stop(): Promise<void>;
}

export const FLUME_HEADER = { id: 'sparkngin.id', encoding: 'sparkngin.encoding', topic: 'topic', key: 'key', host: 'host', timestamp: 'timestamp' } as const;

/** The event's own headers, and `sparkngin.id`, `topic`, `key` (when there is one), `host` and `timestamp` (receive time in ms: what Flume's HDFS sink buckets by). */
export function flumeHeaders(envelope: Envelope): Record<string, string> {
  const headers: Record<string, string> = { ...envelope.headers, [FLUME_HEADER.id]: envelope.id, [FLUME_HEADER.topic]: envelope.topic, [FLUME_HEADER.host]: envelope.host, [FLUME_HEADER.timestamp]: String(envelope.ts) };
  if (envelope.key !== undefined) headers[FLUME_HEADER.key] = envelope.key;
  return headers;
}
