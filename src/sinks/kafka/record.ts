// Envelope → Kafka record: topic mapped, key = event key (so the default partitioner keeps one key
// on one partition), value = the payload or the whole JSON envelope, envelope fields as headers.
import type { Message } from 'kafkajs';
import type { KafkaSinkConfig } from '../../config/defaults';
import { envelopeToJson } from '../../envelope/codec-json';
import type { Envelope } from '../../envelope/envelope';

/** Header names carrying the envelope fields; the event's own headers keep their names. */
export const HEADER = {
  id: 'sparkngin-id',
  ts: 'sparkngin-ts',
  sts: 'sparkngin-sts',
  ip: 'sparkngin-ip',
  host: 'sparkngin-host',
  type: 'sparkngin-type',
} as const;

export function kafkaTopic(config: KafkaSinkConfig, topic: string): string {
  return config.topicPrefix + (config.topicMap[topic] ?? topic);
}

export function toKafkaMessage(config: KafkaSinkConfig, envelope: Envelope): Message {
  const headers: Record<string, string> = {
    ...envelope.headers,
    [HEADER.id]: envelope.id,
    [HEADER.ts]: String(envelope.ts),
    [HEADER.ip]: envelope.ip,
    [HEADER.host]: envelope.host,
    [HEADER.type]: envelope.type,
  };
  if (envelope.sts !== undefined) headers[HEADER.sts] = String(envelope.sts);
  return {
    key: envelope.key ?? null,
    value: config.value === 'envelope' ? envelopeToJson(envelope) : envelope.data,
    headers,
    timestamp: String(Math.trunc(envelope.ts)),
  };
}
