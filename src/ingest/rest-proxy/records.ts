// What the REST Proxy routes share: the request body read as JSON (numbers kept exact), strict
// base64, keys, the events' fields, and the answer's offsets. A request is all or nothing here as on
// every route: one bad record refuses the request and nothing of it is stored. Delivery is per
// record: with ack=sink each record's outcome (Kafka's position, or the dead letter) is answered.
import { isUtf8 } from 'node:buffer';
import { type EventType, MAX_PARTITION, newEventId } from '../../envelope/envelope';
import { keyProblem } from '../../envelope/rules';
import type { RangePositions } from '../../sinks/waiters';
import { acceptEvents } from '../accept';
import { readBody } from '../body';
import { busy, REQUEST_BYTES, shareOf } from '../budget';
import type { Exchange, IngestContext } from '../context';
import type { EventMeta } from '../meta';
import type { GivenFields } from '../parse';
import { badRequest, tooManyEvents } from '../respond';
import { partitionNotFound, unprocessable } from './errors';
import { numberText, parseExact } from './json-text';

/** One record of a produce request, as it will be stored. */
export interface ProducedRecord {
  key: string | undefined;
  type: EventType;
  data: Buffer;
  headers: Record<string, string>;
  sts: number | undefined;
  /** The Kafka partition the record asks for, if any. */
  partition: number | undefined;
}

export const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && !(JSON as { isRawJSON?: (v: unknown) => boolean }).isRawJSON?.(value);

/**
 * The body as JSON. Not JSON is 400 with error_code 400 (the REST Proxy's answer to a parse error);
 * the parsed tree is charged to the request's memory share (about the body's size again: each
 * value becomes a payload of its own).
 */
export async function readJsonBody(exchange: Exchange, context: IngestContext): Promise<unknown> {
  const body = await readBody(exchange, context.limits);
  if (body.length === 0) throw badRequest('EMPTY_BODY', 'the request body is empty');
  if (!isUtf8(body)) throw badRequest('INVALID_UTF8', 'the request body is not valid UTF-8');
  if (!shareOf(exchange, context.limits.budget).take(REQUEST_BYTES + body.length)) throw busy();
  try {
    return parseExact(body.toString('utf8'));
  } catch (error) {
    throw badRequest('MALFORMED_JSON', `the request body is not valid JSON: ${(error as Error).message}`);
  }
}

/**
 * Base64 as Java's Base64.getDecoder() reads it (what the REST Proxy uses): the standard alphabet,
 * padding optional, nothing else. Buffer.from(…, 'base64') would skip what it does not know and
 * store fewer bytes without a word; here the text must be exactly the encoding of what it decodes to.
 */
export function strictBase64(text: string, what: string): Buffer {
  const bytes = /^[A-Za-z0-9+/]*={0,2}$/.test(text) ? Buffer.from(text, 'base64') : undefined;
  const canonical = bytes?.toString('base64');
  if (bytes === undefined || (canonical !== text && canonical!.replace(/=+$/, '') !== text)) throw unprocessable(`${what} contains invalid base64 encoding`);
  return bytes;
}

/**
 * A Kafka key as the envelope holds it: text. The REST Proxy writes any bytes; Sparkngin's keys are
 * UTF-8 text of 1 to 4096 bytes (src/envelope/rules.ts), so other keys are refused, never changed.
 */
export function keyFromBytes(bytes: Buffer, what: string): string {
  if (!isUtf8(bytes)) throw unprocessable(`${what} is not UTF-8 text: Sparkngin keys are text (any bytes are not taken as a key)`);
  const key = bytes.toString('utf8');
  const problem = keyProblem(key);
  if (problem !== undefined) throw unprocessable(`${what}: ${problem}`);
  return key;
}

/**
 * A record's partition (v2 `partition`, v3 `partition_id`): undefined when absent or null; a whole
 * number from 0 to 2^31 - 1; a negative one is the REST Proxy's 404 40402 "Partition not found."
 * (confluentinc/kafka-rest#1136), anything else 422. Whether the topic has it only Kafka knows: the
 * Kafka sink finds out at delivery (src/sinks/kafka/partitions.ts).
 */
export function recordPartition(value: unknown, what: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  const text = numberText(value);
  if (text !== undefined && /^-\d+$/.test(text)) throw partitionNotFound();
  const partition = text === undefined ? undefined : partitionFromText(text);
  if (partition === undefined) throw unprocessable(`${what} must be a whole number from 0 to ${MAX_PARTITION}`);
  return partition;
}

/** A partition's decimal text (a record's number, a path segment) → the number, or undefined when it is not 0 to MAX_PARTITION. */
export function partitionFromText(text: string): number | undefined {
  const partition = /^(0|[1-9]\d{0,9})$/.test(text) ? Number(text) : Number.NaN;
  return partition <= MAX_PARTITION ? partition : undefined;
}

/** The request's parameters apply to every record; a key among them would be ambiguous beside the records' own. */
export function refuseRequestKey(meta: EventMeta): void {
  if (meta.key !== undefined) throw badRequest('INVALID_KEY', 'each record carries its own key here; leave key= (and X-Sparkngin-Key) out');
}

export interface Stored {
  ids: string[];
  /** The events' receive time (ms): what the Kafka sink writes as the records' timestamp. */
  ts: number;
  /**
   * What became of each record when the request waited for its sinks (ack=sink): where it went, or
   * the refusal of a sink that dead-lettered it (the others are delivered all the same); else undefined.
   */
  positions: RangePositions | undefined;
}

/**
 * Stores the records as events of `topic` per `meta.ack` (all or nothing), through the route every
 * event takes. With ack=sink it resolves once every record is delivered or dead-lettered, each
 * record's outcome in `positions`: a request is all or nothing when it is stored, not at delivery.
 */
export function storeRecords(exchange: Exchange, context: IngestContext, topic: string, meta: EventMeta, records: ProducedRecord[]): Promise<Stored> {
  if (records.length > context.maxEvents) return Promise.reject(tooManyEvents(context.maxEvents));
  // One clock reading for the ids and the envelopes' ts, so that the answer can tell the records' timestamp.
  const ts = context.now();
  const pinned: IngestContext = { ...context, now: () => ts };
  const given: GivenFields[] = records.map((record) => ({ id: newEventId(ts), type: record.type, key: record.key, sts: record.sts, partition: record.partition, headers: record.headers }));
  const items = records.map((record) => record.data);
  let positions: RangePositions | undefined;
  return acceptEvents(exchange, pinned, topic, meta, { type: 'binary', items, given }, (reported) => (positions = reported)).then((ids) => ({ ids, ts, positions }));
}
