// Errors in the Confluent REST Proxy's shape, `{"error_code": N, "message": "…"}`, so that its
// clients, which look for `error_code`, read ours. The HTTP status is Sparkngin's (the same as on
// every other route, src/ingest/README.md); `error_code` is the REST Proxy's code where it has one
// for the case, else the status:
//
//   401 → 40101 and 403 → 40301 (the REST Proxy's authentication and authorization codes),
//   a partition that does not exist → 404 with 40402 and its message "Partition not found." (a
//   negative one at once, as the REST Proxy does; in v3, one the topic does not have once the Kafka
//   sink dead-lettered the record, which only an ack=sink request waits to learn; v2: below),
//   a sink that refused the events for good → 50002 ("Kafka error"), one that may take them later
//   (retriable, or the ack=sink wait timed out) → 50003 ("Retriable Kafka error").
//
// With ack=sink, a record a sink refused for good (dead-lettered) while the request's others were
// delivered is not a failed request: v2 answers 200 with that record's `offsets[]` entry
// `{"partition":null,"offset":null,"error_code":…,"error":"…"}` (refusedRecord below), as the REST
// Proxy reports each record's producer exception (its AbstractProduceAction), so that a client
// retries only the refused records and the delivered ones are in Kafka once. The REST Proxy's status
// is 200 unless a record failed authentication or authorization (401/403, ProduceResponse
// getRequestStatus), which no dead letter here is. v3 has one record: its refusal is the request's.
//
// 40401 (topic not found) never comes: Sparkngin does not know Kafka's topics (the Kafka sink
// creates them); a topic outside http.topics is 403 TOPIC_NOT_ALLOWED, error_code 40301.
import type { ServerResponse } from 'node:http';
import { KafkaPartitionNotFoundError, RequestError, SinkError } from '../../errors';

export type KafkaRestVersion = 'v2' | 'v3';

/** The content type of every answer: v2's own, v3's plain JSON. */
export const CONTENT_TYPE: Record<KafkaRestVersion, string> = { v2: 'application/vnd.kafka.v2+json', v3: 'application/json' };

/** A request the REST Proxy would refuse as "unprocessable": well-formed JSON that is not a produce request. */
export const unprocessable = (message: string): RequestError => new RequestError(422, 'UNPROCESSABLE_RECORDS', message);

/** The REST Proxy's answer for a partition that does not exist, word for word (its Errors.partitionNotFoundException). */
export const partitionNotFound = (): RequestError => new RequestError(404, 'PARTITION_NOT_FOUND', 'Partition not found.');

/**
 * Whether a sink refused a record because its partition is one the topic does not have (the dead
 * letter's code, src/sinks/kafka/classify.ts): the REST Proxy's 40402 "Partition not found.".
 */
export function missingPartition(refusal: SinkError): boolean {
  return (refusal.cause as { code?: unknown } | undefined)?.code === KafkaPartitionNotFoundError.CODE;
}

/** A dead-lettered record as the request's failure (v3's one record): 404 40402 for a missing partition, else the sink's refusal (502, 50002). */
export function refusalFailure(refusal: SinkError): RequestError | SinkError {
  return missingPartition(refusal) ? partitionNotFound() : refusal;
}

/**
 * A dead-lettered record's v2 `offsets[]` entry: 40402 "Partition not found." for a partition the
 * topic does not have; else 50002 (the REST Proxy's code for a non-retriable Kafka exception) and
 * which sink refused it, not its message (which names files and brokers, as respond.ts keeps them).
 */
export function refusedRecord(refusal: SinkError): { partition: null; offset: null; error_code: number; error: string } {
  if (missingPartition(refusal)) return { partition: null, offset: null, error_code: 40402, error: 'Partition not found.' };
  return { partition: null, offset: null, error_code: 50002, error: `the sink '${refusal.sink}' refused the record for good and parked it in its dead-letter file` };
}

/** The REST Proxy's `error_code` for a failure (see the top). */
export function kafkaRestErrorCode(failure: RequestError, cause: unknown): number {
  if (failure.code === 'PARTITION_NOT_FOUND') return 40402;
  if (cause instanceof SinkError) return cause.retriable ? 50003 : 50002;
  if (failure.code === 'SINK_ACK_TIMEOUT') return 50003;
  if (failure.status === 401) return 40101;
  if (failure.status === 403) return 40301;
  return failure.status;
}

export function sendKafkaRest(response: ServerResponse, version: KafkaRestVersion, status: number, body: unknown, headers?: Record<string, string | string[]>): void {
  if (response.headersSent || response.destroyed) return;
  const text = JSON.stringify(body);
  response.statusCode = status;
  response.setHeader('content-type', CONTENT_TYPE[version]);
  response.setHeader('content-length', Buffer.byteLength(text));
  if (headers) for (const name in headers) response.setHeader(name, headers[name]!);
  response.end(text);
}

export function sendKafkaRestError(response: ServerResponse, version: KafkaRestVersion, failure: RequestError, cause: unknown): void {
  sendKafkaRest(response, version, failure.status, { error_code: kafkaRestErrorCode(failure, cause), message: failure.message }, failure.headers);
}
