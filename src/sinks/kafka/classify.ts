// Which Kafka errors mean "this record will never be accepted as it is" (park it in the dead-letter
// file) as opposed to "try again later" (everything else, including authorization and unknown
// errors: those are fixed by an operator, and the records must wait for that, not be parked).
const REFUSED_FOR_GOOD = new Set([
  'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'INVALID_TOPIC_EXCEPTION',
  'INVALID_TIMESTAMP',
  'INVALID_RECORD',
  'UNSUPPORTED_FOR_MESSAGE_FORMAT',
  'POLICY_VIOLATION',
]);

/** The Kafka protocol error type found anywhere in a kafkajs error's cause chain, if any. */
export function kafkaErrorType(error: unknown): string | undefined {
  const seen = new Set<unknown>();
  const queue: unknown[] = [error];
  while (queue.length > 0) {
    const current = queue.shift();
    if (typeof current !== 'object' || current === null || seen.has(current)) continue;
    seen.add(current);
    const { type, cause, originalError, errors } = current as { type?: unknown; cause?: unknown; originalError?: unknown; errors?: unknown };
    if (typeof type === 'string' && type !== 'UNKNOWN') return type;
    queue.push(cause, originalError, ...(Array.isArray(errors) ? errors : []));
  }
  return undefined;
}

export function isRefusedForGood(error: unknown): boolean {
  const type = kafkaErrorType(error);
  return type !== undefined && REFUSED_FOR_GOOD.has(type);
}
