// What an event must be for Sparkngin to take it, whichever way it comes: the HTTP routes check their
// parameters against these rules, the NW1 envelope route (nw1.ts) checks every envelope against them,
// and the client library checks each event before it goes into a batch, so that a batch the server
// would refuse whole (a request is all or nothing) is never made of one bad event and many good ones.
import { isUtf8 } from 'node:buffer';
import { scanJson, scannedPlain } from '../ingest/json-scan';
import { type Envelope, MAX_PARTITION } from './envelope';

/** Topic names follow Kafka's rule (org.apache.kafka.common.internals.Topic): 1 to 249 of [a-zA-Z0-9._-], not "." or "..". */
const LEGAL_TOPIC = /^[a-zA-Z0-9._-]{1,249}$/;

export function isLegalTopic(topic: string): boolean {
  return LEGAL_TOPIC.test(topic) && topic !== '.' && topic !== '..';
}

export const TOPIC_RULE = "use 1 to 249 of [a-zA-Z0-9._-], not '.' or '..'";

// Keys are Kafka record keys (partitioning, compaction): short strings in practice. The limit only
// stops a mistake (a payload sent as the key) from being copied into every event of a batch.
export const MAX_KEY_BYTES = 4096;

/** Client times are milliseconds since the epoch; 15 digits reach the year 33658 and stay exact in a double. */
export const MAX_CLIENT_TIME = 999_999_999_999_999;

/** Why `key` cannot be an event key, or undefined when it can. */
export function keyProblem(key: string): string | undefined {
  if (key === '') return 'the key is empty; leave it out for events without a key';
  if (key.length > MAX_KEY_BYTES / 3 && Buffer.byteLength(key) > MAX_KEY_BYTES) return `the key is longer than ${MAX_KEY_BYTES} bytes`;
  return undefined;
}

/** Why `sts` cannot be a client time, or undefined when it can. */
export function clientTimeProblem(sts: number): string | undefined {
  if (Number.isInteger(sts) && sts >= 0 && sts <= MAX_CLIENT_TIME) return undefined;
  return `the client time must be whole milliseconds since the epoch (0 to ${MAX_CLIENT_TIME}), got ${String(sts).slice(0, 40)}`;
}

/** Why `partition` cannot be an event's Kafka partition, or undefined when it can. */
export function partitionProblem(partition: number): string | undefined {
  if (Number.isInteger(partition) && partition >= 0 && partition <= MAX_PARTITION) return undefined;
  return `the partition must be a whole number from 0 to ${MAX_PARTITION}, got ${String(partition).slice(0, 40)}`;
}

/** Why the payload cannot be an event of `type`, or undefined when it can. */
export function dataProblem(type: Envelope['type'], data: Buffer): string | undefined {
  if (type === 'binary') return undefined;
  // JSON by the byte scanner (what JSON.parse accepts, without building it: NW1's costliest check
  // per event), scanned once. The common case first: ASCII on one line (scannedPlain) needs no other check.
  const scanned = type === 'json' ? scanJson(data, 0, data.length) : undefined;
  if (scanned === 'json' && scannedPlain()) return undefined;
  if (!isUtf8(data)) return `a ${type} payload must be UTF-8`;
  if (type === 'text') return undefined;
  // One line and JSON: taken; JSON.parse only words the refusal.
  if (scanned === 'json' && data.indexOf(0x0a) === -1 && data.indexOf(0x0d) === -1) return undefined;
  return jsonTextProblem(data.toString('utf8'));
}

/** Why `text` cannot be the payload of a `json` event, or undefined when it can: JSON on one line. */
export function jsonTextProblem(text: string): string | undefined {
  if (text.indexOf('\n') !== -1 || text.indexOf('\r') !== -1) return 'a json payload must be one line (no raw CR or LF; JSON never needs them)';
  try {
    JSON.parse(text);
    return undefined;
  } catch (error) {
    return `the json payload is not JSON: ${(error as Error).message.slice(0, 120)}`;
  }
}

/** Header names are lower-case (HTTP's are case-insensitive, and every route stores them so); values any text. */
export function headersProblem(headers: Record<string, string>): string | undefined {
  let count = 0;
  for (const name in headers) {
    if (name === '') return 'a header name is empty';
    if (name !== name.toLowerCase()) return `the header name '${name.slice(0, 60)}' is not lower-case`;
    if (++count > 0xffff) return 'more than 65535 headers';
  }
  return undefined;
}

/** Why the topic, key, client time or headers of an event cannot be taken, or undefined when they can. */
export function metaProblem(envelope: Pick<Envelope, 'topic' | 'key' | 'sts' | 'headers' | 'partition'>): string | undefined {
  if (!isLegalTopic(envelope.topic)) return `invalid topic name '${envelope.topic.slice(0, 60)}': ${TOPIC_RULE}`;
  return (
    (envelope.key === undefined ? undefined : keyProblem(envelope.key)) ??
    (envelope.sts === undefined ? undefined : clientTimeProblem(envelope.sts)) ??
    (envelope.partition === undefined ? undefined : partitionProblem(envelope.partition)) ??
    headersProblem(envelope.headers)
  );
}

/**
 * Why an event a client made (topic, key, client time, headers, type, payload) cannot be taken, or
 * undefined when it can. The fields a server sets (ts, ip, host) are not looked at here.
 */
export function eventProblem(envelope: Pick<Envelope, 'topic' | 'key' | 'sts' | 'headers' | 'partition' | 'type' | 'data'>): string | undefined {
  return metaProblem(envelope) ?? dataProblem(envelope.type, envelope.data);
}
