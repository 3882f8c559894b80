// `POST /topics/{topic}`: the Confluent REST Proxy's v2 produce, for its clients to switch by their
// base URL. Request and answer as its API reference documents them:
//
//   Content-Type: application/vnd.kafka.json.v2+json      {"records":[{"key":…,"value":…}, …]}
//   Content-Type: application/vnd.kafka.binary.v2+json    the same with base64 keys and values
//   Content-Type: application/vnd.kafka.v2+json           binary (no embedded format: binary)
//   → 200 {"offsets":[{"partition":P,"offset":O,"error_code":null,"error":null},…],"key_schema_id":null,"value_schema_id":null}
//
// `json` stores each value as its JSON text, compact, numbers as written (json-text.ts), type json,
// and a key as the JSON text of the key (a string key "k" is the 3 bytes `"k"`, as the REST Proxy's
// JSON serializer writes it); `binary` stores the decoded bytes, type binary, and a key as its bytes
// (which must be UTF-8 text, records.ts keyFromBytes).
//
// The offsets are Kafka's once it acknowledged the records: with `ack=sink` (query, header, or
// restProxy.ack) the answer waits for every routed sink and gives each record's partition and offset
// as the Kafka sink reported them. With `ack=spool` (the default) the answer comes once the records
// are in the spool, before Kafka has them: partition and offset are null.
//
// A record's `partition` (or the partition in `POST /topics/{topic}/partitions/{partition}`, the
// REST Proxy's produce to one partition) is kept with the event and the Kafka sink sends it there,
// key or not. A negative partition is the REST Proxy's 404 {"error_code":40402,"message":"Partition
// not found."} for the whole request, at once. One the topic does not have is known only once the
// Kafka sink has dead-lettered the record: with ack=sink the answer is 200 and that record's entry
// is {"partition":null,"offset":null,"error_code":40402,"error":"Partition not found."} while the
// request's other records have their offsets (errors.ts: per record, as the REST Proxy answers; a
// client retries only the refused ones); with ack=spool the answer (200, nulls) came before anyone
// could know. Either way the record is in the Kafka sink's dead-letter file (logged at error, counted).
import type { EventType } from '../../envelope/envelope';
import { RequestError, SinkError } from '../../errors';
import type { Exchange, IngestContext } from '../context';
import { readMeta } from '../meta';
import { topicFromPath } from '../topic';
import { partitionNotFound, refusedRecord, sendKafkaRest, unprocessable } from './errors';
import { compactJson } from './json-text';
import { isObject, keyFromBytes, partitionFromText, type ProducedRecord, readJsonBody, recordPartition, refuseRequestKey, storeRecords, strictBase64 } from './records';

type EmbeddedFormat = 'json' | 'binary';

const V2_TYPES = new Map<string, EmbeddedFormat>([
  ['application/vnd.kafka.json.v2+json', 'json'],
  ['application/vnd.kafka.binary.v2+json', 'binary'],
  ['application/vnd.kafka.v2+json', 'binary'],
]);

/** Formats the REST Proxy has that need its Schema Registry, which Sparkngin does not have. */
const SCHEMA_FORMATS = new Set(['avro', 'protobuf', 'jsonschema']);

const SUPPORTED = [...V2_TYPES.keys()].join(', ');

/** The embedded format of a Content-Type, or 415 (before the body is read). */
export function embeddedFormat(contentType: string | undefined): EmbeddedFormat {
  const media = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  const format = V2_TYPES.get(media);
  if (format !== undefined) return format;
  const embedded = /^application\/vnd\.kafka\.([a-z]+)\.v2\+json$/.exec(media)?.[1];
  const why =
    embedded !== undefined && SCHEMA_FORMATS.has(embedded)
      ? `the embedded format '${embedded}' needs a schema registry, which Sparkngin does not have`
      : media === ''
        ? 'a Content-Type header is required'
        : `the Content-Type '${media.slice(0, 100)}' is not supported`;
  throw new RequestError(415, 'UNSUPPORTED_MEDIA_TYPE', `${why}; use one of: ${SUPPORTED}`);
}

/** `{topic}/partitions/{partition}` → its two segments, or undefined for any other path. */
export function v2PartitionPath(rest: string): { topic: string; partition: string } | undefined {
  const match = /^([^/]+)\/partitions\/([^/]+)$/.exec(rest);
  return match === null ? undefined : { topic: match[1]!, partition: match[2]! };
}

/** `POST /topics/{topic}`: the route's handler. */
export function produceV2(exchange: Exchange, context: IngestContext, segment: string): Promise<void> {
  return produce(exchange, context, segment, undefined);
}

/** `POST /topics/{topic}/partitions/{partition}`: every record to that partition (a path that names no partition is 404 40402, as a negative one). */
export function produceV2ToPartition(exchange: Exchange, context: IngestContext, rest: string): Promise<void> {
  const { topic, partition } = v2PartitionPath(rest)!;
  return produce(exchange, context, topic, partition);
}

/** Topic, partition, parameters and Content-Type checked before the body is read. */
async function produce(exchange: Exchange, context: IngestContext, segment: string, partitionSegment: string | undefined): Promise<void> {
  const topic = topicFromPath(segment);
  context.access.authorize(exchange, topic);
  let partition: number | undefined;
  if (partitionSegment !== undefined) {
    // What is not a partition number cannot name one (the REST Proxy's path parameter is an int: 404 too).
    partition = partitionFromText(partitionSegment);
    if (partition === undefined) throw partitionNotFound();
  }
  const meta = readMeta(exchange.request, exchange.query, context.trustProxy, context.restProxy.ack);
  refuseRequestKey(meta);
  const format = embeddedFormat(exchange.request.headers['content-type']);
  const records = v2Records(await readJsonBody(exchange, context), format, meta.headers, meta.sts, partition);
  const { positions } = await storeRecords(exchange, context, topic, meta, records);
  const offsets = records.map((_, i) => {
    const outcome = positions?.[i] ?? null;
    if (outcome instanceof SinkError) return refusedRecord(outcome);
    return { partition: outcome?.partition ?? null, offset: outcome?.offset ?? null, error_code: null, error: null };
  });
  sendKafkaRest(exchange.response, 'v2', 200, { offsets, key_schema_id: null, value_schema_id: null });
}

/**
 * The request's records as they will be stored; 422 (error_code 422) for a request that is JSON but
 * not a produce request. `pathPartition`: the partition route's, which a record may repeat but not contradict.
 */
export function v2Records(body: unknown, format: EmbeddedFormat, headers: Record<string, string>, sts: number | undefined, pathPartition?: number): ProducedRecord[] {
  if (!isObject(body)) throw unprocessable('the request must be a JSON object with "records"');
  const { records } = body;
  if (records !== undefined && records !== null && !Array.isArray(records)) throw unprocessable('records must be a list');
  if (!Array.isArray(records) || records.length === 0) throw unprocessable('records may not be empty');
  const type: EventType = format;
  return records.map((record: unknown, index) => {
    const where = `records[${index}]`;
    if (!isObject(record)) throw unprocessable(`${where} must be an object`);
    const own = recordPartition(record.partition, `${where}.partition`);
    if (pathPartition !== undefined && own !== undefined && own !== pathPartition) throw unprocessable(`${where}.partition is ${own}, the path's is ${pathPartition}`);
    if (record.value === undefined || record.value === null) throw unprocessable(`${where}.value is missing: Sparkngin stores no record without a value`);
    const key = record.key === undefined || record.key === null ? undefined : recordKey(record.key, format, `${where}.key`);
    return { key, type, data: recordValue(record.value, format, `${where}.value`), headers, sts, partition: pathPartition ?? own };
  });
}

function recordKey(key: unknown, format: EmbeddedFormat, what: string): string {
  if (format === 'json') return keyFromBytes(Buffer.from(compactJson(key), 'utf8'), what);
  if (typeof key !== 'string') throw unprocessable(`${what} must be a base64 string`);
  return keyFromBytes(strictBase64(key, what), what);
}

function recordValue(value: unknown, format: EmbeddedFormat, what: string): Buffer {
  if (format === 'json') return Buffer.from(compactJson(value), 'utf8');
  if (typeof value !== 'string') throw unprocessable(`${what} must be a base64 string`);
  return strictBase64(value, what);
}
