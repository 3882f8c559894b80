// `POST /v3/clusters/{cluster_id}/topics/{topic}/records`: the REST Proxy's v3 produce of one record,
// `Content-Type: application/json`:
//
//   {"partition_id": …, "headers": [{"name": "h", "value": "<base64>"}, …],
//    "key": {"type": "BINARY"|"JSON"|"STRING", "data": …}, "value": {"type": …, "data": …},
//    "timestamp": "2021-02-05T19:14:42Z"}
//   → 200 {"error_code":200,"cluster_id":"…","topic_name":"…","partition_id":P,"offset":O,
//          "timestamp":"…","key":{"type":"BINARY","size":7},"value":{"type":"JSON","size":15}}
//
// Any cluster id is taken and echoed (Sparkngin fronts whatever cluster its Kafka sink writes to).
// One record per request: the streaming mode (several concatenated records on one connection) is not
// taken (the second record makes the body invalid JSON, 400). `partition_id` is kept and the Kafka
// sink sends the record there, as in v2 (a partition the topic does not have: 404 40402, v2.ts). BINARY data is base64; STRING is stored as text (type text), JSON as its compact JSON text
// (type json), BINARY as bytes (type binary); a key must be UTF-8 text (records.ts). Header names
// are lower-cased like every event header (a repeated name is joined with ", "); values are base64
// of UTF-8 text (a null value is the empty string). `timestamp` is kept as the event's client time
// (`sts`); Kafka's record timestamp is the receive time, as for every event, and the answer's
// `timestamp` says so. Partition and offset are Kafka's with `ack=sink`, null with `ack=spool`.
import { isUtf8 } from 'node:buffer';
import { type EventType, newHeaders } from '../../envelope/envelope';
import { clientTimeProblem } from '../../envelope/rules';
import { RequestError, SinkError } from '../../errors';
import type { Exchange, IngestContext } from '../context';
import { readMeta } from '../meta';
import { badRequest } from '../respond';
import { topicFromPath } from '../topic';
import { refusalFailure, sendKafkaRest, unprocessable } from './errors';
import { compactJson } from './json-text';
import { isObject, keyFromBytes, type ProducedRecord, readJsonBody, recordPartition, refuseRequestKey, storeRecords, strictBase64 } from './records';

const TYPES = new Map<string, EventType>([
  ['BINARY', 'binary'],
  ['JSON', 'json'],
  ['STRING', 'text'],
]);

/** `{cluster}/topics/{topic}/records` → its two names, or undefined for any other path. */
export function v3Path(rest: string): { cluster: string; topic: string } | undefined {
  const match = /^([^/]+)\/topics\/([^/]+)\/records$/.exec(rest);
  return match === null ? undefined : { cluster: match[1]!, topic: match[2]! };
}

export async function produceV3(exchange: Exchange, context: IngestContext, rest: string): Promise<void> {
  const { cluster, topic: segment } = v3Path(rest)!;
  const clusterId = pathName(cluster);
  const topic = topicFromPath(segment);
  context.access.authorize(exchange, topic);
  const meta = readMeta(exchange.request, exchange.query, context.trustProxy, context.restProxy.ack);
  refuseRequestKey(meta);
  const media = (exchange.request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (media !== 'application/json') throw new RequestError(415, 'UNSUPPORTED_MEDIA_TYPE', `the Content-Type must be application/json, got '${media.slice(0, 100)}'`);
  const { record, key, value } = v3Record(await readJsonBody(exchange, context), meta.headers, meta.sts);
  const { positions, ts } = await storeRecords(exchange, context, topic, meta, [record]);
  const position = positions?.[0] ?? null;
  if (position instanceof SinkError) throw refusalFailure(position);
  sendKafkaRest(exchange.response, 'v3', 200, {
    error_code: 200,
    cluster_id: clusterId,
    topic_name: topic,
    partition_id: position?.partition ?? null,
    offset: position?.offset ?? null,
    timestamp: instant(ts),
    ...(key === undefined ? {} : { key }),
    ...(value === undefined ? {} : { value }),
  });
}

interface DataReport {
  type: string;
  size: number;
}

/** The record, and what the answer says of its key and value (their types and sizes in bytes). */
export function v3Record(body: unknown, requestHeaders: Record<string, string>, requestSts: number | undefined): { record: ProducedRecord; key?: DataReport; value?: DataReport } {
  if (!isObject(body)) throw unprocessable('the request must be a JSON object (one record)');
  const partition = recordPartition(body.partition_id, 'partition_id');
  const value = body.value === undefined || body.value === null ? undefined : typedData(body.value, 'value');
  if (value === undefined) throw unprocessable('value is missing: Sparkngin stores no record without a value');
  const key = body.key === undefined || body.key === null ? undefined : typedData(body.key, 'key');
  const record: ProducedRecord = {
    key: key === undefined ? undefined : keyFromBytes(key.bytes, 'key'),
    type: value.type,
    data: value.bytes,
    headers: recordHeaders(body.headers, requestHeaders),
    sts: body.timestamp === undefined || body.timestamp === null ? requestSts : clientTime(body.timestamp),
    partition,
  };
  return {
    record,
    ...(key === undefined ? {} : { key: { type: key.name, size: key.bytes.length } }),
    value: { type: value.name, size: value.bytes.length },
  };
}

function typedData(data: unknown, what: string): { name: string; type: EventType; bytes: Buffer } {
  if (!isObject(data)) throw unprocessable(`${what} must be an object: {"type": "BINARY"|"JSON"|"STRING", "data": …}`);
  const name = typeof data.type === 'string' ? data.type.toUpperCase() : undefined;
  const type = name === undefined ? undefined : TYPES.get(name);
  if (name === undefined || type === undefined) {
    const given = name === undefined ? 'no type' : `the type '${name.slice(0, 40)}'`;
    throw unprocessable(`${what}: ${given} is not taken; use BINARY, JSON or STRING (schema formats need a schema registry, which Sparkngin does not have)`);
  }
  if (data.data === undefined) throw unprocessable(`${what}.data is missing`);
  if (type === 'json') return { name, type, bytes: Buffer.from(compactJson(data.data), 'utf8') };
  if (typeof data.data !== 'string') throw unprocessable(`${what}.data must be a string for ${name}`);
  return { name, type, bytes: type === 'binary' ? strictBase64(data.data, `${what}.data`) : Buffer.from(data.data, 'utf8') };
}

function recordHeaders(given: unknown, requestHeaders: Record<string, string>): Record<string, string> {
  if (given === undefined || given === null) return requestHeaders;
  if (!Array.isArray(given)) throw unprocessable('headers must be a list of {"name": …, "value": <base64>}');
  const headers = Object.assign(newHeaders(), requestHeaders);
  given.forEach((header: unknown, index) => {
    const where = `headers[${index}]`;
    if (!isObject(header) || typeof header.name !== 'string' || header.name === '') throw unprocessable(`${where} needs a name`);
    if (header.value !== undefined && header.value !== null && typeof header.value !== 'string') throw unprocessable(`${where}.value must be base64 or null`);
    const bytes = typeof header.value === 'string' ? strictBase64(header.value, `${where}.value`) : Buffer.alloc(0);
    if (!isUtf8(bytes)) throw unprocessable(`${where}.value is not UTF-8 text: Sparkngin's header values are text`);
    const name = header.name.toLowerCase();
    const previous = headers[name];
    headers[name] = previous === undefined ? bytes.toString('utf8') : `${previous}, ${bytes.toString('utf8')}`;
  });
  return headers;
}

/** A percent-encoded path segment, decoded (400 when it is not valid percent-encoded UTF-8). */
function pathName(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw badRequest('INVALID_PATH', 'the cluster id in the path is not valid percent-encoding');
  }
}

function clientTime(timestamp: unknown): number {
  const ms = typeof timestamp === 'string' ? Date.parse(timestamp) : Number.NaN;
  if (Number.isNaN(ms)) throw unprocessable('timestamp must be an ISO-8601 date and time, e.g. 2021-02-05T19:14:42Z');
  const problem = clientTimeProblem(ms);
  if (problem !== undefined) throw unprocessable(`timestamp: ${problem}`);
  return ms;
}

/** A time as Java's Instant.toString() writes it (what the REST Proxy answers): no fraction when it is whole seconds. */
function instant(ms: number): string {
  return new Date(Math.trunc(ms)).toISOString().replace('.000Z', 'Z');
}
