// Envelope → Kafka record: topic mapped, key = event key (so the default partitioner keeps one key
// on one partition), partition = the event's when it names one (partitions.ts), value = the payload
// or the whole JSON envelope, envelope fields as headers.
import type { Message, TopicMessages } from 'kafkajs';
import type { KafkaSinkConfig } from '../../config/defaults';
import { utf8Length } from '../../envelope/codec-binary';
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

function recordValue(config: KafkaSinkConfig, envelope: Envelope): Buffer | string {
  return config.value === 'envelope' ? envelopeToJson(envelope) : envelope.data;
}

/** The record's headers: the event's own, then the envelope fields (a same-named own header keeps its place and takes the field's value). */
export function recordHeaders(envelope: Envelope): Record<string, string> {
  const headers: Record<string, string> = {
    ...envelope.headers,
    [HEADER.id]: envelope.id,
    [HEADER.ts]: String(envelope.ts),
    [HEADER.ip]: envelope.ip,
    [HEADER.host]: envelope.host,
    [HEADER.type]: envelope.type,
  };
  if (envelope.sts !== undefined) headers[HEADER.sts] = String(envelope.sts);
  return headers;
}

/**
 * A record as the sink hands it to the (patched) kafkajs producer: `record` holds its key, value and
 * headers encoded as Kafka's record format has them (everything after the offset delta), and the
 * producer writes it as it is (patches/README.md, "one Buffer per record batch"); the same bytes as
 * kafkajs encoding the message of key, value and `recordHeaders` (test/unit/kafka-record-tail.test.ts). No header
 * object is made: `id` is the event id, for the partitioner and positions. `key`, `partition` and
 * `timestamp` are kafkajs's own fields, for its partitioner and the batch's timestamps.
 */
export interface KafkaRecord extends Message {
  record: Buffer;
  id: string;
  /** The partition our partitioner gave it (partitions.ts), once it did. */
  assigned: number | undefined;
}

export interface KafkaTopicRecords extends TopicMessages {
  messages: KafkaRecord[];
}

const HEADER_NAMES = new Set<string>(Object.values(HEADER));
const ENVELOPE_HEADERS = [HEADER.id, HEADER.ts, HEADER.ip, HEADER.host, HEADER.type].map((name) => encodedText(name));
const STS_HEADER = encodedText(HEADER.sts);

/** A header name as the record has it: varint length (zigzag) and the UTF-8 bytes. */
function encodedText(text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  const out = Buffer.allocUnsafe(varintSize(bytes.length) + bytes.length);
  bytes.copy(out, writeVarint(out, 0, bytes.length));
  return out;
}

export function toKafkaRecord(config: KafkaSinkConfig, envelope: Envelope): KafkaRecord {
  const value = recordValue(config, envelope);
  const ts = tsText(envelope.ts);
  const record = hasHeaderNamedLikeAField(envelope.headers)
    ? headersTail(envelope.key, value, recordHeaders(envelope))
    : fieldsTail(envelope, ts, value);
  // Kafka's timestamp is whole milliseconds: the receive time is one already.
  const timestamp = Number.isInteger(envelope.ts) ? ts : String(Math.trunc(envelope.ts));
  const message: KafkaRecord = { key: envelope.key ?? null, value, timestamp, record, id: envelope.id, assigned: undefined };
  if (envelope.partition !== undefined) message.partition = envelope.partition;
  return message;
}

/** An event header named like an envelope field (a client may send `sparkngin-id`) changes the headers' order: recordHeaders decides it. */
function hasHeaderNamedLikeAField(headers: Record<string, string>): boolean {
  for (const name in headers) if (HEADER_NAMES.has(name)) return true;
  return false;
}

// The envelopes of one request carry the same receive time, headers, address, host and type (the
// dispatcher's decodeLike gives them the same objects): their text and encoded headers are made
// once per run of them, not per record.
let lastTs = Number.NaN;
let lastTsText = '';

function tsText(ts: number): string {
  if (ts !== lastTs) [lastTs, lastTsText] = [ts, String(ts)];
  return lastTsText;
}

interface SharedHeaders {
  from: Pick<Envelope, 'headers' | 'ip' | 'host' | 'type' | 'sts'>;
  /** Headers in the record besides sparkngin-id and sparkngin-ts. */
  count: number;
  /** The event's own headers, encoded. */
  own: Buffer;
  /** sparkngin-ip, -host, -type and -sts, encoded. */
  fields: Buffer;
}

let shared: SharedHeaders | undefined;

function sharedHeaders(envelope: Envelope): SharedHeaders {
  const from = shared?.from;
  if (from !== undefined && from.headers === envelope.headers && from.ip === envelope.ip && from.host === envelope.host && from.type === envelope.type && from.sts === envelope.sts) return shared!;
  const { headers, ip, host, type } = envelope;
  const sts = envelope.sts === undefined ? undefined : String(envelope.sts);
  let bound = 0;
  let count = 3;
  for (const name in headers) {
    bound += textBound(name) + textBound(headers[name]!);
    count++;
  }
  let out = room(bound);
  let at = arenaAt;
  for (const name in headers) {
    at = writeText(out, at, name);
    at = writeText(out, at, headers[name]!);
  }
  const own = take(at);
  out = room(FIELD_HEADERS_BYTES + textBound(ip) + textBound(host) + textBound(type) + (sts === undefined ? 0 : STS_HEADER.length + textBound(sts)));
  at = writeText(out, writeBytes(out, arenaAt, ENVELOPE_HEADERS[2]!), ip);
  at = writeText(out, writeBytes(out, at, ENVELOPE_HEADERS[3]!), host);
  at = writeText(out, writeBytes(out, at, ENVELOPE_HEADERS[4]!), type);
  if (sts !== undefined) {
    at = writeText(out, writeBytes(out, at, STS_HEADER), sts);
    count++;
  }
  shared = { from: { headers, ip, host, type, sts: envelope.sts }, count, own, fields: take(at) };
  return shared;
}

/** The record tail from the envelope's fields, with no header object: the event's own headers, then the fields (recordHeaders's order). */
function fieldsTail(envelope: Envelope, ts: string, value: Buffer | string): Buffer {
  const { count, own, fields } = sharedHeaders(envelope);
  const id = envelope.id;
  const out = room(keyValueBound(envelope.key, value) + VARINT_BOUND + own.length + ID_TS_HEADERS_BYTES + textBound(id) + textBound(ts) + fields.length);
  let at = writeVarint(out, writeKeyValue(out, arenaAt, envelope.key, value), count + 2);
  if (own.length > 0) {
    out.set(own, at);
    at += own.length;
  }
  at = writeText(out, writeBytes(out, at, ENVELOPE_HEADERS[0]!), id);
  at = writeText(out, writeBytes(out, at, ENVELOPE_HEADERS[1]!), ts);
  out.set(fields, at);
  return take(at + fields.length);
}

/** The record tail from a header object, in its order (what kafkajs's Record writes for it). */
function headersTail(key: string | undefined, value: Buffer | string, headers: Record<string, string>): Buffer {
  let bound = keyValueBound(key, value) + VARINT_BOUND;
  let count = 0;
  for (const name in headers) {
    bound += textBound(name) + textBound(headers[name]!);
    count++;
  }
  const out = room(bound);
  let at = writeVarint(out, writeKeyValue(out, arenaAt, key, value), count);
  for (const name in headers) {
    at = writeText(out, at, name);
    at = writeText(out, at, headers[name]!);
  }
  return take(at);
}

// Record tails are written one after another into a shared arena and handed out as views of it:
// no Buffer allocated per record, and each written once by its bound (UTF-8 lengths worked out
// while writing). A tail's bytes are never written again (a new arena starts when one is full), so
// a request that holds them may be resent; an arena is freed when its last tail is.
const ARENA_BYTES = 256 * 1024;
const EMPTY = Buffer.alloc(0);
let arena = EMPTY;
let arenaAt = 0;

/** The arena, with at least `bound` bytes free at arenaAt. */
function room(bound: number): Buffer {
  if (arenaAt + bound > arena.length) {
    arena = Buffer.allocUnsafe(Math.max(ARENA_BYTES, bound));
    arenaAt = 0;
  }
  return arena;
}

/** The tail written from arenaAt to `end`. */
function take(end: number): Buffer {
  const tail = arena.subarray(arenaAt, end);
  arenaAt = end;
  // An arena made for one large record is not kept for the next ones: it lives only as long as that record.
  if (arena.length > ARENA_BYTES) [arena, arenaAt] = [EMPTY, 0];
  return tail;
}

/** The most bytes of a varint (a 32-bit one: lengths and counts). */
const VARINT_BOUND = 5;
const ID_TS_HEADERS_BYTES = ENVELOPE_HEADERS[0]!.length + ENVELOPE_HEADERS[1]!.length;
const FIELD_HEADERS_BYTES = ENVELOPE_HEADERS[2]!.length + ENVELOPE_HEADERS[3]!.length + ENVELOPE_HEADERS[4]!.length;

/** The most bytes a varint-length-prefixed text may take (3 UTF-8 bytes per UTF-16 unit). */
function textBound(text: string): number {
  return VARINT_BOUND + 3 * text.length;
}

function keyValueBound(key: string | undefined, value: Buffer | string): number {
  return (key === undefined ? 1 : textBound(key)) + (typeof value === 'string' ? textBound(value) : VARINT_BOUND + value.length);
}

/** Writes the key (null: length -1) and the value, each varint-length-prefixed. */
function writeKeyValue(out: Buffer, at: number, key: string | undefined, value: Buffer | string): number {
  at = key === undefined ? writeVarint(out, at, -1) : writeText(out, at, key);
  if (typeof value === 'string') return writeText(out, at, value);
  at = writeVarint(out, at, value.length);
  out.set(value, at); // TypedArray#set: Buffer#copy's argument checks cost more than a small value's copy
  return at + value.length;
}

/** A few bytes copied by hand: Buffer#copy's call costs more than a header name's 14 bytes. */
function writeBytes(out: Buffer, at: number, bytes: Buffer): number {
  for (let i = 0; i < bytes.length; i++) out[at + i] = bytes[i]!;
  return at + bytes.length;
}

/**
 * Writes a varint-length-prefixed UTF-8 text. A short ASCII text (most header values, keys) is
 * written in one pass behind its one-byte length; any other is measured first.
 */
function writeText(out: Buffer, at: number, text: string): number {
  const units = text.length;
  if (units < 64) {
    let i = 0;
    for (; i < units; i++) {
      const unit = text.charCodeAt(i);
      if (unit >= 0x80) break;
      out[at + 1 + i] = unit;
    }
    if (i === units) {
      out[at] = units << 1;
      return at + 1 + units;
    }
  }
  const length = utf8Length(text);
  at = writeVarint(out, at, length);
  return at + out.write(text, at, length, 'utf8');
}

/** Bytes of Kafka's zigzag varint of a 32-bit integer (lengths, counts: at least -1). */
function varintSize(value: number): number {
  let zigzag = ((value << 1) ^ (value >> 31)) >>> 0;
  let bytes = 1;
  while (zigzag >= 0x80) {
    zigzag >>>= 7;
    bytes++;
  }
  return bytes;
}

function writeVarint(out: Buffer, at: number, value: number): number {
  let zigzag = ((value << 1) ^ (value >> 31)) >>> 0;
  while (zigzag >= 0x80) {
    out[at++] = (zigzag & 0x7f) | 0x80;
    zigzag >>>= 7;
  }
  out[at++] = zigzag;
  return at;
}

/** Bytes a record takes in a produce request besides its tail (key, value and headers; a generous bound). */
const RECORD_OVERHEAD = 32;

/**
 * Groups a batch into produce requests of at most `maxRequestBytes` (estimated from the encoded
 * sizes) and `maxRecords`, each a list of per-topic messages, in the batch's order. A single record
 * larger than the limit goes alone, and Kafka's answer decides its fate.
 */
export function chunkByRequestSize(config: KafkaSinkConfig, batch: Envelope[], maxRecords = Number.POSITIVE_INFINITY): KafkaTopicRecords[][] {
  const requests: KafkaTopicRecords[][] = [];
  let current = new Map<string, KafkaTopicRecords>();
  let bytes = 0;
  let records = 0;
  // A batch's records mostly share a topic: its Kafka name is made once per run of them.
  let lastTopic: string | undefined;
  let topic = '';
  for (const envelope of batch) {
    const message = toKafkaRecord(config, envelope);
    const size = RECORD_OVERHEAD + message.record.length;
    if (bytes > 0 && (bytes + size > config.maxRequestBytes || records >= maxRecords)) {
      requests.push([...current.values()]);
      current = new Map();
      bytes = 0;
      records = 0;
    }
    if (envelope.topic !== lastTopic) [lastTopic, topic] = [envelope.topic, kafkaTopic(config, envelope.topic)];
    let entry = current.get(topic);
    if (!entry) current.set(topic, (entry = { topic, messages: [] }));
    entry.messages.push(message);
    bytes += size;
    records++;
  }
  if (current.size > 0) requests.push([...current.values()]);
  return requests;
}
