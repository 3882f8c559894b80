// Envelope → Kafka record: topic mapped, key = event key (so the default partitioner keeps one key
// on one partition), partition = the event's when it names one (partitions.ts), value = the payload
// or the whole JSON envelope, envelope fields as headers.
import type { Message, TopicMessages } from 'kafkajs';
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
  const message: Message = {
    key: envelope.key ?? null,
    value: config.value === 'envelope' ? envelopeToJson(envelope) : envelope.data,
    headers,
    timestamp: String(Math.trunc(envelope.ts)),
  };
  if (envelope.partition !== undefined) message.partition = envelope.partition;
  return message;
}

/** Bytes a record takes in a produce request besides its key, value and headers (a generous bound). */
const RECORD_OVERHEAD = 32;

/**
 * Groups a batch into produce requests of at most `maxRequestBytes` (estimated from the encoded
 * sizes) and `maxRecords`, each a list of per-topic messages, in the batch's order. A single record
 * larger than the limit goes alone, and Kafka's answer decides its fate.
 */
export function chunkByRequestSize(config: KafkaSinkConfig, batch: Envelope[], maxRecords = Number.POSITIVE_INFINITY): TopicMessages[][] {
  const requests: TopicMessages[][] = [];
  let current = new Map<string, TopicMessages>();
  let bytes = 0;
  let records = 0;
  for (const envelope of batch) {
    const message = toKafkaMessage(config, envelope);
    const value = message.value as Buffer | string;
    let size = RECORD_OVERHEAD + (typeof value === 'string' ? Buffer.byteLength(value) : value.length) + (envelope.key?.length ?? 0);
    for (const name in message.headers) size += name.length + (message.headers[name] as string).length + 2;
    if (bytes > 0 && (bytes + size > config.maxRequestBytes || records >= maxRecords)) {
      requests.push([...current.values()]);
      current = new Map();
      bytes = 0;
      records = 0;
    }
    const topic = kafkaTopic(config, envelope.topic);
    let entry = current.get(topic);
    if (!entry) current.set(topic, (entry = { topic, messages: [] }));
    entry.messages.push(message);
    bytes += size;
    records++;
  }
  if (current.size > 0) requests.push([...current.values()]);
  return requests;
}
