// What a failed Kafka send means. A record Kafka will never accept as it is (too large, an invalid
// topic or timestamp, refused by policy, a partition its topic does not have) is permanent: park it in the dead-letter file. A
// programming error anywhere in the chain (kafkajs wraps a TypeError in KafkaJSNonRetriableError)
// is a bug. Everything else is retriable, including authorization and unknown errors: those are
// fixed by an operator, and the records must wait for that, not be parked.
import { isProgrammingError, KafkaPartitionNotFoundError } from '../../errors';
import type { FailureClass } from '../sink';

const REFUSED_FOR_GOOD = new Set([
  'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'INVALID_TOPIC_EXCEPTION',
  'INVALID_TIMESTAMP',
  'INVALID_RECORD',
  'UNSUPPORTED_FOR_MESSAGE_FORMAT',
  'POLICY_VIOLATION',
]);

/** The error and every error it wraps (`cause`, kafkajs's `originalError` and `errors`), breadth first. */
function* causeChain(error: unknown): Generator<object> {
  const seen = new Set<unknown>();
  const queue: unknown[] = [error];
  while (queue.length > 0) {
    const current = queue.shift();
    if (typeof current !== 'object' || current === null || seen.has(current)) continue;
    seen.add(current);
    yield current;
    const { cause, originalError, errors } = current as { cause?: unknown; originalError?: unknown; errors?: unknown };
    queue.push(cause, originalError, ...(Array.isArray(errors) ? errors : []));
  }
}

/** The Kafka protocol error type found anywhere in a kafkajs error's cause chain, if any. */
export function kafkaErrorType(error: unknown): string | undefined {
  for (const current of causeChain(error)) {
    const { type } = current as { type?: unknown };
    if (typeof type === 'string' && type !== 'UNKNOWN') return type;
  }
  return undefined;
}

export function isRefusedForGood(error: unknown): boolean {
  const type = kafkaErrorType(error);
  return type !== undefined && REFUSED_FOR_GOOD.has(type);
}

/** The partition-not-found error anywhere in the chain (a record named a partition its topic does not have). */
export function partitionNotFound(error: unknown): KafkaPartitionNotFoundError | undefined {
  for (const current of causeChain(error)) if (current instanceof KafkaPartitionNotFoundError) return current;
  return undefined;
}

export function classifyKafkaError(error: unknown): FailureClass {
  if (isRefusedForGood(error) || partitionNotFound(error) !== undefined) return 'permanent';
  for (const current of causeChain(error)) if (isProgrammingError(current)) return 'bug';
  return 'retriable';
}
